"""Read and validate the Excel roster: one row per employee."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.xml.functions import iterparse

from pipeline.domain.kinds import DEFAULT_LANGUAGE, LANGUAGES
from pipeline.errors import Problem, RosterError, plain_reason


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
    # What HR should know but need not fix: rows hidden or filtered out in Excel are still used.
    warnings: tuple[Problem, ...] = field(compare=False, repr=False, default=())

    def manager_of(self, employee: Employee) -> Employee | None:
        """Return the employee's manager, or None at the top."""
        return self.by_id.get(employee.manager_id)

    def direct_reports(self, manager_id: str) -> list[Employee]:
        """Return the employees whose manager is ``manager_id``, in roster order."""
        return [e for e in self.employees if e.manager_id == manager_id]


# --- What the roster's columns may be called -------------------------------------------------

HEADER_SEARCH_ROWS = 20  # HR exports put a title and an export date above the header row

# Header texts per field, compared after _header_key (case, spaces and punctuation ignored).
_ALIASES = {
    "id": "Ansattnr | Ansattnummer | Ansatt-ID | Employee ID | Employee number | Employee no",
    "name": "Navn | Fullt navn | Name | Full name | Employee name",
    "first_name": "Fornavn | First name | Given name",
    "last_name": "Etternavn | Last name | Surname | Family name",
    "email": "E-post | E-postadresse | E-mail | Email address | Mail",
    "manager_id": "Leders ansattnr | Leder | Leders ansattnummer | Leder ansattnr | Leder-ID | "
    "Nærmeste leder | Manager ID | Manager | Manager employee ID | Manager's employee ID",
    "department": "Avdeling | Department | Dept",
    "title": "Stilling | Stillingstittel | Tittel | Title | Job title | Position",
    "start_date": "Startdato | Ansatt dato | Ansatt fra | Tiltredelse | Start date | Hire date",
    "language": "Språk | Sprak | Målform | Language | Lang",
}
HEADER_ALIASES = {name: tuple(text.split(" | ")) for name, text in _ALIASES.items()}
REQUIRED_FIELDS = ("id", "name", "email", "manager_id", "department")
HEADER_HINTS = {
    "id": "Ansattnr (or Employee ID)",
    "name": "Navn (or Name, or Fornavn and Etternavn)",
    "first_name": "Fornavn (or First name)",
    "last_name": "Etternavn (or Last name)",
    "email": "E-post (or Email)",
    "manager_id": "Leders ansattnr (or Manager ID)",
    "department": "Avdeling (or Department)",
}
FIELD_LABELS = {
    "id": "employee id",
    "name": "name",
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "manager_id": "manager's employee id",
    "department": "department",
    "title": "job title",
    "start_date": "start date",
    "language": "language",
}

# Language cell values (case-folded, "_" read as "-") and the form language they mean.
_LANGUAGE_NAMES = {
    "nb": "nb nob no nor norsk bokmål bokmal norwegian nb-no no-nb no-no",
    "en": "en eng engelsk english en-gb en-us",
}
LANGUAGE_ALIASES = {
    alias: language for language, names in _LANGUAGE_NAMES.items() for alias in names.split()
}
LANGUAGE_ALIASES |= {"norsk bokmål": "nb", "norwegian bokmål": "nb", "britisk engelsk": "en"}

EMAIL_PATTERN = re.compile(
    # local part: no spaces, brackets, commas, and no leading, trailing or doubled dots
    r"[^\s@<>()\[\]\\,;:\".]+(?:\.[^\s@<>()\[\]\\,;:\".]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}"  # domain with a letter-only top level
)
DATE_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or an xlsx with a password

# --- How to fix things (shown after "Fix:") --------------------------------------------------

FIX_SAVE_AS_XLSX = (
    "open it in Excel or LibreOffice Calc and save it as an Excel workbook (.xlsx), "
    "without a password"
)
FIX_FILE_MISSING = "check the path (without --roster the roster is read from input/roster.xlsx)"
FIX_ID = "give every employee an id (Ansattnr), and each a different one"
FIX_NO_ACCESS = "check that you may read the file and that no other program locks it"
FIX_DUPLICATE_EMAIL = "give each employee their own email address"
FIX_DUPLICATE_ID = (
    "give each employee their own id; delete the second row if it is the same person twice"
)
FIX_MANAGER = "write the manager's employee id, or leave it blank for the top of the organisation"
FIX_CYCLE = (
    "correct the manager id of one of them so the chain ends at the top of the organisation "
    "(an employee whose manager id is blank)"
)
FIX_EMAIL = "write one address like ola.nordmann@example.com, without name, spaces or 'mailto:'"
FIX_DATE = "format the cell as a date, or write it as dd.mm.yyyy (for example 01.09.2021)"
FIX_LANGUAGE = "write nb (Norwegian bokmål) or en (English), or leave it blank for nb"
FIX_FORMULA = (
    "open the workbook in Excel or LibreOffice Calc and save it, so the formula's result is "
    "stored; or replace the formula by its value"
)
FIX_ERROR_VALUE = "correct the formula, or type the value instead"
FIX_HIDDEN_ROWS = (
    "nothing, if they are to take part; to leave someone out of this cycle, delete their row "
    "(hiding it or filtering it out in Excel does not)"
)
SHOWN_HIDDEN = 10  # employees named in a hidden-rows warning; the rest are counted


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sheet:
    """The cell values of one worksheet, as read from the file."""

    name: str
    rows: list[tuple[Any, ...]]  # rows[0] is sheet row 1
    unsaved_formulas: frozenset[tuple[int, int]]  # (row, column), 1-based: no cached result
    hidden_rows: frozenset[int] = frozenset()  # rows hidden in Excel (by hand or by a filter)
    filter_range: str = ""  # the range of the sheet's active filter (AutoFilter), or ""
    hidden_sheet: bool = False  # the sheet itself is hidden in Excel


@dataclass(frozen=True)
class _Column:
    """One recognised column of the roster."""

    field: str
    index: int  # 0-based
    header: str  # as written in the sheet

    @property
    def letter(self) -> str:
        """Return the column letter, such as ``E``."""
        return get_column_letter(self.index + 1)


@dataclass(frozen=True)
class _Header:
    """Where the header row is and which column holds which field."""

    row: int
    columns: dict[str, _Column]


@dataclass
class _Problems:
    """The problems found in one roster sheet."""

    file: str
    sheet: str
    found: list[Problem] = field(default_factory=list)

    def add(
        self, message: str, fix: str, row: int | None = None, column: str = "", value: Any = None
    ) -> None:
        """Note one problem."""
        self.found.append(
            Problem(self.file, message, fix, self.sheet, row, column, _cell_text(value))
        )

    def in_order(self) -> list[Problem]:
        """Return the problems sorted by row, those without a row first."""
        return sorted(self.found, key=lambda p: (p.row is not None, p.row or 0))


def read_roster(path: Path, sheet: str | None = None) -> Roster:
    """Return the validated roster; raise RosterError listing every problem found."""
    path = Path(path)
    data = _read_sheet(path, sheet)
    problems = _Problems(str(path), data.name)
    header = _find_header(data, problems)
    if header is None:
        _suggest_sheet(path, data.name, sheet, problems)
    employees = _read_employees(data, header, problems) if header else []
    if header:
        _check_unique(employees, header, problems)
        _check_managers(employees, header, problems)
        if not employees and not problems.found:
            problems.add(
                "the roster has no employees below the header row",
                "write one row per employee below the header row",
                row=header.row,
            )
    if problems.found:
        raise RosterError(f"The roster {path.name} cannot be used", problems.in_order())
    return Roster(
        path=path,
        sheet=data.name,
        employees=tuple(employees),
        by_id={employee.id: employee for employee in employees},
        warnings=tuple(_hidden_warnings(path, data, employees, sheet)),
    )


def _file_problem(
    path: Path, message: str, fix: str = FIX_SAVE_AS_XLSX, **where: Any
) -> RosterError:
    """Return the error for a roster file that cannot be opened at all."""
    problem = Problem(str(path), message, fix=fix, **where)
    return RosterError(f"The roster {path.name} cannot be read", [problem])


# What openpyxl, zipfile and the XML parsers raise for a damaged or foreign file.
_UNREADABLE = (
    zipfile.BadZipFile, zipfile.LargeZipFile, InvalidFileException, KeyError, ValueError,
    TypeError, IndexError, AttributeError, EOFError, SyntaxError, zlib.error, OSError,
)  # fmt: skip


def _read_sheet(path: Path, sheet: str | None) -> _Sheet:
    """Return the cell values of the roster sheet; raise RosterError if the file is unusable."""
    if not path.exists():
        raise _file_problem(path, "the roster file does not exist", FIX_FILE_MISSING)
    if path.is_dir():
        raise _file_problem(path, "this is a folder, not a roster workbook", FIX_FILE_MISSING)
    try:
        handle = path.open("rb")
    except OSError as exc:
        message = f"the file cannot be opened ({exc.strerror})"
        raise _file_problem(path, message, FIX_NO_ACCESS) from exc
    with handle:
        _check_signature(path, handle.read(len(OLE_MAGIC)))
        try:
            with warnings.catch_warnings():  # openpyxl warns about styles and extensions it drops
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                return _load_sheet(handle, path, sheet)
        except _UNREADABLE as exc:
            message = f"the file is damaged or not an Excel .xlsx workbook ({plain_reason(exc)})"
            raise _file_problem(path, message) from exc


def _check_signature(path: Path, start: bytes) -> None:
    """Raise RosterError unless ``start`` looks like the beginning of an .xlsx (zip) file."""
    if start.startswith(b"PK"):
        return
    if not start:
        raise _file_problem(path, "the file is empty")
    if start == OLE_MAGIC:
        message = "this is an old Excel 97-2003 (.xls) workbook, or a password-protected one"
        raise _file_problem(path, message)
    kind = "a CSV text file" if path.suffix.lower() in (".csv", ".txt") else "not a workbook"
    raise _file_problem(path, f"this is {kind}, not an Excel .xlsx workbook")


def _load_sheet(handle: BinaryIO, path: Path, sheet: str | None) -> _Sheet:
    """Return the chosen sheet's cached values and its formula cells without a cached result."""
    handle.seek(0)
    book = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    try:
        worksheet = _pick_sheet(book, sheet, path)
        name, rows = worksheet.title, _sheet_rows(worksheet)
        part = getattr(worksheet, "_worksheet_path", "")  # the sheet's XML part in the package
        hidden_sheet = worksheet.sheet_state != "visible"
    finally:
        book.close()
    unsaved = frozenset(
        (r, c) for r, c in _formula_cells(handle, name) if _at(rows, r - 1, c - 1) is None
    )
    hidden, filter_range = _hidden_rows(handle, part)
    return _Sheet(name, rows, unsaved, hidden, filter_range, hidden_sheet)


def _pick_sheet(book: Any, sheet: str | None, path: Path) -> Any:
    """Return the named worksheet (or the first one); raise RosterError when there is none."""
    if sheet is None:
        if not book.worksheets:
            raise _file_problem(path, "the workbook has no worksheet")
        return book.worksheets[0]
    names = book.sheetnames
    matches = [sheet] if sheet in names else [n for n in names if _same_name(n, sheet)]
    if len(matches) != 1:
        listed = ", ".join(repr(n) for n in names)
        fix = f"name one of the workbook's sheets: {listed}"
        raise _file_problem(path, "there is no sheet with this name", fix, sheet=sheet, value=sheet)
    worksheet = book[matches[0]]
    if not hasattr(worksheet, "iter_rows"):
        raise _file_problem(path, "this sheet is a chart, not a table", sheet=matches[0])
    return worksheet


def _same_name(a: str, b: str) -> bool:
    """Return True when two sheet names differ only in case and surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


def _sheet_rows(worksheet: Any) -> list[tuple[Any, ...]]:
    """Return every row of the worksheet as a tuple of values, row 1 first."""
    worksheet.reset_dimensions()  # some exports state a wrong size; read the rows that are there
    return [tuple(row) for row in worksheet.iter_rows(values_only=True)]


def _formula_cells(handle: BinaryIO, sheet: str) -> frozenset[tuple[int, int]]:
    """Return the (row, column) of every formula cell in ``sheet``, 1-based."""
    if not _has_formulas(handle):
        return frozenset()  # the usual case: spare the second pass over the sheet
    handle.seek(0)
    book = openpyxl.load_workbook(handle, read_only=True, data_only=False, keep_links=False)
    try:
        rows = _sheet_rows(book[sheet])
    finally:
        book.close()
    return frozenset(
        (r, c)
        for r, row in enumerate(rows, start=1)
        for c, value in enumerate(row, start=1)
        if isinstance(value, ArrayFormula | DataTableFormula)
        or (isinstance(value, str) and value.startswith("="))
    )


def _hidden_rows(handle: BinaryIO, part: str) -> tuple[frozenset[int], str]:
    """Return the rows hidden in a sheet's XML part and the range of its active filter ("")."""
    # Read-only openpyxl does not keep row properties, so the part is read once more: first
    # scanned for the word, then (only when a row may be hidden) parsed, both streamed.
    if not part:
        return frozenset(), ""
    hidden: set[int] = set()
    filter_range, number = "", 0
    handle.seek(0)
    with zipfile.ZipFile(handle) as archive:
        with archive.open(part.lstrip("/")) as source:
            if not _mentions(source, b"hidden"):
                return frozenset(), ""  # the usual case: spare the second parse
        with archive.open(part.lstrip("/")) as source:
            for _, element in iterparse(source):
                tag = element.tag.rpartition("}")[2]
                if tag == "row":
                    number = _row_number(element.get("r"), number + 1)
                    if element.get("hidden") in ("1", "true"):
                        hidden.add(number)
                    element.clear()
                elif tag == "autoFilter":
                    if any(str(child.tag).endswith("}filterColumn") for child in element):
                        filter_range = element.get("ref") or "the sheet"
                    element.clear()
    return frozenset(hidden), filter_range


def _mentions(source: BinaryIO, word: bytes, chunk: int = 1 << 16) -> bool:
    """Return True when ``word`` occurs in the stream, read in chunks."""
    # Chunks below the C library's threshold for memory of its own (128 KiB): bigger ones
    # raise that threshold, and the freed megabytes stay with the process afterwards.
    tail = b""
    while block := source.read(chunk):
        seen = tail + block
        if word in seen:
            return True
        tail = seen[-len(word) + 1 :]
    return False


def _row_number(text: str | None, default: int) -> int:
    """Return a row element's number from its ``r`` attribute, or ``default`` without one."""
    try:
        return int(float(text)) if text else default
    except ValueError:
        return default


def _has_formulas(handle: BinaryIO) -> bool:
    """Return True when any XML part of the .xlsx file holds a formula element."""
    handle.seek(0)
    with zipfile.ZipFile(handle) as archive:
        parts = [n for n in archive.namelist() if n.lower().endswith(".xml")]
        return any(FORMULA_TAG.search(archive.read(name)) for name in parts)


def _at(rows: Sequence[Sequence[Any]], row: int, column: int) -> Any:
    """Return the value at 0-based ``row`` and ``column``, or None outside the cells read."""
    if row >= len(rows) or column >= len(rows[row]):
        return None
    return rows[row][column]


# --- The header row ----------------------------------------------------------------------------


def _header_key(text: Any) -> str:
    """Return a header text reduced to lowercase letters and digits ("E-post " -> "epost")."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFC", str(text)).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


_FIELD_BY_KEY = {_header_key(a): name for name, aliases in HEADER_ALIASES.items() for a in aliases}


def _header_fields(row: Sequence[Any]) -> dict[str, list[_Column]]:
    """Return the recognised columns of a candidate header row, grouped by field."""
    found: dict[str, list[_Column]] = {}
    for index, value in enumerate(row):
        name = _FIELD_BY_KEY.get(_header_key(value))
        if name:
            found.setdefault(name, []).append(_Column(name, index, " ".join(str(value).split())))
    return found


def _has_name(found: dict[str, Any]) -> bool:
    """Return True when the columns give a name: one name column, or first and last name."""
    return "name" in found or ("first_name" in found and "last_name" in found)


def _find_header(data: _Sheet, problems: _Problems) -> _Header | None:
    """Return the header row (the first with id, name and email columns), noting problems."""
    best: tuple[int, dict[str, list[_Column]]] | None = None
    for number, row in enumerate(data.rows[:HEADER_SEARCH_ROWS], start=1):
        found = _header_fields(row)
        if "id" in found and "email" in found and _has_name(found):
            return _header_from(number, found, problems)
        if len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (number, found)
    if best is not None:  # the likeliest header row; its missing columns are reported
        return _header_from(*best, problems)
    hints = ", ".join(HEADER_HINTS[name] for name in REQUIRED_FIELDS)
    problems.add(
        f"no header row found in the first {HEADER_SEARCH_ROWS} rows",
        f"put a header row above the employees with the columns {hints}",
    )
    return None


def _header_from(number: int, found: dict[str, list[_Column]], problems: _Problems) -> _Header:
    """Return the header for row ``number``, noting missing and repeated columns."""
    if "name" in found:  # a full-name column wins over first + last name columns
        found = {k: v for k, v in found.items() if k not in ("first_name", "last_name")}
    for name, columns in found.items():
        if len(columns) > 1:
            listed = " and ".join(f"{c.header!r} (column {c.letter})" for c in columns)
            message = f"more than one column holds the {FIELD_LABELS[name]}: {listed}"
            fix = "delete or rename all but one of them"
            problems.add(message, fix, row=number, column=columns[1].header)
    columns = {name: cols[0] for name, cols in found.items()}
    for name in _missing_fields(columns):
        message = f"the required column for the {FIELD_LABELS[name]} is missing"
        fix = f"add a column headed {HEADER_HINTS[name]} to the header row"
        problems.add(message, fix, row=number, column=HEADER_ALIASES[name][0])
    return _Header(number, columns)


def _missing_fields(columns: dict[str, _Column]) -> list[str]:
    """Return the required fields without a column; half a name asks for the other half."""
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if "name" in missing and _has_name(columns):
        missing.remove("name")
    elif "name" in missing and ("first_name" in columns or "last_name" in columns):
        other = "last_name" if "first_name" in columns else "first_name"
        missing[missing.index("name")] = other
    return missing


def _suggest_sheet(path: Path, name: str, sheet: str | None, problems: _Problems) -> None:
    """Point the missing-header problem at another sheet of the workbook that has a roster."""
    others = _sheets_with_header(path, name)
    if not others:
        return
    which = "the first sheet" if sheet is None else "this sheet"
    found = others[0]
    option = (
        f'--sheet "{found}"' if re.search(r"[\s\"'$&|;<>()*?`\\]", found) else f"--sheet {found}"
    )
    problems.found[-1] = replace(
        problems.found[-1],
        message=f"{which} ({name!r}) has no header row; the roster seems to be on sheet {found!r}",
        fix=f"run the command again with {option} (or move that sheet first in the workbook)",
    )


def _sheets_with_header(path: Path, skip: str) -> list[str]:
    """Return the names of the workbook's other sheets that have a roster header row."""
    try:
        with path.open("rb") as handle, warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
            try:
                return [
                    worksheet.title
                    for worksheet in book.worksheets
                    if worksheet.title != skip and _has_header_row(worksheet)
                ]
            finally:
                book.close()
    except _UNREADABLE:
        return []


def _has_header_row(worksheet: Any) -> bool:
    """Return True when one of the sheet's first rows names the id, name and email columns."""
    worksheet.reset_dimensions()
    for row in worksheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True):
        found = _header_fields(row)
        if "id" in found and "email" in found and _has_name(found):
            return True
    return False


def _hidden_warnings(
    path: Path, data: _Sheet, employees: list[Employee], sheet: str | None
) -> list[Problem]:
    """Return warnings for a hidden roster sheet and for employees in hidden or filtered rows."""
    found = []
    if data.hidden_sheet and sheet is None:
        found.append(
            Problem(
                str(path),
                "this sheet is hidden in Excel, yet it is the first sheet, so samtale reads it",
                "if the roster is on another sheet, run the command again with --sheet NAME",
                sheet=data.name,
            )
        )
    hidden = [e for e in employees if e.row in data.hidden_rows]
    if hidden:
        why = "hidden"
        if data.filter_range:
            why = f"hidden or filtered out (the sheet has a filter on {data.filter_range})"
        named = ", ".join(f"row {e.row}: {e.name} ({e.id})" for e in hidden[:SHOWN_HIDDEN])
        more = f" and {len(hidden) - SHOWN_HIDDEN} more" if len(hidden) > SHOWN_HIDDEN else ""
        found.append(
            Problem(
                str(path),
                f"{len(hidden)} employee(s) are in rows {why} in Excel ({named}{more}); "
                "samtale still uses them",
                FIX_HIDDEN_ROWS,
                sheet=data.name,
            )
        )
    return found


# --- Rows ------------------------------------------------------------------------------------


class _RowReader:
    """Reads one sheet row into an Employee, noting every problem in it."""

    def __init__(self, data: _Sheet, header: _Header, number: int, problems: _Problems):
        self.columns = header.columns
        self.number = number
        self.row = data.rows[number - 1]
        self.unsaved = data.unsaved_formulas
        self.problems = problems

    def raw(self, name: str) -> Any:
        """Return the cell value of field ``name`` in this row (None without that column)."""
        column = self.columns.get(name)
        return None if column is None or column.index >= len(self.row) else self.row[column.index]

    def is_blank(self) -> bool:
        """Return True when no roster column of this row holds anything."""
        return all(
            _is_blank(self.raw(name)) and (self.number, column.index + 1) not in self.unsaved
            for name, column in self.columns.items()
        )

    def problem(self, name: str, message: str, fix: str, value: Any = None) -> None:
        """Note a problem in this row's column for field ``name``."""
        column = self.columns.get(name)
        header = column.header if column else ""
        self.problems.add(message, fix, row=self.number, column=header, value=value)

    def usable(self, name: str) -> bool:
        """Return False (noting why) when the cell holds an unsaved formula or an error value."""
        column = self.columns.get(name)
        if column is None:
            return True
        cell = f"{column.letter}{self.number}"
        if (self.number, column.index + 1) in self.unsaved:
            self.problem(name, f"the formula in cell {cell} has no saved result", FIX_FORMULA)
            return False
        value = self.raw(name)
        if isinstance(value, str) and value.strip() in ERROR_CODES:
            self.problem(name, f"cell {cell} holds a formula error", FIX_ERROR_VALUE, value)
            return False
        return True

    def employee(self) -> Employee:
        """Return the row's employee; invalid cells are noted and read as blank."""
        return Employee(
            id=self.id("id"),
            name=self.name(),
            email=self.email(),
            manager_id=self.id("manager_id"),
            department=self.text("department"),
            title=self.text("title"),
            start_date=self.start_date(),
            language=self.language(),
            row=self.number,
        )

    def id(self, name: str) -> str:
        """Return an id cell (the employee's or the manager's) as normalized text."""
        if not self.usable(name):
            return ""
        value = self.raw(name)
        try:
            text = normalize_id(value)
        except ValueError:
            self.problem(name, f"not a valid {FIELD_LABELS[name]}", FIX_ID, value)
            return ""
        if not text and name == "id" and "id" in self.columns:
            self.problem(name, "the employee id is blank", FIX_ID)
        return text

    def name(self) -> str:
        """Return the employee's name, from one name column or first and last name."""
        parts = ["name"] if "name" in self.columns else ["first_name", "last_name"]
        parts = [part for part in parts if part in self.columns]
        usable = [part for part in parts if self.usable(part)]
        name = " ".join(_clean(self.raw(part)) for part in usable).strip()
        if not name and usable == parts and _has_name(self.columns):
            self.problem(parts[0], "the name is blank", "write the employee's full name")
        return name

    def text(self, name: str) -> str:
        """Return a text cell with whitespace trimmed and collapsed ("" when blank)."""
        return _clean(self.raw(name)) if self.usable(name) else ""

    def email(self) -> str:
        """Return the email address, trimmed; blank is allowed (send reports it)."""
        if not self.usable("email"):
            return ""
        value = self.raw("email")
        text = _cell_text(value).strip()
        if text and not EMAIL_PATTERN.fullmatch(text):
            self.problem("email", "not a valid email address", FIX_EMAIL, value)
            return ""
        return text

    def start_date(self) -> dt.date | None:
        """Return the start date, from an Excel date or dd.mm.yyyy / yyyy-mm-dd text."""
        if not self.usable("start_date"):
            return None
        value = self.raw("start_date")
        try:
            return parse_date(value)
        except ValueError:
            self.problem("start_date", "not a date that can be read", FIX_DATE, value)
            return None

    def language(self) -> str:
        """Return "nb" or "en" (blank means nb)."""
        if not self.usable("language"):
            return DEFAULT_LANGUAGE
        value = self.raw("language")
        try:
            return parse_language(value)
        except ValueError:
            self.problem("language", "unknown language", FIX_LANGUAGE, value)
            return DEFAULT_LANGUAGE


def _read_employees(data: _Sheet, header: _Header, problems: _Problems) -> list[Employee]:
    """Return the employees below the header row, in sheet order, skipping blank rows."""
    employees = []
    for number in range(header.row + 1, len(data.rows) + 1):
        reader = _RowReader(data, header, number, problems)
        if not reader.is_blank():
            employees.append(reader.employee())
    return employees


def _is_blank(value: Any) -> bool:
    """Return True for an empty cell or one holding only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(value: Any) -> str:
    """Return a cell value as text with whitespace trimmed and collapsed."""
    return " ".join(_cell_text(value).split())


def _cell_text(value: Any) -> str:
    """Return a cell value as text: whole numbers without ".0", midnight dates as yyyy-mm-dd."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value)


def normalize_id(value: Any) -> str:
    """Return an employee id as text: 1001, "1001", 1001.0 and " 1001 " all become "1001"."""
    # Raise ValueError for values that cannot be an id (fractions, dates, true/false).
    if value is None:
        return ""
    if isinstance(value, bool | dt.date | dt.time | dt.timedelta):
        raise ValueError(f"not an id: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
        return str(int(value))
    text = " ".join(str(value).split())
    whole = re.fullmatch(r"(\d+)\.0+", text)
    return whole.group(1) if whole else text


def parse_date(value: Any) -> dt.date | None:
    """Return the date in a cell (Excel date, dd.mm.yyyy or yyyy-mm-dd text), None when blank."""
    # Raise ValueError for anything else.
    if _is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if match := DATE_DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := DATE_ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        raise ValueError(f"not a date: {value!r}")
    return dt.date(year, month, day)  # ValueError for 31.02.2020


def parse_language(value: Any) -> str:
    """Return "nb" or "en" for a language cell (blank means nb); raise ValueError if unknown."""
    text = unicodedata.normalize("NFC", _cell_text(value)).casefold().replace("_", "-")
    key = " ".join(text.split())
    if not key:
        return DEFAULT_LANGUAGE
    language = LANGUAGE_ALIASES.get(key)
    if language not in LANGUAGES:
        raise ValueError(f"unknown language: {value!r}")
    return language


# --- The roster as a whole -------------------------------------------------------------------


def _check_unique(employees: list[Employee], header: _Header, problems: _Problems) -> None:
    """Note every id and every email address (ignoring case) used by more than one row."""
    for name, key in (("id", _id_key), ("email", _email_key)):
        seen: dict[str, Employee] = {}
        for employee in employees:
            value = key(employee)
            first = seen.setdefault(value, employee) if value else employee
            if first is not employee:
                message = (
                    f"the {FIELD_LABELS[name]} is used twice: rows {first.row} and {employee.row}"
                )
                fix = FIX_DUPLICATE_ID if name == "id" else FIX_DUPLICATE_EMAIL
                shown = employee.id if name == "id" else employee.email
                column = header.columns[name].header
                problems.add(message, fix, row=employee.row, column=column, value=shown)


def _id_key(employee: Employee) -> str:
    """Return the employee id, the key that must be unique."""
    return employee.id


def _email_key(employee: Employee) -> str:
    """Return the email address compared without case."""
    return employee.email.casefold()


def _check_managers(employees: list[Employee], header: _Header, problems: _Problems) -> None:
    """Note managers who are missing, employees who manage themselves, and chains that loop."""
    if "id" not in header.columns or "manager_id" not in header.columns:
        return
    column = header.columns["manager_id"].header
    by_id: dict[str, Employee] = {}
    for employee in employees:
        by_id.setdefault(employee.id, employee)
    managers: dict[str, str] = {}
    for employee in employees:
        boss = employee.manager_id
        if not boss or not employee.id:
            continue
        where = {"row": employee.row, "column": column, "value": boss}
        if boss == employee.id:
            problems.add("the employee is their own manager", FIX_MANAGER, **where)
        elif boss not in by_id:
            message = f"the manager id {boss} is not in the roster"
            problems.add(message, _fix_unknown_manager(boss, employees), **where)
        elif by_id[employee.id] is employee:
            managers[employee.id] = boss
    for cycle in _cycles(managers, [e.id for e in employees if e.id]):
        first = by_id[cycle[0]]
        chain = " → ".join([*cycle, cycle[0]])
        message = f"the manager chain loops: {chain}"
        problems.add(message, FIX_CYCLE, row=first.row, column=column, value=first.manager_id)


def _fix_unknown_manager(value: str, employees: list[Employee]) -> str:
    """Return how to fix a manager id not in the roster (it may be the manager's name)."""
    for employee in employees:
        if employee.id and employee.name.casefold() == value.casefold():
            return f"write the manager's employee id ({employee.id}) instead of the name"
    return "add the manager to the roster, or correct the id"


def _cycles(managers: dict[str, str], order: list[str]) -> list[list[str]]:
    """Return each loop in the employee → manager graph once, from its earliest member."""
    position = {employee_id: n for n, employee_id in reversed(list(enumerate(order)))}
    done: set[str] = set()
    cycles = []
    for start in order:
        path: dict[str, int] = {}  # employee id -> place on this walk up the chain
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path[node] = len(path)
            node = managers.get(node)
        if node is not None and node in path:
            loop = list(path)[path[node] :]
            first = min(range(len(loop)), key=lambda i: position[loop[i]])
            cycles.append(loop[first:] + loop[:first])
        done.update(path)
    return cycles
