"""Read and validate the Excel roster: one row per employee."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Employee:
    """One employee as the roster describes them."""

    id: str  # normalized: 1001, "1001" and 1001.0 all become "1001"
    name: str
    email: str  # "" when the roster leaves it blank (reported by send, not an error here)
    manager_id: str  # "" for the top of the organisation
    department: str
    title: str
    start_date: dt.date | None
    language: str  # "nb" or "en"
    row: int  # the row in the sheet, for messages


@dataclass(frozen=True)
class Roster:
    """All employees of a roster workbook, in sheet order."""

    path: Path
    sheet: str
    employees: tuple[Employee, ...]
    by_id: dict[str, Employee] = field(compare=False, repr=False, default_factory=dict)

    def manager_of(self, employee: Employee) -> Employee | None:
        """Return the employee's manager, or None at the top."""
        return self.by_id.get(employee.manager_id)

    def direct_reports(self, manager_id: str) -> list[Employee]:
        """Return the employees whose manager is ``manager_id``, in roster order."""
        return [e for e in self.employees if e.manager_id == manager_id]


def read_roster(path: Path, sheet: str | None = None) -> Roster:
    """Return the validated roster; raise RosterError listing every problem found."""
    raise NotImplementedError  # being written
