"""The cycle's state in SQLite (``output/<cycle>/ledger.sqlite``): forms, returned files, emails."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.errors import CycleNotGenerated, LedgerError
from pipeline.state.deletions import removed_working_files
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir
from pipeline.state.workspace import Workspace

SCHEMA_VERSION = 1
LEDGER_NAME = "ledger.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS forms (
    employee_id TEXT NOT NULL,
    kind TEXT NOT NULL,               -- employee | manager | minutes
    path TEXT NOT NULL,               -- relative to the cycle folder
    sha256 TEXT NOT NULL,             -- of the generated file
    inputs_hash TEXT NOT NULL,        -- template + values: unchanged inputs => no rewrite
    template_version TEXT NOT NULL,
    language TEXT NOT NULL,
    fields TEXT NOT NULL,             -- JSON: the fields as sent (key, title, type, placeholder)
    status TEXT NOT NULL,             -- generated | sent | returned
    generated_at TEXT NOT NULL,
    handed_out_at TEXT,               -- set when the form left HR (emailed or marked as sent)
    outside_text TEXT NOT NULL DEFAULT '[]', -- JSON: the form's fixed text lines, for screening
    manager_id TEXT,                  -- the employee's manager when the form was written
                                      -- ('' at the top; NULL: written by an older samtale)
    PRIMARY KEY (employee_id, kind)
);
CREATE TABLE IF NOT EXISTS returned_files (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,             -- where it was found (path, or path of the .eml + attachment)
    stored_path TEXT NOT NULL,        -- copy under returned/ or quarantine/ (cycle-relative)
    outcome TEXT NOT NULL,            -- accepted | quarantined | email (a kept message)
    reason TEXT NOT NULL DEFAULT '',
    employee_id TEXT,
    kind TEXT,
    sender TEXT NOT NULL DEFAULT '',  -- email sender when it came by mail
    sent_at TEXT NOT NULL DEFAULT '', -- email date when it came by mail
    file_time TEXT NOT NULL DEFAULT '',
    collected_at TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]', -- JSON list of screening warnings (never answer text)
    answers TEXT NOT NULL DEFAULT '{}',  -- JSON of the extracted answers (accepted files only)
    sender_id TEXT,                      -- the employee whose email address sent the file
    saved_at TEXT NOT NULL DEFAULT ''    -- when the document says it was last saved
);
CREATE TABLE IF NOT EXISTS emails (
    message_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,               -- prep | minutes | reminder
    recipient_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    attachments TEXT NOT NULL,        -- JSON list of form paths
    status TEXT NOT NULL,             -- planned | drafted | sent | failed
    detail TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issued_identities (  -- every identity a written form carried
    identity TEXT PRIMARY KEY,        -- the token with its HMAC, as in the form's properties
    employee_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chosen_versions (  -- HR's explicit choice: collect --use FILE
    employee_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    stored_path TEXT NOT NULL,        -- the returned file (cycle-relative) used as it is
    chosen_at TEXT NOT NULL,
    PRIMARY KEY (employee_id, kind)
);
CREATE TABLE IF NOT EXISTS extracted (  -- what collect last wrote into the answers workbook
    kind TEXT, employee_id TEXT, key TEXT, value TEXT,
    PRIMARY KEY(kind, employee_id, key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meetings (  -- talks scheduled and follow-ups booked, as invited
    uid TEXT PRIMARY KEY,             -- the iCalendar UID: stable for the talk's whole life
    kind TEXT NOT NULL,               -- talk | followup
    employee_id TEXT NOT NULL,        -- the employee the talk (or the follow-up) is about
    manager_id TEXT NOT NULL,         -- who holds the talk (the ORGANIZER)
    start TEXT NOT NULL,              -- ISO 8601: local time with offset, or a date (all day)
    end TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,             -- scheduled | cancelled
    sequence INTEGER NOT NULL DEFAULT 0,  -- iCalendar SEQUENCE: one up per change once invited
    invited_sequence INTEGER,         -- SEQUENCE of the last request or cancel that went out
    conflict TEXT NOT NULL DEFAULT '',    -- why HR's time cannot be sent (overlap, holiday …)
    content TEXT NOT NULL DEFAULT '',     -- follow-ups: hash of what/who/when (never the text)
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erased_files (  -- deleted by retention or erase: never collected again
    sha256 TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS returned_by_form ON returned_files (employee_id, kind);
CREATE TABLE IF NOT EXISTS workbook_corrections (  -- HR's edits collect kept, as last written
    kind TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,              -- JSON of the answer HR's cell holds
    PRIMARY KEY (kind, employee_id, key)
);
CREATE TABLE IF NOT EXISTS workbook_rows (  -- each employee row as collect last wrote it
    kind TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    inputs TEXT NOT NULL,             -- SHA-256 of what the row was written from
    written TEXT NOT NULL,            -- SHA-256 of the row's XML as written
    PRIMARY KEY (kind, employee_id)
);
CREATE TABLE IF NOT EXISTS source_files (  -- files collect has read: known again without reading
    path_sha256 TEXT PRIMARY KEY,     -- SHA-256 of the file's absolute path (names no person)
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,             -- of the whole file
    items INTEGER NOT NULL            -- candidates it held (an email's attachments)
);
"""


@dataclass(frozen=True)
class FormRecord:
    """One generated form as the ledger knows it."""

    employee_id: str
    kind: str
    path: str
    sha256: str
    inputs_hash: str
    template_version: str
    language: str
    fields: str
    status: str
    generated_at: str
    handed_out_at: str | None
    outside_text: str = "[]"
    manager_id: str | None = None  # the manager when it was written; None: not recorded


@dataclass(frozen=True)
class FormBrief:
    """What most stages need of a generated form: whose, which kind, for which manager."""

    employee_id: str
    kind: str
    manager_id: str | None
    status: str
    language: str


@dataclass(frozen=True)
class MeetingRecord:
    """One talk (or booked follow-up) as the ledger knows it: when, and what went out."""

    uid: str
    kind: str  # talk | followup
    employee_id: str
    manager_id: str
    start: str  # ISO 8601, local time with its offset (a date for an all-day follow-up)
    end: str
    location: str = ""
    status: str = "scheduled"  # scheduled | cancelled
    sequence: int = 0
    invited_sequence: int | None = None  # None: no request went out yet
    conflict: str = ""
    content: str = ""
    updated_at: str = ""

    @property
    def invited(self) -> bool:
        """Return True when a request (or cancel) for this meeting went out."""
        return self.invited_sequence is not None


ADDED_COLUMNS = {  # columns added after the first release: (table, column) -> definition
    ("forms", "outside_text"): "TEXT NOT NULL DEFAULT '[]'",
    ("forms", "manager_id"): "TEXT",
    ("returned_files", "sender_id"): "TEXT",
    ("returned_files", "saved_at"): "TEXT NOT NULL DEFAULT ''",
    # emails: the employees a meeting email is about (a talk or follow-up invite to the manager)
    ("emails", "about"): "TEXT NOT NULL DEFAULT '[]'",
}


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Add columns that a ledger written by an older samtale lacks."""
    for (table, column), definition in ADDED_COLUMNS.items():
        existing = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in existing:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def batched(items, size: int):
    """Yield lists of up to ``size`` items (one ledger transaction each)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string with seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


IDS_PER_QUERY = 500  # employee ids in one "IN (…)" (SQLite allows 999 parameters in old builds)

ACCEPTED = (
    "SELECT rowid, employee_id, kind, source, stored_path, sent_at, file_time, collected_at,"
    " answers, warnings, saved_at FROM returned_files WHERE outcome = 'accepted'"
)


def returned_version(row: sqlite3.Row) -> ReturnedVersion:
    """Return the accepted returned file of one ``ACCEPTED`` row."""
    return ReturnedVersion(
        row["employee_id"],
        row["kind"],
        row["source"],
        row["stored_path"],
        row["sent_at"] or row["file_time"] or row["collected_at"],
        json.loads(row["answers"]),
        json.loads(row["warnings"]),
        row["rowid"],
        row["saved_at"],
    )


@dataclass(frozen=True)
class ReturnedVersion:
    """One accepted returned file of a form, as the ledger holds it."""

    employee_id: str
    kind: str
    source: str
    stored_path: str
    returned_at: str
    answers: dict
    warnings: list[str]
    order: int = 0  # collection order, breaks ties between versions returned the same second
    saved_at: str = ""  # when the document says it was last saved


CORRECTIONS_STAMP = "workbook_corrections_of"  # meta: the workbook the recorded corrections are of
BRIEF_COLUMNS = (
    "employee_id, kind, path, sha256, inputs_hash, template_version, language, status,"
    " generated_at, handed_out_at, manager_id"
)


class Ledger:
    """The cycle's SQLite ledger; use as a context manager or call ``close``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fields: tuple[int, list[tuple[str, str]]] | None = None  # see distinct_fields
        ensure_private_dir(self.path.parent)
        if not self.path.exists():  # owner-only before SQLite copies the mode to -wal and -shm
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.executescript(SCHEMA)
            add_missing_columns(self.db)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"{self.path}: cannot open the ledger ({exc}). Fix: restore it from your backup "
                "(see README, 'Backups'); samtale cannot go on without it"
            ) from exc

    @classmethod
    def reader(cls, path: Path) -> Ledger:
        """Return the ledger opened read-only (a worker process looking things up)."""
        ledger = cls.__new__(cls)
        ledger.path = Path(path)
        ledger._fields = None
        try:
            ledger.db = sqlite3.connect(
                f"{ledger.path.as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None
            )
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path}: cannot open the ledger ({exc})") from exc
        ledger.db.row_factory = sqlite3.Row
        ledger.db.execute("PRAGMA busy_timeout=30000")
        return ledger

    @classmethod
    def of_cycle(cls, workspace: Workspace, cycle: int) -> Ledger:
        """Return the ledger of a generated cycle; raise CycleNotGenerated, creating nothing."""
        # Every command but generate reads a cycle's state through here, so a mistyped --cycle
        # stops with one message instead of creating folders and an empty ledger.
        path = workspace.output_dir / str(cycle) / LEDGER_NAME
        removed = None if path.is_file() else removed_working_files(workspace.output_dir, cycle)
        if removed is not None:
            raise CycleNotGenerated(removed.describe()[0].upper() + removed.describe()[1:])
        if not path.is_file():
            raise CycleNotGenerated(
                f"no forms were generated for cycle {cycle} (no {path}); check --cycle, "
                f"or run 'samtale generate --cycle {cycle}' first"
            )
        return cls(path)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside one immediate transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            self._fields = None  # may hold forms that were rolled back
            raise
        self.db.execute("COMMIT")

    # forms -------------------------------------------------------------------------------------

    def form(self, employee_id: str, kind: str) -> FormRecord | None:
        """Return the ledger's record of one form, or None."""
        row = self.db.execute(
            "SELECT * FROM forms WHERE employee_id = ? AND kind = ?", (employee_id, kind)
        ).fetchone()
        return FormRecord(**dict(row)) if row else None

    def forms(self, kind: str | None = None, *, brief: bool = False) -> list[FormRecord]:
        """Return all form records, optionally of one kind, ordered by employee id and kind."""
        # ``brief`` leaves out the fields and fixed text (``"[]"``): for 20,000 forms they are
        # hundreds of megabytes that most stages never look at.
        query = "SELECT * FROM forms"
        if brief:
            query = f"SELECT {BRIEF_COLUMNS}, '[]' AS fields, '[]' AS outside_text FROM forms"
        params: tuple = ()
        if kind:
            query += " WHERE kind = ?"
            params = (kind,)
        rows = self.db.execute(query + " ORDER BY employee_id, kind", params).fetchall()
        return [FormRecord(**dict(row)) for row in rows]

    def sent_form(self, employee_id: str, kind: str) -> tuple[str, str, str] | None:
        """Return the path, fields (JSON) and fixed text (JSON) of one generated form, or None."""
        row = self.db.execute(
            "SELECT path, fields, outside_text FROM forms WHERE employee_id = ? AND kind = ?",
            (employee_id, kind),
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def form_briefs(self, kind: str | None = None) -> list[FormBrief]:
        """Return every form's employee, kind, manager and status (no fields or fixed text)."""
        rows = self.db.execute(
            "SELECT employee_id, kind, manager_id, status, language FROM forms"
            " WHERE (:kind IS NULL OR kind = :kind) ORDER BY employee_id, kind",
            {"kind": kind},
        )
        return [FormBrief(*row) for row in rows]

    def distinct_fields(self) -> list[tuple[str, str]]:
        """Return each different (kind, fields JSON) the generated forms were sent with."""
        # The query reads every form's fields (a second at 10,000 employees) and every stage
        # asks it more than once: it is read again only after forms were recorded or removed,
        # here (``_fields`` is dropped) or by another connection (SQLite's data_version moves).
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self._fields is None or self._fields[0] != version:
            rows = self.db.execute("SELECT DISTINCT kind, fields FROM forms")
            self._fields = (version, [tuple(row) for row in rows])
        return list(self._fields[1])

    def form_languages(self, kind: str) -> dict[str, str]:
        """Return the language of every form of ``kind`` by employee id (fields not loaded)."""
        rows = self.db.execute("SELECT employee_id, language FROM forms WHERE kind = ?", (kind,))
        return {row[0]: row[1] for row in rows}

    def record_form(self, record: FormRecord) -> None:
        """Insert or replace the record of one generated form."""
        self._fields = None
        self.db.execute(
            "INSERT OR REPLACE INTO forms (employee_id, kind, path, sha256, inputs_hash,"
            " template_version, language, fields, status, generated_at, handed_out_at,"
            " outside_text, manager_id) VALUES (:employee_id, :kind, :path, :sha256,"
            " :inputs_hash, :template_version, :language, :fields, :status, :generated_at,"
            " :handed_out_at, :outside_text, :manager_id)",
            record.__dict__,
        )

    def mark_handed_out(self, employee_id: str, kind: str, status: str = "sent") -> None:
        """Record that a form left HR (so it is never overwritten without --force)."""
        self.db.execute(
            "UPDATE forms SET status = ?, handed_out_at = COALESCE(handed_out_at, ?) "
            "WHERE employee_id = ? AND kind = ?",
            (status, now_iso(), employee_id, kind),
        )

    def set_form_status(self, employee_id: str, kind: str, status: str) -> None:
        """Set the status of one form."""
        self.db.execute(
            "UPDATE forms SET status = ? WHERE employee_id = ? AND kind = ?",
            (status, employee_id, kind),
        )

    def record_issued(self, identity: str, employee_id: str, kind: str) -> None:
        """Remember an identity a written form carries (kept when the form is rewritten)."""
        self.db.execute(
            "INSERT OR IGNORE INTO issued_identities VALUES (?, ?, ?, ?)",
            (identity, employee_id, kind, now_iso()),
        )

    def is_issued(self, identity: str) -> bool:
        """Return True when a form this cycle wrote carried ``identity``."""
        query = "SELECT 1 FROM issued_identities WHERE identity = ?"
        return self.db.execute(query, (identity,)).fetchone() is not None

    def is_known_file(self, sha256: str) -> bool:
        """Return True when a file with this SHA-256 was collected in this cycle (or erased)."""
        for table in ("returned_files", "erased_files"):
            query = f"SELECT 1 FROM {table} WHERE sha256 = ?"
            if self.db.execute(query, (sha256,)).fetchone() is not None:
                return True
        return False

    def issued_tokens(self) -> frozenset[str]:
        """Return the identity of every form this cycle ever wrote, with any key since lost."""
        rows = self.db.execute("SELECT identity FROM issued_identities")
        return frozenset(row[0] for row in rows)

    def set_inputs_hash(self, employee_id: str, kind: str, inputs_hash: str) -> None:
        """Record the inputs of a form that rendered to the same bytes as before."""
        self.db.execute(
            "UPDATE forms SET inputs_hash = ? WHERE employee_id = ? AND kind = ?",
            (inputs_hash, employee_id, kind),
        )

    def form_status_counts(self) -> dict[str, int]:
        """Return how many forms the ledger holds per status."""
        rows = self.db.execute("SELECT status, COUNT(*) FROM forms GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    # returned files ----------------------------------------------------------------------------

    def add_returned_file(self, row: dict, *, replace: bool = False) -> None:
        """Add one returned file (``returned_files`` columns); a known one stays unless replaced."""
        columns = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        verb = "REPLACE" if replace else "IGNORE"
        self.db.execute(f"INSERT OR {verb} INTO returned_files ({columns}) VALUES ({marks})", row)

    def known_hashes(self) -> set[str]:
        """Return the SHA-256 of every file already collected in this cycle (or deleted since)."""
        query = "SELECT sha256 FROM returned_files UNION SELECT sha256 FROM erased_files"
        return {row[0] for row in self.db.execute(query)}

    def quarantined_hashes(self) -> set[str]:
        """Return the SHA-256 of every file of this cycle that is in quarantine."""
        rows = self.db.execute("SELECT sha256 FROM returned_files WHERE outcome = 'quarantined'")
        return {row[0] for row in rows}

    def quarantined_sources(self) -> set[str]:
        """Return the source files (an email, not its attachment) holding a quarantined file."""
        rows = self.db.execute("SELECT source FROM returned_files WHERE outcome = 'quarantined'")
        return {row[0].split(" → ")[0] for row in rows}

    def source_files(self) -> dict[str, tuple[int, int, str, int]]:
        """Return the files collect read before by the SHA-256 of their path: size, time, …"""
        rows = self.db.execute(
            "SELECT path_sha256, size, mtime_ns, sha256, items FROM source_files"
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def note_source_file(self, path_sha256: str, size: int, mtime_ns: int, sha256: str, items: int):
        """Remember a file collect has read, to know it again by its size and time."""
        self.db.execute(
            "INSERT OR REPLACE INTO source_files VALUES (?, ?, ?, ?, ?)",
            (path_sha256, size, mtime_ns, sha256, items),
        )

    def quarantined_count(self) -> int:
        """Return how many returned files of this cycle are in quarantine."""
        query = "SELECT COUNT(*) FROM returned_files WHERE outcome = 'quarantined'"
        return self.db.execute(query).fetchone()[0]

    def quarantined_by_sender(self) -> dict[str, int]:
        """Return how many quarantined files each employee sent (known from the email sender)."""
        rows = self.db.execute(
            "SELECT sender_id, COUNT(*) FROM returned_files"
            " WHERE outcome = 'quarantined' AND sender_id IS NOT NULL GROUP BY sender_id"
        )
        return {row[0]: row[1] for row in rows}

    def returned_form_keys(self) -> set[tuple[str, str]]:
        """Return (employee id, kind) of every form with an accepted returned file."""
        rows = self.db.execute(
            "SELECT DISTINCT employee_id, kind FROM returned_files WHERE outcome = 'accepted'"
        )
        return {(row[0], row[1]) for row in rows}

    def handed_out_form_keys(self) -> set[tuple[str, str]]:
        """Return (employee id, kind) of every form that left HR (emailed or marked as sent)."""
        rows = self.db.execute(
            "SELECT employee_id, kind FROM forms"
            " WHERE handed_out_at IS NOT NULL OR status IN ('sent', 'returned')"
        )
        return {(row[0], row[1]) for row in rows}

    def chosen_versions(self) -> dict[tuple[str, str], str]:
        """Return HR's chosen version per (employee id, kind), as the returned file's path."""
        rows = self.db.execute("SELECT employee_id, kind, stored_path FROM chosen_versions")
        return {(row[0], row[1]): row[2] for row in rows}

    def accepted_file(self, name: str) -> dict | None:
        """Return the accepted returned file stored at ``name`` (or with that file name)."""
        rows = self.db.execute(
            "SELECT stored_path, employee_id, kind FROM returned_files"
            " WHERE outcome = 'accepted' AND (stored_path = ? OR stored_path LIKE ?)",
            (name, f"%/{name}"),
        ).fetchall()
        return dict(rows[0]) if len(rows) == 1 else None

    def choose_version(self, employee_id: str, kind: str, stored_path: str) -> None:
        """Record that HR chose this returned file as the version of the form that counts."""
        self.db.execute(
            "INSERT OR REPLACE INTO chosen_versions VALUES (?, ?, ?, ?)",
            (employee_id, kind, stored_path, now_iso()),
        )

    def accepted_evidence(self) -> list[dict]:
        """Return how each accepted file arrived: hash, source, stored path, sender, times."""
        rows = self.db.execute(
            "SELECT sha256, source, stored_path, sender, sent_at, file_time, collected_at"
            " FROM returned_files WHERE outcome = 'accepted'"
        ).fetchall()
        return [dict(row) for row in rows]

    def accepted_versions(self, kind: str | None = None) -> list[ReturnedVersion]:
        """Return every accepted returned file of the cycle (or only those of form ``kind``)."""
        rows = self.db.execute(
            ACCEPTED + " AND (:kind IS NULL OR kind = :kind) ORDER BY rowid", {"kind": kind}
        ).fetchall()
        return [returned_version(row) for row in rows]

    def accepted_version_groups(self, kind: str | None = None) -> Iterator[list[ReturnedVersion]]:
        """Yield the accepted returned files form by form (employee id, kind), oldest first."""
        # One form's versions at a time: a cycle of 10,000 people never has all answers in memory.
        rows = self.db.execute(
            ACCEPTED + " AND (:kind IS NULL OR kind = :kind) ORDER BY employee_id, kind, rowid",
            {"kind": kind},
        )
        for _, group in itertools.groupby(rows, key=lambda row: (row["employee_id"], row["kind"])):
            yield [returned_version(row) for row in group]

    def accepted_versions_of(self, employee_id: str) -> list[ReturnedVersion]:
        """Return the accepted returned files of one employee's forms, oldest first."""
        rows = self.db.execute(
            ACCEPTED + " AND employee_id = ? ORDER BY rowid", (employee_id,)
        ).fetchall()
        return [returned_version(row) for row in rows]

    def _rows_of(
        self, query: str, kind: str, employee_ids: list[str], order: str = ""
    ) -> Iterator[sqlite3.Row]:
        """Yield the rows of ``query`` (``kind = ?`` bound) for these employees, in chunks."""
        # SQLite limits the parameters of one statement; the ids go in chunks below that.
        for start in range(0, len(employee_ids), IDS_PER_QUERY):
            chunk = employee_ids[start : start + IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(
                f"{query} AND employee_id IN ({marks}){order}", (kind, *chunk)
            )

    def accepted_versions_for(self, kind: str, employee_ids: list[str]) -> list[ReturnedVersion]:
        """Return the accepted returned files of these employees' forms of ``kind``, in order."""
        rows = self._rows_of(ACCEPTED + " AND kind = ?", kind, employee_ids, " ORDER BY rowid")
        return [returned_version(row) for row in rows]

    def generated_for(self, kind: str, employee_ids: list[str]) -> set[str]:
        """Return which of these employees have a generated form of ``kind``."""
        rows = self._rows_of("SELECT employee_id FROM forms WHERE kind = ?", kind, employee_ids)
        return {row[0] for row in rows}

    def answers_stamp(self) -> list:
        """Return what changes whenever the answers workbook's rows may change (cheaply)."""
        return [
            tuple(self.db.execute(f"SELECT COUNT(*), MAX(rowid) FROM {table}").fetchone())
            for table in ("returned_files", "forms", "chosen_versions")
        ]

    def accepted_evidence_of(self, employee_id: str) -> list[dict]:
        """Return how each accepted file of one employee arrived (as ``accepted_evidence``)."""
        rows = self.db.execute(
            "SELECT sha256, source, stored_path, sender, sent_at, file_time, collected_at"
            " FROM returned_files WHERE outcome = 'accepted' AND employee_id = ?",
            (employee_id,),
        ).fetchall()
        return [dict(row) for row in rows]

    # emails ------------------------------------------------------------------------------------

    def emails(self, kind: str) -> list[dict]:
        """Return the ledger rows of every email of ``kind`` (planned, drafted, sent, failed)."""
        rows = self.db.execute("SELECT * FROM emails WHERE kind = ?", (kind,))
        return [dict(row) for row in rows]

    def record_email(
        self,
        message_id: str,
        kind: str,
        recipient_id: str,
        recipient: str,
        attachments: list,
        about: list[str] | tuple = (),
    ) -> Callable[[str, str], None]:
        """Return a function that writes this email's row with a status and a detail."""
        # ``about``: the employees a meeting email is about, beside the forms it carries.

        def write(status: str, detail: str) -> None:
            self.db.execute(
                "INSERT INTO emails (message_id, kind, recipient_id, recipient, attachments,"
                " status, detail, updated_at, about) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(message_id) DO UPDATE SET recipient = excluded.recipient,"
                " attachments = excluded.attachments, status = excluded.status,"
                " detail = excluded.detail, updated_at = excluded.updated_at,"
                " about = excluded.about",
                (
                    message_id,
                    kind,
                    recipient_id,
                    recipient,
                    json.dumps(attachments, ensure_ascii=False),
                    status,
                    detail,
                    now_iso(),
                    about_json(about),
                ),
            )

        return write

    # the answers workbook ------------------------------------------------------------------------

    def extracted_values(self, kinds: list[str]) -> dict[tuple[str, str, str], object]:
        """Return what collect last wrote into the workbook, by (form kind, employee id, key)."""
        if not kinds:
            return {}
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            f"SELECT kind, employee_id, key, value FROM extracted WHERE kind IN ({marks})", kinds
        )
        return {(kind, eid, key): json.loads(value) for kind, eid, key, value in rows}

    def extracted_for(self, kind: str, employee_ids: list[str]) -> dict[tuple[str, str], object]:
        """Return what collect last wrote into these employees' cells, by (employee id, key)."""
        query = "SELECT employee_id, key, value FROM extracted WHERE kind = ?"
        rows = self._rows_of(query, kind, employee_ids)
        return {(eid, key): json.loads(value) for eid, key, value in rows}

    def written_rows(self, kind: str, employee_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Return, per employee, the (inputs, written) hashes of their row as last written."""
        query = "SELECT employee_id, inputs, written FROM workbook_rows WHERE kind = ?"
        rows = self._rows_of(query, kind, employee_ids)
        return {row[0]: (row[1], row[2]) for row in rows}

    def extracted_keys(self, kind: str) -> set[str]:
        """Return every column key collect ever wrote into a form kind's sheet."""
        rows = self.db.execute("SELECT DISTINCT key FROM extracted WHERE kind = ?", (kind,))
        return {row[0] for row in rows}

    @contextmanager
    def workbook_update(self) -> Iterator[Callable[[list[tuple]], None]]:
        """Yield a function that records written cells; they stay only if the block succeeds."""
        # The block writes the new workbook and moves it into place: both or neither.
        self.db.execute("SAVEPOINT answers_workbook")
        try:
            yield self._remember_written
        except BaseException:
            self.db.execute("ROLLBACK TO answers_workbook")
            self.db.execute("RELEASE answers_workbook")
            raise
        self.db.execute("RELEASE answers_workbook")

    def replace_workbook_corrections(
        self, corrections: list[tuple], stamp: str, keys: dict[str, list[str]]
    ) -> None:
        """Record HR's corrections the workbook (as ``stamp`` says it is) holds in ``keys``."""
        self.db.execute("DELETE FROM workbook_corrections")
        self.db.executemany("INSERT INTO workbook_corrections VALUES (?, ?, ?, ?)", corrections)
        self.set_meta(CORRECTIONS_STAMP, json.dumps([stamp, keys], sort_keys=True))

    def workbook_corrections(self, stamp: str) -> tuple[list[tuple], dict] | None:
        """Return HR's corrections recorded for the workbook ``stamp`` names, and in which
        columns they were looked for; None when the workbook was saved since."""
        recorded = json.loads(self.get_meta(CORRECTIONS_STAMP) or '["", {}]')
        if not stamp or recorded[0] != stamp:
            return None
        rows = self.db.execute("SELECT kind, employee_id, key, value FROM workbook_corrections")
        return [(row[0], row[1], row[2], json.loads(row[3])) for row in rows], recorded[1]

    def _remember_written(self, cells: list[tuple], rows: list[tuple] = ()) -> None:
        """Record written cells (kind, employee, key, JSON) and rows (kind, employee, hashes)."""
        self.db.executemany("INSERT OR REPLACE INTO extracted VALUES (?, ?, ?, ?)", cells)
        self.db.executemany("INSERT OR REPLACE INTO workbook_rows VALUES (?, ?, ?, ?)", rows)

    def remember_extracted(self, written: list[tuple], move_into_place: Callable[[], None]):
        """Record the values written to the workbook and move it into place: both or neither."""
        self.db.execute("SAVEPOINT answers_workbook")
        try:
            self.db.executemany("INSERT OR REPLACE INTO extracted VALUES (?, ?, ?, ?)", written)
            move_into_place()
        except BaseException:
            self.db.execute("ROLLBACK TO answers_workbook")
            self.db.execute("RELEASE answers_workbook")
            raise
        self.db.execute("RELEASE answers_workbook")

    # meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        """Return a value stored in the ledger's meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ledger's meta table."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # personal data: retention, access requests, erasure ---------------------------------------

    def returned_files(self) -> list[dict]:
        """Return every returned-file row (accepted, quarantined, kept emails), oldest first."""
        rows = self.db.execute("SELECT * FROM returned_files ORDER BY rowid")
        return [dict(row) for row in rows]

    def all_emails(self) -> list[dict]:
        """Return every email row of the cycle, attachments and about as lists, oldest first."""
        rows = self.db.execute("SELECT * FROM emails ORDER BY updated_at, message_id")
        return [
            {
                **dict(row),
                "attachments": json.loads(row["attachments"]),
                "about": json.loads(row["about"]),
            }
            for row in rows
        ]

    def last_activity(self) -> str:
        """Return the newest time in the ledger: a form made or handed out, a file, an email."""
        row = self.db.execute(
            "SELECT MAX(t) FROM (SELECT MAX(generated_at) AS t FROM forms"
            " UNION ALL SELECT MAX(handed_out_at) FROM forms"
            " UNION ALL SELECT MAX(collected_at) FROM returned_files"
            " UNION ALL SELECT MAX(updated_at) FROM emails)"
        ).fetchone()
        return row[0] or ""

    def forget_returned_file(self, sha256: str) -> None:
        """Remove one returned file's row; collect never takes the same file in again."""
        self.db.execute("PRAGMA secure_delete = ON")  # deleted rows leave no trace in the file
        with self.transaction() as db:
            db.execute("DELETE FROM returned_files WHERE sha256 = ?", (sha256,))
            db.execute("INSERT OR IGNORE INTO erased_files VALUES (?, ?)", (sha256, now_iso()))

    def rows_about(self, employee_id: str, file_shas: set[str] = frozenset()) -> int:
        """Return how many rows ``erase_employee`` would remove (emails edited count as rows)."""
        count = sum(
            self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]
            for table, where, params in _rows_about(employee_id, file_shas)
        )
        return count + len(self._emails_carrying(employee_id))

    def erase_employee(self, employee_id: str, file_shas: set[str] = frozenset()) -> int:
        """Return how many rows were removed: the employee's forms, files, emails and answers."""
        # Rows of the returned files in ``file_shas`` go too (their files are being deleted), the
        # employee's forms leave the attachment lists of emails to others, and the hashes of
        # their returned files are kept so that collect never takes those files in again.
        self.db.execute("PRAGMA secure_delete = ON")  # deleted rows leave no trace in the file
        with self.transaction() as db:
            carrying = self._emails_carrying(employee_id)
            for message_id, attachments in carrying.items():
                db.execute(
                    "UPDATE emails SET attachments = ? WHERE message_id = ?",
                    (json.dumps(attachments, ensure_ascii=False), message_id),
                )
            shas = [
                row[0]
                for row in db.execute(
                    "SELECT sha256 FROM returned_files WHERE employee_id = ?", (employee_id,)
                )
            ]
            stamp = now_iso()
            db.executemany(
                "INSERT OR IGNORE INTO erased_files VALUES (?, ?)",
                [(sha, stamp) for sha in sorted({*shas, *file_shas})],
            )
            removed = len(carrying)
            self._fields = None  # their forms go too
            for table, where, params in _rows_about(employee_id, file_shas):
                removed += db.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
        return removed

    def _emails_carrying(self, employee_id: str) -> dict[str, list[str]]:
        """Return the emails to others carrying the employee's forms, with the rest of the list."""
        query = "SELECT path FROM forms WHERE employee_id = ?"
        paths = {row[0] for row in self.db.execute(query, (employee_id,))}
        found = {}
        for row in self.db.execute(
            "SELECT message_id, attachments FROM emails WHERE recipient_id != ?", (employee_id,)
        ):
            attachments = json.loads(row[1])
            if paths & set(attachments):
                found[row[0]] = [path for path in attachments if path not in paths]
        return found

    # meetings: scheduled talks and booked follow-ups ------------------------------------------

    def meetings(self, kind: str | None = None) -> list[MeetingRecord]:
        """Return the meetings (of one kind), ordered by employee id and UID."""
        query, params = "SELECT * FROM meetings", ()
        if kind:
            query, params = query + " WHERE kind = ?", (kind,)
        rows = self.db.execute(query + " ORDER BY employee_id, uid", params).fetchall()
        return [MeetingRecord(**dict(row)) for row in rows]

    def save_meetings(self, records: list[MeetingRecord]) -> None:
        """Insert or replace meetings, in one transaction."""
        stamp = now_iso()
        rows = [{**record.__dict__, "updated_at": stamp} for record in records]
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meetings (uid, kind, employee_id, manager_id, start, end,"
                " location, status, sequence, invited_sequence, conflict, content, updated_at)"
                " VALUES (:uid, :kind, :employee_id, :manager_id, :start, :end, :location,"
                " :status, :sequence, :invited_sequence, :conflict, :content, :updated_at)",
                rows,
            )

    def mark_meeting_invited(self, record: MeetingRecord) -> None:
        """Record that a request or cancel of ``record``'s SEQUENCE went out."""
        # Runs inside the caller's transaction, with the email's own ledger row. A talk belongs
        # to schedule: only what went out is noted (a move made meanwhile stays). A follow-up
        # belongs to send: it is written as it went out.
        if record.kind == "talk":
            self.db.execute(
                "UPDATE meetings SET invited_sequence ="
                " MAX(COALESCE(invited_sequence, -1), ?), updated_at = ? WHERE uid = ?",
                (record.sequence, now_iso(), record.uid),
            )
            return
        row = {**record.__dict__, "invited_sequence": record.sequence, "updated_at": now_iso()}
        self.db.execute(
            "INSERT OR REPLACE INTO meetings (uid, kind, employee_id, manager_id, start, end,"
            " location, status, sequence, invited_sequence, conflict, content, updated_at)"
            " VALUES (:uid, :kind, :employee_id, :manager_id, :start, :end, :location,"
            " :status, :sequence, :invited_sequence, :conflict, :content, :updated_at)",
            row,
        )


INVITE_KINDS = ("invite", "followups")  # emails booking one employee's talk or follow-up


def about_json(employee_ids: list[str] | tuple) -> str:
    """Return the ``about`` column of an email: the JSON list of the employees it is about."""
    return json.dumps(list(employee_ids), ensure_ascii=False)


def _rows_about(employee_id: str, file_shas: set[str]) -> list[tuple[str, str, tuple]]:
    """Return (table, WHERE clause, parameters) of every row about one employee."""
    shas = sorted(file_shas)
    marks = ",".join("?" * len(shas)) or "NULL"
    return [
        ("forms", "employee_id = ?", (employee_id,)),
        ("returned_files", f"employee_id = ? OR sha256 IN ({marks})", (employee_id, *shas)),
        (  # theirs, or an invite to the manager about them only (a reflection only names them)
            "emails",
            f"recipient_id = ? OR (about = ? AND kind IN ({','.join('?' * len(INVITE_KINDS))}))",
            (employee_id, about_json([employee_id]), *INVITE_KINDS),
        ),
        ("extracted", "employee_id = ?", (employee_id,)),
        ("workbook_rows", "employee_id = ?", (employee_id,)),
        ("workbook_corrections", "employee_id = ?", (employee_id,)),
        ("meetings", "employee_id = ?", (employee_id,)),
    ]
