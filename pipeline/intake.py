"""Find returned files in a folder (Word files and emails), screen them, and keep exact copies.

The source folder is read-only to us. Every file we look at is copied byte for byte into
``returned/`` or ``quarantine/``; one bad file never stops the batch.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import ooxml
from .errors import Rejected
from .extract import Screened, SentForm, screen, sent_form
from .ledger import Ledger, now_iso
from .names import safe_stem
from .workspace import ensure_private_dir, write_private

OTHER_FORMATS = {
    ".pdf": "a PDF cannot be read back; ask for the filled form as a Word file (.docx)",
    ".doc": "an old Word file (.doc); ask for the form saved as Word .docx",
    ".docm": "a macro-enabled Word file (.docm); ask for the form saved as a plain .docx",
    ".odt": "an OpenDocument file (.odt); ask for the form saved as Word .docx",
    ".rtf": "an RTF file; ask for the form saved as Word .docx",
    ".pages": "an Apple Pages file; ask for the form exported as Word .docx",
    ".txt": "a text file; ask for the filled form as a Word file (.docx)",
    ".msg": "an Outlook .msg message; save the message as .eml or save its attachment",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".heic", ".tif", ".tiff", ".bmp", ".webp"}
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
PARALLEL_THRESHOLD = 40
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Candidate:
    """One file to screen: where it came from, its bytes, and the mail evidence if any."""

    source: str
    name: str
    data: bytes
    sender: str = ""
    sent_at: str = ""
    file_time: str = ""

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the file's bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What screening decided for one candidate."""

    candidate: Candidate
    screened: Screened | None = None
    rejected: Rejected | None = None


@dataclass
class Intake:
    """The candidates found in a source folder and what was skipped there."""

    candidates: list[Candidate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


# -- discovering -----------------------------------------------------------------------------


def discover(folder: Path) -> Intake:
    """Return every candidate file under ``folder`` (recursively, .eml attachments included)."""
    intake = Intake()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        relative = str(path.relative_to(folder))
        if is_ignored(path.name):
            intake.ignored.append(relative)
        elif path.suffix.lower() == ".eml":
            intake.candidates += candidates_from_email(path, relative, intake)
        else:
            intake.candidates.append(
                Candidate(relative, path.name, path.read_bytes(), file_time=mtime_iso(path))
            )
    return intake


def is_ignored(name: str) -> bool:
    """Return True for lock files and system clutter that are never returned forms."""
    lowered = name.lower()
    return lowered in IGNORED_NAMES or lowered.startswith(("~$", ".~lock", "._"))


def mtime_iso(path: Path) -> str:
    """Return a file's modification time as ISO 8601 UTC."""
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return stamp.replace(microsecond=0).isoformat()


def candidates_from_email(path: Path, relative: str, intake: Intake) -> list[Candidate]:
    """Return the attachments of an .eml message as candidates, with sender and date."""
    try:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        sender = str(message.get("From", ""))
        sent_at = email_date(message.get("Date"))
    except (ValueError, TypeError, IndexError, LookupError) as exc:
        rejected = f"{relative} (unreadable email: {exc})"
        intake.ignored.append(rejected)
        return []
    found = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        if (
            Path(name).suffix.lower() in IMAGE_SUFFIXES
            and part.get_content_disposition() != "attachment"
        ):
            continue  # inline pictures, e.g. a logo in the signature
        try:
            data = part.get_payload(decode=True) or b""
        except (ValueError, LookupError):
            data = b""
        found.append(Candidate(f"{relative} → {name}", name, data, sender, sent_at, sent_at))
    if not found:
        intake.ignored.append(f"{relative} (email without attachment)")
    return found


def email_date(value) -> str:
    """Return an email Date header as ISO 8601 UTC, or ''."""
    if not value:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).replace(microsecond=0).isoformat()


# -- screening (in worker processes for big batches) ------------------------------------------

_CONTEXT: dict = {}


def screen_candidate(candidate: Candidate) -> Outcome:
    """Return the outcome of screening one candidate; never raises for a bad file."""
    suffix = Path(candidate.name).suffix.lower()
    try:
        if suffix != ".docx":
            raise Rejected(reason_for_suffix(suffix), "wrong_format")
        screened = screen(
            candidate.data,
            _CONTEXT["secret"],
            _CONTEXT["cycle"],
            SentForms(_CONTEXT["forms"]),
            _CONTEXT["limits"],
        )
        return Outcome(candidate, screened=screened)
    except Rejected as exc:
        return Outcome(candidate, rejected=exc)
    except Exception as exc:  # noqa: BLE001 - one hostile file must never stop the batch
        return Outcome(
            candidate,
            rejected=Rejected(f"the file could not be read ({type(exc).__name__})", "corrupt"),
        )


def reason_for_suffix(suffix: str) -> str:
    """Return why a file with this suffix is not accepted, and what to ask for."""
    if suffix in OTHER_FORMATS:
        return OTHER_FORMATS[suffix]
    if suffix in IMAGE_SUFFIXES:
        return "a picture or scan; ask for the filled form as a Word file (.docx)"
    return f"not a Word .docx file ({suffix or 'no extension'}); ask for the form as .docx"


class SentForms(dict):
    """Sent forms by (employee id, kind), read from disk only when a returned file needs one."""

    def __init__(self, paths: dict[tuple[str, str], str]):
        super().__init__()
        self.paths = paths

    def get(self, key, default=None) -> SentForm | None:
        """Return the sent form for (employee id, kind), parsing it once."""
        if key not in self:
            path = self.paths.get(key)
            if path is None or not Path(path).exists():
                return default
            self[key] = sent_form(Path(path).read_bytes())
        return super().get(key, default)


def screen_all(
    candidates: list[Candidate], context: dict, workers: int | None, progress: Progress | None
) -> Iterator[Outcome]:
    """Yield an outcome per candidate, using all cores for big batches."""
    global _CONTEXT
    _CONTEXT = context
    total = len(candidates)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or total < PARALLEL_THRESHOLD:
        outcomes = map(screen_candidate, candidates)
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        outcomes = pool.imap(screen_candidate, candidates, chunksize=max(1, total // (workers * 8)))
    try:
        for done, outcome in enumerate(outcomes, start=1):
            if progress:
                progress(done, total)
            yield outcome
    finally:
        if workers != 1 and total >= PARALLEL_THRESHOLD:
            pool.close()
            pool.join()


# -- storing ---------------------------------------------------------------------------------


def store_outcome(outcome: Outcome, cycle_dir: Path, ledger: Ledger) -> str:
    """Return the stored copy's cycle-relative path after copying the file and noting it."""
    candidate = outcome.candidate
    sha = candidate.sha256
    stem = safe_stem(Path(candidate.name).stem, 60)
    raw_suffix = Path(candidate.name).suffix
    suffix = "." + safe_stem(raw_suffix[1:], 10) if len(raw_suffix) > 1 else ""
    if outcome.screened:
        identity = outcome.screened.identity
        folder = cycle_dir / "returned" / safe_stem(identity.employee_id, 20)
        target = folder / f"{identity.kind}_{sha[:12]}_{stem}{suffix}"
        outcome_name, reason = "accepted", ""
        employee_id, kind = identity.employee_id, identity.kind
    else:
        folder = cycle_dir / "quarantine"
        target = folder / f"{sha[:12]}_{stem}{suffix}"
        outcome_name, reason = "quarantined", outcome.rejected.reason
        employee_id = kind = None
    ensure_private_dir(folder)
    if not target.exists():
        write_private(target, candidate.data)
    if outcome.rejected and not target.with_name(target.name + ".reason.txt").exists():
        write_private(target.with_name(target.name + ".reason.txt"), reason_note(outcome).encode())
    relative = str(target.relative_to(cycle_dir))
    ledger.db.execute(
        "INSERT OR IGNORE INTO returned_files (sha256, source, stored_path, outcome, reason,"
        " employee_id, kind, sender, sent_at, file_time, collected_at, warnings, answers)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sha,
            candidate.source,
            relative,
            outcome_name,
            reason,
            employee_id,
            kind,
            candidate.sender,
            candidate.sent_at,
            candidate.file_time,
            now_iso(),
            json.dumps(list(outcome.screened.warnings) if outcome.screened else []),
            json.dumps(outcome.screened.answers if outcome.screened else {}, ensure_ascii=False),
        ),
    )
    return relative


def reason_note(outcome: Outcome) -> str:
    """Return the short note stored next to a quarantined file."""
    candidate = outcome.candidate
    lines = [
        f"File: {candidate.source}",
        f"SHA-256: {candidate.sha256}",
        f"Reason: {outcome.rejected.reason}",
        f"Code: {outcome.rejected.code}",
    ]
    if candidate.sender:
        lines.append(f"From: {candidate.sender} ({candidate.sent_at})")
    return "\n".join(lines) + "\n"


def known_hashes(ledger: Ledger) -> set[str]:
    """Return the SHA-256 of every file already collected in this cycle."""
    return {row[0] for row in ledger.db.execute("SELECT sha256 FROM returned_files")}


def limits_default() -> ooxml.Limits:
    """Return the limits applied to returned files."""
    return ooxml.Limits()
