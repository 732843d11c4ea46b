"""Work spread over the machine's cores: one way for every batch, its settings passed in.

A batch function takes ``(settings, item)``. Small batches run in this process; big ones in a
fork pool whose workers receive the settings once, through the pool's initializer, instead of
through module globals set by the caller.

``parallel_map`` is for one step over a list. ``WorkerPool`` is for pipelines whose steps take
turns with other work (finalize: build the document here, LibreOffice renders it, seal it
here): threads hand single calls to the same workers, so the cores stay busy while other steps
wait, and only the items in flight are held in memory.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import multiprocessing.pool
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any

Progress = Callable[[int, int], None]
_WORKER: dict[str, Callable[[Any], Any]] = {}  # set in each worker process by its initializer


def parallel_map(
    function: Callable[[Any, Any], Any],
    settings: Any,
    items: Sequence | Iterable,
    *,
    workers: int | None = None,
    threshold: int = 40,
    tasks_per_worker: int = 4,
    progress: Progress | None = None,
    total: int | None = None,
    fresh: bool = False,
) -> Iterator:
    """Yield ``function(settings, item)`` for every item in order, on all cores if big enough."""
    # ``fresh`` workers start from a small server process instead of as copies of this one,
    # their settings pickled: for long batches during which this process goes on growing and
    # changing its memory, which copied workers would otherwise keep a private copy of, page
    # by page (``collect``: the memory of 20,000 files no longer grows with the company).
    # Below ``threshold`` items (or with one worker) forking costs more than it saves. ``items``
    # may be a generator (``total`` then says how many, for ``progress``): it is read in this
    # thread a window at a time, the next window while the workers handle the last one, so
    # only a few windows of items are ever in memory.
    if not isinstance(items, Sequence):
        results = lazy_map(function, settings, items, workers, threshold, fresh)
        yield from counted(results, total or 0, progress)
        return
    total = len(items)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or total < threshold:
        results = map(functools.partial(function, settings), items)
        yield from counted(results, total, progress)
        return
    chunk = max(1, min(50, total // (workers * tasks_per_worker)))
    with forked_pool(workers, _keep, (function, settings), fresh=fresh) as pool:
        yield from counted(pool.imap(_call, items, chunksize=chunk), total, progress)
        pool.close()
        pool.join()


WINDOW = 256  # items of a generator handed to the workers at a time


def lazy_map(function, settings, items: Iterable, workers, threshold, fresh=False) -> Iterator:
    """Yield ``function(settings, item)`` for a generator's items, a window at a time."""
    iterator = iter(items)
    workers = workers or os.cpu_count() or 1
    window = list(islice(iterator, max(threshold, WINDOW)))
    if workers == 1 or len(window) < threshold:
        yield from map(functools.partial(function, settings), chain(window, iterator))
        return
    chunk = max(1, min(50, len(window) // (workers * 4)))
    with forked_pool(workers, _keep, (function, settings), fresh=fresh) as pool:
        waiting: deque = deque()
        while window:
            waiting.append(pool.imap(_call, window, chunksize=chunk))
            window = list(islice(iterator, WINDOW))  # read while the workers work
            if len(waiting) > 1 or not window:
                yield from waiting.popleft()
        while waiting:
            yield from waiting.popleft()
        pool.close()
        pool.join()


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Within the block, the garbage collector skips every object made before it."""
    # For a long batch whose process holds big, lasting data (a roster of 10,000): each full
    # collection would walk all of it again. Garbage made before the block is collected after.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def forked_pool(workers: int, initializer, initargs: tuple, *, fresh: bool = False):
    """Return a fork pool whose workers never copy this process's objects just to scan them."""
    # After a fork, the garbage collector of each worker would walk every object inherited
    # from us and so copy the memory pages holding them: frozen objects are not walked.
    # ``fresh``: forked from the forkserver instead, which has imported the batch function's
    # module (its settings and function are pickled to each worker once).
    if fresh:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([initargs[0].__module__])
        return QuietPool(workers, initializer, initargs, context=context)
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        return QuietPool(workers, initializer, initargs, context=context)
    finally:
        gc.unfreeze()


class QuietPool(multiprocessing.pool.Pool):
    """A process pool whose worker-keeping thread wakes only when a worker ends or it must."""

    # The standard pool's thread that replaces ended workers also wakes on every result
    # waiting in the result pipe, and spins (a new selector each turn) until the thread that
    # reads results has taken it: in finalize a fifth of this process's time, fighting the
    # threads that do the work for the interpreter lock. The pool tells that thread of every
    # change it must act on (close, terminate, the last task done) through its notifier, and
    # an ended worker wakes it through the worker's own sentinel: the result pipe is not needed.

    def _get_sentinels(self):
        return [self._change_notifier._reader]


def counted(results, total: int, progress: Progress | None) -> Iterator:
    """Yield results while telling ``progress`` how many of ``total`` are done."""
    for done, result in enumerate(results, start=1):
        if progress:
            progress(done, total)
        yield result


class WorkerPool:
    """Processes holding one batch's settings; any thread may hand them single calls."""

    def __init__(self, settings: Any, workers: int | None = None):
        # With one worker the calls run in the calling thread, in this process.
        self.settings = settings
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def __enter__(self) -> WorkerPool:
        if self.workers > 1:
            self._pool = forked_pool(self.workers, _keep_settings, (self.settings,))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            if exc_info[0] is None:
                self._pool.close()
            else:
                self._pool.terminate()  # Ctrl-C or a bug: nothing more is wanted from them
            self._pool.join()
            self._pool = None

    def call(self, function: Callable[[Any, Any], Any], item: Any) -> Any:
        """Return ``function(settings, item)``, computed by a free worker (blocks this thread)."""
        if self._pool is None:
            return function(self.settings, item)
        return self._pool.apply(_call_with_settings, (function, item))


def _keep_settings(settings: Any) -> None:
    """Remember, in one worker process, the settings of a ``WorkerPool``."""
    _WORKER["settings"] = settings


def _call_with_settings(function: Callable[[Any, Any], Any], item: Any) -> Any:
    """Return ``function(settings, item)`` with the settings this worker keeps."""
    return function(_WORKER["settings"], item)


def _keep(function: Callable[[Any, Any], Any], settings: Any) -> None:
    """Remember, in one worker process, the batch function with its settings bound."""
    _WORKER["call"] = functools.partial(function, settings)
    # What the worker holds now (the modules it imported, its settings) lives as long as it
    # does: the garbage collector need not walk it again after every few thousand objects.
    gc.freeze()


def _call(item: Any) -> Any:
    """Return the result of the worker's batch function for one item."""
    return _WORKER["call"](item)
