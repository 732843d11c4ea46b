"""SpreadsheetML (.xlsx) read and rewritten part by part, row by row: the answers workbook's engine.

A workbook of 10,000 employees holds over a million cells; a library that builds an object for
each of them needs tens of seconds and most of a gigabyte. Here a worksheet is read as a stream
of ``<row>`` elements (regular expressions over the bytes, in chunks), a row is rewritten only
where samtale's columns change, and every other part of the package (HR's own sheets, styles,
shared strings, drawings) is copied as it is. What is written is what Excel and LibreOffice
write: inline strings, one ``<c>`` per cell with its reference, styles from ``styles.xml``.

Only what the answers workbook needs is here: cells, rows, column widths, the frozen header,
the auto filter, cell styles (alignment, bold, the Text number format) and the sheet list.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_TYPE = f"{REL_NS}/worksheet"
WORKSHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
STYLES_PART = "xl/styles.xml"
SHARED_STRINGS_PART = "xl/sharedStrings.xml"
FILTER_DATABASE = "_xlnm._FilterDatabase"
NAMES_COME_AFTER = ("sheets", "functionGroups", "externalReferences")  # the schema's order
TEXT_FORMAT_ID = 49  # the built-in "@" (Text) number format
CHUNK = 1 << 20
EMPTY_SHEET = (
    f'<worksheet xmlns="{MAIN_NS}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1"/>'
    '</sheetPr><dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/><sheetData/>'
    '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
    "</worksheet>"
).encode()

SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ROW_NUMBER = re.compile(rb'\br="(\d+)"')
ROW_SPANS = re.compile(rb'\s+spans="[^"]*"')
CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
CELL_STYLE = re.compile(rb'\bs="(\d+)"')
CELL_TYPE = re.compile(rb'\bt="(\w+)"')
FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.S)
VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
INLINE_TEXT = re.compile(rb"<t(?: [^>]*)?>(.*?)</t>", re.S)
PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
SHARED_ITEM = re.compile(rb"<si>(.*?)</si>|<si/>", re.S)
BOOLEAN_FORMULA = re.compile(r"(TRUE|FALSE)(\(\))?", re.IGNORECASE)


class SheetError(ValueError):
    """A worksheet this module cannot read (the caller names the file and the fix)."""


# -- cells -------------------------------------------------------------------------------------


def column_letter(number: int) -> str:
    """Return the letters of column ``number`` (1 is A)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: bytes | str) -> int:
    """Return the number of a column given by its letters (A is 1)."""
    number = 0
    for char in letters.decode() if isinstance(letters, bytes) else letters:
        number = number * 26 + ord(char) - 64
    return number


LETTERS = ["", *(column_letter(n) for n in range(1, 703))]  # A … ZZ


@dataclass(frozen=True)
class Cell:
    """One ``<c>`` element of a row: its column, its bytes, its attributes and content."""

    column: int
    raw: bytes
    attributes: bytes
    content: bytes

    @property
    def style(self) -> int | None:
        """Return the cell's style index, or None."""
        found = CELL_STYLE.search(self.attributes)
        return int(found.group(1)) if found else None

    @property
    def kind(self) -> bytes:
        """Return the cell's type (b"s", b"inlineStr", b"b", b"n" …)."""
        found = CELL_TYPE.search(self.attributes) if b"t=" in self.attributes else None
        return found.group(1) if found else b"n"


@dataclass(frozen=True)
class Row:
    """One ``<row>`` element: its number, its start tag's attributes, and its cells."""

    number: int
    attributes: bytes
    cells: list[Cell]
    raw: bytes


def parse_row(raw: bytes, expected: int) -> Row:
    """Return a row parsed; ``expected`` is its number when the row does not say."""
    start_end = raw.index(b">")
    start = raw[4:start_end].rstrip(b"/")
    found = ROW_NUMBER.search(start)
    number = int(found.group(1)) if found else expected
    cells, column = [], 0
    if not raw.endswith(b"/>") or raw.count(b"<") > 1:
        for match in CELL.finditer(raw, start_end):
            attributes = match.group(1)
            reference = CELL_REF.search(attributes)
            column = column_number(reference.group(1)) if reference else column + 1
            cells.append(Cell(column, match.group(0), attributes, match.group(2) or b""))
    return Row(number, start, cells, raw)


class RawRow:
    """A ``<row>`` as read: its number and single cells found cheaply, parsed whole on demand."""

    # Most rows of the answers workbook are copied as they are: finding the employee id in
    # them must not cost parsing every cell.

    def __init__(self, raw: bytes, expected: int):
        self.raw = raw
        found = ROW_NUMBER.search(raw, 0, raw.index(b">"))
        self.number = int(found.group(1)) if found else expected
        self._parsed: Row | None = None

    def parsed(self) -> Row:
        """Return the row with all its cells."""
        if self._parsed is None:
            self._parsed = parse_row(self.raw, self.number)
        return self._parsed

    def cell(self, column: int) -> Cell | None:
        """Return the cell in ``column``, or None."""
        if self._parsed is None:
            reference = f'<c r="{column_letter(column)}{self.number}"'.encode()
            at = self.raw.find(reference)
            if at >= 0:
                match = CELL.match(self.raw, at)
                return Cell(column, match.group(0), match.group(1), match.group(2) or b"")
            if b'<c r="' in self.raw:  # every cell says where it is: this one is not there
                return None
        return next((c for c in self.parsed().cells if c.column == column), None)


def row_xml(number: int, attributes: bytes, cells: list[bytes]) -> bytes:
    """Return a ``<row>`` with these cells (their ``spans`` hint dropped: columns changed)."""
    kept = ROW_NUMBER.sub(b"", ROW_SPANS.sub(b"", attributes)).strip()
    head = b'<row r="%d"' % number + (b" " + kept if kept else b"")
    return head + b">" + b"".join(cells) + b"</row>" if cells else head + b"/>"


def cell_xml(column: int, row: int, value: object, style: int | None) -> bytes:
    """Return a ``<c>`` holding ``value``: text inline (never a formula), a bool, or empty."""
    return (cell_start(column, style) % row + cell_end(value)).encode()


def cell_start(column: int, style: int | None) -> str:
    """Return the start of a ``<c>`` in ``column``: a %-template taking the row number."""
    # A sheet writes thousands of cells per column: the start is made once per column.
    letters = LETTERS[column] if column < len(LETTERS) else column_letter(column)
    styled = f' s="{style}"' if style else ""
    return f'<c r="{letters}%d"{styled}'


def cell_end(value: object) -> str:
    """Return the rest of a ``<c>`` after its reference and style: type, value, end tag."""
    if value is None or value == "":
        return "/>"
    if isinstance(value, bool):
        return ' t="b"><v>1</v></c>' if value else ' t="b"><v>0</v></c>'
    if isinstance(value, int | float):
        return f"><v>{value}</v></c>"
    return text_end(str(value))


def text_end(text: str) -> str:
    """Return the rest of a ``<c>`` holding ``text`` inline (never a formula)."""
    # Space kept at either end as Excel and openpyxl do (where str.strip would remove some).
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f' t="inlineStr"><is><t{space}>{escaped(text)}</t></is></c>'


def escaped(text: str) -> str:
    """Return text as XML character data (``&``, ``<``, ``>`` and carriage returns escaped)."""
    # Four C-level replacements: several times faster than str.translate with a mapping.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text.replace("\r", "&#13;") if "\r" in text else text


def xml_text(data: bytes) -> str:
    """Return XML character data as text (entities and character references resolved)."""
    text = data.decode("utf-8")
    return html.unescape(text) if "&" in text else text


class SharedStrings:
    """A workbook's shared strings, each decoded only when a cell refers to it."""

    # The table holds every free-text answer HR's program moved there; few are ever needed.

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


@dataclass
class Reading:
    """What reading a cell's value needs besides the cell: shared strings and date styles."""

    strings: SharedStrings
    date_styles: frozenset[int] = frozenset()
    epoch: dt.datetime = CALENDAR_WINDOWS_1900


def cell_value(cell: Cell, reading: Reading) -> object:
    """Return a cell's value as a spreadsheet program shows it: text, number, bool, date, None."""
    # A formula reads as "=…" (LibreOffice's booleans =TRUE() and =FALSE() as bools); a number
    # in a date style as a datetime, as HR typed it.
    content, kind = cell.content, cell.kind
    if b"<f" in content:
        formula = FORMULA.search(content)
        if formula is not None:
            text = xml_text(formula.group(1) or b"").strip()
            if BOOLEAN_FORMULA.fullmatch(text.lstrip("=")):
                return text.lstrip("=").upper().startswith("TRUE")
            return "=" + text
    if kind == b"inlineStr":
        return xml_text(b"".join(INLINE_TEXT.findall(PHONETIC.sub(b"", content)))) or None
    found = VALUE.search(content)
    if found is None:
        return None
    text = xml_text(found.group(1))
    if kind == b"s":
        return reading.strings[int(text)]
    if kind == b"b":
        return text.strip() in ("1", "true")
    if kind in (b"str", b"e", b"d"):
        return text
    number = float(text)
    if cell.style in reading.date_styles:
        return from_excel(number, reading.epoch)
    return int(number) if number.is_integer() else number


# -- a worksheet as a stream of rows -----------------------------------------------------------


class SheetStream:
    """A worksheet part read in chunks: the bytes before its rows, the rows, the bytes after."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.buffer = b""
        self.done = False
        self.head = self._head()
        self.tail = b""

    def _more(self) -> bool:
        """Read the next chunk into the buffer; return False at the end of the part."""
        if self.done:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.done = True
            return False
        self.buffer += chunk
        return True

    def _head(self) -> bytes:
        """Return the bytes before the rows (up to and including ``<sheetData>``)."""
        while True:
            start = self.buffer.find(b"<sheetData")
            if start >= 0:
                end = self.buffer.find(b">", start)
                if end >= 0:
                    break
            if not self._more():
                raise SheetError("the worksheet has no <sheetData>")
        if self.buffer[end - 1 : end] == b"/":  # <sheetData/>: no rows at all
            head = self.buffer[:start] + b"<sheetData>"
            self.buffer = b"</sheetData>" + self.buffer[end + 1 :]
        else:
            head = self.buffer[: end + 1]
            self.buffer = self.buffer[end + 1 :]
        return head

    def rows(self) -> Iterator[bytes]:
        """Yield each ``<row>`` element's bytes; afterwards ``tail`` holds the rest."""
        position = 0
        while True:
            position = self._skip_space(position)
            end = self._row_end(position)
            if end >= 0 and (end < len(self.buffer) or self.done):
                yield self.buffer[position:end]
                position = end
                continue
            if self.buffer.startswith(b"</sheetData>", position):
                while self._more():
                    pass
                self.tail = self.buffer[position:]
                self.buffer = b""
                return
            self.buffer = self.buffer[position:]
            position = 0
            if not self._more():
                raise SheetError("the worksheet ends inside <sheetData>")

    def _row_end(self, position: int) -> int:
        """Return where the ``<row>`` at ``position`` ends; -1: no row there, or not all read."""
        # What the pattern rb"<row\b[^>]*?(?:/>|>.*?</row>)" matches, found with ``bytes.find``:
        # the pattern's lazy ``.*?`` took a second for the 40,000 rows of two sheets of 10,000
        # employees; this takes a tenth of that.
        buffer = self.buffer
        if not buffer.startswith(b"<row", position):
            return -1
        after = buffer[position + 4 : position + 5]
        if not after or after.isalnum() or after == b"_":  # ``<row\b``: the tag's name ends
            return -1
        close = buffer.find(b">", position + 4)
        if close < 0:
            return -1
        if buffer[close - 1] == ord("/"):
            return close + 1
        end = buffer.find(b"</row>", close + 1)
        return end + len(b"</row>") if end >= 0 else -1

    def _skip_space(self, position: int) -> int:
        """Return the position of the next non-space byte in the buffer."""
        while position < len(self.buffer) and self.buffer[position] in b" \t\r\n":
            position += 1
        return position


# -- the parts around the sheets ---------------------------------------------------------------


def parse(data: bytes) -> etree._Element:
    """Return the root of a package part (no DTD, no entities, no network)."""
    return etree.fromstring(data, SAFE_XML)


def serialize(root: etree._Element) -> bytes:
    """Return a package part's bytes."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def m(tag: str) -> str:
    """Return a SpreadsheetML tag in Clark notation."""
    return f"{{{MAIN_NS}}}{tag}"


@dataclass
class SheetEntry:
    """One sheet of the workbook: its name, its part and its ``<sheet>`` element."""

    name: str
    part: str
    element: etree._Element


@dataclass
class WorkbookParts:
    """The workbook part, its relationships and the content types, to list and add sheets."""

    workbook: etree._Element
    rels: etree._Element
    types: etree._Element
    names: set[str]  # every part in the package
    sheets: list[SheetEntry] = field(default_factory=list)

    @classmethod
    def read(cls, read_part, names: set[str]) -> WorkbookParts:
        """Return the sheet list of a package whose parts ``read_part(name)`` returns."""
        parts = cls(
            parse(read_part(WORKBOOK_PART)),
            parse(read_part(WORKBOOK_RELS)),
            parse(read_part(CONTENT_TYPES)),
            names,
        )
        targets = {rel.get("Id"): rel.get("Target", "") for rel in parts.rels}
        for element in parts.workbook.iter(m("sheet")):
            target = targets.get(element.get(f"{{{REL_NS}}}id"), "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts.sheets.append(SheetEntry(element.get("name"), part, element))
        return parts

    def sheet(self, name: str) -> SheetEntry | None:
        """Return the sheet called ``name``, or None."""
        return next((entry for entry in self.sheets if entry.name == name), None)

    def add_sheet(self, name: str) -> SheetEntry:
        """Return a new, empty sheet added at the end (its part still to be written)."""
        number = 1
        while f"xl/worksheets/sheet{number}.xml" in self.names:
            number += 1
        part = f"xl/worksheets/sheet{number}.xml"
        self.names.add(part)
        ids = {rel.get("Id") for rel in self.rels}
        rel_id = next(f"rId{n}" for n in range(1, len(ids) + 2) if f"rId{n}" not in ids)
        etree.SubElement(
            self.rels,
            f"{{{PACKAGE_REL_NS}}}Relationship",
            Id=rel_id,
            Type=WORKSHEET_TYPE,
            Target=f"/{part}",
        )
        etree.SubElement(
            self.types,
            f"{{{CONTENT_TYPES_NS}}}Override",
            PartName=f"/{part}",
            ContentType=WORKSHEET_CONTENT,
        )
        container = self.workbook.find(m("sheets"))
        sheet_ids = [int(s.get("sheetId", "0")) for s in container]
        element = etree.SubElement(container, m("sheet"), nsmap={"r": REL_NS})
        element.set("name", name)
        element.set("sheetId", str(max(sheet_ids, default=0) + 1))
        element.set(f"{{{REL_NS}}}id", rel_id)
        entry = SheetEntry(name, part, element)
        self.sheets.append(entry)
        return entry

    def order(self, first: tuple[str, ...]) -> bool:
        """Put the sheets named in ``first`` first, in that order; return True if any moved."""
        rank = {name: n for n, name in enumerate(first)}
        wanted = sorted(self.sheets, key=lambda entry: rank.get(entry.name, len(rank)))
        if wanted == self.sheets:
            return False
        old_index = {entry.name: n for n, entry in enumerate(self.sheets)}
        container = self.workbook.find(m("sheets"))
        for entry in wanted:
            container.remove(entry.element)
            container.append(entry.element)
        new_index = {entry.name: n for n, entry in enumerate(wanted)}
        moved = {old_index[name]: new_index[name] for name in new_index}
        for name in self.workbook.iter(m("definedName")):
            local = name.get("localSheetId")
            if local is not None and local.isdigit() and int(local) in moved:
                name.set("localSheetId", str(moved[int(local)]))
        self.sheets = wanted
        return True

    def show_first_sheet(self) -> None:
        """Open the workbook on its first sheet."""
        for view in self.workbook.iter(m("workbookView")):
            view.set("activeTab", "0")
            view.set("firstSheet", "0")

    def set_filter_name(self, index: int, name: str, reference: str) -> None:
        """Record the auto filter range of sheet ``index`` as Excel does (a hidden name)."""
        names = self.workbook.find(m("definedNames"))
        if names is None:
            names = etree.Element(m("definedNames"))
            before = [self.workbook.find(m(t)) for t in NAMES_COME_AFTER]
            next(e for e in reversed(before) if e is not None).addnext(names)
        for defined in names:
            if defined.get("name") == FILTER_DATABASE and defined.get("localSheetId") == str(index):
                defined.text = f"{quoted(name)}!{absolute(reference)}"
                return
        defined = etree.SubElement(names, m("definedName"))
        defined.set("name", FILTER_DATABASE)
        defined.set("localSheetId", str(index))
        defined.set("hidden", "1")
        defined.text = f"{quoted(name)}!{absolute(reference)}"

    def date1904(self) -> bool:
        """Return True when the workbook counts dates from 1904 (old Mac Excel)."""
        properties = self.workbook.find(m("workbookPr"))
        value = properties.get("date1904", "0") if properties is not None else "0"
        return value.lower() in ("1", "true")


def quoted(name: str) -> str:
    """Return a sheet name as a formula writes it."""
    return "'" + name.replace("'", "''") + "'"


def absolute(reference: str) -> str:
    """Return ``A1:X9`` as ``$A$1:$X$9``."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in reference.split(":"))


class Styles:
    """The workbook's cell formats (``cellXfs``): found, or added when missing."""

    def __init__(self, xml: bytes | None):
        self.root = parse(xml) if xml else parse(DEFAULT_STYLES)
        self.changed = False
        self.xfs = self._container("cellXfs", "numFmts", "fonts", "fills", "borders")
        self.fonts = self._container("fonts", "numFmts")
        self.formats = {
            int(f.get("numFmtId")): f.get("formatCode", "") for f in self.root.iter(m("numFmt"))
        }

    def _container(self, tag: str, *before: str) -> etree._Element:
        """Return a child list of the style sheet, made (after ``before``) when missing."""
        found = self.root.find(m(tag))
        if found is None:
            found = etree.Element(m(tag), count="0")
            present = [self.root.find(m(tag)) for tag in before]
            anchor = next((e for e in reversed(present) if e is not None), None)
            if anchor is not None:
                anchor.addnext(found)
            else:
                self.root.insert(0, found)
            self.changed = True
        return found

    def date_styles(self) -> frozenset[int]:
        """Return the indexes of the cell formats that show a number as a date or time."""
        found = set()
        for index, xf in enumerate(self.xfs):
            number = int(xf.get("numFmtId", "0"))
            code = self.formats.get(number) or BUILTIN_FORMATS.get(number, "")
            if code and is_date_format(code):
                found.add(index)
        return frozenset(found)

    def derived(
        self,
        base: int | None,
        *,
        wrap: bool = False,
        bold: bool = False,
        text: bool = False,
    ) -> int:
        """Return a cell format like ``base`` but top-aligned (wrapped, bold, Text) as asked."""
        source = self.xfs[base] if base is not None and base < len(self.xfs) else None
        wanted = etree.Element(m("xf"))
        for name in ("numFmtId", "fontId", "fillId", "borderId", "xfId"):
            wanted.set(name, source.get(name, "0") if source is not None else "0")
        if text:
            wanted.set("numFmtId", str(TEXT_FORMAT_ID))
            wanted.set("applyNumberFormat", "1")
        if bold:
            wanted.set("fontId", str(self.bold_font(int(wanted.get("fontId")))))
            wanted.set("applyFont", "1")
        wanted.set("applyAlignment", "1")
        alignment = etree.SubElement(wanted, m("alignment"), vertical="top")
        if wrap:
            alignment.set("wrapText", "1")
        return self._find_or_add(wanted)

    def bold_font(self, font: int) -> int:
        """Return the index of a bold version of font ``font``."""
        fonts = list(self.fonts)
        base = fonts[font] if font < len(fonts) else etree.Element(m("font"))
        if base.find(m("b")) is not None:
            return font
        bold = etree.Element(m("font"))
        etree.SubElement(bold, m("b"), val="1")
        for child in base:
            bold.append(etree.fromstring(etree.tostring(child)))
        for index, existing in enumerate(fonts):
            if same_element(existing, bold):
                return index
        self.fonts.append(bold)
        self.fonts.set("count", str(len(self.fonts)))
        self.changed = True
        return len(self.fonts) - 1

    def _find_or_add(self, wanted: etree._Element) -> int:
        """Return the index of a cell format equal to ``wanted``, added when there is none."""
        for index, xf in enumerate(self.xfs):
            if same_format(xf, wanted):
                return index
        self.xfs.append(wanted)
        self.xfs.set("count", str(len(self.xfs)))
        self.changed = True
        return len(self.xfs) - 1

    def xml(self) -> bytes:
        """Return the style sheet's bytes."""
        return serialize(self.root)


def same_format(one: etree._Element, other: etree._Element) -> bool:
    """Return True when two cell formats look the same (ids, alignment; apply flags ignored)."""
    for name in ("numFmtId", "fontId", "fillId", "borderId"):
        if one.get(name, "0") != other.get(name, "0"):
            return False
    return alignment_of(one) == alignment_of(other) and one.find(m("protection")) is None


def alignment_of(xf: etree._Element) -> dict[str, str]:
    """Return a cell format's alignment attributes (defaults left out)."""
    found = xf.find(m("alignment"))
    values = dict(found.attrib) if found is not None else {}
    defaults = (("wrapText", "0"), ("horizontal", "general"))
    return {k: v for k, v in values.items() if (k, v) not in defaults}


def same_element(one: etree._Element, other: etree._Element) -> bool:
    """Return True when two small elements have the same children and attributes, in any order."""

    def shape(element):
        return sorted((child.tag, tuple(sorted(child.attrib.items()))) for child in element)

    return shape(one) == shape(other)


DEFAULT_STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><name val="Calibri"/><family val="2"/>'
    '<sz val="11"/></font></fonts><fills count="2"><fill><patternFill/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
    '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
    'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()


def epoch_of(parts: WorkbookParts) -> dt.datetime:
    """Return the date a serial number 0 stands for in this workbook."""
    return CALENDAR_MAC_1904 if parts.date1904() else CALENDAR_WINDOWS_1900


# -- column widths, frozen header, auto filter -------------------------------------------------

COLS = re.compile(rb"<cols>.*?</cols>|<cols/>", re.S)
COL = re.compile(rb"<col\b([^>]*?)/?>")
ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')
DIMENSION = re.compile(rb"<dimension\b[^>]*?/>")
SHEET_VIEWS = re.compile(rb"<sheetViews>.*?</sheetViews>|<sheetViews/>", re.S)
SHEET_VIEW = re.compile(rb"<sheetView\b([^>]*?)(/>|>(.*?)</sheetView>)", re.S)
PANE_OR_SELECTION = re.compile(
    rb"<(?:pane|selection)\b[^>]*?(?:/>|>.*?</(?:pane|selection)>)", re.S
)
AUTO_FILTER = re.compile(rb"<autoFilter\b([^>]*?)(/>|>)", re.S)
BEFORE_FILTER = re.compile(
    rb"^\s*(?:<sheetCalcPr\b[^>]*/>|<sheetProtection\b[^>]*/>|"
    rb"<protectedRanges>.*?</protectedRanges>|<scenarios\b.*?</scenarios>)*",
    re.S,
)
FROZEN_VIEW = (
    b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    b'<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
)


def column_widths(head: bytes) -> dict[int, float]:
    """Return the width set for each column in a sheet's ``<cols>`` (ranges spread out)."""
    found = COLS.search(head)
    widths: dict[int, float] = {}
    for match in COL.finditer(found.group(0) if found else b""):
        attributes = dict(ATTRIBUTE.findall(match.group(1)))
        if b"width" in attributes:
            first, last = int(attributes.get(b"min", b"1")), int(attributes.get(b"max", b"1"))
            for column in range(first, min(last, first + 16384) + 1):
                widths[column] = float(attributes[b"width"])
    return widths


def with_widths(head: bytes, wanted: dict[int, float]) -> bytes:
    """Return the sheet's head with ``wanted`` column widths set (other columns as they were)."""
    found = COLS.search(head)
    kept: list[tuple[int, int, dict]] = []
    for match in COL.finditer(found.group(0) if found else b""):
        attributes = dict(ATTRIBUTE.findall(match.group(1)))
        first, last = int(attributes.get(b"min", b"1")), int(attributes.get(b"max", b"1"))
        last = min(last, first + 16384)
        columns = [c for c in range(first, last + 1) if c not in wanted]
        for start, end in runs(columns):
            kept.append((start, end, attributes))
    for column, width in wanted.items():
        kept.append((column, column, {b"width": b"%g" % width, b"customWidth": b"1"}))
    kept.sort(key=lambda item: item[0])
    cols = b"".join(col_xml(start, end, attributes) for start, end, attributes in kept)
    cols = b"<cols>" + cols + b"</cols>"
    if found:
        return head[: found.start()] + cols + head[found.end() :]
    at = head.rfind(b"<sheetData")
    return head[:at] + cols + head[at:]


def runs(columns: list[int]) -> list[tuple[int, int]]:
    """Return consecutive columns as (first, last) ranges."""
    found: list[tuple[int, int]] = []
    for column in columns:
        if found and found[-1][1] == column - 1:
            found[-1] = (found[-1][0], column)
        else:
            found.append((column, column))
    return found


def col_xml(start: int, end: int, attributes: dict) -> bytes:
    """Return one ``<col>`` element."""
    rest = b"".join(
        b' %s="%s"' % (name, value)
        for name, value in attributes.items()
        if name not in (b"min", b"max")
    )
    return b'<col min="%d" max="%d"%s/>' % (start, end, rest)


def with_dimension(head: bytes, reference: str) -> bytes:
    """Return the sheet's head with its used range set to ``reference``."""
    tag = f'<dimension ref="{reference}"/>'.encode()
    found = DIMENSION.search(head)
    if found:
        return head[: found.start()] + tag + head[found.end() :]
    at = first_of(head, b"<sheetViews", b"<sheetFormatPr", b"<cols", b"<sheetData")
    return head[:at] + tag + head[at:]


def first_of(head: bytes, *tags: bytes) -> int:
    """Return where the first of ``tags`` starts in a sheet's head (they come in this order)."""
    return min(at for at in (head.find(tag) for tag in tags) if at >= 0)


def unselected(head: bytes) -> bytes:
    """Return a sheet's head with its tab not selected."""
    return re.sub(rb'(<sheetView\b[^>]*?)\s+tabSelected="[^"]*"', rb"\1", head)


def with_frozen_header(head: bytes, selected: bool) -> bytes:
    """Return the sheet's head with row 1 frozen in its first view (tab selected or not)."""
    views = SHEET_VIEWS.search(head)
    if views is None:
        at = first_of(head, b"<sheetFormatPr", b"<cols", b"<sheetData")
        selected_attribute = b' tabSelected="1"' if selected else b""
        view = b'<sheetView workbookViewId="0"%s>%s</sheetView>' % (selected_attribute, FROZEN_VIEW)
        return head[:at] + b"<sheetViews>" + view + b"</sheetViews>" + head[at:]
    first = SHEET_VIEW.search(head, views.start(), views.end())
    if first is None:
        inner = b'<sheetView workbookViewId="0">' + FROZEN_VIEW + b"</sheetView>"
        return (
            head[: views.start()] + b"<sheetViews>" + inner + b"</sheetViews>" + head[views.end() :]
        )
    attributes = re.sub(rb'\s+tabSelected="[^"]*"', b"", first.group(1))
    if selected:
        attributes += b' tabSelected="1"'
    content = PANE_OR_SELECTION.sub(b"", first.group(3) or b"")
    view = b"<sheetView" + attributes + b">" + FROZEN_VIEW + content + b"</sheetView>"
    return head[: first.start()] + view + head[first.end() :]


def with_auto_filter(tail: bytes, reference: str) -> bytes:
    """Return the bytes after the rows with the auto filter over ``reference``."""
    found = AUTO_FILTER.search(tail)
    if found:
        attributes = re.sub(rb'\s*\bref="[^"]*"', b"", found.group(1))
        tag = b'<autoFilter ref="%s"%s%s' % (reference.encode(), attributes, found.group(2))
        return tail[: found.start()] + tag + tail[found.end() :]
    start = tail.index(b"</sheetData>") + len(b"</sheetData>")
    skip = BEFORE_FILTER.match(tail, start)
    at = skip.end() if skip else start
    return tail[:at] + f'<autoFilter ref="{reference}"/>'.encode() + tail[at:]
