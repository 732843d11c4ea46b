"""Last cycle's agreements, read from last cycle's answers workbook for ``generate --previous``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .errors import Problem, WorkbookError
from .roster import normalize_id as roster_id
from .templates import PREVIOUS_SLOTS

GOAL_PARTS = ("goal_{n}", "goal_{n}_measure", "goal_{n}_deadline")
FOLLOWUP_PARTS = ("followup_{n}_what", "followup_{n}_who", "followup_{n}_when")
MAX_ROWS_PER_TABLE = 20


@dataclass(frozen=True)
class PreviousCycle:
    """Agreements from last cycle, per employee id, and notes on what did not fit."""

    cycle: str
    agreements: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def context_for(self, employee_id: str) -> dict:
        """Return the ``previous`` template variable for one employee."""
        items = self.agreements.get(employee_id, [])[:PREVIOUS_SLOTS]
        slots = {f"agreement_{n}": "" for n in range(1, PREVIOUS_SLOTS + 1)}
        slots.update({f"agreement_{n}": text for n, text in enumerate(items, start=1)})
        return {"any": bool(items), "cycle": self.cycle, **slots}


def read_sheet_rows(path: Path, sheet: str) -> dict[str, dict[str, object]]:
    """Return a sheet of an answers workbook as {employee_id: {key: value}}; {} if absent."""
    workbook = open_workbook(path)
    try:
        if sheet not in workbook.sheetnames:
            return {}
        rows = workbook[sheet].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        if "employee_id" not in header:
            raise WorkbookError(
                f"{path}: sheet {sheet!r} has no 'employee_id' column in row 1; "
                "use the answers workbook samtale wrote last cycle"
            )
        result = {}
        for row in rows:
            record = dict(zip(header, row, strict=False))
            employee_id = normalize_id(record.get("employee_id"))
            if employee_id:
                result[employee_id] = record
        return result
    finally:
        workbook.close()


def open_workbook(path: Path):
    """Return an openpyxl workbook opened read-only; raise WorkbookError with the fix."""
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise WorkbookError(f"{path}: file not found; give last cycle's answers.xlsx") from exc
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from exc


def normalize_id(value: object) -> str:
    """Return an employee id as the roster writes it; a value that is no id stays as text."""
    try:
        return roster_id(value)
    except ValueError:
        return str(value).strip()


def read_previous(path: Path) -> PreviousCycle:
    """Return last cycle's agreements: minutes goals and follow-ups, else the prep forms' goals."""
    cycle = re.search(r"(20\d\d)", Path(path).name)
    minutes = read_sheet_rows(path, "minutes")
    fallback = read_sheet_rows(path, "employee")
    result = PreviousCycle(cycle.group(1) if cycle else "")
    for employee_id in sorted(set(minutes) | set(fallback)):
        items = agreements_from_minutes(minutes.get(employee_id, {}))
        if not items:
            items = agreements_from_goals(fallback.get(employee_id, {}))
        if len(items) > PREVIOUS_SLOTS:
            result.warnings.append(
                Problem(
                    str(path),
                    f"employee {employee_id} has {len(items)} agreements; the form shows the "
                    f"first {PREVIOUS_SLOTS}",
                    "merge agreements in the workbook if all must show",
                )
            )
        if items:
            result.agreements[employee_id] = items
    return result


def agreements_from_minutes(row: dict) -> list[str]:
    """Return the agreed goals and follow-ups of one minutes row as lines of text."""
    items = []
    for parts in (GOAL_PARTS, FOLLOWUP_PARTS):
        for n in range(1, MAX_ROWS_PER_TABLE + 1):
            values = [text_of(row.get(part.format(n=n))) for part in parts]
            if values[0]:
                items.append(" · ".join(v for v in values if v))
    return items


def agreements_from_goals(row: dict) -> list[str]:
    """Return the goal lines an employee wrote last cycle (when no minutes were kept)."""
    text = text_of(row.get("goals_next"))
    return [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]


def text_of(value: object) -> str:
    """Return a cell value as trimmed text ('' for empty)."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text[8:10]}.{text[5:7]}.{text[:4]}"
    return text
