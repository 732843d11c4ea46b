"""iCalendar: meeting requests Outlook accepts, the archived follow-ups, and busy time read back.

Writing. A meeting request is one VCALENDAR with ``METHOD:REQUEST`` (or ``CANCEL``), one VEVENT
with a stable UID and a SEQUENCE that grows with every change, the manager as ORGANIZER (sent by
HR, ``SENT-BY``) and attendee, the employee as attendee with ``RSVP=TRUE``, and a VTIMEZONE for
the zone its times are in. The VTIMEZONE is written the way Outlook writes its own: one STANDARD
and one DAYLIGHT part with a yearly RRULE, derived from the zone's actual transitions and checked
against them; a zone whose rule cannot be written that way gets icalendar's explicit list.

Reading. HR drops a person's exported calendar (Outlook's or Google's .ics) into
``input/calendars/``. Recurring events are expanded with ``recurring-ical-events`` (RRULE, RDATE,
EXDATE, moved and cancelled occurrences; Google's ``X-WR-TIMEZONE`` is honoured). An event blocks
time unless it is cancelled, shown as free (``TRANSP:TRANSPARENT``, Outlook's
``X-MICROSOFT-CDO-BUSYSTATUS`` FREE or WORKINGELSEWHERE) or one of our own talks; tentative events
block, as they do in a scheduling assistant; all-day events block their whole days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    Todo,
    vCalAddress,
)

from pipeline.errors import CalendarError, plain_reason

PRODID = "-//samtale//medarbeidersamtale//NO"
REQUEST, CANCEL = "REQUEST", "CANCEL"
FREE_STATUSES = ("FREE", "WORKINGELSEWHERE")  # Outlook's "Show as" values that do not block
MAX_CALENDAR_BYTES = 50 * 1024 * 1024
BUSY_FIX = (
    "export the calendar again (Outlook: File → Save Calendar, iCalendar format; Google: "
    "Settings → Import & export → Export) or move the file out of input/calendars/"
)


@dataclass(frozen=True)
class Person:
    """Someone in a meeting: display name and email address (domain as DNS carries it)."""

    name: str
    email: str


@dataclass(frozen=True)
class Attendee:
    """One attendee of a meeting request, and whether a reply is asked for."""

    person: Person
    role: str = "REQ-PARTICIPANT"  # CHAIR for the manager holding the talk
    rsvp: bool = True
    status: str = "NEEDS-ACTION"  # ACCEPTED for the organizer


@dataclass(frozen=True)
class Meeting:
    """What one meeting request (or its cancellation) says."""

    uid: str
    sequence: int
    method: str  # REQUEST | CANCEL
    summary: str
    description: str
    start: dt.datetime | dt.date  # an aware datetime, or a date for an all-day entry
    end: dt.datetime | dt.date
    organizer: Person
    sent_by: str  # the address that sends on the organizer's behalf (HR)
    attendees: tuple[Attendee, ...]
    stamp: dt.datetime  # when this version was made (DTSTAMP), aware
    location: str = ""
    free: bool = False  # shown as free: an all-day follow-up does not block the day


# --- meeting requests ------------------------------------------------------------------------


def meeting_ics(meeting: Meeting) -> bytes:
    """Return the VCALENDAR of one meeting request or cancellation."""
    if meeting.method not in (REQUEST, CANCEL):
        raise ValueError(f"method {meeting.method!r} is not REQUEST or CANCEL")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", meeting.method)
    if isinstance(meeting.start, dt.datetime):
        tzid = zone_name(meeting.start)
        calendar.add_component(vtimezone(tzid, meeting.start.year))
    calendar.add_component(meeting_event(meeting))
    return calendar.to_ical()


def meeting_event(meeting: Meeting) -> Event:
    """Return the VEVENT of a meeting request."""
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.stamp.astimezone(dt.UTC))
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.end)
    event.add("summary", meeting.summary)
    if meeting.description:
        event.add("description", meeting.description)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("organizer", address(meeting.organizer, {"SENT-BY": f"mailto:{meeting.sent_by}"}))
    for attendee in meeting.attendees:
        params = {
            "ROLE": attendee.role,
            "PARTSTAT": attendee.status,
            "RSVP": "TRUE" if attendee.rsvp else "FALSE",
            "CUTYPE": "INDIVIDUAL",
        }
        event.add("attendee", address(attendee.person, params))
    cancelled = meeting.method == CANCEL
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if meeting.free or cancelled else "OPAQUE")
    event.add("class", "PRIVATE")  # others see the time as busy, not what the talk is about
    if not isinstance(meeting.start, dt.datetime):
        event.add("x-microsoft-cdo-alldayevent", "TRUE")
    event.add("x-microsoft-cdo-busystatus", "FREE" if meeting.free or cancelled else "BUSY")
    return event


def address(person: Person, params: dict[str, str]) -> vCalAddress:
    """Return ``mailto:`` address of ``person`` with its display name and ``params``."""
    value = vCalAddress(f"mailto:{person.email}")
    value.params["CN"] = person.name
    value.params.update(params)
    return value


def zone_name(moment: dt.datetime) -> str:
    """Return the IANA name of an aware datetime's zone (Europe/Oslo)."""
    key = getattr(moment.tzinfo, "key", None)
    if not key:
        raise ValueError("meeting times must carry a zoneinfo.ZoneInfo time zone")
    return key


def load_zone(name: str) -> ZoneInfo:
    """Return the time zone called ``name``; raise ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; write it like Europe/Oslo") from exc


# --- VTIMEZONE as Outlook writes it ----------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset: the wall time it happens at (old offset), from, to, name, DST."""

    local: dt.datetime
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    daylight: bool


def vtimezone(tzid: str, year: int) -> Timezone:
    """Return a VTIMEZONE for ``tzid`` around ``year`` (yearly rules when the zone has them)."""
    zone = load_zone(tzid)
    transitions = transitions_in(zone, year)
    if not transitions:
        return fixed_timezone(tzid, zone, year)
    rules = [yearly_rule(t.local) for t in transitions]
    if len(transitions) == 2 and all(
        rule_holds(zone, rule, t, check)
        for rule, t in zip(rules, transitions, strict=True)
        for check in range(year - 2, year + 3)
    ):
        timezone = Timezone()
        timezone.add("tzid", tzid)
        for rule, transition in zip(rules, transitions, strict=True):
            timezone.add_component(rule_component(transition, rule, year - 2))
        return timezone
    return Timezone.from_tzinfo(
        zone, tzid, first_date=dt.date(year - 2, 1, 1), last_date=dt.date(year + 2, 1, 1)
    )


def transitions_in(zone: ZoneInfo, year: int) -> list[Transition]:
    """Return the zone's offset changes in ``year``, in order."""
    found = []
    moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        after = moment + dt.timedelta(days=1)
        if after.astimezone(zone).utcoffset() != offset:
            found.append(transition_between(zone, moment, after))
            offset = after.astimezone(zone).utcoffset()
        moment = after
    return found


def transition_between(zone: ZoneInfo, low: dt.datetime, high: dt.datetime) -> Transition:
    """Return the transition between two UTC instants a day apart (to the minute)."""
    before = low.astimezone(zone).utcoffset()
    while high - low > dt.timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    instant = high.replace(second=0, microsecond=0)
    local = high.astimezone(zone)
    wall = (instant + before).replace(tzinfo=None)
    return Transition(wall, before, local.utcoffset(), local.tzname(), bool(local.dst()))


def yearly_rule(local: dt.datetime) -> tuple[int, int]:
    """Return (month, n) for "the n-th weekday of the month" (n = -1: the last one)."""
    next_month = dt.date(local.year + local.month // 12, local.month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    n = -1 if local.day + 7 > last_day else (local.day - 1) // 7 + 1
    return local.month, n


def rule_date(year: int, month: int, n: int, weekday: int) -> dt.date:
    """Return the n-th (or last, n = -1) ``weekday`` of ``month`` in ``year``."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last = next_month - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def rule_holds(zone: ZoneInfo, rule: tuple[int, int], transition: Transition, year: int) -> bool:
    """Return True when the zone changes its offset on the rule's day of ``year`` as stated."""
    month, n = rule
    day = rule_date(year, month, n, transition.local.weekday())
    wall = dt.datetime.combine(day, transition.local.time())
    instant = (wall - transition.offset_from).replace(tzinfo=dt.UTC)
    before = (instant - dt.timedelta(minutes=1)).astimezone(zone).utcoffset()
    after = instant.astimezone(zone).utcoffset()
    return before == transition.offset_from and after == transition.offset_to


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def rule_component(transition: Transition, rule: tuple[int, int], since: int):
    """Return the STANDARD or DAYLIGHT part of a VTIMEZONE for one yearly transition."""
    month, n = rule
    component = TimezoneDaylight() if transition.daylight else TimezoneStandard()
    weekday = transition.local.weekday()
    first = rule_date(since, month, n, weekday)
    component.add("dtstart", dt.datetime.combine(first, transition.local.time()))
    component.add("rrule", {"freq": "yearly", "bymonth": month, "byday": f"{n}{WEEKDAYS[weekday]}"})
    component.add("tzoffsetfrom", transition.offset_from)
    component.add("tzoffsetto", transition.offset_to)
    component.add("tzname", transition.name)
    return component


def fixed_timezone(tzid: str, zone: ZoneInfo, year: int) -> Timezone:
    """Return the VTIMEZONE of a zone without daylight-saving time in ``year``."""
    moment = dt.datetime(year, 1, 1, tzinfo=zone)
    timezone = Timezone()
    timezone.add("tzid", tzid)
    standard = TimezoneStandard()
    standard.add("dtstart", dt.datetime(year - 2, 1, 1))
    standard.add("tzoffsetfrom", moment.utcoffset())
    standard.add("tzoffsetto", moment.utcoffset())
    standard.add("tzname", moment.tzname())
    timezone.add_component(standard)
    return timezone


# --- the archived follow-ups (finalize) ------------------------------------------------------


@dataclass(frozen=True)
class AgreedItem:
    """One agreed follow-up or goal for the archived calendar: a dated event or a to-do."""

    uid: str
    summary: str
    description: str
    when: dt.date | None  # None: a to-do without a date


def agreed_calendar(name: str, items: Iterable[AgreedItem], stamp: dt.datetime) -> bytes:
    """Return the archived calendar of agreed items: all-day events on their date, else to-dos."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for item in items:
        component = Event() if item.when else Todo()
        component.add("uid", item.uid)
        component.add("dtstamp", stamp)
        component.add("summary", item.summary)
        component.add("description", item.description)
        if item.when:
            component.add("dtstart", item.when)
            component.add("dtend", item.when + dt.timedelta(days=1))
        calendar.add_component(component)
    return calendar.to_ical()


# --- busy time from exported calendars -------------------------------------------------------


def read_busy(
    path: Path,
    zone: ZoneInfo,
    first: dt.date,
    last: dt.date,
    ignore_uids: Iterable[str] = (),
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Return an exported calendar's busy intervals (wall time in ``zone``) between the days."""
    calendars = parse_calendars(path)
    ignored = set(ignore_uids)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    busy = []
    for calendar in calendars:
        try:
            occurrences = recurring_ical_events.of(calendar).between(start, end)
        except Exception as exc:  # the library raises many kinds on a broken rule or date
            raise CalendarError(
                f"{path}: cannot expand its events ({plain_reason(exc)}); {BUSY_FIX}"
            ) from exc
        for event in occurrences:
            if blocks_time(event) and str(event.get("uid", "")) not in ignored:
                busy.append(occurrence_interval(event, zone))
    return sorted(busy)


def parse_calendars(path: Path) -> list[Calendar]:
    """Return the VCALENDARs of an .ics file; raise CalendarError naming the file and the fix."""
    try:
        size = path.stat().st_size
        if size > MAX_CALENDAR_BYTES:
            raise CalendarError(
                f"{path}: {size // (1024 * 1024)} MB is more than a calendar export should be; "
                f"export only the months around the talks, or {BUSY_FIX}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read it ({exc.strerror}); {BUSY_FIX}") from exc
    try:
        calendars = Calendar.from_ical(data, multiple=True)
    except ValueError as exc:
        raise CalendarError(
            f"{path}: not an iCalendar file ({plain_reason(exc)}); {BUSY_FIX}"
        ) from exc
    if not calendars:
        raise CalendarError(f"{path}: holds no VCALENDAR; {BUSY_FIX}")
    return list(calendars)


def blocks_time(event) -> bool:
    """Return True when an event occurrence makes its owner busy."""
    if str(event.get("status", "")).upper() == "CANCELLED":
        return False
    if str(event.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    shown = str(event.get("x-microsoft-cdo-busystatus", "")).upper()
    return shown not in FREE_STATUSES


def occurrence_interval(event, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Return an occurrence's (start, end) as wall time in ``zone``; whole days for all-day ones."""
    start, end = event["DTSTART"].dt, event["DTEND"].dt if "DTEND" in event else None
    if end is None:
        end = start + (event["DURATION"].dt if "DURATION" in event else dt.timedelta())
    return wall_time(start, zone), wall_time(end, zone)


def wall_time(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return a date (midnight), a floating time or an aware time as naive wall time in ``zone``."""
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        return value  # floating time: the same wall time in every zone
    return value.astimezone(zone).replace(tzinfo=None)
