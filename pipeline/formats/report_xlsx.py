"""The HR report as an Excel workbook: the same tables, with native Excel charts HR can reuse.

One sheet per section of the report, each table under its title with its chart beside it; the
numbers the charts draw (shown rows only) are on the last sheet. Text is always written as text,
never as a formula, whatever a department's name begins with.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.cell import Cell as SheetCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.fill import ColorChoice, PatternFillProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.formats.report_model import Cell, Chart, Report, Section, Table

FORMATS = {"int": "0", "mean": "0.0", "change": "+0.0;-0.0;0.0", "percent": "0%"}
TITLE, BOLD, ITALIC = Font(bold=True, size=14), Font(bold=True), Font(italic=True, color="404040")
HEAD_FILL = PatternFill("solid", fgColor="E6E6E6")
HIDDEN_FILL = PatternFill("solid", fgColor="F3F3F3")
THIN = Side(style="thin", color="808080")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
# (fill, pattern) per series: grey tones and hatching, readable in black and white
SERIES_STYLES = (
    ("2B2B2B", None),
    ("707070", "wdUpDiag"),
    ("A9A9A9", None),
    ("D9D9D9", "smGrid"),
    ("FFFFFF", None),
    ("FFFFFF", "wdDnDiag"),
)
ROW_HEIGHT_CM, COLUMN_WIDTH_CM = 0.53, 1.9
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def report_xlsx(report: Report) -> bytes:
    """Return the report as the bytes of an .xlsx workbook."""
    workbook = Workbook()
    overview = workbook.active
    overview.title = sheet_name(report.words["overview"], set())
    data = workbook.create_sheet(sheet_name(report.words["chart_data"], {overview.title}))
    names = {overview.title, data.title}
    write_overview(overview, report)
    data_row = [1]
    for number, part in enumerate(report.sections, start=1):
        sheet = workbook.create_sheet(sheet_name(f"{number} {part.title}", names), number)
        names.add(sheet.title)
        write_section(sheet, part, data, data_row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_name(title: str, taken: set[str]) -> str:
    """Return a valid, unused sheet name from ``title`` (at most 31 characters)."""
    base = SHEET_NAME_FORBIDDEN.sub(" ", title).strip("' ")[:31] or "Ark"
    name, n = base, 2
    while name in taken:
        name = f"{base[: 31 - len(str(n)) - 1]} {n}"
        n += 1
    return name


def put(cell: SheetCell, value, *, font: Font | None = None) -> SheetCell:
    """Write ``value``; text always as text (never a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def write_overview(sheet: Worksheet, report: Report) -> None:
    """Write the first sheet: title, facts, how figures are protected, the sheets that follow."""
    put(sheet.cell(1, 1), report.title, font=TITLE)
    put(sheet.cell(2, 1), report.subtitle)
    row = 4
    for label, value in report.facts:
        put(sheet.cell(row, 1), label, font=BOLD)
        put(sheet.cell(row, 2), value)
        row += 1
    row += 1
    put(sheet.cell(row, 1), report.words["privacy"], font=BOLD)
    put(sheet.cell(row + 1, 1), report.privacy).alignment = WRAP
    sheet.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=8)
    sheet.row_dimensions[row + 1].height = 15 * max(2, len(report.privacy) // 110 + 1)
    row += 3
    put(sheet.cell(row, 1), report.words["contents"], font=BOLD)
    for number, part in enumerate(report.sections, start=1):
        put(sheet.cell(row + number, 1), f"{number}. {part.title}")
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 60


def write_section(sheet: Worksheet, part: Section, data: Worksheet, data_row: list[int]) -> None:
    """Write one section's tables one under the other, each chart to the right of its table."""
    put(sheet.cell(1, 1), part.title, font=TITLE)
    put(sheet.cell(2, 1), part.intro)
    row = 4
    widest = 1
    for table in part.tables:
        start = row
        row = write_table(sheet, table, row)
        widest = max(widest, len(table.columns))
        if table.chart is not None and table.rows:
            height = place_chart(sheet, table, table.chart, data, data_row, start)
            row = max(row, start + height)
        row += 2
    sheet.column_dimensions["A"].width = 36
    print_wide(sheet)
    for column in range(2, widest + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14


def print_wide(sheet: Worksheet) -> None:
    """Print the sheet in landscape, as wide as one page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0


def write_table(sheet: Worksheet, table: Table, row: int) -> int:
    """Write a table's title, header and rows from ``row``; return the next free row."""
    put(sheet.cell(row, 1), table.title, font=BOLD)
    row += 1
    if not table.rows:
        put(sheet.cell(row, 1), table.empty, font=ITALIC)
        return row + 1 + note(sheet, table, row + 1)
    for column, title in enumerate(table.columns, start=1):
        cell = put(sheet.cell(row, column), title, font=BOLD)
        cell.fill, cell.border, cell.alignment = HEAD_FILL, GRID, WRAP
    sheet.row_dimensions[row].height = 15 * header_lines(table.columns)
    for entry in table.rows:
        row += 1
        label = put(sheet.cell(row, 1), entry.label, font=BOLD if entry.total else None)
        label.border = GRID
        previous = ""
        for column, value in enumerate(entry.cells, start=2):
            write_cell(sheet.cell(row, column), value, repeat=value.hidden == previous)
            previous = value.hidden
    row += 1
    return row + note(sheet, table, row)


def header_lines(columns: tuple[str, ...]) -> int:
    """Return how many lines the longest column heading needs at our column widths."""
    return max(1, min(4, max(len(c) for c in columns[1:]) // 13 + 1)) if len(columns) > 1 else 1


def write_cell(cell: SheetCell, value: Cell, *, repeat: bool) -> None:
    """Write one figure, or the reason it is hidden (once per run of hidden cells)."""
    cell.border = GRID
    if value.hidden:
        if not repeat:
            put(cell, value.hidden, font=ITALIC)
        cell.fill = HIDDEN_FILL
        return
    put(cell, value.value)
    if value.format in FORMATS:
        cell.number_format = FORMATS[value.format]


def note(sheet: Worksheet, table: Table, row: int) -> int:
    """Write the table's note at ``row``; return how many rows it took."""
    if not table.note:
        return 0
    put(sheet.cell(row, 1), table.note, font=ITALIC)
    return 1


def place_chart(
    sheet: Worksheet, table: Table, chart: Chart, data: Worksheet, data_row: list[int], at: int
) -> int:
    """Add the chart of ``table`` beside it (its numbers on the data sheet); return its rows."""
    categories, series = chart_data(table, chart)
    if not categories:
        return 0
    first = data_row[0]
    put(data.cell(first, 1), table.title, font=BOLD)
    for column, (name, _) in enumerate(series, start=2):
        put(data.cell(first + 1, column), name, font=BOLD)
    for offset, label in enumerate(categories, start=2):
        put(data.cell(first + offset, 1), label)
        for column, (_, values) in enumerate(series, start=2):
            put(data.cell(first + offset, column), values[offset - 2])
    last = first + 1 + len(categories)
    data_row[0] = last + 3
    bar = excel_chart(chart, len(categories))
    refs = Reference(data, min_col=2, max_col=1 + len(series), min_row=first + 1, max_row=last)
    bar.add_data(refs, titles_from_data=True)
    bar.set_categories(Reference(data, min_col=1, min_row=first + 2, max_row=last))
    for n, item in enumerate(bar.series):
        item.graphicalProperties = series_style(n if len(series) > 1 else 2)
    anchor = f"{get_column_letter(len(table.columns) + 2)}{at}"
    sheet.add_chart(bar, anchor)
    return int(bar.height / ROW_HEIGHT_CM) + 1


def chart_data(table: Table, chart: Chart) -> tuple[list[str], list[tuple[str, list]]]:
    """Return the chart's categories and its series (name, values) from the shown rows."""
    names = [table.columns[i + 1] for i in chart.series]
    if chart.kind == "profile":
        total = next((r for r in table.rows if r.total), None)
        if total is None:
            return [], []
        values = [total.cells[i].number for i in chart.series]
        return (names, [(total.label, values)]) if any(v is not None for v in values) else ([], [])
    rows = [
        r
        for r in table.rows
        if (chart.include_total or not r.total)
        and any(r.cells[i].number is not None for i in chart.series)
    ]
    series = [
        (name, [r.cells[i].number for r in rows])
        for name, i in zip(names, chart.series, strict=True)
    ]
    return [r.label for r in rows], series


def excel_chart(chart: Chart, categories: int) -> BarChart:
    """Return an empty horizontal bar chart of the right kind, sized for its categories."""
    bar = BarChart()
    bar.type = "bar"
    bar.title = chart.title
    bar.y_axis.title = chart.axis
    bar.y_axis.delete = False
    bar.x_axis.delete = False
    bar.x_axis.scaling.orientation = "maxMin"  # first category at the top, as in the table
    if chart.kind == "stacked":
        bar.grouping = "percentStacked"
        bar.overlap = 100
    bar.legend.position = "b"
    bar.width = 16
    bar.height = max(6.0, 2.5 + 0.6 * categories)
    return bar


def series_style(n: int) -> GraphicalProperties:
    """Return a series' fill: a grey tone, hatched for every other one, with a black outline."""
    colour, pattern = SERIES_STYLES[n % len(SERIES_STYLES)]
    properties = GraphicalProperties(ln=LineProperties(solidFill="000000", w=6350))
    if pattern:
        properties.pattFill = PatternFillProperties(
            prst=pattern, fgClr=ColorChoice(srgbClr="000000"), bgClr=ColorChoice(srgbClr=colour)
        )
    else:
        properties.solidFill = colour
    return properties
