"""The report's charts as inline SVG (matplotlib, no pyplot): grey tones and hatching, so they read
in black and white; glyphs drawn as paths, so the page needs no font and no network.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from xml.sax.saxutils import quoteattr

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from pipeline.formats.report_model import Chart, Row, Table

WIDTH_INCHES = 6.9  # the text width of an A4 page with 15 mm margins
# (fill, hatch, label colour) for the series in order: distinct in grey tones and in hatching
STYLES = (
    ("#2b2b2b", "", "white"),
    ("#707070", "///", "white"),
    ("#a9a9a9", "", "black"),
    ("#d9d9d9", "...", "black"),
    ("#ffffff", "", "black"),
    ("#ffffff", "\\\\\\", "black"),
)
RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "samtale-report",  # the same ids every run: identical bytes for equal data
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "hatch.linewidth": 0.6,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.6,
}
PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)


def chart_svg(table: Table, language: str) -> str:
    """Return the chart of ``table`` as an ``<svg>`` element, or "" when nothing can be drawn."""
    # The page shows the table's title right above the chart: the chart repeats it only when it
    # says something else (the workbook's charts always carry theirs).
    chart = table.chart
    if chart is None:
        return ""
    with matplotlib.rc_context(RC):
        figure = draw(table, chart, language, titled=chart.title != table.title)
        if figure is None:
            return ""
        buffer = io.StringIO()
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": "samtale"})
    svg = PROLOGUE.sub("", buffer.getvalue(), count=1)
    label = quoteattr(chart.title)
    return svg.replace("<svg ", f'<svg role="img" aria-label={label} lang="{language}" ', 1)


def draw(table: Table, chart: Chart, language: str, titled: bool = True) -> Figure | None:
    """Return the figure of one chart, or None when every row it would show is hidden."""
    if not titled:
        chart = replace(chart, title="")
    names = [table.columns[i + 1] for i in chart.series]
    if chart.kind == "profile":
        total = next((r for r in table.rows if r.total), None)
        values = [total.cells[i].number if total else None for i in chart.series]
        if total is None or all(v is None for v in values):
            return None
        return bars(chart, names, [("", values)], language, single=True)
    rows = [r for r in table.rows if (chart.include_total or not r.total) and drawable(r, chart)]
    if not rows:
        return None
    if chart.kind == "stacked":
        return stacked(chart, names, rows)
    series = [
        (name, [r.cells[i].number for r in rows])
        for name, i in zip(names, chart.series, strict=True)
    ]
    return bars(chart, [r.label for r in rows], series, language, single=len(series) == 1)


def drawable(row: Row, chart: Chart) -> bool:
    """Return True when the row has at least one shown value among the chart's series."""
    return any(row.cells[i].number is not None for i in chart.series)


def new_figure(categories: int, per_category: float) -> tuple[Figure, object]:
    """Return a figure and its axes, tall enough for ``categories`` horizontal bars."""
    height = 1.0 + categories * per_category
    figure = Figure(figsize=(WIDTH_INCHES, height), layout="constrained")
    return figure, figure.add_subplot()


def stacked(chart: Chart, names: list[str], rows: list[Row]) -> Figure:
    """Return 100 % stacked horizontal bars: each row's series as shares of the row."""
    figure, axes = new_figure(len(rows), 0.36)
    labels = [short(r.label) for r in rows]
    positions = list(range(len(rows)))[::-1]  # first row at the top
    left = [0.0] * len(rows)
    totals = [sum(r.cells[i].number or 0 for i in chart.series) or 1 for r in rows]
    for n, (name, index) in enumerate(zip(names, chart.series, strict=True)):
        fill, hatch, ink = STYLES[n % len(STYLES)]
        shares = [100 * (r.cells[index].number or 0) / t for r, t in zip(rows, totals, strict=True)]
        axes.barh(
            positions,
            shares,
            left=left,
            height=0.7,
            color=fill,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.5,
            label=name,
        )
        for y, x, share in zip(positions, left, shares, strict=True):
            if share >= 7:
                label(axes, x + share / 2, y, f"{share:.0f}", ink, fill if hatch else None)
        left = [x + s for x, s in zip(left, shares, strict=True)]
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, 100)
    finish(axes, chart, legend_columns=len(names))
    return figure


def label(axes, x: float, y: float, text: str, ink: str, backing: str | None) -> None:
    """Write a share on its segment; on a hatched one, on a small patch of the plain fill."""
    box = {"facecolor": backing, "edgecolor": "none", "pad": 0.6} if backing else None
    axes.text(x, y, text, ha="center", va="center", color=ink, bbox=box)


def bars(chart: Chart, categories: list[str], series: list, language: str, *, single: bool):
    """Return horizontal bars: one per category, or a group of bars per category."""
    count = max(len(series), 1)
    figure, axes = new_figure(len(categories), 0.3 + 0.22 * count)
    positions = list(range(len(categories)))[::-1]
    height = 0.8 / count
    largest = max((v for _, values in series for v in values if v is not None), default=0) or 1
    for n, (name, values) in enumerate(series):
        fill, hatch, _ = STYLES[(n * 2) % len(STYLES)] if count > 1 else STYLES[2]
        offset = (count - 1) / 2 - n
        ys = [p + offset * height for p in positions]
        shown = [(y, v) for y, v in zip(ys, values, strict=True) if v is not None]
        axes.barh(
            [y for y, _ in shown],
            [v for _, v in shown],
            height=height * 0.92,
            color=fill,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.5,
            label=name or None,
        )
        for y, value in shown:
            axes.text(value + largest * 0.01, y, decimal(value, language), va="center", ha="left")
    axes.set_yticks(positions, [short(c) for c in categories])
    axes.set_xlim(0, largest * 1.12)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: decimal(value, language)))
    finish(axes, chart, legend_columns=0 if single else len(series))
    return figure


def decimal(value: float, language: str) -> str:
    """Return a number with one decimal (none when whole), with a decimal comma in Norwegian."""
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return text.replace(".", ",") if language == "nb" else text


def finish(axes, chart: Chart, legend_columns: int) -> None:
    """Title, value axis label, light grid and the legend under the plot."""
    if chart.title:
        axes.set_title(chart.title, loc="left", fontsize=9.5, fontweight="bold")
    axes.set_xlabel(chart.axis)
    axes.xaxis.grid(True, color="#cccccc", linewidth=0.5)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if legend_columns:
        axes.figure.legend(
            loc="outside lower center", ncols=min(legend_columns, 3), frameon=False, fontsize=8
        )


def short(label: str, width: int = 42) -> str:
    """Return a label cut to ``width`` characters for the axis (tables show it whole)."""
    return label if len(label) <= width else label[: width - 1] + "…"
