"""The SpreadsheetML engine: rows streamed out of a sheet, cells written as Excel writes them."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.formats import xlsx

# What SheetStream.rows used to match each row with (a lazy pattern, slow on long rows).
ROW_PATTERN = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
HEAD = b'<worksheet xmlns="x"><dimension ref="A1"/><sheetData>'
TAIL = b'</sheetData><autoFilter ref="A1:B2"/></worksheet>'

CELL = st.sampled_from(
    [
        '<c r="A%d" t="inlineStr"><is><t>Åse &amp; Øyvind</t></is></c>'.encode(),
        b'<c r="B%d" s="2"/>',
        b'<c r="C%d" t="b"><v>1</v></c>',
        b'<c r="D%d" t="inlineStr"><is><t xml:space="preserve"> / &gt; </t></is></c>',
    ]
)
ROW_ATTRIBUTES = st.sampled_from([b"", b' spans="1:4"', b' x14ac:dyDescent="0.25"', b' note="a/"'])
SPACE = st.sampled_from([b"", b"\n", b"\r\n  ", b"\t"])


@st.composite
def sheets(draw) -> bytes:
    """Return a worksheet's bytes: rows with cells, empty rows, space between them."""
    rows = []
    for number in range(1, draw(st.integers(0, 6)) + 1):
        attributes = draw(ROW_ATTRIBUTES)
        cells = draw(st.lists(CELL, max_size=4))
        if cells:
            body = b"".join(cell % number for cell in cells)
            rows.append(b'<row r="%d"%s>%s</row>' % (number, attributes, body))
        else:
            rows.append(b'<row r="%d"%s/>' % (number, attributes))
        rows.append(draw(SPACE))
    return HEAD + draw(SPACE) + b"".join(rows) + TAIL


@settings(max_examples=200, deadline=None)
@given(sheet=sheets(), chunk=st.integers(1, 300))
def test_rows_are_the_rows_the_row_pattern_finds_in_any_chunks(sheet, chunk):
    expected = ROW_PATTERN.findall(sheet)
    original = xlsx.CHUNK
    xlsx.CHUNK = chunk
    try:
        stream = xlsx.SheetStream(io.BytesIO(sheet))
        rows = list(stream.rows())
    finally:
        xlsx.CHUNK = original
    assert rows == expected
    assert stream.head == HEAD
    assert stream.tail == TAIL


@pytest.mark.parametrize(
    "sheet",
    [
        HEAD + b"<rowBreaks/>" + TAIL,  # not a row
        HEAD + b'<row r="1"><c r="A1"/>',  # cut off inside a row
        HEAD + b'<row r="1"',
    ],
)
def test_a_sheet_whose_rows_cannot_be_read_is_an_error(sheet):
    with pytest.raises(xlsx.SheetError):
        list(xlsx.SheetStream(io.BytesIO(sheet)).rows())


def test_a_sheet_without_rows_has_none():
    stream = xlsx.SheetStream(io.BytesIO(xlsx.EMPTY_SHEET))
    assert list(stream.rows()) == []
    assert stream.tail.startswith(b"</sheetData>")


@pytest.mark.parametrize(
    ("value", "style", "expected"),
    [
        (None, None, b'<c r="C7"/>'),
        ("", 3, b'<c r="C7" s="3"/>'),
        (True, 3, b'<c r="C7" s="3" t="b"><v>1</v></c>'),
        (False, None, b'<c r="C7" t="b"><v>0</v></c>'),
        (12, None, b'<c r="C7"><v>12</v></c>'),
        ("=1+1", 1, b'<c r="C7" s="1" t="inlineStr"><is><t>=1+1</t></is></c>'),
        (
            " a<b>&c\r\n",
            None,
            b'<c r="C7" t="inlineStr"><is><t xml:space="preserve"> a&lt;b&gt;&amp;c&#13;\n'
            b"</t></is></c>",
        ),
        ("Øst", 0, '<c r="C7" t="inlineStr"><is><t>Øst</t></is></c>'.encode()),
    ],
)
def test_cells_are_written_as_excel_writes_them(value, style, expected):
    assert xlsx.cell_xml(3, 7, value, style) == expected


def test_cells_far_right_have_their_letters():
    assert xlsx.cell_xml(703, 2, None, None) == b'<c r="AAA2"/>'
    assert xlsx.cell_start(28, 4) % 9 == '<c r="AB9" s="4"'


XML_SPECIAL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


@given(text=st.text(st.sampled_from("a&<>\r\n; Ø"), max_size=20) | st.text(max_size=20))
def test_text_is_escaped_as_character_data(text):
    assert xlsx.escaped(text) == text.translate(XML_SPECIAL)
    assert xlsx.xml_text(xlsx.escaped(text).encode("utf-8", "surrogatepass")) == text
