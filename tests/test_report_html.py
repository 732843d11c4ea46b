"""Tests for pipeline/formats/report_html.py and charts.py: the page, offline and readable."""

from __future__ import annotations

import re

from pipeline.formats.report_html import report_html
from pipeline.formats.report_model import Cell, Chart, Report, Row, Section, Table

WORDS = {"privacy": "Om tallene", "contents": "Innhold", "footer": "Laget av samtale."}


def page(rows: tuple[Row, ...], language: str = "nb", chart: Chart | None = None) -> str:
    """Return the page of a report holding one table of ``rows``."""
    columns = ("Avdeling", "Svar", "1", "2", "Snitt", "Endring")
    table = Table("t", "Trivsel <test>", columns, rows, chart=chart)
    section = Section("s", "Del & mer", "Innledning", (table,))
    return report_html(
        Report(language, "Tittel", "Under", (("Syklus", "2027"),), "P", (section,), WORDS)
    )


HIDDEN = "Skjult: 3 svar, under grensen på 5 (avdelingen har 4 personer)"
ROWS = (
    Row(
        "Drift",
        (
            Cell(8, format="int"),
            Cell(3, format="int"),
            Cell(5, format="int"),
            Cell(3.66, format="mean"),
            Cell(-0.24, format="change"),
        ),
    ),
    Row("Ledelse", (Cell(3, format="int"), *[Cell(hidden=HIDDEN)] * 4)),
    Row(
        "Hele organisasjonen",
        (
            Cell(1234, format="int"),
            Cell(1),
            Cell(2),
            Cell(3.5, format="mean"),
            Cell(0.3, format="change"),
        ),
        total=True,
    ),
)


def test_the_page_runs_nothing_and_may_fetch_nothing():
    html = page(ROWS, chart=Chart("stacked", "Fordeling", (1, 2), "Andel (%)"))
    assert "default-src 'none'" in html and "<script" not in html.lower()
    assert '<link rel="icon" href="data:,">' in html
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all(link.startswith(("#", "data:")) for link in links)
    assert "<svg " in html and "<?xml" not in html and "<!DOCTYPE svg" not in html


def test_text_is_escaped_and_cells_hidden_for_one_reason_share_one_cell():
    html = page(ROWS)
    assert "Trivsel &lt;test&gt;" in html and "Del &amp; mer" in html
    assert html.count(HIDDEN) == 1
    assert f'<td class="hidden" colspan="4">{HIDDEN}</td>' in html


def test_numbers_are_written_as_the_language_writes_them():
    nb, en = page(ROWS, "nb"), page(ROWS, "en")
    assert ">3,7<" in nb and ">\u22120,2<" in nb and ">+0,3<" in nb and ">1\u00a0234<" in nb
    assert ">3.7<" in en and ">\u22120.2<" in en and ">1,234<" in en
    assert '<tr class="total">' in nb and '<html lang="en">' in en


def test_a_chart_whose_rows_are_all_hidden_is_left_out():
    hidden_only = (ROWS[1],)
    html = page(hidden_only, chart=Chart("stacked", "Fordeling", (1, 2), "Andel (%)"))
    assert "<svg" not in html and HIDDEN in html
