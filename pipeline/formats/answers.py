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
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from lxml import etree
from openpyxl.cell import Cell
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.domain.kinds import ALL_FORM_KINDS
from pipeline.domain.questions import Question
from pipeline.errors import WorkbookError, WorkbookLockedError, plain_reason
from pipeline.formats import xlsx
from pipeline.formats.previous import normalize_id
from pipeline.formats.templates import FIXED_COLUMNS
from pipeline.formats.xlsx import SharedStrings, xml_text
from pipeline.state.files import PRIVATE_FILE, ensure_private_dir, sync_folders

QUESTIONS_SHEET = "questions"
QUESTIONS_HEADER = ("key", "form_kind", "section", "question", "type")
SHEET_ORDER = (*ALL_FORM_KINDS, QUESTIONS_SHEET)
MIN_WIDTH, MAX_WIDTH = 12, 50
EXCEL_CELL_LIMIT = 32_767  # characters (UTF-16 code units) Excel keeps in one cell
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BOOLEAN_FORMULA = re.compile(r"=(TRUE|FALSE)(\(\))?", re.IGNORECASE)
NEVER = object()  # "no extraction ever wrote this cell"
TO_JSON = json.JSONEncoder(ensure_ascii=False).encode
TEXT_TO_JSON = json.encoder.encode_basestring  # what TO_JSON does with text, minus its overhead

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


# public entry point ----------------------------------------------------------------------------


class AnswerRows:
    """The rows of one form kind's sheet: who, in roster order, and each employee's row."""

    # ``collect`` reads each employee's answers from the ledger when the sheet reaches them, so
    # the rows of 10,000 people are never all in memory (``ListedRows`` holds a list of them).

    def ids(self) -> list[str]:
        """Return the employee ids of the sheet's rows, in the order new rows are added."""
        raise NotImplementedError

    def rows(self, employee_ids: list[str]) -> dict[str, AnswerRow]:
        """Return the rows of these employees."""
        raise NotImplementedError


class ListedRows(AnswerRows):
    """The rows of a sheet, all given at once."""

    def __init__(self, rows: list[AnswerRow]):
        self.by_id: dict[str, AnswerRow] = {}
        for found in rows:
            employee_id = normalize_id(found.employee_id)
            if not employee_id or employee_id in self.by_id:
                raise ValueError(f"employee id {employee_id!r} is empty or repeated")
            self.by_id[employee_id] = found

    def ids(self) -> list[str]:
        """Return the employee ids of the rows, in the order given."""
        return list(self.by_id)

    def rows(self, employee_ids: list[str]) -> dict[str, AnswerRow]:
        """Return the rows of these employees."""
        return {employee_id: self.by_id[employee_id] for employee_id in employee_ids}


def update_answers_workbook(
    path: Path, sheets: dict[str, tuple[list[Question], list[AnswerRow] | AnswerRows]], ledger
) -> MergeReport:
    """Return the report of writing ``sheets`` into the workbook at ``path``, keeping HR's edits."""
    # ``sheets`` maps a form kind to its questions (template order) and one row per employee. The
    # workbook is replaced atomically; when it is open, locked, changed meanwhile or corrupt, an
    # error is raised and neither the workbook nor the ledger changes.
    path = Path(path)
    check_sheet_names(sheets)
    prepared = {
        kind: (questions, rows if isinstance(rows, AnswerRows) else checked_rows(kind, rows))
        for kind, (questions, rows) in sheets.items()
    }
    ensure_private_dir(path.parent)
    check_writable(path)
    before = file_state(path)
    source = open_source(path) if before else None
    report = MergeReport(path)
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
        with contextlib.ExitStack() as stack:
            if source is not None:
                stack.callback(source.close)
            remember = stack.enter_context(ledger.workbook_update())  # rows and file, or neither
            rewrite = Rewrite(path, source, ledger, remember, report)
            stack.callback(rewrite.close)
            rewrite.write(temporary, prepared)
            os.chmod(temporary, PRIVATE_FILE)
            sync(temporary)
            check_writable(path)
            if file_state(path) != before:
                raise WorkbookLockedError(
                    f"{path}: the workbook changed while collect was running (saved in Excel "
                    "or LibreOffice?); close it and run collect again"
                )
            os.replace(temporary, path)
            keys = {kind: [q.key for q in found] for kind, (found, _) in sheets.items()}
            stamp = "" if rewrite.foreign_rows else workbook_stamp(path)
            ledger.replace_workbook_corrections(rewrite.corrections, stamp, keys)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path}: cannot replace the workbook ({exc.strerror}); " + LOCKED_FIX
        ) from exc
    except (OSError, zipfile.LargeZipFile) as exc:
        raise WorkbookError(
            f"{path}: cannot write the workbook ({getattr(exc, 'strerror', None) or exc}); it is "
            "unchanged. Free disk space or fix the folder, then run collect again"
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)
    return report


def checked_rows(kind: str, rows: list[AnswerRow]) -> AnswerRows:
    """Return a list of rows as ``AnswerRows``; raise ValueError for a repeated employee."""
    try:
        return ListedRows(rows)
    except ValueError as exc:
        raise ValueError(f"sheet {kind!r}: {exc}") from exc


def open_source(path: Path) -> zipfile.ZipFile:
    """Return the existing workbook opened; raise the error HR reads when it cannot be."""
    try:
        package = zipfile.ZipFile(path)
        for required in (xlsx.WORKBOOK_PART, xlsx.WORKBOOK_RELS, xlsx.CONTENT_TYPES):
            package.getinfo(required)
        return package
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{path}: cannot read the workbook ({plain_reason(exc)}); {LOCKED_FIX}"
        ) from exc
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise corrupt(path, exc) from exc


# What zipfile, zlib and lxml raise for a damaged or foreign workbook.
UNREADABLE = (
    zipfile.BadZipFile, KeyError, IndexError, OSError, ValueError, EOFError, zlib.error,
    etree.XMLSyntaxError,
)  # fmt: skip


def corrupt(path: Path, exc: Exception) -> WorkbookError:
    """Return the error for a workbook that cannot be read as one."""
    return WorkbookError(
        f"{path}: not a readable .xlsx workbook ({plain_reason(exc)}); {CORRUPT_FIX}"
    )


# the rewrite -----------------------------------------------------------------------------------

ROWS_PER_LOOKUP = 256  # rows whose answers and extracted values are fetched together
MAX_TRACKED_WIDTH = MAX_WIDTH + 2  # a column this wide needs no more measuring


class Rewrite:
    """One update of the workbook: the parts read from the old package, the new one written."""

    def __init__(self, path: Path, source: zipfile.ZipFile | None, ledger, remember, report):
        self.path, self.source, self.ledger, self.remember = path, source, ledger, remember
        self.report = report
        try:
            if source is not None:
                self.names = source.namelist()
                self.parts = xlsx.WorkbookParts.read(source.read, set(self.names))
                styles = source.read(xlsx.STYLES_PART) if xlsx.STYLES_PART in self.names else None
                strings = (
                    source.read(xlsx.SHARED_STRINGS_PART)
                    if xlsx.SHARED_STRINGS_PART in self.names
                    else b""
                )
            else:
                self.names, styles, strings = [], None, b""
                self.parts = new_parts()
            self.styles = xlsx.Styles(styles)
            self.reading = xlsx.Reading(
                xlsx.SharedStrings(strings), self.styles.date_styles(), xlsx.epoch_of(self.parts)
            )
        except (KeyError, ValueError, etree.XMLSyntaxError, zipfile.BadZipFile) as exc:
            raise corrupt(path, exc) from exc
        self.written: dict[str, object] = {}  # part name -> bytes, a MergedSheet, Unselected
        self.files: list = []  # temporary files holding rows, closed by ``close``
        self.corrections: list[tuple] = []  # HR's edits kept: (kind, employee, key, JSON)
        self.foreign_rows = False  # rows of someone not in the roster (their edits not seen)

    def close(self) -> None:
        """Close the temporary files (they hold answers: never left behind)."""
        for file in self.files:
            file.close()

    def spooled(self):
        """Return a new temporary file for rows (in memory while small)."""
        # Closed by close(); on disk only beside the workbook, in its private folder.
        file = tempfile.SpooledTemporaryFile(max_size=1 << 22, dir=self.path.parent)  # noqa: SIM115
        self.files.append(file)
        return file

    def write(self, temporary: Path, sheets: dict) -> None:
        """Write the updated workbook to ``temporary``."""
        for kind, (questions, rows) in sheets.items():
            entry = self.parts.sheet(kind)
            existed = entry is not None
            entry = entry or self.parts.add_sheet(kind)
            self.written[entry.part] = self.merge_sheet(kind, entry.part, existed, questions, rows)
        self.write_questions(sheets)
        self.parts.order(SHEET_ORDER)
        self.parts.show_first_sheet()
        for index, entry in enumerate(self.parts.sheets):
            found = self.written.get(entry.part)
            if isinstance(found, MergedSheet):
                found.selected = index == 0
                self.parts.set_filter_name(index, entry.name, found.reference)
            elif index > 0 and entry.part in self.names:
                self.written[entry.part] = Unselected(entry.part)  # never grouped with ours
        if self.source is None:
            self.written["_rels/.rels"] = NEW_PACKAGE_RELS
        self.written[xlsx.WORKBOOK_PART] = xlsx.serialize(self.parts.workbook)
        self.written[xlsx.WORKBOOK_RELS] = xlsx.serialize(self.parts.rels)
        self.written[xlsx.CONTENT_TYPES] = xlsx.serialize(self.parts.types)
        self.written[xlsx.STYLES_PART] = self.styles.xml()
        self.save(temporary)

    # -- one form kind's sheet ------------------------------------------------------------------

    def merge_sheet(self, kind, part, existed, questions, rows: AnswerRows) -> MergedSheet:
        """Return one form kind's sheet merged: HR's edits, rows and columns kept."""
        source = self.open_part(part) if existed else io.BytesIO(xlsx.EMPTY_SHEET)
        try:
            with source:
                stream = xlsx.SheetStream(source)
                return SheetRewrite(self, kind, questions, rows, stream).run()
        except (xlsx.SheetError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise corrupt(self.path, exc) from exc

    def open_part(self, part: str):
        """Return a part of the old package opened for streaming."""
        try:
            return self.source.open(part)
        except KeyError as exc:
            raise corrupt(self.path, exc) from exc

    # -- the questions sheet --------------------------------------------------------------------

    def write_questions(self, sheets: dict) -> None:
        """Rewrite sheet ``questions``: key, form kind, section, question, type of each column."""
        entry = self.parts.sheet(QUESTIONS_SHEET)
        kept = self.kept_questions(entry.part, sheets) if entry is not None else []
        entry = entry or self.parts.add_sheet(QUESTIONS_SHEET)
        rows = [tuple(r) for r in kept]
        for kind, (questions, _) in sheets.items():
            rows += [(q.key, kind, q.section, q.title, q.type) for q in questions]
        rank = {kind: n for n, kind in enumerate(SHEET_ORDER)}
        rows.sort(key=lambda r: rank.get(str(r[1]), len(rank)))  # stable: template order kept
        self.written[entry.part] = self.plain_sheet([QUESTIONS_HEADER, *rows])

    def kept_questions(self, part: str, sheets: dict) -> list[tuple]:
        """Return the rows of the old questions sheet about kinds not written this time."""
        kept = []
        try:
            with self.open_part(part) as source:
                rows = list(xlsx.SheetStream(source).rows())
            for raw in rows:
                row = xlsx.parse_row(raw, 0)
                if row.number < 2:
                    continue
                values = [None] * len(QUESTIONS_HEADER)
                for cell in row.cells:
                    if cell.column <= len(values):
                        values[cell.column - 1] = xlsx.cell_value(cell, self.reading)
                if values[1] not in sheets and any(v is not None for v in values):
                    kept.append(tuple(values))
        except (xlsx.SheetError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise corrupt(self.path, exc) from exc
        return kept

    def plain_sheet(self, rows: list[tuple]) -> MergedSheet:
        """Return a sheet of plain values, wrapped, its header bold and frozen."""
        header = self.styles.derived(None, bold=True)
        wrapped = self.styles.derived(None, wrap=True)
        body = self.spooled()
        columns = len(QUESTIONS_HEADER)
        longest = dict.fromkeys(range(1, columns + 1), 0)
        for number, values in enumerate(rows, start=1):
            cells = []
            for column, value in enumerate(values, start=1):
                stored = clean_value(value) or None
                cells.append(
                    xlsx.cell_xml(column, number, stored, header if number == 1 else wrapped)
                )
                longest[column] = max(longest[column], line_length(stored))
            body.write(xlsx.row_xml(number, b"", cells))
        widths = {column: width_for(length) for column, length in longest.items()}
        last = f"{xlsx.column_letter(columns)}{max(len(rows), 1)}"
        empty = xlsx.SheetStream(io.BytesIO(xlsx.EMPTY_SHEET))
        list(empty.rows())  # none; what follows them is read
        return MergedSheet(empty, body, widths, last)

    # -- the whole workbook ---------------------------------------------------------------------

    def save(self, temporary: Path) -> None:
        """Write the new package: changed parts rewritten, every other part copied."""
        order = list(self.names) + [name for name in self.written if name not in self.names]
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as out:
            for name in order:
                found = self.written.get(name)
                if isinstance(found, MergedSheet):
                    found.write_to(out, name)
                elif isinstance(found, Unselected):
                    out.writestr(name, xlsx.unselected(self.source.read(name)))
                elif isinstance(found, bytes):
                    out.writestr(name, found)
                else:
                    with self.source.open(name) as reader, out.open(name, "w") as writer:
                        shutil.copyfileobj(reader, writer, 1 << 20)


@dataclass
class Unselected:
    """One of HR's sheets to copy with its tab unselected."""

    part: str


@dataclass
class MergedSheet:
    """A rewritten sheet waiting to be written: its old head and tail, its rows in a file."""

    stream: xlsx.SheetStream
    body: object  # a temporary file holding the rows
    widths: dict[int, float]
    last_cell: str  # the bottom right of the used range, e.g. "AU301"
    selected: bool = False

    @property
    def reference(self) -> str:
        """Return the range the sheet uses (and its auto filter covers)."""
        return f"A1:{self.last_cell}"

    def write_to(self, out: zipfile.ZipFile, name: str) -> None:
        """Write the sheet into the package."""
        reference = self.reference
        head = xlsx.with_dimension(self.stream.head, reference)
        head = xlsx.with_frozen_header(xlsx.with_widths(head, self.widths), self.selected)
        tail = xlsx.with_auto_filter(self.stream.tail, reference)
        with out.open(name, "w") as writer:
            writer.write(head)
            self.body.seek(0)
            shutil.copyfileobj(self.body, writer, 1 << 20)
            writer.write(tail)


@dataclass(frozen=True)
class FreshLayout:
    """How a new employee's row is written: (column, key, cell start) of each cell."""

    fixed: list[tuple[int, str, str]]  # the fixed columns
    answers: list[tuple[int, str, str]]  # the questions' columns, in the template's order
    order: list[int] | None  # the cells' order by column, None when that is the order above


SHORT_VALUE = 64  # characters: values up to this long have their XML remembered per sheet
EMPTY_CELL_END = xlsx.cell_end(None)


class SheetRewrite:
    """One form kind's sheet merged row by row: fixed columns always, answers unless HR edited."""

    def __init__(self, rewrite: Rewrite, kind, questions, rows: AnswerRows, stream):
        self.rewrite, self.kind, self.questions, self.rows = rewrite, kind, questions, rows
        self.stream = stream
        self.report, self.reading = rewrite.report, rewrite.reading
        self.wanted = set(rows.ids())
        self.seen: set[str] = set()
        self.body = rewrite.spooled()
        self.written: list[tuple] = []  # extracted values to remember, flushed per chunk
        self.written_rows: list[tuple] = []  # rows written: what from, and as what
        self.hr_cells = 0  # cells of the row being merged that HR's edit decided
        styles = rewrite.styles
        self.wrapped = styles.derived(None, wrap=True, text=True)
        self.top = styles.derived(None)
        self.header_styles: dict[int | None, int] = {}
        self.max_row = 0
        self.max_column = 0
        # the end of the <c> of each short value met before (choices, dates, booleans, empty)
        self.ends: dict = {None: xlsx.cell_end(None), True: xlsx.cell_end(True)}
        self.ends[False] = xlsx.cell_end(False)

    def run(self) -> MergedSheet:
        """Return the merged sheet (its rows written to a temporary file)."""
        rows = self.stream.rows()
        first = next(rows, None)
        header = xlsx.parse_row(first, 1) if first is not None else None
        pending = [] if header is None or header.number == 1 else [first]
        header = header if header is not None and header.number == 1 else None
        self.columns = self.read_header(header)
        self.layout = self.fresh_layout()
        self.body.write(self.header_row(header))
        self.max_row = 1
        for chunk in chunks(itertools.chain(pending, rows), ROWS_PER_LOOKUP):
            self.merge_rows([xlsx.RawRow(raw, self.max_row + 1 + n) for n, raw in enumerate(chunk)])
        fresh = [e for e in self.rows.ids() if e not in self.seen]
        for chunk in chunks(fresh, ROWS_PER_LOOKUP):
            self.add_rows(chunk)
        self.report.rows[self.kind] = len(self.wanted)
        widths = self.widths()
        right = max(self.max_column, *self.columns.values())
        return MergedSheet(
            self.stream, self.body, widths, f"{xlsx.column_letter(right)}{self.max_row}"
        )

    # -- the header -----------------------------------------------------------------------------

    def read_header(self, header: xlsx.Row | None) -> dict[str, int]:
        """Return the column of every key, adding the keys the sheet lacks (all, in a new sheet)."""
        columns: dict[str, int] = {}
        for cell in header.cells if header is not None else []:
            value = xlsx.cell_value(cell, self.reading)
            if value is not None and str(value).strip():
                columns.setdefault(str(value).strip(), cell.column)
        if columns and "employee_id" not in columns:
            raise WorkbookError(
                f"{self.rewrite.path}: sheet {self.kind!r} has no 'employee_id' column in row 1; "
                f"name that column employee_id again, or {CORRUPT_FIX}"
            )
        old_columns = set(columns.values())
        keys = [*FIXED_COLUMNS, *(q.key for q in self.questions)]
        if columns:  # the sheet was there: a column we wrote before that is gone was deleted
            written = self.rewrite.ledger.extracted_keys(self.kind)
            self.report.restored_columns += [
                (self.kind, q.key)
                for q in self.questions
                if q.key in written and q.key not in columns
            ]
        widest = max([used_columns(self.stream.head), *old_columns, 0])
        next_column = widest + 1 if columns else 1
        for key in keys:
            if key not in columns:
                columns[key] = next_column
                next_column += 1
        self.ours = {columns[key]: key for key in keys}
        self.new_columns = {columns[key] for key in keys} - old_columns
        self.longest = {column: len(key) for column, key in self.ours.items()}
        self.max_column = max(widest, next_column - 1)
        return columns

    def header_row(self, header: xlsx.Row | None) -> bytes:
        """Return row 1: every key in its column, ours bold and top-aligned."""
        cells = {cell.column: cell.raw for cell in header.cells} if header is not None else {}
        styles = {cell.column: cell.style for cell in header.cells} if header is not None else {}
        for column, key in self.ours.items():
            base = styles.get(column)
            if base not in self.header_styles:
                self.header_styles[base] = self.rewrite.styles.derived(base, bold=True)
            cells[column] = xlsx.cell_xml(column, 1, key, self.header_styles[base])
        attributes = header.attributes if header is not None else b""
        return xlsx.row_xml(1, attributes, [cells[c] for c in sorted(cells)])

    # -- the rows -------------------------------------------------------------------------------

    def merge_rows(self, rows: list[xlsx.RawRow]) -> None:
        """Write a chunk of existing rows: the employees' merged, every other row as it was."""
        id_column = self.columns["employee_id"]
        owners = []
        for row in rows:
            found = row.cell(id_column)
            employee_id = normalize_id(xlsx.cell_value(found, self.reading)) if found else ""
            mine = employee_id in self.wanted and employee_id not in self.seen
            if mine:
                self.seen.add(employee_id)
            elif employee_id and employee_id not in self.wanted:  # HR's own row, or a leaver's
                self.rewrite.foreign_rows = True
            owners.append(employee_id if mine else "")
        ids = [e for e in owners if e]
        ledger = self.rewrite.ledger
        answers, before = self.rows.rows(ids), ledger.written_rows(self.kind, ids)
        inputs = {employee_id: row_inputs(answers[employee_id]) for employee_id in ids}
        unchanged = {  # as written last time, and nothing new for them: copied as they are
            employee_id
            for row, employee_id in zip(rows, owners, strict=True)
            if employee_id
            and not self.new_columns
            and before.get(employee_id) == (inputs[employee_id], digest(row.raw))
        }
        last = ledger.extracted_for(self.kind, [e for e in ids if e not in unchanged])
        for row, employee_id in zip(rows, owners, strict=True):
            self.max_row = max(self.max_row, row.number)
            if employee_id in unchanged:
                self.body.write(row.raw)
                continue
            parsed = row.parsed()
            self.max_column = max([self.max_column, *(c.column for c in parsed.cells)])
            if not employee_id:
                self.measure(parsed)
                self.body.write(row.raw)
                continue
            merged = self.merged_row(parsed, answers[employee_id], last, fresh=False)
            self.write_row(employee_id, inputs[employee_id], merged)
        self.remember()

    def add_rows(self, employee_ids: list[str]) -> None:
        """Append the rows of employees the sheet did not have yet."""
        answers = self.rows.rows(employee_ids)
        last = self.rewrite.ledger.extracted_for(self.kind, employee_ids)
        for employee_id in employee_ids:
            self.max_row += 1
            answer = answers[employee_id]
            if self.layout is not None:
                merged = self.fresh_row(self.layout, self.max_row, answer, last)
            else:
                row = xlsx.Row(self.max_row, b"", [], b"")
                merged = self.merged_row(row, answer, last, fresh=True)
            self.write_row(employee_id, row_inputs(answer), merged)
        self.remember()

    def write_row(self, employee_id: str, inputs: str, xml: bytes) -> None:
        """Write one employee's merged row; remember what it was written from and as."""
        # A row holding HR's edits is merged again every time (their count is reported).
        self.body.write(xml)
        written = "" if self.hr_cells else digest(xml)
        self.written_rows.append((self.kind, employee_id, inputs, written))

    def remember(self) -> None:
        """Hand the values written so far to the ledger (kept only if the whole update is)."""
        if self.written or self.written_rows:
            self.rewrite.remember(self.written, self.written_rows)
            self.written, self.written_rows = [], []

    def merged_row(self, row: xlsx.Row, answer: AnswerRow, last: dict, fresh: bool) -> bytes:
        """Return one employee's row: fixed columns written, answers merged cell by cell."""
        self.hr_cells = 0
        employee_id = normalize_id(answer.employee_id)
        cells = {cell.column: cell for cell in row.cells}
        out = {cell.column: cell.raw for cell in row.cells}
        for name in FIXED_COLUMNS:
            column = self.columns[name]
            value = clean_value(employee_id if name == "employee_id" else getattr(answer, name))
            existing = cells.get(column)
            if fresh or column in self.new_columns:
                style = self.wrapped
            else:
                style = existing.style if existing is not None else None
            out[column] = xlsx.cell_xml(column, row.number, value or None, style)
            self.note_width(column, value)
        for question in self.questions:
            column = self.columns[question.key]
            out[column] = self.merged_cell(
                row.number, cells.get(column), answer, employee_id, question, last, fresh
            )
        return xlsx.row_xml(row.number, row.attributes, [out[c] for c in sorted(out)])

    def merged_cell(self, number, existing, answer, employee_id, question, last, fresh) -> bytes:
        """Return one answer cell: the new value unless HR edited it, counting what happened."""
        column = self.columns[question.key]
        fresh = fresh or column in self.new_columns
        new = clean_value(answer.answers.get(question.key))
        where = (self.kind, employee_id, question.key)
        current = None if fresh or existing is None else xlsx.cell_value(existing, self.reading)
        before = last.get((employee_id, question.key), NEVER)
        same = before is not NEVER and type(before) is type(new) and before == new
        report = self.report
        if fresh:
            decision = "write"
            report.updated_cells += new not in (None, "")
        else:
            now, fresh_text = normalize(current), normalize(new)
            base = fresh_text if same else ("" if before is NEVER else normalize(before))
            decision = decide(now, base, fresh_text)
            report.updated_cells += decision == "write" and fresh_text != now
        if decision == "write":
            if was_cut(answer.answers.get(question.key), new):
                report.conflicts.append(Conflict(*where, TRUNCATED_REASON))
        elif decision == "kept":
            report.kept_hr_edits += 1
        elif decision == "conflict":
            report.conflicts.append(Conflict(*where, CONFLICT_REASON))
        if not same:
            self.written.append((*where, to_json(new)))
        if decision != "write":
            self.hr_cells += 1
            if decision != "agree":  # HR's value stands: a correction of the record
                self.rewrite.corrections.append((*where, to_json(answer_of(current))))
            self.note_width(column, current)
            return existing.raw if existing is not None else b""
        if fresh:
            style = self.wrapped if question.type != "checkbox" else self.top
        else:
            style = existing.style if existing is not None else None
        self.note_width(column, new)
        return xlsx.cell_xml(column, number, None if new == "" else new, style)

    # -- a new employee's row: every cell is written, nothing to merge ---------------------------

    def fresh_layout(self) -> FreshLayout | None:
        """Return how a new row is written, or None when two of our keys share a column."""
        # ``merged_row`` with fresh=True does the same, cell by cell; ``fresh_row`` is its fast
        # path for the 800,000 cells of a first write.
        keys = [*FIXED_COLUMNS, *(q.key for q in self.questions)]
        columns = [self.columns[key] for key in keys]
        if len(set(columns)) < len(columns):
            return None
        fixed = [(self.columns[key], key, self.wrapped) for key in FIXED_COLUMNS]
        answers = [
            (self.columns[q.key], q.key, self.top if q.type == "checkbox" else self.wrapped)
            for q in self.questions
        ]
        order = sorted(range(len(columns)), key=columns.__getitem__)
        fixed, answers = (
            [(column, key, xlsx.cell_start(column, style)) for column, key, style in cells]
            for cells in (fixed, answers)
        )
        return FreshLayout(fixed, answers, None if order == list(range(len(order))) else order)

    def fresh_row(self, layout: FreshLayout, number: int, answer: AnswerRow, last: dict) -> bytes:
        """Return a new employee's row: what ``merged_row`` with fresh=True returns, faster."""
        self.hr_cells = 0
        employee_id = normalize_id(answer.employee_id)
        longest, ends, kind, written = self.longest, self.ends, self.kind, self.written
        cells = []
        for column, key, start in layout.fixed:
            value = clean_value(employee_id if key == "employee_id" else getattr(answer, key))
            width = longest[column]  # a line is never longer than its text
            if width < MAX_TRACKED_WIDTH and (type(value) is not str or len(value) > width):
                longest[column] = max(width, line_length(value))
            value = value or None
            end = ends.get(value)
            if end is None:
                end = xlsx.cell_end(value)
                if len(value) <= SHORT_VALUE:
                    ends[value] = end
            cells.append(start % number + end)
        updated = 0
        values = answer.answers
        for column, key, start in layout.answers:
            original = values.get(key)
            if type(original) is str and len(original) <= EXCEL_CELL_LIMIT // 2:
                # what clean_value returns (never cut); a printable text has no forbidden character
                value = original if original.isprintable() else XML_FORBIDDEN.sub("", original)
                stored = TEXT_TO_JSON(value)
                if value:
                    updated += 1
                    width = longest[column]  # a line is never longer than its text
                    if width < MAX_TRACKED_WIDTH and len(value) > width:
                        longest[column] = max(width, line_length(value))
                    end = ends.get(value)
                    if end is None:
                        end = xlsx.text_end(value)
                        if len(value) <= SHORT_VALUE:
                            ends[value] = end
                else:
                    end = EMPTY_CELL_END
            else:  # no answer, a checkbox, or text cut to fit a cell
                value = clean_value(original)
                if was_cut(original, value):
                    self.report.conflicts.append(Conflict(kind, employee_id, key, TRUNCATED_REASON))
                if value is not None and value != "":
                    updated += 1
                stored = to_json(value)
                if value is not None and longest[column] < MAX_TRACKED_WIDTH:
                    longest[column] = max(longest[column], line_length(value))
                end = ends.get(value) or xlsx.cell_end(value)
            if last:
                before = last.get((employee_id, key), NEVER)
                if before is NEVER or type(before) is not type(value) or before != value:
                    written.append((kind, employee_id, key, stored))
            else:
                written.append((kind, employee_id, key, stored))
            cells.append(start % number + end)
        self.report.updated_cells += updated
        if layout.order is not None:
            cells = [cells[n] for n in layout.order]
        return b'<row r="%d">' % number + "".join(cells).encode() + b"</row>"

    # -- column widths --------------------------------------------------------------------------

    def measure(self, row: xlsx.Row) -> None:
        """Note the width of an untouched row's values in our columns."""
        for cell in row.cells:
            if cell.column in self.ours and self.longest[cell.column] < MAX_TRACKED_WIDTH:
                self.note_width(cell.column, xlsx.cell_value(cell, self.reading))

    def note_width(self, column: int, value: object) -> None:
        """Note one value's longest line for its column's width."""
        if self.longest[column] < MAX_TRACKED_WIDTH:
            self.longest[column] = max(self.longest[column], line_length(value))

    def widths(self) -> dict[int, float]:
        """Return the widths of our columns: as wide as their text (12–50); never narrowed."""
        old = xlsx.column_widths(self.stream.head)
        widths = {}
        for column, longest in self.longest.items():
            wanted = width_for(longest)
            if column in self.new_columns or not old.get(column) or old[column] < wanted:
                widths[column] = wanted
        return widths


def row_inputs(answer: AnswerRow) -> str:
    """Return a SHA-256 of everything one employee's row is written from."""
    values = [getattr(answer, name) for name in FIXED_COLUMNS if name != "employee_id"]
    text = json.dumps([answer.employee_id, values, answer.answers], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def to_json(value: object) -> str:
    """Return a cell value as the ledger remembers it (JSON, letters as they are)."""
    if type(value) is str:
        return TEXT_TO_JSON(value)
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    return TO_JSON(value)


def digest(xml: bytes) -> str:
    """Return the SHA-256 of a row's XML."""
    return hashlib.sha256(xml).hexdigest()


def used_columns(head: bytes) -> int:
    """Return the last column of the used range a sheet's ``<dimension>`` states (0: none)."""
    found = re.search(rb'<dimension ref="[A-Z]+\d+:([A-Z]+)\d+"', head)
    return xlsx.column_number(found.group(1)) if found else 0


def line_length(value: object) -> int:
    """Return the length of a value's longest line."""
    if value is None:
        return 0
    if type(value) is str and "\n" not in value:
        return len(value)
    return max(map(len, str(value).split("\n")), default=0)


def width_for(longest: int) -> int:
    """Return the width of a column whose longest line has ``longest`` characters."""
    return min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)


def chunks(items, size: int):
    """Yield lists of up to ``size`` items."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def new_parts() -> xlsx.WorkbookParts:
    """Return the parts of a new, empty workbook."""
    names = {
        xlsx.CONTENT_TYPES: NEW_CONTENT_TYPES,
        xlsx.WORKBOOK_PART: NEW_WORKBOOK,
        xlsx.WORKBOOK_RELS: NEW_WORKBOOK_RELS,
    }
    return xlsx.WorkbookParts.read(names.__getitem__, {*names, "_rels/.rels", xlsx.STYLES_PART})


NEW_WORKBOOK = (
    f'<workbook xmlns="{xlsx.MAIN_NS}" xmlns:r="{xlsx.REL_NS}"><workbookPr/><bookViews>'
    '<workbookView activeTab="0"/></bookViews><sheets/><calcPr calcId="124519" '
    'fullCalcOnLoad="1"/></workbook>'
).encode()
NEW_WORKBOOK_RELS = (
    f'<Relationships xmlns="{xlsx.PACKAGE_REL_NS}"><Relationship Id="rIdStyles" '
    f'Type="{xlsx.REL_NS}/styles" Target="styles.xml"/></Relationships>'
).encode()
NEW_CONTENT_TYPES = (
    f'<Types xmlns="{xlsx.CONTENT_TYPES_NS}"><Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
    'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
).encode()
NEW_PACKAGE_RELS = (
    f'<Relationships xmlns="{xlsx.PACKAGE_REL_NS}"><Relationship Id="rId1" '
    f'Type="{xlsx.REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
).encode()


def sync(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk where the platform allows it."""
    sync_folders([folder])


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
    if len(original) <= EXCEL_CELL_LIMIT // 2:
        return False  # never cut
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


def answer_of(value: object) -> object:
    """Return a workbook value as an answer: text stays text, empty is None, numbers as text."""
    if value in (None, ""):
        return None
    if isinstance(value, bool | str):
        return value
    return normalize(value)


def workbook_stamp(path: Path) -> str:
    """Return what identifies the workbook as written: its size and modification time."""
    # Recorded with HR's corrections when collect writes the workbook: while the stamp holds,
    # nobody saved the workbook since, and the recorded corrections are all there are.
    state = file_state(path)
    return f"{state[1]}:{state[0]}" if state is not None else ""


def merge_cell(current: object, last: object, new: object) -> str:
    """Return what to do with one answer cell: 'write', 'kept', 'agree' or 'conflict'."""
    # ``current`` is the workbook's value, ``last`` what the previous extraction wrote (NEVER when
    # none did) and ``new`` what this extraction found.
    base = "" if last is NEVER else normalize(last)
    return decide(normalize(current), base, normalize(new))


def decide(now: str, base: str, fresh: str) -> str:
    """Return ``merge_cell``'s decision from the cell's, the last and the new value, as text."""
    if now == base:
        return "write"
    if fresh == base:
        return "kept"
    return "agree" if fresh == now else "conflict"


# one person's rows: reading the sheets with openpyxl ----------------------------------------


def header_columns(sheet: Worksheet) -> dict[str, int]:
    """Return the column number of each key in row 1 (the first one when a key repeats)."""
    columns: dict[str, int] = {}
    for cell in next(sheet.iter_rows(min_row=1, max_row=1), ()):
        if cell.value is not None and str(cell.value).strip():
            columns.setdefault(str(cell.value).strip(), cell.column)
    return columns


def employee_rows(sheet: Worksheet, column: int) -> dict[str, int]:
    """Return the row number of each employee id in the sheet (the first row when one repeats)."""
    rows: dict[str, int] = {}
    for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
        employee_id = normalize_id(cell.value)
        if employee_id:
            rows.setdefault(employee_id, cell.row)
    return rows


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


def answer_rows(
    path: Path, columns: dict[str, tuple[str, ...]]
) -> Iterator[tuple[str, str, dict[str, object]]]:
    """Yield (form kind, employee id, {key: value}) for every row, with the ``columns`` asked."""
    # Row by row, as a spreadsheet program shows the values (a date HR typed reads as a date);
    # the first row of an employee counts. A sheet or key the workbook lacks is left out.
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            parts = xlsx.WorkbookParts.read(package.read, names)
            styles = package.read(xlsx.STYLES_PART) if xlsx.STYLES_PART in names else None
            strings = (
                package.read(xlsx.SHARED_STRINGS_PART) if xlsx.SHARED_STRINGS_PART in names else b""
            )
            reading = xlsx.Reading(
                SharedStrings(strings), xlsx.Styles(styles).date_styles(), xlsx.epoch_of(parts)
            )
            for kind, keys in columns.items():
                entry = parts.sheet(kind)
                if entry is not None:
                    with package.open(entry.part) as source:
                        stream = xlsx.SheetStream(source)
                        for employee_id, values in sheet_values(stream, keys, reading):
                            yield kind, employee_id, values
    except FileNotFoundError as exc:
        raise WorkbookError(f"{path}: file not found") from exc
    except UNREADABLE as exc:
        raise corrupt(path, exc) from exc


def sheet_values(
    stream: xlsx.SheetStream, keys: tuple[str, ...], reading: xlsx.Reading
) -> Iterator[tuple[str, dict[str, object]]]:
    """Yield (employee id, {key: value}) for each row of a sheet, the first row of each id."""
    rows = stream.rows()
    first = next(rows, None)
    header = xlsx.parse_row(first, 1) if first is not None else None
    if header is None or header.number != 1:
        return
    columns: dict[str, int] = {}
    for cell in header.cells:
        value = xlsx.cell_value(cell, reading)
        if value is not None and str(value).strip():
            columns.setdefault(str(value).strip(), cell.column)
    if "employee_id" not in columns:
        return
    wanted = {columns[key]: key for key in keys if key in columns}
    seen: set[str] = set()
    for raw in rows:
        row = xlsx.parse_row(raw, 0)
        cells = {cell.column: cell for cell in row.cells}
        found = cells.get(columns["employee_id"])
        employee_id = normalize_id(xlsx.cell_value(found, reading)) if found else ""
        if not employee_id or employee_id in seen:
            continue
        seen.add(employee_id)
        values = {key: None for key in wanted.values()}
        for column, key in wanted.items():
            if column in cells:
                values[key] = xlsx.cell_value(cells[column], reading)
        yield employee_id, values


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
    except UNREADABLE as exc:
        raise corrupt(path, exc) from exc


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


def excel_date(value: object) -> dt.date | None:
    """Return a date from ISO text (as samtale writes it) or an Excel serial number (HR's edit)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 2_958_466:
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value.strip()[:10])
    return None
