"""Work spread over the machine's cores: one way for every batch, its settings passed in.

A batch function takes ``(settings, item)``. Small batches run in this process; big ones in a
fork pool whose workers receive the settings once, through the pool's initializer, instead of
through module globals set by the caller.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Progress = Callable[[int, int], None]
_WORKER: dict[str, Callable[[Any], Any]] = {}  # set in each worker process by its initializer


def parallel_map(
    function: Callable[[Any, Any], Any],
    settings: Any,
    items: Sequence,
    *,
    workers: int | None = None,
    threshold: int = 40,
    tasks_per_worker: int = 4,
    progress: Progress | None = None,
) -> Iterator:
    """Yield ``function(settings, item)`` for every item in order, on all cores if big enough."""
    # Below ``threshold`` items (or with one worker) forking costs more than it saves.
    total = len(items)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or total < threshold:
        results = map(functools.partial(function, settings), items)
        yield from counted(results, total, progress)
        return
    chunk = max(1, min(50, total // (workers * tasks_per_worker)))
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_keep, initargs=(function, settings)) as pool:
        yield from counted(pool.imap(_call, items, chunksize=chunk), total, progress)
        pool.close()
        pool.join()


def counted(results, total: int, progress: Progress | None) -> Iterator:
    """Yield results while telling ``progress`` how many of ``total`` are done."""
    for done, result in enumerate(results, start=1):
        if progress:
            progress(done, total)
        yield result


def _keep(function: Callable[[Any, Any], Any], settings: Any) -> None:
    """Remember, in one worker process, the batch function with its settings bound."""
    _WORKER["call"] = functools.partial(function, settings)


def _call(item: Any) -> Any:
    """Return the result of the worker's batch function for one item."""
    return _WORKER["call"](item)
