"""Tests for pipeline/templates.py: loading, checking and rendering the Word templates."""

import shutil
from pathlib import Path

import pytest

from pipeline.errors import TemplateError
from pipeline.formats import ooxml
from pipeline.formats.templates import check_templates, load_template, template_path

from .conftest import ROOT

KINDS, LANGUAGES = ("employee", "manager"), ("nb", "en")


def edited_templates(tmp_path: Path, kind: str, language: str, edit) -> Path:
    """Return a templates folder where one template's document.xml went through ``edit``."""
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    path = template_path(folder, kind, language)
    data = path.read_bytes()
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    xml = edit(package.parts[ooxml.DOCUMENT_PART].decode())
    path.write_bytes(ooxml.replace_part(data, ooxml.DOCUMENT_PART, xml.encode()))
    return folder


def problems_for(folder: Path) -> list[str]:
    """Return the problems of a templates folder as text."""
    return [str(p) for p in check_templates(folder, KINDS, LANGUAGES)]


def test_shipped_templates_pass_the_check():
    assert problems_for(ROOT / "templates") == []


def test_nb_and_en_ask_the_same_questions_in_the_same_order():
    for kind in KINDS:
        nb = load_template(ROOT / "templates", kind, "nb")
        en = load_template(ROOT / "templates", kind, "en")
        assert nb.keys == en.keys and len(nb.keys) > 20


def test_fields_carry_title_type_placeholder_and_section():
    template = load_template(ROOT / "templates", "employee", "nb")
    by_key = {f.key: f for f in template.fields}
    assert (
        by_key["wellbeing_score"].type == "dropdown" and len(by_key["wellbeing_score"].options) == 5
    )
    assert by_key["wants_followup"].type == "checkbox"
    assert by_key["preferred_date"].type == "date"
    assert all(f.title for f in template.fields)
    assert all(f.placeholder for f in template.fields if f.type == "richtext")
    assert by_key["results"].section


def test_jinja_syntax_error_names_template_and_text(tmp_path):
    folder = edited_templates(
        tmp_path,
        "employee",
        "nb",
        lambda x: x.replace("{{ employee.name }}", "{{ employee.name }", 1),
    )
    problems = problems_for(folder)
    assert len(problems) == 1
    assert "employee.nb.docx" in problems[0] and "Jinja syntax error" in problems[0]


def test_unknown_variables_are_reported(tmp_path):
    folder = edited_templates(
        tmp_path,
        "manager",
        "en",
        lambda x: x.replace("{{ employee.name }}", "{{ employee.salary }} {{ phone }}", 1),
    )
    problems = problems_for(folder)
    assert any("employee.salary" in p and "manager.en.docx" in p for p in problems)
    assert any("phone" in p for p in problems)


def test_duplicate_and_missing_keys_are_reported(tmp_path):
    def edit(xml: str) -> str:
        xml = xml.replace('w:val="strengths"', 'w:val="results"', 1)
        return xml.replace('<w:tag w:val="motivation"/>', "", 1)

    problems = problems_for(edited_templates(tmp_path, "employee", "nb", edit))
    assert any("'results' is used twice" in p for p in problems)
    assert any("has no tag" in p for p in problems)
    assert any("employee.en.docx" in p and "differ" in p for p in problems)


def test_missing_template_and_missing_identity(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    (folder / "manager.en.docx").unlink()
    assert any("manager.en.docx" in p and "does not exist" in p for p in problems_for(folder))
    with pytest.raises(TemplateError):
        load_template(folder, "manager", "en")
