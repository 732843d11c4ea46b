"""The answers workbook: layout, answers stored as text, HR's edits kept, safe writes."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.domain.questions import Question
from pipeline.errors import WorkbookError, WorkbookLockedError
from pipeline.formats import answers as answers_module
from pipeline.formats.answers import (
    AnswerRow,
    merge_cell,
    update_answers_workbook,
)
from pipeline.formats.previous import read_sheet_rows
from pipeline.formats.templates import FIXED_COLUMNS
from pipeline.state.ledger import Ledger

EMPLOYEE_QUESTIONS = [
    Question("wellbeing", "Hvordan trives du på jobb?", "richtext", section="Trivsel"),
    Question("workload", "Hvordan er arbeidsmengden?", "dropdown", section="Trivsel"),
    Question("wants_course", "Ønsker du kurs i år?", "checkbox", section="Utvikling"),
    Question("course_date", "Når passer kurset?", "date", section="Utvikling"),
    Question("goals_next", "Hvilke mål har du for neste år?", "richtext", section="Mål"),
]
MANAGER_QUESTIONS = [
    Question("observations", "Hva har du lagt merke til?", "richtext", section="Leders notater"),
]
MINUTES_QUESTIONS = [
    Question("goal_1", "Mål 1", "text", section="Mål"),
    Question("goal_1_measure", "Hvordan måles mål 1?", "text", section="Mål"),
]
FORMULA_LIKE = [
    "=1+1",
    "+47 123 45 678",
    "-",
    "-5",
    "@foo",
    '=HYPERLINK("http://example.invalid","klikk")',
    "#N/A",
    "=",
]
# Characters XML 1.0 cannot hold; the workbook drops them by design.
XML_FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"} | {"\ufffe", "\uffff"}


def row(employee_id: str, answers: dict | None = None, **fixed) -> AnswerRow:
    """Return an answer row of an invented employee."""
    values = {
        "name": f"Åse Øvrebø-Kristiansen {employee_id}",
        "department": "Økonomi og lønn",
        "manager_id": "9001",
        "status": "returned" if answers else "missing",
        "returned_at": "2026-03-02T09:15:00+00:00" if answers else "",
        "source_file": f"returned/{employee_id}.docx" if answers else "",
    }
    values.update(fixed)
    return AnswerRow(employee_id, answers=dict(answers or {}), **values)


def first_answers(**changes) -> dict:
    """Return one employee's answers to the employee form, with changes."""
    answers = {
        "wellbeing": "Jeg trives godt.\nTeamet er fint.",
        "workload": "Passe",
        "wants_course": True,
        "course_date": "2026-05-04",
        "goals_next": "- Lære SQL\n- Bli bedre på Excel",
    }
    answers.update(changes)
    return answers


def sheets_of(rows: list[AnswerRow], questions=EMPLOYEE_QUESTIONS) -> dict:
    """Return the ``sheets`` argument for the employee form only."""
    return {"employee": (questions, rows)}


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "answers.xlsx"


def load(path: Path):
    """Return the workbook as openpyxl reads it (formulas as written)."""
    return openpyxl.load_workbook(path)


def sheet_records(path: Path, sheet: str) -> dict[str, dict]:
    """Return {employee_id: {key: cell}} of a sheet."""
    worksheet = load(path)[sheet]
    rows = list(worksheet.iter_rows())
    header = [c.value for c in rows[0]]
    return {
        str(r[header.index("employee_id")].value): dict(zip(header, r, strict=True))
        for r in rows[1:]
        if r[header.index("employee_id")].value is not None
    }


def hr_edits(path: Path, sheet: str, employee_id: str, key: str, value) -> None:
    """Change one cell the way HR would, in the workbook file."""
    workbook = load(path)
    worksheet = workbook[sheet]
    header = [c.value for c in worksheet[1]]
    for cells in worksheet.iter_rows(min_row=2):
        if str(cells[header.index("employee_id")].value) == employee_id:
            cells[header.index(key)].value = value
    workbook.save(path)


def extracted_rows(ledger: Ledger) -> list[tuple]:
    """Return the ledger's memory of what was written."""
    try:
        return [tuple(r) for r in ledger.db.execute("SELECT * FROM extracted ORDER BY 1, 2, 3")]
    except Exception:
        return []


# layout ----------------------------------------------------------------------------------------


def test_row_one_holds_the_keys_in_template_order_and_sheets_are_in_order(path, ledger):
    sheets = {
        "minutes": (MINUTES_QUESTIONS, [row("1001")]),
        "employee": (EMPLOYEE_QUESTIONS, [row("1001", first_answers())]),
        "manager": (MANAGER_QUESTIONS, [row("1001")]),
    }
    report = update_answers_workbook(path, sheets, ledger)
    workbook = load(path)
    assert workbook.sheetnames == ["employee", "manager", "minutes", "questions"]
    header = [c.value for c in workbook["employee"][1]]
    assert header == [*FIXED_COLUMNS, *(q.key for q in EMPLOYEE_QUESTIONS)]
    assert [c.value for c in workbook["minutes"][1]] == [*FIXED_COLUMNS, "goal_1", "goal_1_measure"]
    assert report.rows == {"minutes": 1, "employee": 1, "manager": 1}
    assert report.updated_cells == sum(1 for v in first_answers().values() if v)


def test_questions_sheet_says_what_each_key_asks(path, ledger):
    sheets = {
        "employee": (EMPLOYEE_QUESTIONS, [row("1001")]),
        "manager": (MANAGER_QUESTIONS, [row("1001")]),
    }
    update_answers_workbook(path, sheets, ledger)
    rows = list(load(path)["questions"].iter_rows(values_only=True))
    assert rows[0] == ("key", "form_kind", "section", "question", "type")
    expected = [(q.key, "employee", q.section, q.title, q.type) for q in EMPLOYEE_QUESTIONS]
    expected += [(q.key, "manager", q.section, q.title, q.type) for q in MANAGER_QUESTIONS]
    assert rows[1:] == expected


def test_questions_of_a_kind_not_updated_this_time_are_kept(path, ledger):
    update_answers_workbook(path, {"minutes": (MINUTES_QUESTIONS, [row("1001")])}, ledger)
    changed = [Question("wellbeing", "Trives du?", "richtext", section="Trivsel")]
    update_answers_workbook(path, sheets_of([row("1001")], changed), ledger)
    rows = list(load(path)["questions"].iter_rows(min_row=2, values_only=True))
    assert rows == [
        ("wellbeing", "employee", "Trivsel", "Trives du?", "richtext"),
        *[(q.key, "minutes", q.section, q.title, q.type) for q in MINUTES_QUESTIONS],
    ]


def test_header_is_bold_frozen_filtered_and_columns_have_sensible_widths(path, ledger):
    rows = [row("1001", first_answers(wellbeing="lang " * 60)), row("1002")]
    update_answers_workbook(path, sheets_of(rows), ledger)
    for name in ("employee", "questions"):
        sheet = load(path)[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" + (
            str(sheet.max_row)
        )
        assert all(cell.font.bold for cell in sheet[1])
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(12 <= w <= 50 for w in widths), widths
    sheet = load(path)["employee"]
    by_key = {c.value: c.column_letter for c in sheet[1]}
    assert sheet.column_dimensions[by_key["wellbeing"]].width == 50
    assert sheet.column_dimensions[by_key["manager_id"]].width == 12
    assert sheet[f"{by_key['wellbeing']}2"].alignment.wrap_text
    assert sheet[f"{by_key['wellbeing']}3"].number_format == "@"  # HR's typing stays text too


def test_workbook_is_owner_only_and_no_temporary_file_is_left(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir() if "answers" in p.name) == ["answers.xlsx"]


# answers are data ------------------------------------------------------------------------------


def test_formula_like_answers_stay_text(path, ledger):
    values = {f"q{n}": value for n, value in enumerate(FORMULA_LIKE)}
    questions = [Question(key, key, "text") for key in values]
    update_answers_workbook(path, sheets_of([row("1001", values)], questions), ledger)
    for _ in range(2):  # and again after the workbook was read back and rewritten
        cells = sheet_records(path, "employee")["1001"]
        for key, value in values.items():
            assert (cells[key].value, cells[key].data_type) == (value, "s")
        with zipfile.ZipFile(path) as archive:
            assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
        update_answers_workbook(path, sheets_of([row("1001", values)], questions), ledger)


def test_formula_like_fixed_columns_stay_text(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", name="=cmd|' /C calc'!A0")]), ledger)
    cell = sheet_records(path, "employee")["1001"]["name"]
    assert (cell.value, cell.data_type) == ("=cmd|' /C calc'!A0", "s")


def test_norwegian_letters_emoji_tabs_and_newlines_round_trip(path, ledger):
    text = "Blåbærsyltetøy på Ærøy 🎉\n\tinnrykk\r\nslutt  "
    update_answers_workbook(path, sheets_of([row("1001", first_answers(wellbeing=text))]), ledger)
    assert sheet_records(path, "employee")["1001"]["wellbeing"].value == text


def test_xml_forbidden_characters_are_dropped_and_the_rest_kept(path, ledger):
    answers = first_answers(wellbeing="før\x00\x07etter\x1b\ufffe slutt")
    update_answers_workbook(path, sheets_of([row("1001", answers)]), ledger)
    assert sheet_records(path, "employee")["1001"]["wellbeing"].value == "føretter slutt"


def test_checkboxes_are_booleans_and_dates_iso_text(path, ledger):
    rows = [
        row("1001", first_answers(wants_course=True)),
        row("1002", first_answers(wants_course=False)),
    ]
    update_answers_workbook(path, sheets_of(rows), ledger)
    records = sheet_records(path, "employee")
    assert (records["1001"]["wants_course"].value, records["1001"]["wants_course"].data_type) == (
        True,
        "b",
    )
    assert records["1002"]["wants_course"].value is False
    assert (records["1001"]["course_date"].value, records["1001"]["course_date"].data_type) == (
        "2026-05-04",
        "s",
    )


def test_missing_employees_have_a_row_without_answers(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers()), row("1002")]), ledger)
    missing = sheet_records(path, "employee")["1002"]
    assert missing["status"].value == "missing"
    assert all(missing[q.key].value is None for q in EMPLOYEE_QUESTIONS)


def test_answer_longer_than_excel_allows_is_cut_and_reported(path, ledger):
    text = "æ" * 40_000
    report = update_answers_workbook(
        path, sheets_of([row("1001", first_answers(wellbeing=text))]), ledger
    )
    assert sheet_records(path, "employee")["1001"]["wellbeing"].value == "æ" * 32_767
    assert [(c.employee_id, c.key) for c in report.conflicts] == [("1001", "wellbeing")]
    assert "32767" in report.conflicts[0].reason
    again = update_answers_workbook(
        path, sheets_of([row("1001", first_answers(wellbeing=text))]), ledger
    )
    assert again.kept_hr_edits == 0 and again.updated_cells == 0


# HR's edits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "last", "new", "decision"),
    [
        ("a", "a", "b", "write"),
        (None, answers_module.NEVER, "b", "write"),
        ("", None, "b", "write"),
        ("HR", "a", "a", "kept"),
        ("HR", answers_module.NEVER, None, "kept"),
        ("HR", "a", "b", "conflict"),
        ("HR", answers_module.NEVER, "b", "conflict"),
        ("b", "a", "b", "agree"),
        (dt.datetime(2026, 5, 4), "2026-05-04", "2026-06-01", "write"),
        (5, "5", "6", "write"),
        (5.0, "5", "6", "write"),
        (True, True, False, "write"),
        ("a\r\nb", "a\nb", "c", "write"),
    ],
)
def test_merge_decision(current, last, new, decision):
    assert merge_cell(current, last, new) == decision


def test_hr_edit_is_kept_when_nothing_new_came_in(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "workload", "For mye (rettet av HR)")
    report = update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    cells = sheet_records(path, "employee")["1001"]
    assert cells["workload"].value == "For mye (rettet av HR)"
    assert (report.kept_hr_edits, report.updated_cells, report.conflicts) == (1, 0, [])


def test_unedited_cells_take_the_new_version_while_hr_edits_stay(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "workload", "Rettet")
    newer = first_answers(wellbeing="Ny versjon", wants_course=False)
    report = update_answers_workbook(
        path, sheets_of([row("1001", newer, status="returned (2 versions)")]), ledger
    )
    cells = sheet_records(path, "employee")["1001"]
    assert cells["wellbeing"].value == "Ny versjon"
    assert cells["wants_course"].value is False
    assert cells["workload"].value == "Rettet"
    assert cells["status"].value == "returned (2 versions)"
    assert (report.updated_cells, report.kept_hr_edits, report.conflicts) == (2, 1, [])


def test_conflict_when_hr_and_a_new_version_both_changed_a_cell(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "goals_next", "HR-tekst om mål")
    newer = first_answers(goals_next="Ansattes nye mål")
    report = update_answers_workbook(path, sheets_of([row("1001", newer)]), ledger)
    assert sheet_records(path, "employee")["1001"]["goals_next"].value == "HR-tekst om mål"
    assert [(c.sheet, c.employee_id, c.key) for c in report.conflicts] == [
        ("employee", "1001", "goals_next")
    ]
    shown = repr(report)
    for text in ("HR-tekst", "Ansattes nye", "Lære SQL"):
        assert text not in shown
    again = update_answers_workbook(path, sheets_of([row("1001", newer)]), ledger)
    assert (again.conflicts, again.kept_hr_edits) == ([], 1)  # reported once, then kept


def test_no_conflict_when_hr_already_wrote_what_the_new_version_says(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "workload", "Litt for mye")
    report = update_answers_workbook(
        path, sheets_of([row("1001", first_answers(workload="Litt for mye"))]), ledger
    )
    assert (report.conflicts, report.kept_hr_edits, report.updated_cells) == ([], 0, 0)
    later = update_answers_workbook(
        path, sheets_of([row("1001", first_answers(workload="Mye"))]), ledger
    )
    assert later.updated_cells == 1
    assert sheet_records(path, "employee")["1001"]["workload"].value == "Mye"


def test_hr_filling_in_a_missing_employee_is_kept(path, ledger):
    update_answers_workbook(path, sheets_of([row("1002")]), ledger)
    hr_edits(path, "employee", "1002", "wellbeing", "Fra papirskjema")
    report = update_answers_workbook(path, sheets_of([row("1002")]), ledger)
    assert sheet_records(path, "employee")["1002"]["wellbeing"].value == "Fra papirskjema"
    assert report.kept_hr_edits == 1


def test_hr_date_typed_as_a_date_counts_as_the_same_answer(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "course_date", dt.datetime(2026, 5, 4))
    report = update_answers_workbook(
        path, sheets_of([row("1001", first_answers(course_date="2026-06-01"))]), ledger
    )
    assert (report.kept_hr_edits, report.conflicts, report.updated_cells) == (0, [], 1)
    assert sheet_records(path, "employee")["1001"]["course_date"].value == "2026-06-01"


def test_fixed_columns_are_always_updated(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001")]), ledger)
    hr_edits(path, "employee", "1001", "status", "HR har purret")
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    assert sheet_records(path, "employee")["1001"]["status"].value == "returned"


def test_new_employees_hr_rows_hr_columns_and_hr_sheets_are_kept(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    workbook = load(path)
    sheet = workbook["employee"]
    sheet.cell(1, sheet.max_column + 1, "hr_note")
    sheet.cell(2, sheet.max_column, "Ring tilbake")
    sheet.append(["7777", "Ekstern konsulent"])
    workbook.create_sheet("HR-notater")["A1"] = "Egne notater"
    workbook.save(path)
    rows = [row("1001", first_answers()), row("1003", first_answers(workload="Lite"))]
    report = update_answers_workbook(path, sheets_of(rows), ledger)
    workbook = load(path)
    assert workbook.sheetnames == ["employee", "questions", "HR-notater"]
    assert workbook["HR-notater"]["A1"].value == "Egne notater"
    records = sheet_records(path, "employee")
    assert list(records) == ["1001", "7777", "1003"]
    assert records["1001"]["hr_note"].value == "Ring tilbake"
    assert records["7777"]["name"].value == "Ekstern konsulent"
    assert records["1003"]["workload"].value == "Lite"
    assert report.rows == {"employee": 1 + 1}


def test_a_row_or_column_hr_deleted_comes_back(path, ledger):
    rows = [row("1001", first_answers()), row("1002", first_answers(workload="Lite"))]
    update_answers_workbook(path, sheets_of(rows), ledger)
    workbook = load(path)
    workbook["employee"].delete_rows(2)
    workbook["employee"].delete_cols(len(FIXED_COLUMNS) + 1)  # wellbeing
    workbook.save(path)
    update_answers_workbook(path, sheets_of(rows), ledger)
    records = sheet_records(path, "employee")
    assert records["1001"]["workload"].value == "Passe"
    assert records["1001"]["wellbeing"].value == first_answers()["wellbeing"]
    assert records["1002"]["wellbeing"].value == first_answers()["wellbeing"]


def test_a_workbook_moved_aside_is_written_again_in_full(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    path.rename(path.with_name("answers-old.xlsx"))
    report = update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    assert sheet_records(path, "employee")["1001"]["workload"].value == "Passe"
    assert report.kept_hr_edits == 0


# safe writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lock_name", [".~lock.answers.xlsx#", "~$answers.xlsx"])
def test_lock_file_stops_the_update_and_loses_nothing(path, ledger, lock_name):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    before, remembered = path.read_bytes(), extracted_rows(ledger)
    (path.parent / lock_name).write_text("Åse,host,2026")
    newer = first_answers(wellbeing="Ny")
    with pytest.raises(WorkbookLockedError) as caught:
        update_answers_workbook(path, sheets_of([row("1001", newer)]), ledger)
    assert lock_name in str(caught.value) and "close it" in str(caught.value)
    assert path.read_bytes() == before
    assert extracted_rows(ledger) == remembered


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(13, "The process cannot access the file"), WorkbookLockedError),
        (OSError(28, "No space left on device"), WorkbookError),
    ],
)
def test_failed_replace_loses_nothing(path, ledger, monkeypatch, error, expected):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    before, remembered = path.read_bytes(), extracted_rows(ledger)

    def refuse(source, target):
        raise error

    monkeypatch.setattr(answers_module.os, "replace", refuse)
    with pytest.raises(expected, match="answers.xlsx") as caught:
        update_answers_workbook(
            path, sheets_of([row("1001", first_answers(wellbeing="Ny"))]), ledger
        )
    assert error.strerror in str(caught.value)
    assert path.read_bytes() == before
    assert extracted_rows(ledger) == remembered
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".answers-")] == []


def test_workbook_saved_by_hr_during_the_update_is_not_overwritten(path, ledger, monkeypatch):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    real_sync = answers_module.sync

    def hr_saves_meanwhile(temporary):
        real_sync(temporary)
        hr_edits(path, "employee", "1001", "workload", "HR lagret nå")

    monkeypatch.setattr(answers_module, "sync", hr_saves_meanwhile)
    with pytest.raises(WorkbookLockedError, match="changed while"):
        update_answers_workbook(
            path, sheets_of([row("1001", first_answers(wellbeing="Ny"))]), ledger
        )
    assert sheet_records(path, "employee")["1001"]["workload"].value == "HR lagret nå"


needs_permissions = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")


@needs_permissions
def test_read_only_workbook_is_a_locked_workbook(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    before = path.read_bytes()
    path.chmod(0o400)
    with pytest.raises(WorkbookLockedError, match="read-only"):
        update_answers_workbook(
            path, sheets_of([row("1001", first_answers(wellbeing="Ny"))]), ledger
        )
    assert path.read_bytes() == before


@needs_permissions
def test_read_only_folder_is_a_locked_workbook(tmp_path, ledger):
    folder = tmp_path / "2027"
    folder.mkdir()
    path = folder / "answers.xlsx"
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    before = path.read_bytes()
    folder.chmod(0o500)
    try:
        with pytest.raises(WorkbookLockedError, match="not writable"):
            update_answers_workbook(
                path, sheets_of([row("1001", first_answers(wellbeing="Ny"))]), ledger
            )
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    "content", [b"", b"not a workbook at all", b"PK\x03\x04 broken zip", "truncated"]
)
def test_corrupt_workbook_is_reported_and_left_alone(path, ledger, content):
    if content == "truncated":
        update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
        content = path.read_bytes()[:2000]
    path.write_bytes(content)
    remembered = extracted_rows(ledger)
    with pytest.raises(WorkbookError) as caught:
        update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    assert not isinstance(caught.value, WorkbookLockedError)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)
    assert path.read_bytes() == content
    assert extracted_rows(ledger) == remembered


def test_sheet_without_employee_id_column_is_reported(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_workbook = load(path)
    hr_workbook["employee"]["A1"] = "ansattnr"
    hr_workbook.save(path)
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match="employee_id"):
        update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    assert path.read_bytes() == before


def test_repeated_employee_is_a_caller_error(path, ledger):
    with pytest.raises(ValueError, match="1001"):
        update_answers_workbook(path, sheets_of([row("1001"), row("1001")]), ledger)
    assert not path.exists()


# next year's reader ----------------------------------------------------------------------------


def test_previous_cycle_reader_reads_what_was_written(path, ledger):
    sheets = {
        "employee": (EMPLOYEE_QUESTIONS, [row("1001", first_answers()), row("1002")]),
        "minutes": (MINUTES_QUESTIONS, [row("1001", {"goal_1": "=Bli teamleder"})]),
    }
    update_answers_workbook(path, sheets, ledger)
    employee = read_sheet_rows(path, "employee")
    assert set(employee) == {"1001", "1002"}
    assert employee["1001"]["goals_next"] == first_answers()["goals_next"]
    assert employee["1001"]["wants_course"] is True
    assert employee["1002"]["status"] == "missing"
    assert read_sheet_rows(path, "minutes")["1001"]["goal_1"] == "=Bli teamleder"


# property: any text round trips ----------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(TEXT, min_size=1, max_size=4))
def test_any_text_round_trips(values):
    questions = [Question(f"q{n}", "", f"Spørsmål {n}", "text") for n in range(len(values))]
    answers = {q.key: value for q, value in zip(questions, values, strict=True)}
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        path = Path(folder) / "answers.xlsx"
        update_answers_workbook(path, sheets_of([row("1001", answers)], questions), ledger)
        cells = sheet_records(path, "employee")["1001"]
        for key, value in answers.items():
            expected = "".join(c for c in value if c not in XML_FORBIDDEN)
            assert cells[key].value == (expected or None)
            assert expected == "" or cells[key].data_type == "s"
        report = update_answers_workbook(path, sheets_of([row("1001", answers)], questions), ledger)
        assert (report.updated_cells, report.kept_hr_edits, report.conflicts) == (0, 0, [])


# size ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_thousand_employees_with_forty_answers_round_trip(path, ledger):
    questions = [
        Question(f"q{n:02d}", "Del", f"Spørsmål {n}", "checkbox" if n % 8 == 0 else "richtext")
        for n in range(40)
    ]
    rows = [
        row(
            str(1000 + n),
            {
                q.key: n % 2 == 0 if q.type == "checkbox" else f"Svar {n}\nlinje to"
                for q in questions
            },
        )
        for n in range(1000)
    ]
    update_answers_workbook(path, sheets_of(rows, questions), ledger)
    report = update_answers_workbook(path, sheets_of(rows, questions), ledger)
    assert report.rows == {"employee": 1000} and report.updated_cells == 0


# LibreOffice -----------------------------------------------------------------------------------


def soffice(tmp_path: Path, *args: str) -> None:
    """Run LibreOffice headless with a private profile."""
    program = shutil.which("soffice") or shutil.which("libreoffice")
    if not program:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [program, "--headless", f"-env:UserInstallation={profile}", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.libreoffice
def test_libreoffice_shows_formula_like_answers_as_text(path, ledger, tmp_path):
    values = {f"q{n}": value for n, value in enumerate(FORMULA_LIKE)}
    values["q_nordic"] = "Blåbær 🎉\nny linje"
    questions = [Question(key, key, "text") for key in values]
    update_answers_workbook(path, sheets_of([row("1001", values)], questions), ledger)
    out = tmp_path / "csv"
    soffice(
        tmp_path,
        "--convert-to",
        "csv:Text - txt - csv (StarCalc):44,34,76",
        "--outdir",
        str(out),
        str(path),
    )
    with open(out / "answers.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    record = dict(zip(table[0], table[1], strict=True))
    for key, value in values.items():
        assert record[key] == value


@pytest.mark.libreoffice
def test_workbook_saved_again_by_libreoffice_counts_as_unchanged(path, ledger, tmp_path):
    rows = [
        row("1001", first_answers(wellbeing="To linjer\r\nher", workload="=1+1")),
        row("1002", first_answers(wants_course=False)),
        row("1003"),
    ]
    update_answers_workbook(path, sheets_of(rows), ledger)
    out = tmp_path / "resaved"
    soffice(
        tmp_path, "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(path)
    )
    shutil.copyfile(out / "answers.xlsx", path)
    report = update_answers_workbook(path, sheets_of(rows), ledger)
    assert (report.updated_cells, report.kept_hr_edits, report.conflicts) == (0, 0, [])
    records = sheet_records(path, "employee")
    assert (records["1001"]["workload"].value, records["1001"]["workload"].data_type) == (
        "=1+1",
        "s",
    )
    assert records["1002"]["wants_course"].value is False


# reading chosen columns fast (the HR report) ---------------------------------------------------

READ_KEYS = ("wellbeing", "workload", "wants_course", "course_date", "department", "status")


def openpyxl_columns(path: Path, keys=READ_KEYS) -> dict:
    """Return {employee id: {key: value}} of the employee sheet as openpyxl reads it."""
    rows = read_sheet_rows(path, "employee")
    return {e: {k: r.get(k) for k in keys if k in r} for e, r in rows.items()}


def hostile_rows() -> list[AnswerRow]:
    """Return rows whose answers use every kind of value a cell can hold."""
    return [
        row("1001", first_answers(wellbeing="A & B <c> «d» \"e\" 'f'\nlinje to")),
        row("1002", first_answers(workload="=1+1", wants_course=False, wellbeing="   ")),
        row("1003"),
        row("1004", first_answers(wellbeing="Ærlig talt: 😀 og tab\there")),
    ]


def test_chosen_columns_read_as_openpyxl_reads_them(path, ledger):
    update_answers_workbook(path, sheets_of(hostile_rows()), ledger)
    fast = answers_module.read_answer_columns(path, {"employee": READ_KEYS, "manager": ("x",)})
    assert set(fast) == {"employee"}  # no manager sheet: nothing to read
    assert fast["employee"] == openpyxl_columns(path)
    assert fast["employee"]["1002"]["wants_course"] is False
    assert "goals_next" not in fast["employee"]["1001"]  # only the columns asked for


def test_numbers_hr_typed_and_inline_strings_are_read_too(tmp_path):
    path = tmp_path / "answers.xlsx"
    workbook = openpyxl.Workbook(write_only=True)  # writes inline strings, not shared ones
    sheet = workbook.create_sheet("employee")
    sheet.append(["employee_id", "department", "wellbeing_score", "followup_1_when"])
    sheet.append([1001, "Drift & vedlikehold", 4, dt.date(2027, 3, 1)])
    sheet.append(["1002", "Kundeservice", "3", "2027-04-30"])
    sheet.append([None, "ingen id", 5, None])
    workbook.save(path)
    keys = ("department", "wellbeing_score", "followup_1_when")
    found = answers_module.read_answer_columns(path, {"employee": keys})["employee"]
    assert set(found) == {"1001", "1002"}
    assert found["1001"]["department"] == "Drift & vedlikehold"
    assert found["1001"]["wellbeing_score"] == 4 and found["1002"]["wellbeing_score"] == "3"
    dates = [answers_module.excel_date(found[e]["followup_1_when"]) for e in ("1001", "1002")]
    assert dates == [dt.date(2027, 3, 1), dt.date(2027, 4, 30)]


def test_an_unreadable_workbook_is_named(tmp_path):
    broken = tmp_path / "answers.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WorkbookError, match="not a readable .xlsx workbook"):
        answers_module.read_answer_columns(broken, {"employee": ("status",)})
    with pytest.raises(WorkbookError, match="file not found"):
        answers_module.read_answer_columns(tmp_path / "none.xlsx", {"employee": ("status",)})


@pytest.mark.libreoffice
def test_chosen_columns_of_a_workbook_libreoffice_saved(path, ledger, tmp_path):
    update_answers_workbook(path, sheets_of(hostile_rows()), ledger)
    out = tmp_path / "resaved"
    soffice(
        tmp_path, "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(path)
    )
    resaved = out / "answers.xlsx"
    fast = answers_module.read_answer_columns(resaved, {"employee": READ_KEYS})["employee"]
    assert fast["1002"]["wants_course"] is False and fast["1001"]["wants_course"] is True
    assert fast["1001"]["wellbeing"] == hostile_rows()[0].answers["wellbeing"]
    assert fast["1002"]["workload"] == "=1+1"


# streaming rewrite -----------------------------------------------------------------------------


def sheet_xml_rows(path: Path, part: str = "xl/worksheets/sheet1.xml") -> dict[str, bytes]:
    """Return each row of a sheet part as its bytes, by the row's number."""
    import re

    with zipfile.ZipFile(path) as archive:
        xml = archive.read(part)
    return {
        number.decode(): raw
        for raw, number in re.findall(rb'(<row r="(\d+)".*?</row>)', xml, flags=re.S)
    }


def test_the_workbook_stays_valid_spreadsheetml_with_hr_sheets_kept_unselected(path, ledger):
    from pipeline.formats.schema import validate_package

    rows = [row("1001", first_answers()), row("1002")]
    update_answers_workbook(path, {"minutes": (MINUTES_QUESTIONS, rows)}, ledger)
    assert validate_package(path) == []
    workbook = load(path)
    workbook.create_sheet("HR-notater")["A1"] = "Egne notater"
    workbook.active = workbook.sheetnames.index("HR-notater")  # HR left their own tab open
    workbook.save(path)
    update_answers_workbook(path, sheets_of([*rows, row("1003", first_answers())]), ledger)
    assert validate_package(path) == []
    workbook = load(path)
    assert workbook.sheetnames == ["employee", "minutes", "questions", "HR-notater"]
    assert workbook.active.title == "employee"
    assert [s.sheet_view.tabSelected for s in workbook.worksheets] == [True, None, None, None]
    filters = {s.title: s.auto_filter.ref for s in workbook.worksheets}
    last = workbook["employee"].cell(1, len(FIXED_COLUMNS) + len(EMPLOYEE_QUESTIONS))
    assert filters["employee"] == f"A1:{last.column_letter}4" and last.value == "goals_next"


def test_only_the_rows_that_changed_are_written_again(path, ledger):
    rows = [row(str(1000 + n), first_answers(wellbeing=f"Svar {n}")) for n in range(5)]
    update_answers_workbook(path, sheets_of(rows), ledger)
    before = sheet_xml_rows(path)
    rows[2] = row("1002", first_answers(wellbeing="Nytt svar"))
    report = update_answers_workbook(path, sheets_of(rows), ledger)
    after = sheet_xml_rows(path)
    assert report.updated_cells == 1
    assert [n for n in before if before[n] != after[n]] == ["4"]  # 1002 is in row 4
    assert sheet_records(path, "employee")["1002"]["wellbeing"].value == "Nytt svar"


def test_a_date_hr_typed_reads_as_that_date(path, ledger):
    update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
    hr_edits(path, "employee", "1001", "course_date", dt.datetime(2026, 9, 1))
    keys = {"employee": ("course_date", "workload")}
    found = {(kind, e): values for kind, e, values in answers_module.answer_rows(path, keys)}
    assert found[("employee", "1001")]["course_date"] == dt.datetime(2026, 9, 1)
    assert found[("employee", "1001")]["workload"] == "Passe"


# the fast path for new rows writes what the cell-by-cell merge writes ---------------------------

ANSWER = st.one_of(
    st.none(),
    st.booleans(),
    st.just(""),
    st.sampled_from(["Passe", "  ledende og etterfølgende  ", "a&b<c>d\r\ne", "=1+1", "\t"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
)


@pytest.fixture
def fresh_rows(monkeypatch) -> list[str]:
    """Return the employee ids of the rows the fast path writes, as it writes them."""
    written = []
    fresh_row = answers_module.SheetRewrite.fresh_row

    def spy(self, layout, number, answer, last):
        written.append(answer.employee_id)
        return fresh_row(self, layout, number, answer, last)

    monkeypatch.setattr(answers_module.SheetRewrite, "fresh_row", spy)
    return written


def written_both_ways(scenario, fresh_rows: list[str]) -> list[tuple]:
    """Return what ``scenario(path, ledger)`` leaves behind with and without the fast path."""
    # Without it every new row goes through ``merged_row`` with fresh=True, cell by cell.
    results = []
    for fast in (True, False):
        with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
            original, fresh_row = answers_module.SheetRewrite.fresh_layout, fresh_rows.copy()
            if not fast:
                answers_module.SheetRewrite.fresh_layout = lambda self: None
            try:
                report = scenario(Path(folder) / "answers.xlsx", ledger)
            finally:
                answers_module.SheetRewrite.fresh_layout = original
            assert (fresh_rows != fresh_row) == fast  # the way asked for was taken
            with zipfile.ZipFile(Path(folder) / "answers.xlsx") as archive:
                parts = {name: archive.read(name) for name in archive.namelist()}
            tables = [
                [tuple(r) for r in ledger.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
                for table in ("extracted", "workbook_rows", "workbook_corrections")
            ]
            summary = (report.updated_cells, report.kept_hr_edits, report.conflicts, report.rows)
            results.append((parts, tables, summary))
    return results


@settings(  # fresh_rows only grows: each example compares it before and after
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(people=st.lists(st.lists(ANSWER, min_size=5, max_size=5), min_size=1, max_size=4))
def test_new_rows_are_written_as_the_cell_by_cell_merge_writes_them(people, fresh_rows):
    keys = [q.key for q in EMPLOYEE_QUESTIONS]
    rows = [
        row(str(1001 + n), dict(zip(keys, values, strict=True)), name=f"Ås {values[0]}")
        for n, values in enumerate(people)
    ]

    def scenario(path, ledger):
        return update_answers_workbook(path, sheets_of(rows), ledger)

    fast, slow = written_both_ways(scenario, fresh_rows)
    assert fast == slow


def test_new_rows_match_in_columns_hr_moved_and_with_values_remembered(fresh_rows):
    def scenario(path, ledger):
        update_answers_workbook(path, sheets_of([row("1001", first_answers())]), ledger)
        workbook = load(path)
        sheet = workbook["employee"]
        header = {cell.value: cell for cell in sheet[1]}
        header["wellbeing"].value, header["workload"].value = "workload", "wellbeing"
        sheet.cell(1, sheet.max_column + 1, "hr_note")
        workbook.save(path)
        path.rename(path.with_name("answers-old.xlsx"))  # remembered values, a new workbook
        long_text = "Lang tekst. " * 3000  # longer than a cell holds
        rows = [row("1001", first_answers(workload="Lite")), row("1002", first_answers())]
        update_answers_workbook(path, sheets_of(rows), ledger)
        path.with_name("answers-old.xlsx").replace(path)  # HR's moved columns, new people
        rows += [row("1003", first_answers(wellbeing=long_text, wants_course=False))]
        return update_answers_workbook(path, sheets_of(rows), ledger)

    fast, slow = written_both_ways(scenario, fresh_rows)
    assert fast == slow
    assert "1003" in fresh_rows
    assert any(c.reason.startswith("the answer is longer") for c in fast[2][2])
