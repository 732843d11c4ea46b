"""What an email of ``send`` is: kinds, planned emails, the report, and the MIME message."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from pipeline.domain.dates import date_from_text
from pipeline.domain.kinds import PREP_KINDS, FormKind
from pipeline.errors import ConfigError, MailError
from pipeline.formats.calendar import Attendee, Meeting, Person, meeting_ics
from pipeline.formats.email import (
    address_problem,
    ascii_domain,
    mime_message,
    wire_address,
)
from pipeline.formats.roster import Employee
from pipeline.formats.smtp import (
    PASSWORD_VARIABLE,
    USER_VARIABLE,
    SmtpSettings,
)
from pipeline.state.config import Config
from pipeline.state.ledger import MeetingRecord
from pipeline.state.workspace import CONFIG_NAME

EMAIL_KINDS = ("prep", "minutes", "reminder")  # emails carrying forms

MEETING_EMAIL_KINDS = ("invite", "followups", "reflection")  # emails about the talks

ALL_EMAIL_KINDS = EMAIL_KINDS + MEETING_EMAIL_KINDS

FORM_KINDS_BY_EMAIL = {
    "prep": PREP_KINDS,
    "minutes": (FormKind.MINUTES,),
    "reminder": PREP_KINDS,
}

OUTBOX = "outbox"

DEADLINE_FIX = "write it as YYYY-MM-DD (or DD.MM.YYYY), for example 2027-01-29"


@dataclass(frozen=True)
class Attachment:
    """One form file attached to an email."""

    employee_id: str  # the employee the form is about
    employee_name: str
    form_kind: str  # employee | manager | minutes
    path: str  # relative to the cycle folder
    sha256: str  # of the file's bytes; "" when the file is missing

    @property
    def filename(self) -> str:
        """Return the file name the recipient sees (the form's own name, æøå and all)."""
        return Path(self.path).name


@dataclass(frozen=True)
class MeetingPart:
    """The calendar part of a meeting email, and the ledger record once it went out."""

    record: MeetingRecord  # the meeting at the SEQUENCE this email carries
    method: str  # REQUEST | CANCEL
    summary: str
    start: dt.datetime | dt.date  # aware, or a date for an all-day follow-up
    end: dt.datetime | dt.date
    organizer: Person
    attendees: tuple[Attendee, ...]
    location: str = ""
    free: bool = False
    description: str = ""  # the email's text, filled in when it is rendered

    def to_meeting(self, stamp: dt.datetime, sent_by: str) -> Meeting:
        """Return the meeting request this part stands for, stamped now."""
        return Meeting(
            uid=self.record.uid,
            sequence=self.record.sequence,
            method=self.method,
            summary=self.summary,
            description=self.description,
            start=self.start,
            end=self.end,
            organizer=self.organizer,
            sent_by=sent_by,
            attendees=self.attendees,
            stamp=stamp,
            location=self.location,
            free=self.free,
        )


@dataclass(frozen=True)
class PlannedEmail:
    """One email of the plan: who gets which forms, and what (if anything) stops it."""

    number: int  # position in the plan, 1-based; used in draft file names
    kind: str  # prep | minutes | reminder
    recipient_id: str  # "" when nobody in the roster can get these forms
    recipient: Employee | None
    for_manager: bool  # the forms are about the recipient's direct reports
    attachments: tuple[Attachment, ...]
    message_id: str  # "" when there is no recipient
    subject: str = ""
    body: str = ""
    status: str = "new"  # in the ledger: new | planned | drafted | sent | failed
    detail: str = ""  # the ledger's note: draft file, server reply, failure
    problem: str = ""  # why it cannot go out (no address, missing form file …)
    meeting: MeetingPart | None = None  # the calendar part of a meeting request
    about: str = ""  # what a meeting email is about (for describe; never answer text)
    names: tuple[str, ...] = ()  # employees its text names, beside its forms and its meeting

    @property
    def address(self) -> str:
        """Return the recipient's email address, or ""."""
        return self.recipient.email.strip() if self.recipient else ""

    def describe(self) -> str:
        """Return one line: recipient, address and the forms attached."""
        who = f"{self.recipient.name} ({self.recipient_id})" if self.recipient else "(nobody)"
        forms = ", ".join(f"{a.form_kind} form of {a.employee_name}" for a in self.attachments)
        return f"{who} <{self.address or 'no address'}>: {forms or self.about}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one planned email, with the reason or the server's reply."""

    email: PlannedEmail
    detail: str


@dataclass
class SendReport:
    """The result of ``send_emails``: what was drafted, sent, skipped, and what failed and why."""

    kind: str
    mode: str  # outbox | smtp
    dry_run: bool
    outbox: Path | None  # the drafts folder (outbox mode)
    planned: list[PlannedEmail]  # the whole plan, including emails sent earlier
    pending: list[PlannedEmail] = field(default_factory=list)  # what this run (would) deliver
    drafted: list[Outcome] = field(default_factory=list)
    sent: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)  # sent or drafted by an earlier run
    failed: list[Outcome] = field(default_factory=list)  # not sent, per recipient, with reason
    stopped: str = ""  # why the run stopped early (connection gone, login refused), or ""
    notes: list[str] = field(default_factory=list)  # e.g. forms going to a new manager

    @property
    def ok(self) -> bool:
        """Return True when nothing failed."""
        return not self.failed and not self.stopped

    @property
    def problems(self) -> list[Outcome]:
        """Return the failures HR fixes in the roster or forms (no address, no manager …)."""
        return [o for o in self.failed if o.email.problem]

    @property
    def undelivered(self) -> list[Outcome]:
        """Return the failures of delivery (server refused, connection gone); a re-run retries."""
        return [o for o in self.failed if not o.email.problem]


def resolve_deadline(
    value: str | dt.date | None, config: Config, config_path: Path | str = CONFIG_NAME
) -> dt.date:
    """Return the deadline: ``value`` (from --deadline) or the config's, as a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value:
        parsed = date_from_text(value)
        if parsed is None:
            raise MailError(f"--deadline {value!r} is not a date; {DEADLINE_FIX}")
        return parsed
    if config.mail.deadline:
        parsed = date_from_text(config.mail.deadline)
        if parsed is None:
            raise ConfigError(
                f"{config_path}: [mail] deadline {config.mail.deadline!r} is not a date; "
                f"{DEADLINE_FIX}"
            )
        return parsed
    raise MailError(
        f"No deadline for the emails. Fix: pass --deadline YYYY-MM-DD or set deadline = "
        f"2027-01-29 under [mail] in {config_path}"
    )


def build_message(
    email: PlannedEmail,
    config: Config,
    cycle_dir: Path,
    *,
    draft: bool = False,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """Return the MIME message of a planned email, its forms attached as .docx."""
    if email.recipient is None:
        raise MailError(f"email {email.number} has no recipient: {email.problem}")
    forms = [(a.filename, _read_form(cycle_dir, a)) for a in email.attachments]
    calendar = None
    if email.meeting is not None:
        sent_by = wire_address(config.mail.sender_address)
        stamp = now or dt.datetime.now(dt.UTC)
        calendar = (email.meeting.method, meeting_ics(email.meeting.to_meeting(stamp, sent_by)))
    return mime_message(
        sender=(config.mail.sender_name, config.mail.sender_address),
        recipient=(email.recipient.name, email.address),
        reply_to=config.mail.reply_to,
        subject=email.subject,
        body=email.body,
        message_id=email.message_id,
        attachments=forms,
        draft=draft,
        now=now,
        calendar=calendar,
    )


def recipient_problem(email: PlannedEmail) -> str:
    """Return what stops this email reaching its recipient (nobody, no or bad address), or ""."""
    person = email.recipient
    if person is None:
        return f"recipient {email.recipient_id} is no longer in the roster; add them back"
    if not email.address:
        return (
            f"{person.name} ({person.id}) has no email address in the roster (row {person.row}); "
            "add it and run send again"
        )
    problem = address_problem(email.address)
    if problem:
        return (
            f"{person.name} ({person.id}) has an invalid email address {email.address!r} in the "
            f"roster (row {person.row}): it {problem}; correct it and run send again"
        )
    return ""


def sender_domain(config: Config, config_path: Path) -> str:
    """Return the domain of the sender address, for Message-IDs."""
    address = config.mail.sender_address.strip()
    problem = address_problem(address)
    if problem:
        raise ConfigError(
            f"{config_path}: [mail] sender_address {address!r} {problem}; "
            "write it like hr@fjordlys.example"
        )
    reply_to = config.mail.reply_to
    problem = address_problem(parseaddr(reply_to)[1]) if reply_to else ""
    if problem:
        raise ConfigError(
            f"{config_path}: [mail] reply_to {reply_to!r} {problem}; write it "
            "like medarbeidersamtale@fjordlys.example, or leave it out"
        )
    return ascii_domain(address.rsplit("@", 1)[1]).lower()


def check_ready_to_send(
    config: Config, config_path: Path, smtp: SmtpSettings | None, env: Mapping
) -> None:
    """Raise when the config or login would make every email fail."""
    if config.mail.sender_address.lower().endswith(".invalid"):
        raise ConfigError(
            f"{config_path}: no sender address; set sender_address (and sender_name, reply_to) "
            "under [mail]"
        )
    if smtp and env.get(USER_VARIABLE) and not env.get(PASSWORD_VARIABLE):
        raise MailError(f"{USER_VARIABLE} is set but {PASSWORD_VARIABLE} is not; set both")


def _read_form(cycle_dir: Path, attachment: Attachment) -> bytes:
    """Return the form file's bytes; raise when it changed since the plan was made."""
    path = cycle_dir / attachment.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MailError(
            f"{path}: cannot read the form ({exc.strerror}); check that it is there and that "
            "you may read it, then run send again"
        ) from exc
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise MailError(f"{path}: the form changed while sending; run send again")
    return data
