"""Tests for pipeline/extract.py: identity, answers by key, screening, LibreOffice files."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from pipeline.domain.questions import Question
from pipeline.errors import Rejected
from pipeline.formats import ooxml
from pipeline.formats.extract import (
    extract,
    identified,
    identify,
    screen,
    sent_form,
    shown_tokens,
)
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE
from .in_libreoffice import fill_in_libreoffice, libreoffice_major

W14_CHECKBOX = f"{{{ooxml.W14}}}checkbox"


# -- helpers ---------------------------------------------------------------------------------


def form_bytes(workspace, employee_id: str, kind: str) -> bytes:
    """Return the generated form of one employee and kind."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.output_dir / str(CYCLE) / record.path).read_bytes()


def every_answer(data: bytes, tag: str = "") -> dict[str, str | bool]:
    """Return an answer for every field of a form: distinct text per field, all types set."""
    answers: dict[str, str | bool] = {}
    for number, field in enumerate(fields_of(data)):
        if field.type == "checkbox":
            answers[field.key] = True
        elif field.type == "dropdown":
            answers[field.key] = field.options[number % len(field.options)]
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-02-{number % 27 + 1:02d}"
        else:
            answers[field.key] = (
                f"Svar {number}{tag} på {field.key}: blåbær & <ost>\n"
                f"Andre avsnitt {{{{ ikke mal }}}} =1+1\n\nEtter et tomt avsnitt"
            )
    return answers


def document_root(data: bytes) -> etree._Element:
    """Return the parsed word/document.xml of a .docx."""
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    return ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART])


def with_root(data: bytes, root: etree._Element) -> bytes:
    """Return the .docx with word/document.xml replaced by ``root``."""
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return ooxml.replace_part(data, ooxml.DOCUMENT_PART, xml)


def controls(root: etree._Element) -> list[etree._Element]:
    """Return every content control of a document, in order."""
    return list(root.iter(ooxml.W_SDT))


def control_key(sdt: etree._Element) -> str:
    """Return a control's tag."""
    return ooxml.attr_val(sdt.find(ooxml.W_SDTPR), ooxml.w("tag"))


def strip_properties(data: bytes, names: tuple[str, ...], types: tuple[str, ...] = ()) -> bytes:
    """Return the form with the sdtPr children ``names`` (tag, alias) removed from its controls.

    With ``types``, only controls of those types lose them.
    """
    root = document_root(data)
    for sdt in controls(root):
        props = sdt.find(ooxml.W_SDTPR)
        if types and ooxml.control_type(props) not in types:
            continue
        for name in names:
            for child in props.findall(ooxml.w(name)):
                props.remove(child)
    return with_root(data, root)


def run_extract(filled: bytes, sent: bytes):
    """Return the extraction of a returned file against the form that was sent."""
    return extract(document_root(filled), sent_form(sent))


def assert_no_answer_text(warnings, answers) -> None:
    """Fail when any warning quotes a piece of an answer."""
    pieces = {
        piece
        for value in answers.values()
        if isinstance(value, str)
        for piece in value.split("\n")
        if len(piece) > 3
    }
    for warning in warnings:
        for piece in pieces:
            assert piece not in warning, f"warning {warning!r} quotes answer text"


@pytest.fixture(scope="module")
def sent(generated) -> bytes:
    """Return a generated employee form (nb) of someone with a manager."""
    return form_bytes(generated, "1003", "employee")


# -- identity --------------------------------------------------------------------------------


def test_identity_comes_from_the_document_not_the_file_name(generated, sent):
    identity, _, _ = identify(sent, generated.secret())
    assert (identity.cycle, identity.kind, identity.employee_id) == (CYCLE, "employee", "1003")


def test_identity_falls_back_to_the_footer_line_when_properties_are_lost(generated, sent):
    without = ooxml.replace_part(sent, ooxml.CUSTOM_PART, ooxml.custom_properties_xml({}))
    identity, _, _ = identify(without, generated.secret())
    assert identity.employee_id == "1003"
    # the embedded line is told apart from the one read in the footer
    assert identified(without, generated.secret())[3] == ""
    embedded = ooxml.read_custom_properties(ooxml.read_package(sent).part(ooxml.CUSTOM_PART))
    assert identified(sent, generated.secret())[3] == embedded[PROPERTY] != ""


def test_identity_missing_everywhere_is_rejected(generated, sent):
    package = ooxml.read_package(sent)
    parts = {ooxml.CUSTOM_PART: ooxml.custom_properties_xml({})}
    for name in ooxml.header_footer_parts(package.names):
        parts[name] = package.parts[name].replace(b"samtale:1:", b"skjema:")
    data = sent
    for name, content in parts.items():
        data = ooxml.replace_part(data, name, content)
    with pytest.raises(Rejected) as caught:
        identify(data, generated.secret())
    assert caught.value.code == "identity_missing"


def test_identity_from_another_workspace_fails_the_hmac(sent):
    with pytest.raises(Rejected) as caught:
        identify(sent, b"another workspace's secret, 32 b")
    assert caught.value.code == "identity_forged"


def test_edited_identity_fails_the_hmac(generated, sent):
    package = ooxml.read_package(sent, wanted=(ooxml.CUSTOM_PART,))
    token = ooxml.read_custom_properties(package.parts[ooxml.CUSTOM_PART])[PROPERTY]
    edited = token.replace(":1003:", ":1004:")
    assert edited != token
    data = ooxml.replace_part(
        sent, ooxml.CUSTOM_PART, ooxml.custom_properties_xml({PROPERTY: edited})
    )
    with pytest.raises(Rejected) as caught:
        identify(data, generated.secret())
    assert caught.value.code == "identity_forged"


def test_screen_rejects_another_cycle_and_unknown_forms(generated, sent):
    forms = {("1003", "employee"): sent_form(sent)}
    with pytest.raises(Rejected) as caught:
        screen(sent, generated.secret(), CYCLE + 1, forms)
    assert caught.value.code == "other_cycle" and f"--cycle {CYCLE}" in caught.value.reason
    with pytest.raises(Rejected) as caught:
        screen(sent, generated.secret(), CYCLE, {})
    assert caught.value.code == "unknown_form"
    screened = screen(sent, generated.secret(), CYCLE, forms)
    assert screened.identity.employee_id == "1003"


# -- answers by key --------------------------------------------------------------------------


def test_every_field_is_read_by_its_tag(sent):
    answers = every_answer(sent)
    result = run_extract(fill_form(sent, answers), sent)
    assert result.answers == answers
    assert result.warnings == []


def test_types_become_bool_choice_value_and_iso_date(sent):
    fields = {f.key: f for f in fields_of(sent)}
    kinds = {f.type for f in fields.values()}
    assert {"richtext", "dropdown", "checkbox", "date"} <= kinds
    answers = every_answer(sent)
    result = run_extract(fill_form(sent, answers), sent).answers
    for key, field in fields.items():
        if field.type == "checkbox":
            assert result[key] is True
        elif field.type == "dropdown":
            assert result[key] in field.options  # the value, not the display text
        elif field.type == "date":
            assert result[key] == answers[key] and len(result[key]) == 10
    unchecked = run_extract(fill_form(sent, {"wants_followup": False}), sent).answers
    assert unchecked["wants_followup"] is False


def test_dropdown_value_comes_from_the_shown_display_text(sent):
    root = document_root(fill_form(sent, {"period_rating": "4"}))
    sdt = next(s for s in controls(root) if control_key(s) == "period_rating")
    shown = "".join(t.text for t in sdt.iter(ooxml.W_T))
    assert shown != "4" and shown.startswith("4")  # Word shows "4 – Godt"
    assert run_extract(with_root(sent, root), sent).answers["period_rating"] == "4"


def test_date_is_read_from_the_shown_text_when_the_full_date_is_missing(sent):
    root = document_root(fill_form(sent, {"preferred_date": f"{CYCLE}-03-05"}))
    sdt = next(s for s in controls(root) if control_key(s) == "preferred_date")
    date = sdt.find(ooxml.W_SDTPR).find(ooxml.w("date"))
    del date.attrib[ooxml.w("fullDate")]
    assert run_extract(with_root(sent, root), sent).answers["preferred_date"] == f"{CYCLE}-03-05"


def test_keys_are_recovered_from_titles_when_tags_are_dropped(sent):
    answers = every_answer(sent)
    filled = strip_properties(fill_form(sent, answers), ("tag",))
    assert all(control_key(s) == "" for s in controls(document_root(filled)))
    result = run_extract(filled, sent)
    assert result.answers == answers
    assert result.warnings == []


def test_keys_are_recovered_by_order_per_type_when_tags_and_titles_are_gone(sent):
    # What LibreOffice does to dropdown, checkbox and date controls: type and value kept only.
    answers = every_answer(sent)
    filled = strip_properties(
        fill_form(sent, answers), ("tag", "alias"), ("dropdown", "checkbox", "date")
    )
    filled = strip_properties(filled, ("tag",))
    result = run_extract(filled, sent)
    assert result.answers == answers
    bare = strip_properties(fill_form(sent, answers), ("tag", "alias"))
    assert run_extract(bare, sent).answers == answers


def test_a_deleted_control_does_not_shift_answers_recovered_by_order(sent):
    # LibreOffice keeps no tag or title on a dropdown: a deleted one must not move the others.
    answers = {**every_answer(sent), "period_rating": "2", "wellbeing_score": "5"}
    root = document_root(fill_form(sent, answers))
    sdt = next(s for s in controls(root) if control_key(s) == "period_rating")
    sdt.getparent().remove(sdt)
    filled = strip_properties(with_root(sent, root), ("tag", "alias"), ("dropdown",))
    filled = strip_properties(filled, ("tag",))
    result = run_extract(filled, sent)
    assert result.answers["wellbeing_score"] == answers["wellbeing_score"]
    assert result.answers["period_rating"] is None
    assert any("'period_rating'" in w and "deleted" in w for w in result.warnings)


def test_a_field_still_showing_its_placeholder_is_empty(sent):
    result = run_extract(sent, sent)
    for field in fields_of(sent):
        expected = False if field.type == "checkbox" else ""
        assert result.answers[field.key] == expected, field.key
    # LibreOffice drops the placeholder flag but keeps the placeholder text: still empty
    unflagged = strip_properties(sent, ("showingPlcHdr",))
    assert run_extract(unflagged, sent).answers == result.answers


def test_paragraphs_line_breaks_and_tabs_are_kept(sent):
    text = "Første avsnitt\n\nTredje avsnitt med\tog tab\n  innrykket  "
    filled = fill_form(sent, {"results": text})
    assert run_extract(filled, sent).answers["results"] == text
    # a line break inside a paragraph (Shift+Enter in Word) is a newline as well
    root = document_root(filled)
    sdt = next(s for s in controls(root) if control_key(s) == "results")
    run = sdt.find(f".//{ooxml.W_R}")
    etree.SubElement(run, ooxml.W_BR)
    etree.SubElement(run, ooxml.W_T).text = "etter linjeskift"
    result = run_extract(with_root(sent, root), sent).answers["results"]
    assert result == text.replace("avsnitt\n", "avsnitt\netter linjeskift\n", 1)


def test_runs_split_the_way_word_writes_them_are_joined(sent):
    # Word splits typed text over runs (spell check, revision ids) and keeps tracked deletions.
    root = document_root(fill_form(sent, {"results": "placeholder"}))
    sdt = next(s for s in controls(root) if control_key(s) == "results")
    paragraph = sdt.find(ooxml.W_SDTCONTENT).find(ooxml.W_P)
    for run in paragraph.findall(ooxml.W_R):
        paragraph.remove(run)
    markup = (
        f'<w:x xmlns:w="{ooxml.W}">'
        '<w:r w:rsidR="00AB"><w:t xml:space="preserve">Lever </w:t></w:r>'
        '<w:proofErr w:type="spellStart"/><w:r><w:t>tidsfrister</w:t></w:r>'
        '<w:proofErr w:type="spellEnd"/><w:bookmarkStart w:id="0" w:name="_GoBack"/>'
        '<w:del w:id="1" w:author="A"><w:r><w:delText>aldri </w:delText></w:r></w:del>'
        '<w:ins w:id="2" w:author="A"><w:r><w:t xml:space="preserve"> alltid</w:t></w:r></w:ins>'
        '<w:bookmarkEnd w:id="0"/><w:r><w:lastRenderedPageBreak/><w:t>.</w:t></w:r></w:x>'
    )
    for child in etree.fromstring(markup):
        paragraph.append(child)
    result = run_extract(with_root(sent, root), sent).answers
    assert result["results"] == "Lever tidsfrister alltid."


# -- screening warnings ----------------------------------------------------------------------


def test_empty_fields_are_named_in_one_warning(sent):
    answers = every_answer(sent)
    answers.pop("strengths")
    answers.pop("goal_1")
    result = run_extract(fill_form(sent, answers), sent)
    (warning,) = result.warnings
    assert "2 field(s) left empty" in warning
    assert "strengths" in warning and "goal_1" in warning
    assert_no_answer_text(result.warnings, answers)


def test_a_deleted_field_is_reported_and_its_answer_is_none(sent):
    answers = every_answer(sent)
    root = document_root(fill_form(sent, answers))
    sdt = next(s for s in controls(root) if control_key(s) == "motivation")
    cell = sdt.getparent()
    cell.replace(sdt, etree.Element(ooxml.W_P))
    result = run_extract(with_root(sent, root), sent)
    assert result.answers["motivation"] is None
    assert {k: v for k, v in result.answers.items() if k != "motivation"} == {
        k: v for k, v in answers.items() if k != "motivation"
    }
    assert any("'motivation'" in w and "deleted" in w for w in result.warnings)
    assert_no_answer_text(result.warnings, answers)


def body_paragraphs(root: etree._Element) -> list[etree._Element]:
    """Return the body's top-level paragraphs."""
    return root.find(ooxml.w("body")).findall(ooxml.W_P)


def new_paragraph(text: str) -> etree._Element:
    """Return a plain paragraph holding ``text``."""
    paragraph = etree.Element(ooxml.W_P)
    ooxml.append_run(paragraph, text, None)
    return paragraph


def test_text_typed_outside_the_fields_is_flagged_by_position_only(sent):
    secret = "Hemmelig merknad skrevet utenfor feltene"
    answers = every_answer(sent)
    root = document_root(fill_form(sent, answers))
    body_paragraphs(root)[3].addnext(new_paragraph(secret))
    result = run_extract(with_root(sent, root), sent)
    assert result.answers == answers
    (warning,) = result.warnings
    assert "text typed outside the fields at paragraph" in warning
    assert "Hemmelig" not in warning
    assert_no_answer_text(result.warnings, {**answers, "outside": secret})


def test_edited_fixed_text_is_flagged(sent):
    answers = every_answer(sent)
    root = document_root(fill_form(sent, answers))
    heading = next(
        p
        for p in root.iter(ooxml.W_P)
        if ooxml.HEADING_STYLE.match(ooxml.paragraph_style(p))
        and ooxml.paragraph_text(p).startswith("3.")
    )
    runs = list(heading.iter(ooxml.W_T))
    runs[0].text = "3. Mål – omskrevet av medarbeideren"
    for extra in runs[1:]:
        extra.text = ""
    result = run_extract(with_root(sent, root), sent)
    assert result.answers == answers
    assert any("fixed text edited at paragraph" in w for w in result.warnings)
    assert not any("omskrevet" in w for w in result.warnings)


def test_deleted_fixed_text_is_flagged(sent):
    answers = every_answer(sent)
    root = document_root(fill_form(sent, answers))
    instruction = next(p for p in root.iter(ooxml.W_P) if "Ikke endre" in ooxml.paragraph_text(p))
    instruction.getparent().remove(instruction)
    result = run_extract(with_root(sent, root), sent)
    assert any("fixed text deleted at paragraph" in w for w in result.warnings)


def test_all_screening_at_once_never_quotes_answers(sent):
    answers = every_answer(sent)
    answers.pop("workload")
    root = document_root(fill_form(sent, answers))
    sdt = next(s for s in controls(root) if control_key(s) == "collaboration")
    sdt.getparent().replace(sdt, etree.Element(ooxml.W_P))
    body_paragraphs(root)[-1].addnext(new_paragraph("Svar 0 på results: blåbær"))
    result = run_extract(with_root(sent, root), sent)
    assert len(result.warnings) == 3
    assert_no_answer_text(result.warnings, answers)


# -- LibreOffice Writer ----------------------------------------------------------------------


def soffice_resave(sources: list[Path], out: Path, profile: Path) -> None:
    """Open and save every file again with LibreOffice Writer as Word 2007 .docx (one call)."""
    program = shutil.which("soffice") or shutil.which("libreoffice")
    if program is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    subprocess.run(
        [
            program,
            "--headless",
            f"-env:UserInstallation=file://{profile}",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(out),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(profile.parent)},
    )


@pytest.fixture(scope="module")
def libreoffice_saved(generated, tmp_path_factory):
    """Return (sent form, answers, LibreOffice-saved bytes) for forms of every kind and language."""
    base = tmp_path_factory.mktemp("libreoffice")
    (base / "in").mkdir()
    cases = {}
    picks = [("1003", "employee"), ("1003", "manager"), ("1044", "employee"), ("1013", "manager")]
    for number, (employee_id, kind) in enumerate(picks):
        sent = form_bytes(generated, employee_id, kind)
        answers = every_answer(sent, tag=f"-{number}")
        if number % 2:
            answers = {k: (False if v is True else v) for k, v in answers.items()}
        name = f"filled-{employee_id}-{kind}"
        (base / "in" / f"{name}.docx").write_bytes(fill_form(sent, answers))
        cases[name] = (sent, answers)
    blank = form_bytes(generated, "1004", "employee")
    (base / "in" / "blank.docx").write_bytes(blank)
    cases["blank"] = (blank, None)
    soffice_resave(sorted((base / "in").glob("*.docx")), base / "out", base / "profile")
    return {
        name: (*case, (base / "out" / f"{name}.docx").read_bytes()) for name, case in cases.items()
    }


@pytest.mark.libreoffice
def test_forms_saved_by_libreoffice_are_attributed_and_extracted(generated, libreoffice_saved):
    secret = generated.secret()
    for name, (sent, answers, saved) in libreoffice_saved.items():
        if answers is None:
            continue
        identity, _, root = identify(saved, secret)
        assert f"filled-{identity.employee_id}-{identity.kind}" == name
        result = extract(root, sent_form(sent))
        assert result.answers == answers, name
        assert result.warnings == [], name


@pytest.mark.libreoffice
def test_what_the_installed_libreoffice_keeps_of_our_controls(libreoffice_saved):
    # LibreOffice 7.4 drops every tag (we recover the keys; its own stored save is tested in
    # test_forms_saved_by_libreoffice_7_4_lose_their_tags_and_are_read_back); 25 keeps them.
    sent, answers, saved = libreoffice_saved["filled-1003-employee"]
    root = document_root(saved)
    tags = {control_key(s) for s in controls(root)}
    assert tags == (set(answers) if libreoffice_major() >= 25 else {""})
    assert any(ooxml.control_type(s.find(ooxml.W_SDTPR)) == "checkbox" for s in controls(root))


@pytest.mark.libreoffice
def test_a_blank_form_saved_by_libreoffice_is_all_empty(generated, libreoffice_saved):
    sent, _, saved = libreoffice_saved["blank"]
    _, _, root = identify(saved, generated.secret())
    result = extract(root, sent_form(sent))
    assert set(result.answers.values()) <= {"", False}
    assert len(result.warnings) == 1 and "left empty" in result.warnings[0]


def test_a_checkbox_that_lost_its_type_is_read_from_its_glyph():
    from pipeline.formats.extract import clean_value
    from pipeline.formats.ooxml import Field

    spec = Question("ok", "OK", "checkbox")
    ticked = Field("ok", "OK", "richtext", "\u2612", False)
    unticked = Field("ok", "OK", "richtext", "\u2610", False)
    assert clean_value(spec, ticked) is True
    assert clean_value(spec, unticked) is False


def test_order_recovery_never_pairs_unequal_counts_across_the_form():
    from pipeline.formats.extract import match_fields
    from pipeline.formats.ooxml import Field

    specs = tuple(Question(f"d{n}", f"Dato {n}", "date", section=f"S{n}") for n in range(1, 4))
    found = [
        Field("", "", "date", "2027-01-02", False, section=""),
        Field("", "", "date", "2027-01-03", False, section=""),
    ]
    assert match_fields(specs, found) == {}


# -- issue 9: the content decides, faithful reading, identity against content ---------------

LIBREOFFICE_DATA = Path(__file__).parent / "data" / "libreoffice"
PLACEHOLDER_STYLE = "PlaceholderText"
MOVE = "w:author='Kari Nordmann' w:date='2027-01-20T09:30:00Z'"


def prompted_text_fields(sent: bytes) -> list[dict]:
    """Return the sent form's rich text fields whose prompt no other field shares, in order."""
    specs = [s for s in sent_form(sent).fields if s.type == "richtext" and s.placeholder]
    prompts = [s.placeholder for s in specs]
    return [s for s in specs if prompts.count(s.placeholder) == 1]


def field_markup(data: bytes, markups: dict[str, str]) -> bytes:
    """Return the form with the paragraphs of some controls replaced by WordprocessingML markup.

    ``markups`` maps a key to paragraphs (``<w:p>…</w:p>``, prefix ``w:``); each keeps the
    paragraph properties the control had.
    """
    root = document_root(data)
    for sdt in controls(root):
        if control_key(sdt) not in markups:
            continue
        content = sdt.find(ooxml.W_SDTCONTENT)
        properties = content.find(f"{ooxml.W_P}/{ooxml.w('pPr')}")
        for child in list(content):
            content.remove(child)
        markup = f'<x xmlns:w="{ooxml.W}">{markups[control_key(sdt)]}</x>'
        for paragraph in etree.fromstring(markup):
            if properties is not None:
                paragraph.insert(0, ooxml.copy_element(properties))
            content.append(paragraph)
    return with_root(data, root)


def with_comment(data: bytes, comment: str) -> bytes:
    """Return the .docx with word/comments.xml holding comment 0, related as Word does."""
    parts = ooxml.read_package(data).parts
    rels = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdComments1" Target="comments.xml" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/comments"/></Relationships>',
    )
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/word/comments.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.wordprocessingml.comments+xml"/></Types>',
    )
    comments = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:comments xmlns:w="{ooxml.W}">'
        f"<w:comment w:id='0' {MOVE} w:initials='KN'><w:p><w:pPr><w:pStyle w:val='CommentText'/>"
        "</w:pPr><w:r><w:rPr><w:rStyle w:val='CommentReference'/></w:rPr><w:annotationRef/></w:r>"
        f"<w:r><w:t>{comment}</w:t></w:r></w:p></w:comment></w:comments>"
    ).encode()
    changed = {
        "word/_rels/document.xml.rels": rels,
        "[Content_Types].xml": types,
        "word/comments.xml": comments,
    }
    return ooxml.with_parts(data, changed)


def test_word_moves_deletions_hidden_text_and_comments_are_not_answers(sent):
    first, second, third, fourth, fifth = (s.key for s in prompted_text_fields(sent)[:5])
    markups = {
        # a sentence moved from the first answer to the second (tracked)
        first: "<w:p><w:r><w:t xml:space='preserve'>Leverte migreringen.</w:t></w:r>"
        f"<w:moveFromRangeStart w:id='10' {MOVE} w:name='move1'/><w:moveFrom w:id='11' {MOVE}>"
        "<w:r><w:t xml:space='preserve'> Tok ansvar for opplæring.</w:t></w:r></w:moveFrom>"
        "<w:moveFromRangeEnd w:id='10'/></w:p>",
        second: f"<w:p><w:moveToRangeStart w:id='12' {MOVE} w:name='move1'/>"
        f"<w:moveTo w:id='13' {MOVE}><w:r><w:t>Tok ansvar for opplæring.</w:t></w:r></w:moveTo>"
        "<w:moveToRangeEnd w:id='12'/></w:p>",
        third: "<w:p><w:r><w:t xml:space='preserve'>Vil presentere mer</w:t></w:r>"
        f"<w:del w:id='14' {MOVE}><w:r><w:delText xml:space='preserve'> for styret</w:delText>"
        "</w:r></w:del><w:r><w:t>.</w:t></w:r></w:p>",
        fourth: "<w:p><w:r><w:t>Kurs i prosjektledelse.</w:t></w:r><w:r><w:rPr><w:vanish/>"
        "</w:rPr><w:t xml:space='preserve'> Privat notat om lønn.</w:t></w:r></w:p>",
        fifth: "<w:p><w:commentRangeStart w:id='0'/><w:r><w:t>Trives godt i teamet.</w:t></w:r>"
        "<w:commentRangeEnd w:id='0'/><w:r><w:rPr><w:rStyle w:val='CommentReference'/></w:rPr>"
        "<w:commentReference w:id='0'/></w:r></w:p>",
    }
    filled = fill_form(sent, {key: "x" for key in markups})
    returned = with_comment(field_markup(filled, markups), "Kommentar som ikke er svar")
    result = run_extract(returned, sent)
    assert {key: result.answers[key] for key in markups} == {
        first: "Leverte migreringen.",
        second: "Tok ansvar for opplæring.",
        third: "Vil presentere mer.",
        fourth: "Kurs i prosjektledelse.",
        fifth: "Trives godt i teamet.",
    }
    hidden = [w for w in result.warnings if "hidden text" in w]
    assert len(hidden) == 1 and repr(fourth) in hidden[0]
    assert not any("Privat" in w or "Kommentar" in w for w in result.warnings)


# LibreOffice 25.2 (Debian bookworm-backports), as issue 9 observed it and as its Word export
# writes a content control (DocxAttributeOutput::WriteContentControlStart in LibreOffice core):
# every control is run-level, inside its cell's paragraph; w:sdtPr holds w:alias, w:tag, w:id,
# w:lock, w:showingPlcHdr, … and w:text last; text PASTED into a field keeps w:showingPlcHdr and
# the grey PlaceholderText character style; one footer is saved as three (default, first page,
# even pages), the identity line in the first two.
LO25_CHILDREN = ("alias", "tag", "id", "lock")


def lo25_control(old: etree._Element, text: str, showing: bool) -> etree._Element:
    """Return the paragraph holding a run-level control as LibreOffice 25 writes it."""
    old_props = old.find(ooxml.W_SDTPR)
    paragraph = etree.Element(ooxml.W_P)
    properties = old.find(f"{ooxml.W_SDTCONTENT}/{ooxml.W_P}/{ooxml.w('pPr')}")
    if properties is not None:
        paragraph.append(ooxml.copy_element(properties))
    sdt = etree.SubElement(paragraph, ooxml.W_SDT)
    props = etree.SubElement(sdt, ooxml.W_SDTPR)
    for name in LO25_CHILDREN:
        child = old_props.find(ooxml.w(name))
        if child is not None:
            props.append(ooxml.copy_element(child))
    if showing:
        etree.SubElement(props, ooxml.W_SHOWING)
    etree.SubElement(props, ooxml.w("text"))
    content = etree.SubElement(sdt, ooxml.W_SDTCONTENT)
    run = etree.SubElement(content, ooxml.W_R)
    if showing:
        run_props = etree.SubElement(run, ooxml.w("rPr"))
        etree.SubElement(run_props, ooxml.w("rStyle")).set(ooxml.W_VAL, PLACEHOLDER_STYLE)
    etree.SubElement(run, ooxml.W_T).text = text
    return paragraph


def lo25_footers(parts: dict[str, bytes]) -> dict[str, bytes]:
    """Return the changed parts for the three footers LibreOffice 25 saves instead of one."""
    footer = parts["word/footer1.xml"]
    empty = re.sub(
        rb"<w:p>.*</w:p>", b"<w:p><w:pPr><w:pStyle w:val='Footer'/></w:pPr></w:p>", footer
    )
    rels = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>",
        b"".join(
            b'<Relationship Id="rIdLoFooter%d" Target="footer%d.xml" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/footer"/>' % (n, n)
            for n in (2, 3)
        )
        + b"</Relationships>",
    )
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b"".join(
            b'<Override PartName="/word/footer%d.xml" ContentType="application/vnd.'
            b'openxmlformats-officedocument.wordprocessingml.footer+xml"/>' % n
            for n in (2, 3)
        )
        + b"</Types>",
    )
    return {
        "word/footer2.xml": footer,  # first page: the identity line again
        "word/footer3.xml": empty,  # even pages
        "word/_rels/document.xml.rels": rels,
        "[Content_Types].xml": types,
    }


def as_libreoffice_25(sent: bytes, pasted: dict[str, str], typed: dict[str, str]) -> bytes:
    """Return the form as LibreOffice 25 saves it with answers pasted into or typed in fields."""
    root = document_root(sent)
    for sdt in controls(root):
        key = control_key(sdt)
        props = sdt.find(ooxml.W_SDTPR)
        cell = ooxml.answer_cell(sdt)
        if ooxml.control_type(props) != "richtext" or cell is None:
            continue
        prompt = ooxml.content_text(sdt)
        text, showing = (pasted[key], True) if key in pasted else (typed.get(key, prompt), False)
        cell.replace(sdt, lo25_control(sdt, text, showing or key not in typed))
    section = root.find(f"{ooxml.w('body')}/{ooxml.w('sectPr')}")
    reference = section.find(ooxml.w("footerReference"))
    relation = f"{{{ooxml.REL_NAMESPACES[0]}}}id"
    for number, kind in ((2, "first"), (3, "even")):
        added = ooxml.copy_element(reference)
        added.set(ooxml.W_TYPE, kind)
        added.set(relation, f"rIdLoFooter{number}")
        reference.addnext(added)
    etree.SubElement(section, ooxml.w("titlePg"))
    parts = ooxml.read_package(sent).parts
    return ooxml.with_parts(with_root(sent, root), lo25_footers(parts))


def test_answers_pasted_in_libreoffice_25_are_answers_whatever_the_flag(generated, sent):
    specs = [s for s in sent_form(sent).fields if s.type == "richtext"]
    pasted = {s.key: f"Limt inn svar {n}: blåbær & <ost>" for n, s in enumerate(specs[::2])}
    typed = {s.key: f"Skrevet svar {n}" for n, s in enumerate(specs[1::4])}
    saved = as_libreoffice_25(sent, pasted, typed)
    root = document_root(saved)
    flagged = [s for s in controls(root) if s.find(ooxml.W_SDTPR).find(ooxml.W_SHOWING) is not None]
    assert {control_key(s) for s in flagged} >= set(pasted)  # the flag really is still set
    assert PLACEHOLDER_STYLE in etree.tostring(flagged[0], encoding=str)
    result = run_extract(saved, sent)
    for spec in specs:
        expected = pasted.get(spec.key, typed.get(spec.key, ""))
        assert result.answers[spec.key] == expected, spec.key
    (empty,) = [w for w in result.warnings if "left empty" in w]
    assert not any(f"{key}," in f"{empty}," for key in {**pasted, **typed})
    assert not any("outside the fields" in w or "fixed text" in w for w in result.warnings)
    screened = screen(saved, generated.secret(), CYCLE, {("1003", "employee"): sent_form(sent)})
    assert screened.answers == result.answers


def test_libreoffice_25_three_footers_still_identify_the_form(generated, sent):
    saved = as_libreoffice_25(sent, {}, {})
    names = ooxml.read_package(saved).names
    assert {"word/footer1.xml", "word/footer2.xml", "word/footer3.xml"} <= set(names)
    without = ooxml.replace_part(saved, ooxml.CUSTOM_PART, ooxml.custom_properties_xml({}))
    identity, _, _ = identify(without, generated.secret())
    assert (identity.employee_id, identity.kind) == ("1003", "employee")
    screened = screen(without, generated.secret(), CYCLE, {("1003", "employee"): sent_form(sent)})
    assert set(screened.answers.values()) <= {"", False}  # untouched prompts are no answers


def test_a_choice_with_the_placeholder_flag_still_set_is_read(sent):
    spec = next(s for s in sent_form(sent).fields if s.type == "dropdown")
    root = document_root(fill_form(sent, {spec.key: spec.options[1]}))
    sdt = next(s for s in controls(root) if control_key(s) == spec.key)
    etree.SubElement(sdt.find(ooxml.W_SDTPR), ooxml.W_SHOWING)
    assert run_extract(with_root(sent, root), sent).answers[spec.key] == spec.options[1]


def test_typing_next_to_or_inside_a_prompt_keeps_only_what_was_typed(sent):
    first, second, third = prompted_text_fields(sent)[:3]
    root = document_root(sent)
    for sdt in controls(root):
        key = control_key(sdt)
        cell = ooxml.answer_cell(sdt)
        if key == first.key:  # a new paragraph below the untouched control (Word or LO)
            cell.append(new_paragraph("Skrevet under ledeteksten"))
        elif key == second.key:  # typed in front of the prompt, inside the control
            run = sdt.find(f".//{ooxml.W_T}")
            run.text = "Foran " + run.text
        elif key == third.key:  # typed into the middle of the prompt
            run = sdt.find(f".//{ooxml.W_T}")
            run.text = run.text[:6] + "[midt i]" + run.text[6:]
    answers = run_extract(with_root(sent, root), sent).answers
    assert answers[first.key] == "Skrevet under ledeteksten"
    assert answers[second.key] == "Foran"
    assert answers[third.key] == "[midt i]"


# -- LibreOffice 7.4: a person typing (tests/libreoffice_user.py drives real LibreOffice) ----

TYPING = (  # (what the person does, what they type, the answer expected back)
    ("type_after", " Leverte migreringen i tide.", "Leverte migreringen i tide."),
    ("new_paragraph", "Strukturert og løsningsorientert.", "Strukturert og løsningsorientert."),
    (
        "type_over",
        "Første avsnitt\nAndre avsnitt\vmed linjeskift\n\nEtter et tomt avsnitt",
        "Første avsnitt\nAndre avsnitt\nmed linjeskift\n\nEtter et tomt avsnitt",
    ),
    ("type_inside", " (midt i)", "(midt i)"),
    ("type_over", "Lede et prosjekt for styret innen juni.", "Lede et prosjekt innen juni."),
    ("type_over", "Kurs i ledelse.", "Kurs i ledelse."),
)
AFTERWARDS = (  # done next, in the fifth and sixth answer
    (4, {"do": "tracked_delete", "text": " for styret"}),
    (5, {"do": "hidden_after", "text": " Privat notat om lønn."}),
)


def typing_job(sent: bytes) -> tuple[list[dict], dict[str, str], dict[str, int]]:
    """Return the actions of the typing person, the answers expected, and which case is where."""
    specs = prompted_text_fields(sent)[: len(TYPING)]
    actions, expected, case = [], {}, {}
    for number, (spec, (do, text, answer)) in enumerate(zip(specs, TYPING, strict=True)):
        actions.append({"cell": spec.placeholder, "do": do, "text": text, "at": 5})
        expected[spec.key] = answer
        case[spec.key] = number
    for number, action in AFTERWARDS:
        actions.append({**action, "cell": TYPING[number][1].split("\n")[0]})
    return actions, expected, case


def lost_controls(result, keys) -> set[str]:
    """Return the keys among ``keys`` whose field the extraction says lost its control."""
    return {
        key for key in keys if f"field {key!r} lost its content control" in str(result.warnings)
    }


def assert_typing_read_back(
    result, expected: dict[str, str], case: dict[str, int], *, controls_kept: bool
) -> None:
    """Fail unless the answers typed in LibreOffice came back exactly, with the right notes.

    ``controls_kept``: LibreOffice 25 keeps every control; 7.4 drops a control typed over.
    """
    assert {key: result.answers[key] for key in expected} == expected
    by_case = {number: key for key, number in case.items()}
    typed_over = set() if controls_kept else {by_case[2], by_case[4], by_case[5]}
    assert lost_controls(result, expected) == typed_over
    (hidden,) = [w for w in result.warnings if "hidden text" in w]
    assert repr(by_case[5]) in hidden
    assert not any("outside the fields" in w or "deleted" in w for w in result.warnings)
    assert_no_answer_text(result.warnings, {**expected, "hidden": " Privat notat om lønn."})


@pytest.mark.libreoffice
def test_what_a_person_types_in_libreoffice_comes_back_exactly(generated, sent, tmp_path):
    actions, expected, case = typing_job(sent)
    typed = fill_in_libreoffice(sent, actions, tmp_path / "typing")
    _, _, root = identify(typed, generated.secret())
    kept = libreoffice_major() >= 25
    assert_typing_read_back(extract(root, sent_form(sent)), expected, case, controls_kept=kept)
    if kept:
        assert_saved_as_libreoffice_25(typed, sent, flagged=set())


def stored_job(name: str) -> list[dict]:
    """Return the actions of a job stored with the LibreOffice fixtures."""
    path = LIBREOFFICE_DATA / f"{name}.job.json"
    return json.loads(path.read_text(encoding="utf-8"))["actions"]


def test_forms_typed_in_libreoffice_7_4_are_read_back_exactly():
    # Saved by LibreOffice 7.4.7 from the same typing (how: tests/data/libreoffice/README.md).
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    typed = (LIBREOFFICE_DATA / "typed-lo74-employee.nb.docx").read_bytes()
    actions, expected, case = typing_job(sent)
    assert stored_job("typed-lo74") == actions  # the fixture was made by this very typing
    result = run_extract(typed, sent)
    assert_typing_read_back(result, expected, case, controls_kept=False)


def test_forms_typed_in_libreoffice_25_are_read_back_exactly():
    # Saved by LibreOffice 25.2.3 from the same typing (how: tests/data/libreoffice/README.md).
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    typed = (LIBREOFFICE_DATA / "typed-lo25-employee.nb.docx").read_bytes()
    actions, expected, case = typing_job(sent)
    assert stored_job("typed-lo25") == actions
    assert_typing_read_back(run_extract(typed, sent), expected, case, controls_kept=True)
    assert_saved_as_libreoffice_25(typed, sent, flagged=set())


# -- a person pasting (Ctrl+V of plain text copied from a mail or a note) --------------------

PASTING = (  # (what the person does, what they paste, the answer expected back)
    ("paste_over", "Limt inn fra e-posten: leverte migreringen i tide.", None),
    ("paste_over", "Første limte avsnitt\nAndre limte avsnitt – æøå «sitat» & <ost>", None),
    ("paste_after", " Limt inn etter ledeteksten.", "Limt inn etter ledeteksten."),
    ("paste_over", "Kurs i ledelse (limt inn).", None),
)


def pasting_job(sent: bytes) -> tuple[list[dict], dict[str, str]]:
    """Return the actions of the pasting person and the answers expected."""
    specs = prompted_text_fields(sent)[: len(PASTING)]
    actions, expected = [], {}
    for spec, (do, text, answer) in zip(specs, PASTING, strict=True):
        actions.append({"cell": spec.placeholder, "do": do, "text": text})
        expected[spec.key] = text if answer is None else answer
    return actions, expected


def pasted_over(actions: list[dict], sent: bytes) -> set[str]:
    """Return the keys of the fields whose prompt was pasted over."""
    by_prompt = {spec.placeholder: spec.key for spec in prompted_text_fields(sent)}
    return {by_prompt[action["cell"]] for action in actions if action["do"] == "paste_over"}


def assert_pasting_read_back(result, expected: dict[str, str], *, lost: set[str]) -> None:
    """Fail unless every pasted answer came back exactly, and no warning quotes one.

    ``lost``: the fields whose control LibreOffice dropped (7.4: those pasted over; 25: none).
    """
    assert {key: result.answers[key] for key in expected} == expected
    (empty,) = [w for w in result.warnings if "left empty" in w]
    assert not set(empty.split(": ", 1)[1].split(", ")) & set(expected)
    assert lost_controls(result, expected) == lost
    assert not any("outside the fields" in w or "hidden" in w for w in result.warnings)
    assert_no_answer_text(result.warnings, expected)


def assert_saved_as_libreoffice_25(saved: bytes, sent: bytes, *, flagged: set[str]) -> None:
    """Fail unless ``saved`` looks as LibreOffice 25 saves our forms (issue 9, .notes/FORMS.md).

    Every control is kept, run-level, with its tag and ``w:text``; the fields in ``flagged``
    (pasted over) still say they show their placeholder and keep its grey style; one footer
    became three, the identity line in two of them.
    """
    root = document_root(saved)
    found = {control_key(s): s for s in controls(root)}
    assert set(found) == {spec.key for spec in sent_form(sent).fields}
    text_fields = [s for s in found.values() if ooxml.control_type(s.find(ooxml.W_SDTPR)) != "date"]
    assert all(s.getparent().tag == ooxml.W_P for s in found.values())  # run-level
    assert sum(s.find(ooxml.W_SDTPR).find(ooxml.w("text")) is not None for s in text_fields) > 10
    for key in flagged:
        assert found[key].find(ooxml.W_SDTPR).find(ooxml.W_SHOWING) is not None, key
        assert PLACEHOLDER_STYLE in etree.tostring(found[key], encoding=str), key
    package = ooxml.read_package(saved, headers_footers=True)
    footers = [name for name in package.names if re.fullmatch(r"word/footer\d+\.xml", name)]
    assert len(footers) == 3
    token = ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))[PROPERTY]
    assert shown_tokens(package) == [token, token]


@pytest.mark.libreoffice
def test_what_a_person_pastes_in_libreoffice_comes_back_exactly(generated, sent, tmp_path):
    actions, expected = pasting_job(sent)
    pasted = fill_in_libreoffice(sent, actions, tmp_path / "pasting")
    _, _, root = identify(pasted, generated.secret())
    kept = libreoffice_major() >= 25
    lost = set() if kept else pasted_over(actions, sent)
    assert_pasting_read_back(extract(root, sent_form(sent)), expected, lost=lost)
    if kept:
        assert_saved_as_libreoffice_25(pasted, sent, flagged=pasted_over(actions, sent))


def test_forms_pasted_in_libreoffice_7_4_are_read_back_exactly():
    # Saved by LibreOffice 7.4.7 (how: tests/data/libreoffice/README.md): the control is dropped.
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    pasted = (LIBREOFFICE_DATA / "pasted-lo74-employee.nb.docx").read_bytes()
    actions, expected = pasting_job(sent)
    assert stored_job("pasted-lo74") == actions
    result = run_extract(pasted, sent)
    assert_pasting_read_back(result, expected, lost=pasted_over(actions, sent))


def test_forms_pasted_in_libreoffice_25_are_read_back_exactly():
    # Saved by LibreOffice 25.2.3 (how: tests/data/libreoffice/README.md): the control is kept
    # with w:showingPlcHdr still set, which lost 26 of 26 pasted answers before issue 9.
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    pasted = (LIBREOFFICE_DATA / "pasted-lo25-employee.nb.docx").read_bytes()
    actions, expected = pasting_job(sent)
    assert stored_job("pasted-lo25") == actions
    assert_saved_as_libreoffice_25(pasted, sent, flagged=pasted_over(actions, sent))
    assert_pasting_read_back(run_extract(pasted, sent), expected, lost=set())


def test_forms_saved_by_libreoffice_7_4_lose_their_tags_and_are_read_back():
    # Filled as Word stores it, then opened and saved by LibreOffice 7.4.7 (soffice --convert-to).
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    saved = (LIBREOFFICE_DATA / "filled-lo74-employee.nb.docx").read_bytes()
    root = document_root(saved)
    assert controls(root)
    assert not any(control_key(s) for s in controls(root))  # 7.4 drops every tag …
    assert any(ooxml.control_type(s.find(ooxml.W_SDTPR)) == "checkbox" for s in controls(root))
    result = extract(root, sent_form(sent))
    assert result.answers == every_answer(sent)  # … and the answers are found all the same
    assert result.warnings == []


def test_a_blank_form_saved_by_libreoffice_7_4_is_all_empty():
    sent = (LIBREOFFICE_DATA / "sent-employee.nb.docx").read_bytes()
    saved = (LIBREOFFICE_DATA / "blank-lo74-employee.nb.docx").read_bytes()
    result = run_extract(saved, sent)
    assert set(result.answers.values()) <= {"", False}
    assert len(result.warnings) == 1 and "left empty" in result.warnings[0]


# -- identity against content ----------------------------------------------------------------


def people_of(workspace) -> dict[str, str]:
    """Return employee id → name from the workspace's roster."""
    from pipeline.formats.roster import read_roster

    return {e.id: e.name for e in read_roster(workspace.roster_path).employees}


def with_identity(data: bytes, token: str, *, footer: bool = True) -> bytes:
    """Return the form with ``token`` as its embedded identity (and printed in its footer)."""
    package = ooxml.read_package(data)
    old = ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))[PROPERTY]
    changed = {ooxml.CUSTOM_PART: ooxml.custom_properties_xml({PROPERTY: token})}
    if footer:
        for name in ooxml.header_footer_parts(package.names):
            changed[name] = package.parts[name].replace(old.encode(), token.encode())
    return ooxml.with_parts(data, changed)


def token_of(data: bytes) -> str:
    """Return the embedded identity of a form."""
    package = ooxml.read_package(data, wanted=(ooxml.CUSTOM_PART,))
    return ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))[PROPERTY]


@pytest.fixture(scope="module")
def two_forms(generated):
    """Return the sent forms by (employee id, kind) of two employees, and the roster's names."""
    forms = {(e, "employee"): form_bytes(generated, e, "employee") for e in ("1003", "1044")}
    return forms, people_of(generated)


def test_another_employees_identity_pasted_into_a_filled_form_is_quarantined(generated, two_forms):
    forms, people = two_forms
    mine, theirs = forms[("1003", "employee")], forms[("1044", "employee")]
    filled = fill_form(mine, every_answer(mine))
    sent = {key: sent_form(data) for key, data in forms.items()}
    secret = generated.secret()
    for pasted in (
        with_identity(filled, token_of(theirs)),  # property and footer line both replaced
        with_identity(filled, token_of(theirs), footer=False),  # the footer still shows 1003
    ):
        with pytest.raises(Rejected) as caught:
            screen(pasted, secret, CYCLE, sent, people=people)
        reason = caught.value.reason
        assert caught.value.code == "identity_mismatch"
        assert "employee 1003" in reason and people["1003"] in reason
        assert "employee 1044" in reason and people["1044"] in reason
        assert reason.index("1003") < reason.index("1044")  # shows 1003, carries 1044
    genuine = screen(filled, secret, CYCLE, sent, people=people)
    assert genuine.identity.employee_id == "1003"


def test_the_footer_line_alone_tells_the_mismatch_without_a_roster(generated, two_forms):
    forms, _ = two_forms
    mine, theirs = forms[("1003", "employee")], forms[("1044", "employee")]
    pasted = with_identity(mine, token_of(theirs), footer=False)
    sent = {key: sent_form(data) for key, data in forms.items()}
    with pytest.raises(Rejected) as caught:
        screen(pasted, generated.secret(), CYCLE, sent)
    assert caught.value.code == "identity_mismatch"
    assert "employee 1003, employee form" in caught.value.reason


def test_changed_fixed_text_other_than_the_employees_details_is_no_mismatch(generated, two_forms):
    # e.g. the manager's name printed on the form (another employee of the roster) was edited
    forms, people = two_forms
    mine = forms[("1003", "employee")]
    sent = sent_form(mine)
    details = {"1003", people["1003"]}
    other_lines = [line for line in sent.outside_text if line in people.values()]
    edited_line = next(line for line in other_lines if line not in details)
    root = document_root(mine)
    for node in root.iter(ooxml.W_T):
        if node.text == edited_line:
            node.text = people["1044"]
    edited = with_root(mine, root)
    screened = screen(
        edited, generated.secret(), CYCLE, {("1003", "employee"): sent}, people=people
    )
    assert screened.identity.employee_id == "1003"
    assert any("fixed text edited" in w for w in screened.warnings)
