"""``samtale schedule``: a time for every talk, kept in ``schedule.xlsx`` and the ledger.

Every employee with a manager in the roster gets one talk with that manager. A run:

1. reads the ledger's talks and ``output/<cycle>/schedule.xlsx`` (when there is one). HR's edits
   there win: a new date/time/location, ``cancelled`` in the status, a row added by hand with a
   time, or a row whose times HR emptied (samtale finds it a new time). A row HR deleted is put
   back from the ledger, with a note.
2. books every kept talk, then checks each one: overlap with another talk of either person
   (break included), a weekend or holiday, outside working hours or the period, busy time in an
   imported calendar, more talks a day than allowed. Conflicts are reported and written in the
   Notes column, never "fixed" by moving HR's talk; an overlap or a closed day also keeps the
   talk's invitation from going out until HR fixes it.
3. finds the earliest free time for every pair still without a talk (the rules are in
   ``pipeline.domain.scheduling``), or says why there is none and how many working days the
   period lacks.
4. writes the workbook and the ledger (``--dry-run``: neither). A talk whose time, place or
   status changed after its invitation went out gets the next SEQUENCE: ``samtale send --kind
   invite`` sends the update (or the cancellation) with the same UID.

``--reschedule EMPLOYEE_ID`` (the article: when one side comes unprepared, set a new time) moves
that talk to the next free time after its current day, and at least ``reminder_days`` working
days from today so that both have time to prepare; it may go past the period's last day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pipeline.domain.dates import date_from_text
from pipeline.domain.kinds import FormKind
from pipeline.domain.scheduling import (
    HORIZON_DAYS,
    Interval,
    Pair,
    Placement,
    Planner,
    Rules,
    Talk,
    add_working_days,
    public_holidays,
)
from pipeline.errors import Problem, ProblemsError, ScheduleError
from pipeline.formats.calendar import read_busy
from pipeline.formats.email import address_problem, ascii_domain
from pipeline.formats.roster import Employee, Roster, read_roster
from pipeline.formats.schedule_workbook import (
    ScheduleRow,
    file_state,
    read_schedule,
    write_schedule,
)
from pipeline.state.config import Config, ScheduleConfig, parse_clock, parse_iso_date
from pipeline.state.ledger import FormRecord, Ledger, MeetingRecord
from pipeline.state.workspace import CONFIG_NAME, Workspace, cycle_lock

TALK = "talk"
SCHEDULED, CANCELLED = "scheduled", "cancelled"
SCHEDULE_NAME = "schedule.xlsx"
CALENDARS = "calendars"  # input/calendars/: exported .ics files, one or more per person
LOOKAHEAD_DAYS = 92  # busy time is read this far past the period (for rescheduling)
DEFAULT_WEEKS = 4  # the period when [schedule] last_day is not set
# What the workbook's Status column says (computed from the ledger on every run).
PLANNED, INVITED, UPDATE_DUE, CANCEL_DUE, NO_SLOT, CONFLICT = (
    "planned",
    "invited",
    "update due",
    "cancel due",
    "no slot",
    "conflict",
)


class ScheduleProblems(ProblemsError, ScheduleError):
    """The schedule workbook has cells samtale cannot read."""


@dataclass(frozen=True)
class TalkLine:
    """One talk as the report shows it."""

    employee_id: str
    employee: str
    manager_id: str
    manager: str
    start: dt.datetime | None  # aware, in the schedule's time zone; None without a time
    end: dt.datetime | None
    status: str
    note: str = ""

    def describe(self) -> str:
        """Return one line: who, with whom, when."""
        when = f"{self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}" if self.start else "no time"
        return (
            f"{self.employee} ({self.employee_id}) with {self.manager} ({self.manager_id}): {when}"
        )


@dataclass
class ScheduleReport:
    """What ``schedule_talks`` did (or would do): talks new, moved, cancelled, in conflict."""

    cycle: int
    path: Path
    dry_run: bool
    first_day: dt.date
    last_day: dt.date
    talks: list[TalkLine] = field(default_factory=list)  # every row of the workbook
    new: list[TalkLine] = field(default_factory=list)
    moved: list[TalkLine] = field(default_factory=list)  # HR's changes taken over, rescheduled
    cancelled: list[TalkLine] = field(default_factory=list)  # cancelled in this run
    conflicts: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calendars: int = 0  # exported calendars read
    missing_days: int = 0  # working days the period lacks to fit every talk
    fits_by: dt.date | None = None  # last_day that would fit every talk
    rescheduled: TalkLine | None = None

    @property
    def ok(self) -> bool:
        """Return True when every pair has a talk and no talk is in conflict."""
        return not self.unscheduled and not self.conflicts


@dataclass
class _Entry:
    """One talk while the run works on it: the ledger's record, the workbook's row, the time."""

    employee_id: str
    manager_id: str
    uid: str
    record: MeetingRecord | None = None
    row: ScheduleRow | None = None
    talk: Talk | None = None
    location: str = ""
    status: str = SCHEDULED
    notes: list[str] = field(default_factory=list)
    conflict: str = ""  # blocking conflicts: the invitation waits
    changed: bool = False  # time, place or status differs from what the ledger says
    new: bool = False
    reason: str = ""  # why there is no time (no slot)

    @property
    def live(self) -> bool:
        """Return True for a talk that is to take place."""
        return self.status == SCHEDULED


# --- public API ------------------------------------------------------------------------------


def schedule_talks(
    workspace: Workspace,
    cycle: int,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    reschedule: str | None = None,
    today: dt.date | None = None,
) -> ScheduleReport:
    """Return the report of scheduling every talk of the cycle (and moving one, if asked)."""
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    cycle_dir = workspace.output_dir / str(cycle)
    Ledger.of_cycle(workspace, cycle).close()  # a cycle never generated stops here
    with cycle_lock(cycle_dir, "schedule"):
        run = _Run(workspace, cycle, roster, today or dt.date.today(), dry_run)
        return run.execute(reschedule)


def schedule_rules(config: Config, cycle: int, config_path: Path | str = CONFIG_NAME) -> Rules:
    """Return the scheduling rules of the [schedule] settings (defaults filled in)."""
    settings = config.schedule
    first = parse_iso_date(settings.first_day) if settings.first_day else None
    if first is None:
        deadline = date_from_text(config.mail.deadline) if config.mail.deadline else None
        first = (deadline or dt.date(cycle, 1, 1)) + dt.timedelta(days=1)
    last = parse_iso_date(settings.last_day) if settings.last_day else None
    last = last or first + dt.timedelta(weeks=DEFAULT_WEEKS, days=-1)
    if last < first:
        raise ScheduleError(
            f"{config_path}: [schedule] last_day {last} is before the first day {first} (the day "
            "after [mail] deadline unless first_day is set); set first_day and last_day"
        )
    years = range(first.year - 1, last.year + 3)
    try:
        closed = public_holidays(settings.holidays, years)
    except ValueError as exc:
        raise ScheduleError(f"{config_path}: [schedule] holidays: {exc}") from exc
    lunch = None
    if settings.lunch:
        begin, _, end = settings.lunch.partition("-")
        lunch = (parse_clock(begin), parse_clock(end))
    return Rules(
        first_day=first,
        last_day=last,
        day_start=parse_clock(settings.day_start),
        day_end=parse_clock(settings.day_end),
        talk_minutes=settings.talk_minutes,
        break_minutes=settings.break_minutes,
        margin_minutes=settings.margin_minutes,
        max_talks_per_day=settings.max_talks_per_day,
        lunch=lunch,
        closed=closed,
    )


def talk_uid(cycle: int, employee_id: str, manager_id: str, domain: str) -> str:
    """Return the stable calendar UID of the talk between an employee and their manager."""
    return (
        f"samtale-{cycle}-talk-{quote(employee_id, safe='')}-{quote(manager_id, safe='')}@{domain}"
    )


def uid_domain(config: Config) -> str:
    """Return the domain in UIDs: the sender's, or samtale.invalid when there is none yet."""
    address = config.mail.sender_address.strip()
    if address_problem(address) or address.endswith(".invalid"):
        return "samtale.invalid"
    return ascii_domain(address.rsplit("@", 1)[1]).lower()


def workbook_status(record: MeetingRecord | None, entry_status: str, conflict: str) -> str:
    """Return what the Status column says about a talk."""
    if entry_status == NO_SLOT:
        return NO_SLOT
    invited = record is not None and record.invited_sequence is not None
    behind = invited and record.invited_sequence < record.sequence
    if entry_status == CANCELLED:
        return CANCEL_DUE if behind else CANCELLED
    if conflict:
        return CONFLICT
    if not invited:
        return PLANNED
    return UPDATE_DUE if behind else INVITED


# --- one run ---------------------------------------------------------------------------------


class _Run:
    """One schedule run: inputs read once, entries merged, booked, checked, placed, written."""

    def __init__(self, workspace: Workspace, cycle: int, roster: Roster, today, dry_run: bool):
        self.workspace, self.cycle, self.roster, self.today = workspace, cycle, roster, today
        self.config = workspace.config()
        self.settings: ScheduleConfig = self.config.schedule
        self.zone = ZoneInfo(self.settings.timezone)
        self.rules = schedule_rules(self.config, cycle, workspace.root / CONFIG_NAME)
        self.domain = uid_domain(self.config)
        self.path = workspace.output_dir / str(cycle) / SCHEDULE_NAME
        self.position = {e.id: i for i, e in enumerate(roster.employees)}
        self.names = {e.id: e.name for e in roster.employees}
        self.report = ScheduleReport(
            cycle, self.path, dry_run, self.rules.first_day, self.rules.last_day
        )

    def execute(self, reschedule: str | None) -> ScheduleReport:
        """Return the report after merging, booking, checking, placing and writing."""
        with Ledger(self.workspace.ledger_path(self.cycle)) as ledger:
            records = ledger.meetings(TALK)
            forms = ledger.forms(brief=True)
        before = file_state(self.path)
        rows = read_schedule(self.path) if before is not None else []
        self.read_rows = rows
        entries = self.merge(records, rows)
        planner = Planner(self.rules, self.busy_time(records, entries))
        live = sorted(
            (e for e in entries if e.live and e.talk), key=lambda e: (e.talk.start, e.uid)
        )
        for entry in live:
            planner.book(entry.talk)
        for entry in live:
            self.check(entry, planner)
        if reschedule:
            self.move(reschedule, entries, planner)
        entries += self.place_new(entries, forms, planner)
        self.finish(entries, before)
        return self.report

    # merging the ledger, the workbook and the roster ------------------------------------------

    def merge(self, records: list[MeetingRecord], rows: list[ScheduleRow]) -> list[_Entry]:
        """Return one entry per known talk, HR's workbook edits applied."""
        self.check_rows(rows)
        by_uid = {record.uid: record for record in records}
        self.used_uids = set(by_uid)
        entries, matched = [], set()
        for row in rows:
            record = by_uid.get(row.uid) or self.unmatched_record(row, records, matched)
            if record is not None:
                matched.add(record.uid)
                entries.append(self.from_row(record, row))
            elif row.has_time or row.cancelled:
                entry = self.added_by_hr(row)
                if entry is not None:
                    entries.append(entry)
        for record in records:
            if record.uid not in matched:
                entry = self.from_record(record)
                entry.notes.append(
                    "restored from the ledger: the row was missing from schedule.xlsx (to cancel "
                    "a talk, write cancelled in its Status)"
                )
                entries.append(entry)
        for entry in entries:
            self.follow_roster(entry)
        return entries

    def check_rows(self, rows: list[ScheduleRow]) -> None:
        """Raise ScheduleProblems listing every row samtale cannot read."""
        problems, seen = [], {}
        for row in rows:
            message = row.problem
            filled = [row.date is not None, row.start is not None, row.end is not None]
            if not message and any(filled) and not all(filled):
                message = "give Date, Start and End, or leave all three empty for a new time"
            if not message and row.has_time and row.end <= row.start:
                message = f"End {row.end:%H:%M} is not after Start {row.start:%H:%M}"
            if not message and not row.employee_id:
                message = "Employee ID is empty"
            if not message and row.uid and row.uid in seen:
                message = f"Talk ID {row.uid} is also in row {seen[row.uid]}; delete one of them"
            seen.setdefault(row.uid, row.row)
            if message:
                problems.append(
                    Problem(
                        str(self.path),
                        message,
                        "correct it and run schedule again",
                        "schedule",
                        row.row,
                    )
                )
        if problems:
            raise ScheduleProblems("The schedule workbook has cells samtale cannot read", problems)

    def unmatched_record(self, row, records, matched) -> MeetingRecord | None:
        """Return the employee's talk for a row without a known Talk ID, when there is one."""
        if row.uid:
            return None
        for record in records:
            if record.employee_id == row.employee_id and record.uid not in matched:
                return record
        return None

    def from_record(self, record: MeetingRecord) -> _Entry:
        """Return the entry of a talk as the ledger holds it."""
        start = self.wall(record.start)
        end = self.wall(record.end)
        talk = Talk(record.employee_id, record.manager_id, start, end) if start and end else None
        return _Entry(
            record.employee_id,
            record.manager_id,
            record.uid,
            record=record,
            talk=talk,
            location=record.location,
            status=record.status,
        )

    def from_row(self, record: MeetingRecord, row: ScheduleRow) -> _Entry:
        """Return the entry of a known talk with HR's edits in its row applied."""
        entry = self.from_record(record)
        entry.row = row
        if row.cancelled and entry.live:
            entry.status, entry.changed = CANCELLED, True
            entry.notes.append("cancelled by HR in schedule.xlsx")
            return entry
        if row.cancelled:
            return entry
        if not row.has_time:  # HR emptied the times: find a new one
            entry.talk, entry.changed = None, True
            entry.status = SCHEDULED
            entry.notes.append("HR emptied the time: a new time was looked for")
            return entry
        start, end = row.times()
        moved = entry.talk is None or (start, end) != (entry.talk.start, entry.talk.end)
        if moved or row.location != entry.location or not entry.live:
            if not entry.live:
                entry.notes.append("reinstated by HR in schedule.xlsx")
            elif moved:
                entry.notes.append("time set by HR in schedule.xlsx")
            entry.talk = Talk(entry.employee_id, entry.manager_id, start, end)
            entry.location, entry.status, entry.changed = row.location, SCHEDULED, True
        return entry

    def added_by_hr(self, row: ScheduleRow) -> _Entry | None:
        """Return the entry of a talk HR wrote into the workbook by hand."""
        employee = self.roster.by_id.get(row.employee_id)
        manager = self.roster.manager_of(employee) if employee else None
        if employee is None or manager is None:
            self.report.warnings.append(
                f"{self.path.name} row {row.row}: employee {row.employee_id} is not in the roster "
                "with a manager; the row was left out"
            )
            return None
        uid = self.new_uid(employee.id, manager.id)
        entry = _Entry(employee.id, manager.id, uid, row=row, location=row.location)
        if row.cancelled:  # no talk for this person (on leave …): kept in the workbook only
            entry.status = CANCELLED
            entry.notes.append("cancelled by HR in schedule.xlsx")
            return entry
        start, end = row.times()
        entry.talk = Talk(employee.id, manager.id, start, end)
        entry.changed = entry.new = True
        entry.notes.append("time set by HR in schedule.xlsx")
        return entry

    def new_uid(self, employee_id: str, manager_id: str) -> str:
        """Return the UID of a new talk: the pair's, or with -2, -3 … when HR adds another."""
        uid = talk_uid(self.cycle, employee_id, manager_id, self.domain)
        local, _, domain = uid.partition("@")
        number = 1
        while uid in self.used_uids:
            number += 1
            uid = f"{local}-{number}@{domain}"
        self.used_uids.add(uid)
        return uid

    def follow_roster(self, entry: _Entry) -> None:
        """Cancel a talk whose employee left the roster or has another manager now."""
        if not entry.live:
            return
        employee = self.roster.by_id.get(entry.employee_id)
        if employee is None:
            note = "cancelled: the employee is not in the roster any more"
        elif employee.manager_id != entry.manager_id:
            note = "cancelled: the roster names another manager (a new talk is scheduled)"
        else:
            return
        entry.status, entry.changed = CANCELLED, True
        entry.notes.append(note)

    # busy time ----------------------------------------------------------------------------------

    def busy_time(self, records: list[MeetingRecord], entries) -> dict[str, list[Interval]]:
        """Return the busy intervals of every person with an exported calendar."""
        folder = self.workspace.input_dir / CALENDARS
        if not folder.is_dir():
            return {}
        first = min(self.rules.first_day, self.today) - dt.timedelta(days=1)
        last = max(self.rules.last_day, self.today) + dt.timedelta(days=LOOKAHEAD_DAYS)
        ours = {record.uid for record in records} | {entry.uid for entry in entries}
        busy: dict[str, list[Interval]] = {}
        for path in sorted(folder.glob("*.ics")):
            person = self.owner_of(path)
            if person is None:
                self.report.warnings.append(
                    f"{path}: not matched to anyone in the roster; name the file by the person's "
                    "employee id or email address (1002.ics, kari.nordmann@fjordlys.example.ics)"
                )
                continue
            busy.setdefault(person.id, []).extend(read_busy(path, self.zone, first, last, ours))
            self.report.calendars += 1
        return busy

    def owner_of(self, path: Path) -> Employee | None:
        """Return the person whose calendar ``path`` is: its name starts with their id or email."""
        stem = path.stem.strip().lower()
        for employee in self.roster.employees:
            email = employee.email.strip().lower()
            if stem == employee.id.lower() or (email and stem == email):
                return employee
        for employee in self.roster.employees:
            rest = stem[len(employee.id) :]
            if stem.startswith(employee.id.lower()) and rest[:1] in (" ", "-", "_", "."):
                return employee
        return None

    # checking kept talks ------------------------------------------------------------------------

    def check(self, entry: _Entry, planner: Planner) -> None:
        """Note the conflicts of a kept talk; blocking ones hold back its invitation."""
        found = planner.conflicts(entry.talk, self.names)
        if not found:
            return
        texts = [conflict.text for conflict in found]
        entry.notes.extend(texts)
        entry.conflict = "; ".join(c.text for c in found if c.blocking)
        who = self.line(entry).describe()
        self.report.conflicts.append(f"{who}: {'; '.join(texts)}")

    # moving one talk (--reschedule) -------------------------------------------------------------

    def move(self, employee_id: str, entries: list[_Entry], planner: Planner) -> None:
        """Move the employee's talk to the next free time (update due when it was invited)."""
        entry = next((e for e in entries if e.employee_id == employee_id and e.live), None)
        if entry is None or entry.talk is None:
            raise ScheduleError(
                f"no scheduled talk for employee {employee_id} in cycle {self.cycle}; check the "
                "id, or run samtale schedule first"
            )
        old = entry.talk
        planner.unbook(old)
        first = max(
            add_working_days(old.day, 1, self.rules),
            add_working_days(self.today, self.settings.reminder_days, self.rules),
        )
        pair = Pair(entry.employee_id, entry.manager_id, first)
        talk = planner.first_fit(pair, first, first + dt.timedelta(days=HORIZON_DAYS))
        if talk is None:
            planner.book(old)
            raise ScheduleError(
                f"no free time for {self.names.get(employee_id, employee_id)}'s talk in the "
                f"{HORIZON_DAYS} days from {first}; check the [schedule] settings"
            )
        planner.book(talk)
        entry.talk, entry.changed, entry.conflict = talk, True, ""
        entry.notes = [f"rescheduled from {old.start:%Y-%m-%d %H:%M}"]
        if talk.day > self.rules.last_day:
            entry.notes.append(f"after the period's last day {self.rules.last_day}")
        self.report.rescheduled = self.line(entry)

    # placing the pairs without a talk ---------------------------------------------------------

    def place_new(self, entries, forms: list[FormRecord], planner: Planner) -> list[_Entry]:
        """Return entries for every roster pair without a live talk (placed, or why not)."""
        waiting = {e.employee_id: e for e in entries if e.live and e.talk is None}
        # A pair with a talk, or whose talk HR cancelled, gets no new one.
        known = {(e.employee_id, e.manager_id) for e in entries if e.talk or not e.live}
        sent = handed_out_days(forms, self.zone)
        pairs = []
        for employee in self.pair_order():
            if (employee.id, employee.manager_id) in known:
                continue
            manager = self.roster.manager_of(employee)
            handed = sent.get(employee.id, self.today)
            earliest = add_working_days(handed, self.settings.prep_days, self.rules)
            pairs.append(Pair(employee.id, manager.id, earliest))
        created = []
        for placement in planner.schedule(pairs):
            entry = waiting.get(placement.pair.employee_id)
            if entry is None:
                entry = self.new_entry(placement.pair)
                created.append(entry)
            self.apply(entry, placement)
        return created

    def pair_order(self) -> list[Employee]:
        """Return the employees with a manager in the roster: by manager, then roster order."""
        with_manager = [e for e in self.roster.employees if self.roster.manager_of(e)]
        return sorted(
            with_manager, key=lambda e: (self.position[e.manager_id], self.position[e.id])
        )

    def new_entry(self, pair: Pair) -> _Entry:
        """Return a new entry for a pair that had no talk."""
        uid = self.new_uid(pair.employee_id, pair.manager_id)
        entry = _Entry(pair.employee_id, pair.manager_id, uid, location=self.settings.location)
        entry.new = entry.changed = True
        return entry

    def apply(self, entry: _Entry, placement: Placement) -> None:
        """Give the entry its placement's time, or the reason it has none."""
        entry.talk = placement.talk
        if placement.talk is None:
            entry.reason = entry.conflict = placement.reason
            entry.notes.append(placement.reason)
            self.report.unscheduled.append(f"{self.line(entry).describe()}: {placement.reason}")
            if placement.fits_on and (
                self.report.fits_by is None or placement.fits_on > self.report.fits_by
            ):
                self.report.fits_by = placement.fits_on
                self.report.missing_days = placement.missing_days

    # writing ------------------------------------------------------------------------------------

    def finish(self, entries: list[_Entry], before) -> None:
        """Write the workbook and the ledger (unless dry run) and fill in the report."""
        entries.sort(key=self.entry_order)
        records, rows = [], []
        for entry in entries:
            record = self.record_of(entry)
            status = NO_SLOT if entry.live and entry.talk is None else entry.status
            rows.append(self.row_of(entry, workbook_status(record, status, entry.conflict)))
            if record is not None:
                records.append(record)
            line = self.line(entry, rows[-1].status)
            self.report.talks.append(line)
            if entry.new and entry.talk is not None and entry.live:
                self.report.new.append(line)
            elif entry.changed and entry.live and entry.talk is not None:
                self.report.moved.append(line)
            elif entry.changed and entry.status == CANCELLED:
                self.report.cancelled.append(line)
        if self.report.dry_run:
            return
        if before is None or row_values(rows) != row_values(self.read_rows):
            write_schedule(self.path, rows, before)  # an unchanged workbook is left as it is
        with Ledger(self.workspace.ledger_path(self.cycle)) as ledger:
            ledger.save_meetings(records)

    def entry_order(self, entry: _Entry) -> tuple:
        """Return the workbook order: by manager, then time, then the employee."""
        far = dt.datetime.max
        return (
            self.position.get(entry.manager_id, len(self.position)),
            entry.manager_id,
            entry.talk.start if entry.talk else far,
            self.position.get(entry.employee_id, len(self.position)),
            entry.uid,
        )

    def record_of(self, entry: _Entry) -> MeetingRecord | None:
        """Return the ledger record of an entry (None for a pair that never had a time)."""
        old = entry.record
        if entry.talk is None and (old is None or entry.status == SCHEDULED):
            if old is None:
                return None
            return self.updated(old, entry, old.start, old.end)  # waits for a new time
        start = self.aware(entry.talk.start).isoformat() if entry.talk else old.start
        end = self.aware(entry.talk.end).isoformat() if entry.talk else old.end
        if old is None:
            return MeetingRecord(
                entry.uid,
                TALK,
                entry.employee_id,
                entry.manager_id,
                start,
                end,
                entry.location,
                entry.status,
                conflict=entry.conflict,
            )
        return self.updated(old, entry, start, end)

    def updated(self, old: MeetingRecord, entry: _Entry, start: str, end: str) -> MeetingRecord:
        """Return ``old`` with the entry's time, place and status; next SEQUENCE once invited."""
        changed = (start, end, entry.location, entry.status) != (
            old.start,
            old.end,
            old.location,
            old.status,
        )
        sequence = old.sequence
        if changed and old.invited_sequence is not None and old.invited_sequence >= old.sequence:
            sequence += 1
        return MeetingRecord(
            old.uid,
            TALK,
            old.employee_id,
            old.manager_id,
            start,
            end,
            entry.location,
            entry.status,
            sequence,
            old.invited_sequence,
            entry.conflict,
        )

    def row_of(self, entry: _Entry, status: str) -> ScheduleRow:
        """Return the workbook row of an entry."""
        talk = entry.talk
        return ScheduleRow(
            employee_id=entry.employee_id,
            employee=self.names.get(entry.employee_id, entry.row.employee if entry.row else ""),
            manager_id=entry.manager_id,
            manager=self.names.get(entry.manager_id, entry.row.manager if entry.row else ""),
            date=talk.day if talk else None,
            start=talk.start.time() if talk else None,
            end=talk.end.time() if talk else None,
            location=entry.location,
            status=status,
            notes="; ".join(dict.fromkeys(entry.notes)),
            uid=entry.uid if entry.record or entry.talk else "",
        )

    def line(self, entry: _Entry, status: str = "") -> TalkLine:
        """Return the report line of an entry."""
        talk = entry.talk
        return TalkLine(
            entry.employee_id,
            self.names.get(entry.employee_id, entry.employee_id),
            entry.manager_id,
            self.names.get(entry.manager_id, entry.manager_id),
            self.aware(talk.start) if talk else None,
            self.aware(talk.end) if talk else None,
            status or entry.status,
            "; ".join(entry.notes),
        )

    # time zones ---------------------------------------------------------------------------------

    def wall(self, text: str) -> dt.datetime | None:
        """Return an ISO time from the ledger as wall-clock time in the schedule's zone."""
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def aware(self, wall: dt.datetime) -> dt.datetime:
        """Return a wall-clock time as an aware time in the schedule's zone."""
        return wall.replace(tzinfo=self.zone)


def row_values(rows: list[ScheduleRow]) -> list[tuple]:
    """Return what the workbook shows of each row (not where it was read from)."""
    return [astuple(replace(row, row=0, problem="")) for row in rows]


def handed_out_days(forms: list[FormRecord], zone: ZoneInfo) -> dict[str, dt.date]:
    """Return, per employee, the day the later of their two prep forms was handed out."""
    days: dict[str, list[dt.date | None]] = {}
    for form in forms:
        if form.kind not in (FormKind.EMPLOYEE, FormKind.MANAGER):
            continue
        day = None
        if form.handed_out_at:
            moment = dt.datetime.fromisoformat(form.handed_out_at)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            day = moment.astimezone(zone).date()
        days.setdefault(form.employee_id, []).append(day)
    return {
        employee_id: max(found)
        for employee_id, found in days.items()
        if len(found) == 2 and None not in found
    }
