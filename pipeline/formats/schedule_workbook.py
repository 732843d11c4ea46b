"""The schedule workbook (``output/<cycle>/schedule.xlsx``): one row per talk, HR may move talks.

Columns are found by their header text, so HR may reorder them. HR may change a talk's date,
start, end and location, or write ``cancelled`` (or ``avlyst``) in its status; samtale keeps
what HR wrote, checks it on the next run and says what is wrong in the Notes column. Weekday and
Notes are samtale's; what HR types there is replaced. Talk ID ties a row to its calendar UID:
leave it as it is.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from pipeline.errors import ScheduleError, WorkbookLockedError, plain_reason
from pipeline.formats.answers import lock_files
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir

SHEET = "schedule"
COLUMNS = (
    "Employee ID",
    "Employee",
    "Manager ID",
    "Manager",
    "Weekday",
    "Date",
    "Start",
    "End",
    "Location",
    "Status",
    "Notes",
    "Talk ID",
)
REQUIRED = ("Employee ID", "Date", "Start", "End", "Status")
WIDTHS = {"Employee": 30, "Manager": 30, "Location": 28, "Notes": 60, "Talk ID": 44}
FORMATS = {  # the cells HR edits keep their type: dates, times, ids as text
    "Employee ID": "@",
    "Manager ID": "@",
    "Date": "yyyy-mm-dd",
    "Start": "hh:mm",
    "End": "hh:mm",
}
WRAPPED = Alignment(vertical="top", wrap_text=True)
CANCEL_WORDS = ("cancelled", "canceled", "cancel", "avlyst", "avlys", "kansellert")
TIME_TEXT = re.compile(r"(\d{1,2})[:.](\d{2})")
LOCKED_FIX = (
    "close it in Excel/LibreOffice and run schedule again "
    "(if no program has it open, delete the lock file)"
)
BROKEN_FIX = (
    "restore the header row (Employee ID, Date, Start, End, Status …) or move the file aside "
    "to let schedule write a fresh one (HR's moves in it are then lost)"
)


@dataclass(frozen=True)
class ScheduleRow:
    """One talk as the workbook shows it (times are wall-clock times in the schedule's zone)."""

    employee_id: str
    employee: str = ""
    manager_id: str = ""
    manager: str = ""
    date: dt.date | None = None
    start: dt.time | None = None
    end: dt.time | None = None
    location: str = ""
    status: str = ""
    notes: str = ""
    uid: str = ""
    row: int = 0  # the sheet row it was read from (0: not read)
    problem: str = ""  # a cell that could not be read, and how to write it

    @property
    def has_time(self) -> bool:
        """Return True when the row gives a date, a start and an end."""
        return self.date is not None and self.start is not None and self.end is not None

    @property
    def cancelled(self) -> bool:
        """Return True when the status says the talk is cancelled."""
        return self.status.strip().lower() in CANCEL_WORDS

    def times(self) -> tuple[dt.datetime, dt.datetime] | None:
        """Return (start, end) as wall-clock datetimes, or None without a full time."""
        if not self.has_time:
            return None
        return dt.datetime.combine(self.date, self.start), dt.datetime.combine(self.date, self.end)


# --- reading ---------------------------------------------------------------------------------


def read_schedule(path: Path) -> list[ScheduleRow]:
    """Return the workbook's talk rows; raise ScheduleError when it cannot be read at all."""
    check_closed(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except PermissionError as exc:
        raise WorkbookLockedError(f"{path}: cannot read it ({exc.strerror}); {LOCKED_FIX}") from exc
    except Exception as exc:  # any failure to parse means the file is not a usable workbook
        raise ScheduleError(
            f"{path}: not a readable .xlsx workbook ({plain_reason(exc)}); {BROKEN_FIX}"
        ) from exc
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        title, rows = sheet.title, list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return []
    columns = header_columns(rows[0])
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ScheduleError(
            f"{path}: sheet {title!r} has no column {', '.join(missing)} in row 1; " + BROKEN_FIX
        )
    found = []
    for number, values in enumerate(rows[1:], start=2):
        if any(value not in (None, "") for value in values):
            found.append(row_from(values, columns, number))
    return found


def header_columns(header: tuple) -> dict[str, int]:
    """Return {column name: index} of the known columns in the header row (any order, any case)."""
    known = {name.lower(): name for name in COLUMNS}
    columns = {}
    for index, value in enumerate(header):
        name = known.get(str(value or "").strip().lower())
        if name and name not in columns:
            columns[name] = index
    return columns


def row_from(values: tuple, columns: dict[str, int], number: int) -> ScheduleRow:
    """Return one talk row read from the sheet's cell values."""

    def cell(name: str):
        index = columns.get(name)
        return values[index] if index is not None and index < len(values) else None

    problems = []
    day = date_cell(cell("Date"), problems)
    start = time_cell(cell("Start"), "Start", problems)
    end = time_cell(cell("End"), "End", problems)
    return ScheduleRow(
        employee_id=id_text(cell("Employee ID")),
        employee=text(cell("Employee")),
        manager_id=id_text(cell("Manager ID")),
        manager=text(cell("Manager")),
        date=day,
        start=start,
        end=end,
        location=text(cell("Location")),
        status=text(cell("Status")),
        notes=text(cell("Notes")),
        uid=text(cell("Talk ID")),
        row=number,
        problem="; ".join(problems),
    )


def text(value) -> str:
    """Return a cell as trimmed text."""
    return "" if value is None else str(value).strip()


def id_text(value) -> str:
    """Return an id cell as the roster writes ids: 1001.0 becomes "1001"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text(value)


def date_cell(value, problems: list[str]) -> dt.date | None:
    """Return the Date cell as a date (Excel date, 2027-02-03 or 03.02.2027), or None."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    written = text(value)
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return dt.datetime.strptime(written, fmt).date()
        except ValueError:
            continue
    problems.append(f"Date {written!r} is not a date; write it like 2027-02-03")
    return None


def time_cell(value, name: str, problems: list[str]) -> dt.time | None:
    """Return a Start/End cell as a time of day (Excel time, 10:30, 10.30), or None."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, int | float) and 0 <= value < 1:  # Excel's fraction of a day
        minutes = round(value * 24 * 60)
        return dt.time(minutes // 60, minutes % 60)
    match = TIME_TEXT.fullmatch(text(value))
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    problems.append(f"{name} {text(value)!r} is not a time of day; write it like 10:30")
    return None


# --- writing ---------------------------------------------------------------------------------


def check_closed(path: Path) -> None:
    """Raise WorkbookLockedError while the workbook is open in Excel or LibreOffice."""
    for lock in lock_files(path):
        if lock.exists():
            raise WorkbookLockedError(
                f"{path}: the workbook is open in another program (lock file {lock.name}); "
                + LOCKED_FIX
            )


def file_state(path: Path) -> tuple[int, int] | None:
    """Return the file's modification time and size, or None when there is none."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def write_schedule(path: Path, rows: list[ScheduleRow], before: tuple[int, int] | None) -> None:
    """Write the workbook atomically (owner-only); refuse when it changed since it was read."""
    workbook = schedule_workbook(rows)
    ensure_private_dir(path.parent)
    fd, name = tempfile.mkstemp(prefix=".schedule-", suffix=".xlsx.tmp", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        workbook.save(temporary)
        os.chmod(temporary, PRIVATE_FILE)
        check_closed(path)
        if file_state(path) != before:
            raise WorkbookLockedError(
                f"{path}: the workbook changed while schedule was running (saved in Excel or "
                "LibreOffice?); close it and run schedule again"
            )
        os.replace(temporary, path)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path}: cannot replace it ({exc.strerror}); {LOCKED_FIX}"
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)


def schedule_workbook(rows: list[ScheduleRow]) -> Workbook:
    """Return the workbook of ``rows``: bold frozen header, filter, dates and times as such."""
    workbook = Workbook(write_only=True)  # streamed: 10,000 talks in a second or two
    sheet = workbook.create_sheet(SHEET)
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(name, 13)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(len(rows) + 1, 2)}"
    bold = Font(bold=True)
    sheet.append([styled(sheet, name, font=bold) for name in COLUMNS])
    for row in rows:
        values = (
            row.employee_id,
            row.employee,
            row.manager_id,
            row.manager,
            row.date.strftime("%A") if row.date else "",
            row.date,
            row.start,
            row.end,
            row.location,
            row.status,
            row.notes,
            row.uid,
        )
        sheet.append(
            [styled(sheet, value, name) for name, value in zip(COLUMNS, values, strict=True)]
        )
    return workbook


def styled(sheet, value, column: str = "", font: Font | None = None):
    """Return a cell for a write-only sheet: with its column's number format, or plain."""
    if column not in FORMATS and column != "Notes" and font is None:
        return value
    cell = WriteOnlyCell(sheet, value)
    if font is not None:
        cell.font = font
    elif column == "Notes":
        cell.alignment = WRAPPED
    else:
        cell.number_format = FORMATS[column]
    return cell
