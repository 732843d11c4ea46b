"""Tests for pipeline/domain/choices.py: dropdowns filled from samtale.toml in the forms."""

from __future__ import annotations

import io
import re
import shutil
import zipfile

import pytest
from lxml import etree

from pipeline.commands.generate import generate_forms
from pipeline.domain.choices import choice_label, choice_lists
from pipeline.domain.measures import MANAGER_VIEWS, MEASURES
from pipeline.formats import ooxml
from pipeline.formats.roster import read_roster
from pipeline.formats.templates import check_template, load_template
from pipeline.state.config import Config, GoalsConfig, load_config
from pipeline.state.ledger import Ledger

from .conftest import CYCLE, ROOT

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def dropdowns(data: bytes) -> dict[str, list[tuple[str, str]]]:
    """Return every dropdown of a .docx by tag: its (display text, value) items."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = etree.fromstring(package.read(ooxml.DOCUMENT_PART))
    found = {}
    for sdt in root.iter(f"{W}sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        items = sdt.findall(f"{W}sdtPr/{W}dropDownList/{W}listItem")
        if tag is not None and items:
            found[tag.get(f"{W}val")] = [
                (item.get(f"{W}displayText"), item.get(f"{W}value")) for item in items
            ]
    return found


def form_of(workspace, employee_id: str, kind: str) -> bytes:
    """Return the bytes of one generated form."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.cycle_dir(CYCLE) / record.path).read_bytes()


def test_lists_show_the_forms_language_and_store_the_first_lists_text():
    config = load_config(ROOT / "samtale.toml")
    nb, en = choice_lists(config, "nb"), choice_lists(config, "en")
    assert nb["company_goals"][0] == ("Fornøyde kunder", "Fornøyde kunder")
    assert en["company_goals"][0] == ("Satisfied customers", "Fornøyde kunder")
    assert nb["company_goals"][-1] == ("Ikke knyttet til et selskapsmål", "none")
    assert en["competence_areas"][1] == ("Digital skills", "Digital kompetanse")
    assert choice_label(config, "company_goals", "Grønn omstilling", "en") == "Green transition"
    assert choice_label(config, "company_goals", "Gammelt mål", "en") == "Gammelt mål"


def test_generated_forms_carry_the_configured_goals_and_areas(generated):
    roster = read_roster(generated.roster_path)
    english = next(e for e in roster.employees if e.language == "en")
    norwegian = next(e for e in roster.employees if e.language == "nb")
    for employee, goal, area in (
        (norwegian, "Fornøyde kunder", "Fagkompetanse"),
        (english, "Satisfied customers", "Professional skills"),
    ):
        for kind in ("employee", "manager"):
            lists = dropdowns(form_of(generated, employee.id, kind))
            assert lists["goal_1_company"][0] == (goal, "Fornøyde kunder")
            assert lists["goal_3_company"][-1][1] == "none"
            assert lists["competence_area_2"][0] == (area, "Fagkompetanse")
            assert not any(v.startswith("@") for items in lists.values() for _, v in items)


def test_goals_with_markup_characters_stay_well_formed(workspace):
    goal = 'Kunder & "kvalitet" <først>'
    text = (workspace.root / "samtale.toml").read_text(encoding="utf-8")
    text = re.sub(r'items = \[\n    "Fornøyde kunder",', f"items = [\n    '{goal}',", text)
    (workspace.root / "samtale.toml").write_text(text, encoding="utf-8")
    assert workspace.config().goals.items[0] == goal
    generate_forms(workspace, CYCLE, workers=1)
    first = read_roster(workspace.roster_path).employees[1]
    assert dropdowns(form_of(workspace, first.id, "employee"))["goal_2_company"][0] == (goal, goal)


def test_changing_the_goals_rewrites_the_forms_not_yet_handed_out(generated_copy):
    again = generate_forms(generated_copy, CYCLE, workers=1)
    assert again.written == []
    config = generated_copy.root / "samtale.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('"Grønn omstilling",', '"Lavere utslipp",'),
        encoding="utf-8",
    )
    assert len(generate_forms(generated_copy, CYCLE, workers=1).written) == 72


def test_a_dropdown_asking_for_an_unknown_list_is_named(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    path = templates / "employee.nb.docx"
    data = path.read_bytes()
    with zipfile.ZipFile(path) as package:
        xml = package.read(ooxml.DOCUMENT_PART).replace(b"@competence_areas", b"@kurs")
    path.write_bytes(ooxml.replace_part(data, ooxml.DOCUMENT_PART, xml))
    problems = check_template(load_template(templates, "employee", "nb"))
    assert len(problems) == 1
    assert "2 dropdown(s) have a list item with the value @kurs, which is no list" in str(
        problems[0]
    )
    assert "@company_goals" in str(problems[0])


def test_without_goals_in_the_config_only_not_linked_is_offered():
    lists = choice_lists(Config(goals=GoalsConfig()), "nb")
    assert lists["company_goals"] == [("Ikke knyttet til et selskapsmål", "none")]


@pytest.mark.parametrize("measure", [*MEASURES, *MANAGER_VIEWS], ids=lambda m: m.id)
@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_reports_level_labels_are_the_forms(measure, language):
    shipped = dropdowns((ROOT / "templates" / f"{measure.kind}.{language}.docx").read_bytes())
    labels = [shown.split(" – ", 1)[1] for shown, _ in shipped[measure.key]]
    assert labels == list(measure.levels[language])
