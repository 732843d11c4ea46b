"""Emails about the talks: meeting requests, follow-ups booked at once, the reflection."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.commands.send.emails import (
    MeetingPart,
    PlannedEmail,
    recipient_problem,
    resolve_deadline,
    sender_domain,
)
from pipeline.domain.confirmation import minutes_states
from pipeline.domain.dates import format_date
from pipeline.domain.followups import FollowUp, agreed_followups, names_employee
from pipeline.domain.kinds import FormKind
from pipeline.formats.calendar import CANCEL, REQUEST, Attendee, Person
from pipeline.formats.email import (
    TEMPLATE_FOLDER,
    EmailTemplates,
    first_name,
    message_id,
    wire_address,
)
from pipeline.formats.roster import Employee, Roster
from pipeline.state.config import Config
from pipeline.state.ledger import FormRecord, Ledger, MeetingRecord
from pipeline.state.workspace import CONFIG_NAME

log = logging.getLogger(__name__)

TALK_SUMMARY = {
    "nb": "Medarbeidersamtale {cycle}: {employee} og {manager}",
    "en": "Employee review {cycle}: {employee} and {manager}",
}

FOLLOWUP_SUMMARY = {"nb": "Oppfølging: {what}", "en": "Follow-up: {what}"}


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
    names: tuple[str, ...] = ()  # employees the text names besides the meeting's (reflection)


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


def plan_meetings(workspace, cycle, roster, kind, deadline, today) -> list[PlannedEmail]:
    """Return the meeting emails of ``kind`` (invite, followups, reflection); writes nothing."""
    config = workspace.config()
    config_path = workspace.root / CONFIG_NAME
    domain = sender_domain(config, config_path)
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
            mails_of = _invite_mails(talks, ledger.forms(brief=True))
        elif kind == "followups":
            states = minutes_states(ledger.accepted_versions(FormKind.MINUTES))
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
        names=mail.names,
    )
    if email.status in ("sent", "drafted"):
        return email
    problem = email.problem or recipient_problem(email)
    if problem:
        return replace(email, problem=problem)
    language = email.recipient.language
    context = {**_meeting_text_context(email, ctx), **_localized(mail.context, language)}
    subject, body = ctx.texts.render(ctx.kind, language, context)
    part = mail.part
    if part is not None:
        summary = _summary(part, mail.context["summary_names"], language)
        part = replace(part, summary=summary, description=body)
    return replace(email, subject=subject, body=body, meeting=part)


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


def talk_times(records: list[MeetingRecord], config: Config) -> dict[str, tuple]:
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
            named = tuple(t.employee_id for t in group if t.employee_id in ctx.roster.by_id)
            mail = _MeetingMail(manager_id, manager, True, about, [], "", context, names=named)
            found.append(mail)
        return found

    return mails
