"""Tests for pipeline/domain/managers.py: a manager changed mid-cycle is told where it matters."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.collect import collect_returned
from pipeline.domain.managers import manager_changes
from pipeline.formats.roster import read_roster
from pipeline.state.ledger import FormRecord, Ledger
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE

EMPLOYEE, BEFORE, AFTER = "1013", "1011", "1012"  # Siri Kvåle: Anne-Lise Fjeldstad -> Håkon
ANSWER = "SVAR-SOM-IKKE-SKAL-VISES"


def form(employee_id: str, kind: str, manager_id: str | None) -> FormRecord:
    """Return a form record made for ``manager_id`` (None: an older samtale did not record it)."""
    return FormRecord(
        employee_id, kind, f"forms/{employee_id}-{kind}.docx", "0" * 64, "h", "v", "nb", "[]",
        "generated", "2027-01-05T08:00:00+00:00", None, "[]", manager_id,
    )  # fmt: skip


@pytest.fixture(scope="module")
def roster(generated):
    """Return the sample roster."""
    return read_roster(generated.roster_path)


def test_forms_made_for_another_manager_are_found_in_roster_order(roster):
    forms = [
        form("1014", "manager", "1012"),  # Petter's manager is 1011 now
        form(EMPLOYEE, "employee", BEFORE),
        form(EMPLOYEE, "manager", "1001"),
        form(EMPLOYEE, "minutes", AFTER),
    ]
    changes = manager_changes(forms, roster)
    assert [(c.employee.id, c.before, c.now, c.kinds) for c in changes] == [
        (EMPLOYEE, "1001", BEFORE, ("manager", "minutes")),  # the manager form's manager wins
        ("1014", "1012", "1011", ("manager",)),
    ]
    assert manager_changes(forms, roster, ("employee",)) == []


def test_unrecorded_managers_leavers_and_unchanged_forms_are_not_changes(roster):
    forms = [
        form(EMPLOYEE, "manager", None),  # a ledger written before samtale recorded managers
        form("9999", "manager", "1011"),  # no longer in the roster: status shows leavers apart
        form("1001", "employee", ""),  # the top of the organisation, still without a manager
        form("1014", "employee", "1011"),
    ]
    assert manager_changes(forms, roster) == []


def test_generate_records_the_manager_of_every_form(generated, roster):
    with Ledger(generated.ledger_path(CYCLE)) as ledger:
        forms = ledger.forms()
    assert len(forms) == 2 * len(roster.employees)
    assert {(f.employee_id, f.manager_id) for f in forms} == {
        (e.id, e.manager_id) for e in roster.employees
    }


# -- minutes, status and send after HR changed the manager in the roster --------------------


def run(workspace, *args: str):
    """Return the result of ``samtale --workspace WORKSPACE ARGS``."""
    arguments = ["--workspace", str(workspace.root), *args, "--cycle", str(CYCLE)]
    return CliRunner().invoke(cli, arguments, prog_name="samtale")


def set_manager(workspace, employee_id: str, manager_id: str) -> None:
    """Change one employee's manager in the roster workbook, as HR would in Excel."""
    book = openpyxl.load_workbook(workspace.roster_path)
    sheet = book.worksheets[0]
    employee = read_roster(workspace.roster_path).by_id[employee_id]
    header = next(row for row in sheet.iter_rows(values_only=True) if "Leders ansattnr" in row)
    sheet.cell(employee.row, header.index("Leders ansattnr") + 1).value = int(manager_id)
    book.save(workspace.roster_path)


@pytest.fixture
def changed(generated_copy, tmp_path):
    """Return a workspace where Siri's prep forms came back, then HR changed her manager."""
    source = tmp_path / "returned"
    source.mkdir()
    for kind in ("employee", "manager"):
        with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
            path = generated_copy.cycle_dir(CYCLE) / ledger.form(EMPLOYEE, kind).path
        sent = path.read_bytes()
        answers = {f.key: f"{ANSWER} {f.key}" for f in fields_of(sent) if f.type == "richtext"}
        (source / f"{kind}.docx").write_bytes(fill_form(sent, answers))
    assert len(collect_returned(generated_copy, CYCLE, source, workers=1).accepted) == 2
    set_manager(generated_copy, EMPLOYEE, AFTER)
    return generated_copy


def test_minutes_warn_naming_both_managers_and_what_to_do(changed):
    result = run(changed, "minutes")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    warning = warnings[0]
    assert "Siri Kvåle (1013)" in warning and "row 12" in warning
    assert "made for Anne-Lise Fjeldstad (1011)" in warning
    assert "the roster now names Håkon Øverland (1012)" in warning
    assert "manager form made for Anne-Lise Fjeldstad (1011)" in warning
    assert "put 1011 back as the manager in the roster and run minutes again" in warning
    assert ANSWER not in result.output
    with Ledger(changed.ledger_path(CYCLE)) as ledger:
        assert ledger.form(EMPLOYEE, "minutes").manager_id == AFTER


def test_minutes_say_nothing_when_the_manager_is_unchanged(generated_copy, tmp_path):
    result = run(generated_copy, "minutes", "--allow-missing")
    assert result.exit_code == 0, result.output
    assert "changed after the preparation forms were made" not in result.output


def test_status_lists_the_manager_change(changed):
    result = run(changed, "status")
    assert result.exit_code == 0, result.output
    assert "Manager changed after the forms were made" in result.output
    line = (
        "  Siri Kvåle (1013): employee and manager form(s) made for Anne-Lise Fjeldstad (1011), "
        "the roster now names Håkon Øverland (1012)"
    )
    assert line in result.output.splitlines()
    assert ANSWER not in result.output


def test_status_json_carries_the_change(changed):
    result = run(changed, "status", "--json")
    assert result.exit_code == 0, result.output
    assert "Siri Kvåle (1013): employee and manager form(s)" in result.output


def test_send_minutes_says_they_go_to_the_manager_named_now(changed):
    assert run(changed, "minutes").exit_code == 0
    result = run(changed, "send", "--kind", "minutes", "--dry-run")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("Note:")]
    assert notes == [
        "Note: the minutes form of Siri Kvåle (1013) goes to Håkon Øverland (1012), the manager "
        "now; the manager's preparation form in it was made for Anne-Lise Fjeldstad (1011)"
    ]
    assert "Would send: Håkon Øverland (1012)" in result.output
    assert ANSWER not in result.output


def test_send_minutes_made_before_the_change_says_to_write_them_again(changed):
    assert run(changed, "minutes").exit_code == 0
    set_manager(changed, EMPLOYEE, "1001")  # changed once more, after the minutes were written
    result = run(changed, "send", "--kind", "minutes", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "the minutes form itself names Håkon Øverland (1012): run 'samtale minutes' again" in (
        result.output
    )


def test_send_prep_says_a_manager_form_goes_to_another_manager(generated_copy):
    set_manager(generated_copy, EMPLOYEE, AFTER)
    result = run(generated_copy, "send", "--kind", "prep", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "Note: the manager form of Siri Kvåle (1013) was made for Anne-Lise Fjeldstad (1011) but "
        "goes to Håkon Øverland (1012)" in result.output
    )
