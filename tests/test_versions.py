"""Tests for pipeline/domain/versions.py: which returned version counts; no answer is ever wiped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.questions import Question, questions_to_json
from pipeline.domain.versions import counted_versions, is_unfilled, list_values, newest_versions
from pipeline.state.ledger import ReturnedVersion

KEY = ("1013", "employee")


def version(n: int, answers: dict, saved: str = "") -> ReturnedVersion:
    """Return the n-th returned version of employee 1013's form (later n = newer)."""
    return ReturnedVersion(
        "1013",
        "employee",
        f"innboks/skjema-{n}.docx",
        f"returned/employee/skjema-{n}.docx",
        f"2027-01-{10 + n:02d}T09:00:00+00:00",
        answers,
        [],
        n,
        saved,
    )


FILLED = {"results": "Leverte migreringen i tide.", "goals": "Lede ett prosjekt.", "ok": True}
BLANK = {"results": None, "goals": "", "ok": False}


def test_a_blank_re_save_never_replaces_a_filled_version():
    notes: list[str] = []
    winners = newest_versions([version(1, FILLED), version(2, BLANK)], notes)
    assert winners[KEY].answers == FILLED
    assert winners[KEY].stored_path.endswith("skjema-1.docx")
    assert any("1 returned unfilled, not used" in note for note in notes)


def test_a_form_back_only_unfilled_does_not_count_as_returned():
    notes: list[str] = []
    assert is_unfilled(version(1, BLANK))
    assert counted_versions([version(1, BLANK)], notes=notes) == {}
    assert any("returned unfilled" in note for note in notes)


def test_a_newer_version_that_clears_a_field_keeps_the_filled_answer_and_says_so():
    newer = {**FILLED, "goals": None, "results": "Leverte migreringen i tide, og mer."}
    notes: list[str] = []
    winner = newest_versions([version(1, FILLED), version(2, newer)], notes)[KEY]
    assert winner.answers["goals"] == FILLED["goals"]  # kept from the older file
    assert winner.answers["results"] == newer["results"]  # the newer edit counts
    [note] = [n for n in notes if "would clear or shorten" in n]
    assert "goals (empty, kept from returned/employee/skjema-1.docx)" in note
    assert "samtale collect --use returned/employee/skjema-2.docx" in note
    assert FILLED["goals"] not in note and newer["results"] not in note  # never answer text


def test_a_newer_version_that_cuts_the_text_short_keeps_the_longer_answer():
    newer = {**FILLED, "results": "Leverte migreringen"}
    winner = newest_versions([version(1, FILLED), version(2, newer)], [])[KEY]
    assert winner.answers["results"] == FILLED["results"]


STATUS = ("achieved", "partly_achieved", "not_achieved", "not_relevant")
FIELDS = questions_to_json(
    [
        Question("results", "Resultater", "richtext"),
        Question("status", "Status", "dropdown", options=("", *STATUS)),
        Question("area", "Område", "combobox", options=("Ledelse", "Ledelse og økonomi")),
    ]
)


def test_the_values_of_list_fields_are_read_from_the_forms_fields():
    lists = list_values([("employee", FIELDS), ("manager", FIELDS)])
    assert lists[("employee", "status")] == frozenset(STATUS)  # the empty choice is no value
    assert lists[("manager", "area")] == {"Ledelse", "Ledelse og økonomi"}
    assert ("employee", "results") not in lists


def test_a_newer_choice_counts_even_when_its_value_is_part_of_the_older_one():
    lists = list_values([("employee", FIELDS)])
    older = {**FILLED, "status": "not_achieved", "area": "Ledelse og økonomi"}
    newer = {**FILLED, "status": "achieved", "area": "Ledelse"}
    notes: list[str] = []
    winner = newest_versions([version(1, older), version(2, newer)], notes, lists=lists)[KEY]
    assert winner.answers == newer and winner.stored_path.endswith("skjema-2.docx")
    assert not any("would clear or shorten" in note for note in notes)
    cleared = {**newer, "status": ""}  # an emptied choice is still never taken as an answer
    winner = newest_versions([version(1, older), version(2, cleared)], [], lists=lists)[KEY]
    assert winner.answers["status"] == "not_achieved"


def test_text_typed_in_a_list_field_that_is_cut_short_keeps_the_longer_text():
    lists = list_values([("employee", FIELDS)])
    older = {**FILLED, "area": "Ledelse og økonomi, og litt til"}  # typed, not from the list
    newer = {**FILLED, "area": "Ledelse og økonomi, og"}
    winner = newest_versions([version(1, older), version(2, newer)], [], lists=lists)[KEY]
    assert winner.answers["area"] == older["area"]


def test_a_real_rewrite_that_is_shorter_still_counts():
    newer = {**FILLED, "results": "Nytt svar."}
    winner = newest_versions([version(1, FILLED), version(2, newer)], [])[KEY]
    assert winner.answers["results"] == "Nytt svar."


def test_hr_chooses_a_version_explicitly_and_it_counts_as_it_is():
    newer = {**FILLED, "goals": None}
    chosen = {KEY: "returned/employee/skjema-2.docx"}
    notes: list[str] = []
    winner = newest_versions([version(1, FILLED), version(2, newer)], notes, None, chosen)[KEY]
    assert winner.answers == newer
    assert any("HR chose returned/employee/skjema-2.docx" in note for note in notes)


def test_the_document_save_time_orders_versions_before_arrival():
    late_arrival_old_save = version(3, {**FILLED, "results": "Eldre tekst."}, saved="2027-01-05")
    early_arrival_new_save = version(2, {**FILLED, "results": "Nyere tekst."}, saved="2027-01-08")
    winner = newest_versions([late_arrival_old_save, early_arrival_new_save])[KEY]
    assert winner.answers["results"] == "Nyere tekst."


ANSWER = st.one_of(st.none(), st.just(""), st.text("abc æøå.", min_size=1, max_size=12))


@given(st.lists(st.fixed_dictionaries({"a": ANSWER, "b": ANSWER}), min_size=1, max_size=6))
def test_no_answer_any_filled_version_had_is_ever_left_empty(answer_sets):
    versions = [version(n, answers) for n, answers in enumerate(answer_sets, start=1)]
    winner = newest_versions(versions, [])[KEY]
    for key in ("a", "b"):
        if any(answers[key] for answers in answer_sets):
            assert winner.answers[key], (key, answer_sets)
