"""Filling content controls the way Word stores them, for the demo, the tests and the benchmark."""

from __future__ import annotations

from lxml import etree

from pipeline.formats.ooxml import (
    CHECKED,
    DOCUMENT_PART,
    UNCHECKED,
    W14,
    W_P,
    W_R,
    W_SDT,
    W_SDTCONTENT,
    W_SDTPR,
    append_run,
    attr_val,
    control_type,
    copy_element,
    parse_xml,
    w,
)


def fill_fields(document_xml: bytes, values: dict[str, str | bool]) -> bytes:
    """Return document.xml with the controls tagged in ``values`` filled as Word stores them."""
    root = parse_xml(document_xml, DOCUMENT_PART)
    for sdt in root.iter(W_SDT):
        props = sdt.find(W_SDTPR)
        key = attr_val(props, w("tag")) if props is not None else ""
        if key in values:
            fill_control(sdt, props, values[key])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def fill_control(sdt: etree._Element, props: etree._Element, value: str | bool) -> None:
    """Put ``value`` into one control: text, choice, date or checkbox."""
    placeholder = props.find(w("showingPlcHdr"))
    if placeholder is not None:
        props.remove(placeholder)
    kind = control_type(props)
    content = sdt.find(W_SDTCONTENT)
    if kind == "checkbox":
        checked = props.find(f"{{{W14}}}checkbox/{{{W14}}}checked")
        if checked is not None:
            checked.set(f"{{{W14}}}val", "1" if value else "0")
        set_runs(content, CHECKED if value else UNCHECKED, block=False)
        return
    text = str(value)
    if kind in ("dropdown", "combobox"):
        text = display_text(props, text)
    elif kind == "date" and value:
        date = props.find(w("date"))
        if date is not None:
            date.set(w("fullDate"), f"{text}T00:00:00Z")
        year, month, day = text.split("-")
        text = f"{day}.{month}.{year}"
    block = content.find(W_P) is not None
    set_runs(content, text, block=block)


def display_text(props: etree._Element, value: str) -> str:
    """Return the display text of the list item whose value is ``value``."""
    for item in props.iter(w("listItem")):
        if item.get(w("value")) == value:
            return item.get(w("displayText")) or value
    return value


def set_runs(content: etree._Element, text: str, *, block: bool) -> None:
    """Replace a control's content with ``text``: paragraphs per line when block-level."""
    first_p = content.find(W_P)
    p_props = first_p.find(w("pPr")) if first_p is not None else None
    template_run = content.find(f".//{W_R}")
    r_props = template_run.find(w("rPr")) if template_run is not None else None
    if r_props is not None:
        for style in r_props.findall(w("rStyle")):
            r_props.remove(style)
    for child in list(content):
        content.remove(child)
    lines = text.split("\n") if block else [text]
    for line in lines:
        target = content
        if block:
            target = etree.SubElement(content, W_P)
            if p_props is not None:
                target.append(copy_element(p_props))
        append_run(target, line, r_props)
