"""Tests for pipeline/status.py: counts per manager and department, missing people by name."""

import dataclasses
import datetime as dt
import json
import os

import pytest

from pipeline.commands.collect import collect_returned
from pipeline.commands.status import cycle_status
from pipeline.errors import WorkspaceError
from pipeline.formats.roster import read_roster
from pipeline.state.ledger import Ledger
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE

RETURNED = {("1011", "employee"), ("1011", "manager"), ("1013", "employee"), ("1044", "manager")}
WITH_EMPTY_FIELDS = {("1013", "employee")}


def form_bytes(workspace, employee_id: str, kind: str) -> bytes:
    """Return the generated form of one employee and kind."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.output_dir / str(CYCLE) / record.path).read_bytes()


def complete_answers(data: bytes) -> dict[str, str | bool]:
    """Return an answer for every field of a form (so screening has nothing to warn about)."""
    answers: dict[str, str | bool] = {}
    for field in fields_of(data):
        if field.type == "checkbox":
            answers[field.key] = True
        elif field.type == "dropdown":
            answers[field.key] = field.options[0]
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-01-22"
        else:
            answers[field.key] = f"Svar på {field.key}"
    return answers


@pytest.fixture
def collected(generated_copy, tmp_path):
    """Return a workspace where a few forms came back, one with empty fields, plus a PDF."""
    source = tmp_path / "returned"
    source.mkdir()
    for employee_id, kind in sorted(RETURNED):
        sent = form_bytes(generated_copy, employee_id, kind)
        answers = complete_answers(sent)
        if (employee_id, kind) in WITH_EMPTY_FIELDS:
            answers.pop("results")
        (source / f"{employee_id}-{kind}.docx").write_bytes(fill_form(sent, answers))
    (source / "skannet.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert len(report.accepted) == len(RETURNED) and len(report.quarantined) == 1
    return generated_copy


def expected_groups(roster, key, label):
    """Return the expected counts and missing lines per group, computed from the roster."""
    groups: dict[str, dict] = {}
    for employee in roster.employees:
        group = groups.setdefault(
            label(key(employee)),
            {"employees": 0, "generated": 0, "employee": 0, "manager": 0, "warn": 0, "missing": []},
        )
        group["employees"] += 1
        group["generated"] += 2
        missing = []
        for kind in ("employee", "manager"):
            if (employee.id, kind) in RETURNED:
                group[kind] += 1
            else:
                missing.append(kind)
        group["warn"] += any((employee.id, k) in WITH_EMPTY_FIELDS for k in ("employee", "manager"))
        if missing:
            group["missing"].append(
                f"{employee.name} ({employee.id}): {' and '.join(missing)} form"
            )
    return groups


def actual_groups(groups):
    """Return the report's groups in the shape of ``expected_groups``."""
    return {
        g.name: {
            "employees": g.employees,
            "generated": g.generated,
            "employee": g.returned_employee,
            "manager": g.returned_manager,
            "warn": g.with_warnings,
            "missing": g.missing,
        }
        for g in groups
    }


def test_totals(collected):
    roster = read_roster(collected.roster_path)
    report = cycle_status(collected, CYCLE)
    assert report.cycle == CYCLE
    assert report.employees == len(roster.employees)
    assert report.forms_generated == 2 * len(roster.employees)
    assert report.returned == {"employee": 2, "manager": 2, "minutes": 0}
    assert report.quarantined == 1


def test_counts_per_department(collected):
    roster = read_roster(collected.roster_path)
    report = cycle_status(collected, CYCLE)
    expected = expected_groups(roster, lambda e: e.department, lambda d: d)
    assert actual_groups(report.by_department) == expected
    assert expected["Drift og vedlikehold"]["employee"] == 2  # the test covers a real group


def test_counts_per_manager(collected):
    roster = read_roster(collected.roster_path)
    report = cycle_status(collected, CYCLE)

    def label(manager_id):
        manager = roster.by_id.get(manager_id)
        return f"{manager.name} ({manager.id})" if manager else "(no manager)"

    expected = expected_groups(roster, lambda e: e.manager_id, label)
    assert actual_groups(report.by_manager) == expected
    assert "(no manager)" in expected


def test_missing_people_are_listed_by_name(collected):
    report = cycle_status(collected, CYCLE)
    missing = [line for group in report.by_department for line in group.missing]
    assert "Siri Kvåle (1013): manager form" in missing
    assert "Bjørn Hansen-Bø (1010): employee and manager form" in missing
    assert not any("(1011)" in line for line in missing)
    assert sorted(missing) == sorted(line for g in report.by_manager for line in g.missing)


def test_json_for_scripts(collected):
    report = cycle_status(collected, CYCLE)
    data = json.loads(report.to_json())
    assert data == json.loads(json.dumps(dataclasses.asdict(report)))
    assert data["quarantined"] == 1 and data["returned"]["manager"] == 2
    names = {g["name"] for g in data["by_department"]}
    assert "Drift og vedlikehold" in names and "Økonomi og innkjøp" in names
    assert "Økonomi" in report.to_json()  # readable, not \u-escaped


def test_status_before_anything_came_back(generated_copy):
    report = cycle_status(generated_copy, CYCLE)
    assert report.returned == {"employee": 0, "manager": 0, "minutes": 0}
    assert report.quarantined == 0
    missing = [line for g in report.by_department for line in g.missing]
    assert len(missing) == report.employees


def test_a_corrected_version_clears_the_warning(collected, tmp_path):
    source = tmp_path / "rettet"
    source.mkdir()
    sent = form_bytes(collected, "1013", "employee")
    path = source / "1013-rettet.docx"
    path.write_bytes(fill_form(sent, complete_answers(sent)))
    later = dt.datetime.now(dt.UTC).timestamp() + 3600
    os.utime(path, (later, later))
    collect_returned(collected, CYCLE, source, workers=1)
    report = cycle_status(collected, CYCLE)
    assert sum(g.with_warnings for g in report.by_department) == 0
    assert report.returned["employee"] == 2


def test_status_of_a_cycle_never_generated_is_an_error_and_creates_nothing(workspace):
    with pytest.raises(WorkspaceError, match="generate"):
        cycle_status(workspace, 2031)
    assert not (workspace.output_dir / "2031").exists()


def test_a_bad_file_sent_by_email_counts_against_the_senders_groups(generated_copy, tmp_path):
    from email.message import EmailMessage

    from pipeline.commands.collect import collect_returned
    from pipeline.commands.status import cycle_status
    from pipeline.formats.roster import read_roster

    roster = read_roster(generated_copy.roster_path)
    sender = next(e for e in roster.employees if e.manager_id and e.email)
    message = EmailMessage()
    message["From"] = f"{sender.name} <{sender.email.upper()}>"
    message["To"] = "hr@fjordlys.example"
    message["Subject"] = "skjema"
    message["Date"] = "Mon, 18 Jan 2027 09:00:00 +0100"
    message.set_content("Vedlagt.")
    message.add_attachment(
        b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename="skjema.pdf"
    )
    folder = tmp_path / "inn"
    folder.mkdir()
    (folder / "svar.eml").write_bytes(message.as_bytes())
    collect_returned(generated_copy, CYCLE, folder, workers=1)
    report = cycle_status(generated_copy, CYCLE)
    department = next(g for g in report.by_department if g.name == sender.department)
    assert department.quarantined == 1 and report.quarantined == 1
    assert sum(g.quarantined for g in report.by_manager) == 1
