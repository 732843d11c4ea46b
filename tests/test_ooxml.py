"""Tests for pipeline/ooxml.py: safe reading, content controls, custom properties."""

import io
import zipfile

import pytest
from lxml import etree

from pipeline.errors import Rejected
from pipeline.formats import ooxml

from .conftest import CORPUS

NS = f'xmlns:w="{ooxml.W}" xmlns:w14="{ooxml.W14}"'


def body(xml: str) -> etree._Element:
    """Return a parsed w:document whose body holds ``xml``."""
    return ooxml.parse_xml(f"<w:document {NS}><w:body>{xml}</w:body></w:document>".encode())


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """Return a zip archive holding ``entries``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rich(tag: str, alias: str, paragraphs: str, placeholder: bool = False) -> str:
    """Return a block-level rich text control alone in a table cell."""
    showing = "<w:showingPlcHdr/>" if placeholder else ""
    return (
        "<w:tbl><w:tr><w:tc><w:sdt><w:sdtPr>"
        f'<w:alias w:val="{alias}"/><w:tag w:val="{tag}"/>{showing}'
        f"</w:sdtPr><w:sdtContent>{paragraphs}</w:sdtContent></w:sdt></w:tc></w:tr></w:tbl>"
    )


def test_rich_text_keeps_paragraphs_breaks_and_tabs():
    xml = rich(
        "results",
        "Resultater",
        "<w:p><w:r><w:t>Første</w:t></w:r><w:r><w:br/><w:t>linje\u00a0to</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t></w:r></w:p>",
    )
    (field,) = ooxml.read_fields(body(xml))
    assert (field.key, field.title, field.type) == ("results", "Resultater", "richtext")
    assert field.value == "Første\nlinje\u00a0to\na\tb"
    assert field.in_answer_cell and not field.showing_placeholder


def test_placeholder_is_flagged_and_kept_as_placeholder_text():
    xml = rich("goals", "Mål", "<w:p><w:r><w:t>Skriv målene her</w:t></w:r></w:p>", True)
    (field,) = ooxml.read_fields(body(xml))
    assert field.showing_placeholder
    assert field.placeholder == "Skriv målene her"


def test_text_pushed_out_of_the_control_still_counts_when_alone_in_its_cell():
    # What LibreOffice does to a multi-paragraph control: the 2nd paragraph leaves the control.
    xml = (
        "<w:tbl><w:tr><w:tc><w:p><w:sdt><w:sdtPr><w:alias w:val='Mål'/></w:sdtPr>"
        "<w:sdtContent><w:r><w:t>en</w:t></w:r></w:sdtContent></w:sdt></w:p>"
        "<w:p><w:r><w:t>to</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    (field,) = ooxml.read_fields(body(xml))
    assert field.key == "" and field.title == "Mål"
    assert field.value == "en\nto"


def test_checkbox_dropdown_and_date_values():
    xml = (
        "<w:p><w:sdt><w:sdtPr><w:tag w:val='ok'/><w14:checkbox><w14:checked w14:val='1'/>"
        "</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>☒</w:t></w:r></w:sdtContent></w:sdt>"
        "<w:sdt><w:sdtPr><w:tag w:val='no'/><w14:checkbox><w14:checked w14:val='0'/>"
        "</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>☐</w:t></w:r></w:sdtContent></w:sdt>"
        "<w:sdt><w:sdtPr><w:tag w:val='score'/><w:dropDownList>"
        "<w:listItem w:displayText='4 – Godt' w:value='4'/></w:dropDownList></w:sdtPr>"
        "<w:sdtContent><w:r><w:t>4 – Godt</w:t></w:r></w:sdtContent></w:sdt>"
        "<w:sdt><w:sdtPr><w:tag w:val='when'/><w:date w:fullDate='2027-01-15T00:00:00Z'/>"
        "</w:sdtPr><w:sdtContent><w:r><w:t>15.01.2027</w:t></w:r></w:sdtContent></w:sdt></w:p>"
    )
    values = {f.key: (f.type, f.value) for f in ooxml.read_fields(body(xml))}
    assert values == {
        "ok": ("checkbox", True),
        "no": ("checkbox", False),
        "score": ("dropdown", "4"),
        "when": ("date", "2027-01-15"),
    }


def test_sections_come_from_the_preceding_heading():
    xml = (
        "<w:p><w:pPr><w:pStyle w:val='Heading1'/></w:pPr><w:r><w:t>Tilbakeblikk</w:t></w:r></w:p>"
        + rich("results", "Resultater", "<w:p/>")
    )
    (field,) = ooxml.read_fields(body(xml))
    assert field.section == "Tilbakeblikk"


def test_text_outside_fields_skips_answer_cells():
    xml = "<w:p><w:r><w:t>Fast tekst</w:t></w:r></w:p>" + rich(
        "results", "R", "<w:p><w:r><w:t>svar</w:t></w:r></w:p>"
    )
    assert ooxml.text_outside_fields(body(xml)) == ["Fast tekst"]


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><d>&b;</d>',
        b"<d><unclosed></d>",
    ],
    ids=["xxe", "billion-laughs", "malformed"],
)
def test_hostile_xml_is_rejected(payload):
    with pytest.raises(Rejected):
        ooxml.parse_xml(payload)


def test_zip_limits_and_kinds():
    limits = ooxml.Limits(max_entries=3)
    with pytest.raises(Rejected, match="entries"):
        ooxml.read_package(zip_bytes({f"f{n}.xml": b"<a/>" for n in range(5)}), limits)
    bomb = zip_bytes({"word/document.xml": b"<a>" + b" " * 5_000_000 + b"</a>"})
    with pytest.raises(Rejected) as caught:
        ooxml.read_package(bomb)
    assert caught.value.code == "zip_bomb"
    with pytest.raises(Rejected, match="macros"):
        ooxml.read_package(zip_bytes({"word/vbaProject.bin": b"x"}))
    with pytest.raises(Rejected, match="encrypted"):
        ooxml.read_package(ooxml.OLE_MAGIC + b"\0" * 100)
    with pytest.raises(Rejected, match="damaged"):
        ooxml.read_package(zip_bytes({"a.xml": b"<a/>"})[:-30])
    with pytest.raises(Rejected, match="not a Word"):
        ooxml.read_package(b"%PDF-1.7")


def test_custom_properties_round_trip_with_content_type_and_relation():
    parts = {
        "[Content_Types].xml": b'<Types xmlns="x"></Types>',
        "_rels/.rels": b'<Relationships xmlns="y"></Relationships>',
    }
    out = ooxml.with_custom_properties(parts, {"samtale.identity": "a&b<c>"})
    assert ooxml.read_custom_properties(out[ooxml.CUSTOM_PART]) == {"samtale.identity": "a&b<c>"}
    assert b"custom.xml" in out["[Content_Types].xml"]
    assert ooxml.CUSTOM_REL.encode() in out["_rels/.rels"]


def test_run_markup_escapes_and_drops_forbidden_characters():
    markup = ooxml.text_to_runs_markup('a & <b> "c"\nd\te\x01')
    root = ooxml.parse_xml(
        f'<w:p {NS}><w:r><w:t xml:space="preserve">{markup}</w:t></w:r></w:p>'.encode()
    )
    assert ooxml.run_text(root) == 'a & <b> "c"\nd\te'


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*")), ids=lambda p: p.name)
def test_real_world_files_are_read_or_rejected_with_a_reason(path):
    try:
        package = ooxml.read_package(path.read_bytes())
        for name in [ooxml.DOCUMENT_PART, *ooxml.header_footer_parts(package.names)]:
            data = package.part(name)
            if data:
                fields = ooxml.read_fields(ooxml.parse_xml(data, name), name)
                assert all(isinstance(f.type, str) for f in fields)
        ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))
    except Rejected as exc:
        assert exc.reason and exc.code


def test_boxes_with_a_given_first_style_are_dropped():
    box = (
        "<w:tbl><w:tr><w:tc><w:p><w:pPr><w:pStyle w:val='FormBoxHeading'/></w:pPr>"
        "<w:r><w:t>Slik fyller du ut</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    keep = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Svar</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    xml = f"<w:document {NS}><w:body>{box}{keep}</w:body></w:document>".encode()
    out = ooxml.all_text(ooxml.parse_xml(ooxml.drop_boxes(xml, "FormBoxHeading")))
    assert out == "Svar"
