"""The HR report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched.

A Content-Security-Policy forbids every request, so the page stays offline whatever a browser
would otherwise try; it prints on A4 (tables keep their header row on every page).
"""

from __future__ import annotations

from html import escape

from pipeline.formats.charts import chart_svg
from pipeline.formats.report_model import Cell, Report, Row, Section, Table

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
STYLE = """
@page { size: A4; margin: 15mm 15mm 18mm; }
* { box-sizing: border-box; }
html { color: #111; background: #fff; }
body { font: 10pt/1.4 "DejaVu Sans", "Segoe UI", Arial, sans-serif; margin: 0 auto;
  max-width: 180mm; padding: 8mm 0; }
h1 { font-size: 20pt; margin: 0 0 2pt; }
h2 { font-size: 14pt; margin: 18pt 0 4pt; border-bottom: 1.5pt solid #111; break-after: avoid; }
h3 { font-size: 11pt; margin: 12pt 0 4pt; break-after: avoid; }
p { margin: 3pt 0 6pt; }
.subtitle { font-size: 12pt; color: #333; margin-bottom: 8pt; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 1pt 10pt; margin: 0; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
.privacy { border: 1pt solid #111; border-left-width: 4pt; padding: 6pt 10pt; margin: 12pt 0; }
.privacy h2 { border: 0; margin: 0 0 2pt; font-size: 11pt; }
nav ol { margin: 2pt 0 0; padding-left: 16pt; } nav a { color: #111; }
figure { margin: 8pt 0 14pt; }
figure.chart { break-inside: avoid; }
figure.chart svg { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; margin-top: 4pt; }
caption { text-align: left; font-weight: bold; font-size: 10pt; padding-bottom: 3pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 0.5pt solid #777; padding: 2pt 3pt; vertical-align: top; }
th { background: #e6e6e6; text-align: left; }
thead th { font-size: 8pt; }
h2 + p { break-after: avoid; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td, tr.total th { font-weight: bold; border-top: 1.5pt solid #111; }
td.hidden { font-style: italic; color: #333; background: #f3f3f3; text-align: left;
  white-space: normal; }
.note { font-size: 8.5pt; color: #333; }
.empty { font-style: italic; }
footer { margin-top: 18pt; font-size: 8pt; color: #333; border-top: 0.5pt solid #777; }
@media print { body { padding: 0; max-width: none; } nav { break-after: page; }
  a { text-decoration: none; } }
"""


def report_html(report: Report) -> str:
    """Return the whole report as one HTML document."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{report.language}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        '<link rel="icon" href="data:,">',  # no request for /favicon.ico either
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        header(report),
        f'<aside class="privacy"><h2>{escape(report.words["privacy"])}</h2>'
        f"<p>{escape(report.privacy)}</p></aside>",
        contents(report),
        *(section(n, s, report.language) for n, s in enumerate(report.sections, start=1)),
        f"<footer><p>{escape(report.words['footer'])}</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def header(report: Report) -> str:
    """Return the page header: title, subtitle and the facts (cycle, date, threshold …)."""
    facts = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in report.facts
    )
    return (
        f"<header><h1>{escape(report.title)}</h1>"
        f'<p class="subtitle">{escape(report.subtitle)}</p>'
        f'<dl class="facts">{facts}</dl></header>'
    )


def contents(report: Report) -> str:
    """Return the table of contents (links inside the page only)."""
    items = "".join(f'<li><a href="#{s.key}">{escape(s.title)}</a></li>' for s in report.sections)
    return f"<nav><h2>{escape(report.words['contents'])}</h2><ol>{items}</ol></nav>"


def section(number: int, part: Section, language: str) -> str:
    """Return one numbered section with its tables and charts."""
    body = [f'<section id="{part.key}"><h2>{number}. {escape(part.title)}</h2>']
    if part.intro:
        body.append(f"<p>{escape(part.intro)}</p>")
    body += [table_html(t, language) for t in part.tables]
    body.append("</section>")
    return "\n".join(body)


def table_html(table: Table, language: str) -> str:
    """Return a table (with its chart above it) as a figure."""
    out = [f'<h3 id="{table.key}">{escape(table.title)}</h3>']
    if not table.rows:
        out.append(f'<p class="empty">{escape(table.empty)}</p>')
        if table.note:
            out.append(f'<p class="note">{escape(table.note)}</p>')
        return "\n".join(out)
    svg = chart_svg(table, language)
    if svg:
        out.append(f'<figure class="chart">{svg}</figure>')
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    rows = "\n".join(row_html(r, language) for r in table.rows)
    out.append(f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>")
    if table.note:
        out.append(f'<p class="note">{escape(table.note)}</p>')
    return "\n".join(out)


def row_html(row: Row, language: str) -> str:
    """Return one table row; consecutive cells hidden for the same reason share one cell."""
    cells = [f'<th scope="row">{escape(row.label)}</th>']
    index = 0
    while index < len(row.cells):
        cell = row.cells[index]
        if cell.hidden:
            span = 1
            while index + span < len(row.cells) and row.cells[index + span].hidden == cell.hidden:
                span += 1
            colspan = f' colspan="{span}"' if span > 1 else ""
            cells.append(f'<td class="hidden"{colspan}>{escape(cell.hidden)}</td>')
            index += span
            continue
        numeric = isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
        css = ' class="num"' if numeric else ""
        cells.append(f"<td{css}>{escape(shown(cell, language))}</td>")
        index += 1
    css = ' class="total"' if row.total else ""
    return f"<tr{css}>{''.join(cells)}</tr>"


def shown(cell: Cell, language: str) -> str:
    """Return a cell's value as the report's language writes it (3,8 in nb; 3.8 in en)."""
    value = cell.value
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if cell.format == "percent":
        text = f"{100 * value:.0f}"
        return f"{text} %" if language == "nb" else f"{text}%"
    if cell.format == "change":
        text = f"{value:+.1f}".replace("-", "\u2212")  # a real minus sign
    elif cell.format == "mean":
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.0f}"
    if language == "nb":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text
