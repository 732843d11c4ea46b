"""``samtale status``: where the cycle's forms are, per manager and per department."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.domain.kinds import ALL_FORM_KINDS, PREP_KINDS
from pipeline.domain.managers import manager_changes, status_line
from pipeline.domain.scheduling import Rules, add_working_days, public_holidays
from pipeline.domain.versions import counted_versions, lists_of
from pipeline.formats.roster import Employee, Roster, read_roster
from pipeline.state.config import ScheduleConfig
from pipeline.state.deletions import removed_working_files
from pipeline.state.ledger import Ledger, MeetingRecord
from pipeline.state.workspace import Workspace


@dataclass
class GroupStatus:
    """Counts for the direct reports of one manager, or for one department."""

    name: str
    employees: int = 0
    generated: int = 0
    returned_employee: int = 0
    returned_manager: int = 0
    with_warnings: int = 0
    quarantined: int = 0  # files turned away that came from this group's people (by email sender)
    missing: list[str] = field(default_factory=list)  # "Name (id): employee form, manager form"


@dataclass
class StatusReport:
    """The whole cycle's state."""

    cycle: int
    employees: int
    forms_generated: int
    returned: dict[str, int]  # per form kind: employee, manager, minutes
    quarantined: int
    by_manager: list[GroupStatus]
    by_department: list[GroupStatus]
    generated: dict[str, int] = field(default_factory=dict)  # per form kind
    working_files_removed: str = ""  # set when a retention rule removed the cycle's files
    left_roster: list[str] = field(default_factory=list)  # forms of people no longer in the roster
    # Forms made for another manager than the roster names now (changed mid-cycle).
    manager_changed: list[str] = field(default_factory=list)
    # Talks within [schedule] reminder_days working days whose preparation forms are not back.
    unprepared: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Return the report as JSON for scripts."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def cycle_status(
    workspace: Workspace,
    cycle: int,
    roster_path: Path | None = None,
    sheet: str | None = None,
    today: dt.date | None = None,
) -> StatusReport:
    """Return the status of the cycle from its ledger and the roster."""
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    removed = removed_working_files(workspace.output_dir, cycle)
    if removed is not None and not (workspace.output_dir / str(cycle)).is_dir():
        return StatusReport(cycle, len(roster.employees), 0, {}, 0, [], [], {}, removed.describe())
    with Ledger.of_cycle(workspace, cycle) as ledger:
        forms = {(r.employee_id, r.kind): r for r in ledger.form_briefs()}
        returned, warned = counted_forms(ledger)
        quarantined = ledger.quarantined_count()
        turned_away = ledger.quarantined_by_sender()
        talks = ledger.meetings("talk")
    by_manager = [
        group_status(label_of(roster, manager_id), reports, forms, returned, warned, turned_away)
        for manager_id, reports in grouped(roster, lambda e: e.manager_id).items()
    ]
    by_department = [
        group_status(department, members, forms, returned, warned, turned_away)
        for department, members in grouped(roster, lambda e: e.department).items()
    ]
    in_roster = {e.id for e in roster.employees}  # leavers are counted apart, not in the totals
    return StatusReport(
        cycle=cycle,
        employees=len(roster.employees),
        forms_generated=sum(1 for k in forms if k[0] in in_roster),
        returned={
            kind: sum(1 for k in returned if k[1] == kind and k[0] in in_roster)
            for kind in ALL_FORM_KINDS
        },
        generated={
            kind: sum(1 for k in forms if k[1] == kind and k[0] in in_roster)
            for kind in ALL_FORM_KINDS
        },
        left_roster=leavers(forms, returned, in_roster),
        manager_changed=[status_line(c, roster) for c in manager_changes(forms.values(), roster)],
        quarantined=quarantined,
        by_manager=by_manager,
        by_department=by_department,
        unprepared=unprepared_talks(
            talks, forms, returned, roster, workspace.config().schedule, today or dt.date.today()
        ),
    )


def counted_forms(ledger: Ledger) -> tuple[set[tuple[str, str]], set[str]]:
    """Return the forms that count as returned, and who returned one with warnings."""
    # One form's versions at a time: never every answer of the cycle in memory. A form
    # returned unfilled is still missing.
    chosen = ledger.chosen_versions()
    lists = lists_of(ledger)
    returned: set[tuple[str, str]] = set()
    warned: set[str] = set()
    for versions in ledger.accepted_version_groups():
        for key, version in counted_versions(versions, chosen, lists=lists).items():
            returned.add(key)
            if version.warnings:
                warned.add(key[0])
    return returned, warned


def leavers(forms: dict, returned: set, in_roster: set[str]) -> list[str]:
    """Return one line per employee with forms in this cycle who is no longer in the roster."""
    gone = sorted({employee_id for employee_id, _ in forms if employee_id not in in_roster})
    lines = []
    for employee_id in gone:
        back = [kind for kind in ALL_FORM_KINDS if (employee_id, kind) in returned]
        made = [kind for kind in ALL_FORM_KINDS if (employee_id, kind) in forms]
        lines.append(
            f"{employee_id}: {len(made)} form(s) generated, returned: {', '.join(back) or 'none'}"
        )
    return lines


def grouped(roster: Roster, key) -> dict[str, list[Employee]]:
    """Return the roster's employees grouped by ``key``, groups in order of first appearance."""
    groups: dict[str, list[Employee]] = {}
    for employee in roster.employees:
        groups.setdefault(key(employee), []).append(employee)
    return groups


def label_of(roster: Roster, manager_id: str) -> str:
    """Return a manager's display label, or the label for the top of the organisation."""
    manager = roster.by_id.get(manager_id)
    return f"{manager.name} ({manager.id})" if manager else "(no manager)"


def group_status(name, employees, forms, returned, warned, turned_away=None) -> GroupStatus:
    """Return the counts and missing people of one group."""
    group = GroupStatus(name, employees=len(employees))
    for employee in employees:
        group.generated += sum(1 for kind in PREP_KINDS if (employee.id, kind) in forms)
        group.returned_employee += (employee.id, "employee") in returned
        group.returned_manager += (employee.id, "manager") in returned
        group.with_warnings += employee.id in warned
        group.quarantined += (turned_away or {}).get(employee.id, 0)
        missing = [
            kind
            for kind in PREP_KINDS
            if (employee.id, kind) in forms and (employee.id, kind) not in returned
        ]
        if missing:
            group.missing.append(f"{employee.name} ({employee.id}): {' and '.join(missing)} form")
    return group


def unprepared_talks(
    talks: list[MeetingRecord],
    forms: dict,
    returned: set,
    roster: Roster,
    settings: ScheduleConfig,
    today: dt.date,
) -> list[str]:
    """Return the talks of the next ``reminder_days`` working days with a prep form not back."""
    zone = ZoneInfo(settings.timezone)
    try:
        closed = public_holidays(settings.holidays, [today.year, today.year + 1])
    except ValueError:  # schedule reports the bad setting
        closed = {}
    last = add_working_days(today, settings.reminder_days, Rules(today, today, closed=closed))
    lines = []
    for talk in sorted(talks, key=lambda t: (t.start, t.employee_id)):
        start = dt.datetime.fromisoformat(talk.start).astimezone(zone)
        if talk.status != "scheduled" or not today <= start.date() <= last:
            continue
        missing = [
            kind
            for kind in PREP_KINDS
            if (talk.employee_id, kind) in forms and (talk.employee_id, kind) not in returned
        ]
        if missing:
            lines.append(
                f"{label_of(roster, talk.employee_id)} with {label_of(roster, talk.manager_id)}, "
                f"{start:%Y-%m-%d %H:%M}: {' and '.join(missing)} form not back"
            )
    return lines
