"""Tests for pipeline/domain/pools.py: batches on all cores, settings passed in, order kept."""

from __future__ import annotations

import os

import pytest

from pipeline.domain.pools import parallel_map


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
