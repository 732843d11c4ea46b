"""Scheduling the talks: slots with breaks and limits, holidays, DST, busy calendars, HR's moves."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.schedule import (
    SCHEDULE_NAME,
    ScheduleProblems,
    schedule_rules,
    schedule_talks,
)
from pipeline.commands.status import cycle_status
from pipeline.domain.scheduling import Pair, Planner, Rules, Talk, public_holidays
from pipeline.errors import ConfigError, ExitCode, ScheduleError, WorkbookLockedError
from pipeline.formats.schedule_workbook import read_schedule
from pipeline.state.ledger import FormRecord, Ledger
from pipeline.state.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
CALENDARS = REPO / "tests" / "data" / "calendars"
CYCLE = 2027
TODAY = dt.date(2027, 1, 20)
OSLO = ZoneInfo("Europe/Oslo")
# id, name, manager, email, language
PEOPLE = [
    ("1000", "Åse Marit Fjellheim-Østby", "", "ase.fjellheim-ostby@fjordlys.example", "nb"),
    ("1001", "Kari Nordmann", "1000", "kari.nordmann@fjordlys.example", "nb"),
    ("1002", "Ola Ødegård", "1001", "ola.odegard@fjordlys.example", "nb"),
    ("1003", "Bjørn-Åge Sæther Kvalsvik-Lindqvist", "1001", "bjorn-age@fjordlys.example", "nb"),
    ("1004", "Priya Raman", "1001", "priya.raman@fjordlys.example", "en"),
    ("1005", "Tor Ærlig", "1000", "tor.aerlig@fjordlys.example", "nb"),
]
CONFIG = """\
[organisation]
name = "Fjordlys Energi AS"

[mail]
sender_name = "HR i Fjordlys Energi"
sender_address = "hr@fjordlys.example"
deadline = 2027-01-29

[schedule]
{schedule}
"""
FEBRUARY = 'first_day = 2027-02-01\nlast_day = 2027-02-12\nlocation = "Møterom Fjorden"'


class Company:
    """A workspace with a roster workbook, a config, and prep forms handed out in the ledger."""

    def __init__(self, root: Path, schedule: str = FEBRUARY, people=PEOPLE):
        root.mkdir(parents=True, exist_ok=True)
        self.ws = Workspace.at(root, templates_dir=REPO / "templates")
        (root / "samtale.toml").write_text(CONFIG.format(schedule=schedule), encoding="utf-8")
        self.write_roster(people)
        self.path = self.ws.cycle_dir(CYCLE) / SCHEDULE_NAME
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            for person_id, _, manager, *_ in people:
                for kind in ("employee", "manager") if manager else ():
                    ledger.record_form(
                        FormRecord(
                            person_id, kind, f"forms/{person_id}-{kind}.docx", "sha", "in", "v1",
                            "nb", "[]", "sent", "2027-01-14T09:00:00+00:00",
                            "2027-01-15T09:00:00+00:00",
                        )
                    )  # fmt: skip

    def write_roster(self, people) -> None:
        """Write the roster workbook with Norwegian headers."""
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Språk"])
        for person_id, name, manager, email, language in people:
            sheet.append([person_id, name, email, manager, "Drift", language])
        self.ws.input_dir.mkdir(exist_ok=True)
        book.save(self.ws.roster_path)

    def run(self, **kwargs):
        """Run schedule_talks for the cycle (today is fixed)."""
        kwargs.setdefault("today", TODAY)
        return schedule_talks(self.ws, CYCLE, **kwargs)

    def rows(self) -> dict:
        """Return the workbook rows by employee id (the live ones win over cancelled ones)."""
        found = {}
        for row in read_schedule(self.path):
            if row.employee_id not in found or row.status != "cancelled":
                found[row.employee_id] = row
        return found

    def talks(self) -> dict:
        """Return the ledger's talks by UID."""
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            return {record.uid: record for record in ledger.meetings("talk")}

    def talk_of(self, employee_id: str):
        """Return the live ledger talk of one employee."""
        live = [t for t in self.talks().values() if t.employee_id == employee_id]
        return next(t for t in live if t.status == "scheduled")

    def edit(self, employee_id: str, **cells) -> None:
        """Change cells of one employee's row in schedule.xlsx, as HR would in Excel."""
        book = openpyxl.load_workbook(self.path)
        sheet = book.active
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if (
                str(row[0].value) == employee_id
                and row[header.index("Status")].value != "cancelled"
            ):
                for name, value in cells.items():
                    row[header.index(name)].value = value
        book.save(self.path)

    def delete_row(self, employee_id: str) -> None:
        """Delete one employee's row from schedule.xlsx."""
        book = openpyxl.load_workbook(self.path)
        sheet = book.active
        for row in sheet.iter_rows(min_row=2):
            if str(row[0].value) == employee_id:
                sheet.delete_rows(row[0].row)
                break
        book.save(self.path)

    def invited(self, employee_id: str) -> None:
        """Record that the employee's talk was invited at its current SEQUENCE (as send does)."""
        talk = self.talk_of(employee_id)
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger, ledger.transaction():
            ledger.mark_meeting_invited(talk)


@pytest.fixture
def company(tmp_path) -> Company:
    """Return the company of PEOPLE scheduled over two weeks of February 2027."""
    return Company(tmp_path / "ws")


def assert_valid(report, rules: Rules) -> None:
    """Assert: nobody double-booked (break kept), daily limit, hours, working days."""
    talks = [t for t in report.talks if t.start and t.status != "cancelled"]
    by_person = defaultdict(list)
    held = defaultdict(int)
    for talk in talks:
        start, end = talk.start.replace(tzinfo=None), talk.end.replace(tzinfo=None)
        assert rules.is_working_day(start.date()), talk
        assert rules.day_start <= start.time() and end.time() <= rules.day_end, talk
        assert end - start == dt.timedelta(minutes=rules.talk_minutes)
        held[(talk.manager_id, start.date())] += 1
        for person in (talk.employee_id, talk.manager_id):
            by_person[person].append((start, end))
    for times in by_person.values():
        times.sort()
        for (_, end), (start, _) in zip(times, times[1:], strict=False):
            assert start >= end + dt.timedelta(minutes=rules.break_minutes)
    assert max(held.values()) <= rules.max_talks_per_day


# finding slots --------------------------------------------------------------------------------


def test_every_pair_gets_a_slot_with_breaks_and_a_daily_limit(tmp_path):
    company = Company(tmp_path / "ws", FEBRUARY + "\nmax_talks_per_day = 2")
    report = company.run()
    assert report.ok and not report.unscheduled and len(report.new) == 5
    rules = schedule_rules(company.ws.config(), CYCLE)
    assert_valid(report, rules)
    kari = [t for t in report.talks if t.manager_id == "1001"]
    assert len({t.start.date() for t in kari}) == 2  # three talks, two a day
    rows = company.rows()
    assert set(rows) == {"1001", "1002", "1003", "1004", "1005"}
    ola = rows["1002"]
    assert ola.manager == "Kari Nordmann" and ola.location == "Møterom Fjorden"
    assert ola.status == "planned" and ola.uid == "samtale-2027-talk-1002-1001@fjordlys.example"
    assert company.talk_of("1002").start.endswith("+01:00")
    assert oct(company.path.stat().st_mode & 0o777) == "0o600"


def test_the_same_inputs_give_the_same_schedule(tmp_path):
    first, second = Company(tmp_path / "a"), Company(tmp_path / "b")
    lines = [[t.describe() for t in c.run().talks] for c in (first, second)]
    assert lines[0] == lines[1]
    written = first.path.stat().st_mtime_ns
    again = first.run()
    assert not again.new and not again.moved and not again.cancelled
    assert first.path.stat().st_mtime_ns == written  # nothing changed: the file is left alone
    assert [t.describe() for t in again.talks] == lines[0]
    assert [t.start for t in first.talks().values()] == [t.start for t in second.talks().values()]


def test_holidays_and_weekends_are_skipped(tmp_path):
    company = Company(
        tmp_path / "ws", "first_day = 2027-03-24\nlast_day = 2027-04-09\nmax_talks_per_day = 1"
    )
    report = company.run()
    kari_days = sorted(t.start.date() for t in report.talks if t.manager_id == "1001")
    # Maundy Thursday 25th, Good Friday 26th, the weekend, Easter Monday 29th are skipped
    assert kari_days == [dt.date(2027, 3, 24), dt.date(2027, 3, 30), dt.date(2027, 3, 31)]
    holidays = public_holidays("NO", [2027])
    assert holidays[dt.date(2027, 3, 29)] == "Easter Monday"
    assert_valid(report, schedule_rules(company.ws.config(), CYCLE))


def test_daylight_saving_change_inside_the_period(tmp_path):
    company = Company(
        tmp_path / "ws", "first_day = 2027-03-24\nlast_day = 2027-04-09\nmax_talks_per_day = 1"
    )
    company.run()
    kari = sorted(
        (t for t in company.talks().values() if t.manager_id == "1001"), key=lambda t: t.start
    )
    starts = [dt.datetime.fromisoformat(t.start) for t in kari]
    # 24 March (CET, after Kari's own talk at 08:30), then 30 and 31 March (CEST) at 08:30
    assert [s.isoformat() for s in starts] == [
        "2027-03-24T10:00:00+01:00",
        "2027-03-30T08:30:00+02:00",
        "2027-03-31T08:30:00+02:00",
    ]
    rows = company.rows()
    assert rows["1003"].start == dt.time(8, 30) and rows["1003"].date == dt.date(2027, 3, 30)


def test_busy_time_in_exported_calendars_is_kept_free(tmp_path):
    company = Company(tmp_path / "ws")
    folder = company.ws.input_dir / "calendars"
    shutil.copytree(CALENDARS, folder, ignore=shutil.ignore_patterns("*.md"))
    (folder / "someone else.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    report = company.run()
    assert report.calendars == 2 and report.ok
    assert any("someone else.ics: not matched" in w for w in report.warnings)
    when = {t.employee_id: (f"{t.start:%d %H:%M}", t.manager_id) for t in report.talks}
    assert when == {
        "1005": ("01 08:30", "1000"),  # Åse and Tor: nothing in the way
        "1001": ("01 10:15", "1000"),  # Kari's weekly meeting 09:00–10:00, 15 minutes' margin
        "1002": ("02 12:00", "1001"),  # Ola's customer meeting (UTC) fills Monday afternoon;
        # Tuesday morning Kari is tentatively busy until 11:00, then lunch
        "1003": ("01 12:00", "1001"),
        "1004": ("01 13:30", "1001"),
    }


def test_a_period_too_short_says_how_many_working_days_are_missing(tmp_path):
    company = Company(
        tmp_path / "ws", "first_day = 2027-02-01\nlast_day = 2027-02-01\nmax_talks_per_day = 1"
    )
    report = company.run()
    assert not report.ok and report.missing_days == 2 and report.fits_by == dt.date(2027, 2, 3)
    assert len(report.unscheduled) == 3
    priya = next(line for line in report.unscheduled if "Priya" in line)
    assert "2 working day(s) too short" in priya and "last_day = 2027-02-03" in priya
    rows = company.rows()
    assert rows["1004"].status == "no slot" and rows["1004"].date is None
    assert "too short" in rows["1004"].notes
    assert {t.employee_id for t in company.talks().values()} == {"1001", "1002"}
    result = CliRunner().invoke(
        cli, ["-w", str(company.ws.root), "schedule", "--cycle", str(CYCLE)]
    )
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert "No time: Priya Raman (1004) with Kari Nordmann (1001)" in result.output
    assert "The period is 2 working day(s) too short: set last_day = 2027-02-03" in result.output


def test_a_longer_period_then_books_the_talks_that_had_no_time(tmp_path):
    company = Company(
        tmp_path / "ws", "first_day = 2027-02-01\nlast_day = 2027-02-01\nmax_talks_per_day = 1"
    )
    company.run()
    (company.ws.root / "samtale.toml").write_text(
        CONFIG.format(schedule="first_day = 2027-02-01\nlast_day = 2027-02-05\n"
                      "max_talks_per_day = 1"),
        encoding="utf-8",
    )  # fmt: skip
    report = company.run()
    assert report.ok and len(report.new) == 3 and not report.moved
    assert {row.status for row in company.rows().values()} == {"planned"}


# HR's moves in the workbook -------------------------------------------------------------------


def test_hr_moves_are_kept_checked_and_conflicts_reported(company):
    company.run()
    priya = company.rows()["1004"]
    company.edit("1002", Date=dt.date(2027, 2, 6), Start=dt.time(10, 0), End=dt.time(11, 15))
    company.edit("1003", Date=priya.date, Start=priya.start, End=priya.end)
    company.edit("1005", Start="16:00", End="17:15")
    report = company.run()
    assert not report.ok and not report.new
    rows = company.rows()
    assert (rows["1002"].date, rows["1002"].start) == (dt.date(2027, 2, 6), dt.time(10, 0))
    assert rows["1002"].status == "conflict" and "2027-02-06 is Saturday" in rows["1002"].notes
    assert rows["1003"].status == "conflict" and "another talk (with Priya Raman)" in (
        rows["1003"].notes
    )
    assert rows["1005"].status == "planned"  # outside hours is reported, HR's choice is sent
    assert "outside the working hours 08:30–15:30" in rows["1005"].notes
    conflicts = "\n".join(report.conflicts)
    assert "Ola Ødegård (1002)" in conflicts and "Tor Ærlig (1005)" in conflicts
    assert "Saturday" in company.talk_of("1002").conflict
    assert company.talk_of("1005").conflict == ""
    assert company.talk_of("1002").start == "2027-02-06T10:00:00+01:00"

    company.edit("1002", Date="08.02.2027", Start="14.00", End="15:15")
    company.edit("1003", Date=None, Start=None, End=None)  # HR asks for a new time
    report = company.run()
    rows = company.rows()
    assert rows["1002"].status == "planned" and "time set by HR" in rows["1002"].notes
    assert company.talk_of("1002").conflict == ""
    assert rows["1003"].date is not None and rows["1003"].status == "planned"
    assert company.talk_of("1003").uid == "samtale-2027-talk-1003-1001@fjordlys.example"
    assert "another talk" not in rows["1003"].notes and not company.talk_of("1003").conflict
    assert sorted(line.employee_id for line in report.moved) == ["1002", "1003"]


def test_the_sequence_rises_only_once_an_invitation_went_out(company):
    company.run()
    company.edit("1002", Date=dt.date(2027, 2, 2), Start="13:30", End="14:45")
    company.run()
    assert company.talk_of("1002").sequence == 0  # nobody has the old time
    company.invited("1002")
    company.edit("1002", Start="14:00", End="15:15")
    company.run()
    assert company.talk_of("1002").sequence == 1 and company.rows()["1002"].status == "update due"
    company.edit("1002", Location="Teams")
    company.run()
    assert company.talk_of("1002").sequence == 1  # one update still to send
    company.invited("1002")
    assert company.rows()["1002"].location == "Teams"
    company.run()
    assert company.rows()["1002"].status == "invited"


def test_cancelled_deleted_rows_and_roster_changes(company):
    company.run()
    company.invited("1005")
    company.edit("1005", Status="avlyst")
    company.delete_row("1004")
    people = [p for p in PEOPLE if p[0] != "1003"]
    people = [(i, n, "1000" if i == "1002" else m, e, lang) for i, n, m, e, lang in people]
    company.write_roster(people)
    report = company.run()
    talks = company.talks()
    tor = next(t for t in talks.values() if t.employee_id == "1005")
    assert tor.status == "cancelled" and tor.sequence == 1  # the cancel goes out as SEQUENCE 1
    bjorn = next(t for t in talks.values() if t.employee_id == "1003")
    assert bjorn.status == "cancelled" and bjorn.sequence == 0  # never invited: nothing to send
    ola = sorted((t for t in talks.values() if t.employee_id == "1002"), key=lambda t: t.uid)
    assert [(t.manager_id, t.status) for t in ola] == [("1000", "scheduled"), ("1001", "cancelled")]
    cancelled = {line.employee_id for line in report.cancelled}
    assert cancelled == {"1002", "1003", "1005"}
    rows = read_schedule(company.path)
    assert "restored from the ledger" in next(r.notes for r in rows if r.employee_id == "1004")
    assert next(r.status for r in rows if r.employee_id == "1005") == "cancel due"
    notes = [r.notes for r in rows if r.employee_id == "1003"]
    assert notes == ["cancelled: the employee is not in the roster any more"]
    again = company.run()
    assert not again.cancelled and not again.new  # HR's cancel stands: no new talk for Tor


def test_hr_adds_a_talk_by_hand_beside_a_cancelled_one(company):
    company.run()
    company.edit("1005", Status="cancelled")
    company.run()
    book = openpyxl.load_workbook(company.path)
    book.active.append(
        ["1005", "Tor", "", "", "", dt.date(2027, 2, 9), dt.time(13), dt.time(14, 15), "Teams"]
    )
    book.save(company.path)
    report = company.run()
    assert [line.describe() for line in report.moved] == []
    [new] = report.new
    assert new.start == dt.datetime(2027, 2, 9, 13, tzinfo=OSLO) and new.manager_id == "1000"
    tor = sorted((t.uid, t.status) for t in company.talks().values() if t.employee_id == "1005")
    assert tor == [
        ("samtale-2027-talk-1005-1000-2@fjordlys.example", "scheduled"),
        ("samtale-2027-talk-1005-1000@fjordlys.example", "cancelled"),
    ]
    assert company.rows()["1005"].location == "Teams"
    assert not company.run().new  # the hand-made talk is now an ordinary one


def test_unreadable_cells_stop_the_run_and_name_the_row(company):
    company.run()
    company.edit("1002", Start="kvart over ti")
    company.edit("1004", End=None)
    with pytest.raises(ScheduleProblems) as caught:
        company.run()
    text = str(caught.value)
    assert "Start 'kvart over ti' is not a time of day; write it like 10:30" in text
    assert "give Date, Start and End" in text and "row " in text and SCHEDULE_NAME in text


def test_the_workbook_open_in_excel_stops_the_run(company):
    company.run()
    lock = company.path.with_name(f"~${SCHEDULE_NAME}")
    lock.write_text("")
    with pytest.raises(WorkbookLockedError, match="open in another program"):
        company.run()


def test_dry_run_writes_nothing(company):
    report = company.run(dry_run=True)
    assert len(report.new) == 5 and not company.path.exists() and not company.talks()


# rescheduling ---------------------------------------------------------------------------------


def test_reschedule_proposes_the_next_free_time_and_the_update_is_due(company):
    company.run()
    company.invited("1003")
    old = company.rows()["1003"]
    report = company.run(reschedule="1003")
    new = report.rescheduled
    assert new.employee_id == "1003" and new.start.date() > old.date
    assert "rescheduled from" in new.note
    talk = company.talk_of("1003")
    assert talk.sequence == 1 and company.rows()["1003"].status == "update due"
    assert_valid(report, schedule_rules(company.ws.config(), CYCLE))
    late = company.run(reschedule="1003", today=dt.date(2027, 2, 10))
    assert late.rescheduled.start.date() == dt.date(2027, 2, 15)  # 3 working days on
    assert "after the period's last day" in late.rescheduled.note
    with pytest.raises(ScheduleError, match="no scheduled talk for employee 9999"):
        company.run(reschedule="9999")


def test_cli_schedule_prints_the_plan_and_the_next_step(company):
    runner = CliRunner()
    base = ["-w", str(company.ws.root), "schedule", "--cycle", str(CYCLE)]
    result = runner.invoke(cli, [*base, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would schedule: Ola Ødegård (1002) with Kari Nordmann (1001): 2027-02-" in (
        result.output
    )
    assert "Dry run: nothing was written." in result.output
    result = runner.invoke(cli, base)
    assert result.exit_code == 0, result.output
    assert "5 talk(s) from 2027-02-01 to 2027-02-12: 5 new" in result.output
    assert "Next: samtale send --kind invite --cycle 2027" in result.output
    result = runner.invoke(cli, [*base, "--reschedule", "1002"])
    assert "Rescheduled: Ola Ødegård (1002)" in result.output and result.exit_code == 0


# settings, status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('day_start = "8h"', "'8h' is not a time of day"),
        ('day_start = "16:00"', "day_start 16:00 must be before day_end 15:30"),
        ('lunch = "12:00"', "lunch '12:00' must be a start and an end"),
        ("talk_minutes = 5", "talk_minutes must be between 15 and 480"),
        ("talk_minutes = 450", "talk_minutes = 450 does not fit between day_start 08:30"),
        ('timezone = "Europe/Atlantis"', "timezone 'Europe/Atlantis' is not known"),
        ("first_day = 2027-03-01\nlast_day = 2027-02-01", "last_day 2027-02-01 is before"),
        ("max_talks_per_day = 0", "max_talks_per_day must be at least 1"),
    ],
)
def test_bad_schedule_settings_name_the_key(tmp_path, setting, message):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "samtale.toml").write_text(CONFIG.format(schedule=setting), encoding="utf-8")
    with pytest.raises(ConfigError, match="\\[schedule\\]") as caught:
        Workspace.at(root).config()
    assert message in str(caught.value)


def test_unknown_holiday_country_and_default_period(tmp_path):
    company = Company(tmp_path / "ws", 'holidays = "XX"')
    with pytest.raises(ScheduleError, match="no public holidays are known for country 'XX'"):
        company.run()
    rules = schedule_rules(Company(tmp_path / "b", "").ws.config(), CYCLE)
    assert (rules.first_day, rules.last_day) == (dt.date(2027, 1, 30), dt.date(2027, 2, 26))


def test_status_lists_talks_soon_whose_preparation_is_missing(company):
    company.run()
    with Ledger(company.ws.ledger_path(CYCLE)) as ledger:
        ledger.add_returned_file(
            {"sha256": "a" * 64, "source": "x", "stored_path": "returned/x.docx",
             "outcome": "accepted", "employee_id": "1001", "kind": "employee",
             "collected_at": "2027-01-28T10:00:00+00:00",
             "answers": '{"look_back": "Et godt år"}'}
        )  # fmt: skip
    report = cycle_status(company.ws, CYCLE, today=dt.date(2027, 1, 28))
    assert report.unprepared[0] == (
        "Kari Nordmann (1001) with Åse Marit Fjellheim-Østby (1000), 2027-02-01 08:30: "
        "manager form not back"
    )
    soon = "\n".join(report.unprepared)
    assert "Ola Ødegård (1002) with Kari Nordmann (1001), 2027-02-01 10:00: employee and " in soon
    assert len(report.unprepared) == 5  # Monday 1 February is within 3 working days
    assert cycle_status(company.ws, CYCLE, today=dt.date(2027, 1, 20)).unprepared == []
    result = CliRunner().invoke(cli, ["-w", str(company.ws.root), "status", "--cycle", "2027"])
    assert "Talks soon with a preparation form not back" not in result.output  # today: later


# the planner on its own ---------------------------------------------------------------------


def test_planner_jumps_over_lunch_busy_time_and_other_talks():
    rules = Rules(dt.date(2027, 2, 1), dt.date(2027, 2, 1))
    busy = {"m": [(dt.datetime(2027, 2, 1, 8, 0), dt.datetime(2027, 2, 1, 9, 0))]}
    planner = Planner(rules, busy)
    first = planner.place(Pair("e1", "m", rules.first_day)).talk
    second = planner.place(Pair("e2", "m", rules.first_day)).talk
    third = planner.place(Pair("e3", "m", rules.first_day)).talk
    assert [f"{t.start:%H:%M}" for t in (first, second, third)] == ["09:15", "12:00", "13:30"]
    clash = Talk("e4", "m", dt.datetime(2027, 2, 1, 12, 30), dt.datetime(2027, 2, 1, 13, 45))
    planner.book(clash)
    kinds = {c.kind for c in planner.conflicts(clash)}
    assert kinds == {"overlap"}
    assert all(c.blocking for c in planner.conflicts(clash))
