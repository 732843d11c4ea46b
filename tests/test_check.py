"""Tests for pipeline/commands/check.py: templates and what they render to are Word-strict."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.check import check_workspace
from pipeline.commands.generate import generate_forms
from pipeline.errors import ExitCode, TemplateError
from pipeline.formats import ooxml
from pipeline.formats.templates import load_template, structure_problems, template_path

from .conftest import CYCLE

SETTINGS = "word/settings.xml"
LABEL = (
    b'<w:p><w:pPr><w:pStyle w:val="FormLabel"/></w:pPr><w:r>'
    b'<w:t xml:space="preserve">Ansattnr.</w:t></w:r></w:p>'
)


def edit_part(path, part: str, edit) -> None:
    """Rewrite one part of a template in place with ``edit`` (bytes → bytes)."""
    data = path.read_bytes()
    xml = ooxml.read_package(data, wanted=(part,)).parts[part]
    changed = edit(xml)
    assert changed != xml
    path.write_bytes(ooxml.replace_part(data, part, changed))


def zoom_without_percent(workspace, kind: str = "employee", language: str = "nb"):
    """Return a template saved with the zoom setting Word cannot read without repair."""
    path = template_path(workspace.templates_dir, kind, language)
    edit_part(path, SETTINGS, lambda xml: xml.replace(b' w:percent="100"', b""))
    return path


def cell_emptied_by_a_block(workspace, kind: str = "manager", language: str = "nb"):
    """Return a template whose label cell loses its only paragraph without previous agreements."""
    path = template_path(workspace.templates_dir, kind, language)

    def wrap(xml: bytes) -> bytes:
        opening = b"<w:p><w:r><w:t>{%p if previous.any %}</w:t></w:r></w:p>"
        closing = b"<w:p><w:r><w:t>{%p endif %}</w:t></w:r></w:p>"
        return xml.replace(LABEL, opening + LABEL + closing, 1)

    edit_part(path, ooxml.DOCUMENT_PART, wrap)
    return path


def run_check(workspace):
    """Return the result of ``samtale check`` on ``workspace``."""
    return CliRunner().invoke(cli, ["--workspace", str(workspace.root), "check"])


def test_shipped_templates_and_what_they_render_to_are_valid(workspace):
    for kind in ("employee", "manager", "minutes"):
        for language in ("nb", "en"):
            template = load_template(workspace.templates_dir, kind, language)
            assert structure_problems(template) == []


def test_check_names_file_part_line_and_rule_of_a_broken_template(workspace):
    zoom_without_percent(workspace)
    result = run_check(workspace)
    assert result.exit_code == ExitCode.ERROR, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: The templates need fixing (1 problem(s)):"
    assert lines[1] == (
        f"  - {workspace.templates_dir / 'employee.nb.docx'}: word/settings.xml, line 2: "
        "<w:zoom> lacks the required attribute w:percent (at /w:settings/w:zoom). "
        "Fix: open the template in Microsoft Word and save it again as a Word Document "
        "(.docx), then run samtale check again; if the problem stays, start again from the "
        "shipped template"
    )


def test_check_finds_a_structure_broken_only_once_filled_in(workspace):
    cell_emptied_by_a_block(workspace)
    with pytest.raises(TemplateError) as caught:
        check_workspace(workspace)
    (problem,) = caught.value.problems
    assert problem.file.endswith("manager.nb.docx")
    assert problem.message.startswith(
        "when filled in for a sample employee (empty optional blocks), word/document.xml, "
        "line 2: a table cell does not end with a paragraph (<w:p>)"
    )
    assert "near the text '1001'" in problem.message  # the first nb employee, beside it
    assert "{%p %} tag in a paragraph of its own" in problem.fix


def test_check_lists_the_problems_of_every_template_at_once(workspace):
    zoom_without_percent(workspace, "employee", "en")
    cell_emptied_by_a_block(workspace, "manager", "nb")
    with pytest.raises(TemplateError) as caught:
        check_workspace(workspace)
    files = sorted(problem.file.rsplit("/", 1)[-1] for problem in caught.value.problems)
    assert files == ["employee.en.docx", "manager.nb.docx"]


def test_generate_refuses_a_template_word_would_repair(workspace):
    zoom_without_percent(workspace)
    with pytest.raises(TemplateError, match="Word report unreadable content") as caught:
        generate_forms(workspace, CYCLE, workers=1)
    assert "<w:zoom> lacks the required attribute w:percent" in str(caught.value)
    assert not workspace.forms_dir(CYCLE).exists() or not any(workspace.forms_dir(CYCLE).iterdir())


def test_check_and_generate_note_hidden_roster_rows(workspace):
    book = openpyxl.load_workbook(workspace.roster_path)
    book.worksheets[0].row_dimensions[12].hidden = True  # Siri Kvåle (1013), hidden in Excel
    book.save(workspace.roster_path)
    checked = run_check(workspace)
    assert checked.exit_code == 0, checked.output
    note = "1 employee(s) are in rows hidden in Excel (row 12: Siri Kvåle (1013))"
    assert f"Warning: {workspace.roster_path}, sheet 'Ansatte': {note}" in checked.output
    assert "delete their row" in checked.output
    arguments = ["--workspace", str(workspace.root), "generate", "--cycle", str(CYCLE)]
    generated = CliRunner().invoke(cli, [*arguments, "--workers", "1"])
    assert generated.exit_code == 0, generated.output
    assert note in generated.output and "samtale still uses them" in generated.output
