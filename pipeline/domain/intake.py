"""Find returned files in a folder (Word files and emails), screen them, and keep exact copies.

The source folder is read-only to us. Every file we look at is copied byte for byte into
``returned/`` or ``quarantine/``; one bad file never stops the batch. An email (.eml, or Outlook's
.msg and winmail.dat) is kept whole too: in ``returned/emails/`` when it carried attachments
(screened one by one, those of attached emails included), else in ``quarantine/`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
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
from pipeline.domain.questions import questions_from_json
from pipeline.errors import Rejected, plain_reason
from pipeline.formats import ooxml
from pipeline.formats.extract import Screened, SentForm, screen, sent_form
from pipeline.formats.outlook import TNEF_SIGNATURE, OutlookMessage, outlook_kind, read_outlook
from pipeline.state.files import ensure_private_dir, write_private
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


@dataclass
class Intake:
    """The candidates found in a source folder, the emails that carried them, what was skipped."""

    candidates: list[Candidate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    emails: list[Candidate] = field(default_factory=list)  # kept whole by ``store_emails``


# -- discovering -----------------------------------------------------------------------------


def discover(folder: Path) -> Intake:
    """Return every candidate file under ``folder`` (recursively, .eml attachments included)."""
    intake = Intake()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            intake.ignored.append(f"{relative} (a link, not a file: not followed)")
        elif is_ignored(path.name):
            intake.ignored.append(relative)
        elif path.stat().st_size > ooxml.DEFAULT_LIMITS.max_file_bytes:
            intake.candidates.append(oversized_candidate(path, relative))
        elif path.suffix.lower() == ".eml" or is_outlook_file(path):
            intake.candidates += candidates_from_email(path, relative, intake)
        else:
            intake.candidates.append(
                Candidate(relative, path.name, path.read_bytes(), file_time=mtime_iso(path))
            )
    return intake


def oversized_candidate(path: Path, relative: str) -> Candidate:
    """Return a candidate for a file too big to read: hashed and later copied as a stream."""
    with path.open("rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
    return Candidate(
        relative, path.name, b"", file_time=mtime_iso(path), sha256=sha, oversized=str(path)
    )


def is_ignored(name: str) -> bool:
    """Return True for lock files and system clutter that are never returned forms."""
    lowered = name.lower()
    return lowered in IGNORED_NAMES or lowered.startswith(("~$", ".~lock", "._"))


def mtime_iso(path: Path) -> str:
    """Return a file's modification time as ISO 8601 UTC."""
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return stamp.replace(microsecond=0).isoformat()


def candidates_from_email(path: Path, relative: str, intake: Intake) -> list[Candidate]:
    """Return the attachments of an .eml or Outlook message as candidates, with sender and date."""
    # The message itself is kept whole: noted in ``intake.emails`` when it carried attachments,
    # else returned as a candidate that screening turns away (no attachment, or unreadable).
    data = path.read_bytes()
    whole = Candidate(relative, path.name, data, file_time=mtime_iso(path))
    notes: list[str] = []
    try:
        sender, sent_at, attachments = opened_carrier(path.name, data, relative, notes)
        whole = replace(whole, sender=sender, sent_at=sent_at)
        found = list(islice(attachments, MAX_ATTACHMENTS + 1))
        if len(found) > MAX_ATTACHMENTS:
            raise Rejected(TOO_MANY_ATTACHMENTS, "too_many_attachments")
    except Rejected as exc:
        return [replace(whole, refusal=(exc.reason, exc.code))]
    except Exception as exc:  # noqa: BLE001 - one hostile email must never stop the batch
        return [replace(whole, refusal=(unreadable_email(exc), "corrupt"))]
    intake.ignored += notes
    if not found:
        return [replace(whole, refusal=(EMAIL_WITHOUT_FORM, "no_attachment"))]
    intake.emails.append(whole)
    return found


def is_outlook_file(path: Path) -> bool:
    """Return True for Outlook's own files: an .msg, or a winmail.dat (TNEF) by its content."""
    with path.open("rb") as handle:
        return bool(outlook_kind(path.name, handle.read(len(TNEF_SIGNATURE))))


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
    message = email.message_from_bytes(data, policy=email.policy.default)
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
        name = part.get_filename() or ""
        if is_attached_message(part, name):
            label = f"{source} → {name or f'attached email (part {number})'}"
            yield from attached_message(part, label, evidence, notes, depth + 1)
        elif not is_message_text(part, name):
            data, content_type = decoded(part), part.get_content_type()
            name = name or "attachment"
            yield from contained_file(name, data, content_type, source, evidence, notes, depth)


def leaf_parts(entity: EmailMessage) -> Iterator[EmailMessage]:
    """Yield the parts of a message that are not multipart containers, in order."""
    if entity.get_content_maintype() == "multipart" and entity.is_multipart():
        for part in entity.iter_parts():
            yield from leaf_parts(part)
    else:
        yield entity


def is_attached_message(part: EmailMessage, name: str) -> bool:
    """Return True for an email attached to an email (forwarded as attachment, or an .eml)."""
    return part.get_content_type() == "message/rfc822" or Path(name).suffix.lower() == ".eml"


def is_message_text(part: EmailMessage, name: str) -> bool:
    """Return True for parts nobody attached: the text, inline pictures, signatures."""
    maintype = part.get_content_maintype()
    if part.get_content_type() in SIGNATURE_TYPES:
        return True
    if part.get_content_disposition() == "attachment":
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
    stored = store_copy(outcome, context["cycle_dir"])
    return Outcome(candidate.without_data(), outcome.screened, outcome.rejected, stored)


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


class SentForms(dict):
    """Sent forms by (employee id, kind): their fields and fixed text from the ledger."""

    def __init__(self, forms: dict[tuple[str, str], tuple[str, str, str]]):
        super().__init__()
        self.forms = forms  # (employee id, kind) -> (path, fields JSON, fixed text JSON)

    def get(self, key, default=None) -> SentForm | None:
        """Return the sent form for (employee id, kind), reading the file only if needed."""
        if key not in self:
            path, fields, outside = self.forms.get(key, ("", "[]", "[]"))
            if not path:
                return default
            lines = json.loads(outside)
            if lines:
                self[key] = SentForm(questions_from_json(fields), tuple(lines))
            elif Path(path).exists():  # a ledger from before fixed text was recorded
                self[key] = sent_form(Path(path).read_bytes(), questions_from_json(fields))
            else:
                return default
        return super().get(key, default)


def screen_all(
    candidates: list[Candidate], context: dict, workers: int | None, progress: Progress | None
) -> Iterator[Outcome]:
    """Yield an outcome per candidate, using all cores for big batches."""
    settings = {**context, "sent_forms": SentForms(context["forms"])}
    return parallel_map(
        screen_candidate,
        settings,
        candidates,
        workers=workers,
        threshold=PARALLEL_THRESHOLD,
        tasks_per_worker=8,
        progress=progress,
    )


# -- storing ---------------------------------------------------------------------------------


def store_copy(outcome: Outcome, cycle_dir: Path) -> str:
    """Return the cycle-relative path of the byte-for-byte copy kept of a screened file."""
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
    if not target.exists() and candidate.oversized:
        copy_private(Path(candidate.oversized), target)
    elif not target.exists():
        write_private(target, candidate.data, durable=False)  # collect syncs per batch
    note = target.with_name(target.name + ".reason.txt")
    if outcome.rejected and not note.exists():
        write_private(note, reason_note(outcome).encode())
    return str(target.relative_to(cycle_dir))


def copy_private(source: Path, target: Path) -> None:
    """Copy a big file byte for byte as a stream into a new owner-only file."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as reader, os.fdopen(descriptor, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)


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
        os.sync()  # the copies reach the disk before the ledger says they exist
        with ledger.transaction():
            for carrier, path in stored:
                insert_returned_file(ledger, carrier, path, EMAIL_OUTCOME)
    return [path for _, path in stored]


def store_email(carrier: Candidate, cycle_dir: Path) -> str:
    """Return the cycle-relative path of the byte-for-byte copy kept of an email."""
    folder = ensure_private_dir(cycle_dir / "returned" / "emails")
    suffix = safe_stem(Path(carrier.name).suffix[1:].lower(), 10) or "eml"  # .eml, .msg, .dat
    target = folder / f"{carrier.sha256[:12]}_{safe_stem(Path(carrier.name).stem, 60)}.{suffix}"
    if not target.exists():
        write_private(target, carrier.data, durable=False)
    return str(target.relative_to(cycle_dir))


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
