"""The answers workbook (``output/<cycle>/answers.xlsx``): one sheet per form kind, HR's edits kept.

Row 1 of a form kind's sheet holds the column keys (the fixed columns, then one column per question
key in the template's order); sheet ``questions`` says what each key asks. HR may correct answers in
the workbook: the ledger table ``extracted`` remembers what each extraction put in every answer
cell, and a later update only overwrites a cell that still holds that value. Answers are data, never
formulas: every text cell is stored as a string, whatever it begins with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from lxml import etree
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.domain.kinds import ALL_FORM_KINDS
from pipeline.domain.questions import Question
from pipeline.errors import WorkbookError, WorkbookLockedError, plain_reason
from pipeline.formats.previous import normalize_id
from pipeline.formats.templates import FIXED_COLUMNS
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir
from pipeline.state.ledger import Ledger

QUESTIONS_SHEET = "questions"
QUESTIONS_HEADER = ("key", "form_kind", "section", "question", "type")
SHEET_ORDER = (*ALL_FORM_KINDS, QUESTIONS_SHEET)
MIN_WIDTH, MAX_WIDTH = 12, 50
EXCEL_CELL_LIMIT = 32_767  # characters (UTF-16 code units) Excel keeps in one cell
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BOOLEAN_FORMULA = re.compile(r"=(TRUE|FALSE)(\(\))?", re.IGNORECASE)
TEXT_FORMAT = "@"  # Excel's "Text" number format: what HR types later stays text as well
HEADER_FONT = Font(bold=True)
WRAPPED = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
NEVER = object()  # "no extraction ever wrote this cell"

LOCKED_FIX = (
    "close it in Excel/LibreOffice and run collect again "
    "(if no program has it open, delete the lock file)"
)
CORRUPT_FIX = (
    "move it aside (rename it), run collect again to write a fresh workbook, "
    "then copy your corrections over from the old file"
)
CONFLICT_REASON = (
    "HR edited this cell and a newer returned version has a different answer; "
    "HR's value was kept, compare it with the returned file"
)
TRUNCATED_REASON = (
    f"the answer is longer than Excel's limit of {EXCEL_CELL_LIMIT} characters per cell; "
    "the cell holds the beginning, read the whole answer in the returned file"
)


@dataclass(frozen=True)
class AnswerRow:
    """One employee's row of a form kind's sheet: the fixed columns and the answers by key."""

    employee_id: str
    name: str
    department: str
    manager_id: str
    status: str
    returned_at: str
    source_file: str
    answers: dict[str, str | bool | None]


@dataclass(frozen=True)
class Conflict:
    """A cell HR must look at; says where and why, never the answer text."""

    sheet: str
    employee_id: str
    key: str
    reason: str


@dataclass
class MergeReport:
    """What an update of the answers workbook changed, kept and could not decide."""

    path: Path
    updated_cells: int = 0  # answer cells whose value changed
    kept_hr_edits: int = 0  # answer cells HR had corrected, left as HR wrote them
    conflicts: list[Conflict] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # employee rows written per form kind
    restored_columns: list[tuple[str, str]] = field(default_factory=list)  # (sheet, key) HR deleted


@dataclass
class _Merge:
    """Working state of one update: the report and what the ledger must remember afterwards."""

    report: MergeReport
    last: dict[tuple[str, str, str], object]
    written: list[tuple[str, str, str, str]] = field(default_factory=list)


# public entry point ----------------------------------------------------------------------------


def update_answers_workbook(
    path: Path, sheets: dict[str, tuple[list[Question], list[AnswerRow]]], ledger: Ledger
) -> MergeReport:
    """Return the report of writing ``sheets`` into the workbook at ``path``, keeping HR's edits."""
    # ``sheets`` maps a form kind to its questions (template order) and one row per employee. The
    # workbook is replaced atomically; when it is open, locked, changed meanwhile or corrupt, an
    # error is raised and neither the workbook nor the ledger changes.
    path = Path(path)
    check_sheet_names(sheets)
    ensure_private_dir(path.parent)
    check_writable(path)
    before = file_state(path)
    workbook = load_workbook(path) if before else new_workbook()
    merge = _Merge(MergeReport(path), ledger.extracted_values(list(sheets)))
    for kind, (questions, rows) in sheets.items():
        merge_sheet(workbook, kind, questions, rows, merge, path)
    write_questions_sheet(workbook, sheets)
    order_sheets(workbook)
    save_atomically(workbook, path, before, ledger, merge.written)
    return merge.report


# reading ---------------------------------------------------------------------------------------


def check_sheet_names(sheets: dict) -> None:
    """Raise ValueError when a form kind cannot be a sheet name of its own."""
    for kind in sheets:
        if kind == QUESTIONS_SHEET or not kind or len(kind) > 31:
            raise ValueError(f"{kind!r} cannot be a form kind's sheet name")


def lock_files(path: Path) -> list[Path]:
    """Return the lock files LibreOffice and Excel put next to a workbook they have open."""
    name = path.name
    return [
        path.with_name(f".~lock.{name}#"),
        path.with_name(f"~${name}"),
        path.with_name(f"~${name[2:]}"),  # Office shortens long names this way
    ]


def check_writable(path: Path) -> None:
    """Raise WorkbookLockedError when the workbook is open elsewhere or cannot be replaced."""
    for lock in lock_files(path):
        if lock.exists():
            raise WorkbookLockedError(
                f"{path}: the workbook is open in another program (lock file {lock.name}); "
                + LOCKED_FIX
            )
    if path.exists() and not os.access(path, os.W_OK):
        raise WorkbookLockedError(
            f"{path}: the workbook is read-only; make it writable, then run collect again"
        )
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise WorkbookLockedError(
            f"{folder}: the folder is not writable; fix its permissions, then run collect again"
        )


def file_state(path: Path) -> tuple[int, int] | None:
    """Return the workbook's modification time and size, or None when there is none yet."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def load_workbook(path: Path) -> Workbook:
    """Return the existing workbook (formulas as written); raise WorkbookError with the fix."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it cannot keep (slicers, extensions); not actionable here
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(path, rich_text=False)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path}: cannot read the workbook ({plain_reason(exc)}); {LOCKED_FIX}"
        ) from exc
    except Exception as exc:  # any failure to parse means the file is not a usable workbook
        raise WorkbookError(
            f"{path}: not a readable .xlsx workbook ({plain_reason(exc)}); {CORRUPT_FIX}"
        ) from exc


def new_workbook() -> Workbook:
    """Return an empty workbook without openpyxl's default sheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


# values ----------------------------------------------------------------------------------------


def clean_value(value: object) -> str | bool | None:
    """Return an answer as the workbook stores it: text without XML-forbidden characters, a bool,"""
    # or None; dates become ISO text and text is cut to Excel's cell limit.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = XML_FORBIDDEN.sub("", str(value))
    return text[: excel_cut(text)] if len(text) > EXCEL_CELL_LIMIT // 2 else text


def excel_cut(text: str) -> int:
    """Return how many characters of ``text`` fit in one Excel cell (counted in UTF-16 units)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > EXCEL_CELL_LIMIT:
            return index
    return len(text)


def was_cut(original: object, stored: object) -> bool:
    """Return whether text had to be cut to fit Excel's cell limit."""
    if not isinstance(original, str) or not isinstance(stored, str):
        return False
    return len(stored) < len(XML_FORBIDDEN.sub("", original))


def normalize(value: object) -> str:
    """Return a value as comparable text: None is '', bools TRUE/FALSE, dates ISO, numbers plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n")


def cell_value(cell: Cell) -> object:
    """Return a cell's value; LibreOffice saves booleans as the formulas =TRUE() and =FALSE()."""
    value = cell.value
    if cell.data_type == "f" and isinstance(value, str):
        match = BOOLEAN_FORMULA.fullmatch(value.strip())
        if match:
            return match.group(1).upper() == "TRUE"
    return value


def put(cell: Cell, value: str | bool | None) -> None:
    """Write a value into a cell; text is always a string, never a formula or an error code."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def merge_cell(current: object, last: object, new: object) -> str:
    """Return what to do with one answer cell: 'write', 'kept', 'agree' or 'conflict'."""
    # ``current`` is the workbook's value, ``last`` what the previous extraction wrote (NEVER when
    # none did) and ``new`` what this extraction found.
    base = "" if last is NEVER else normalize(last)
    now, fresh = normalize(current), normalize(new)
    if now == base:
        return "write"
    if fresh == base:
        return "kept"
    return "agree" if fresh == now else "conflict"


# one form kind's sheet -------------------------------------------------------------------------


def merge_sheet(
    workbook: Workbook,
    kind: str,
    questions: list[Question],
    rows: list[AnswerRow],
    merge: _Merge,
    path: Path,
) -> None:
    """Write one form kind's rows into its sheet, keeping HR's edits, rows and columns."""
    sheet = workbook[kind] if kind in workbook.sheetnames else workbook.create_sheet(kind)
    columns = header_columns(sheet)
    if columns and "employee_id" not in columns:
        raise WorkbookError(
            f"{path}: sheet {kind!r} has no 'employee_id' column in row 1; name that column "
            f"employee_id again, or {CORRUPT_FIX}"
        )
    target = SheetMerge(sheet, kind, questions, columns, merge)
    for row in rows:
        target.write_row(row)
    merge.report.rows[kind] = len(rows)
    keys = [*FIXED_COLUMNS, *(q.key for q in questions)]
    format_sheet(sheet, [columns[k] for k in keys], {columns[k] for k in keys} - target.old)


class SheetMerge:
    """One form kind's sheet being updated: where each key and employee is, and how to style."""

    def __init__(self, sheet, kind, questions, columns, merge: _Merge):
        self.sheet, self.kind, self.questions, self.merge = sheet, kind, questions, merge
        self.old_columns = set(columns)
        self.old = set(columns.values())
        written_keys = {key for (sheet_kind, _, key) in merge.last if sheet_kind == kind}
        if columns:  # the sheet was there: a column we wrote before that is gone was deleted
            merge.report.restored_columns += [
                (kind, q.key) for q in questions if q.key in written_keys and q.key not in columns
            ]
        add_columns(sheet, columns, [*FIXED_COLUMNS, *(q.key for q in questions)])
        self.columns = columns
        self.row_of = employee_rows(sheet, columns["employee_id"])
        self.next_row = max(sheet.max_row, 1) + 1
        self.seen: set[str] = set()
        self.styles: dict[bool, object] = {}

    def write_row(self, row: AnswerRow) -> None:
        """Write one employee's fixed columns and merge their answers."""
        employee_id = normalize_id(row.employee_id)
        if not employee_id or employee_id in self.seen:
            raise ValueError(
                f"sheet {self.kind!r}: employee id {employee_id!r} is empty or repeated"
            )
        self.seen.add(employee_id)
        number = self.row_of.get(employee_id)
        fresh_row = number is None
        if fresh_row:
            number, self.next_row = self.next_row, self.next_row + 1
        for name in FIXED_COLUMNS:
            value = employee_id if name == "employee_id" else getattr(row, name)
            cell = self.sheet.cell(number, self.columns[name])
            put(cell, clean_value(value) or None)
            if fresh_row or name not in self.old_columns:
                self.style(cell, wrapped=True)
        for question in self.questions:
            fresh = fresh_row or question.key not in self.old_columns
            self.merge_answer(number, fresh, employee_id, row, question)

    def merge_answer(
        self, number: int, fresh: bool, employee_id: str, row: AnswerRow, question: Question
    ) -> None:
        """Update one answer cell unless HR edited it, counting what happened."""
        cell = self.sheet.cell(number, self.columns[question.key])
        new = clean_value(row.answers.get(question.key))
        report, where = self.merge.report, (self.kind, employee_id, question.key)
        current = None if fresh else cell_value(cell)
        # a new row or column has nothing to merge with
        decision = "write" if fresh else merge_cell(current, self.merge.last.get(where, NEVER), new)
        if decision == "write":
            report.updated_cells += (
                new not in (None, "") if fresh else normalize(new) != normalize(current)
            )
            put(cell, None if new == "" else new)  # also restores a type another program changed
            if was_cut(row.answers.get(question.key), new):
                report.conflicts.append(Conflict(*where, TRUNCATED_REASON))
        elif decision == "kept":
            report.kept_hr_edits += 1
        elif decision == "conflict":
            report.conflicts.append(Conflict(*where, CONFLICT_REASON))
        if fresh:
            self.style(cell, wrapped=question.type != "checkbox")
        self.merge.written.append((*where, json.dumps(new, ensure_ascii=False)))

    def style(self, cell: Cell, wrapped: bool) -> None:
        """Give a new cell our style: top-aligned; text cells wrapped and formatted as Text."""
        template = self.styles.get(wrapped)
        if template is not None:
            cell._style = copy(template)  # openpyxl's way to copy a style; far faster than setting
            return
        cell.alignment = WRAPPED if wrapped else TOP
        if wrapped:
            cell.number_format = TEXT_FORMAT
        self.styles[wrapped] = copy(cell._style)


def header_columns(sheet: Worksheet) -> dict[str, int]:
    """Return the column number of each key in row 1 (the first one when a key repeats)."""
    columns: dict[str, int] = {}
    for cell in next(sheet.iter_rows(min_row=1, max_row=1), ()):
        if cell.value is not None and str(cell.value).strip():
            columns.setdefault(str(cell.value).strip(), cell.column)
    return columns


def add_columns(sheet: Worksheet, columns: dict[str, int], keys: list[str]) -> None:
    """Append a header cell for every key the sheet lacks (all of them in a new sheet)."""
    next_column = sheet.max_column + 1 if columns else 1
    for key in keys:
        if key not in columns:
            put(sheet.cell(1, next_column), key)
            columns[key] = next_column
            next_column += 1


def employee_rows(sheet: Worksheet, column: int) -> dict[str, int]:
    """Return the row number of each employee id in the sheet (the first row when one repeats)."""
    rows: dict[str, int] = {}
    for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
        employee_id = normalize_id(cell.value)
        if employee_id:
            rows.setdefault(employee_id, cell.row)
    return rows


# formatting ------------------------------------------------------------------------------------


def format_sheet(sheet: Worksheet, ours: list[int], new: set[int]) -> None:
    """Bold frozen header, filter over the used range, and our columns as wide as their text."""
    sheet.freeze_panes = "A2"
    last = get_column_letter(sheet.max_column)
    rows = max(sheet.max_row, 1)  # computed once: openpyxl scans every cell for it
    sheet.auto_filter.ref = f"A1:{last}{rows}"
    for column in ours:
        cells = sheet.iter_rows(
            min_row=1, max_row=rows, min_col=column, max_col=column, values_only=True
        )
        header = sheet.cell(1, column)
        header.font = HEADER_FONT
        header.alignment = TOP
        set_width(sheet, column, (value for (value,) in cells), column in new)


def set_width(sheet: Worksheet, column: int, values: Iterable[object], new: bool) -> None:
    """Size a column to its longest line (12–50 characters); an old column is never narrowed."""
    lines = (line for v in values if v is not None for line in str(v).split("\n"))
    longest = max(map(len, lines), default=0)
    wanted = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
    dimension = sheet.column_dimensions[get_column_letter(column)]
    if not new and dimension.width and dimension.width >= wanted:
        return  # HR may have widened it
    dimension.width = wanted


# the questions sheet ---------------------------------------------------------------------------


def write_questions_sheet(workbook: Workbook, sheets: dict) -> None:
    """Rewrite sheet ``questions``: key, form kind, section, question and type of every column."""
    kept = []
    if QUESTIONS_SHEET in workbook.sheetnames:
        old = workbook[QUESTIONS_SHEET]
        for values in old.iter_rows(min_row=2, max_col=len(QUESTIONS_HEADER), values_only=True):
            if values[1] not in sheets and any(v is not None for v in values):
                kept.append(values)
        workbook.remove(old)
    rows = [tuple(r) for r in kept]
    for kind, (questions, _) in sheets.items():
        rows += [(q.key, kind, q.section, q.title, q.type) for q in questions]
    rank = {kind: n for n, kind in enumerate(SHEET_ORDER)}
    rows.sort(key=lambda r: rank.get(str(r[1]), len(rank)))  # stable: template order kept
    sheet = workbook.create_sheet(QUESTIONS_SHEET)
    for number, values in enumerate([QUESTIONS_HEADER, *rows], start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(number, column)
            put(cell, clean_value(value) or None)
            cell.alignment = WRAPPED
    everything = list(range(1, len(QUESTIONS_HEADER) + 1))
    format_sheet(sheet, everything, set(everything))


def order_sheets(workbook: Workbook) -> None:
    """Put the sheets in order employee, manager, minutes, questions, then any of HR's own."""
    rank = {kind: n for n, kind in enumerate(SHEET_ORDER)}
    ordered = sorted(workbook.worksheets, key=lambda s: rank.get(s.title, len(rank)))
    for index, sheet in enumerate(ordered):
        workbook.move_sheet(sheet, index - workbook.index(sheet))
    for sheet in workbook.worksheets:
        sheet.sheet_view.tabSelected = False
    workbook.active = 0
    workbook.worksheets[0].sheet_view.tabSelected = True


# writing ---------------------------------------------------------------------------------------


def save_atomically(
    workbook: Workbook,
    path: Path,
    before: tuple[int, int] | None,
    ledger: Ledger,
    written: list[tuple[str, str, str, str]],
) -> None:
    """Save to an owner-only temporary file, then swap it in and remember what was written."""
    # The ledger rows and the rename succeed together or not at all.
    try:
        fd, name = tempfile.mkstemp(prefix=".answers-", suffix=".xlsx.tmp", dir=path.parent)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path.parent}: cannot write there ({exc.strerror}); fix the folder's permissions, "
            "then run collect again"
        ) from exc
    os.close(fd)
    temporary = Path(name)
    try:
        workbook.save(temporary)
        os.chmod(temporary, PRIVATE_FILE)
        sync(temporary)
        check_writable(path)
        if file_state(path) != before:
            raise WorkbookLockedError(
                f"{path}: the workbook changed while collect was running (saved in Excel or "
                "LibreOffice?); close it and run collect again"
            )
        replace_and_remember(temporary, path, ledger, written)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path}: cannot replace the workbook ({exc.strerror}); " + LOCKED_FIX
        ) from exc
    except OSError as exc:
        raise WorkbookError(
            f"{path}: cannot write the workbook ({exc.strerror}); it is unchanged. Free disk "
            "space or fix the folder, then run collect again"
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)


def replace_and_remember(
    temporary: Path, path: Path, ledger: Ledger, written: list[tuple[str, str, str, str]]
) -> None:
    """Rename the new workbook into place and record the written values, both or neither."""
    ledger.remember_extracted(written, lambda: os.replace(temporary, path))


def sync(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# one person's rows (access request, erasure) ---------------------------------------------------


def rows_about(path: Path, employee_id: str) -> dict[str, dict[str, object]]:
    """Return one employee's row of every form kind's sheet as {column key: value}."""
    workbook = load_workbook(path)
    found = {}
    for kind in ALL_FORM_KINDS:
        if kind not in workbook.sheetnames:
            continue
        sheet = workbook[kind]
        columns = header_columns(sheet)
        number = employee_rows(sheet, columns.get("employee_id", 1)).get(employee_id)
        if number is not None:
            found[kind] = {key: cell_value(sheet.cell(number, c)) for key, c in columns.items()}
    return found


def question_texts(path: Path) -> dict[tuple[str, str], str]:
    """Return the question of every (form kind, column key) from sheet ``questions``."""
    workbook = load_workbook(path)
    if QUESTIONS_SHEET not in workbook.sheetnames:
        return {}
    rows = workbook[QUESTIONS_SHEET].iter_rows(min_row=2, values_only=True)
    return {(str(r[1]), str(r[0])): str(r[3] or "") for r in rows if len(r) > 3 and r[0]}


def remove_rows_about(path: Path, employee_id: str) -> int:
    """Return how many rows of the employee were removed from the workbook (0: left unchanged)."""
    # Every row whose employee_id is theirs goes, in every form kind's sheet; the rest of the
    # workbook (HR's edits, other sheets) stays. The file is replaced atomically.
    check_writable(path)
    workbook = load_workbook(path)
    removed = 0
    for kind in ALL_FORM_KINDS:
        if kind not in workbook.sheetnames:
            continue
        sheet = workbook[kind]
        column = header_columns(sheet).get("employee_id")
        if column is None:
            continue
        numbers = [
            cell.row
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column)
            if normalize_id(cell.value) == employee_id
        ]
        for number in reversed(numbers):
            sheet.delete_rows(number)
        removed += len(numbers)
    if removed:
        fd, name = tempfile.mkstemp(prefix=".answers-", suffix=".xlsx.tmp", dir=path.parent)
        os.close(fd)
        temporary = Path(name)
        try:
            workbook.save(temporary)
            os.chmod(temporary, PRIVATE_FILE)
            sync(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        sync_folder(path.parent)
    return removed


# reading chosen columns fast (the HR report) ---------------------------------------------------

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CELL_PATTERN = rb'<c (?:[^>]*? )?r="(%s)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)'
FAST_CELL_PATTERN = rb'<c r="(%s)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)'  # r first: Excel, LibreOffice
CELL = re.compile(CELL_PATTERN % rb"[A-Z]{1,3}", re.S)
CELL_TYPE = re.compile(rb'\bt="(\w+)"')
INLINE_TEXT = re.compile(rb"<t(?: [^>]*)?>(.*?)</t>", re.S)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def read_answer_columns(
    path: Path, columns: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, dict[str, object]]]:
    """Return {form kind: {employee id: {key: value}}} holding only the ``columns`` asked for."""
    # For 10,000 employees a full openpyxl load takes tens of seconds; this reads the sheet XML
    # with one pattern that matches only the wanted columns' cells. Values: text, a number, a
    # bool, or None. Only the keys asked for ever leave this function (the report asks for no
    # free text). A sheet or key the workbook lacks is simply absent.
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as package:
            sheets = sheet_parts(package)
            strings = shared_strings(package)
            return {
                kind: read_sheet_columns(package.read(sheets[kind]), keys, strings)
                for kind, keys in columns.items()
                if kind in sheets
            }
    except FileNotFoundError as exc:
        raise WorkbookError(f"{path}: file not found") from exc
    except (
        zipfile.BadZipFile,
        KeyError,
        IndexError,
        OSError,
        ValueError,
        etree.XMLSyntaxError,
    ) as exc:
        raise WorkbookError(
            f"{path}: not a readable .xlsx workbook ({plain_reason(exc)}); {CORRUPT_FIX}"
        ) from exc


def sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Return the zip part of each sheet by sheet name."""
    workbook = etree.fromstring(package.read("xl/workbook.xml"), SAFE_XML)
    rels = etree.fromstring(package.read("xl/_rels/workbook.xml.rels"), SAFE_XML)
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    parts = {}
    for sheet in workbook.iter(f"{{{SHEET_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{REL_NS}}}id"), "")
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def shared_strings(package: zipfile.ZipFile) -> SharedStrings:
    """Return the workbook's shared strings (none when it has no such part)."""
    name = "xl/sharedStrings.xml"
    return SharedStrings(package.read(name) if name in package.namelist() else b"")


SHARED_ITEM = re.compile(rb"<si>(.*?)</si>|<si/>", re.S)
PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)


class SharedStrings:
    """A workbook's shared strings, each decoded only when a wanted cell refers to it."""

    # The table holds every free-text answer too; the report needs a few hundred of them.

    def __init__(self, xml: bytes):
        self.xml = xml
        self.spans: list[tuple[int, int]] | None = None
        self.decoded: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        """Return the text of string ``index`` (phonetic guides left out)."""
        if index in self.decoded:
            return self.decoded[index]
        if self.spans is None:
            self.spans = [match.span(1) for match in SHARED_ITEM.finditer(self.xml)]
        start, end = self.spans[index]
        item = PHONETIC.sub(b"", self.xml[start:end]) if start >= 0 else b""
        text = self.decoded[index] = xml_text(b"".join(INLINE_TEXT.findall(item)))
        return text


def read_sheet_columns(
    xml: bytes, keys: tuple[str, ...], strings: SharedStrings
) -> dict[str, dict[str, object]]:
    """Return one sheet's rows {employee id: {key: value}} for the wanted ``keys`` it has."""
    # A column the sheet has is in every row (None where the cell is empty); a column HR
    # deleted is in none, so "deleted" never reads as "emptied".
    header = {
        cell_text(m, strings): m.group(1).decode()
        for m in CELL.finditer(xml, 0, header_end(xml))
        if m.group(2) == b"1"
    }
    letters = {header[key]: key for key in (*keys, "employee_id") if key in header}
    if "employee_id" not in header:
        return {}
    pattern = FAST_CELL_PATTERN if xml.count(b"<c ") == xml.count(b'<c r="') else CELL_PATTERN
    wanted = re.compile(pattern % "|".join(letters).encode(), re.S)
    by_letter = {letter.encode(): key for letter, key in letters.items()}
    rows: dict[bytes, dict[str, object]] = {}
    for match in wanted.finditer(xml):
        letter, number = match.group(1, 2)
        if number != b"1":
            row = rows.get(number)
            if row is None:
                row = rows[number] = {}
            row[by_letter[letter]] = cell_text(match, strings)
    found = {}
    present = [key for key in keys if key in header]
    for values in rows.values():
        employee_id = normalize_id(values.pop("employee_id", None))
        if employee_id:
            found.setdefault(employee_id, {key: values.get(key) for key in present})
    return found


def header_end(xml: bytes) -> int:
    """Return where the first row of a sheet ends (the header row)."""
    end = xml.find(b"</row>")
    return end if end >= 0 else len(xml)


def cell_text(match: re.Match, strings: SharedStrings) -> object:
    """Return the value of one matched ``<c>`` cell: text, number, bool or None."""
    # Plain string operations: this runs once per wanted cell, 300,000 times for 10,000 people.
    attributes, content = match.group(3, 4)
    content = content or b""
    kind = CELL_TYPE.search(attributes).group(1) if b"t=" in attributes else b"n"
    if kind == b"inlineStr":
        return xml_text(b"".join(INLINE_TEXT.findall(content)))
    start = content.find(b"<v>")
    if start < 0:
        return None
    text = xml_text(content[start + 3 : content.find(b"</v>", start)])
    if kind == b"s":
        return strings[int(text)]
    if kind == b"b":
        return text == "1"
    if kind in (b"str", b"e"):
        return text
    number = float(text)
    return int(number) if number.is_integer() else number


def xml_text(data: bytes) -> str:
    """Return XML character data as text (entities and character references resolved)."""
    text = data.decode("utf-8")
    return html.unescape(text) if "&" in text else text


def excel_date(value: object) -> dt.date | None:
    """Return a date from ISO text (as samtale writes it) or an Excel serial number (HR's edit)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 2_958_466:
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value.strip()[:10])
    return None
