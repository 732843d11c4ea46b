"""Tests for pipeline/domain/pools.py: batches on all cores, settings passed in, order kept."""

from __future__ import annotations

import multiprocessing.pool
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.domain.pools import WorkerPool, parallel_map


def tagged(settings: dict, item: int) -> tuple[str, int, int]:
    """Return the settings' tag, the item squared and the process id (to see where it ran)."""
    return settings["tag"], item * item, os.getpid()


@pytest.mark.parametrize(("count", "workers"), [(5, 2), (120, 1), (120, 2)])
def test_results_come_in_order_with_the_settings_given(count, workers):
    seen: list[tuple[int, int]] = []
    results = list(
        parallel_map(
            tagged,
            {"tag": "fjord"},
            list(range(count)),
            workers=workers,
            threshold=40,
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    assert [r[1] for r in results] == [n * n for n in range(count)]
    assert {r[0] for r in results} == {"fjord"}
    assert seen[-1] == (count, count) and len(seen) == count
    in_this_process = {r[2] for r in results} == {os.getpid()}
    assert in_this_process == (workers == 1 or count < 40)  # big batches fork, small ones not


def test_no_module_global_carries_the_settings_in_this_process():
    from pipeline.domain import pools

    list(parallel_map(tagged, {"tag": "a"}, list(range(80)), workers=2, threshold=40))
    assert pools._WORKER == {}  # only the worker processes keep the bound function


def failing(settings: dict, item: int) -> int:
    """Raise ValueError for odd items, else return the item doubled."""
    if item % 2:
        raise ValueError(f"{settings['tag']}: {item} is odd")
    return item * 2


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_pool_answers_calls_from_many_threads(workers):
    with WorkerPool({"tag": "fjell"}, workers=workers) as pool:
        with ThreadPoolExecutor(max_workers=4) as threads:
            results = list(threads.map(lambda n: pool.call(tagged, n), range(30)))
        with pytest.raises(ValueError, match="fjell: 3 is odd"):  # the worker's own error
            pool.call(failing, 3)
        assert pool.call(failing, 4) == 8
    assert [r[1] for r in results] == [n * n for n in range(30)]
    assert {r[0] for r in results} == {"fjell"}
    in_this_process = {r[2] for r in results} == {os.getpid()}
    assert in_this_process == (workers == 1)


@pytest.mark.parametrize(("count", "workers"), [(10, 2), (1000, 1), (1000, 2)])
def test_a_generator_is_read_a_window_at_a_time(count, workers):
    drawn: list[int] = []

    def items():
        for n in range(count):
            drawn.append(n)
            yield n

    seen: list[tuple[int, int]] = []
    results = parallel_map(
        tagged,
        {"tag": "vidde"},
        items(),
        workers=workers,
        total=count,
        progress=lambda done, total: seen.append((done, total)),
    )
    first = next(results)
    ahead = len(drawn)
    rest = list(results)
    assert [first[1], *(r[1] for r in rest)] == [n * n for n in range(count)]
    assert seen[-1] == (count, count)
    if workers > 1 and count > 40:
        assert {r[2] for r in rest} != {os.getpid()}
        assert ahead <= 3 * 256  # never the whole generator at once


PARENT_ONLY: list[str] = []  # filled by a test in this process only


def parent_memory(settings: dict, item: int) -> tuple[list[str], int, int]:
    """Return what this process sees of PARENT_ONLY, the item and the parent process id."""
    return list(PARENT_ONLY), item, os.getppid()


@pytest.mark.parametrize("generator", [False, True])
def test_fresh_workers_start_from_a_server_not_from_a_copy_of_this_process(generator):
    # A forked worker sees what this process put in memory before the fork; a fresh one does
    # not (it imported the module anew), and its settings came pickled.
    PARENT_ONLY.append("roster of 10,000")
    try:
        items = range(100) if generator else list(range(100))
        forked = list(parallel_map(parent_memory, {}, list(range(100)), workers=2))
        fresh = list(
            parallel_map(parent_memory, {}, iter(items) if generator else items, workers=2,
                         total=100, fresh=True)
        )  # fmt: skip
    finally:
        PARENT_ONLY.clear()
    assert {tuple(r[0]) for r in forked} == {("roster of 10,000",)}
    assert {tuple(r[0]) for r in fresh} == {()}
    assert [r[1] for r in fresh] == list(range(100))  # in order, all of them
    assert os.getpid() not in {r[2] for r in fresh}  # their parent is the server, not us


def test_objects_made_before_a_long_lived_block_are_skipped_by_the_collector_only_within():
    import gc

    from pipeline.domain.pools import long_lived

    before = gc.get_freeze_count()
    with long_lived():
        assert gc.get_freeze_count() > before  # everything made so far: not walked again
    assert gc.get_freeze_count() == before  # and collected as usual afterwards


def frozen_objects(settings: dict, item: int) -> int:
    """Return how many objects the worker's garbage collector skips."""
    import gc

    return gc.get_freeze_count()


def test_fresh_workers_do_not_walk_their_imported_modules_again():
    counts = list(parallel_map(frozen_objects, {}, list(range(60)), workers=2, fresh=True))
    assert min(counts) > 1000  # the modules and settings the worker started with


def large_result(settings: dict, item: int) -> bytes:
    """Return a result big enough to wait in the result pipe for a moment (as a sealed PDF)."""
    return bytes(200_000)


def test_the_worker_keeping_thread_wakes_for_changes_not_for_every_result(monkeypatch):
    # The thread runs the standard pool's class method: its waits are counted there.
    wakes = []
    original = multiprocessing.pool.Pool._wait_for_updates

    def counted_wait(sentinels, change_notifier, timeout=None):
        wakes.append(len(sentinels))
        return original(sentinels, change_notifier, timeout)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_wait_for_updates", staticmethod(counted_wait))
    with WorkerPool({}, workers=2) as pool, ThreadPoolExecutor(4) as threads:
        sizes = list(threads.map(lambda n: len(pool.call(large_result, n)), range(300)))
    assert sizes == [200_000] * 300
    assert 1 <= len(wakes) < 20  # the standard pool's thread: thousands of turns here
