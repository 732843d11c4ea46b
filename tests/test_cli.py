"""Tests for pipeline/cli.py: every command through click, exit statuses and messages."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import openpyxl
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.errors import ExitCode
from pipeline.formats import ooxml
from pipeline.formats.certificate import public_certificate_path
from pipeline.formats.roster import FIX_FILE_MISSING, read_roster
from pipeline.formats.templates import template_path
from pipeline.state.ledger import Ledger
from testkit.certificates import create_demo_certificate
from testkit.simulate import fields_of, fill_form, invented_answers

from .conftest import CYCLE, ROOT

PASSWORD = "Seglet-på-Fjordlys 2027!"
PDF_SCAN = b"%PDF-1.4\n% scanned form\n%%EOF\n"


def run(workspace, *args: str, **kwargs) -> Result:
    """Return the result of ``samtale --workspace WORKSPACE ARGS``."""
    args = ["--workspace", str(workspace.root), *args]
    return CliRunner().invoke(cli, args, prog_name="samtale", **kwargs)


def assert_clean_error(result: Result) -> None:
    """Assert the command stopped with exit status 1 and one 'Error: …' message, no traceback."""
    assert result.exit_code == ExitCode.ERROR, result.output
    assert isinstance(result.exception, SystemExit)  # not an unexpected exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr


def form_bytes(workspace, employee_id: str, kind: str) -> bytes:
    """Return a generated form of one employee."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.cycle_dir(CYCLE) / record.path).read_bytes()


def filled(workspace, employee_id: str, kind: str, language: str = "nb", **answers) -> bytes:
    """Return a generated form filled with invented answers (``answers`` override them)."""
    sent = form_bytes(workspace, employee_id, kind)
    invented = invented_answers(fields_of(sent), language, f"{employee_id}-{kind}", CYCLE)
    return fill_form(sent, {**invented, **answers})


def summary_number(pattern: str, text: str) -> int:
    """Return the number the summary line shows where ``pattern`` has its (\\d+)."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1))


# -- help and usage --------------------------------------------------------------------------


def test_every_command_and_option_has_help_text():
    assert cli.help
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"'samtale {name}' has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"'samtale {name} {param.opts[0]}' has no help text"


def test_samtale_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == ExitCode.SUCCESS
    assert result.output.startswith("Usage: ")
    for name, command in cli.commands.items():
        assert re.search(rf"^  {name}\s+\S", result.output, re.MULTILINE), name
        assert command.get_short_help_str(limit=40)[:20] in result.output


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_each_command_explains_itself(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == ExitCode.SUCCESS
    first_line = cli.commands[name].help.splitlines()[0]
    assert first_line in " ".join(result.output.split())


def test_python_dash_m_pipeline_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: samtale ")
    assert all(name in result.stdout for name in cli.commands)


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["check", "--bogus"], "check [OPTIONS]", "No such option '--bogus'."),
        (
            ["generate", "--cycle", "1800"],
            "generate [OPTIONS]",
            "Invalid value for '--cycle': 1800 is not in the range 2000<=x<=2100.",
        ),
        (
            ["send", "--kind", "spam"],
            "send [OPTIONS]",
            "Invalid value for '--kind': 'spam' is not one of 'prep', 'minutes', 'reminder', "
            "'invite', 'followups', 'reflection'.",
        ),
        (
            ["verify", "no-such-file.pdf"],
            "verify [OPTIONS] [PATHS]...",
            "Invalid value for '[PATHS]...': Path 'no-such-file.pdf' does not exist.",
        ),
        (["samle"], "[OPTIONS] COMMAND [ARGS]...", "No such command 'samle'."),
    ],
)
def test_usage_mistakes_exit_2_with_the_reason(workspace, args, usage, error):
    result = run(workspace, *args)
    assert result.exit_code == ExitCode.USAGE
    assert result.output.startswith(f"Usage: samtale {usage}\n")
    assert result.output.endswith(f"\n\nError: {error}\n")
    assert not workspace.output_dir.exists()


# -- check -----------------------------------------------------------------------------------


def test_check_passes_on_the_sample_workspace(workspace):
    roster = read_roster(workspace.roster_path)
    result = run(workspace, "check")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Roster OK: {len(roster.employees)} employees, ")
    assert len(roster.employees) == 36
    departments = len({e.department for e in roster.employees})
    assert f", {departments} departments, " in lines[0]
    assert lines[1].startswith("Templates OK: employee.nb.docx, employee.en.docx, ")
    assert "minutes.en.docx" in lines[1] and len(lines) == 2


def write_roster(path: Path, rows: list[list]) -> Path:
    """Return ``path`` after writing a roster workbook with a Norwegian header row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Ansatte"
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Språk"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_check_lists_every_roster_problem_at_once(workspace):
    write_roster(
        workspace.roster_path,
        [
            [2001, "Randi Sæther-Øvrebø", "randi@fjordlys.example", None, "Ledelse", "nb"],
            [2002, "Ola Nærø", "ola@fjordlys.example", 2001, "Drift", "nb"],
            [2002, "Kari Ødegård-Lie", "kari@fjordlys.example", 2001, "Drift", "nb"],
            [2003, "Per Aas", "per@fjordlys.example", 9999, "Drift", "nb"],
            [2004, "Siri Kvåle", "siri(at)fjordlys", 2001, "Drift", "en"],
            [2005, "Tone Strøm", "tone@fjordlys.example", 2001, "Drift", "klingon"],
        ],
    )
    result = run(workspace, "check")
    assert_clean_error(result)
    assert result.output.startswith("Error: The roster roster.xlsx cannot be used (4 problem(s)):")
    problems = result.output.splitlines()[1:]
    assert len(problems) == 4
    expected = [
        ("row 4", "column 'Ansattnr'", "used twice", "'2002'"),
        ("row 5", "column 'Leders ansattnr'", "is not in the roster", "'9999'"),
        ("row 6", "column 'E-post'", "not a valid email address", "'siri(at)fjordlys'"),
        ("row 7", "column 'Språk'", "unknown language", "'klingon'"),
    ]
    for line, parts in zip(problems, expected, strict=True):
        assert line.startswith(f"  - {workspace.roster_path}, sheet 'Ansatte', ")
        assert all(part in line for part in parts), line
        assert ". Fix: " in line
    assert not workspace.output_dir.exists()


def test_check_with_a_missing_roster_names_the_file(workspace, tmp_path):
    missing = tmp_path / "missing.xlsx"
    result = run(workspace, "check", "--roster", str(missing))
    assert_clean_error(result)
    assert result.output == (
        "Error: The roster missing.xlsx cannot be read (1 problem(s)):\n"
        f"  - {missing}: the roster file does not exist. Fix: {FIX_FILE_MISSING}\n"
    )


def test_traceback_flag_shows_the_stack_of_an_error(workspace, tmp_path):
    missing = tmp_path / "missing.xlsx"
    plain = run(workspace, "check", "--roster", str(missing))
    result = run(workspace, "--traceback", "check", "--roster", str(missing))
    assert result.exit_code == ExitCode.ERROR
    assert "Traceback (most recent call last)" in result.stderr
    assert "pipeline.errors.RosterError" in result.stderr
    assert result.stderr.endswith(plain.stderr)  # the same message, after the stack


def test_check_with_a_broken_template_names_the_template(workspace):
    path = template_path(workspace.templates_dir, "employee", "nb")
    data = path.read_bytes()
    xml = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,)).parts[ooxml.DOCUMENT_PART]
    assert b"{{ employee.name }}" in xml
    broken = xml.replace(b"{{ employee.name }}", b"{{ employee.name }", 1)
    path.write_bytes(ooxml.replace_part(data, ooxml.DOCUMENT_PART, broken))
    result = run(workspace, "check")
    assert_clean_error(result)
    assert result.output.startswith("Error: The templates need fixing (1 problem(s)):\n")
    assert "employee.nb.docx" in result.output and "Jinja syntax error" in result.output


# -- generate --------------------------------------------------------------------------------


def test_generate_writes_two_forms_per_employee_and_a_rerun_changes_nothing(workspace):
    employees = len(read_roster(workspace.roster_path).employees)
    forms = 2 * employees
    result = run(workspace, "generate", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert f"Cycle {CYCLE}: {employees} employees, {forms} forms ({forms} generated).\n" in (
        result.stdout
    )
    assert f"Written now: {forms}; unchanged: 0; handed out and kept: 0; warnings: 0." in (
        result.stdout
    )
    assert f"Forms are in {workspace.forms_dir(CYCLE)}" in result.stdout
    assert forms == 72 and len(list(workspace.forms_dir(CYCLE).glob("*.docx"))) == forms
    again = run(workspace, "generate", "--cycle", str(CYCLE))
    assert again.exit_code == ExitCode.SUCCESS
    assert f"Written now: 0; unchanged: {forms}; " in again.stdout


# -- collect ---------------------------------------------------------------------------------


def test_collect_from_a_missing_folder_is_an_error(generated_copy, tmp_path):
    missing = tmp_path / "nowhere"
    result = run(generated_copy, "collect", "--cycle", str(CYCLE), "--from", str(missing))
    assert_clean_error(result)
    assert f"Error: {missing}: no such folder; save the returned files there first\n" in (
        result.stderr
    )


@pytest.fixture
def collected(generated_copy, tmp_path):
    """Return a workspace and collect's result: both prep forms of 1013 came back, plus a PDF."""
    source = tmp_path / "returned"
    source.mkdir()
    (source / "1013-medarbeider.docx").write_bytes(filled(generated_copy, "1013", "employee"))
    (source / "1013-leder.docx").write_bytes(filled(generated_copy, "1013", "manager"))
    (source / "skannet-skjema.pdf").write_bytes(PDF_SCAN)
    result = run(generated_copy, "collect", "--cycle", str(CYCLE), "--from", str(source))
    return generated_copy, source, result


def test_collect_accepts_forms_and_quarantines_the_rest(collected):
    workspace, source, result = collected
    assert result.exit_code == ExitCode.SUCCESS, result.output
    quarantined = [line for line in result.stdout.splitlines() if line.startswith("Quarantined:")]
    assert len(quarantined) == 1 and quarantined[0].startswith("Quarantined: skannet-skjema.pdf: ")
    assert (
        "Found 3 file(s): 3 new, 0 already collected; accepted 2, quarantined 1.\n" in result.stdout
    )
    assert f"Answers workbook: {workspace.answers_path(CYCLE)} (" in result.stdout
    assert workspace.answers_path(CYCLE).is_file()
    again = run(workspace, "collect", "--cycle", str(CYCLE), "--from", str(source))
    assert again.exit_code == ExitCode.SUCCESS
    assert "Found 3 file(s): 0 new, 3 already collected; accepted 0, quarantined 0." in (
        again.stdout
    )


# -- status ----------------------------------------------------------------------------------


def test_status_shows_counts_and_who_is_missing(collected):
    workspace, _, _ = collected
    result = run(workspace, "status", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert result.stdout.startswith(
        f"Cycle {CYCLE}: 36 employees; quarantined files: 1.\n"
        "  employee forms: 36 generated, 1 returned\n"
        "  manager forms: 36 generated, 1 returned\n"
    )
    assert "\nPer manager:\n" in result.stdout and "\nPer department:\n" in result.stdout
    missing = result.stdout.split("\nMissing:\n")[1].splitlines()
    assert "  Petter Grønnevik (1014): employee and manager form" in missing
    assert len(missing) == 35 and not any("(1013)" in line for line in missing)


def test_status_as_json_for_scripts(collected):
    workspace, _, _ = collected
    result = run(workspace, "status", "--cycle", str(CYCLE), "--json")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    status = json.loads(result.stdout)
    assert (status["cycle"], status["employees"], status["quarantined"]) == (CYCLE, 36, 1)
    assert status["returned"] == {"employee": 1, "manager": 1, "minutes": 0}
    assert status["generated"] == {"employee": 36, "manager": 36, "minutes": 0}
    managers = {group["name"]: group for group in status["by_manager"]}
    team = managers["Anne-Lise Fjeldstad (1011)"]
    assert (team["returned_employee"], team["returned_manager"]) == (1, 1)
    assert "Petter Grønnevik (1014): employee and manager form" in team["missing"]
    departments = {group["name"] for group in status["by_department"]}
    assert "Drift og vedlikehold" in departments and len(departments) == 5


def test_status_of_a_cycle_never_generated_is_an_error(workspace):
    result = run(workspace, "status", "--cycle", "2031")
    assert_clean_error(result)
    assert "no forms were generated for cycle 2031" in result.stderr


@pytest.mark.parametrize(
    "command", ["status", "collect", "send", "minutes", "finalize"], ids=lambda c: c
)
def test_every_command_refuses_a_cycle_never_generated_and_creates_nothing(workspace, command):
    (workspace.input_dir / "returned").mkdir()
    result = run(workspace, command, "--cycle", "2031")
    assert_clean_error(result)
    assert "no forms were generated for cycle 2031" in result.stderr
    assert "samtale generate --cycle 2031" in result.stderr
    assert not (workspace.output_dir / "2031").exists()
    assert not (workspace.output_dir / "archive" / "2031").exists()


# -- send ------------------------------------------------------------------------------------


def outbox_files(workspace) -> list[Path]:
    """Return every .eml draft anywhere in the workspace."""
    return sorted(workspace.root.rglob("*.eml"))


def test_send_dry_run_prints_and_writes_nothing(generated_copy):
    before = (generated_copy.ledger_path(CYCLE)).read_bytes()
    result = run(generated_copy, "send", "--cycle", str(CYCLE), "--dry-run")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    would = [line for line in result.stdout.splitlines() if line.startswith("Would send: ")]
    assert "Would send: Siri Kvåle (1013) <siri.kvale@fjordlys.example>: employee form of" in (
        result.stdout
    )
    planned = summary_number(r"(\d+) email\(s\) planned", result.stdout)
    not_sent = summary_number(r"(\d+) not sent\.", result.stdout)
    assert len(would) == planned - not_sent > 0
    assert " 0 draft(s) written, 0 sent, 0 done earlier, " in result.stdout
    assert outbox_files(generated_copy) == []
    assert generated_copy.ledger_path(CYCLE).read_bytes() == before


def test_send_writes_drafts_to_the_outbox_once(generated_copy):
    roster = read_roster(generated_copy.roster_path)
    recipients = len(roster.employees) + len({e.manager_id for e in roster.employees} - {""})
    result = run(generated_copy, "send", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    outbox = generated_copy.cycle_dir(CYCLE) / "outbox"
    drafted = summary_number(
        rf"(\d+) draft\(s\) written in {re.escape(str(outbox))},", result.stdout
    )
    drafts = outbox_files(generated_copy)
    assert drafted == len(drafts) == recipients
    assert all(path.parent == outbox for path in drafts)
    # the top of the organisation has no manager to send its manager form to
    assert "Not sent: (nobody) <no address>: manager form of Åse Marie Sæther" in result.stderr
    again = run(generated_copy, "send", "--cycle", str(CYCLE))
    assert again.exit_code == ExitCode.SUCCESS
    assert f" 0 draft(s) written, 0 sent, {drafted} done earlier, " in again.stdout
    assert outbox_files(generated_copy) == drafts


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--smtp", "smtp.fjordlys.example"],
            "--smtp 'smtp.fjordlys.example': expected host:port, for example "
            "smtp.fjordlys.example:587 (or [::1]:25 for an IPv6 address)",
        ),
        (
            ["--smtp", "smtp.fjordlys.example:25", "--tls", "none"],
            "--tls none would send personal data unencrypted to smtp.fjordlys.example; it is "
            "only allowed for a server on this machine (localhost, 127.0.0.1, ::1). Use --tls "
            "starttls (port 587) or --tls ssl (port 465)",
        ),
    ],
)
def test_send_with_a_bad_smtp_option_stops_before_anything_else(generated_copy, args, error):
    result = run(generated_copy, "send", "--cycle", str(CYCLE), *args)
    assert_clean_error(result)
    assert result.output == f"Error: {error}\n"  # no progress bar, no summary
    assert outbox_files(generated_copy) == []


class Accepting:
    """aiosmtpd handler that keeps the recipients of every message it accepts."""

    def __init__(self):
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients += envelope.rcpt_tos
        return "250 OK"


def test_send_by_smtp_through_the_cli(generated_copy):
    config = generated_copy.root / "samtale.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("rate_per_second = 2.0", "rate_per_second = 500.0"), "utf-8")
    handler = Accepting()
    with socket.socket() as probe:  # a port free right now, on this machine only
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = ["--smtp", f"127.0.0.1:{port}", "--tls", "none"]
        env = {"SAMTALE_SMTP_USER": None, "SAMTALE_SMTP_PASSWORD": None}
        result = run(generated_copy, "send", "--cycle", str(CYCLE), *smtp, env=env)
    finally:
        controller.stop()
    assert result.exit_code == ExitCode.SUCCESS, result.output
    sent = summary_number(r"(\d+) sent,", result.stdout)
    assert sent == len(handler.recipients) > 0
    assert "siri.kvale@fjordlys.example" in handler.recipients
    assert outbox_files(generated_copy) == []


class RefusingOne(Accepting):
    """aiosmtpd handler that refuses one recipient for good and accepts everyone else."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_send_where_some_emails_fail_exits_with_the_partial_status(generated_copy):
    config = generated_copy.root / "samtale.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("rate_per_second = 2.0", "rate_per_second = 500.0"), "utf-8")
    handler = RefusingOne("siri.kvale@fjordlys.example")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = ["--smtp", f"127.0.0.1:{port}", "--tls", "none"]
        env = {"SAMTALE_SMTP_USER": None, "SAMTALE_SMTP_PASSWORD": None}
        result = run(generated_copy, "send", "--cycle", str(CYCLE), *smtp, env=env)
    finally:
        controller.stop()
    assert result.exit_code == ExitCode.PARTIAL == 3, result.output
    assert "Not sent: Siri Kvåle (1013)" in result.stderr and "550 5.1.1" in result.stderr
    assert summary_number(r"(\d+) sent,", result.stdout) == len(handler.recipients) > 0


def test_finalize_where_some_pdfs_fail_exits_with_the_partial_status(generated_copy, monkeypatch):
    from pipeline.commands import finalize

    failed = SimpleNamespace(name="Siri Kvåle", employee_id="1013", reason="LibreOffice timed out")
    report = SimpleNamespace(
        not_confirmed=[],
        failed=[failed],
        archived=[],
        skipped_already_archived=[],
        archive_dir=generated_copy.output_dir / "archive" / str(CYCLE),
    )
    monkeypatch.setattr(finalize, "finalize_minutes", lambda *args, **kwargs: report)
    result = run(generated_copy, "finalize", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert "Failed: Siri Kvåle (1013): LibreOffice timed out" in result.stderr


def test_interrupt_exits_130_and_says_nothing_half_written_was_kept(generated_copy, monkeypatch):
    from pipeline.commands import status

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(status, "cycle_status", interrupted)
    result = run(generated_copy, "status", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert "Interrupted; nothing half-written was kept." in result.stderr


# -- minutes, finalize, verify ---------------------------------------------------------------


def test_minutes_before_anything_came_back_lists_who_we_wait_for(generated_copy):
    result = run(generated_copy, "minutes", "--cycle", str(CYCLE))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    waiting = [line for line in result.stdout.splitlines() if line.startswith("Waiting for: ")]
    assert "Waiting for: Siri Kvåle (1013): employee and manager form" in waiting
    assert len(waiting) == 36
    assert (
        "Minutes forms: 0 written, 0 unchanged, 36 employee(s) still waiting for prep forms.\n"
        in result.stdout
    )
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        assert ledger.forms("minutes") == []


def test_minutes_allow_missing_writes_every_minutes_form(generated_copy):
    result = run(generated_copy, "minutes", "--cycle", str(CYCLE), "--allow-missing")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert "Waiting for:" not in result.stdout
    assert "Minutes forms: 36 written, 0 unchanged, 0 employee(s) still waiting" in result.stdout
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        records = ledger.forms("minutes")
    assert len(records) == 36
    assert all((generated_copy.cycle_dir(CYCLE) / r.path).is_file() for r in records)


def test_verify_with_nothing_archived_is_an_error(generated_copy):
    result = run(generated_copy, "verify", "--cycle", str(CYCLE))
    assert_clean_error(result)
    assert result.output == (
        f"Error: nothing archived for cycle {CYCLE}; run 'samtale finalize' first\n"
    )


def test_finalize_with_nothing_to_seal_asks_for_no_password(generated_copy):
    result = run(generated_copy, "finalize", "--cycle", str(CYCLE), input="",
                 env={"SAMTALE_SEAL_PASSWORD": None})  # fmt: skip
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert "Password" not in result.stderr
    assert result.stdout.startswith(
        "0 sealed PDF(s) archived, 0 already archived, 0 not confirmed yet, 0 failed. "
    )


# -- the whole cycle -------------------------------------------------------------------------

SMALL_ROSTER = [  # id, name, email, manager id, department, language
    [3001, "Randi Sæther-Øvrebø", "randi.saether-ovrebo@fjordlys.example", None, "Ledelse", "nb"],
    [3002, "Åse Øvrebø-Lindqvist", "ase.lindqvist@fjordlys.example", 3001, "Drift", "nb"],
    [3003, "Oliver Bjørnstad-Hughes", "oliver.hughes@fjordlys.example", 3001, "IT", "en"],
    [3004, "Per-Øyvind Ærø Kristiansen", "per-oyvind.aero@fjordlys.example", 3001, "Drift", "nb"],
]
CONFIRMED = ("3002", "3003", "3004")


def cli_ok(workspace, *args: str, **kwargs) -> Result:
    """Return the result of a command that must succeed."""
    result = run(workspace, *args, **kwargs)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    return result


def return_prep_forms(workspace, folder: Path) -> None:
    """Write every generated prep form, filled with invented answers, into ``folder``."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        forms = ledger.forms()
    for record in forms:
        data = filled(workspace, record.employee_id, record.kind, record.language)
        (folder / Path(record.path).name).write_bytes(data)


def return_minutes(workspace, folder: Path, employee, manager) -> None:
    """Write the minutes confirmed by the manager, then (two days later) by the employee."""
    sent = form_bytes(workspace, employee[0], "minutes")
    answers = invented_answers(fields_of(sent), employee[5], f"{employee[0]}-m", CYCLE)
    answers.update(
        manager_confirmed=True,
        manager_name=manager[1],
        manager_date=f"{CYCLE}-02-01",
        employee_confirmed=False,
        employee_name="",
    )
    by_manager = folder / f"referat-{employee[0]}-leder.docx"
    by_manager.write_bytes(fill_form(sent, answers))
    confirmed = dict(
        answers,
        employee_confirmed=True,
        employee_name=employee[1],
        employee_date=f"{CYCLE}-02-03",
    )
    by_employee = folder / f"referat-{employee[0]}-medarbeider.docx"
    by_employee.write_bytes(fill_form(sent, confirmed))
    later = by_manager.stat().st_mtime + 2 * 24 * 3600
    os.utime(by_employee, (later, later))


@pytest.mark.libreoffice
def test_the_whole_cycle_through_the_cli(workspace, tmp_path):
    write_roster(workspace.roster_path, SMALL_ROSTER)
    certificate = workspace.root / "segl" / "test-segl.p12"
    certificate.parent.mkdir()
    create_demo_certificate(certificate, PASSWORD, "Fjordlys Energi AS")
    config = workspace.root / "samtale.toml"
    text = config.read_text(encoding="utf-8")
    assert 'certificate = ".samtale/demo-seal.p12"' in text
    config.write_text(
        text.replace(".samtale/demo-seal.p12", "segl/test-segl.p12"), encoding="utf-8"
    )
    cycle = ["--cycle", str(CYCLE)]
    returned = tmp_path / "returned"
    returned.mkdir()

    cli_ok(workspace, "check")
    assert "8 forms" in cli_ok(workspace, "generate", *cycle).stdout
    return_prep_forms(workspace, returned)
    assert (
        "accepted 8, quarantined 0"
        in cli_ok(workspace, "collect", *cycle, "--from", str(returned)).stdout
    )
    assert "Minutes forms: 4 written" in cli_ok(workspace, "minutes", *cycle).stdout

    people = {str(row[0]): row for row in SMALL_ROSTER}
    for employee_id in CONFIRMED:
        employee = [str(employee_id), *people[employee_id][1:]]
        return_minutes(workspace, returned, employee, people["3001"])
    collect = cli_ok(workspace, "collect", *cycle, "--from", str(returned))
    assert "accepted 6, quarantined 0" in collect.stdout

    env = {"SAMTALE_SEAL_PASSWORD": None}  # asked for at the prompt, never echoed
    finalize = cli_ok(workspace, "finalize", *cycle, env=env, input=f"{PASSWORD}\n")
    assert "Password for the seal certificate: " in finalize.stderr
    assert ": :" not in finalize.stderr and PASSWORD not in finalize.output
    assert "3 sealed PDF(s) archived, 0 already archived, 1 not confirmed yet, 0 failed." in (
        finalize.stdout
    )
    assert "Not confirmed: Randi Sæther-Øvrebø (3001)" in finalize.stdout
    archived = [line[len("Archived: ") :] for line in finalize.stdout.splitlines()
                if line.startswith("Archived: ")]  # fmt: skip
    assert len(archived) == 3 and all(Path(p).suffix == ".pdf" for p in archived)

    verify = cli_ok(workspace, "verify", *cycle)
    files = summary_number(r"(\d+) of \d+ file\(s\) verified\.", verify.stdout)
    assert files >= 3 and f"{files} of {files} file(s) verified." in verify.stdout
    assert "FAIL" not in verify.stdout
    for path in archived:  # sealed with the certificate samtale.toml names
        assert f"OK   {path} (sealed " in verify.stdout
    assert public_certificate_path(certificate).is_file()

    pdf = Path(archived[0])
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(pdf, 0o600)  # the archive keeps its files read-only
    pdf.write_bytes(bytes(data))
    broken = run(workspace, "verify", *cycle)
    assert broken.exit_code == ExitCode.ERROR
    failures = [line for line in broken.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(failures) == 1 and str(pdf) in failures[0]
    assert f"{files - 1} of {files} file(s) verified." in broken.stdout


def test_check_also_checks_the_config_file(workspace):
    (workspace.root / "samtale.toml").write_text("[mail]\nrate_per_second = 0\n", encoding="utf-8")
    result = run(workspace, "check")
    assert result.exit_code == ExitCode.ERROR
    assert (
        result.stderr.startswith("Error: ") and "rate_per_second must be above 0" in result.stderr
    )
