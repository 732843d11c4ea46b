"""The HR report as plain data: sections of tables, each cell a figure or the reason it is hidden.

``samtale report`` builds one ``Report`` (all text already in the report's language); the HTML
page (report_html.py) and the Excel workbook (report_xlsx.py) are two renderings of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Number = int | float


@dataclass(frozen=True)
class Cell:
    """One cell: a figure or text, or the reason it is hidden (then ``value`` is None)."""

    value: Number | str | None = None
    hidden: str = ""  # why nothing is shown, in the report's language ("" = shown)
    format: str = ""  # "int" | "mean" (one decimal) | "change" (signed) | "percent" | ""

    @property
    def number(self) -> float | None:
        """Return the value as a number for charts (None when hidden or not a number)."""
        if self.hidden or isinstance(self.value, bool) or not isinstance(self.value, int | float):
            return None
        return float(self.value)


@dataclass(frozen=True)
class Row:
    """One row: its label, then one cell per remaining column."""

    label: str
    cells: tuple[Cell, ...]
    total: bool = False  # the whole organisation (set apart in the layout)


@dataclass(frozen=True)
class Chart:
    """How to draw a table: which columns are the series, over which rows (hidden rows left out).

    ``kind``: "stacked" (each row's series as shares of 100 %, e.g. the 1–5 answers) or "bars"
    (grouped bars of the series' values).
    """

    kind: str
    title: str
    series: tuple[int, ...]  # indexes into a row's cells
    axis: str  # the value axis label
    include_total: bool = True


@dataclass(frozen=True)
class Table:
    """One table of the report, with an optional chart of it."""

    key: str  # stable, ASCII: the Excel sheet and the HTML anchor derive from it
    title: str
    columns: tuple[str, ...]  # the label column first
    rows: tuple[Row, ...]
    note: str = ""
    chart: Chart | None = None
    empty: str = ""  # shown instead of the table when it has no rows


@dataclass(frozen=True)
class Section:
    """A numbered part of the report: a heading, a short introduction, its tables."""

    key: str
    title: str
    intro: str
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Report:
    """The whole report, in one language."""

    language: str
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]  # (label, value) lines under the title
    privacy: str  # how figures are protected, shown near the top
    sections: tuple[Section, ...]
    words: dict[str, str] = field(default_factory=dict)  # small layout words: "contents" …
