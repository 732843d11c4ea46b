"""Finding times for the talks: working days, working hours, breaks, busy time, daily limits.

Pure and deterministic: the same pairs, rules, busy time and kept talks give the same schedule.
Times are naive wall-clock times in the schedule's time zone (08:30 is 08:30 on either side of a
daylight-saving change, which happens at night, outside working hours); the caller converts them
to and from aware datetimes at the edges.

The planner books greedily, manager by manager in roster order and each manager's reports in
roster order, at the earliest start that fits both people. That gathers a manager's talks on a
few consecutive days, as the article advises ("samle samtalene over en periode"). A talk that
does not fit in the period is still placed on a later day (up to a year on), only to say how many
working days the period lacks; it is reported, never booked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import holidays

Interval = tuple[dt.datetime, dt.datetime]

WEEKEND = (5, 6)  # Saturday, Sunday
HORIZON_DAYS = 366  # how far past the period the planner looks to say how many days are missing

# What a kept talk's check may find. Blocking ones stop its invitation from going out.
OVERLAP, CLOSED_DAY, UNREADABLE = "overlap", "closed day", "unreadable"
OUTSIDE_HOURS, BUSY, DAILY_LIMIT, OUTSIDE_PERIOD = (
    "outside hours",
    "busy",
    "daily limit",
    "outside period",
)
BLOCKING = (OVERLAP, CLOSED_DAY, UNREADABLE)


@dataclass(frozen=True)
class Rules:
    """When talks may take place: the period, working hours, length, breaks and limits."""

    first_day: dt.date
    last_day: dt.date
    day_start: dt.time = dt.time(8, 30)
    day_end: dt.time = dt.time(15, 30)
    talk_minutes: int = 75
    break_minutes: int = 15  # between two talks of the same person
    margin_minutes: int = 15  # kept free before and after a person's other meetings
    max_talks_per_day: int = 4  # talks one manager holds on one day
    lunch: tuple[dt.time, dt.time] | None = (dt.time(11, 30), dt.time(12, 0))
    step_minutes: int = 15  # talks start on the quarter hour
    closed: Mapping[dt.date, str] = field(default_factory=dict)  # public holidays: date -> name

    @property
    def talk_length(self) -> dt.timedelta:
        """Return the length of one talk."""
        return dt.timedelta(minutes=self.talk_minutes)

    def closed_reason(self, day: dt.date) -> str:
        """Return why no talk can be held on ``day`` ("Saturday", a holiday's name), or ""."""
        if day.weekday() in WEEKEND:
            return day.strftime("%A")
        return self.closed.get(day, "")

    def is_working_day(self, day: dt.date) -> bool:
        """Return True on a weekday that is not a public holiday."""
        return not self.closed_reason(day)


@dataclass(frozen=True)
class Pair:
    """One talk to find a time for: an employee, their manager, and the earliest day allowed."""

    employee_id: str
    manager_id: str
    earliest: dt.date


@dataclass(frozen=True)
class Talk:
    """One talk with a time: who, and from when to when (wall-clock time)."""

    employee_id: str
    manager_id: str
    start: dt.datetime
    end: dt.datetime

    @property
    def day(self) -> dt.date:
        """Return the day of the talk."""
        return self.start.date()

    @property
    def people(self) -> tuple[str, str]:
        """Return the ids of the two people in the talk (manager first)."""
        return (self.manager_id, self.employee_id)


@dataclass(frozen=True)
class Placement:
    """Where a pair ended up: a talk in the period, or why there is none."""

    pair: Pair
    talk: Talk | None  # None when the pair got no slot in the period
    reason: str = ""  # why not, with what would fix it
    fits_on: dt.date | None = None  # the first day it would fit, past the period
    missing_days: int = 0  # working days the period lacks for this talk


@dataclass(frozen=True)
class Conflict:
    """Something wrong with a talk's time, as HR set it: what and why."""

    kind: str  # OVERLAP, CLOSED_DAY, OUTSIDE_HOURS, BUSY, DAILY_LIMIT, OUTSIDE_PERIOD …
    text: str

    @property
    def blocking(self) -> bool:
        """Return True when no invitation may go out for this time."""
        return self.kind in BLOCKING


def add_working_days(day: dt.date, count: int, rules: Rules) -> dt.date:
    """Return the working day ``count`` working days after ``day`` (``day`` itself for 0)."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        count -= rules.is_working_day(current)
    return current


def working_days_between(after: dt.date, until: dt.date, rules: Rules) -> int:
    """Return how many working days lie after ``after`` up to and including ``until``."""
    count, current = 0, after
    while current < until:
        current += dt.timedelta(days=1)
        count += rules.is_working_day(current)
    return count


def ceil_to_step(moment: dt.datetime, step_minutes: int) -> dt.datetime:
    """Return ``moment`` rounded up to the next start on the step (xx:00, xx:15 …)."""
    minutes = moment.hour * 60 + moment.minute + (moment.second or moment.microsecond > 0)
    rounded = -(-minutes // step_minutes) * step_minutes
    midnight = dt.datetime.combine(moment.date(), dt.time())
    return midnight + dt.timedelta(minutes=rounded)


class Planner:
    """The people's time as booked so far: talks, other meetings, and talks per manager per day."""

    def __init__(self, rules: Rules, busy: Mapping[str, Iterable[Interval]] | None = None):
        self.rules = rules
        self.breaks = dt.timedelta(minutes=rules.break_minutes)
        self.margin = dt.timedelta(minutes=rules.margin_minutes)
        self.talks: dict[tuple[str, dt.date], list[Talk]] = {}
        self.busy: dict[tuple[str, dt.date], list[Interval]] = {}
        self.held: dict[tuple[str, dt.date], int] = {}  # talks a manager holds on a day
        for person, intervals in (busy or {}).items():
            for interval in intervals:
                self.add_busy(person, interval)

    def add_busy(self, person: str, interval: Interval) -> None:
        """Record a meeting (or absence) of ``person``; it may span several days."""
        start, end = interval
        day = start.date()
        while day <= end.date():
            self.busy.setdefault((person, day), []).append(interval)
            day += dt.timedelta(days=1)

    def book(self, talk: Talk) -> None:
        """Record ``talk`` in both people's time."""
        for person in talk.people:
            self.talks.setdefault((person, talk.day), []).append(talk)
        key = (talk.manager_id, talk.day)
        self.held[key] = self.held.get(key, 0) + 1

    def unbook(self, talk: Talk) -> None:
        """Remove ``talk`` again (when it is being moved)."""
        for person in talk.people:
            self.talks[(person, talk.day)].remove(talk)
        self.held[(talk.manager_id, talk.day)] -= 1

    def schedule(self, pairs: Iterable[Pair]) -> list[Placement]:
        """Return a placement for every pair, booking each talk found in the period."""
        placements = []
        for pair in pairs:
            placement = self.place(pair)
            placements.append(placement)
        return placements

    def place(self, pair: Pair, after: dt.datetime | None = None) -> Placement:
        """Return the pair's placement at the earliest free start (after ``after``), booked."""
        rules = self.rules
        first = max(pair.earliest, rules.first_day)
        if after is not None:
            first = max(first, after.date())
        talk = self.first_fit(pair, first, first + dt.timedelta(days=HORIZON_DAYS), after)
        if talk is None:
            reason = (
                f"no free time in the {HORIZON_DAYS} days from {first.isoformat()}; check the "
                "working hours, talk length and lunch in [schedule], and the imported calendars"
            )
            return Placement(pair, None, reason)
        self.book(talk)
        if talk.day <= rules.last_day:
            return Placement(pair, talk)
        return self.too_late(pair, talk)

    def too_late(self, pair: Pair, talk: Talk) -> Placement:
        """Return the placement of a talk that only fits after the period's last day."""
        rules = self.rules
        missing = working_days_between(rules.last_day, talk.day, rules)
        start = ""
        if pair.earliest > rules.first_day:
            start = f" (it cannot start before {pair.earliest.isoformat()}, when both have had "
            start += "time to prepare)"
        reason = (
            f"the period {rules.first_day.isoformat()}–{rules.last_day.isoformat()} is "
            f"{missing} working day(s) too short{start}: the first free time is "
            f"{talk.start:%Y-%m-%d %H:%M}. Set last_day = {talk.day.isoformat()} (or later) "
            "under [schedule] in samtale.toml, allow more talks per day, or move a talk by hand "
            "in schedule.xlsx"
        )
        return Placement(pair, None, reason, talk.day, missing)

    def first_fit(
        self, pair: Pair, first: dt.date, last: dt.date, after: dt.datetime | None = None
    ) -> Talk | None:
        """Return the earliest free talk for ``pair`` between the two days, or None."""
        day = first
        while day <= last:
            if self.rules.is_working_day(day) and self.has_room(pair.manager_id, day):
                start = self.free_start(pair, day, after)
                if start is not None:
                    return Talk(
                        pair.employee_id, pair.manager_id, start, start + self.rules.talk_length
                    )
            day += dt.timedelta(days=1)
        return None

    def has_room(self, manager_id: str, day: dt.date) -> bool:
        """Return True when the manager holds fewer talks that day than the limit."""
        return self.held.get((manager_id, day), 0) < self.rules.max_talks_per_day

    def free_start(
        self, pair: Pair, day: dt.date, after: dt.datetime | None = None
    ) -> dt.datetime | None:
        """Return the earliest start on ``day`` that fits both people, or None."""
        rules = self.rules
        start = dt.datetime.combine(day, rules.day_start)
        if after is not None and after > start:
            start = after
        start = ceil_to_step(start, rules.step_minutes)
        close = dt.datetime.combine(day, rules.day_end)
        people = (pair.manager_id, pair.employee_id)
        while start + rules.talk_length <= close:
            blocked_until = self.blocked_until(people, start, start + rules.talk_length)
            if blocked_until is None:
                return start
            start = ceil_to_step(
                max(blocked_until, start + dt.timedelta(minutes=1)), rules.step_minutes
            )
        return None

    def blocked_until(
        self, people: Iterable[str], start: dt.datetime, end: dt.datetime, skip: Talk | None = None
    ) -> dt.datetime | None:
        """Return when the last thing in the way of [start, end) ends (with its gap), or None."""
        latest = None
        for blocker_end in self.blockers(people, start, end, skip):
            latest = blocker_end if latest is None else max(latest, blocker_end)
        return latest

    def blockers(
        self, people: Iterable[str], start: dt.datetime, end: dt.datetime, skip: Talk | None = None
    ) -> Iterable[dt.datetime]:
        """Yield the end (plus break or margin) of everything that overlaps [start, end)."""
        lunch = self.rules.lunch
        if lunch:
            lunch_start = dt.datetime.combine(start.date(), lunch[0])
            lunch_end = dt.datetime.combine(start.date(), lunch[1])
            if start < lunch_end and lunch_start < end:
                yield lunch_end
        for person in people:
            for day in {start.date(), end.date()}:
                for talk in self.talks.get((person, day), ()):
                    if talk is not skip and overlaps(talk.start, talk.end, start, end, self.breaks):
                        yield talk.end + self.breaks
                for busy_start, busy_end in self.busy.get((person, day), ()):
                    if overlaps(busy_start, busy_end, start, end, self.margin):
                        yield busy_end + self.margin

    def conflicts(self, talk: Talk, names: Mapping[str, str] | None = None) -> list[Conflict]:
        """Return what is wrong with ``talk``'s time (it must be booked already)."""
        rules, names = self.rules, names or {}
        found = []
        closed = rules.closed_reason(talk.day)
        if closed:
            found.append(Conflict(CLOSED_DAY, f"{talk.day.isoformat()} is {closed}"))
        opening = dt.datetime.combine(talk.day, rules.day_start)
        closing = dt.datetime.combine(talk.day, rules.day_end)
        if talk.start < opening or talk.end > closing or talk.end.date() != talk.day:
            found.append(
                Conflict(
                    OUTSIDE_HOURS,
                    f"{talk.start:%H:%M}–{talk.end:%H:%M} is outside the working hours "
                    f"{rules.day_start:%H:%M}–{rules.day_end:%H:%M}",
                )
            )
        if not rules.first_day <= talk.day <= rules.last_day:
            found.append(
                Conflict(
                    OUTSIDE_PERIOD,
                    f"{talk.day.isoformat()} is outside the period "
                    f"{rules.first_day.isoformat()}–{rules.last_day.isoformat()}",
                )
            )
        found += self.overlaps_of(talk, names)
        held = self.held.get((talk.manager_id, talk.day), 0)
        if held > rules.max_talks_per_day:
            who = names.get(talk.manager_id, talk.manager_id)
            found.append(
                Conflict(
                    DAILY_LIMIT,
                    f"{who} holds {held} talks on {talk.day.isoformat()}, more than "
                    f"max_talks_per_day = {rules.max_talks_per_day}",
                )
            )
        return found

    def overlaps_of(self, talk: Talk, names: Mapping[str, str]) -> list[Conflict]:
        """Return the other talks and meetings too close to ``talk`` for either person."""
        found = []
        for person in talk.people:
            who = names.get(person, person)
            for other in self.talks.get((person, talk.day), ()):
                if other is not talk and overlaps(
                    other.start, other.end, talk.start, talk.end, self.breaks
                ):
                    with_whom = (
                        other.employee_id if other.manager_id == person else other.manager_id
                    )
                    found.append(
                        Conflict(
                            OVERLAP,
                            f"{who} has another talk (with {names.get(with_whom, with_whom)}) "
                            f"{other.start:%H:%M}–{other.end:%H:%M}, with less than the "
                            f"{self.rules.break_minutes}-minute break between",
                        )
                    )
            for busy_start, busy_end in self.busy.get((person, talk.day), ()):
                if overlaps(busy_start, busy_end, talk.start, talk.end, self.margin):
                    found.append(
                        Conflict(
                            BUSY,
                            f"{who}'s calendar is busy {busy_start:%Y-%m-%d %H:%M}–"
                            f"{busy_end:%H:%M} (with a {self.rules.margin_minutes}-minute "
                            "margin)",
                        )
                    )
        return found


def overlaps(
    a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime, gap
) -> bool:
    """Return True when [a_start, a_end) and [b_start, b_end) are closer than ``gap``."""
    return a_start < b_end + gap and b_start < a_end + gap


def public_holidays(country: str, years: Iterable[int]) -> dict[dt.date, str]:
    """Return {date: name} of the country's public holidays (the maintained holidays package)."""
    try:
        found = holidays.country_holidays(country, years=list(years), language="en_US")
    except NotImplementedError as exc:
        raise ValueError(
            f"no public holidays are known for country {country!r}; write a code like NO"
        ) from exc
    return dict(sorted(found.items()))
