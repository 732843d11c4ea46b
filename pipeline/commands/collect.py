"""``samtale collect``: returned files in, screened copies kept, answers into the workbook."""

from __future__ import annotations

import email.utils
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.confirmation import minutes_state
from pipeline.domain.intake import (
    EMAIL_OUTCOME,
    Outcome,
    Progress,
    SourceFile,
    Taken,
    discard_copy,
    insert_returned_file,
    limits_default,
    listing,
    record_outcome,
    sync_stored,
    take_all,
)
from pipeline.domain.kinds import ALL_FORM_KINDS, FormKind
from pipeline.domain.pools import long_lived
from pipeline.domain.questions import Question, questions_from_json
from pipeline.domain.versions import (
    RULE_VERSION,
    ListValues,
    is_unfilled,
    lists_of,
    newest_versions,
)
from pipeline.errors import SamtaleError, WorkspaceError
from pipeline.formats.answers import (
    AnswerRow,
    AnswerRows,
    MergeReport,
    check_writable,
    update_answers_workbook,
)
from pipeline.formats.previous import normalize_id
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.templates import load_template
from pipeline.state.ledger import Ledger, ReturnedVersion, batched
from pipeline.state.workspace import Workspace

WORKBOOK_INPUTS = "answers_workbook_inputs"  # ledger meta: digest of the last workbook write


LEDGER_BATCH = 250  # source files per ledger transaction (their copies are already on disk)


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
    entries = listing(source_dir)
    with Ledger.of_cycle(workspace, cycle) as ledger, long_lived():
        # Quarantined files are screened again: a restored secret or a form generated since
        # may let them in now. Those still turned away count as already collected.
        retry = ledger.quarantined_hashes()
        todo = still_to_read(entries, ledger, report)
        context = screening_context(workspace, cycle, roster, retry)
        senders = {e.email.lower(): e.id for e in roster.employees if e.email}
        intake = Intake(report, ledger, cycle_dir, retry, senders, roster.by_id)
        for batch in batched(take_all(todo, context, workers, progress), LEDGER_BATCH):
            intake.record(batch)
        report.ignored = intake.ignored(entries)
        touched = intake.touched
        if use:
            touched.add(choose_version(ledger, use, cycle))
        chosen = ledger.chosen_versions()
        lists = lists_of(ledger)  # the values of the forms' list fields: choices, never cuts
        settle_forms(ledger, touched, chosen, lists, report.versions)
        report.minutes = minutes_notes(
            ledger, {e for e, kind in touched if kind == FormKind.MINUTES}
        )
        sheets = answer_sheets(ledger, roster, chosen, lists, workspace.templates_dir)
        digest = inputs_digest(ledger, roster, sheets, lists)
        report.workbook = update_workbook_if_changed(
            workspace.answers_path(cycle), sheets, ledger, digest
        )
    return report


def screening_context(workspace: Workspace, cycle: int, roster: Roster, retry: set) -> dict:
    """Return what the workers screening a cycle's returned files need (no ledger handles)."""
    return {
        "secret": workspace.secret(),
        "cycle": cycle,
        "cycle_dir": workspace.cycle_dir(cycle),
        "limits": limits_default(),
        "ledger_path": workspace.ledger_path(cycle),  # workers look up the sent forms they meet
        "people": {e.id: e.name for e in roster.employees},  # visible details vs identity
        "retry": retry,  # the workers also ask the ledger which files and identities it knows
    }


def settle_forms(
    ledger: Ledger, touched: FormKeys, chosen: dict, lists: ListValues, notes: list[str]
) -> None:
    """Mark each form that got a new version returned (unless unfilled); note its versions."""
    with ledger.transaction():  # one commit, not one per form
        for chunk in batched(sorted(touched), LEDGER_BATCH):  # a few ledger reads per chunk
            ids_by_kind: dict[str, list[str]] = {}
            for employee_id, kind in chunk:
                ids_by_kind.setdefault(kind, []).append(employee_id)
            versions = [
                version
                for kind, ids in ids_by_kind.items()
                for version in ledger.accepted_versions_for(kind, ids)
            ]
            winners = newest_versions(versions, notes, touched, chosen, lists)
            for key in chunk:
                winner = winners.get(key)
                if winner is not None and not is_unfilled(winner):  # unfilled: reminders go on
                    ledger.set_form_status(*key, "returned")


def still_to_read(
    entries: list[SourceFile | str], ledger: Ledger, report: CollectReport
) -> list[SourceFile]:
    """Return the files to read; a file read before and unchanged since counts as collected."""
    # Unchanged means the same size and modification time as when collect last read it, its
    # content still known to the ledger, and nothing of it in quarantine (that is retried).
    read_before = ledger.source_files()
    retry_sources = ledger.quarantined_sources()
    todo = []
    for entry in entries:
        if isinstance(entry, str):
            continue
        before = read_before.get(entry.key)
        unchanged = before is not None and before[:2] == (entry.size, entry.mtime_ns)
        if unchanged and entry.relative not in retry_sources and ledger.is_known_file(before[2]):
            report.found += before[3]
            report.already_collected += before[3]
        else:
            todo.append(entry)
    return todo


class Intake:
    """Records what the workers made of the source files, batch by batch, in the ledger."""

    def __init__(
        self, report: CollectReport, ledger: Ledger, cycle_dir: Path, retry, senders, people
    ):
        self.report, self.ledger, self.cycle_dir = report, ledger, cycle_dir
        self.retry, self.senders = retry, senders
        self.people = people  # the roster's employees by id: their id strings are shared
        self.retried: set[str] = set()  # files from quarantine screened again in this run
        self.pending: set[str] = set()  # files of the batch being recorded
        self.emails: set[str] = set()  # emails kept whole in this run
        self.touched = FormKeys()  # forms that got a new version
        self.notes: dict[str, tuple[str, ...]] = {}  # what was skipped inside each email

    def record(self, batch: list[Taken]) -> None:
        """Note one batch of files: new outcomes and kept emails in one ledger transaction."""
        outcomes, emails = [], []
        for taken in batch:
            outcomes += self.fresh_outcomes(taken)
            emails += self.fresh_email(taken)
            if taken.ignored:
                self.notes[taken.source.relative] = taken.ignored
        stored = [o.stored_path for o in outcomes] + [path for _, path in emails]
        sync_stored(self.cycle_dir, stored)  # on disk before the ledger says they exist
        with self.ledger.transaction():
            for carrier, path in emails:
                insert_returned_file(self.ledger, carrier, path, EMAIL_OUTCOME)
            for outcome in outcomes:
                sha = outcome.candidate.sha256
                sender = self.senders.get(address_of(outcome))
                record_outcome(outcome, self.ledger, sender, replace_row=sha in self.retry)
            for taken in batch:
                source = taken.source
                self.ledger.note_source_file(
                    source.key, source.size, source.mtime_ns, taken.sha256, len(taken.outcomes)
                )
        self.pending.clear()  # the ledger knows them now
        self.report.emails_kept += len(emails)
        for outcome in outcomes:
            note_outcome(self.report, outcome)
            if outcome.screened:
                identity = outcome.screened.identity
                self.touched.add((self.shared_id(identity.employee_id), identity.kind))

    def shared_id(self, employee_id: str) -> str:
        """Return the roster's own string for an employee id (one string, not one per file)."""
        employee = self.people.get(employee_id)
        return employee.id if employee is not None else sys.intern(employee_id)

    def fresh_outcomes(self, taken: Taken) -> list[Outcome]:
        """Return the outcomes of one file to record; count the rest as already collected."""
        report, fresh = self.report, []
        for outcome in taken.outcomes:
            report.found += 1
            sha = outcome.candidate.sha256
            if outcome.known or self.seen_in_run(sha):
                report.already_collected += 1
                discard_copy(outcome, self.cycle_dir)  # a second copy of bytes seen in this run
                continue
            (self.retried if sha in self.retry else self.pending).add(sha)
            if sha not in self.retry:
                report.new += 1
            elif outcome.rejected:  # quarantined before, still turned away
                report.already_collected += 1
                continue
            fresh.append(outcome)
        return fresh

    def seen_in_run(self, sha: str) -> bool:
        """Return True for a file recorded earlier in this run (or earlier in this batch)."""
        # The ledger knows every file an earlier batch recorded: no set of 20,000 digests here.
        # Files from quarantine were in the ledger before the run; those screened again in this
        # run (a few) are remembered apart.
        if sha in self.retry:
            return sha in self.retried
        return sha in self.pending or self.ledger.is_known_file(sha)

    def fresh_email(self, taken: Taken) -> list[tuple]:
        """Return the email this file is, kept whole, when it is new to the ledger and the run."""
        if taken.email is None:
            return []
        carrier, path, created = taken.email
        first = carrier.sha256 not in self.emails
        self.emails.add(carrier.sha256)
        if path and first:
            return [(carrier, path)]
        if created:  # the same email saved twice in the folder: one copy is enough
            (self.cycle_dir / path).unlink(missing_ok=True)
        return []

    def ignored(self, entries: list[SourceFile | str]) -> list[str]:
        """Return what was skipped, in the folder's order: files, and parts inside emails."""
        found: list[str] = []
        for entry in entries:
            if isinstance(entry, str):
                found.append(entry)
            else:
                found += self.notes.get(entry.relative, ())
        return found


class FormKeys:
    """A set of forms, (employee id, kind), kept as one set of ids per kind: no tuple per form."""

    def __init__(self):
        self.by_kind: dict[str, set[str]] = {}

    def add(self, key: tuple[str, str]) -> None:
        """Add one form."""
        employee_id, kind = key
        self.by_kind.setdefault(sys.intern(kind), set()).add(employee_id)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return key[0] in self.by_kind.get(key[1], ())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for kind, employee_ids in self.by_kind.items():
            for employee_id in employee_ids:
                yield employee_id, kind

    def __len__(self) -> int:
        return sum(map(len, self.by_kind.values()))


def update_workbook_if_changed(
    path: Path, sheets: dict, ledger: Ledger, digest: str
) -> MergeReport:
    """Return the merge report; the workbook is left untouched when nothing changed at all."""
    # Merged again when the inputs changed or when someone saved the workbook since we wrote
    # it (HR's edits are then counted, and a column HR deleted comes back with a warning).
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


def inputs_digest(ledger: Ledger, roster: Roster, sheets: dict, lists: ListValues) -> str:
    """Return a SHA-256 of everything the answers workbook is written from, computed cheaply."""
    # The rows come from the roster (who, names, departments, managers) and the ledger's
    # returned files, forms and HR's chosen versions: any change there changes a count or a
    # row id. Reading every answer to find out that nothing changed would cost what writing does.
    payload = {
        "rule": RULE_VERSION,  # which version counts (pipeline/domain/versions.py)
        "lists": sorted((*key, sorted(values)) for key, values in lists.items()),
        "roster": [(e.id, e.name, e.department, e.manager_id) for e in roster.employees],
        "ledger": ledger.answers_stamp(),
        "questions": {
            kind: [(q.key, q.section, q.title, q.type) for q in questions]
            for kind, (questions, _) in sheets.items()
        },
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def minutes_notes(ledger: Ledger, employee_ids: set[str]) -> list[str]:
    """Return, for minutes that came back in this run, whether they are confirmed by both."""
    notes = []
    for chunk in batched(sorted(employee_ids), LEDGER_BATCH):  # one ledger read per chunk
        versions: dict[str, list[ReturnedVersion]] = {}
        for version in ledger.accepted_versions_for(FormKind.MINUTES, chunk):
            versions.setdefault(version.employee_id, []).append(version)
        for employee_id in chunk:
            state = minutes_state(employee_id, versions.get(employee_id, []))
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


def note_outcome(report: CollectReport, outcome) -> None:
    """Add one screening outcome to the report (warnings carry no answer text)."""
    source = outcome.candidate.source
    if outcome.screened:
        identity = outcome.screened.identity
        report.accepted.append(f"{source} ({identity.kind} form of {identity.employee_id})")
        report.warnings += [f"{source}: {w}" for w in outcome.screened.warnings]
    else:
        report.quarantined.append((source, outcome.rejected.reason))


def questions_of(ledger: Ledger, kind: str, templates_dir: Path) -> list[Question]:
    """Return the questions of a form kind: its template's fields (nb first), else the ledger's."""
    languages = ledger.form_languages(kind)
    if not languages:
        return []
    employee_id, language = min(languages.items(), key=lambda item: (item[1] != "nb", item[0]))
    try:
        questions = load_template(templates_dir, kind, language).fields
    except SamtaleError:
        questions = questions_from_json(ledger.form(employee_id, kind).fields)
    return [question for question in questions if question.key]


def answer_sheets(
    ledger: Ledger, roster: Roster, chosen: dict, lists: ListValues, templates_dir: Path
) -> dict:
    """Return the workbook sheets: per form kind, its questions and its rows (read when needed)."""
    sheets = {}
    for kind in ALL_FORM_KINDS:
        questions = questions_of(ledger, kind, templates_dir)
        if questions:
            sheets[kind] = (questions, LedgerRows(ledger, roster, kind, chosen, lists))
    return sheets


class LedgerRows(AnswerRows):
    """One form kind's sheet rows, each read from the ledger when the workbook reaches it."""

    def __init__(self, ledger: Ledger, roster: Roster, kind: str, chosen: dict, lists: ListValues):
        self.ledger, self.kind, self.chosen, self.lists = ledger, kind, chosen, lists
        self.employees = {normalize_id(e.id): e for e in roster.employees}
        if "" in self.employees or len(self.employees) < len(roster.employees):
            raise ValueError(f"sheet {kind!r}: an employee id is empty or repeated")

    def ids(self) -> list[str]:
        """Return the roster's employee ids, in the roster's order."""
        return list(self.employees)

    def rows(self, employee_ids: list[str]) -> dict[str, AnswerRow]:
        """Return these employees' rows: the version that counts, or why there is none."""
        ids = [self.employees[e].id for e in employee_ids]
        versions: dict[str, list[ReturnedVersion]] = {}
        for version in self.ledger.accepted_versions_for(self.kind, ids):
            versions.setdefault(version.employee_id, []).append(version)
        generated = self.ledger.generated_for(self.kind, ids)
        found = {}
        for key, employee_id in zip(employee_ids, ids, strict=True):
            mine = versions.get(employee_id, [])
            winner = newest_versions(mine, chosen=self.chosen, lists=self.lists).get(
                (employee_id, self.kind)
            )
            employee = self.employees[key]
            found[key] = answer_row(
                employee, self.kind, winner, len(mine), employee_id in generated
            )
        return found


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
