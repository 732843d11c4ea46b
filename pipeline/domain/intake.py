"""Find returned files in a folder (Word files and emails), screen them, and keep exact copies.

The source folder is read-only to us. Every file we look at is copied byte for byte into
``returned/`` or ``quarantine/``; one bad file never stops the batch. An email (.eml, or Outlook's
.msg and winmail.dat) is kept whole too: in ``returned/emails/`` when it carried attachments
(screened one by one, those of attached emails included), else in ``quarantine/`` with the reason.

For thousands of files: the folder is only listed here; each file is read, opened (an email
parsed), screened and copied by a worker process, one file per task, so neither the files nor
the emails are ever all in memory. A file collect read before is known again by its size and
modification time without being opened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.utils
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from itertools import islice
from pathlib import Path

from pipeline.domain.names import safe_stem
from pipeline.domain.pools import parallel_map
from pipeline.domain.questions import sent_questions
from pipeline.errors import Rejected, WorkspaceError, plain_reason
from pipeline.formats import ooxml
from pipeline.formats.extract import Screened, SentForm, screen, sent_form
from pipeline.formats.mime import READING
from pipeline.formats.outlook import (
    TNEF_SIGNATURE,
    OutlookMessage,
    ReaderUnavailable,
    outlook_kind,
    read_outlook,
)
from pipeline.state.files import ensure_private_dir, sync_files, sync_folders, write_private
from pipeline.state.ledger import Ledger, now_iso

OTHER_FORMATS = {
    ".pdf": "a PDF cannot be read back; ask for the filled form as a Word file (.docx)",
    ".doc": "an old Word file (.doc); ask for the form saved as Word .docx",
    ".docm": "a macro-enabled Word file (.docm); ask for the form saved as a plain .docx",
    ".odt": "an OpenDocument file (.odt); ask for the form saved as Word .docx",
    ".rtf": "an RTF file; ask for the form saved as Word .docx",
    ".pages": "an Apple Pages file; ask for the form exported as Word .docx",
    ".txt": "a text file; ask for the filled form as a Word file (.docx)",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".heic", ".tif", ".tiff", ".bmp", ".webp"}
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
EMAIL_WITHOUT_FORM = "an email without a Word attachment; ask the sender to attach the filled form"
NOT_AN_EMAIL = (
    "not an email (no header lines such as From: or Date:); ask for the filled form as a Word "
    "attachment"
)
SIGNATURE_TYPES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}
MAX_ATTACHMENTS = 200  # per email, attached emails included
TOO_MANY_ATTACHMENTS = (
    f"an email with more than {MAX_ATTACHMENTS} attachments; ask for the filled form on its own"
)
MAX_NESTED_EMAILS = 5  # emails attached to emails attached to ...
NESTED_TOO_DEEP = (
    f"an Outlook message inside messages nested more than {MAX_NESTED_EMAILS} deep; ask for the "
    "filled form as a Word attachment"
)
EMAIL_OUTCOME = "email"  # ledger outcome of an email kept whole because it carried attachments
PARALLEL_THRESHOLD = 40
Progress = Callable[[int, int], None]
ASK_AGAIN = "ask the sender to save the form again in Word and send it once more"


@dataclass(frozen=True)
class Candidate:
    """One file to screen: where it came from, its bytes, and the mail evidence if any."""

    source: str
    name: str
    data: bytes
    sender: str = ""
    sent_at: str = ""
    file_time: str = ""
    sha256: str = ""
    oversized: str = ""  # path of a file too big to read into memory; it is streamed instead
    refusal: tuple[str, str] = ()  # (reason, code) when it is turned away before screening

    def __post_init__(self):
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())

    def without_data(self) -> Candidate:
        """Return this candidate without its bytes (cheap to send between processes)."""
        return replace(self, data=b"")


@dataclass(frozen=True)
class Outcome:
    """What screening decided for one candidate, and where its copy was stored."""

    candidate: Candidate
    screened: Screened | None = None
    rejected: Rejected | None = None
    stored_path: str = ""
    created: bool = False  # the copy was written now (not found from an earlier run)

    @property
    def known(self) -> bool:
        """Return True for a file collected before: neither screened nor turned away now."""
        return self.screened is None and self.rejected is None


@dataclass
class Intake:
    """The candidates found in a source folder, the emails that carried them, what was skipped."""

    candidates: list[Candidate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    emails: list[Candidate] = field(default_factory=list)  # kept whole by ``store_emails``


# -- discovering -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)  # slots: one per file of the folder, 20,000 of them
class SourceFile:
    """One file in the source folder, as listed (not read yet)."""

    relative: str  # as the report and the ledger name it
    root: str  # the folder listed: one string shared by all its files
    size: int
    mtime_ns: int

    @property
    def path(self) -> str:
        """Return where the file is."""
        return os.path.join(self.root, self.relative)

    @property
    def key(self) -> str:
        """Return the SHA-256 of the file's absolute path: how the ledger knows it again."""
        return hashlib.sha256(os.path.abspath(self.path).encode("utf-8", "replace")).hexdigest()


def listing(folder: Path) -> list[SourceFile | str]:
    """Return every file under ``folder`` in order: a file to read, or a note why it is skipped."""
    # Plain strings, not Path objects: 20,000 Paths leave their names interned for good.
    # Ordered as paths are, part by part; links to folders are not followed, nor mentioned.
    # A folder below that cannot be read is noted (never passed over in silence); the source
    # folder itself unreadable stops the run.
    root = str(folder)
    found: list[SourceFile | str] = []
    try:
        listed = sorted(files_under(root, ""), key=lambda item: item[0].split(os.sep))
    except OSError as exc:
        raise WorkspaceError(
            f"{folder}: the folder cannot be read ({plain_reason(exc)}); give samtale read "
            "access to it, or save the returned files in another folder"
        ) from exc
    for relative, entry in listed:
        if entry is None:
            found.append(f"{relative}{os.sep} (a folder that cannot be read: not collected)")
        elif entry.is_symlink():
            if os.path.isfile(entry.path):
                found.append(f"{relative} (a link, not a file: not followed)")
        elif is_ignored(entry.name):
            found.append(relative)
        else:
            found.append(listed_file(root, relative, entry))
    return found


def listed_file(root: str, relative: str, entry: os.DirEntry) -> SourceFile | str:
    """Return a listed file to read, or why not when it went away while being listed."""
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError as exc:
        return f"{relative} (could not be read: {plain_reason(exc)})"
    return SourceFile(relative, root, info.st_size, info.st_mtime_ns)


def files_under(root: str, relative: str) -> Iterator[tuple[str, os.DirEntry | None]]:
    """Yield (path relative to ``root``, entry) of every file and link in a folder and below."""
    # A folder below ``root`` that cannot be read is yielded with None as its entry.
    try:
        with os.scandir(os.path.join(root, relative) if relative else root) as listed:
            entries = list(listed)
    except OSError:
        if not relative:
            raise
        yield relative, None
        return
    for entry in entries:
        inner = os.path.join(relative, entry.name) if relative else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from files_under(root, inner)
        elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
            yield inner, entry


def discover(folder: Path) -> Intake:
    """Return every candidate file under ``folder`` (recursively, .eml attachments included)."""
    intake = Intake()
    for entry in listing(folder):
        if isinstance(entry, str):
            intake.ignored.append(entry)
        else:
            opened = open_source(entry)
            intake.candidates += opened.candidates
            intake.ignored += opened.ignored
            intake.emails += opened.emails
    return intake


def open_source(source: SourceFile) -> Intake:
    """Return what one file holds: itself, or an email's attachments and the email."""
    # The file is read once; what it is (an email, Outlook's, a document) is told from its
    # name and those bytes, its time from the listing's modification time.
    path, relative, intake = Path(source.path), source.relative, Intake()
    file_time = iso_of_ns(source.mtime_ns)
    if source.size > ooxml.DEFAULT_LIMITS.max_file_bytes:
        intake.candidates.append(oversized_candidate(path, relative, file_time))
        return intake
    data = path.read_bytes()
    if path.suffix.lower() == ".eml" or outlook_kind(path.name, data[: len(TNEF_SIGNATURE)]):
        intake.candidates += candidates_from_email(path, relative, intake, data, file_time)
    else:
        intake.candidates.append(Candidate(relative, path.name, data, file_time=file_time))
    return intake


def oversized_candidate(path: Path, relative: str, file_time: str) -> Candidate:
    """Return a candidate for a file too big to read: hashed and later copied as a stream."""
    with path.open("rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
    return Candidate(relative, path.name, b"", file_time=file_time, sha256=sha, oversized=str(path))


def is_ignored(name: str) -> bool:
    """Return True for lock files and system clutter that are never returned forms."""
    lowered = name.lower()
    return lowered in IGNORED_NAMES or lowered.startswith(("~$", ".~lock", "._"))


def iso_of_ns(mtime_ns: int) -> str:
    """Return a modification time in nanoseconds as ISO 8601 UTC, to the second."""
    return dt.datetime.fromtimestamp(mtime_ns // 1_000_000_000, dt.UTC).isoformat()


def candidates_from_email(
    path: Path, relative: str, intake: Intake, data: bytes, file_time: str
) -> list[Candidate]:
    """Return the attachments of an .eml or Outlook message as candidates, with sender and date."""
    # The message itself is kept whole: noted in ``intake.emails`` when it carried attachments,
    # else returned as a candidate that screening turns away (no attachment, or unreadable).
    whole = Candidate(relative, path.name, data, file_time=file_time)
    notes: list[str] = []
    try:
        sender, sent_at, attachments = opened_carrier(path.name, data, relative, notes)
        whole = replace(whole, sender=sender, sent_at=sent_at)
        found = list(islice(attachments, MAX_ATTACHMENTS + 1))
        if len(found) > MAX_ATTACHMENTS:
            raise Rejected(TOO_MANY_ATTACHMENTS, "too_many_attachments")
    except Rejected as exc:
        return [replace(whole, refusal=(exc.reason, exc.code))]
    except ReaderUnavailable:
        raise  # a pool worker: the main process opens this one
    except Exception as exc:  # noqa: BLE001 - one hostile email must never stop the batch
        return [replace(whole, refusal=(unreadable_email(exc), "corrupt"))]
    intake.ignored += notes
    if not found:
        return [replace(whole, refusal=(EMAIL_WITHOUT_FORM, "no_attachment"))]
    intake.emails.append(whole)
    return found


def opened_carrier(
    name: str, data: bytes, source: str, notes: list[str]
) -> tuple[str, str, Iterator[Candidate]]:
    """Return the sender, the date and the attachments (candidates) of an email or Outlook file."""
    kind = outlook_kind(name, data)
    if kind:
        outlook = read_outlook(data, kind)
        evidence = (outlook.sender, outlook.sent_at)
        return *evidence, outlook_attachments(outlook, source, evidence, notes, depth=0)
    message = read_message(data)
    evidence = evidence_of(message)
    return *evidence, attachments_of(message, source, evidence, notes, depth=0)


def outlook_attachments(
    message: OutlookMessage, source: str, evidence: tuple[str, str], notes: list[str], depth: int
) -> Iterator[Candidate]:
    """Yield the attached files of an Outlook message as candidates, those inside them too."""
    notes.extend(
        f"{source} → {name} (attachment that could not be read)" for name in message.unreadable
    )
    for name, data in message.attachments:
        yield from contained_file(name, data, "", source, evidence, notes, depth)


def contained_file(
    name: str,
    data: bytes,
    content_type: str,
    source: str,
    evidence: tuple[str, str],
    notes: list[str],
    depth: int,
) -> Iterator[Candidate]:
    """Yield a file found in a message as a candidate, or what is inside it when it is Outlook's."""
    label = f"{source} → {name}"
    kind = outlook_kind(name, data, content_type)
    if kind:
        yield from attached_outlook(name, data, kind, label, evidence, notes, depth + 1)
    elif Path(name).suffix.lower() == ".eml":
        yield from attached_message(data, label, evidence, notes, depth + 1)
    else:
        yield Candidate(label, name, data, *evidence, file_time=evidence[1])


def attached_outlook(
    name: str,
    data: bytes,
    kind: str,
    label: str,
    evidence: tuple[str, str],
    notes: list[str],
    depth: int,
) -> Iterator[Candidate]:
    """Yield the attachments of an attached Outlook file; the file itself if it cannot be opened."""
    # A broken or too deeply nested one is quarantined with its reason, as evidence.
    try:
        if depth > MAX_NESTED_EMAILS:
            raise Rejected(NESTED_TOO_DEEP, "nested_too_deep")
        message = read_outlook(data, kind)
    except Rejected as exc:
        refusal = (exc.reason, exc.code)
        yield Candidate(label, name, data, *evidence, file_time=evidence[1], refusal=refusal)
        return
    inner = (message.sender or evidence[0], message.sent_at or evidence[1])
    found = list(outlook_attachments(message, label, inner, notes, depth))
    if not found:
        notes.append(f"{label} (attached Outlook message without attachment)")
    yield from found


def read_message(data: bytes) -> EmailMessage:
    """Return the parsed message, or raise Rejected when the bytes are no email at all."""
    message = email.message_from_bytes(data, policy=READING)
    if not message.keys():
        raise Rejected(NOT_AN_EMAIL, "corrupt")
    return message


def evidence_of(message: EmailMessage, fallback: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """Return the sender and the date (ISO 8601 UTC) of a message, else those of ``fallback``."""
    sender = str(message.get("From", "")) or fallback[0]
    return sender, email_date(message.get("Date")) or fallback[1]


def attachments_of(
    message: EmailMessage, source: str, evidence: tuple[str, str], notes: list[str], depth: int
) -> Iterator[Candidate]:
    """Yield the attached files of a message as candidates, those of attached messages too."""
    for number, part in enumerate(leaf_parts(message), start=1):
        about = PartInfo.of(part)
        name = about.name
        if is_attached_message(about):
            label = f"{source} → {name or f'attached email (part {number})'}"
            yield from attached_message(part, label, evidence, notes, depth + 1)
        elif not is_message_text(about):
            data = decoded(part)
            name = name or "attachment"
            yield from contained_file(
                name, data, about.content_type, source, evidence, notes, depth
            )


@dataclass(frozen=True)
class PartInfo:
    """What decides what a message part is: its type, its disposition and its file name."""

    # Read once per part: each look at a header makes the email package parse it again.

    content_type: str
    disposition: str | None
    name: str

    @classmethod
    def of(cls, part: EmailMessage) -> PartInfo:
        """Return what one part says about itself."""
        return cls(
            part.get_content_type(), part.get_content_disposition(), part.get_filename() or ""
        )

    @property
    def maintype(self) -> str:
        """Return the part's main type (text, image, application …)."""
        return self.content_type.split("/")[0]


def leaf_parts(entity: EmailMessage) -> Iterator[EmailMessage]:
    """Yield the parts of a message that are not multipart containers, in order."""
    if entity.is_multipart() and entity.get_content_maintype() == "multipart":
        for part in entity.iter_parts():
            yield from leaf_parts(part)
    else:
        yield entity


def is_attached_message(part: PartInfo) -> bool:
    """Return True for an email attached to an email (forwarded as attachment, or an .eml)."""
    return part.content_type == "message/rfc822" or Path(part.name).suffix.lower() == ".eml"


def is_message_text(part: PartInfo) -> bool:
    """Return True for parts nobody attached: the text, inline pictures, signatures."""
    maintype, name = part.maintype, part.name
    if part.content_type in SIGNATURE_TYPES:
        return True
    if part.disposition == "attachment":
        return False
    unnamed_text = not name and maintype in ("text", "message")
    return unnamed_text or maintype == "image" or Path(name).suffix.lower() in IMAGE_SUFFIXES


def decoded(part: EmailMessage) -> bytes:
    """Return the decoded bytes of one attachment, or b'' when its encoding is broken."""
    try:
        return part.get_payload(decode=True) or b""
    except (ValueError, LookupError):
        return b""


def attached_message(
    part: EmailMessage | bytes, label: str, evidence: tuple[str, str], notes: list[str], depth: int
) -> Iterator[Candidate]:
    """Yield the attachments of an attached email, with its own sender and date as evidence."""
    if depth > MAX_NESTED_EMAILS:
        notes.append(f"{label} (emails nested more than {MAX_NESTED_EMAILS} deep: not opened)")
        return
    try:
        if isinstance(part, bytes):  # an .eml file attached to an Outlook message
            inner = read_message(part)
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
        else:
            inner = read_message(decoded(part))
    except (Rejected, TypeError, IndexError):
        notes.append(f"{label} (attached email that could not be read)")
        return
    found = list(attachments_of(inner, label, evidence_of(inner, evidence), notes, depth))
    if not found:
        notes.append(f"{label} (attached email without attachment)")
    yield from found


def unreadable_email(exc: Exception) -> str:
    """Return why an email could not be read, and what to ask for (no text of the email)."""
    return (
        f"the email could not be read ({plain_reason(exc)}); ask the sender to send the filled "
        "form again as a Word attachment"
    )


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


def screen_candidate(context: dict, candidate: Candidate) -> Outcome:
    """Return the outcome of screening one candidate, its copy stored; never raises for it."""
    outcome = screen_only(context, candidate)
    stored, created = store_copy(outcome, context["cycle_dir"])
    return Outcome(candidate.without_data(), outcome.screened, outcome.rejected, stored, created)


def screen_only(context: dict, candidate: Candidate) -> Outcome:
    """Return the outcome of screening one candidate; never raises for a bad file."""
    suffix = Path(candidate.name).suffix.lower()
    try:
        if candidate.refusal:
            raise Rejected(*candidate.refusal)
        if candidate.oversized:
            size = Path(candidate.oversized).stat().st_size
            limit = context["limits"].max_file_bytes
            raise Rejected(f"file is {size:,} bytes, more than the limit of {limit:,}", "too_large")
        if suffix != ".docx":
            raise Rejected(reason_for_suffix(suffix), "wrong_format")
        screened = screen(
            candidate.data,
            context["secret"],
            context["cycle"],
            context["sent_forms"],
            context["limits"],
            people=context.get("people"),
            issued=context.get("issued", ()),
        )
        return Outcome(candidate, screened=screened)
    except Rejected as exc:
        return Outcome(candidate, rejected=with_what_to_do(exc))
    except Exception as exc:  # noqa: BLE001 - one hostile file must never stop the batch
        reason = f"the file could not be read ({plain_reason(exc)}); {ASK_AGAIN}"
        return Outcome(candidate, rejected=Rejected(reason, "corrupt"))


def with_what_to_do(rejected: Rejected) -> Rejected:
    """Return the rejection of a damaged file with what to ask the sender for."""
    if rejected.code != "corrupt" or "ask " in rejected.reason:
        return rejected
    return Rejected(f"{rejected.reason}; {ASK_AGAIN}", rejected.code)


def reason_for_suffix(suffix: str) -> str:
    """Return why a file with this suffix is not accepted, and what to ask for."""
    if suffix in OTHER_FORMATS:
        return OTHER_FORMATS[suffix]
    if suffix in IMAGE_SUFFIXES:
        return "a picture or scan; ask for the filled form as a Word file (.docx)"
    return f"not a Word .docx file ({suffix or 'no extension'}); ask for the form as .docx"


SENT_FORMS_KEPT = 64  # sent forms a worker keeps after looking them up


class ProcessLedger:
    """The cycle's ledger opened read-only once per process, for look-ups from workers."""

    # The handles of one process share one connection (and its page cache, which fills up
    # with a big ledger): the files known, the identities issued and the forms sent are
    # asked of the same ledger, one file after the other.

    def __init__(self, ledger_path: Path | str):
        self.ledger_path = str(ledger_path)
        self._ledger: Ledger | None = None
        self._owner = 0

    def __reduce__(self):
        return (type(self), (self.ledger_path,))  # a fresh handle in another process

    def ledger(self) -> Ledger:
        """Return this process's read-only ledger (never a forked parent's handle)."""
        if self._ledger is None or self._owner != os.getpid():
            self._ledger, self._owner = shared_reader(self.ledger_path), os.getpid()
        return self._ledger

    def close(self) -> None:
        """Let go of this process's ledger (the last handle to let go closes it)."""
        if self._ledger is not None and self._owner == os.getpid():
            release_reader(self.ledger_path)
        self._ledger = None


_READERS: dict[tuple[str, int], list] = {}  # (ledger path, process id) -> [ledger, handles]


def shared_reader(ledger_path: str) -> Ledger:
    """Return this process's read-only connection to a ledger, opening it for the first handle."""
    key = (ledger_path, os.getpid())
    if key not in _READERS:
        _READERS[key] = [Ledger.reader(Path(ledger_path)), 0]
    _READERS[key][1] += 1
    return _READERS[key][0]


def release_reader(ledger_path: str) -> None:
    """Let one handle go; close the connection when it was the last."""
    key = (ledger_path, os.getpid())
    entry = _READERS.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] <= 0:
        del _READERS[key]
        entry[0].close()


class KnownFiles(ProcessLedger):
    """The SHA-256 of every file collected (or erased) in the cycle, asked one at a time."""

    # A set of them all would be copied into every worker process; a look-up costs far less.

    def __contains__(self, sha256: object) -> bool:
        return isinstance(sha256, str) and self.ledger().is_known_file(sha256)


class IssuedIdentities(ProcessLedger):
    """Every identity a form of the cycle carried (kept when a lost key was replaced)."""

    def __contains__(self, identity: object) -> bool:
        return isinstance(identity, str) and self.ledger().is_issued(identity)


class SentForms(dict):
    """Sent forms by (employee id, kind): their fields and fixed text, looked up when needed."""

    # The ledger is asked for one form at a time (each worker opens it read-only), so 30,000
    # forms' fields are never held at once; a process keeps the last few it looked up (the
    # versions of one form usually come one after the other).

    def __init__(self, ledger_path: Path | str):
        super().__init__()
        self.ledger_path = str(ledger_path)
        self.cycle_dir = Path(ledger_path).parent
        self.handle = ProcessLedger(ledger_path)

    def __reduce__(self):
        return (SentForms, (self.ledger_path,))  # a fresh, empty one in another process

    def get(self, key, default=None) -> SentForm | None:
        """Return the sent form for (employee id, kind), reading the ledger only if needed."""
        if key not in self:
            found = self.lookup(key)
            if found is None:
                return default
            path, fields, outside = found
            lines = json.loads(outside)
            full = self.cycle_dir / path
            if len(self) >= SENT_FORMS_KEPT:
                del self[next(iter(self))]  # the oldest
            if lines:
                self[key] = SentForm(sent_questions(fields), tuple(lines))
            elif full.exists():  # a ledger from before fixed text was recorded
                self[key] = sent_form(full.read_bytes(), sent_questions(fields))
            else:
                return default
        return super().get(key, default)

    def close(self) -> None:
        """Close this process's ledger handle (the last one to close tidies the ledger up)."""
        self.handle.close()

    def lookup(self, key) -> tuple[str, str, str] | None:
        """Return the ledger's (path, fields, fixed text) of one form, or None."""
        return self.handle.ledger().sent_form(*key)


@dataclass(frozen=True)
class Taken:
    """What a worker made of one source file: its outcomes, the email kept whole, notes."""

    source: SourceFile
    sha256: str  # of the whole file
    outcomes: tuple[Outcome, ...]
    email: tuple[Candidate, str, bool] | None = None  # the email, its copy, made just now
    ignored: tuple[str, ...] = ()
    in_main: bool = False  # an Outlook file: opened by the main process (it forks a reader)


def take_in(context: dict, source: SourceFile) -> Taken:
    """Return what one file holds, screened, each copy stored (in a worker process)."""
    # Files collected before (``known`` hashes, unless quarantined and so ``retry``) are
    # recognised and not screened again. Duplicates within the run are the caller's to drop.
    try:
        opened = open_source(source)
    except ReaderUnavailable:  # Outlook's files are read by a child process of the main one
        return Taken(source, "", (), in_main=True)
    known, retry = context["known"], context["retry"]
    outcomes = tuple(
        Outcome(candidate.without_data())
        if candidate.sha256 in known and candidate.sha256 not in retry
        else screen_candidate(context, candidate)
        for candidate in opened.candidates
    )
    kept = None
    for carrier in opened.emails:  # at most one: the email this file is
        stored = (
            ("", False) if carrier.sha256 in known else keep_email(carrier, context["cycle_dir"])
        )
        kept = (carrier.without_data(), *stored)
    whole = opened.emails[0].sha256 if opened.emails else whole_file_sha(source, opened)
    return Taken(source, whole, outcomes, kept, tuple(opened.ignored))


def whole_file_sha(source: SourceFile, opened: Intake) -> str:
    """Return the SHA-256 of the whole source file (its one candidate's, for a plain file)."""
    if len(opened.candidates) == 1 and opened.candidates[0].source == source.relative:
        return opened.candidates[0].sha256
    with open(source.path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def take_all(
    sources: list[SourceFile], context: dict, workers: int | None, progress: Progress | None
) -> Iterator[Taken]:
    """Yield what every file holds, in order, read and screened on all cores."""
    with worker_settings(context) as settings:
        taken = parallel_map(
            take_in,
            settings,
            sources,
            workers=workers,
            threshold=PARALLEL_THRESHOLD,
            tasks_per_worker=8,
            progress=progress,
            fresh=True,  # the main process grows with every file recorded: workers must not copy it
        )
        for one in taken:
            yield take_in(settings, one.source) if one.in_main else one


@contextlib.contextmanager
def worker_settings(context: dict) -> Iterator[dict]:
    """Yield ``take_in``'s settings: the context and its ledger look-ups (closed afterwards)."""
    ledger_path = context["ledger_path"]
    handles = {
        "sent_forms": SentForms(ledger_path),
        "known": KnownFiles(ledger_path),
        "issued": IssuedIdentities(ledger_path),
    }
    try:
        yield {**context, **handles}
    finally:
        for handle in handles.values():
            handle.close()


# -- storing ---------------------------------------------------------------------------------


def store_copy(outcome: Outcome, cycle_dir: Path) -> tuple[str, bool]:
    """Return where the byte-for-byte copy of a screened file is kept, and if made just now."""
    candidate = outcome.candidate
    sha = candidate.sha256
    stem = safe_stem(Path(candidate.name).stem, 60)
    raw_suffix = Path(candidate.name).suffix
    suffix = "." + safe_stem(raw_suffix[1:], 10) if len(raw_suffix) > 1 else ""
    if outcome.screened:
        identity = outcome.screened.identity
        folder = cycle_dir / "returned" / safe_stem(identity.employee_id, 20)
        target = folder / f"{identity.kind}_{sha[:12]}_{stem}{suffix}"
    else:
        folder = cycle_dir / "quarantine"
        target = folder / f"{sha[:12]}_{stem}{suffix}"
    ensure_private_dir(folder)
    created = False
    if not target.exists():
        with contextlib.suppress(FileExistsError, WorkspaceError):  # another worker, same bytes
            if candidate.oversized:
                copy_private(Path(candidate.oversized), target)
            else:
                write_private(target, candidate.data, durable=False)  # collect flushes the batch
            created = True
    note = target.with_name(target.name + ".reason.txt")
    if outcome.rejected and not note.exists():
        note_text = reason_note(outcome).encode()
        with_suppressed_race(lambda: write_private(note, note_text, durable=False))
    return str(target.relative_to(cycle_dir)), created


def with_suppressed_race(write: Callable[[], object]) -> None:
    """Run ``write``; a file another worker wrote a moment before is no error."""
    with contextlib.suppress(FileExistsError, WorkspaceError):
        write()


def discard_copy(outcome: Outcome, cycle_dir: Path) -> None:
    """Remove the copy a duplicate of a file in the same run made (and its reason note)."""
    if not outcome.created or not outcome.stored_path:
        return
    target = cycle_dir / outcome.stored_path
    target.unlink(missing_ok=True)
    if outcome.rejected:
        target.with_name(target.name + ".reason.txt").unlink(missing_ok=True)


def copy_private(source: Path, target: Path) -> None:
    """Copy a big file byte for byte as a stream into a new owner-only file."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as reader, os.fdopen(descriptor, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)
        writer.flush()
        os.fsync(writer.fileno())


def record_outcome(
    outcome: Outcome, ledger: Ledger, sender_id: str | None = None, *, replace_row: bool = False
) -> None:
    """Note one screened file in the ledger (its copy is already stored)."""
    # ``sender_id`` attributes a quarantined file to the employee whose address sent it.
    screened = outcome.screened
    insert_returned_file(
        ledger,
        outcome.candidate,
        outcome.stored_path,
        "accepted" if screened else "quarantined",
        reason=outcome.rejected.reason if outcome.rejected else "",
        screened=screened,
        sender_id=sender_id,
        replace_row=replace_row,
    )


def insert_returned_file(
    ledger: Ledger,
    candidate: Candidate,
    stored_path: str,
    outcome: str,
    *,
    reason: str = "",
    screened: Screened | None = None,
    sender_id: str | None = None,
    replace_row: bool = False,
) -> None:
    """Add one row to the ledger's returned files; a file already there is kept unless replaced."""
    row = {
        "sha256": candidate.sha256,
        "source": candidate.source,
        "stored_path": stored_path,
        "outcome": outcome,
        "reason": reason,
        "employee_id": screened.identity.employee_id if screened else None,
        "kind": screened.identity.kind if screened else None,
        "sender": candidate.sender,
        "sent_at": candidate.sent_at,
        "file_time": candidate.file_time,
        "collected_at": now_iso(),
        "warnings": json.dumps(list(screened.warnings) if screened else []),
        "answers": json.dumps(screened.answers if screened else {}, ensure_ascii=False),
        "sender_id": sender_id,
        "saved_at": screened.saved_at if screened else "",
    }
    ledger.add_returned_file(row, replace=replace_row)


def store_emails(intake: Intake, cycle_dir: Path, ledger: Ledger, known: set[str]) -> list[str]:
    """Return the cycle-relative paths of the emails newly kept whole, as evidence."""
    # Each email that carried attachments is copied byte for byte into ``returned/emails/`` and
    # noted in the ledger with outcome ``email``; one already in ``known`` (SHA-256) is skipped.
    fresh: dict[str, Candidate] = {}
    for carrier in intake.emails:
        if carrier.sha256 not in known:
            fresh.setdefault(carrier.sha256, carrier)
    stored = [(carrier, store_email(carrier, cycle_dir)) for carrier in fresh.values()]
    if stored:
        sync_stored(cycle_dir, [path for _, path in stored])  # on disk before the ledger says so
        with ledger.transaction():
            for carrier, path in stored:
                insert_returned_file(ledger, carrier, path, EMAIL_OUTCOME)
    return [path for _, path in stored]


def sync_stored(cycle_dir: Path, stored: list[str]) -> None:
    """Flush copies just stored (their reason notes too) and the folders naming them."""
    # Plain strings, not Path objects: 20,000 Paths leave their names interned for good.
    files = [os.path.join(cycle_dir, path) for path in stored]
    notes = [path + ".reason.txt" for path in files]
    sync_files([*files, *(note for note in notes if os.path.exists(note))])
    folders = {os.path.dirname(path) for path in files}
    sync_folders(folders | {os.path.dirname(folder) for folder in folders})  # new ones named there


def store_email(carrier: Candidate, cycle_dir: Path) -> str:
    """Return the cycle-relative path of the byte-for-byte copy kept of an email."""
    return keep_email(carrier, cycle_dir)[0]


def keep_email(carrier: Candidate, cycle_dir: Path) -> tuple[str, bool]:
    """Return where the copy of an email is kept, and whether it was made just now."""
    folder = ensure_private_dir(cycle_dir / "returned" / "emails")
    suffix = safe_stem(Path(carrier.name).suffix[1:].lower(), 10) or "eml"  # .eml, .msg, .dat
    target = folder / f"{carrier.sha256[:12]}_{safe_stem(Path(carrier.name).stem, 60)}.{suffix}"
    created = False
    if not target.exists():
        with contextlib.suppress(FileExistsError, WorkspaceError):  # another worker, same bytes
            write_private(target, carrier.data, durable=False)  # flushed with its batch
            created = True
    return str(target.relative_to(cycle_dir)), created


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


def limits_default() -> ooxml.Limits:
    """Return the limits applied to returned files."""
    return ooxml.Limits()
