"""The cycle's state in SQLite (``output/<cycle>/ledger.sqlite``): forms, returned files, emails."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.errors import LedgerError
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir

SCHEMA_VERSION = 1
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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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


ADDED_COLUMNS = {  # columns added after the first release: (table, column) -> definition
    ("forms", "outside_text"): "TEXT NOT NULL DEFAULT '[]'",
    ("returned_files", "sender_id"): "TEXT",
    ("returned_files", "saved_at"): "TEXT NOT NULL DEFAULT ''",
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


class Ledger:
    """The cycle's SQLite ledger; use as a context manager or call ``close``."""

    def __init__(self, path: Path):
        self.path = Path(path)
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
            raise LedgerError(f"{self.path}: cannot open the ledger ({exc})") from exc

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
            raise
        self.db.execute("COMMIT")

    # forms -------------------------------------------------------------------------------------

    def form(self, employee_id: str, kind: str) -> FormRecord | None:
        """Return the ledger's record of one form, or None."""
        row = self.db.execute(
            "SELECT * FROM forms WHERE employee_id = ? AND kind = ?", (employee_id, kind)
        ).fetchone()
        return FormRecord(**dict(row)) if row else None

    def forms(self, kind: str | None = None) -> list[FormRecord]:
        """Return all form records, optionally of one kind, ordered by employee id and kind."""
        query = "SELECT * FROM forms"
        params: tuple = ()
        if kind:
            query += " WHERE kind = ?"
            params = (kind,)
        rows = self.db.execute(query + " ORDER BY employee_id, kind", params).fetchall()
        return [FormRecord(**dict(row)) for row in rows]

    def record_form(self, record: FormRecord) -> None:
        """Insert or replace the record of one generated form."""
        self.db.execute(
            "INSERT OR REPLACE INTO forms (employee_id, kind, path, sha256, inputs_hash,"
            " template_version, language, fields, status, generated_at, handed_out_at,"
            " outside_text) VALUES (:employee_id, :kind, :path, :sha256, :inputs_hash,"
            " :template_version, :language, :fields, :status, :generated_at, :handed_out_at,"
            " :outside_text)",
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

    # returned files ----------------------------------------------------------------------------

    def accepted_versions(self) -> list[ReturnedVersion]:
        """Return every accepted returned file of the cycle."""
        rows = self.db.execute(
            "SELECT rowid, employee_id, kind, source, stored_path, sent_at, file_time,"
            " collected_at, answers, warnings, saved_at FROM returned_files"
            " WHERE outcome = 'accepted'"
            " ORDER BY rowid"
        ).fetchall()
        return [
            ReturnedVersion(
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
            for row in rows
        ]

    # meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        """Return a value stored in the ledger's meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ledger's meta table."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
