"""Tests for pipeline/extract.py: identity, answers by key, screening, LibreOffice files."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from pipeline.domain.simulate import fields_of, fill_form
from pipeline.errors import Rejected
from pipeline.formats import ooxml
from pipeline.formats.extract import extract, identify, screen, sent_form
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger

from .conftest import CYCLE

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
    answers.pop("goals_next")
    result = run_extract(fill_form(sent, answers), sent)
    (warning,) = result.warnings
    assert "2 field(s) left empty" in warning
    assert "strengths" in warning and "goals_next" in warning
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
def test_libreoffice_really_dropped_the_tags_we_recover(libreoffice_saved):
    _, _, saved = libreoffice_saved["filled-1003-employee"]
    root = document_root(saved)
    assert controls(root)
    assert not any(control_key(s) for s in controls(root))
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

    spec = {"key": "ok", "title": "OK", "type": "checkbox", "placeholder": "", "options": []}
    ticked = Field("ok", "OK", "richtext", "\u2612", False)
    unticked = Field("ok", "OK", "richtext", "\u2610", False)
    assert clean_value(spec, ticked) is True
    assert clean_value(spec, unticked) is False


def test_order_recovery_never_pairs_unequal_counts_across_the_form():
    from pipeline.formats.extract import match_fields
    from pipeline.formats.ooxml import Field

    specs = tuple(
        {"key": f"d{n}", "title": f"Dato {n}", "type": "date", "section": f"S{n}"}
        for n in range(1, 4)
    )
    found = [
        Field("", "", "date", "2027-01-02", False, section=""),
        Field("", "", "date", "2027-01-03", False, section=""),
    ]
    assert match_fields(specs, found) == {}
