"""Tests for pipeline/previous.py: last cycle's agreements for generate --previous."""

import shutil

import openpyxl
import pytest

from pipeline.errors import WorkbookError
from pipeline.formats.previous import read_previous

from .conftest import ROOT

SAMPLE = ROOT / "input" / "answers-2026.xlsx"


def test_the_sample_gives_agreements_with_dates_as_people_write_them():
    previous = read_previous(SAMPLE, 2027)
    assert previous.cycle == "2026" and len(previous.agreements) > 20
    first = next(iter(previous.agreements.values()))[0]
    assert " · " in first and ".2026" in first
    context = previous.context_for(next(iter(previous.agreements)))
    assert context["any"] and context["agreement_1"] and "agreement_5" in context


def test_an_employee_without_agreements_gets_empty_slots():
    context = read_previous(SAMPLE, 2027).context_for("no-such-id")
    assert context["any"] is False and context["agreement_1"] == ""


def test_a_roster_given_as_previous_answers_is_refused():
    with pytest.raises(WorkbookError, match="not an answers workbook"):
        read_previous(ROOT / "input" / "roster.xlsx", 2027)


def test_this_cycles_own_answers_are_refused(tmp_path):
    own = tmp_path / "2027" / "answers.xlsx"
    own.parent.mkdir()
    shutil.copy(SAMPLE, own)
    with pytest.raises(WorkbookError, match="not of an earlier cycle"):
        read_previous(own, 2027)


def test_a_skipped_year_and_crowded_rows_give_one_warning_each(tmp_path):
    path = tmp_path / "answers-2025.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "minutes"
    keys = [f"goal_{n}" for n in range(1, 8)]
    sheet.append(["employee_id", *keys])
    sheet.append(["1001", *(f"Mål {n}" for n in range(1, 8))])
    sheet.append(["1002", *(f"Mål {n}" for n in range(1, 8))])
    workbook.save(path)
    previous = read_previous(path, 2027)
    texts = [str(w) for w in previous.warnings]
    assert len(texts) == 2
    assert "2 employee(s) have more than 5 agreements" in texts[0] and "1001, 1002" in texts[0]
    assert "answers of 2025, not of 2026" in texts[1]
    assert len(previous.agreements["1001"]) == 7
    assert previous.context_for("1001")["agreement_5"] == "Mål 5"


def test_goals_proposed_in_the_new_goal_rows_count_when_no_minutes_were_kept(tmp_path):
    path = tmp_path / "answers-2026.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "employee"
    sheet.append(["employee_id", "goal_1", "goal_1_company", "goal_2", "goal_3", "goals_next"])
    sheet.append(["1001", "Lære SQL", "Digitale arbeidsprosesser", None, "Bli fadder", None])
    sheet.append(["1002", None, None, None, None, "- Gammelt mål\n- Et til"])
    workbook.save(path)
    previous = read_previous(path, 2027)
    assert previous.agreements["1001"] == ["Lære SQL", "Bli fadder"]
    assert previous.agreements["1002"] == ["Gammelt mål", "Et til"]  # last year's old form
