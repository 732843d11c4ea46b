"""A manager changed mid-cycle: which forms were made for another manager than the roster's now.

Every form records the employee's manager at the time it was written (the ledger's
``forms.manager_id``). When HR changes the manager in the roster afterwards, the manager's
preparation form holds the earlier manager's answers while the minutes form and its email go to
the manager named now; ``minutes``, ``status`` and ``send`` say so, naming both managers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.domain.kinds import ALL_FORM_KINDS, FormKind
from pipeline.errors import Problem
from pipeline.formats.roster import Employee, Roster
from pipeline.state.ledger import FormRecord


@dataclass(frozen=True)
class ManagerChange:
    """One employee whose forms were made for a manager the roster no longer names."""

    employee: Employee
    now: str  # the manager id in the roster now ("" at the top of the organisation)
    made_for: dict[str, str]  # form kind -> the manager id when it was made ("" at the top)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Return the form kinds made for an earlier manager, in form order."""
        return tuple(kind for kind in ALL_FORM_KINDS if kind in self.made_for)

    @property
    def before(self) -> str:
        """Return the earlier manager: the one the manager form was made for, if it was."""
        return self.made_for.get(FormKind.MANAGER, self.made_for[self.kinds[0]])


def manager_changes(
    forms: Iterable[FormRecord], roster: Roster, kinds: Iterable[str] = ALL_FORM_KINDS
) -> list[ManagerChange]:
    """Return, in roster order, each employee whose forms of ``kinds`` name an earlier manager."""
    wanted = tuple(kinds)
    earlier: dict[str, dict[str, str]] = {}  # employee id -> form kind -> manager then
    for form in forms:
        employee = roster.by_id.get(form.employee_id)
        if form.kind not in wanted or employee is None or form.manager_id is None:
            continue  # another kind, a leaver, or written by a samtale that did not record it
        if form.manager_id != employee.manager_id:
            earlier.setdefault(employee.id, {})[form.kind] = form.manager_id
    return [
        ManagerChange(employee, employee.manager_id, earlier[employee.id])
        for employee in roster.employees
        if employee.id in earlier
    ]


def manager_label(roster: Roster, manager_id: str) -> str:
    """Return a manager as 'Name (id)', or say they left the roster or that there was none."""
    if not manager_id:
        return "no manager (the top of the organisation)"
    manager = roster.by_id.get(manager_id)
    return (
        f"{manager.name} ({manager.id})" if manager else f"{manager_id} (no longer in the roster)"
    )


def who(employee: Employee) -> str:
    """Return an employee as 'Name (id)'."""
    return f"{employee.name} ({employee.id})"


def minutes_warning(change: ManagerChange, roster: Roster) -> Problem:
    """Return the warning ``minutes`` gives for an employee whose manager changed mid-cycle."""
    before, now = manager_label(roster, change.before), manager_label(roster, change.now)
    if FormKind.MANAGER in change.kinds:
        source = f"the manager's answers in it come from the manager form made for {before}"
    else:
        source = f"the preparation forms were made when the manager was {before}"
    return Problem(
        str(roster.path),
        f"the manager of {who(change.employee)} changed after the preparation forms were made: "
        f"they were made for {before}, the roster now names {now}. The minutes form names "
        f"{now} and goes to them; {source}",
        f"if {before} still holds the talk, put {change.before or 'them'} back as the manager "
        f"in the roster and run minutes again; if {now} holds it, make sure they read the "
        "manager's preparation before the talk (HR can correct it in answers.xlsx)",
        row=change.employee.row,
    )


def status_line(change: ManagerChange, roster: Roster) -> str:
    """Return the line ``status`` shows for an employee whose manager changed mid-cycle."""
    kinds = " and ".join(change.kinds)
    return (
        f"{who(change.employee)}: {kinds} form(s) made for "
        f"{manager_label(roster, change.before)}, the roster now names "
        f"{manager_label(roster, change.now)}"
    )


def send_note(change: ManagerChange, roster: Roster, email_kind: str) -> str:
    """Return what ``send`` says about forms going to the manager named now, not the earlier one."""
    before, now = manager_label(roster, change.before), manager_label(roster, change.now)
    if email_kind == "minutes":
        parts = [f"the minutes form of {who(change.employee)} goes to {now}, the manager now"]
        if FormKind.MANAGER in change.kinds:
            parts.append(f"the manager's preparation form in it was made for {before}")
        if FormKind.MINUTES in change.kinds:
            named = manager_label(roster, change.made_for[FormKind.MINUTES])
            parts.append(
                f"the minutes form itself names {named}: run 'samtale minutes' again first to "
                f"write it for {now}"
            )
        return "; ".join(parts)
    return (
        f"the manager form of {who(change.employee)} was made for {before} but goes to {now}, "
        f"the manager in the roster now; run 'samtale generate' first to write it for {now}"
    )
