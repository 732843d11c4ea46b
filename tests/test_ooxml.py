"""Tests for pipeline/ooxml.py: safe reading, content controls, custom properties."""

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


# -- faithful reading: what Word and LibreOffice store besides the answer (issue 9) ----------

MC_NS = f'xmlns:mc="{ooxml.MC}"'


def cell_value(paragraphs: str) -> ooxml.Field:
    """Return the one field of a rich text control alone in its cell holding ``paragraphs``."""
    (field,) = ooxml.read_fields(body(rich("results", "Resultater", paragraphs)))
    return field


def test_text_moved_away_is_read_only_where_it_was_moved_to():
    # Word's tracked move: the old place keeps the text in w:moveFrom (as w:t, not w:delText).
    field = cell_value(
        "<w:p><w:moveFromRangeStart w:id='1' w:author='A' w:date='2027-01-05T10:00:00Z'"
        " w:name='move1'/><w:moveFrom w:id='2' w:author='A' w:date='2027-01-05T10:00:00Z'>"
        "<w:r><w:t xml:space='preserve'>Flyttet bort. </w:t></w:r></w:moveFrom>"
        "<w:moveFromRangeEnd w:id='1'/><w:r><w:t>Står igjen.</w:t></w:r>"
        "<w:moveToRangeStart w:id='3' w:author='A' w:date='2027-01-05T10:00:00Z'"
        " w:name='move1'/><w:moveTo w:id='4' w:author='A' w:date='2027-01-05T10:00:00Z'>"
        "<w:r><w:t xml:space='preserve'> Flyttet bort.</w:t></w:r></w:moveTo>"
        "<w:moveToRangeEnd w:id='3'/></w:p>"
        # a whole paragraph moved away: its mark is moved too, so no empty line is left
        "<w:p><w:pPr><w:rPr><w:moveFrom w:id='5' w:author='A' w:date='2027-01-05T10:00:00Z'/>"
        "</w:rPr></w:pPr><w:moveFrom w:id='6' w:author='A' w:date='2027-01-05T10:00:00Z'>"
        "<w:r><w:t>Hele avsnittet flyttet.</w:t></w:r></w:moveFrom></w:p>"
        "<w:p><w:r><w:t>Siste avsnitt.</w:t></w:r></w:p>"
    )
    assert field.value == "Står igjen. Flyttet bort.\nSiste avsnitt."
    assert not field.hidden_text


def test_deleted_text_and_deleted_paragraph_marks_are_not_read():
    field = cell_value(
        "<w:p><w:r><w:t xml:space='preserve'>Beholdt </w:t></w:r>"
        "<w:del w:id='1' w:author='A' w:date='2027-01-05T10:00:00Z'><w:r>"
        "<w:delText xml:space='preserve'>slettet </w:delText></w:r></w:del>"
        # some writers put w:t inside w:del: deleted all the same
        "<w:del w:id='2' w:author='A'><w:r><w:t>også slettet</w:t></w:r></w:del>"
        "<w:r><w:t>tekst</w:t></w:r></w:p>"
        # a deleted paragraph mark joins the paragraph with the next one
        "<w:p><w:pPr><w:rPr><w:del w:id='3' w:author='A' w:date='2027-01-05T10:00:00Z'/>"
        "</w:rPr></w:pPr><w:r><w:t xml:space='preserve'>Slått </w:t></w:r></w:p>"
        "<w:p><w:r><w:t>sammen.</w:t></w:r></w:p>"
    )
    assert field.value == "Beholdt tekst\nSlått sammen."


def test_hidden_runs_are_left_out_and_flagged():
    field = cell_value(
        "<w:p><w:r><w:t xml:space='preserve'>Synlig</w:t></w:r>"
        "<w:r><w:rPr><w:b/><w:vanish/></w:rPr><w:t xml:space='preserve'> skjult</w:t></w:r>"
        "<w:r><w:rPr><w:vanish w:val='false'/></w:rPr><w:t xml:space='preserve'> vist</w:t>"
        "</w:r></w:p>"
        # a hidden paragraph mark hides no text
        "<w:p><w:pPr><w:rPr><w:vanish/></w:rPr></w:pPr><w:r><w:t>Neste</w:t></w:r></w:p>"
    )
    assert field.value == "Synlig vist\nNeste"
    assert field.hidden_text
    formatting_only = cell_value("<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t> </w:t></w:r></w:p>")
    assert not formatting_only.hidden_text  # only a space was hidden: nothing to report


def test_comments_are_not_part_of_the_answer():
    # Word: the comment's text is in word/comments.xml; the document holds only its anchors.
    field = cell_value(
        "<w:p><w:commentRangeStart w:id='0'/><w:r><w:t>Svar med kommentar</w:t></w:r>"
        "<w:commentRangeEnd w:id='0'/><w:r><w:rPr><w:rStyle w:val='CommentReference'/></w:rPr>"
        "<w:commentReference w:id='0'/></w:r></w:p>"
    )
    assert field.value == "Svar med kommentar"


def test_a_text_box_is_read_once_not_with_its_fallback_copy():
    xml = rich(
        "results",
        "R",
        f"<w:p {MC_NS}><w:r><w:t xml:space='preserve'>Før </w:t></w:r><w:r>"
        "<mc:AlternateContent><mc:Choice Requires='wps'><w:drawing><w:txbxContent><w:p><w:r>"
        "<w:t>Boks</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback>"
        "<w:pict><w:txbxContent><w:p><w:r><w:t>Boks</w:t></w:r></w:p></w:txbxContent></w:pict>"
        "</mc:Fallback></mc:AlternateContent></w:r><w:r><w:t xml:space='preserve'> etter</w:t>"
        "</w:r></w:p>",
    )
    (field,) = ooxml.read_fields(body(xml))
    assert field.value == "Før Boks etter"


def test_fixed_text_notes_where_each_field_sits():
    xml = (
        "<w:p><w:r><w:t>Spørsmål 1</w:t></w:r></w:p>"
        + rich("results", "R", "<w:p><w:r><w:t>svar</w:t></w:r></w:p>")
        + "<w:p/><w:p><w:r><w:t>Spørsmål 2</w:t></w:r></w:p>"
        + rich("goals", "M", "<w:p/>")
    )
    anchors: dict[str, int] = {}
    lines = ooxml.text_outside_fields(body(xml), anchors)
    assert lines == ["Spørsmål 1", "", "Spørsmål 2"]
    assert anchors == {"results": 1, "goals": 3}
    assert ooxml.text_outside_fields(body(xml)) == lines  # without anchors: the same text


def test_headers_and_footers_come_with_the_wanted_parts():
    data = zip_bytes(
        {
            ooxml.DOCUMENT_PART: b"<a/>",
            "word/footer1.xml": b"<f/>",
            "word/footer3.xml": b"<f/>",
            "word/header1.xml": b"<h/>",
            "word/styles.xml": b"<s/>",
        }
    )
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,), headers_footers=True)
    assert sorted(package.parts) == [
        ooxml.DOCUMENT_PART,
        "word/footer1.xml",
        "word/footer3.xml",
        "word/header1.xml",
    ]


def test_flattening_lets_the_content_decide_and_drops_the_grey_style():
    # LibreOffice 25 keeps w:showingPlcHdr and the PlaceholderText style on a pasted answer.
    def control(text: str) -> str:
        return (
            "<w:p><w:sdt><w:sdtPr><w:alias w:val='Avtalt'/><w:tag w:val='agreed'/>"
            "<w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent><w:r><w:rPr>"
            f"<w:rStyle w:val='PlaceholderText'/></w:rPr><w:t>{text}</w:t></w:r></w:sdtContent>"
            "</w:sdt></w:p>"
        )

    xml = f"<w:document {NS}><w:body>{control('Limt inn svar')}{control('Skriv her')}"
    xml = (xml + "</w:body></w:document>").encode()
    flat = ooxml.parse_xml(ooxml.flatten_controls(xml, prompts=["Skriv  her"]))
    assert ooxml.all_text(flat) == "Limt inn svar"
    assert not list(flat.iter(ooxml.W_SDT))
    assert b"PlaceholderText" not in etree.tostring(flat)
    by_flag = ooxml.parse_xml(ooxml.flatten_controls(xml))  # no prompts known: the flag decides
    assert ooxml.all_text(by_flag) == ""


def styles_part(*styles: str) -> bytes:
    """Return a styles part holding ``styles`` (w:style elements)."""
    return f"<w:styles {NS}><w:docDefaults/>{''.join(styles)}</w:styles>".encode()


def style(style_id: str, *, kind: str = "paragraph", inside: str = "", default=False) -> str:
    """Return one w:style element."""
    flag = ' w:default="1"' if default else ""
    return f'<w:style w:type="{kind}"{flag} w:styleId="{style_id}">{inside}</w:style>'


def test_styles_nobody_uses_are_dropped_and_what_the_used_ones_build_on_is_kept():
    styles = styles_part(
        style("Normal", default=True),
        style("TableNormal", kind="table", default=True),
        style("Heading1", inside='<w:basedOn w:val="Normal"/><w:link w:val="Heading1Char"/>'),
        style("Heading1Char", kind="character"),
        style("Quote", inside='<w:next w:val="Normal"/>'),
        style("ListStyle", kind="numbering"),
        style("GridTable4", kind="table"),
        style("Unused", inside='<w:basedOn w:val="Quote"/>'),
    )
    document = body(
        '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr></w:p>'
        '<w:p><w:r><w:rPr><w:rStyle w:val="Missing"/></w:rPr></w:r></w:p>'
    )
    numbering = f'<w:numbering {NS}><w:abstractNum><w:numStyleLink w:val="ListStyle"/>'
    numbering += "</w:abstractNum></w:numbering>"
    parts = {
        ooxml.STYLES_PART: styles,
        ooxml.DOCUMENT_PART: etree.tostring(document),
        "word/numbering.xml": numbering.encode(),
        "word/footer1.xml": f'<w:ftr {NS}><w:tbl><w:tblPr><w:tblStyle w:val="Quote"/>'
        "</w:tblPr></w:tbl></w:ftr>".encode(),
    }

    kept = ooxml.parse_xml(ooxml.without_unused_styles(parts))

    ids = [s.get(ooxml.w("styleId")) for s in kept.iterchildren(ooxml.w("style"))]
    assert ids == ["Normal", "TableNormal", "Heading1", "Heading1Char", "Quote", "ListStyle"]
    assert kept.find(ooxml.w("docDefaults")) is not None


def test_styles_are_left_alone_when_all_are_used_or_a_part_cannot_be_read():
    styles = styles_part(style("Normal", default=True), style("Title"))
    uses_title = etree.tostring(body('<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr></w:p>'))
    plain = {ooxml.STYLES_PART: styles, ooxml.DOCUMENT_PART: etree.tostring(body(""))}

    assert ooxml.without_unused_styles({**plain, ooxml.DOCUMENT_PART: uses_title}) is None
    kept = ooxml.parse_xml(ooxml.without_unused_styles(plain))
    assert [s.get(ooxml.w("styleId")) for s in kept.iterchildren()] == [None, "Normal"]
    assert ooxml.without_unused_styles({**plain, "word/header1.xml": b"<w:hdr Style"}) is None
    assert ooxml.without_unused_styles({ooxml.DOCUMENT_PART: uses_title}) is None


def test_styles_named_in_a_part_already_read_are_not_read_again():
    styles = styles_part(style("Normal", default=True), style("Title"), style("Quote"))
    unreadable = b"<w:document Style"  # parsing it would give up (None)
    parts = {ooxml.STYLES_PART: styles, ooxml.DOCUMENT_PART: unreadable}
    assert ooxml.without_unused_styles(parts) is None

    kept = ooxml.without_unused_styles(parts, {ooxml.DOCUMENT_PART: ("Title",)})

    ids = [s.get(ooxml.w("styleId")) for s in ooxml.parse_xml(kept).iterchildren(ooxml.w("style"))]
    assert ids == ["Normal", "Title"]


BOX = (
    "<w:tbl><w:tr><w:tc><w:p><w:pPr><w:pStyle w:val='Instructions'/></w:pPr><w:r>"
    "<w:t>Slik fyller du ut</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
)


@pytest.mark.parametrize("prompts", [None, ("Skriv her",)])
def test_the_final_document_is_the_three_steps_on_one_tree(prompts):
    control = (
        "<w:p><w:pPr><w:pStyle w:val='Heading1'/></w:pPr><w:r><w:t>Mål</w:t></w:r></w:p>"
        "<w:sdt><w:sdtPr><w:tag w:val='goals'/><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
        "<w:p><w:r><w:rPr><w:rStyle w:val='PlaceholderText'/></w:rPr><w:t>Skriv her</w:t>"
        "</w:r></w:p></w:sdtContent></w:sdt>"
    )
    xml = etree.tostring(body(BOX + control + "<w:sectPr/>"))
    page = [("SignatureHeading", "Signaturer"), ("", "Leder:\tKari Ødegård-Løvås")]

    final = ooxml.final_document(xml, prompts, "Instructions", page)

    stepwise = ooxml.append_paragraphs(
        ooxml.drop_boxes(ooxml.flatten_controls(xml, prompts), "Instructions"), page
    )
    assert final.xml == stepwise
    assert final.style_names == ("Heading1", "SignatureHeading")  # the box and its style gone
    assert b"Slik fyller du ut" not in final.xml and b"Skriv her" not in final.xml


def test_with_parts_copies_the_kept_members_bytes_and_writes_the_changed_ones():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>", zipfile.ZIP_DEFLATED)
        archive.writestr("word/theme/theme1.xml", b"<theme>" * 500, zipfile.ZIP_DEFLATED, 9)
        archive.writestr("word/stored.xml", b"<stored/>", zipfile.ZIP_STORED)
        archive.writestr(ooxml.DOCUMENT_PART, b"<old/>", zipfile.ZIP_DEFLATED)
    data = buffer.getvalue()

    out = ooxml.with_parts(data, {ooxml.DOCUMENT_PART: b"<new/>", "word/added.xml": b"<a/>"})

    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert archive.testzip() is None  # every checksum holds
        assert archive.namelist() == [
            "[Content_Types].xml",
            "word/theme/theme1.xml",
            "word/stored.xml",
            ooxml.DOCUMENT_PART,
            "word/added.xml",
        ]
        assert archive.read(ooxml.DOCUMENT_PART) == b"<new/>"
        assert archive.read("word/stored.xml") == b"<stored/>"
        theme = archive.getinfo("word/theme/theme1.xml")
    before = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/theme/theme1.xml")
    assert theme.compress_size == before.compress_size  # level 9's bytes, not compressed again
    assert ooxml.kept_entry(data, before).compressed in data


def test_a_member_whose_local_header_lies_is_compressed_again():
    data = bytearray(zip_bytes({ooxml.DOCUMENT_PART: b"<w:document/>" * 20}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(ooxml.DOCUMENT_PART)
    data[info.header_offset : info.header_offset + 4] = b"XXXX"  # not a local header there
    assert ooxml.kept_entry(bytes(data), info) is None


# -- the fast readers agree with the careful ones ---------------------------------------------
# Generated trees hold what changes the text (hidden runs and marks, tracked deletions and
# moves, tabs, breaks, hyphens, text boxes with their fallback copy) and what decides answer
# cells (controls in cells, nested controls and tables, controls wrapped around cells).

MC_NS_DECL = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
TEXTS = st.sampled_from(["a", " b ", "Svar æøå", "", " "])
VANISH = st.sampled_from(["<w:vanish/>", "<w:vanish w:val='false'/>", "<w:vanish w:val='on'/>"])
RUN_PIECES = st.one_of(
    TEXTS.map(lambda text: f"<w:t xml:space='preserve'>{text}</w:t>"),
    st.sampled_from(
        [
            "<w:tab/>",
            "<w:br/>",
            "<w:br w:type='page'/>",
            "<w:cr/>",
            "<w:noBreakHyphen/>",
            "<w:delText>slettet</w:delText>",
            "<w:instrText>PAGE</w:instrText>",
        ]
    ),
)
MARKS = st.sampled_from(["", "<w:del/>", "<w:moveFrom/>", "<w:vanish/>"])
STYLES = st.sampled_from(["", "Heading1", "Overskrift1", "Normal"])


def run_of(pieces: list[str], vanish: str | None) -> str:
    """Return a run holding ``pieces``, hidden by ``vanish`` when given."""
    props = f"<w:rPr>{vanish}</w:rPr>" if vanish else ""
    return f"<w:r>{props}{''.join(pieces)}</w:r>"


def paragraph_of(mark: str, style: str, inline: list[str]) -> str:
    """Return a paragraph with its mark's properties and style, holding ``inline``."""
    style_xml = f"<w:pStyle w:val='{style}'/>" if style else ""
    mark_xml = f"<w:rPr>{mark}</w:rPr>" if mark else ""
    props = f"<w:pPr>{style_xml}{mark_xml}</w:pPr>" if style or mark else ""
    return f"<w:p>{props}{''.join(inline)}</w:p>"


def control_of(tag: str, kind: str, showing: bool, content: str) -> str:
    """Return a content control of ``kind`` holding ``content``."""
    showing_xml = "<w:showingPlcHdr/>" if showing else ""
    return (
        f"<w:sdt><w:sdtPr><w:tag w:val='{tag}'/>{showing_xml}{kind}</w:sdtPr>"
        f"<w:sdtContent>{content}</w:sdtContent></w:sdt>"
    )


KINDS = st.sampled_from(
    [
        "",
        "<w:text/>",
        "<w:dropDownList><w:listItem w:displayText='Ja' w:value='y'/></w:dropDownList>",
        "<w:date w:fullDate='2027-01-05T00:00:00Z'/>",
    ]
)


def blocks(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Return block content built from ``inner``: paragraphs, tables, controls."""
    inline = st.deferred(
        lambda: st.one_of(
            st.builds(run_of, st.lists(RUN_PIECES, max_size=3), st.none() | VANISH),
            st.builds(
                lambda run: f"<w:del>{run}</w:del>",
                st.builds(run_of, st.lists(RUN_PIECES, max_size=2), st.none()),
            ),
            st.builds(
                lambda run: f"<w:moveFrom>{run}</w:moveFrom>",
                st.builds(run_of, st.lists(RUN_PIECES, max_size=2), st.none()),
            ),
            st.builds(
                lambda box, copy: (
                    f"<w:r><mc:AlternateContent><mc:Choice><w:txbxContent>{box}"
                    f"</w:txbxContent></mc:Choice><mc:Fallback>{copy}</mc:Fallback>"
                    "</mc:AlternateContent></w:r>"
                ),
                inner,
                inner,
            ),
            st.builds(
                control_of,
                st.sampled_from(["k1", "k2"]),
                KINDS,
                st.booleans(),
                st.builds(run_of, st.lists(RUN_PIECES, max_size=2), st.none()),
            ),
        )
    )
    paragraph = st.builds(paragraph_of, MARKS, STYLES, st.lists(inline, max_size=3))
    cell = st.lists(paragraph | inner, max_size=2).map(
        lambda items: f"<w:tc>{''.join(items)}</w:tc>"
    )
    table = st.lists(cell, min_size=1, max_size=3).map(
        lambda cells: f"<w:tbl><w:tr>{''.join(cells)}</w:tr></w:tbl>"
    )
    control = st.builds(control_of, st.sampled_from(["k1", "k2", ""]), KINDS, st.booleans(), inner)
    return st.lists(st.one_of(paragraph, table, control), max_size=4).map("".join)


BLOCKS = st.recursive(st.just(""), blocks, max_leaves=12)


def generated(xml: str) -> etree._Element:
    """Return a parsed w:document whose body holds generated ``xml``."""
    return ooxml.parse_xml(
        f"<w:document {NS} {MC_NS_DECL}><w:body>{xml}</w:body></w:document>".encode()
    )


GENERATED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(xml=BLOCKS)
def test_fast_text_reading_equals_the_careful_reading(xml):
    root = generated(xml)
    fast = ooxml.TextReader(root)
    for element in root.iter():
        assert fast.runs_text(element) == ooxml.runs_text(element)
        assert fast.visible_text(element) == ooxml.visible_text(element)


@GENERATED
@given(xml=BLOCKS)
def test_answer_cells_found_at_once_equal_the_ones_asked_for_one_by_one(xml):
    root = generated(xml)
    reader = ooxml.PartReader(root)
    for sdt in root.iter(ooxml.W_SDT):
        assert reader.answer_cell(sdt) is ooxml.answer_cell(sdt)
        assert ooxml.read_field(sdt, reader=reader) == ooxml.read_field(sdt)
    for cell in root.iter(ooxml.W_TC):  # a reader for a part of the tree asks the tree
        for sdt in cell.iter(ooxml.W_SDT):
            assert ooxml.PartReader(cell).answer_cell(sdt) is ooxml.answer_cell(sdt)


@GENERATED
@given(xml=BLOCKS)
def test_one_reader_reads_the_fields_and_the_text_outside_them_as_two_would(xml):
    reader = ooxml.PartReader(generated(xml))
    anchors: dict[str, int] = {}
    hidden: set[int] = set()
    fields, lines = reader.fields(), reader.outside_text(anchors, hidden)
    assert fields == ooxml.read_fields(generated(xml))
    anchors_apart: dict[str, int] = {}
    hidden_apart: set[int] = set()
    apart = ooxml.text_outside_fields(generated(xml), anchors_apart, hidden_apart)
    assert (lines, anchors, hidden) == (apart, anchors_apart, hidden_apart)


def test_the_fast_reading_sees_what_makes_a_paragraph_not_plain():
    root = body(
        "<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t></w:r>"
        "<w:r><w:rPr><w:vanish/></w:rPr><w:t>skjult</w:t></w:r></w:p>"
        "<w:p><w:pPr><w:rPr><w:del/></w:rPr></w:pPr><w:r><w:t>c</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>d</w:t></w:r></w:p>"
    )
    reader = ooxml.TextReader(root)
    first, second, third = root.iter(ooxml.W_P)
    assert reader.runs_text(first) == ("a\tb", True)
    assert reader.mark_removed(second) and not reader.mark_removed(third)
    assert reader.visible_text(root) == ("a\tb\ncd", True)
    assert third not in reader.careful and first in reader.careful
