"""Tests for pipeline/domain/record.py: returned answers plus HR's corrections, read by every stage.

The round trip a user runs: fill → collect → HR corrects answers.xlsx → minutes → finalize. The
correction must reach the minutes form and the answers sealed into the PDF (marked as HR's),
while the returned originals stay attached byte for byte.
"""

from __future__ import annotations

import json

import openpyxl
import pytest

from pipeline.commands.collect import collect_returned
from pipeline.commands.finalize import finalize_minutes
from pipeline.commands.minutes import prepare_minutes
from pipeline.domain.record import cycle_record, hr_corrections
from pipeline.formats import ooxml
from pipeline.formats.seal import attachments_of
from pipeline.state.ledger import Ledger
from testkit.certificates import create_demo_certificate
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE

EMPLOYEE = "1013"  # Siri Kvåle in the sample roster
PASSWORD = "demo-only-passord"
CORRECTION = "Rettet av HR: leverte tre av fire delprosjekter – se referat fra oktober."


def sent_form(workspace, employee_id: str, kind: str) -> bytes:
    """Return the generated form of one employee and kind."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.cycle_dir(CYCLE) / record.path).read_bytes()


def typed_answers(data: bytes, who: str) -> dict[str, object]:
    """Return an answer for every field of a form, as a person would type or pick it."""
    answers: dict[str, object] = {}
    for field in fields_of(data):
        if field.type == "checkbox":
            answers[field.key] = True
        elif field.type in ("dropdown", "combobox") and field.options:
            answers[field.key] = field.options[-1]
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-02-1{len(answers) % 9}"
        else:
            answers[field.key] = f"{who} svarer på {field.key}: æøå – «sitat»\nandre linje"
    return answers


def return_form(workspace, folder, employee_id: str, kind: str, answers: dict) -> bytes:
    """Write a filled copy of a generated form into the returned folder; return its bytes."""
    data = fill_form(sent_form(workspace, employee_id, kind), answers)
    (folder / f"{kind}-{employee_id}.docx").write_bytes(data)
    return data


def correct_in_workbook(workspace, kind: str, employee_id: str, key: str, value: str) -> None:
    """Do what HR does: open answers.xlsx, change one answer cell, save."""
    path = workspace.answers_path(CYCLE)
    book = openpyxl.load_workbook(path)
    sheet = book[kind]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if str(row[0].value) == employee_id:
            row[header.index(key)].value = value
    book.save(path)


def first_text_key(data: bytes) -> str:
    """Return the key of the form's first free-text field."""
    return next(f.key for f in fields_of(data) if f.type in ("richtext", "text"))


def document_text(data: bytes) -> str:
    """Return all the text of a .docx's document part."""
    package = ooxml.read_package(data)
    return ooxml.all_text(ooxml.parse_xml(package.part(ooxml.DOCUMENT_PART)))


@pytest.fixture
def returned_both(generated_copy, tmp_path):
    """Return (workspace, folder, typed answers per kind) with both prep forms collected."""
    folder = tmp_path / "inn"
    folder.mkdir()
    typed = {}
    for kind, who in (("employee", "Siri"), ("manager", "Leder")):
        typed[kind] = typed_answers(sent_form(generated_copy, EMPLOYEE, kind), who)
        return_form(generated_copy, folder, EMPLOYEE, kind, typed[kind])
    collect_returned(generated_copy, CYCLE, folder, workers=1)
    return generated_copy, folder, typed


def test_no_correction_means_the_record_is_what_came_back(returned_both):
    workspace, _, typed = returned_both
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = cycle_record(ledger, workspace.answers_path(CYCLE))
        assert hr_corrections(ledger, workspace.answers_path(CYCLE)) == {}
    form = record[(EMPLOYEE, "employee")]
    assert form.corrected == frozenset()
    assert form.answers == typed["employee"]


def test_a_correction_in_the_workbook_is_in_the_record_and_reported_by_collect(returned_both):
    workspace, folder, _ = returned_both
    key = first_text_key(sent_form(workspace, EMPLOYEE, "employee"))
    correct_in_workbook(workspace, "employee", EMPLOYEE, key, CORRECTION)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        form = cycle_record(ledger, workspace.answers_path(CYCLE))[(EMPLOYEE, "employee")]
    assert form.corrected == {key} and form.answers[key] == CORRECTION
    again = collect_returned(workspace, CYCLE, folder, workers=1)
    assert again.workbook.kept_hr_edits == 1  # collect sees the edit and keeps it
    assert again.workbook.conflicts == []


def test_a_deleted_column_is_not_a_correction_and_comes_back_with_a_warning(returned_both):
    workspace, folder, typed = returned_both
    key = first_text_key(sent_form(workspace, EMPLOYEE, "employee"))
    path = workspace.answers_path(CYCLE)
    book = openpyxl.load_workbook(path)
    sheet = book["employee"]
    column = [cell.value for cell in sheet[1]].index(key) + 1
    sheet.delete_cols(column)
    book.save(path)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        form = cycle_record(ledger, path)[(EMPLOYEE, "employee")]
    assert form.corrected == frozenset() and form.answers[key] == typed["employee"][key]
    report = collect_returned(workspace, CYCLE, folder, workers=1)
    assert ("employee", key) in report.workbook.restored_columns
    book = openpyxl.load_workbook(path)
    assert key in [cell.value for cell in book["employee"][1]]


def test_the_correction_reaches_the_minutes_form(returned_both):
    workspace, _, typed = returned_both
    key = first_text_key(sent_form(workspace, EMPLOYEE, "employee"))
    correct_in_workbook(workspace, "employee", EMPLOYEE, key, CORRECTION)
    prepare_minutes(workspace, CYCLE, workers=1)
    text = " ".join(document_text(sent_form(workspace, EMPLOYEE, "minutes")).split())
    assert " ".join(CORRECTION.split()) in text
    assert typed["employee"][key].split("\n")[0] not in text  # the uncorrected text is gone


def test_dropdown_answers_show_their_label_in_the_minutes(returned_both):
    workspace, _, typed = returned_both
    prepare_minutes(workspace, CYCLE, workers=1)
    text = document_text(sent_form(workspace, EMPLOYEE, "minutes"))
    dropdowns = [
        f
        for f in ooxml.read_fields(
            ooxml.parse_xml(
                ooxml.read_package(sent_form(workspace, EMPLOYEE, "employee")).part(
                    ooxml.DOCUMENT_PART
                )
            )
        )
        if f.type == "dropdown" and f.options and f.labels[-1] != f.options[-1]
    ]
    assert dropdowns, "the employee form has dropdowns whose labels differ from their values"
    for field in dropdowns:
        assert field.labels[-1] in text


@pytest.mark.libreoffice
@pytest.mark.slow
def test_round_trip_fill_collect_correct_minutes_finalize(returned_both, tmp_path):
    workspace, folder, typed = returned_both
    key = first_text_key(sent_form(workspace, EMPLOYEE, "employee"))
    correct_in_workbook(workspace, "employee", EMPLOYEE, key, CORRECTION)
    prepare_minutes(workspace, CYCLE, workers=1)
    minutes = sent_form(workspace, EMPLOYEE, "minutes")
    agreed = {
        f.key: f"Avtalt {f.key}" for f in fields_of(minutes) if f.type in ("richtext", "text")
    }
    agreed |= {"manager_confirmed": True, "employee_confirmed": True}
    agreed |= {"manager_date": f"{CYCLE}-02-20", "employee_date": f"{CYCLE}-02-21"}
    for name in ("goal_1_deadline", "followup_1_when"):
        agreed[name] = f"{CYCLE}-06-01"
    returned_minutes = return_form(workspace, folder, EMPLOYEE, "minutes", agreed)
    originals = {p.name: p.read_bytes() for p in folder.iterdir()}
    collect_returned(workspace, CYCLE, folder, workers=1)
    certificate = create_demo_certificate(tmp_path / "segl.p12", PASSWORD, "Fjordlys Energi AS")
    report = finalize_minutes(workspace, CYCLE, certificate=certificate, password=PASSWORD)
    assert report.failed == [] and len(report.archived) == 1
    attached = attachments_of(report.archived[0].path.read_bytes())
    sealed = json.loads(attached["answers.json"])
    employee = sealed["employee"]
    assert employee[key] == CORRECTION
    assert employee["_hr_corrections"] == {key: {"returned": typed["employee"][key]}}
    compared = matched = 0
    for kind in ("employee", "manager"):
        for field, value in typed[kind].items():
            compared += 1
            expected = CORRECTION if (kind, field) == ("employee", key) else value
            matched += sealed[kind][field] == expected
    assert matched == compared > 40
    assert "_hr_corrections" not in sealed["manager"]
    documents = {name: data for name, data in attached.items() if name.endswith(".docx")}
    assert sorted(documents.values()) == sorted(originals.values())  # byte for byte
    assert returned_minutes in documents.values()


def test_corrections_collect_kept_are_known_without_reading_the_workbook(
    returned_both, monkeypatch
):
    import pipeline.domain.record as record_module

    workspace, folder, _ = returned_both
    key = first_text_key(sent_form(workspace, EMPLOYEE, "employee"))
    correct_in_workbook(workspace, "employee", EMPLOYEE, key, CORRECTION)
    path = workspace.answers_path(CYCLE)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        read = hr_corrections(ledger, path)  # saved by HR: the workbook is read
    collect_returned(workspace, CYCLE, folder, workers=1)  # keeps HR's edit, records it

    def no_reading(*args, **kwargs):
        raise AssertionError("the workbook was read although collect recorded its corrections")

    monkeypatch.setattr(record_module, "answer_rows", no_reading)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        assert hr_corrections(ledger, path) == read == {(EMPLOYEE, "employee"): {key: CORRECTION}}
    correct_in_workbook(workspace, "employee", EMPLOYEE, key, "HR igjen")  # saved again
    with Ledger(workspace.ledger_path(CYCLE)) as ledger, pytest.raises(AssertionError):
        hr_corrections(ledger, path)  # now it must be read
