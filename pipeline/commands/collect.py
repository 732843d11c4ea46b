"""``samtale collect``: returned files in, screened copies kept, answers into the workbook."""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.confirmation import minutes_states
from pipeline.domain.intake import (
    Progress,
    discover,
    limits_default,
    record_outcome,
    screen_all,
    store_emails,
)
from pipeline.domain.kinds import ALL_FORM_KINDS, FormKind
from pipeline.domain.questions import Question, questions_from_json
from pipeline.domain.versions import is_unfilled, newest_versions
from pipeline.errors import SamtaleError, WorkspaceError
from pipeline.formats.answers import (
    AnswerRow,
    MergeReport,
    check_writable,
    update_answers_workbook,
)
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.templates import load_template
from pipeline.state.ledger import Ledger, ReturnedVersion, batched
from pipeline.state.workspace import Workspace

WORKBOOK_INPUTS = "answers_workbook_inputs"  # ledger meta: digest of the last workbook write


LEDGER_BATCH = 250  # outcomes per ledger transaction (copies are already on disk)


@dataclass
class CollectReport:
    """What a collect run found, kept, turned away and wrote."""

    source_dir: Path
    found: int = 0
    new: int = 0
    already_collected: int = 0
    accepted: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # accepted in this run
    emails_kept: int = 0  # .eml messages copied whole as evidence in this run
    minutes: list[str] = field(default_factory=list)  # where minutes returned now stand
    workbook: MergeReport | None = None


def collect_returned(
    workspace: Workspace,
    cycle: int,
    source_dir: Path | None = None,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    use: str | None = None,
) -> CollectReport:
    """Return the report of screening ``source_dir`` and updating the answers workbook."""
    # ``use`` names a returned file (as the 'Versions:' notes print it) that HR chooses as the
    # version of its form that counts, as it is, over the rule in pipeline/domain/versions.py.
    source_dir = Path(source_dir) if source_dir else default_source(workspace, cycle)
    if not source_dir.is_dir():
        raise WorkspaceError(f"{source_dir}: no such folder; save the returned files there first")
    Ledger.of_cycle(workspace, cycle).close()  # a cycle never generated stops here
    check_writable(workspace.answers_path(cycle))  # before screening: nothing half-done
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    cycle_dir = workspace.cycle_dir(cycle)
    report = CollectReport(source_dir)
    intake = discover(source_dir)
    report.found, report.ignored = len(intake.candidates), intake.ignored
    with Ledger.of_cycle(workspace, cycle) as ledger:
        seen = ledger.known_hashes()
        report.emails_kept = len(store_emails(intake, cycle_dir, ledger, seen))
        # Quarantined files are screened again: a restored secret or a form generated since
        # may let them in now. Those still turned away count as already collected.
        retry = ledger.quarantined_hashes()
        fresh, duplicates_in_batch = [], set()
        for candidate in intake.candidates:
            sha = candidate.sha256
            if (sha in seen and sha not in retry) or sha in duplicates_in_batch:
                report.already_collected += 1
            else:
                duplicates_in_batch.add(sha)
                fresh.append(candidate)
        report.new = sum(1 for c in fresh if c.sha256 not in retry)
        context = {
            "secret": workspace.secret(),
            "cycle": cycle,
            "cycle_dir": cycle_dir,
            "limits": limits_default(),
            "forms": sent_forms_of(ledger, cycle_dir),
            "people": {e.id: e.name for e in roster.employees},  # visible details vs identity
            "issued": ledger.issued_tokens(),  # recognised even after a lost key was replaced
        }
        senders = {e.email.lower(): e.id for e in roster.employees if e.email}
        outcomes = screen_all(fresh, context, workers, progress)
        for batch in batched(outcomes, LEDGER_BATCH):
            os.sync()  # the batch's copies reach the disk before the ledger says they exist
            still_out = [o for o in batch if o.rejected and o.candidate.sha256 in retry]
            report.already_collected += len(still_out)
            batch = [o for o in batch if o not in still_out]
            with ledger.transaction():
                for outcome in batch:
                    record_outcome(
                        outcome,
                        ledger,
                        senders.get(address_of(outcome)),
                        replace_row=outcome.candidate.sha256 in retry,
                    )
            for outcome in batch:
                note_outcome(report, outcome)
        versions = ledger.accepted_versions()
        new_sources = set(report.sources)
        touched = {(v.employee_id, v.kind) for v in versions if v.source in new_sources}
        if use:
            touched.add(choose_version(ledger, use, cycle))
        chosen = ledger.chosen_versions()
        winners = newest_versions(versions, report.versions, touched, chosen)
        report.minutes = minutes_notes(
            ledger, {e for e, kind in touched if kind == FormKind.MINUTES}
        )
        with ledger.transaction():  # one commit, not one per form
            for (employee_id, kind), winner in winners.items():
                if not is_unfilled(winner):  # returned unfilled: still missing, reminders go on
                    ledger.set_form_status(employee_id, kind, "returned")
        sheets = answer_sheets(ledger, roster, versions, winners, workspace.templates_dir)
        report.workbook = update_workbook_if_changed(workspace.answers_path(cycle), sheets, ledger)
    return report


def update_workbook_if_changed(path: Path, sheets: dict, ledger: Ledger) -> MergeReport:
    """Return the merge report; the workbook is left untouched when nothing changed at all."""
    # Merged again when the inputs changed or when someone saved the workbook since we wrote
    # it (HR's edits are then counted, and a column HR deleted comes back with a warning).
    digest = sheets_digest(sheets)
    if path.exists() and ledger.get_meta(WORKBOOK_INPUTS) == f"{digest} {file_stamp(path)}":
        return MergeReport(path)
    report = update_answers_workbook(path, sheets, ledger)
    ledger.set_meta(WORKBOOK_INPUTS, f"{digest} {file_stamp(path)}")
    return report


def file_stamp(path: Path) -> str:
    """Return the workbook's size and modification time, which change when someone saves it."""
    info = path.stat()
    return f"{info.st_size}:{info.st_mtime_ns}"


def choose_version(ledger: Ledger, name: str, cycle: int) -> tuple[str, str]:
    """Return the form whose version HR chose by the returned file's ``name``; record it."""
    found = ledger.accepted_file(name.strip().removeprefix("./"))
    if found is None:
        raise WorkspaceError(
            f"--use {name}: no accepted returned file of cycle {cycle} has that path; give "
            "the path as a 'Versions:' line prints it (e.g. returned/employee/…docx)"
        )
    ledger.choose_version(found["employee_id"], found["kind"], found["stored_path"])
    return found["employee_id"], found["kind"]


def sheets_digest(sheets: dict) -> str:
    """Return a SHA-256 of everything the answers workbook is written from."""
    payload = {  # plain tuples: dataclasses.asdict deep-copies every answer and is slow
        kind: (
            [(q.key, q.section, q.title, q.type) for q in questions],
            [
                (
                    r.employee_id,
                    r.name,
                    r.department,
                    r.manager_id,
                    r.status,
                    r.returned_at,
                    r.source_file,
                    r.answers,
                )
                for r in rows
            ],
        )
        for kind, (questions, rows) in sheets.items()
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def minutes_notes(ledger: Ledger, employee_ids: set[str]) -> list[str]:
    """Return, for minutes that came back in this run, whether they are confirmed by both."""
    states = minutes_states(ledger.accepted_versions())
    notes = []
    for employee_id in sorted(employee_ids):
        state = states[employee_id]
        if state.confirmed:
            notes.append(f"minutes of {employee_id}: confirmed by both; ready for finalize")
        else:
            notes.append(f"minutes of {employee_id}: waiting for {'; '.join(state.missing)}")
    return notes


def address_of(outcome) -> str:
    """Return the lower-case email address a candidate came from, or ''."""
    return email.utils.parseaddr(outcome.candidate.sender)[1].lower()


def default_source(workspace: Workspace, cycle: int) -> Path:
    """Return where HR saves returned files: input/returned/<cycle>/ if it exists, else above."""
    folder = workspace.input_dir / "returned"
    return folder / str(cycle) if (folder / str(cycle)).is_dir() else folder


def sent_forms_of(ledger: Ledger, cycle_dir: Path) -> dict:
    """Return the path, fields and fixed text of every generated form by (employee id, kind)."""
    return {
        (r.employee_id, r.kind): (str(cycle_dir / r.path), r.fields, r.outside_text)
        for r in ledger.forms()
    }


def note_outcome(report: CollectReport, outcome) -> None:
    """Add one screening outcome to the report (warnings carry no answer text)."""
    source = outcome.candidate.source
    if outcome.screened:
        identity = outcome.screened.identity
        report.sources.append(source)
        report.accepted.append(f"{source} ({identity.kind} form of {identity.employee_id})")
        report.warnings += [f"{source}: {w}" for w in outcome.screened.warnings]
    else:
        report.quarantined.append((source, outcome.rejected.reason))


def questions_of(ledger: Ledger, kind: str, templates_dir: Path) -> list[Question]:
    """Return the questions of a form kind: its template's fields (nb first), else the ledger's."""
    records = sorted(ledger.forms(kind), key=lambda r: r.language != "nb")
    if not records:
        return []
    try:
        questions = load_template(templates_dir, kind, records[0].language).fields
    except SamtaleError:
        questions = questions_from_json(records[0].fields)
    return [question for question in questions if question.key]


def answer_sheets(ledger: Ledger, roster: Roster, versions, winners, templates_dir: Path) -> dict:
    """Return the workbook sheets: per form kind, its questions and one row per employee."""
    counts: dict[tuple[str, str], int] = {}
    for version in versions:
        counts[(version.employee_id, version.kind)] = (
            counts.get((version.employee_id, version.kind), 0) + 1
        )
    generated = {(r.employee_id, r.kind) for r in ledger.forms()}
    sheets = {}
    for kind in ALL_FORM_KINDS:
        questions = questions_of(ledger, kind, templates_dir)
        if not questions:
            continue
        rows = [
            answer_row(
                e,
                kind,
                winners.get((e.id, kind)),
                counts.get((e.id, kind), 0),
                (e.id, kind) in generated,
            )
            for e in roster.employees
        ]
        sheets[kind] = (questions, rows)
    return sheets


def answer_row(
    employee, kind: str, winner: ReturnedVersion | None, count: int, generated: bool
) -> AnswerRow:
    """Return one employee's row of a form kind's sheet."""
    if winner is None:
        status = "missing" if generated else "not generated"
        return AnswerRow(
            employee.id, employee.name, employee.department, employee.manager_id, status, "", "", {}
        )
    status = "returned" if count == 1 else f"returned ({count} versions)"
    if is_unfilled(winner):
        status = "returned unfilled"
    return AnswerRow(
        employee.id,
        employee.name,
        employee.department,
        employee.manager_id,
        status,
        winner.returned_at,
        winner.source,
        winner.answers,
    )
