"""``samtale erase EMPLOYEE_ID``: remove one person's working data from every cycle.

What goes, per cycle: their forms (the manager's forms and the minutes about them included), the
files they returned and the emails only about them, the emails addressed to them, their access
bundles, their rows of the answers workbook and of the ledger. From an email that also carried
other people's forms only their part goes: their attachments, and their name in the text. Files
about other people that name them as the manager or sender stay: those are the others' records.

The sealed archive stays, unless ``archive`` is given with a reason; the reason goes into the
deletion log. Without ``apply`` nothing is deleted. Collect never takes an erased file in again
(the ledger keeps its SHA-256), but the originals HR saved under ``input/returned/`` are HR's:
the report counts them so they can be deleted there too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.names import safe_stem
from pipeline.domain.personal_data import (
    ACCESS_FOLDER,
    ANSWERS_NAME,
    LEDGER_NAME,
    HeldFile,
    PersonCycle,
    access_prefix,
    carry_out,
    finish_interrupted,
    held_cycles,
    person_cycle,
    sha256_of,
    workbook_open,
)
from pipeline.errors import WorkspaceError
from pipeline.formats import email_parts
from pipeline.formats.roster import Roster, normalize_id, read_roster
from pipeline.state.archive import Archive, archived_cycles
from pipeline.state.deletions import Batch, Deletion, new_batch_id, pending_batches
from pipeline.state.workspace import Workspace

ERASE, ERASE_ARCHIVE = "erase", "erase_archive"
ANSWERS_ROWS, LEDGER_ROWS = "answers_rows", "ledger_rows"
PART = "_part"  # kind suffix: an attachment removed from an email that stays


@dataclass
class ErasedCycle:
    """What goes (or went) in one cycle, counted per kind: [files or rows, bytes]."""

    cycle: int
    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, size: int, rows: int = 0) -> None:
        """Count one file (or ``rows`` rows) of ``kind``."""
        count = self.counts.setdefault(kind, [0, 0])
        count[0] += rows or 1
        count[1] += size


@dataclass
class EraseReport:
    """What ``erase`` removed (or would), what it kept, and what HR must do by hand."""

    employee_id: str
    applied: bool
    with_archive: bool
    cycles: list[ErasedCycle] = field(default_factory=list)
    kept_archive: int = 0  # sealed files kept (no --archive)
    still_in_roster: bool = False
    originals: list[Path] = field(default_factory=list)  # copies HR saved under input/returned/
    shared_emails: int = 0  # emails that stay, without this person's part
    finished: int = 0  # interrupted deletions finished first
    interrupted: int = 0

    @property
    def nothing(self) -> bool:
        """Return True when samtale holds nothing about the person."""
        return not any(c.counts for c in self.cycles)


def erase_person(
    workspace: Workspace,
    employee_id: str,
    *,
    apply: bool = False,
    archive: bool = False,
    reason: str = "",
    roster_path: Path | None = None,
    sheet: str | None = None,
    now: dt.datetime | None = None,
) -> EraseReport:
    """Return what erasing one person removes; only ``apply=True`` removes it."""
    employee_id = checked_id(employee_id)
    if archive and not reason.strip():
        raise WorkspaceError(
            "erasing the sealed minutes needs a reason for the deletion log: add --reason "
            '"…" (e.g. "erasure request of 2028-03-01, case 12"); write no names in it'
        )
    now = now or dt.datetime.now(dt.UTC)
    roster = optional_roster(workspace, roster_path, sheet)
    report = EraseReport(employee_id, apply, archive)
    report.still_in_roster = bool(roster and employee_id in roster.by_id)
    if apply:
        report.finished = len(finish_interrupted(workspace))
    else:
        report.interrupted = len(pending_batches(workspace.output_dir))
    batch = plan(workspace, employee_id, roster, report, now, reason.strip() if archive else "")
    report.originals = originals(workspace, {d.sha256 for d in batch.deletions})
    if apply and batch.deletions:
        carry_out(workspace, batch)
    return report


def checked_id(employee_id: str) -> str:
    """Return the employee id as the roster writes it; raise WorkspaceError for an empty one."""
    normalized = normalize_id(employee_id)
    if not normalized:
        raise WorkspaceError("the employee id is empty; give the id from the roster (Ansattnr)")
    return normalized


def optional_roster(workspace: Workspace, path: Path | None, sheet: str | None) -> Roster | None:
    """Return the roster (it names the people in shared emails), or None when there is none."""
    path = path or workspace.roster_path
    return read_roster(path, sheet) if Path(path).exists() else None


def plan(
    workspace: Workspace,
    employee_id: str,
    roster: Roster | None,
    report: EraseReport,
    now: dt.datetime,
    reason: str,
) -> Batch:
    """Return the batch erasing the person, after counting it in ``report``."""
    batch_id = new_batch_id()
    stamp = now.replace(microsecond=0).isoformat()
    deletions: list[Deletion] = []
    steps: list[dict] = []

    def note(cycle: ErasedCycle, rule: str, kind: str, sha: str, size: int, rows: int = 0):
        cycle.add(kind, size, rows)
        deletions.append(
            Deletion(rule, cycle.cycle, employee_id, kind, sha, size, stamp, rows, reason, batch_id)
        )

    for cycle in held_cycles(workspace):
        found = person_cycle(workspace, cycle, employee_id, roster)
        if found is None:
            continue
        lock = workbook_open(found.cycle_dir)
        if lock is not None and found.workbook_rows:
            raise WorkspaceError(
                f"{found.cycle_dir / ANSWERS_NAME}: the workbook is open in another program "
                f"(lock file {lock.name}); close it and run erase again. Nothing was erased"
            )
        erased = ErasedCycle(cycle)
        steps += cycle_steps(found, employee_id, erased, note, report)
        if erased.counts:
            report.cycles.append(erased)
    access = access_bundles(workspace, employee_id)
    if access:
        erased = ErasedCycle(0)
        for held in access:
            note(erased, ERASE, ACCESS_FOLDER, held.sha256, held.size)
            steps.append(unlink_step(f"{ACCESS_FOLDER}/{held.relative}", held.sha256))
        report.cycles.append(erased)
    steps += archive_steps(workspace, employee_id, report, note, stamp)
    return Batch(batch_id, tuple(deletions), tuple(steps))


def cycle_steps(found: PersonCycle, employee_id: str, erased: ErasedCycle, note, report) -> list:
    """Return the steps erasing the person from one cycle: ledger, workbook, emails, files."""
    cycle = found.cycle
    files = [*found.own, *found.unclear]
    shared = [s for s in found.shared if not s.to_them]  # emails to them go whole
    files += [s.file for s in found.shared if s.to_them]
    shas = set(found.deleted_sha256) | {f.sha256 for f in found.unclear}
    steps: list[dict] = []
    if found.ledger_rows:
        note(erased, ERASE, LEDGER_ROWS, "", 0, found.ledger_rows)
        steps.append(
            {
                "op": "erase_rows",
                "ledger": f"{cycle}/{LEDGER_NAME}",
                "employee_id": employee_id,
                "sha256s": sorted(shas),
            }
        )
    if found.workbook_rows:
        note(erased, ERASE, ANSWERS_ROWS, "", 0, found.workbook_rows)
        steps.append(
            {"op": "workbook_rows", "path": f"{cycle}/{ANSWERS_NAME}", "employee_id": employee_id}
        )
    for email in shared:
        removed = [
            a for a in email_parts.attachments(email.file.path.read_bytes()) if email.keeps(a)
        ]
        for attachment in removed:
            note(erased, ERASE, email.file.kind + PART, attachment.sha256, len(attachment.data))
        report.shared_emails += 1
        steps.append(
            {
                "op": "email_without",
                "path": f"{cycle}/{email.file.relative}",
                "sha256s": sorted(email.keep_sha256),
                "filenames": sorted(email.keep_names),
                "texts": sorted(found.names),
            }
        )
    for held in sorted(files, key=lambda f: f.relative):
        note(erased, ERASE, held.kind, held.sha256, held.size)
        steps.append(unlink_step(f"{cycle}/{held.relative}", held.sha256))
    steps.append({"op": "prune", "path": f"{cycle}/returned/{safe_stem(employee_id, 20)}"})
    return steps


def unlink_step(relative: str, sha256: str) -> dict:
    """Return the step deleting one file (output-relative) if it still has these bytes."""
    return {"op": "unlink", "path": relative, "sha256": sha256}


def access_bundles(workspace: Workspace, employee_id: str) -> list[HeldFile]:
    """Return the access bundles made for the person (``output/access/access_<id>_….zip``)."""
    folder = workspace.output_dir / ACCESS_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(access_prefix(employee_id) + "*.zip")):
        stat = path.stat()
        moment = dt.datetime.fromtimestamp(int(stat.st_mtime), dt.UTC)
        found.append(
            HeldFile(
                0,
                ACCESS_FOLDER,
                employee_id,
                path.name,
                path,
                sha256_of(path),
                stat.st_size,
                moment,
            )
        )
    return found


def archive_steps(workspace: Workspace, employee_id: str, report: EraseReport, note, stamp):
    """Return the steps deleting the person's sealed minutes (with --archive), else count them."""
    steps = []
    for cycle in archived_cycles(workspace):
        folder = workspace.output_dir / "archive" / str(cycle)
        entries = [e for e in Archive(folder).read_manifest()[0] if e.employee_id == employee_id]
        if not entries:
            continue
        if not report.with_archive:
            report.kept_archive += len(entries)
            continue
        erased = next((c for c in report.cycles if c.cycle == cycle), None)
        if erased is None:
            erased = ErasedCycle(cycle)
            report.cycles.append(erased)
        for entry in entries:
            path = folder / entry.path
            size = path.stat().st_size if path.is_file() else 0
            note(erased, ERASE_ARCHIVE, entry.kind, entry.sha256, size)
        steps.append(
            {
                "op": "archive_forget",
                "cycle": cycle,
                "files": {e.path: e.sha256 for e in entries},
                "rule": ERASE_ARCHIVE,
                "time": stamp,
            }
        )
    return steps


def originals(workspace: Workspace, erased: set[str]) -> list[Path]:
    """Return the files under input/returned/ that hold erased files (emails: as attachments)."""
    folder = workspace.input_dir / "returned"
    if not erased or not folder.is_dir():
        return []
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        if sha256_of(path) in erased:
            found.append(path)
        elif path.suffix.lower() == ".eml":
            attached = email_parts.attachments(path.read_bytes())
            if any(a.sha256 in erased for a in attached):
                found.append(path)
    return found
