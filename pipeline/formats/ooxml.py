"""Everything about the inside of a .docx: the zip package, safe XML, content controls, properties.

No other module knows a namespace or an element name; they get plain dataclasses from here.
Returned files are hostile: reading is bounded (size, entries, uncompressed bytes) and XML is
parsed with entities, DTDs and network access off.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from pipeline.domain.questions import Question
from pipeline.errors import Rejected

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
DOCUMENT_PART = "word/document.xml"
CORE_PART = "docProps/core.xml"
DCTERMS = "http://purl.org/dc/terms/"
CUSTOM_PART = "docProps/custom.xml"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MACRO_MARKERS = ("vbaproject.bin", "vbadata.xml", "macroenabled")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def w(tag: str) -> str:
    """Return the Clark name of a WordprocessingML element."""
    return f"{{{W}}}{tag}"


W_SDT, W_SDTPR, W_SDTCONTENT, W_BODY = w("sdt"), w("sdtPr"), w("sdtContent"), w("body")
W_P, W_R, W_T, W_TC, W_TAB, W_BR, W_CR = w("p"), w("r"), w("t"), w("tc"), w("tab"), w("br"), w("cr")
W_VAL = w("val")
W_TAG, W_ALIAS, W_SHOWING = w("tag"), w("alias"), w("showingPlcHdr")
W_LIST_ITEM, W_VALUE, W_DISPLAY = w("listItem"), w("value"), w("displayText")
W_STYLE_PATH = f"{w('pPr')}/{w('pStyle')}"
W_PPR, W_PSTYLE = w("pPr"), w("pStyle")
W_TBL, W_NO_BREAK_HYPHEN, W_TYPE = w("tbl"), w("noBreakHyphen"), w("type")
W_DEL, W_MOVE_FROM, W_VANISH, W_RPR = w("del"), w("moveFrom"), w("vanish"), w("rPr")
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
MC_FALLBACK = f"{{{MC}}}Fallback"
# Never visible text: tracked deletions, text moved away (its copy is at the w:moveTo), and the
# fallback copy of a text box (the same text once more, for older readers).
NOT_SHOWN = frozenset({W_DEL, W_MOVE_FROM, MC_FALLBACK})
TEXT_NODES = (W_T, W_TAB, W_BR, W_CR, W_NO_BREAK_HYPHEN)
OFF = ("0", "false", "off")
W_MARK_PATH = f"{w('pPr')}/{W_RPR}"  # the paragraph mark's run properties


@dataclass(frozen=True)
class Limits:
    """Bounds on a returned file, against zip bombs and oversized uploads."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_entries: int = 500
    max_uncompressed_bytes: int = 100 * 1024 * 1024
    max_part_bytes: int = 30 * 1024 * 1024
    max_ratio: int = 200


DEFAULT_LIMITS = Limits()
CHECKED, UNCHECKED = "\u2612", "\u2610"  # the glyphs of a ticked and an unticked checkbox


@dataclass(frozen=True)
class Field:
    """One content control as found in a document, with its value as plain data."""

    key: str
    title: str
    type: str  # richtext | text | dropdown | combobox | checkbox | date | picture | other
    value: str | bool | None
    showing_placeholder: bool
    options: tuple[str, ...] = ()
    placeholder: str = ""
    in_answer_cell: bool = False
    labels: tuple[str, ...] = ()  # the options' display texts, in the form's language

    @property
    def question(self) -> Question:
        """Return the question this control asks (without the value found in it)."""
        return Question(
            self.key,
            self.title,
            self.type,
            self.placeholder,
            self.options,
            self.labels,
            self.section,
        )

    part: str = DOCUMENT_PART
    section: str = ""
    hidden_text: bool = False  # the answer holds hidden text (w:vanish), left out of ``value``


@dataclass
class Package:
    """The parts of a .docx read from a zip, bounded and checked."""

    names: list[str]
    parts: dict[str, bytes] = field(default_factory=dict)

    def part(self, name: str) -> bytes | None:
        """Return the bytes of one part, or None when the package lacks it."""
        return self.parts.get(name)


# -- reading packages ------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """Return 'zip', 'ole' (encrypted or legacy Office) or 'other' from the first bytes."""
    if data.startswith(ZIP_MAGIC) or data.startswith(b"PK\x05\x06"):
        return "zip"
    if data.startswith(OLE_MAGIC):
        return "ole"
    return "other"


def read_package(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    wanted: tuple[str, ...] = (),
    *,
    headers_footers: bool = False,
) -> Package:
    """Return the package's parts (all XML parts, or only ``wanted`` ones); raise Rejected."""
    # ``headers_footers`` adds the header and footer parts to the ``wanted`` ones.
    if len(data) > limits.max_file_bytes:
        raise Rejected(
            f"file is {len(data):,} bytes, more than the limit of {limits.max_file_bytes:,}",
            "too_large",
        )
    kind = sniff(data)
    if kind == "ole":
        raise Rejected(
            "the document is encrypted (password-protected) or an old .doc; "
            "ask for the form saved again as a Word .docx without a password",
            "encrypted",
        )
    if kind != "zip":
        raise Rejected("not a Word .docx file (not a zip package)", "not_docx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Rejected("the file is damaged: cut short, or not a whole package", "corrupt") from exc
    check_zip_bounds(infos, len(data), limits)
    names = [info.filename for info in infos]
    check_no_macros(names)
    package = Package(names=names)
    for info in infos:
        extra = headers_footers and HEADER_FOOTER.fullmatch(info.filename) is not None
        if wanted and info.filename not in wanted and not extra:
            continue
        if not wanted and not info.filename.endswith((".xml", ".rels")):
            continue
        package.parts[info.filename] = read_entry(archive, info, limits)
    return package


def check_zip_bounds(infos: list[zipfile.ZipInfo], size: int, limits: Limits) -> None:
    """Raise Rejected when the zip has too many entries or expands too much."""
    if len(infos) > limits.max_entries:
        raise Rejected(
            f"the zip holds {len(infos)} entries, more than the limit of {limits.max_entries}",
            "zip_bomb",
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes or total > max(size, 1) * limits.max_ratio:
        raise Rejected(
            f"the zip would expand to {total:,} bytes from {size:,} (zip bomb?)", "zip_bomb"
        )


def check_no_macros(names: list[str]) -> None:
    """Raise Rejected when the package carries macros (VBA)."""
    lowered = [name.lower() for name in names]
    if any(marker in name for name in lowered for marker in MACRO_MARKERS):
        raise Rejected(
            "the document contains macros (VBA); ask for the form saved as a plain Word .docx",
            "macros",
        )


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Return one zip entry's bytes, reading at most the part limit (declared sizes may lie)."""
    if info.flag_bits & 0x1:
        raise Rejected("the zip entries are encrypted; ask for an unprotected .docx", "encrypted")
    try:
        with archive.open(info) as handle:
            data = handle.read(limits.max_part_bytes + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise Rejected(f"the file is damaged: {info.filename} will not unpack", "corrupt") from exc
    if len(data) > limits.max_part_bytes:
        raise Rejected(
            f"{info.filename} expands beyond {limits.max_part_bytes:,} bytes", "zip_bomb"
        )
    return data


# -- safe XML --------------------------------------------------------------------------------

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_xml(data: bytes, name: str = "XML") -> etree._Element:
    """Return the root of untrusted XML; raise Rejected for DTDs, entities or bad syntax."""
    if b"<!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):  # case-sensitive
        raise Rejected(f"{name} declares a DTD or entities (XXE / billion laughs)", "xml_entities")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        deep = "depth" in str(exc).lower()  # lxml's limit on nesting (no huge_tree)
        what = "nested too deeply to be read safely" if deep else "not well-formed XML"
        raise Rejected(f"{name} is damaged: {what}", "corrupt") from exc
    if root is None:
        raise Rejected(f"{name} is empty", "corrupt")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise Rejected(f"{name} declares a DTD (XXE / billion laughs)", "xml_entities")
    return root


# -- content controls ------------------------------------------------------------------------


HEADING_STYLE = re.compile(r"(?i)^(heading|overskrift|berschrift)\s*1$")


def child(element: etree._Element, *tags: str) -> etree._Element | None:
    """Return the first child with ``tags[0]``, its first child with ``tags[1]`` …, or None."""
    # As ``element.find("a/b")``, at a third of the cost: the readers below run millions of times.
    for tag in tags:
        for node in element:
            if node.tag == tag:
                element = node
                break
        else:
            return None
    return element


def read_fields(root: etree._Element, part: str = DOCUMENT_PART) -> list[Field]:
    """Return every content control under ``root``, in document order, with its section."""
    return PartReader(root).fields(part)


class PartReader:
    """Reads the controls and the text of one part, sharing the walks both need."""

    # Every control's answer cell and every element that needs the careful reading are found
    # once, up front; read the fields first, as ``outside_text`` cuts the controls out.

    def __init__(self, root: etree._Element):
        self.root = root
        self.text = TextReader(root)
        body = root.find(W_BODY)
        self.container = body if body is not None else root  # its children: the top elements
        self.controls, self.cells = answer_cells(root)

    def fields(self, part: str = DOCUMENT_PART) -> list[Field]:
        """Return every content control under the root, in document order, with its section."""
        # The controls under the container's children, in document order (as ``self.controls``
        # lists them), each in the section of the top-level element it sits in.
        fields = []
        sections = self.sections()
        inherited: dict[etree._Element, Field] = {}
        for element in self.controls:
            top = top_level(element, sections)
            if top is None:
                continue  # not in the body
            found = read_field(element, part, sections[top], self)
            inner = sole_nested_control(element) if found.type == "richtext" else None
            if inner is not None:
                inherited[inner] = found  # a wrapper LibreOffice put around a typed control
                continue
            outer = inherited.get(element)
            if outer is not None:
                found = replace(found, key=found.key or outer.key, title=found.title or outer.title)
            fields.append(found)
        return fields

    def sections(self) -> dict[etree._Element, str]:
        """Return the section (the last heading 1 at or above it) of every top-level element."""
        found = {}
        section = ""
        for top in self.container:
            if top.tag == W_P and HEADING_STYLE.match(paragraph_style(top)):
                section = self.text.runs_text(top)[0].strip()
            found[top] = section
        return found

    def answer_cell(self, sdt: etree._Element) -> etree._Element | None:
        """Return the table cell this control sits alone in, or None."""
        return self.cells[sdt] if sdt in self.cells else answer_cell(sdt)

    def outside_text(
        self, anchors: dict[str, int] | None = None, hidden: set[int] | None = None
    ) -> list[str]:
        """Return the text of every paragraph outside the controls and answer cells."""
        # See ``text_outside_fields``: this cuts the controls and answer cells out of the tree.
        excluded: dict[etree._Element, etree._Element] = {}
        for sdt in self.controls:
            cell = self.answer_cell(sdt)
            excluded.setdefault(cell if cell is not None else sdt, sdt)
        for element, sdt in excluded.items():
            parent = element.getparent()
            if parent is None:
                continue
            if anchors is None:
                parent.remove(element)
            else:
                props = child(sdt, W_SDTPR)
                key = attr_val(props, W_TAG) if props is not None else ""
                parent.replace(element, etree.Element(ANCHOR, key=key))
        lines: list[str] = []
        for node in self.root.iter(W_P, ANCHOR):
            if node.tag == ANCHOR:
                anchors.setdefault(node.get("key") or "", len(lines))
                continue
            text, skipped = self.text.runs_text(node)
            if skipped and hidden is not None:
                hidden.add(len(lines))
            lines.append(text)
        return lines


def top_level(element: etree._Element, tops: Collection[etree._Element]) -> etree._Element | None:
    """Return the element or ancestor of ``element`` that is one of ``tops``, or None."""
    while element is not None and element not in tops:
        element = element.getparent()
    return element


def answer_cells(root: etree._Element) -> tuple[list, dict]:
    """Return the controls under ``root`` in document order, and each one's answer cell or None."""
    # As ``answer_cell`` finds it, with one short walk up from every control to its closest
    # cell (noting whether a control or a table comes first): a cell is an answer cell when
    # exactly one control has it as its closest cell. A control whose closest cell may lie
    # above ``root`` is left out (``PartReader.answer_cell`` asks the tree for it).
    controls = list(root.iter(W_SDT))
    closest: dict[etree._Element, etree._Element | None] = {}
    counts: dict[etree._Element, int] = {}
    whole = root.getparent() is None  # nothing lies above ``root``
    for sdt in controls:
        cell, blocked, parent = None, False, sdt
        while parent is not root:
            parent = parent.getparent()
            if parent is None:
                break
            tag = parent.tag
            if tag == W_TC:
                cell = parent
                counts[cell] = counts.get(cell, 0) + 1
                break
            if tag in (W_SDT, W_TBL):
                blocked = True
        if cell is None and not whole:
            continue
        closest[sdt] = None if blocked else cell
    cells = {
        sdt: cell if cell is not None and counts[cell] == 1 else None
        for sdt, cell in closest.items()
    }
    return controls, cells


def sole_nested_control(sdt: etree._Element) -> etree._Element | None:
    """Return the only control nested in ``sdt`` when it wraps exactly one, else None."""
    content = child(sdt, W_SDTCONTENT)
    nested = list(islice(content.iter(W_SDT), 2)) if content is not None else []
    return nested[0] if len(nested) == 1 else None


def paragraph_style(paragraph: etree._Element) -> str:
    """Return the style id of a paragraph, or ''."""
    style = child(paragraph, W_PPR, W_PSTYLE)
    return (style.get(W_VAL) or "") if style is not None else ""


def read_field(
    sdt: etree._Element,
    part: str = DOCUMENT_PART,
    section: str = "",
    reader: PartReader | None = None,
) -> Field:
    """Return one content control as a Field."""
    # ``reader``: the PartReader of the whole part, which knows the answer cells already.
    props = child(sdt, W_SDTPR)
    props = props if props is not None else etree.Element(W_SDTPR)
    kind, key, title, showing = control_properties(props)
    content = child(sdt, W_SDTCONTENT)
    cell = reader.answer_cell(sdt) if reader is not None else answer_cell(sdt)
    text = reader.text if reader is not None else CAREFUL
    options, labels = list_items(props)
    value, hidden = control_value(props, content, kind, cell, text)
    return Field(
        key=key,
        title=title,
        type=kind,
        value=value,
        showing_placeholder=showing,
        options=options,
        labels=labels,
        placeholder=text.element_text(content) if showing else "",
        in_answer_cell=cell is not None,
        part=part,
        section=section,
        hidden_text=hidden,
    )


def list_items(props: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the values and the display texts of a control's list items."""
    items = list(props.iter(W_LIST_ITEM))
    if not items:
        return (), ()
    options = tuple(item.get(W_VALUE) or item.get(W_DISPLAY) or "" for item in items)
    labels = tuple(item.get(W_DISPLAY) or item.get(W_VALUE) or "" for item in items)
    return options, labels


def attr_val(props: etree._Element, tag: str) -> str:
    """Return the w:val of the child ``tag`` of sdtPr, or ''."""
    found = child(props, tag)
    return (found.get(W_VAL) or "") if found is not None else ""


CONTROL_TYPES = {
    f"{{{W14}}}checkbox": "checkbox",
    w("dropDownList"): "dropdown",
    w("comboBox"): "combobox",
    w("date"): "date",
    w("text"): "text",
    w("picture"): "picture",
    w("richText"): "richtext",
    **{
        w(t): "other"
        for t in ("docPartObj", "docPartList", "group", "citation", "bibliography", "equation")
    },
    f"{{{W15}}}repeatingSection": "other",
}
TYPE_PRIORITY = ("checkbox", "dropdown", "combobox", "date", "text", "picture", "richtext", "other")


NAMED_PROPERTIES = (W_TAG, W_ALIAS, W_SHOWING)


def control_type(props: etree._Element) -> str:
    """Return the kind of a content control from its properties."""
    return control_properties(props)[0]


def control_properties(props: etree._Element) -> tuple[str, str, str, bool]:
    """Return a control's kind, tag, title (alias), and whether it shows its placeholder."""
    # The tag and the title are the w:val of the first w:tag and w:alias, as ``attr_val`` reads.
    kinds = set()
    values: dict[str, str] = {}
    for node in props:
        tag = node.tag
        if tag in CONTROL_TYPES:
            kinds.add(CONTROL_TYPES[tag])
        elif tag in NAMED_PROPERTIES and tag not in values:
            values[tag] = node.get(W_VAL) or ""
    kind = next((kind for kind in TYPE_PRIORITY if kind in kinds), "richtext")
    return kind, values.get(W_TAG, ""), values.get(W_ALIAS, ""), W_SHOWING in values


def answer_cell(sdt: etree._Element) -> etree._Element | None:
    """Return the table cell this control sits alone in, or None."""
    parent = sdt.getparent()
    while parent is not None and parent.tag != W_TC:
        if parent.tag in (W_SDT, W_TBL):
            return None
        parent = parent.getparent()
    if parent is None:
        return None
    controls = [c for c in parent.iter(W_SDT) if nearest_cell(c) is parent]
    return parent if len(controls) == 1 else None


def nearest_cell(element: etree._Element) -> etree._Element | None:
    """Return the closest enclosing table cell of ``element``."""
    parent = element.getparent()
    while parent is not None and parent.tag != W_TC:
        parent = parent.getparent()
    return parent


def control_value(
    props, content, kind: str, cell, text: TextReader | None = None
) -> tuple[str | bool | None, bool]:
    """Return the value entered in one control (text, bool or ISO date), and if text was hidden."""
    # ``content``: the control's sdtContent (or None); ``cell``: its answer cell (or None).
    text = text if text is not None else CAREFUL
    if kind == "checkbox":
        checked = child(props, f"{{{W14}}}checkbox", f"{{{W14}}}checked")
        ticked = checked is not None and checked.get(f"{{{W14}}}val", "1") in ("1", "true", "on")
        return ticked, False
    if kind in ("dropdown", "combobox"):
        return dropdown_value(props, text.element_text(content).strip()), False
    if kind == "date":
        return date_value(props, text.element_text(content).strip()), False
    content = cell if kind in ("richtext", "text") and cell is not None else content
    return text.visible_text(content) if content is not None else ("", False)


def dropdown_value(props: etree._Element, shown: str) -> str:
    """Return the list value whose display text is shown (or the shown text itself)."""
    for item in props.iter(W_LIST_ITEM):
        if (item.get(W_DISPLAY) or "").strip() == shown:
            return item.get(W_VALUE) or shown
    return shown


DATE_TEXT = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def date_value(props: etree._Element, shown: str) -> str:
    """Return an ISO date from the control's full date or its shown dd.mm.yyyy text."""
    match = DATE_TEXT.match(shown)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    if re.match(r"^\d{4}-\d{2}-\d{2}", shown):
        return shown[:10]
    date = child(props, w("date"))
    full = date.get(w("fullDate")) if date is not None else None
    if full and shown:
        return full[:10]
    return shown


def content_text(sdt: etree._Element) -> str:
    """Return the text inside a control's sdtContent."""
    return CAREFUL.content_text(sdt)


def element_text(element: etree._Element) -> str:
    """Return the text of an element: paragraphs joined by newlines, breaks and tabs kept."""
    return visible_text(element)[0]


def visible_text(element: etree._Element) -> tuple[str, bool]:
    """Return the visible text of an element (one line per paragraph), and if text was hidden."""
    return CAREFUL.visible_text(element)


def mark_removed(paragraph: etree._Element) -> bool:
    """Return True when a paragraph's mark is a tracked deletion or was moved away."""
    marks = child(paragraph, W_PPR, W_RPR)
    return marks is not None and any(child(marks, tag) is not None for tag in (W_DEL, W_MOVE_FROM))


def paragraph_text(paragraph: etree._Element) -> str:
    """Return one paragraph's text with line breaks and tabs."""
    return run_text(paragraph)


def run_text(element: etree._Element) -> str:
    """Return the visible text of runs under ``element`` (deleted, moved, hidden text skipped)."""
    return runs_text(element)[0]


READ_NODES = (*TEXT_NODES, *NOT_SHOWN, W_VANISH)  # what the careful reading looks at
SPECIAL_NODES = tuple(tag for tag in READ_NODES if tag != W_T)  # what makes a paragraph not plain


def runs_text(element: etree._Element) -> tuple[str, bool]:
    """Return the visible text of runs under ``element``, and whether hidden text was left out."""
    # Field codes (w:instrText) and deleted text (w:delText) are other elements, never read;
    # whole subtrees that are not shown are skipped (see NOT_SHOWN), so are hidden runs.
    out: list[str] = []
    hidden = False
    skipped: Collection[etree._Element] = ()  # the nodes of the subtree being skipped
    for node in element.iter(*READ_NODES):
        if node in skipped:
            continue
        tag = node.tag
        if tag in NOT_SHOWN:
            skipped = set(node.iter(*READ_NODES))
        elif tag == W_VANISH:
            run = hidden_run(node)
            if run is not None:
                skipped = set(run.iter(*READ_NODES))
                hidden = hidden or any((t.text or "").strip() for t in run.iter(W_T))
        elif tag == W_T:
            out.append(node.text or "")
        elif tag == W_TAB:
            if node.getparent() is not None and node.getparent().tag == W_R:
                out.append("\t")
        elif tag in (W_BR, W_CR):
            if node.get(W_TYPE) in (None, "textWrapping"):
                out.append("\n")
        else:
            out.append("-")
    return "".join(out), hidden


def plain_text(element: etree._Element) -> str:
    """Return the text of an element that holds nothing but w:t text (no SPECIAL_NODES)."""
    return "".join([node.text or "" for node in element.iter(W_T)])


def hidden_run(vanish: etree._Element) -> etree._Element | None:
    """Return the run a ``w:vanish`` hides, or None (a hidden paragraph mark, or switched off)."""
    props = vanish.getparent()
    run = props.getparent() if props is not None else None
    if props is None or props.tag != W_RPR or run is None or run.tag != W_R:
        return None
    return None if (vanish.get(W_VAL) or "").lower() in OFF else run


class TextReader:
    """Reads visible text; given a root, the plain elements under it (most of them) fast."""

    # The careful reading (``runs_text``) looks at every node that can change the text; an
    # element without such nodes reads as its w:t texts joined. One pass over the root finds
    # the elements that need the careful reading (the nodes and all above them) and the
    # paragraphs whose mark was removed. Only elements under the root may be asked about;
    # cutting subtrees out of it afterwards is fine (an element only loses nodes) for what is
    # still in the tree. Whether a paragraph sits inside another one is asked of its ancestors
    # when needed: a form asks it some 30 times, cheaper than a pass over the whole tree.

    def __init__(self, root: etree._Element | None = None):
        self.fast = root is not None
        self.careful: set[etree._Element] = set()  # elements holding more than w:t text
        self.joined: set[etree._Element] = set()  # paragraphs whose mark was removed
        if root is None:
            return
        for node in root.iter(*SPECIAL_NODES):
            for element in chain((node,), node.iterancestors()):
                if element in self.careful:
                    break  # and so are the ones above it
                self.careful.add(element)
            paragraph = removed_mark_of(node)
            if paragraph is not None:
                self.joined.add(paragraph)

    def runs_text(self, element: etree._Element) -> tuple[str, bool]:
        """Return the visible text of runs under ``element``, and whether text was hidden."""
        if self.fast and element not in self.careful:
            return plain_text(element), False
        return runs_text(element)

    def visible_text(self, element: etree._Element) -> tuple[str, bool]:
        """Return the visible text of an element (a line per paragraph), and if text was hidden."""
        # A paragraph whose mark was deleted or moved away (tracked) runs on into the next one.
        if element.tag == W_P:
            return self.runs_text(element)
        pieces: list[str] = []
        hidden = False
        for paragraph in element.iter(W_P):
            if self.is_nested(paragraph):  # read with the paragraph it is in
                continue
            text, skipped = self.runs_text(paragraph)
            pieces += [text, "" if self.mark_removed(paragraph) else "\n"]
            hidden = hidden or skipped
        if not pieces:
            return self.runs_text(element)
        return "".join(pieces[:-1]), hidden

    def content_text(self, sdt: etree._Element) -> str:
        """Return the text inside a control's sdtContent."""
        return self.element_text(child(sdt, W_SDTCONTENT))

    def element_text(self, element: etree._Element | None) -> str:
        """Return the visible text of an element, or '' for None."""
        return self.visible_text(element)[0] if element is not None else ""

    def is_nested(self, paragraph: etree._Element) -> bool:
        """Return True when a paragraph lies inside another paragraph (a text box)."""
        return next(paragraph.iterancestors(W_P), None) is not None

    def mark_removed(self, paragraph: etree._Element) -> bool:
        """Return True when a paragraph's mark is a tracked deletion or was moved away."""
        return paragraph in self.joined if self.fast else mark_removed(paragraph)


CAREFUL = TextReader()  # reads every element the careful way


def removed_mark_of(node: etree._Element) -> etree._Element | None:
    """Return the paragraph whose mark ``node`` deletes or moves away, or None."""
    # As ``mark_removed`` asks it: the w:del or w:moveFrom in the first w:rPr of the first w:pPr.
    if node.tag not in (W_DEL, W_MOVE_FROM):
        return None
    marks = node.getparent()
    props = marks.getparent() if marks is not None else None
    paragraph = props.getparent() if props is not None else None
    if paragraph is None or (marks.tag, props.tag, paragraph.tag) != (W_RPR, W_PPR, W_P):
        return None
    return paragraph if child(paragraph, W_PPR, W_RPR) is marks else None


ANCHOR = "{urn:samtale}anchor"  # stands in for a control cut out while anchors are read


def text_outside_fields(
    root: etree._Element,
    anchors: dict[str, int] | None = None,
    hidden: set[int] | None = None,
) -> list[str]:
    """Return the text of every paragraph outside the controls and answer cells."""
    # Consumes ``root``: the controls and answer cells are cut out of the tree, so read the
    # fields first (or read both with one PartReader). With ``anchors``, the place of every
    # tagged control is noted there: how many of the returned paragraphs come before it. With
    # ``hidden``, the numbers of the paragraphs that hold hidden text are noted there.
    return PartReader(root).outside_text(anchors, hidden)


def all_text(root: etree._Element) -> str:
    """Return all visible text of a part."""
    return run_text(root)


def saved_at(core_xml: bytes | None) -> str:
    """Return when the document says it was last saved (docProps/core.xml), as UTC ISO, or ''."""
    if not core_xml:
        return ""
    try:
        node = parse_xml(core_xml, CORE_PART).find(f"{{{DCTERMS}}}modified")
    except Rejected:
        return ""
    text = (node.text or "").strip() if node is not None else ""
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC).replace(microsecond=0).isoformat()


# -- custom document properties --------------------------------------------------------------


def read_custom_properties(data: bytes | None) -> dict[str, str]:
    """Return the custom document properties (name → text value) of docProps/custom.xml."""
    if not data:
        return {}
    root = parse_xml(data, CUSTOM_PART)
    props = {}
    for prop in root.iter(f"{{{CUSTOM}}}property"):
        value = next(iter(prop), None)
        props[prop.get("name", "")] = (value.text or "") if value is not None else ""
    return props


def custom_properties_xml(properties: dict[str, str]) -> bytes:
    """Return docProps/custom.xml holding ``properties`` as text values."""
    items = "".join(
        f'<property fmtid="{CUSTOM_FMTID}" pid="{pid}" name={quoteattr(name)}>'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(properties.items(), start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{CUSTOM}" xmlns:vt="{VT}">{items}</Properties>'
    ).encode()


def with_custom_properties(parts: dict[str, bytes], properties: dict[str, str]) -> dict[str, bytes]:
    """Return ``parts`` with custom properties merged in (content type and relation added)."""
    merged = {**read_custom_properties(parts.get(CUSTOM_PART)), **properties}
    out = dict(parts)
    out[CUSTOM_PART] = custom_properties_xml(merged)
    types = out["[Content_Types].xml"].decode("utf-8")
    if "/docProps/custom.xml" not in types:
        override = f'<Override PartName="/{CUSTOM_PART}" ContentType="{CUSTOM_CT}"/>'
        out["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()
    rels = out["_rels/.rels"].decode("utf-8")
    if CUSTOM_REL not in rels:
        relation = (
            f'<Relationship Id="rIdSamtaleCustom" Type="{CUSTOM_REL}" Target="{CUSTOM_PART}"/>'
        )
        out["_rels/.rels"] = rels.replace(
            "</Relationships>", relation + "</Relationships>"
        ).encode()
    return out


# -- writing text into XML -------------------------------------------------------------------


def clean_xml_text(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 forbids."""
    return XML_FORBIDDEN.sub("", text)


def text_to_runs_markup(text: str) -> str:
    """Return escaped run content for text placed inside a ``<w:t>``: newlines and tabs kept."""
    safe = escape(clean_xml_text(text).replace("\r\n", "\n").replace("\r", "\n"))
    safe = safe.replace('"', "&quot;")
    safe = safe.replace("\n", '</w:t><w:br/><w:t xml:space="preserve">')
    return safe.replace("\t", '</w:t><w:tab/><w:t xml:space="preserve">')


HEADER_FOOTER = re.compile(r"word/(header|footer)\d*\.xml")


def header_footer_parts(names: list[str]) -> list[str]:
    """Return the names of header and footer parts of a package."""
    return sorted(n for n in names if HEADER_FOOTER.fullmatch(n))


# zlib level 3 deflates a form's document.xml 2.5x faster than the default 6, for a .docx
# about 5 % bigger (generate, minutes and finalize compress one per form).
ZIP_LEVEL = 3
DOS_DATE_2020 = (2020 - 1980) << 9 | 1 << 5 | 1  # 2020-01-01: fixed, so equal forms are equal bytes
UTF8_NAMES = 0x800


@dataclass(frozen=True)
class ZipEntry:
    """One compressed zip member, ready to be written (compressed once, written many times)."""

    name: str
    crc: int
    size: int
    compressed: bytes


def compress_entry(name: str, data: bytes, level: int = ZIP_LEVEL) -> ZipEntry:
    """Return ``data`` deflated as a zip member called ``name``."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    compressed = compressor.compress(data) + compressor.flush()
    return ZipEntry(name, zlib.crc32(data), len(data), compressed)


def write_entries(entries: list[ZipEntry]) -> bytes:
    """Return a zip archive of already compressed members (local headers, directory, end)."""
    out = io.BytesIO()
    directory = []
    for entry in entries:
        name = entry.name.encode("utf-8")
        flags = UTF8_NAMES if not entry.name.isascii() else 0
        fields = (20, flags, 8, 0, DOS_DATE_2020, entry.crc, len(entry.compressed), entry.size)
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, len(name), 0))
        out.write(name)
        out.write(entry.compressed)
        directory.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                0x0314,
                *fields,
                len(name),
                0,
                0,
                0,
                0,
                0o100600 << 16,
                offset,
            )
            + name
        )
    start = out.tell()
    for record in directory:
        out.write(record)
    size = out.tell() - start
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), size, start, 0)
    )
    return out.getvalue()


def package_order(names: list[str]) -> list[str]:
    """Return part names with [Content_Types].xml first, as Word writes them."""
    return ["[Content_Types].xml"] + [n for n in names if n != "[Content_Types].xml"]


def write_package(parts: dict[str, bytes], order: list[str]) -> bytes:
    """Return a .docx zip of ``parts`` in ``order`` ([Content_Types].xml first)."""
    names = package_order(order)
    names += [n for n in parts if n not in names]
    return write_entries([compress_entry(n, parts[n]) for n in names if n in parts])


# -- dropdown lists filled when a form is rendered (FORMS.md: choice sources) ----------------

CHOICE_MARKER = re.compile(r'<w:listItem\b[^>]*?\bw:value="@([a-z_]+)"[^>]*/>')


def choice_sources(document_xml: str) -> list[str]:
    """Return the sources (``company_goals`` …) of the list items marked ``@source``, in order."""
    return CHOICE_MARKER.findall(document_xml)


def with_choices(document_xml: str, lists: dict[str, list[tuple[str, str]]]) -> str:
    """Return document.xml with each ``@source`` list item replaced by that source's entries."""
    # A marker whose source is not in ``lists`` stays as it is (``samtale check`` names it).

    def entries(match: re.Match) -> str:
        choices = lists.get(match.group(1))
        if choices is None:
            return match.group(0)
        return "".join(
            f"<w:listItem w:displayText={quoteattr(clean_xml_text(shown))}"
            f" w:value={quoteattr(clean_xml_text(value))}/>"
            for shown, value in choices
        )

    return CHOICE_MARKER.sub(entries, document_xml)


def append_run(parent: etree._Element, text: str, r_props) -> None:
    """Append a run holding ``text`` (tabs and breaks as Word writes them)."""
    run = etree.SubElement(parent, W_R)
    if r_props is not None and len(r_props):
        run.append(copy_element(r_props))
    pieces = re.split(r"(\t|\v)", text)  # \v: a line break inside the paragraph
    for piece in (p if p in ("\t", "\v") else clean_xml_text(p) for p in pieces):
        if piece == "\t":
            etree.SubElement(run, W_TAB)
        elif piece == "\v":
            etree.SubElement(run, W_BR)
        elif piece:
            node = etree.SubElement(run, W_T)
            node.text = piece
            node.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def copy_element(element: etree._Element) -> etree._Element:
    """Return a deep copy of an element."""
    return etree.fromstring(etree.tostring(element))


def replace_part(data: bytes, name: str, content: bytes) -> bytes:
    """Return a .docx with one part replaced, every other entry kept as it was."""
    return with_parts(data, {name: content})


# -- flattening (final minutes: the agreed text as plain text, no form fields) ---------------


@dataclass(frozen=True)
class FinalDocument:
    """The archived minutes' document.xml, and the style ids it names (for dropping the rest)."""

    xml: bytes
    style_names: tuple[str, ...]


def final_document(
    document_xml: bytes,
    prompts: Collection[str] | None,
    box_style: str,
    paragraphs: list[tuple[str, str]],
) -> FinalDocument:
    """Return document.xml flattened, without the boxes in ``box_style``, ``paragraphs`` added."""
    # The steps of flatten_controls, drop_boxes and append_paragraphs on one parsed tree.
    root = parse_xml(document_xml, DOCUMENT_PART)
    flatten_tree(root, prompts)
    drop_boxes_tree(root, box_style)
    append_paragraphs_tree(root, paragraphs, page_break=True)
    return FinalDocument(xml_bytes(root), tuple(style_names(root, STYLE_REFERENCES)))


def flatten_controls(document_xml: bytes, prompts: Collection[str] | None = None) -> bytes:
    """Return document.xml with every content control replaced by its plain content."""
    root = parse_xml(document_xml, DOCUMENT_PART)
    flatten_tree(root, prompts)
    return xml_bytes(root)


def flatten_tree(root: etree._Element, prompts: Collection[str] | None = None) -> None:
    """Replace every content control under ``root`` by its plain content."""
    # Controls still showing their prompt become empty, so no instruction text ends up in the
    # archived minutes. With ``prompts`` (the sent form's placeholder texts) the content decides,
    # as LibreOffice 25 keeps the placeholder flag on pasted answers; without them, the flag
    # does. Answers lose the grey placeholder style LibreOffice 25 leaves on them.
    known = {" ".join(prompt.split()) for prompt in prompts or () if prompt.strip()}
    for sdt in reversed(list(root.iter(W_SDT))):
        props = sdt.find(W_SDTPR)
        content = sdt.find(W_SDTCONTENT)
        if prompts is None:
            showing = props is not None and props.find(W_SHOWING) is not None
        else:
            showing = " ".join(content_text(sdt).split()) in known
        parent = sdt.getparent()
        position = parent.index(sdt)
        children = [] if content is None else list(content)
        if showing:
            children = [strip_runs(child) for child in children if child.tag in (W_P, W_TBL)]
        else:
            children = [without_placeholder_style(child) for child in children]
        for offset, child in enumerate(children):
            parent.insert(position + offset, child)
        parent.remove(sdt)
    ensure_cells_have_paragraphs(root)


PLACEHOLDER_STYLE = "PlaceholderText"


def without_placeholder_style(element: etree._Element) -> etree._Element:
    """Return an element whose runs no longer carry the grey placeholder character style."""
    for style in list(element.iter(w("rStyle"))):
        if style.get(W_VAL) == PLACEHOLDER_STYLE and style.getparent() is not None:
            style.getparent().remove(style)
    return element


def strip_runs(element: etree._Element) -> etree._Element:
    """Return a paragraph emptied of its runs (its formatting kept)."""
    for run in element.findall(f".//{W_R}"):
        run.getparent().remove(run)
    return element


def ensure_cells_have_paragraphs(root: etree._Element) -> None:
    """Give every table cell the paragraph Word requires."""
    for cell in root.iter(W_TC):
        if cell.find(W_P) is None and cell.find(w("tbl")) is None:
            etree.SubElement(cell, W_P)


def append_paragraphs(
    document_xml: bytes, paragraphs: list[tuple[str, str]], page_break: bool = True
) -> bytes:
    """Return document.xml with (style id, text) paragraphs added at the end of the body."""
    root = parse_xml(document_xml, DOCUMENT_PART)
    append_paragraphs_tree(root, paragraphs, page_break)
    return xml_bytes(root)


def append_paragraphs_tree(
    root: etree._Element, paragraphs: list[tuple[str, str]], page_break: bool = True
) -> None:
    """Add (style id, text) paragraphs at the end of the body under ``root``."""
    body = root.find(w("body"))
    section = body.find(w("sectPr"))
    new = []
    if page_break:
        p = etree.Element(W_P)
        etree.SubElement(etree.SubElement(p, W_R), W_BR).set(w("type"), "page")
        new.append(p)
    for style, text in paragraphs:
        p = etree.Element(W_P)
        if style:
            etree.SubElement(etree.SubElement(p, w("pPr")), w("pStyle")).set(W_VAL, style)
        append_run(p, text, None)
        new.append(p)
    for element in new:
        if section is not None:
            section.addprevious(element)
        else:
            body.append(element)


def drop_boxes(document_xml: bytes, style_id: str) -> bytes:
    """Return document.xml without the tables whose first paragraph has style ``style_id``."""
    root = parse_xml(document_xml, DOCUMENT_PART)
    drop_boxes_tree(root, style_id)
    return xml_bytes(root)


def drop_boxes_tree(root: etree._Element, style_id: str) -> None:
    """Remove the tables under ``root`` whose first paragraph has style ``style_id``."""
    for table in list(root.iter(w("tbl"))):
        first = next(table.iter(W_P), None)
        if (
            first is not None
            and paragraph_style(first) == style_id
            and table.getparent() is not None
        ):
            table.getparent().remove(table)


# -- links out of a package (never followed when a returned file is converted) -------------

REL_NAMESPACES = (  # the r: prefix of transitional and strict OOXML
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
VML_RELID = "{urn:schemas-microsoft-com:office:office}relid"
LINKING_TYPES = {"aFChunk", "attachedTemplate", "subDocument", "oleObject", "package", "frame"}
IMAGE_TAGS = {"blip", "imagedata"}  # DrawingML and VML images
PICTURE_TAGS = tuple(w(tag) for tag in ("drawing", "pict", "object"))


def with_parts(data: bytes, changed: dict[str, bytes]) -> bytes:
    """Return a .docx with the ``changed`` parts replaced, every other entry kept as it was."""
    # An entry kept is read whole (its checksum checked) but not compressed again: its deflated
    # bytes are copied as they are.
    entries = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        order = archive.namelist()
        for info in archive.infolist():
            if info.filename in changed:
                continue
            content = archive.read(info)
            entries[info.filename] = kept_entry(data, info) or compress_entry(
                info.filename, content
            )
    for name, content in changed.items():
        compress = compressed_once if name == STYLES_PART else compress_entry
        entries[name] = compress(name, content)
    names = package_order(order)
    names += [name for name in entries if name not in names]
    return write_entries([entries[name] for name in names if name in entries])


def kept_entry(data: bytes, info: zipfile.ZipInfo) -> ZipEntry | None:
    """Return a deflated member's bytes as they lie in the zip ``data``, or None (stored, odd)."""
    start = info.header_offset
    header = data[start : start + 30]
    if info.compress_type != zipfile.ZIP_DEFLATED or header[:4] != b"PK\x03\x04":
        return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_length + extra_length
    compressed = data[begin : begin + info.compress_size]
    if len(compressed) != info.compress_size:
        return None
    return ZipEntry(info.filename, info.CRC, info.file_size, compressed)


@functools.lru_cache(maxsize=8)  # the minutes of one template share one styles part
def compressed_once(name: str, data: bytes) -> ZipEntry:
    """Return ``compress_entry(name, data)``, computed once for a part many packages share."""
    return compress_entry(name, data)


def without_outside_links(parts: dict[str, bytes]) -> dict[str, bytes]:
    """Return the parts that change when every link out of the package is dropped."""
    # LibreOffice follows them while converting: a linked picture (``a:blip r:link``) is fetched
    # over HTTP, or read from a local file into the sealed PDF. So every relationship with
    # ``TargetMode="External"`` goes, hyperlinks included (their text stays), and so do linked
    # or embedded documents (altChunk, subdocuments, OLE objects, attached templates, frames);
    # then every element that refers to a dropped relationship.
    changed: dict[str, bytes] = {}
    for name in sorted(n for n in parts if n.endswith(".rels")):
        rels, dropped = without_links(parts[name], name)
        if not dropped:
            continue
        changed[name] = rels
        source = rels_source(name)
        if source in parts:
            data = changed.get(source, parts[source])
            changed[source] = without_references(data, source, dropped)
    return changed


def rels_source(name: str) -> str:
    """Return the part a .rels part belongs to: ``word/_rels/document.xml.rels`` → document."""
    folder, _, file = name.rpartition("_rels/")
    return folder + file.removesuffix(".rels")


def without_links(data: bytes, name: str) -> tuple[bytes, set[str]]:
    """Return a .rels part without its links out of the package, and the ids it dropped."""
    root = parse_xml(data, name)
    dropped = set()
    for relationship in list(root.iter(f"{{{PKG_REL}}}Relationship")):
        if leads_outside(relationship):
            dropped.add(relationship.get("Id", ""))
            relationship.getparent().remove(relationship)
    return (xml_bytes(root) if dropped else data), dropped


def leads_outside(relationship: etree._Element) -> bool:
    """Return True for a relationship to outside the file, or to a linked or embedded document."""
    external = (relationship.get("TargetMode") or "").strip().lower() == "external"
    kind = (relationship.get("Type") or "").rstrip("/").rsplit("/", 1)[-1]
    return external or kind in LINKING_TYPES


def without_references(data: bytes, name: str, dropped: set[str]) -> bytes:
    """Return an XML part without its references to the relationships ``dropped``."""
    # An element that still refers to a kept relationship only loses the attribute (a picture
    # stored in the file and linked keeps the stored copy); a hyperlink gives way to its text; a
    # picture without its image goes as a whole; anything else that refers to a dropped
    # relationship is removed.
    root = parse_xml(data, name)
    for element in list(root.iter()):
        references = [a for a in element.attrib if is_reference(a)] if element.attrib else []
        gone = [a for a in references if element.get(a) in dropped]
        if not gone or element is root:
            continue
        if len(gone) < len(references):
            for attribute in gone:
                del element.attrib[attribute]
        elif etree.QName(element).localname == "hyperlink":
            unwrap(element)
        else:
            remove(picture_of(element))
    return xml_bytes(root)


def picture_of(element: etree._Element) -> etree._Element:
    """Return the whole picture (drawing, VML picture or object) an image belongs to, or itself."""
    if etree.QName(element).localname not in IMAGE_TAGS:
        return element
    return next(element.iterancestors(*PICTURE_TAGS), element)


def remove(element: etree._Element) -> None:
    """Take ``element`` out of its tree (the root stays)."""
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def is_reference(attribute: str) -> bool:
    """Return True for an attribute that holds a relationship id (``r:id``, ``r:link`` …)."""
    return attribute == VML_RELID or any(attribute.startswith(f"{{{ns}}}") for ns in REL_NAMESPACES)


def unwrap(element: etree._Element) -> None:
    """Replace ``element`` by its children (a hyperlink by its runs)."""
    parent = element.getparent()
    if parent is None:
        return
    position = parent.index(element)
    for offset, child in enumerate(list(element)):
        parent.insert(position + offset, child)
    parent.remove(element)


def xml_bytes(root: etree._Element) -> bytes:
    """Return a part's XML as Word writes it (declaration, UTF-8, standalone)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# -- styles nobody uses (dropped before converting) ------------------------------------------

STYLES_PART = "word/styles.xml"
STYLE_REFERENCES = frozenset(
    w(tag)
    for tag in (
        "pStyle",
        "rStyle",
        "tblStyle",
        "numStyleLink",
        "styleLink",
        "clickAndTypeStyle",
        "defaultTableStyle",
    )
)
STYLE_LINKS = STYLE_REFERENCES | {w("basedOn"), w("link"), w("next")}
FALSE_VALUES = ("0", "false", "off")


def without_unused_styles(
    parts: dict[str, bytes], named_in: dict[str, tuple[str, ...]] | None = None
) -> bytes | None:
    """Return the styles part with only the styles in use and what they build on, or None."""
    # ``named_in``: the style ids some parts name, known already (those parts are not parsed).
    # Word's templates carry a gallery of some 180 styles (table styles above all), and
    # LibreOffice imports every one for each document it converts: a fifth of its time. Styles
    # no part names change nothing on the page. Kept: the defaults, every style any part names,
    # and the styles those are based on, linked to or followed by. None: nothing to drop, or a
    # part that cannot be read (then the package is converted as it is).
    data = parts.get(STYLES_PART)
    if data is None:
        return None
    try:
        table = styles_table(data)
        known = named_in or {}
        named = [value for names in known.values() for value in names]
        named += [
            value
            for name, part in parts.items()
            if name != STYLES_PART and name not in known
            if name.endswith(".xml") and b"tyle" in part
            for value in style_names(parse_xml(part, name), STYLE_REFERENCES)
        ]
    except Rejected:
        return None
    kept = table.in_use(named)
    return None if kept >= table.links.keys() else kept_styles(data, kept)


@dataclass(frozen=True)
class StylesTable:
    """The styles of a styles part: the ones each names, and the defaults."""

    links: dict[str | None, tuple[str, ...]]  # style id → the styles it builds on
    defaults: tuple[str | None, ...]

    def in_use(self, named: list[str]) -> frozenset[str | None]:
        """Return the styles to keep: the defaults, the ``named`` ones, and what they build on."""
        kept: set[str | None] = set()
        wanted: list[str | None] = [*self.defaults, *named]
        while wanted:
            style_id = wanted.pop()
            if style_id not in kept and style_id in self.links:
                kept.add(style_id)
                wanted += self.links[style_id]
        return frozenset(kept)


@functools.lru_cache(maxsize=4)  # the documents of one template share one styles part
def styles_table(data: bytes) -> StylesTable:
    """Return what the styles of a styles part refer to; raise Rejected."""
    links: dict[str | None, tuple[str, ...]] = {}
    defaults = []
    for style in parse_xml(data, STYLES_PART).iterchildren(w("style")):
        style_id = style.get(w("styleId"))
        links[style_id] = (*links.get(style_id, ()), *style_names(style, STYLE_LINKS))
        if style_id is None or (style.get(w("default")) or "0").lower() not in FALSE_VALUES:
            defaults.append(style_id)
    return StylesTable(links, tuple(defaults))


@functools.lru_cache(maxsize=16)
def kept_styles(data: bytes, kept: frozenset[str | None]) -> bytes:
    """Return the styles part with only the ``kept`` styles."""
    root = parse_xml(data, STYLES_PART)
    for style in list(root.iterchildren(w("style"))):
        if style.get(w("styleId")) not in kept:
            root.remove(style)
    return xml_bytes(root)


def style_names(element: etree._Element, tags: frozenset[str]) -> list[str]:
    """Return the style ids the elements with ``tags`` under ``element`` name."""
    return [found.get(W_VAL) or "" for found in element.iter(*tags)]
