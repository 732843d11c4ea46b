"""``samtale send``: plan who gets which forms, then write drafts to the outbox or send by SMTP.

Which forms go to whom:

* ``prep``: each employee gets their own ``employee`` form; each manager gets the ``manager``
  forms of all their direct reports in ONE email (a manager's own employee form comes separately).
* ``minutes``: each manager gets the ``minutes`` forms of all their direct reports in one email.
* ``reminder``: everyone whose own forms (employee form, or the manager forms of their reports)
  were handed out but are not back yet gets a friendly second email with the forms again (with
  the time of the talk, once ``samtale schedule`` has given it one).
* ``invite``: every scheduled talk as a meeting request (``METHOD:REQUEST``), one email to the
  employee (an attendee asked to reply) and one to the manager (the organizer, HR sending on
  their behalf); a talk moved since its invitation again with the same UID and the next SEQUENCE;
  a cancelled talk that had been invited as ``METHOD:CANCEL``.
* ``followups``: each follow-up agreed in minutes confirmed by both, as an all-day meeting
  request (shown as free) on its date, to the manager and, when "who" names them, the employee.
  A changed follow-up goes out again as an update, one removed from newer minutes as a cancel.
* ``reflection``: once all of a manager's scheduled talks are over, one short email asking them
  to reflect (how did it go, what needs following up, what to do differently). Nothing of the
  reflection comes back or is stored.

Meeting emails are exactly-once the same way: their Message-ID is derived from the meeting's UID,
SEQUENCE, method and content and the recipient, so a re-run sends nothing twice, and a move or a
cancel is a new email. The ledger records which SEQUENCE of each meeting went out.

Exactly once, as far as email allows. Every email has a stable Message-ID derived from the cycle,
the email kind, the recipient and the attached forms' bytes. Before a message goes to the server
its ledger row is written as ``planned``; after the server accepted it, the row becomes ``sent``
and its forms are marked handed out, in one transaction. A crash (or a dropped connection) between
the server's "250 OK" and that transaction leaves a ``planned`` (or ``failed``) row, and the next
run sends that email again with the SAME Message-ID, so mail clients can drop the second copy. We
chose a possible duplicate over a possibly missing form: nobody notices a form that never came.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.domain.confirmation import minutes_states
from pipeline.domain.dates import date_from_text, format_date
from pipeline.domain.followups import FollowUp, agreed_followups, names_employee
from pipeline.domain.kinds import PREP_KINDS, FormKind
from pipeline.domain.managers import manager_changes, send_note
from pipeline.domain.names import ascii_slug
from pipeline.errors import ConfigError, MailError
from pipeline.formats.calendar import CANCEL, REQUEST, Attendee, Meeting, Person, meeting_ics
from pipeline.formats.email import (
    TEMPLATE_FOLDER,
    EmailTemplates,
    address_problem,
    ascii_domain,
    drafts_by_message_id,
    first_name,
    message_id,
    mime_message,
    wire_address,
)
from pipeline.formats.roster import Employee, Roster, read_roster
from pipeline.formats.smtp import (
    PASSWORD_VARIABLE,
    USER_VARIABLE,
    RunStopped,
    SmtpSession,
    SmtpSettings,
    parse_smtp_address,
)
from pipeline.state.config import Config
from pipeline.state.files import ensure_private_dir, unique_path, write_private
from pipeline.state.ledger import FormRecord, Ledger, MeetingRecord
from pipeline.state.workspace import CONFIG_NAME, Workspace, cycle_lock

log = logging.getLogger(__name__)

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

# settings and results ---------------------------------------------------------------------------


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


# public API -------------------------------------------------------------------------------------


def plan_emails(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    kind: str,
    *,
    deadline: str | dt.date | None = None,
    today: dt.date | None = None,
) -> list[PlannedEmail]:
    """Return the emails of ``kind`` for ``cycle`` (who gets which forms); writes nothing."""
    if kind not in ALL_EMAIL_KINDS:
        known = ", ".join(ALL_EMAIL_KINDS)
        raise MailError(f"email kind {kind!r} is not known; use one of {known}")
    if kind in MEETING_EMAIL_KINDS:
        return _plan_meetings(workspace, cycle, roster, kind, deadline, today)
    config = workspace.config()
    config_path = workspace.root / CONFIG_NAME
    domain = _sender_domain(config, config_path)
    due = resolve_deadline(deadline, config, config_path)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        forms = ledger.forms()
        rows = ledger.emails(kind)
        talks = _talk_times(ledger.meetings("talk"), config) if kind == "reminder" else {}
    cycle_dir = workspace.output_dir / str(cycle)
    round_ = (today or dt.date.today()).isoformat() if kind == "reminder" else ""
    groups = _sorted_groups(_group_forms(kind, forms, roster, rows), roster)
    texts = EmailTemplates(workspace.templates_dir / TEMPLATE_FOLDER)
    rows_by_id = {row["message_id"]: row for row in rows}
    context = _Context(cycle, kind, round_, domain, due, config, roster, cycle_dir, texts, talks)
    return [
        _plan_one(number, group, rows_by_id, context)
        for number, group in enumerate(groups, start=1)
    ]


def send_emails(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    kind: str,
    *,
    smtp: SmtpSettings | None = None,
    deadline: str | dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    env: Mapping[str, str] = os.environ,
    today: dt.date | None = None,
) -> SendReport:
    """Return the report of drafting (outbox) or sending (SMTP) every email not yet sent."""
    if dry_run:
        return _send_emails(
            workspace, cycle, roster, kind, smtp, deadline, True, progress, env, today
        )
    with cycle_lock(workspace.output_dir / str(cycle), "send"):  # never two senders at once
        return _send_emails(
            workspace, cycle, roster, kind, smtp, deadline, False, progress, env, today
        )


def _send_emails(workspace, cycle, roster, kind, smtp, deadline, dry_run, progress, env, today):
    """Return the report of one send run (the caller holds the cycle's send lock)."""
    plan = plan_emails(workspace, cycle, roster, kind, deadline=deadline, today=today)
    cycle_dir = workspace.output_dir / str(cycle)
    report = SendReport(
        kind=kind,
        mode="smtp" if smtp else "outbox",
        dry_run=dry_run,
        outbox=None if smtp else cycle_dir / OUTBOX,
        planned=plan,
    )
    report.pending = _sort_out(plan, report)
    report.notes = _manager_notes(workspace, cycle, roster, kind, report.pending)
    if dry_run:
        return report
    config = workspace.config()
    _check_ready_to_send(config, workspace.root / CONFIG_NAME, smtp, env)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        for outcome in report.failed:
            if outcome.email.message_id:
                _record(ledger, outcome.email, "failed", outcome.detail)
        if smtp:
            _send_by_smtp(report, ledger, config, cycle_dir, smtp, env, progress)
        else:
            _write_outbox(report, ledger, config, cycle_dir, progress)
    return report


def send_for_cycle(
    workspace: Workspace,
    cycle: int,
    kind: str,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    smtp_address: str | None = None,
    tls: str = "starttls",
    deadline: str | dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    env: Mapping[str, str] = os.environ,
) -> SendReport:
    """Return the report of ``send_emails`` for the roster (default: input/roster.xlsx)."""
    smtp = None
    if smtp_address:  # checked before the roster is read: a typo in an option fails fast
        host, port = parse_smtp_address(smtp_address)
        smtp = SmtpSettings(host=host, port=port, tls=tls)
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    return send_emails(
        workspace,
        cycle,
        roster,
        kind,
        smtp=smtp,
        deadline=deadline,
        dry_run=dry_run,
        progress=progress,
        env=env,
    )


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


# planning ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Forms going to one recipient in one email, before the email is planned."""

    recipient_id: str
    recipient: Employee | None
    for_manager: bool
    forms: list[FormRecord]
    problem: str = ""
    row: dict | None = None  # the ledger row this email repeats (sent, drafted or planned)


@dataclass(frozen=True)
class _Context:
    """What every planned email of one run shares."""

    cycle: int
    kind: str
    round: str
    domain: str
    deadline: dt.date
    config: Config
    roster: Roster
    cycle_dir: Path
    texts: EmailTemplates
    talks: dict = field(default_factory=dict)  # employee id -> (start, end) of their talk


def _group_forms(
    kind: str, forms: list[FormRecord], roster: Roster, rows: list[dict]
) -> list[_Group]:
    """Return the groups of forms per recipient, plus the emails earlier runs already made."""
    by_path = {form.path: form for form in forms}
    groups: list[_Group] = []
    claimed: set[str] = set()
    if kind != "reminder":  # reminders are matched by Message-ID (one round per day)
        for row in rows:
            if row["status"] in ("planned", "drafted", "sent"):
                paths = json.loads(row["attachments"])
                if row["status"] == "planned":
                    claimed.update(paths)  # resent as it was, with the same Message-ID
                records = [by_path[p] for p in paths if p in by_path]
                rid = row["recipient_id"]
                for_manager = any(r.kind != FormKind.EMPLOYEE for r in records)
                groups.append(_Group(rid, roster.by_id.get(rid), for_manager, records, row=row))
    keyed: dict[tuple[str, bool], _Group] = {}
    for form in forms:
        if form.kind not in FORM_KINDS_BY_EMAIL[kind] or form.path in claimed:
            continue
        if not _eligible(kind, form):
            continue
        orphan = _orphan_problem(form, roster)
        if orphan:
            groups.append(_Group("", None, form.kind != FormKind.EMPLOYEE, [form], problem=orphan))
            continue
        about = roster.by_id[form.employee_id]
        recipient = about if form.kind == FormKind.EMPLOYEE else roster.manager_of(about)
        key = (recipient.id, form.kind != FormKind.EMPLOYEE)
        keyed.setdefault(key, _Group(recipient.id, recipient, key[1], [])).forms.append(form)
    return groups + list(keyed.values())


def _eligible(kind: str, form: FormRecord) -> bool:
    """Return True when ``form`` belongs in a new email of ``kind``."""
    if kind == "reminder":
        return form.handed_out_at is not None and form.status != "returned"
    return form.handed_out_at is None and form.status == "generated"


def _orphan_problem(form: FormRecord, roster: Roster) -> str:
    """Return why nobody in the roster can receive ``form``, or ""."""
    about = roster.by_id.get(form.employee_id)
    if about is None:
        return (
            f"form {form.path} is about employee {form.employee_id}, who is not in the roster; "
            "add them to the roster or generate the forms again"
        )
    if form.kind != FormKind.EMPLOYEE and roster.manager_of(about) is None:
        return (
            f"{about.name} ({about.id}) has no manager in the roster (row {about.row}), so "
            f"nobody can get the {form.kind} form {form.path}; fill in the manager id, or "
            "give the form by hand to whoever holds the review (e.g. the board chair)"
        )
    return ""


def _sorted_groups(groups: list[_Group], roster: Roster) -> list[_Group]:
    """Return the groups in roster order of the recipient, own forms before reports' forms."""
    position = {e.id: i for i, e in enumerate(roster.employees)}

    def key(group: _Group) -> tuple:
        first = group.forms[0].path if group.forms else ""
        pos = position.get(group.recipient_id, len(position))
        return (pos, group.recipient_id, group.for_manager, first)

    for group in groups:
        group.forms.sort(key=lambda f: (position.get(f.employee_id, len(position)), f.path))
    return sorted(groups, key=key)


def _plan_one(number: int, group: _Group, rows_by_id: dict, ctx: _Context) -> PlannedEmail:
    """Return the planned email of one group, rendered unless it went out already."""
    attachments = tuple(_attachment(form, ctx) for form in group.forms)
    if group.row:
        mid = group.row["message_id"]
    elif group.recipient is not None:
        shas = [a.sha256 for a in attachments]
        mid = message_id(ctx.cycle, ctx.kind, group.recipient_id, shas, ctx.domain, ctx.round)
    else:
        mid = ""
    row = group.row or rows_by_id.get(mid)
    email = PlannedEmail(
        number=number,
        kind=ctx.kind,
        recipient_id=group.recipient_id,
        recipient=group.recipient,
        for_manager=group.for_manager,
        attachments=attachments,
        message_id=mid,
        status=row["status"] if row else "new",
        detail=row["detail"] if row else "",
        problem=group.problem,
    )
    if email.status in ("sent", "drafted"):
        return email
    problem = email.problem or _delivery_problem(email, ctx)
    if problem:
        return _replace(email, problem=problem)
    subject, body = ctx.texts.render(ctx.kind, email.recipient.language, _text_context(email, ctx))
    return _replace(email, subject=subject, body=body)


def _attachment(form: FormRecord, ctx: _Context) -> Attachment:
    """Return the attachment of ``form``, hashing the file as it is now."""
    about = ctx.roster.by_id.get(form.employee_id)
    path = ctx.cycle_dir / form.path
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    name = about.name if about else form.employee_id
    return Attachment(form.employee_id, name, form.kind, form.path, sha)


def _delivery_problem(email: PlannedEmail, ctx: _Context) -> str:
    """Return what stops this email (no recipient, no or bad address, missing form), or ""."""
    problem = _recipient_problem(email)
    if problem:
        return problem
    missing = [a.path for a in email.attachments if not a.sha256]
    if missing:
        return f"form file(s) missing in {ctx.cycle_dir}: {', '.join(missing)}; generate again"
    if not email.attachments:
        return "no forms to attach"
    return ""


def _recipient_problem(email: PlannedEmail) -> str:
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


def _text_context(email: PlannedEmail, ctx: _Context) -> dict:
    """Return the variables the email templates may use."""
    person = email.recipient
    manager = None if email.for_manager else ctx.roster.manager_of(person)
    mail = ctx.config.mail
    return_address = mail.reply_to or mail.sender_address
    return {
        "recipient": {
            "id": person.id,
            "name": person.name,
            "first_name": first_name(person.name),
            "email": email.address,
        },
        "manager_name": manager.name if manager else "",
        "for_manager": email.for_manager,
        "forms": [
            {
                "employee": a.employee_name,
                "file": a.filename,
                "talk": talk_text(*ctx.talks[a.employee_id], person.language)
                if a.employee_id in ctx.talks
                else "",
            }
            for a in email.attachments
        ],
        "deadline": format_date(ctx.deadline, person.language),
        "cycle": ctx.cycle,
        "organisation": ctx.config.organisation,
        "hr_contact": mail.hr_contact or return_address,
        "sender_name": mail.sender_name,
        "return_address": return_address,
    }


def _sort_out(plan: list[PlannedEmail], report: SendReport) -> list[PlannedEmail]:
    """Return the emails to deliver now; file the others under skipped and failed."""
    pending = []
    for email in plan:
        if email.problem:
            report.failed.append(Outcome(email, email.problem))
        elif email.status == "sent":
            report.skipped.append(Outcome(email, f"already sent ({email.detail})"))
        elif email.status == "drafted" and report.mode == "outbox":
            report.skipped.append(Outcome(email, f"draft already in the outbox ({email.detail})"))
        elif email.status == "drafted":
            note = f"drafted earlier ({email.detail}); send that draft, SMTP does not send it again"
            report.skipped.append(Outcome(email, note))
        else:
            pending.append(email)
    return pending


def _manager_notes(workspace, cycle, roster, kind: str, emails: list[PlannedEmail]) -> list[str]:
    """Return a note per form going to the manager named now, not the one it was made for."""
    about = {
        a.employee_id for e in emails for a in e.attachments if a.form_kind != FormKind.EMPLOYEE
    }
    if kind not in ("prep", "minutes") or not about:
        return []
    with Ledger.of_cycle(workspace, cycle) as ledger:
        forms = ledger.forms()
    kinds = (FormKind.MANAGER, FormKind.MINUTES) if kind == "minutes" else (FormKind.MANAGER,)
    changes = manager_changes(forms, roster, kinds)
    return [send_note(change, roster, kind) for change in changes if change.employee.id in about]


# ledger -----------------------------------------------------------------------------------------


def _record(ledger: Ledger, email: PlannedEmail, status: str, detail: str) -> None:
    """Write the email's ledger row; a sent or drafted email also marks its forms handed out."""
    paths = [a.path for a in email.attachments]
    write = ledger.record_email(
        email.message_id, email.kind, email.recipient_id, email.address, paths
    )
    with ledger.transaction():
        write(status, detail)
        if status in ("sent", "drafted"):
            for attachment in email.attachments:
                _hand_out(ledger, attachment)
            if email.meeting is not None:
                ledger.mark_meeting_invited(email.meeting.record)


def _hand_out(ledger: Ledger, attachment: Attachment) -> None:
    """Mark one form handed out, unless it is already back."""
    form = ledger.form(attachment.employee_id, attachment.form_kind)
    if form is not None and form.status != "returned":
        ledger.mark_handed_out(attachment.employee_id, attachment.form_kind)


# outbox -----------------------------------------------------------------------------------------


def _write_outbox(report, ledger, config, cycle_dir, progress) -> None:
    """Write one unsent draft (.eml) per pending email; never rewrite an existing draft."""
    outbox = report.outbox
    existing = drafts_by_message_id(outbox)
    for done, email in enumerate(report.pending, start=1):
        try:
            path = existing.get(email.message_id) or _write_draft(email, config, cycle_dir, outbox)
        except MailError as exc:
            _fail(report, ledger, email, str(exc))
        else:
            relative = path.relative_to(cycle_dir).as_posix()
            _record(ledger, email, "drafted", relative)
            report.drafted.append(Outcome(email, relative))
        if progress:
            progress(done, len(report.pending))


def _write_draft(email: PlannedEmail, config: Config, cycle_dir: Path, outbox: Path) -> Path:
    """Return the path of a new unsent draft (.eml, owner-only) of ``email``."""
    data = build_message(email, config, cycle_dir, draft=True).as_bytes()
    return write_private(unique_path(ensure_private_dir(outbox) / _draft_name(email)), data)


def _draft_name(email: PlannedEmail) -> str:
    """Return the draft's file name, like ``0001-prep-1001-kari-nordmann.eml``."""
    name = ascii_slug(email.recipient.name if email.recipient else "")
    return f"{email.number:04d}-{email.kind}-{ascii_slug(email.recipient_id, 20)}-{name}.eml"


# SMTP -------------------------------------------------------------------------------------------


def _send_by_smtp(report, ledger, config, cycle_dir, settings, env, progress) -> None:
    """Send every pending email over one reused connection; record each result."""
    rate = settings.rate_per_second
    session = SmtpSession(settings, config.mail.rate_per_second if rate is None else rate, env)
    try:
        for done, email in enumerate(report.pending, start=1):
            if report.stopped:
                _fail(report, ledger, email, f"not sent: {report.stopped}; run send again")
            else:
                _send_one(report, ledger, config, cycle_dir, session, email)
            if progress:
                progress(done, len(report.pending))
    finally:
        session.close()


def _send_one(report, ledger, config, cycle_dir, session, email: PlannedEmail) -> None:
    """Send one email: ledger row planned, deliver, then ledger row sent or failed."""
    try:
        msg = build_message(email, config, cycle_dir)
        sender, recipient = wire_address(config.mail.sender_address), wire_address(email.address)
    except MailError as exc:
        _fail(report, ledger, email, str(exc))
        return
    _record(ledger, email, "planned", "")  # a crash from here on resends the same Message-ID
    try:
        sent, detail = session.deliver(msg, sender, recipient)
    except RunStopped as exc:
        report.stopped = str(exc)
        _fail(report, ledger, email, f"not sent: {exc}; run send again")
        return
    if not sent:
        _fail(report, ledger, email, detail)
        return
    _record(ledger, email, "sent", detail)
    report.sent.append(Outcome(email, detail))
    log.info("sent %s", email.message_id)


def _fail(report: SendReport, ledger: Ledger, email: PlannedEmail, detail: str) -> None:
    """Record one email as failed, in the ledger and the report."""
    _record(ledger, email, "failed", detail)
    report.failed.append(Outcome(email, detail))


# small helpers ----------------------------------------------------------------------------------


def _sender_domain(config: Config, config_path: Path) -> str:
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


def _check_ready_to_send(
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


def _replace(email: PlannedEmail, **changes) -> PlannedEmail:
    """Return a copy of ``email`` with ``changes``."""
    return replace(email, **changes)


# meetings: invitations to the talks, follow-ups, reflection ----------------------------------

TALK_SUMMARY = {
    "nb": "Medarbeidersamtale {cycle}: {employee} og {manager}",
    "en": "Employee review {cycle}: {employee} and {manager}",
}
FOLLOWUP_SUMMARY = {"nb": "Oppfølging: {what}", "en": "Follow-up: {what}"}


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


@dataclass
class _MeetingMail:
    """One meeting email before it is planned: to whom, about what, its calendar part."""

    recipient_id: str
    recipient: Employee | None
    for_manager: bool
    about: str  # for describe(): who and when, never answer text
    seed: list[str]  # what the Message-ID is derived from (UID, SEQUENCE, method, content)
    label: str  # readable part of the Message-ID: request0, cancel2 …
    context: dict  # template variables besides the common ones
    part: MeetingPart | None = None
    problem: str = ""


@dataclass(frozen=True)
class _MeetingContext:
    """What every meeting email of one run shares."""

    cycle: int
    kind: str
    domain: str
    deadline: dt.date | None
    config: Config
    roster: Roster
    texts: EmailTemplates
    zone: ZoneInfo
    now: dt.datetime
    addresses: dict  # recipient id -> address of earlier emails (people who left the roster)


def _plan_meetings(workspace, cycle, roster, kind, deadline, today) -> list[PlannedEmail]:
    """Return the meeting emails of ``kind`` (invite, followups, reflection); writes nothing."""
    config = workspace.config()
    config_path = workspace.root / CONFIG_NAME
    domain = _sender_domain(config, config_path)
    due = resolve_deadline(deadline, config, config_path) if kind == "invite" else None
    zone = ZoneInfo(config.schedule.timezone)
    now = dt.datetime.now(zone)
    if today is not None:  # tests and reruns: the end of that day
        now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        rows = ledger.emails(kind)
        talks = ledger.meetings("talk")
        invites = ledger.emails("invite") if kind == "invite" else rows
        addresses = {row["recipient_id"]: row["recipient"] for row in invites}
        if kind == "invite":
            mails_of = _invite_mails(talks, ledger.forms())
        elif kind == "followups":
            states = minutes_states(ledger.accepted_versions())
            mails_of = _followup_mails(states, ledger.meetings("followup"))
        else:
            mails_of = _reflection_mails(talks)
    texts = EmailTemplates(workspace.templates_dir / TEMPLATE_FOLDER)
    ctx = _MeetingContext(cycle, kind, domain, due, config, roster, texts, zone, now, addresses)
    rows_by_id = {row["message_id"]: row for row in rows}
    return [
        _plan_meeting_email(number, mail, rows_by_id, ctx)
        for number, mail in enumerate(mails_of(ctx), start=1)
    ]


def _plan_meeting_email(
    number: int, mail: _MeetingMail, rows_by_id: dict, ctx: _MeetingContext
) -> PlannedEmail:
    """Return the planned email of one meeting mail, rendered unless it went out already."""
    mid = ""
    if mail.recipient is not None:
        mid = message_id(ctx.cycle, ctx.kind, mail.recipient_id, mail.seed, ctx.domain, mail.label)
    row = rows_by_id.get(mid)
    email = PlannedEmail(
        number=number,
        kind=ctx.kind,
        recipient_id=mail.recipient_id,
        recipient=mail.recipient,
        for_manager=mail.for_manager,
        attachments=(),
        message_id=mid,
        status=row["status"] if row else "new",
        detail=row["detail"] if row else "",
        problem=mail.problem,
        meeting=mail.part,
        about=mail.about,
    )
    if email.status in ("sent", "drafted"):
        return email
    problem = email.problem or _recipient_problem(email)
    if problem:
        return _replace(email, problem=problem)
    language = email.recipient.language
    context = {**_meeting_text_context(email, ctx), **_localized(mail.context, language)}
    subject, body = ctx.texts.render(ctx.kind, language, context)
    part = mail.part
    if part is not None:
        summary = _summary(part, mail.context["summary_names"], language)
        part = replace(part, summary=summary, description=body)
    return _replace(email, subject=subject, body=body, meeting=part)


def _meeting_text_context(email: PlannedEmail, ctx: _MeetingContext) -> dict:
    """Return the variables every meeting email template may use."""
    person = email.recipient
    mail = ctx.config.mail
    return_address = mail.reply_to or mail.sender_address
    return {
        "recipient": {
            "id": person.id,
            "name": person.name,
            "first_name": first_name(person.name),
            "email": email.address,
        },
        "for_manager": email.for_manager,
        "cycle": ctx.cycle,
        "organisation": ctx.config.organisation,
        "hr_contact": mail.hr_contact or return_address,
        "sender_name": mail.sender_name,
        "return_address": return_address,
    }


def _localized(context: dict, language: str) -> dict:
    """Return the template variables with dates and times written in ``language``."""
    found = {}
    for key, value in context.items():
        if key == "summary_names":
            continue
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dt.datetime):
            found[key] = talk_text(value[0], value[1], language)
        elif isinstance(value, dt.date):
            found[key] = format_date(value, language)
        else:
            found[key] = value
    return found


def _summary(part: MeetingPart, names: dict, language: str) -> str:
    """Return the meeting's title in the recipient's language."""
    templates = TALK_SUMMARY if part.record.kind == "talk" else FOLLOWUP_SUMMARY
    return templates.get(language, templates["nb"]).format(**names)


def talk_text(start: dt.datetime, end: dt.datetime, language: str) -> str:
    """Return "tirsdag 2. februar 2027 kl. 09.00–10.15" / "Tuesday 2 February 2027, 09:00–10:15"."""
    day = format_date(start.date(), language)
    if language == "en":
        return f"{day}, {start:%H:%M}–{end:%H:%M}"
    return f"{day} kl. {start:%H.%M}–{end:%H.%M}"


def _talk_times(records: list[MeetingRecord], config: Config) -> dict[str, tuple]:
    """Return employee id -> (start, end) of every scheduled talk, in the schedule's zone."""
    zone = ZoneInfo(config.schedule.timezone)
    return {
        record.employee_id: _times(record, zone)
        for record in records
        if record.status == "scheduled" and not record.conflict
    }


def _times(record: MeetingRecord, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Return a talk's (start, end) as aware times in ``zone``."""
    start = dt.datetime.fromisoformat(record.start).astimezone(zone)
    return start, dt.datetime.fromisoformat(record.end).astimezone(zone)


def _person(person_id: str, ctx: _MeetingContext) -> Employee | None:
    """Return the roster's person, or one known only from earlier emails (left the roster)."""
    found = ctx.roster.by_id.get(person_id)
    if found is not None or person_id not in ctx.addresses:
        return found
    address = ctx.addresses[person_id]
    return Employee(person_id, address, address, "", "", "", None, "nb", 0)


def _calendar_person(person: Employee) -> Person:
    """Return the person as a calendar address (domain as DNS carries it)."""
    return Person(person.name, wire_address(person.email))


# invitations to the talks


def _invite_mails(talks: list[MeetingRecord], forms: list[FormRecord]):
    """Return a function giving the invitation emails of every talk that needs one."""
    returned = {(f.employee_id, f.kind): f for f in forms}

    def mails(ctx: _MeetingContext) -> list[_MeetingMail]:
        found = []
        order = sorted(talks, key=lambda t: (t.start, t.employee_id))
        for talk in order:
            if talk.status == "scheduled":
                found += _talk_mails(talk, REQUEST, returned, ctx)
            elif talk.invited:
                found += _talk_mails(talk, CANCEL, returned, ctx)
        return found

    return mails


def _talk_mails(talk: MeetingRecord, method: str, forms: dict, ctx: _MeetingContext) -> list:
    """Return the two emails (employee, manager) of one talk's request or cancellation."""
    employee, manager = _person(talk.employee_id, ctx), _person(talk.manager_id, ctx)
    start, end = _times(talk, ctx.zone)
    names = {
        "cycle": ctx.cycle,
        "employee": employee.name if employee else talk.employee_id,
        "manager": manager.name if manager else talk.manager_id,
    }
    problem = ""
    if method == REQUEST and talk.conflict:
        problem = (
            f"the talk's time is in conflict ({talk.conflict}); move it in schedule.xlsx and "
            "run samtale schedule again"
        )
    elif employee is None or manager is None:
        problem = (
            f"{'the employee' if employee is None else 'the manager'} of talk {talk.uid} is not "
            "in the roster; run samtale schedule to cancel or move the talk"
        )
    part = None
    if employee is not None and manager is not None and not problem:
        part = _talk_part(talk, method, start, end, employee, manager)
    update = method == REQUEST and talk.sequence > 0
    verb = "cancellation of" if method == CANCEL else "update of" if update else "invitation to"
    about = (
        f"{verb} the talk of {names['employee']} with {names['manager']}, {start:%Y-%m-%d %H:%M}"
    )
    seed = [talk.uid, str(talk.sequence), method, talk.start, talk.end, talk.location]
    label = f"{method.lower()}{talk.sequence}"
    deadline = None
    if ctx.deadline is not None:
        deadline = min(ctx.deadline, start.date() - dt.timedelta(days=1))
    mails = []
    for person, person_id, for_manager in (
        (employee, talk.employee_id, False),
        (manager, talk.manager_id, True),
    ):
        form = forms.get((talk.employee_id, "manager" if for_manager else "employee"))
        context = {
            "employee_name": names["employee"],
            "manager_name": names["manager"],
            "when": (start, end),
            "location": talk.location,
            "update": update,
            "cancelled": method == CANCEL,
            "deadline": deadline or "",
            "form_file": Path(form.path).name if form else "",
            "form_returned": bool(form and form.status == "returned"),
            "summary_names": names,
        }
        mails.append(
            _MeetingMail(person_id, person, for_manager, about, seed, label, context, part, problem)
        )
    return mails


def _talk_part(talk, method, start, end, employee: Employee, manager: Employee) -> MeetingPart:
    """Return the calendar part of a talk: the manager organizes, the employee is asked."""
    organizer = _calendar_person(manager)
    return MeetingPart(
        record=talk,
        method=method,
        summary="",
        start=start,
        end=end,
        organizer=organizer,
        attendees=(
            Attendee(organizer, role="CHAIR", rsvp=False, status="ACCEPTED"),
            Attendee(_calendar_person(employee)),
        ),
        location=talk.location,
    )


# follow-ups booked at once


def _followup_mails(states: dict, booked: list[MeetingRecord]):
    """Return a function giving the follow-up emails of every minutes confirmed by both."""

    def mails(ctx: _MeetingContext) -> list[_MeetingMail]:
        found, current = [], set()
        by_uid = {record.uid: record for record in booked}
        confirmed = {eid: state for eid, state in sorted(states.items()) if state.confirmed}
        for employee_id, state in confirmed.items():
            for item in agreed_followups(state.final.answers):
                uid = item.uid(ctx.cycle, employee_id)
                current.add(uid)
                found += _followup_item_mails(employee_id, item, by_uid.get(uid), ctx)
        for record in booked:  # follow-ups newer minutes no longer have
            gone = record.uid not in current and record.employee_id in confirmed
            if gone and record.status == "scheduled":
                cancelled = replace(record, status="cancelled", sequence=record.sequence + 1)
                found += _followup_cancel_mails(cancelled, ctx)
        return found

    return mails


def _followup_item_mails(
    employee_id: str, item: FollowUp, old: MeetingRecord | None, ctx: _MeetingContext
) -> list[_MeetingMail]:
    """Return the emails booking one follow-up (manager, and the employee when named)."""
    employee = ctx.roster.by_id.get(employee_id)
    manager = ctx.roster.manager_of(employee) if employee else None
    name = employee.name if employee else employee_id
    about = f"follow-up {item.number} agreed with {name}"
    if employee is None or manager is None:
        problem = "the employee or their manager is not in the roster; book it by hand"
        return [_MeetingMail(employee_id, None, True, about, [], "", {}, None, problem)]
    if item.when is None:
        problem = "no date in the minutes, so nothing to book (the archived follow-ups have it)"
        return [_MeetingMail(manager.id, manager, True, about, [], "", {}, None, problem)]
    content = item.content()
    sequence = 0
    if old is not None:
        sequence = old.sequence if old.content == content else old.sequence + 1
    record = MeetingRecord(
        item.uid(ctx.cycle, employee_id),
        "followup",
        employee_id,
        manager.id,
        item.when.isoformat(),
        (item.when + dt.timedelta(days=1)).isoformat(),
        sequence=sequence,
        content=content,
    )
    people = [(manager, True)]
    if names_employee(item.who, employee.name):
        people.append((employee, False))
    organizer = _calendar_person(manager)
    attendees = [Attendee(organizer, role="CHAIR", rsvp=False, status="ACCEPTED")]
    attendees += [Attendee(_calendar_person(p)) for p, is_manager in people if not is_manager]
    part = MeetingPart(
        record, REQUEST, "", item.when, record_end(record), organizer, tuple(attendees), free=True
    )
    context = {
        "what": item.what,
        "who": item.who,
        "when": item.when,
        "employee_name": employee.name,
        "manager_name": manager.name,
        "update": sequence > 0,
        "cancelled": False,
        "summary_names": {"what": item.what},
    }
    seed = [record.uid, str(sequence), REQUEST, content]
    label = f"request{sequence}"
    return [
        _MeetingMail(p.id, p, is_manager, f"{about} ({item.when})", seed, label, context, part)
        for p, is_manager in people
    ]


def _followup_cancel_mails(record: MeetingRecord, ctx: _MeetingContext) -> list[_MeetingMail]:
    """Return the email cancelling a booked follow-up that newer minutes dropped (manager)."""
    manager = _person(record.manager_id, ctx)
    employee = _person(record.employee_id, ctx)
    name = employee.name if employee else record.employee_id
    about = f"cancellation of a follow-up agreed with {name} ({record.start})"
    if manager is None:
        problem = "the manager is not in the roster; remove it from their calendar by hand"
        return [_MeetingMail(record.manager_id, None, True, about, [], "", {}, None, problem)]
    when = dt.date.fromisoformat(record.start)
    organizer = _calendar_person(manager)
    part = MeetingPart(
        record,
        CANCEL,
        "",
        when,
        record_end(record),
        organizer,
        (Attendee(organizer, role="CHAIR", rsvp=False, status="ACCEPTED"),),
        free=True,
    )
    context = {
        "what": "",
        "who": "",
        "when": when,
        "employee_name": name,
        "manager_name": manager.name,
        "update": False,
        "cancelled": True,
        "summary_names": {"what": name},
    }
    seed = [record.uid, str(record.sequence), CANCEL, record.content]
    label = f"cancel{record.sequence}"
    return [_MeetingMail(manager.id, manager, True, about, seed, label, context, part)]


def record_end(record: MeetingRecord) -> dt.date:
    """Return the end date of an all-day follow-up record."""
    return dt.date.fromisoformat(record.end)


# reflection after a manager's last talk


def _reflection_mails(talks: list[MeetingRecord]):
    """Return a function giving one reflection email per manager whose talks are all over."""

    def mails(ctx: _MeetingContext) -> list[_MeetingMail]:
        held: dict[str, list[MeetingRecord]] = {}
        for talk in talks:
            if talk.status == "scheduled":
                held.setdefault(talk.manager_id, []).append(talk)
        position = {e.id: i for i, e in enumerate(ctx.roster.employees)}
        found = []
        for manager_id in sorted(held, key=lambda m: (position.get(m, len(position)), m)):
            group = held[manager_id]
            if max(_times(t, ctx.zone)[1] for t in group) > ctx.now:
                continue  # a talk is still to come
            manager = ctx.roster.by_id.get(manager_id)
            names = [
                ctx.roster.by_id[t.employee_id].name
                for t in group
                if t.employee_id in ctx.roster.by_id
            ]
            about = f"reflection after {len(group)} talk(s)"
            context = {"talks": len(group), "employees": names}
            found.append(_MeetingMail(manager_id, manager, True, about, [], "", context))
        return found

    return mails
