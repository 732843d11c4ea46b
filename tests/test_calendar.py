"""iCalendar: meeting requests parsed back, VTIMEZONE rules, busy time from Outlook and Google."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from pipeline.errors import CalendarError
from pipeline.formats.calendar import (
    CANCEL,
    REQUEST,
    AgreedItem,
    Attendee,
    Meeting,
    Person,
    agreed_calendar,
    meeting_ics,
    read_busy,
    vtimezone,
)

CALENDARS = Path(__file__).resolve().parent / "data" / "calendars"
OUTLOOK = CALENDARS / "1001 Kari Nordmann (Outlook).ics"
GOOGLE = CALENDARS / "ola.odegard@fjordlys.example.ics"
OSLO = ZoneInfo("Europe/Oslo")
KARI = Person("Kari Nordmann", "kari.nordmann@fjordlys.example")
BJORN = Person("Bjørn-Åge Sæther Kvalsvik-Lindqvist", "bjorn-age@fjordlys.example")


def meeting(**changes) -> Meeting:
    """Return a talk's meeting request, with ``changes``."""
    values = {
        "uid": "samtale-2027-talk-1003-1001@fjordlys.example",
        "sequence": 0,
        "method": REQUEST,
        "summary": "Medarbeidersamtale 2027: Bjørn-Åge og Kari",
        "description": "Hei Bjørn-Åge,\n\nVelkommen; ta med skjemaet.",
        "start": dt.datetime(2027, 3, 30, 8, 30, tzinfo=OSLO),
        "end": dt.datetime(2027, 3, 30, 9, 45, tzinfo=OSLO),
        "organizer": KARI,
        "sent_by": "hr@fjordlys.example",
        "attendees": (
            Attendee(KARI, role="CHAIR", rsvp=False, status="ACCEPTED"),
            Attendee(BJORN),
        ),
        "stamp": dt.datetime(2027, 1, 20, 12, 0, tzinfo=dt.UTC),
        "location": "Møterom Fjorden, 2. etasje",
    }
    return Meeting(**{**values, **changes})


def event_of(data: bytes):
    """Return (calendar, its only VEVENT) parsed back with icalendar."""
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


# writing meeting requests --------------------------------------------------------------------


def test_meeting_request_has_every_field_outlook_needs():
    calendar, event = event_of(meeting_ics(meeting()))
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert str(event["UID"]) == "samtale-2027-talk-1003-1001@fjordlys.example"
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["TRANSP"]) == "OPAQUE"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:kari.nordmann@fjordlys.example"
    assert organizer.params["CN"] == "Kari Nordmann"
    assert organizer.params["SENT-BY"] == "mailto:hr@fjordlys.example"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:bjorn-age@fjordlys.example"]["RSVP"] == "TRUE"
    assert attendees["mailto:bjorn-age@fjordlys.example"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:bjorn-age@fjordlys.example"]["CN"] == BJORN.name
    assert attendees["mailto:kari.nordmann@fjordlys.example"]["ROLE"] == "CHAIR"
    assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
    assert event.decoded("DTSTART") == dt.datetime(2027, 3, 30, 8, 30, tzinfo=OSLO)
    assert str(event["LOCATION"]) == "Møterom Fjorden, 2. etasje"
    assert "ta med skjemaet" in str(event["DESCRIPTION"])
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Oslo"]


def test_a_moved_talk_keeps_its_uid_and_a_cancel_says_so():
    first = event_of(meeting_ics(meeting()))[1]
    moved = event_of(meeting_ics(meeting(sequence=1, start=meeting().start + dt.timedelta(1))))
    calendar, cancelled = event_of(meeting_ics(meeting(sequence=2, method=CANCEL)))
    assert moved[1]["UID"] == first["UID"] == cancelled["UID"]
    assert moved[1]["SEQUENCE"] == 1 and cancelled["SEQUENCE"] == 2
    assert str(calendar["METHOD"]) == "CANCEL" and str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["TRANSP"]) == "TRANSPARENT"
    with pytest.raises(ValueError):
        meeting_ics(meeting(method="PUBLISH"))


def test_an_all_day_follow_up_is_free_and_has_no_time_zone():
    day = dt.date(2027, 3, 1)
    calendar, event = event_of(
        meeting_ics(meeting(start=day, end=day + dt.timedelta(days=1), free=True))
    )
    assert event.decoded("DTSTART") == day and str(event["TRANSP"]) == "TRANSPARENT"
    assert str(event["X-MICROSOFT-CDO-BUSYSTATUS"]) == "FREE"
    assert calendar.walk("VTIMEZONE") == []


# VTIMEZONE ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone", ["Europe/Oslo", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"]
)
def test_vtimezone_gives_the_same_offsets_as_the_tz_database(zone):
    component = vtimezone(zone, 2027)
    rules = [c for c in component.subcomponents if c.name in ("STANDARD", "DAYLIGHT")]
    assert len(rules) <= 2 and all("RDATE" not in c for c in rules)  # compact, as Outlook writes
    converted = component.to_tz()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for hours in range(0, 3 * 365 * 24, 5):  # 2026–2028, every 5 hours
        moment = start + dt.timedelta(hours=hours)
        assert (
            moment.astimezone(converted).utcoffset()
            == moment.astimezone(ZoneInfo(zone)).utcoffset()
        ), moment


def test_daylight_saving_change_inside_the_period_keeps_the_wall_time():
    before = meeting(start=dt.datetime(2027, 3, 26, 8, 30, tzinfo=OSLO))
    after = meeting(start=dt.datetime(2027, 3, 29, 8, 30, tzinfo=OSLO))
    for request, offset in ((before, 1), (after, 2)):
        calendar, event = event_of(meeting_ics(request))
        assert "TZID=Europe/Oslo:202703" in meeting_ics(request).decode()
        start = event.decoded("DTSTART")
        assert (start.hour, start.minute) == (8, 30)
        assert start.utcoffset() == dt.timedelta(hours=offset)
        zone = calendar.walk("VTIMEZONE")[0].to_tz()
        assert start.replace(tzinfo=None).replace(tzinfo=zone).utcoffset() == start.utcoffset()


# the archived follow-ups ---------------------------------------------------------------------


def test_agreed_calendar_makes_events_for_dates_and_todos_for_the_rest():
    stamp = dt.datetime(2027, 2, 20, 9, 0, tzinfo=dt.UTC)
    data = agreed_calendar(
        "Medarbeidersamtale 2027 – Ola",
        [
            AgreedItem("u-1", "Oppfølging: kurs", "Ansvarlig: Ola", dt.date(2027, 3, 1)),
            AgreedItem("u-2", "Mål: mentor", "Ansvarlig: Kari", None),
        ],
        stamp,
    )
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    (todo,) = calendar.walk("VTODO")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(days=1)
    assert str(todo["UID"]) == "u-2" and "DTSTART" not in todo
    assert str(calendar["X-WR-CALNAME"]) == "Medarbeidersamtale 2027 – Ola"


# reading exported calendars ------------------------------------------------------------------


def wall(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Return a wall-clock time in February 2027."""
    return dt.datetime(2027, 2, day, hour, minute)


def test_outlook_export_recurring_moved_tentative_free_cancelled_and_all_day():
    busy = read_busy(OUTLOOK, OSLO, dt.date(2027, 2, 1), dt.date(2027, 2, 12))
    assert busy == [
        (wall(1, 9), wall(1, 10)),  # weekly Monday meeting (Windows time zone name)
        (wall(2, 8, 30), wall(2, 11)),  # tentative blocks; the free event that day does not
        # Wednesday 3rd: EXDATE; Thursday 4th: a cancelled seminar
        (wall(5, 0), wall(6, 0)),  # all day out of office
        (wall(8, 13), wall(8, 14)),  # the 8th's occurrence moved to 13:00
        (wall(10, 9), wall(10, 10)),
    ]


def test_google_export_with_cancelled_occurrence_utc_invitation_and_all_day_events():
    busy = read_busy(GOOGLE, OSLO, dt.date(2027, 2, 1), dt.date(2027, 2, 5))
    assert busy == [
        (wall(1, 13), wall(1, 15)),  # 12:00Z is 13:00 in Oslo; the 1st's stand-up is cancelled
        (wall(2, 10), wall(2, 10, 15)),  # stand-up; the birthday (free, all day) does not block
        (wall(3, 10), wall(3, 10, 15)),
        (wall(4, 10), wall(4, 10, 15)),
        (wall(5, 10), wall(5, 10, 15)),
    ]
    holiday = read_busy(GOOGLE, OSLO, dt.date(2027, 2, 10), dt.date(2027, 2, 12))
    assert (wall(10, 0), wall(13, 0)) in holiday


def test_our_own_talks_in_an_export_do_not_block_their_own_time(tmp_path):
    path = tmp_path / "1001.ics"
    start = dt.datetime(2027, 2, 1, 12, tzinfo=OSLO)
    path.write_bytes(meeting_ics(meeting(start=start, end=start + dt.timedelta(minutes=75))))
    uid = meeting().uid
    end = dt.date(2027, 2, 2)
    assert read_busy(path, OSLO, dt.date(2027, 2, 1), end, ignore_uids=[uid]) == []
    assert read_busy(path, OSLO, dt.date(2027, 2, 1), end) == [(wall(1, 12), wall(1, 13, 15))]


def test_daylight_saving_change_moves_utc_events_in_wall_time(tmp_path):
    path = tmp_path / "utc.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:daily-utc@test\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270325T073000Z\r\n"
        "DTEND:20270325T080000Z\r\nRRULE:FREQ=DAILY;COUNT=6\r\nSUMMARY:UTC\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    busy = read_busy(path, OSLO, dt.date(2027, 3, 25), dt.date(2027, 3, 30))
    starts = [start.strftime("%d %H:%M") for start, _ in busy]
    assert starts == ["25 08:30", "26 08:30", "27 08:30", "28 09:30", "29 09:30", "30 09:30"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a calendar at all", "not an iCalendar file"),
        (b"", "holds no VCALENDAR"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270201T090000\r\n"
            b"RRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "",
        ),
    ],
)
def test_a_broken_export_names_the_file_and_the_fix(tmp_path, content, message):
    path = tmp_path / "1002 Ola.ics"
    path.write_bytes(content)
    with pytest.raises(CalendarError) as caught:
        read_busy(path, OSLO, dt.date(2027, 2, 1), dt.date(2027, 2, 5))
    assert str(path) in str(caught.value) and "export the calendar again" in str(caught.value)
    assert message in str(caught.value)
