"""What samtale deleted, and how a deletion survives a crash: the log, the journal, the leavers.

``output/deletions.jsonl`` gets one line per deleted file (or per set of rows): the rule, the
cycle, the employee id, the file kind, its SHA-256 and size, and the time; never a name, a path
or any content. A deletion runs as a *batch*:

1. its plan (the log lines and the steps) is written to ``output/.deleting/<batch>.json``;
2. the log lines are appended, before anything is deleted;
3. the steps run, each one safe to run again;
4. the journal file is removed.

A run killed at any point leaves its journal behind, and the next ``retention --apply`` or
``erase --apply`` finishes that batch first: nothing is logged twice, nothing planned stays
half-deleted, and nothing unplanned is touched.

``output/leavers.jsonl`` notes when samtale first found a person gone from the roster (and back
again): the sealed minutes of someone who left are kept a set number of years from that date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.errors import WorkspaceError, plain_reason
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir, write_private

LOG_NAME = "deletions.jsonl"
JOURNAL_DIR = ".deleting"
LEAVERS_NAME = "leavers.jsonl"
WORKING_FILES = "working_files"  # the retention rule that removes a whole cycle's working files


@dataclass(frozen=True)
class Deletion:
    """One line of the deletion log: what went, never a name, a path or content."""

    rule: str  # working_files | quarantine | archive | erase | erase_archive
    cycle: int
    employee_id: str  # "" for a file about many people (the answers workbook, the ledger)
    kind: str  # form | outbox | returned | email | quarantine | answers | ledger | minutes | …
    sha256: str  # "" for rows (of the answers workbook or the ledger)
    size: int  # bytes
    time: str  # when the batch was planned (UTC, ISO 8601)
    rows: int = 0  # for kinds answers_rows and ledger_rows: how many rows
    reason: str = ""  # erase --archive: the reason HR gave
    batch: str = ""


@dataclass(frozen=True)
class Batch:
    """One planned deletion: its log lines and the steps that carry it out."""

    id: str
    deletions: tuple[Deletion, ...]
    steps: tuple[dict, ...] = field(default=())  # JSON-able; see domain/personal_data.py

    def to_json(self) -> bytes:
        """Return the batch as the journal stores it."""
        data = {
            "id": self.id,
            "deletions": [asdict(d) for d in self.deletions],
            "steps": list(self.steps),
        }
        return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class WorkingFilesRemoved:
    """A cycle whose working files a retention rule removed: when, and how many files."""

    cycle: int
    removed_at: str
    files: int

    def describe(self) -> str:
        """Return one line saying so, for ``status`` and ``report``."""
        return (
            f"the working files of cycle {self.cycle} (forms, emails, returned files, answers "
            f"workbook, ledger; {self.files} files) were removed on {self.removed_at[:10]} by "
            f"the retention rule '{WORKING_FILES}' (see {LOG_NAME}); the sealed minutes stay "
            f"in output/archive/{self.cycle}/"
        )


def new_batch_id() -> str:
    """Return a new batch id: the time, then random digits (sorts in the order of creation)."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


# --- the log ------------------------------------------------------------------------------------


class DeletionLog:
    """The append-only deletion log ``output/deletions.jsonl``."""

    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / LOG_NAME

    def read(self) -> tuple[list[Deletion], list[str]]:
        """Return the readable lines and one problem per damaged line."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        entries, problems = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                entries.append(Deletion(**{k: data[k] for k in Deletion.__dataclass_fields__}))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{self.path}: line {number} is damaged ({plain_reason(exc)})")
        return entries, problems

    def entries(self) -> list[Deletion]:
        """Return every readable line of the log."""
        return self.read()[0]

    def append(self, deletions: list[Deletion]) -> None:
        """Append lines in one write, flushed to disk before anything is deleted."""
        if not deletions:
            return
        ensure_private_dir(self.path.parent)
        text = "".join(
            json.dumps(asdict(d), ensure_ascii=False, sort_keys=True) + "\n" for d in deletions
        )
        handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            os.write(handle, text.encode("utf-8"))
            os.fsync(handle)
        finally:
            os.close(handle)

    def append_batch(self, batch: Batch) -> None:
        """Append the batch's lines that the log does not hold yet (all, or the rest)."""
        logged = sum(1 for entry in self.entries() if entry.batch == batch.id)
        self.append(list(batch.deletions[logged:]))


def removed_working_files(output_dir: Path, cycle: int) -> WorkingFilesRemoved | None:
    """Return when a retention rule removed the cycle's working files, or None if it did not."""
    lines = [
        entry
        for entry in DeletionLog(output_dir).entries()
        if entry.rule == WORKING_FILES and entry.cycle == cycle
    ]
    if not lines:
        return None
    return WorkingFilesRemoved(cycle, min(entry.time for entry in lines), len(lines))


# --- the journal --------------------------------------------------------------------------------


def journal_path(output_dir: Path, batch_id: str) -> Path:
    """Return where the journal of one batch is kept while it runs."""
    return Path(output_dir) / JOURNAL_DIR / f"{batch_id}.json"


def write_journal(output_dir: Path, batch: Batch) -> Path:
    """Return the journal file after writing the batch's plan to it (before anything is done)."""
    return write_private(journal_path(output_dir, batch.id), batch.to_json())


def pending_batches(output_dir: Path) -> list[Batch]:
    """Return the batches an earlier run planned but did not finish, oldest first."""
    folder = Path(output_dir) / JOURNAL_DIR
    if not folder.is_dir():
        return []
    batches = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            deletions = tuple(Deletion(**d) for d in data["deletions"])
            batches.append(Batch(data["id"], deletions, tuple(data["steps"])))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise WorkspaceError(
                f"{path}: the plan of an interrupted deletion cannot be read "
                f"({plain_reason(exc)}). Fix: "
                f"compare it with {LOG_NAME}, finish what it lists by hand, then delete it"
            ) from exc
    return batches


def finish_journal(output_dir: Path, batch_id: str) -> None:
    """Remove the journal of a batch whose every step is done."""
    journal_path(output_dir, batch_id).unlink(missing_ok=True)
    folder = Path(output_dir) / JOURNAL_DIR
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


# --- leavers ------------------------------------------------------------------------------------


def leaving_dates(output_dir: Path) -> dict[str, dt.date]:
    """Return, per employee id gone from the roster, the date samtale first found them gone."""
    state: dict[str, dt.date | None] = {}
    for line in _leaver_lines(output_dir):
        state[line["employee_id"]] = (
            dt.date.fromisoformat(line["date"]) if line["event"] == "left" else None
        )
    return {employee_id: date for employee_id, date in state.items() if date is not None}


def note_leavers(
    output_dir: Path, watched: set[str], in_roster: set[str], today: dt.date
) -> list[str]:
    """Return the ids newly found gone after noting them (and those back) in the leavers file."""
    # ``watched`` are the people samtale holds sealed minutes of; one gone from the roster is
    # noted "left" once, and "back" when they reappear (a later leaving starts a new count).
    gone = leaving_dates(output_dir)
    lines = []
    for employee_id in sorted(watched):
        if employee_id not in in_roster and employee_id not in gone:
            lines.append({"employee_id": employee_id, "event": "left", "date": today.isoformat()})
        elif employee_id in in_roster and employee_id in gone:
            lines.append({"employee_id": employee_id, "event": "back", "date": today.isoformat()})
    if lines:
        path = Path(output_dir) / LEAVERS_NAME
        ensure_private_dir(path.parent)
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            os.write(handle, text.encode("utf-8"))
            os.fsync(handle)
        finally:
            os.close(handle)
    return [line["employee_id"] for line in lines if line["event"] == "left"]


def _leaver_lines(output_dir: Path) -> list[dict]:
    """Return the readable lines of the leavers file; raise WorkspaceError for a damaged one."""
    path = Path(output_dir) / LEAVERS_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            dt.date.fromisoformat(data["date"])
            if data["event"] not in ("left", "back") or not isinstance(data["employee_id"], str):
                raise ValueError("unknown event")
        except (ValueError, TypeError, KeyError) as exc:
            raise WorkspaceError(
                f"{path}: line {number} is damaged ({plain_reason(exc)}). Fix: restore the file "
                "from backup; "
                "without it samtale cannot tell since when someone has left"
            ) from exc
        lines.append(data)
    return lines
