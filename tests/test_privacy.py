"""Tests for pipeline/domain/privacy.py: which groups' figures a report may show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.privacy import Hidden, disclose


def hidden_together(sizes: dict[str, int], shown) -> int:
    """Return how many respondents the hidden groups have together."""
    return sum(n for group, n in sizes.items() if not shown.shown(group))


def test_a_department_of_six_minus_a_group_of_five_reveals_nobody():
    # Shown: the total (15) and two departments of 6 and 5; the one of 4 is hidden. Showing the
    # department of 5 would let anyone subtract: 15 - 6 - 5 = the 4 hidden people. So it goes too.
    sizes = {"Drift": 6, "Kundeservice": 5, "Ledelse": 4}
    shown = disclose(sizes, 5)
    assert shown.total is Hidden.NONE
    assert shown.groups == {
        "Drift": Hidden.NONE,
        "Kundeservice": Hidden.PROTECTS,
        "Ledelse": Hidden.TOO_FEW,
    }
    assert hidden_together(sizes, shown) == 9


def test_hidden_groups_that_reach_the_threshold_together_need_no_company():
    shown = disclose({"A": 10, "B": 3, "C": 2, "D": 7}, 5)
    assert [g for g in "ABCD" if shown.shown(g)] == ["A", "D"]
    assert shown.groups["B"] is shown.groups["C"] is Hidden.TOO_FEW


def test_a_group_without_answers_hides_nothing_else():
    shown = disclose({"A": 8, "B": 0, "C": 6}, 5)
    assert shown.groups == {"A": Hidden.NONE, "B": Hidden.NOBODY, "C": Hidden.NONE}


def test_a_total_below_the_threshold_hides_everything():
    shown = disclose({"A": 2, "B": 2}, 5)
    assert shown.total is Hidden.TOO_FEW
    assert not any(shown.shown(g) for g in "AB")


def test_ties_hide_the_same_group_every_run():
    first = disclose({"Øst": 5, "Vest": 5, "Nord": 2}, 5)
    assert first == disclose({"Nord": 2, "Vest": 5, "Øst": 5}, 5)
    assert first.groups["Vest"] is Hidden.PROTECTS and first.groups["Øst"] is Hidden.NONE


@given(
    st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 40), max_size=12),
    st.integers(3, 10),
)
def test_no_small_group_can_be_seen_or_worked_out(sizes, threshold):
    shown = disclose(sizes, threshold)
    for group, count in sizes.items():
        if shown.shown(group):
            assert count >= threshold
    if shown.total is Hidden.NONE:
        assert sum(sizes.values()) >= threshold
        rest = hidden_together(sizes, shown)
        assert rest == 0 or rest >= threshold  # total minus the shown groups is never small
