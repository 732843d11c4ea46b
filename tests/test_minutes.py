"""Tests for pipeline/minutes.py: the agenda, both sides side by side, and confirmation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.commands.collect import collect_returned
from pipeline.commands.minutes import (
    AGENDA_SIZE,
    EMPTY,
    WORDS,
    agenda,
    merged_specs,
    prepare_minutes,
    sides,
)
from pipeline.domain.confirmation import minutes_state
from pipeline.domain.questions import Question
from pipeline.formats import ooxml
from pipeline.formats.roster import read_roster
from pipeline.state.ledger import Ledger, ReturnedVersion
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE

NB, EN = WORDS["nb"], WORDS["en"]


def spec(key: str, title: str, kind: str = "richtext", section: str = "", options=()) -> Question:
    """Return one question as the ledger records a form's fields (JSON, read back)."""
    stored = {
        "key": key,
        "title": title,
        "type": kind,
        "placeholder": "",
        "options": list(options),
        "section": section,
    }
    return Question.from_dict(json.loads(json.dumps(stored)))


SCORES = ("1", "2", "3", "4", "5")
SPECS = [
    spec("results", "Resultater", section="1. Tilbakeblikk"),
    spec("period_rating", "Samlet vurdering", "dropdown", "1. Tilbakeblikk", SCORES),
    spec("wellbeing_score", "Trivsel (1–5)", "dropdown", "5. Trivsel", SCORES),
    spec("workload", "Arbeidsmengde", section="5. Trivsel"),
    spec("other_topics", "Andre temaer", section="8. Andre temaer"),
    spec("wants_followup", "Ønsker oppfølgingssamtale", "checkbox", "8. Andre temaer"),
    spec("preferred_date", "Ønsket tidspunkt", "date", "8. Andre temaer"),
]


# -- agenda ----------------------------------------------------------------------------------


def test_agenda_puts_the_biggest_score_gap_before_a_text_difference():
    employee = {"results": "Leverte migreringen i tide.", "wellbeing_score": "2"}
    manager = {"results": "Fikk ned svartiden i kundeservice.", "wellbeing_score": "5"}
    items = agenda(SPECS, employee, manager, NB)
    assert items == [
        "Trivsel (1–5): medarbeider 2, leder 5",
        "Resultater: ulike vurderinger",
    ]


def test_a_topic_raised_by_one_side_only_is_named_after_that_side():
    employee = {"other_topics": "Vil gjerne snakke om hjemmekontor."}
    manager = {"workload": "Arbeidsmengden har vært høy i perioder."}
    assert agenda(SPECS, employee, manager, NB) == [
        "Arbeidsmengde: tatt opp bare av lederen",
        "Andre temaer: tatt opp bare av medarbeideren",
    ]
    assert agenda(SPECS, employee, {}, EN) == ["Andre temaer: raised only by the employee"]


def test_a_one_sided_topic_ranks_above_a_one_point_score_gap_and_below_a_big_one():
    employee = {"period_rating": "3", "wellbeing_score": "1", "other_topics": "Kurs."}
    manager = {"period_rating": "4", "wellbeing_score": "4"}
    assert agenda(SPECS, employee, manager, NB) == [
        "Trivsel (1–5): medarbeider 1, leder 4",
        "Andre temaer: tatt opp bare av medarbeideren",
        "Samlet vurdering: medarbeider 3, leder 4",
    ]


def test_the_agenda_holds_at_most_five_topics():
    many = [spec(f"topic_{n}", f"Tema {n}") for n in range(AGENDA_SIZE + 3)]
    employee = {s.key: f"Medarbeiderens syn nummer {n}" for n, s in enumerate(many)}
    items = agenda(many, employee, {}, NB)
    assert len(items) == AGENDA_SIZE == 5
    assert items[0] == "Tema 0: tatt opp bare av medarbeideren"  # ties keep the form's order


def test_identical_or_similar_answers_give_no_agenda():
    answers = {
        "results": "Leverte migreringen i tide.",
        "period_rating": "4",
        "wellbeing_score": "4",
        "wants_followup": True,
        "preferred_date": "2027-01-20",
    }
    assert agenda(SPECS, answers, dict(answers), NB) == []
    assert agenda(SPECS, {}, {}, NB) == []
    nearly = dict(answers, results="Leverte migreringen i tide!")
    assert agenda(SPECS, answers, nearly, NB) == []


def test_a_different_checkbox_is_on_the_agenda():
    items = agenda(SPECS, {"wants_followup": True}, {"wants_followup": False}, EN)
    assert items == ["Ønsker oppfølgingssamtale: different views"]


# -- both sides ------------------------------------------------------------------------------


def test_sides_groups_questions_by_section_in_form_order():
    employee = {
        "results": "Leverte i tide.",
        "wellbeing_score": "4",
        "wants_followup": True,
        "preferred_date": "2027-01-20",
    }
    manager = {"results": "Sterkt år.", "wants_followup": False}
    sections = sides(SPECS, employee, manager, NB)
    assert [s["title"] for s in sections] == ["1. Tilbakeblikk", "5. Trivsel", "8. Andre temaer"]
    rows = {row["question"]: row for s in sections for row in s["rows"]}
    assert list(rows) == [s.title for s in SPECS]
    assert rows["Resultater"] == {
        "question": "Resultater",
        "employee": "Leverte i tide.",
        "manager": "Sterkt år.",
    }
    assert (rows["Trivsel (1–5)"]["employee"], rows["Trivsel (1–5)"]["manager"]) == ("4", EMPTY)
    assert rows["Arbeidsmengde"]["employee"] == rows["Arbeidsmengde"]["manager"] == "–"
    followup = rows["Ønsker oppfølgingssamtale"]
    assert (followup["employee"], followup["manager"]) == ("Ja", "Nei")
    assert rows["Ønsket tidspunkt"]["employee"] == "20.01.2027"


def test_sides_in_english_keep_iso_dates_and_say_yes_no():
    sections = sides(SPECS, {"wants_followup": True, "preferred_date": "2027-01-20"}, {}, EN)
    rows = {row["question"]: row for s in sections for row in s["rows"]}
    assert rows["Ønsker oppfølgingssamtale"]["employee"] == "Yes"
    assert rows["Ønsket tidspunkt"]["employee"] == "2027-01-20"


def test_merged_specs_keeps_the_managers_own_questions():
    employee = [SPECS[0], spec("feedback_manager", "Tilbakemelding til leder"), SPECS[4]]
    manager = [SPECS[0], spec("support_employee", "Støtte til medarbeideren"), SPECS[4]]
    merged = merged_specs(employee, manager)
    assert [s.key for s in merged] == [
        "results",
        "support_employee",
        "feedback_manager",
        "other_topics",
    ]
    assert merged_specs(employee, []) == employee
    assert merged_specs([], manager) == manager


def test_merged_specs_skips_untagged_fields_and_copies_the_specs():
    untagged = spec("", "Uten nøkkel")
    merged = merged_specs([untagged, SPECS[0]], [SPECS[0], untagged])
    assert [s.key for s in merged] == ["results"]
    with pytest.raises(dataclasses.FrozenInstanceError):  # shared, never changed in place
        merged[0].title = "Endret"
    assert SPECS[0].title == "Resultater"


# -- confirmation ----------------------------------------------------------------------------

AGREED = {
    "agreed_look_back": "Et godt år med migreringen av kundeportalen.",
    "agreed_goals": "Lede ett forbedringsprosjekt innen juni.",
}
MANAGER_SIGNED = {
    "manager_confirmed": True,
    "manager_name": "Anne-Lise Fjeldstad",
    "manager_date": "2027-02-01",
}
EMPLOYEE_SIGNED = {
    "employee_confirmed": True,
    "employee_name": "Siri Kvåle",
    "employee_date": "2027-02-03",
}
UNSIGNED_EMPLOYEE = {"employee_confirmed": False, "employee_name": "", "employee_date": ""}


def returned(source: str, returned_at: str, answers: dict, order: int) -> ReturnedVersion:
    """Return one accepted returned minutes form of employee 1013."""
    return ReturnedVersion(
        "1013", "minutes", source, f"returned/{source}", returned_at, answers, [], order
    )


def by_manager(order: int = 1, when: str = "2027-02-01T10:00:00+00:00", **changes):
    """Return the minutes as the manager sends them: confirmed by the manager only."""
    answers = {**AGREED, **MANAGER_SIGNED, **UNSIGNED_EMPLOYEE, **changes}
    return returned("referat-leder.docx", when, answers, order)


def by_employee(order: int = 2, when: str = "2027-02-03T10:00:00+00:00", **changes):
    """Return the minutes as the employee sends them back: confirmed by both."""
    answers = {**AGREED, **MANAGER_SIGNED, **EMPLOYEE_SIGNED, **changes}
    return returned("referat-medarbeider.docx", when, answers, order)


def test_minutes_confirmed_by_the_manager_only_miss_the_employee():
    state = minutes_state("1013", [by_manager()])
    assert not state.confirmed and state.final is None
    assert state.missing == ("the employee's confirmation",)


def test_minutes_confirmed_by_both_in_one_file_are_confirmed():
    both = by_employee(order=1)
    state = minutes_state("1013", [both])
    assert state.confirmed and state.final == both and state.missing == ()


def test_an_unconfirmed_form_misses_both_confirmations():
    blank = returned("tomt.docx", "2027-02-01T10:00:00+00:00", dict(AGREED), 1)
    state = minutes_state("1013", [blank])
    assert state.missing == ("the manager's confirmation", "the employee's confirmation")


def test_manager_then_employee_with_the_same_content_is_confirmed_by_the_employees_copy():
    manager, employee = by_manager(), by_employee()
    state = minutes_state("1013", [employee, manager])  # the order given does not matter
    assert state.confirmed and state.final == employee
    assert state.versions == (manager, employee)


def test_an_employee_who_changes_the_minutes_makes_the_manager_confirm_again():
    changed = by_employee(agreed_goals="Medarbeideren har endret målene.")
    state = minutes_state("1013", [by_manager(), changed])
    assert not state.confirmed and state.final is None
    assert len(state.missing) == 1 and "must confirm again" in state.missing[0]


def test_resending_the_changed_minutes_without_a_new_manager_date_is_not_a_confirmation():
    # Without a new manager date nobody can tell the manager's re-send from the employee's.
    changed = by_employee(agreed_goals="Medarbeideren har endret målene.")
    again = by_employee(
        order=3, when="2027-02-04T08:00:00+00:00", agreed_goals="Medarbeideren har endret målene."
    )
    state = minutes_state("1013", [by_manager(), changed, again])
    assert not state.confirmed and "must confirm again" in state.missing[0]


def test_a_manager_only_version_of_the_new_text_confirms_it():
    changed = by_employee(agreed_goals="Ny tekst.")
    manager = by_manager(order=3, when="2027-02-04T08:00:00+00:00", agreed_goals="Ny tekst.")
    employee = by_employee(order=4, when="2027-02-05T08:00:00+00:00", agreed_goals="Ny tekst.")
    state = minutes_state("1013", [by_manager(), changed, manager, employee])
    assert state.confirmed and state.final == employee


def test_an_unticked_checkbox_read_as_text_is_not_a_confirmation():
    both = by_employee(order=1, employee_confirmed="\u2610")
    state = minutes_state("1013", [both])
    assert not state.confirmed and state.missing == ("the employee's confirmation",)


def test_the_manager_may_date_the_new_confirmation():
    changed = by_employee(agreed_goals="Medarbeideren har endret målene.")
    again = by_employee(
        order=3,
        when="2027-02-04T08:00:00+00:00",
        agreed_goals="Medarbeideren har endret målene.",
        manager_date="2027-02-04",
    )
    state = minutes_state("1013", [by_manager(), changed, again])
    assert state.confirmed and state.final == again


def test_an_older_file_collected_later_does_not_win():
    late_old = by_manager(order=5, when="2027-01-30T10:00:00+00:00")
    employee = by_employee(order=2)
    state = minutes_state("1013", [employee, late_old])
    assert state.confirmed and state.final == employee


@pytest.mark.parametrize(("first", "second"), [(1, 2), (2, 1)])
def test_versions_returned_the_same_second_are_ordered_by_collection(first, second):
    when = "2027-02-03T10:00:00+00:00"
    manager = by_manager(order=first, when=when)
    employee = by_employee(order=second, when=when)
    state = minutes_state("1013", [manager, employee])
    assert state.versions[-1].order == max(first, second)
    assert state.confirmed == (second > first)


# -- prepare_minutes on a generated cycle ----------------------------------------------------

READY = {"1013": "Siri Kvåle", "1044": "Fiona O'Donnell-Whitaker"}


def form_bytes(workspace, employee_id: str, kind: str) -> bytes:
    """Return a generated form of one employee."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.cycle_dir(CYCLE) / record.path).read_bytes()


def side_answers(data: bytes, side: str, employee_id: str) -> dict:
    """Return answers for every field; wellbeing 2 vs 5, other topics from the employee only."""
    answers: dict[str, str | bool] = {}
    for field in fields_of(data):
        if field.type == "checkbox":
            answers[field.key] = side == "employee"
        elif field.type == "dropdown":
            answers[field.key] = "4"
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-01-2{len(side) % 10}"
        else:
            answers[field.key] = f"{side}-svar {employee_id} om {field.key}"
    answers["wellbeing_score"] = "2" if side == "employee" else "5"
    if side == "manager":
        answers["other_topics"] = ""
    return answers


def minutes_text(workspace, employee_id: str) -> str:
    """Return the visible text of an employee's minutes form, paragraph by paragraph."""
    data = form_bytes(workspace, employee_id, "minutes")
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    return ooxml.element_text(ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART]))


@pytest.fixture
def two_ready(generated_copy, tmp_path):
    """Return a workspace where both prep forms of the READY employees came back."""
    source = tmp_path / "returned"
    source.mkdir()
    for employee_id in READY:
        for side in ("employee", "manager"):
            sent = form_bytes(generated_copy, employee_id, side)
            filled = fill_form(sent, side_answers(sent, side, employee_id))
            (source / f"{employee_id}-{side}.docx").write_bytes(filled)
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert len(report.accepted) == 4 and report.quarantined == []
    return generated_copy


def test_minutes_are_written_only_for_employees_with_both_prep_forms(two_ready):
    report = prepare_minutes(two_ready, CYCLE, workers=1)
    with Ledger(two_ready.ledger_path(CYCLE)) as ledger:
        records = ledger.forms("minutes")
    assert {r.employee_id for r in records} == set(READY)
    names = sorted(Path(r.path).name for r in records)
    assert sorted(report.forms.written) == names and len(names) == 2
    assert all((two_ready.cycle_dir(CYCLE) / r.path).is_file() for r in records)
    roster = read_roster(two_ready.roster_path)
    assert len(report.waiting) == len(roster.employees) - 2
    waiting = "\n".join(report.waiting)
    assert "Kåre Bråten (1015): employee and manager form" in report.waiting
    assert all(name not in waiting for name in READY.values())


def test_the_minutes_form_shows_both_sides_and_the_agenda(two_ready):
    prepare_minutes(two_ready, CYCLE, workers=1)
    text = minutes_text(two_ready, "1013")
    for side in ("employee", "manager"):
        assert f"{side}-svar 1013 om results" in text
        assert f"{side}-svar 1013 om collaboration" in text
    assert "manager-svar 1013 om support_employee" in text
    assert "employee-svar 1013 om feedback_manager" in text
    assert "Trivsel (1–5): medarbeider 2, leder 5" in text
    assert "Andre temaer: tatt opp bare av medarbeideren" in text
    assert "1044" not in text  # nobody else's answers
    english = minutes_text(two_ready, "1044")
    assert "employee-svar 1044 om results" in english
    assert "raised only by the employee" in english and "employee 2, manager 5" in english


def test_minutes_are_not_written_twice(two_ready):
    first = prepare_minutes(two_ready, CYCLE, workers=1)
    stamps = {p: p.stat().st_mtime_ns for p in two_ready.forms_dir(CYCLE).iterdir()}
    again = prepare_minutes(two_ready, CYCLE, workers=1)
    assert len(first.forms.written) == 2
    assert again.forms.written == [] and again.forms.unchanged == 2
    assert {p: p.stat().st_mtime_ns for p in two_ready.forms_dir(CYCLE).iterdir()} == stamps


def test_allow_missing_writes_minutes_for_everyone(two_ready):
    report = prepare_minutes(two_ready, CYCLE, allow_missing=True, workers=1)
    roster = read_roster(two_ready.roster_path)
    assert report.waiting == [] and len(report.forms.written) == len(roster.employees)
    text = minutes_text(two_ready, "1015")
    assert "Kåre Bråten" in text and "Ingen store forskjeller" in text
    with Ledger(two_ready.ledger_path(CYCLE)) as ledger:
        record = ledger.form("1015", "minutes")
    assert [f["key"] for f in json.loads(record.fields)][:1] == ["agreed_look_back"]
