"""The shipped Word templates and the script that builds them (tools/build_templates.py)."""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from docxtpl import DocxTemplate
from jinja2 import Environment
from lxml import etree

from pipeline.formats.templates import check_template, load_template

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS = {"w": W, "w14": W14}
PREP_KINDS = ("employee", "manager")
KINDS = (*PREP_KINDS, "minutes")
NAMES = [f"{kind}.{lang}.docx" for kind in KINDS for lang in ("nb", "en")]
PREP_NAMES = [n for n in NAMES if n.split(".")[0] in PREP_KINDS]
MINUTES_NAMES = ["minutes.nb.docx", "minutes.en.docx"]

AGREEMENT_KEYS = [
    f"prev_agreement_{n}_{part}" for n in range(1, 6) for part in ("status", "comment")
]
COMMON_HEAD = ["results", "strengths", "development_areas", "period_rating", *AGREEMENT_KEYS]
GOAL_KEYS = [key for n in (1, 2, 3) for key in (f"goal_{n}", f"goal_{n}_company")]
FACTOR_KEYS = ["psy_demands", "psy_emotional", "psy_workload", "psy_support"]
COMMON_MIDDLE = [
    *GOAL_KEYS,
    "competence_area_1",
    "competence_area_2",
    "competence_needs",
    "competence_actions",
    "wellbeing_score",
    "motivation",
    "psy_demands",
    "psy_demands_comment",
    "psy_emotional",
    "psy_emotional_comment",
    "psy_workload",
    "workload",  # the old workload question's key, now the comment on workload and time
    "psy_support",
    "psy_support_comment",
    "collaboration",
    "work_environment",
]
COMMON_TAIL = ["other_topics", "wants_followup", "preferred_date"]
AGREED_TOPICS = ("look_back", "goals", "competence", "wellbeing", "collaboration", "feedback")
MINUTES_KEYS = [
    *(f"agreed_{topic}" for topic in (*AGREED_TOPICS, "other")),
    *(
        key
        for n in range(1, 6)
        for key in (f"goal_{n}", f"goal_{n}_measure", f"goal_{n}_company", f"goal_{n}_deadline")
    ),
    "competence_plan",
    *(f"followup_{n}_{part}" for n in range(1, 6) for part in ("what", "who", "when")),
    *(
        f"{role}_{part}"
        for role in ("manager", "employee")
        for part in ("confirmed", "name", "date")
    ),
]
EXPECTED_KEYS = {
    "employee": [*COMMON_HEAD, *COMMON_MIDDLE, "feedback_manager", *COMMON_TAIL],
    "manager": [*COMMON_HEAD, *COMMON_MIDDLE, "support_employee", *COMMON_TAIL],
    "minutes": MINUTES_KEYS,
}
SCALES = {"period_rating", "wellbeing_score", *FACTOR_KEYS}
FROM_CONFIG = {  # dropdowns generate fills from samtale.toml: key -> the marker's value
    **{f"goal_{n}_company": "@company_goals" for n in range(1, 6)},
    "competence_area_1": "@competence_areas",
    "competence_area_2": "@competence_areas",
}
DROPDOWNS = SCALES | set(FROM_CONFIG) | {k for k in AGREEMENT_KEYS if "status" in k}
EXPECTED_TYPES = (
    {"wants_followup": "checkbox", "preferred_date": "date"}
    | dict.fromkeys(DROPDOWNS, "dropdown")
    | dict.fromkeys(("manager_confirmed", "employee_confirmed"), "checkbox")
    | {k: "date" for k in MINUTES_KEYS if k.endswith(("_deadline", "_when", "_date"))}
)
CONTRACT_VARIABLES = {
    "employee",
    "manager",
    "cycle",
    "language",
    "organisation",
    "deadline",
    "form_id",
    "previous",
}
MINUTES_VARIABLES = {"agenda", "sides"}


def load_builder():
    """Return tools/build_templates.py imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "build_templates", REPO / "tools" / "build_templates.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


builder = load_builder()


@dataclass(frozen=True)
class Control:
    """One content control as the template holds it."""

    key: str
    alias: str
    type: str
    id: str
    choices: tuple[tuple[str, str], ...]
    element: etree._Element


def part_xml(source: Path | bytes, name: str) -> etree._Element:
    """Return the parsed XML of part ``name`` of a .docx file or bytes."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        raw = package.read(name)
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))


def control_type(sdt_pr: etree._Element) -> str:
    """Return the contract type of a control from its ``w:sdtPr``."""
    if sdt_pr.find("w:dropDownList", NS) is not None:
        return "dropdown"
    if sdt_pr.find("w14:checkbox", NS) is not None:
        return "checkbox"
    if sdt_pr.find("w:date", NS) is not None:
        return "date"
    others = ("w:comboBox", "w:text", "w:picture", "w:docPartObj", "w:group")
    assert not any(sdt_pr.find(tag, NS) is not None for tag in others)
    return "text"


def controls(source: Path | bytes) -> list[Control]:
    """Return the content controls of document.xml in document order."""
    found = []
    for sdt in part_xml(source, "word/document.xml").iter(f"{{{W}}}sdt"):
        pr = sdt.find("w:sdtPr", NS)
        choices = tuple(
            (item.get(f"{{{W}}}displayText"), item.get(f"{{{W}}}value"))
            for item in pr.iterfind("w:dropDownList/w:listItem", NS)
        )
        found.append(
            Control(
                key=pr.find("w:tag", NS).get(f"{{{W}}}val"),
                alias=pr.find("w:alias", NS).get(f"{{{W}}}val"),
                type=control_type(pr),
                id=pr.find("w:id", NS).get(f"{{{W}}}val"),
                choices=choices,
                element=sdt,
            )
        )
    return found


def signature(source: Path | bytes) -> list[tuple]:
    """Return what extraction depends on: key, alias, type and choices of every control."""
    return [(c.key, c.alias, c.type, c.choices) for c in controls(source)]


def texts(element: etree._Element) -> str:
    """Return the concatenated ``w:t`` text under ``element``."""
    return "".join(t.text or "" for t in element.iter(f"{{{W}}}t"))


def context(*, any_previous: bool, language: str = "nb") -> dict:
    """Return a render context as the renderer supplies it (invented person)."""
    agreements = ["Fullføre PMP-sertifisering innen juni", "Ta over kundeoppfølging <Nord & Sør>"]
    previous = {f"agreement_{n}": "" for n in range(1, 6)}
    if any_previous:
        previous |= {f"agreement_{n}": text for n, text in enumerate(agreements, 1)}
    return {
        "employee": {
            "id": "1042",
            "name": "Åse-Marie Ødegård Bjørnstad-Kristiansen",
            "email": "ase-marie@example.invalid",
            "department": "Økonomi og virksomhetsstyring",
            "title": "Seniorrådgiver",
            "start_date": "2019-08-15",
        },
        "manager": {"id": "1001", "name": "Øystein Æsøy", "title": "Økonomisjef", "email": ""},
        "cycle": 2026,
        "language": language,
        "organisation": "Fjordvik Bærum AS",
        "deadline": "15.01.2026",
        "form_id": "S1-2026-1042-employee-7f3a9c",
        "previous": previous | {"cycle": 2025 if any_previous else "", "any": any_previous},
    }


AGENDA = {
    "nb": [
        "Trivsel (1–5): medarbeider 2, leder 4",
        "Arbeidsmengde: tatt opp bare av medarbeideren – «overtid» & <press>",
        "Kompetansebehov: ulike vurderinger (æøå ÆØÅ)",
    ],
    "en": [
        "Wellbeing (1–5): employee 2, manager 4",
        "Workload: raised only by the employee – overtime & <pressure>",
        "Competence needs: different views (æøå ÆØÅ)",
    ],
}
SIDES = [
    {
        "title": "1. Tilbakeblikk og evaluering av perioden",
        "rows": [
            {"question": "Resultater", "employee": "Årsoppgjøret & <migrering>", "manager": "–"},
            {"question": "Styrker", "employee": "Struktur", "manager": "Nøyaktighet og ro"},
            {"question": "Samlet vurdering av perioden", "employee": "4", "manager": "5"},
        ],
    },
    {
        "title": "5. Trivsel og motivasjon",
        "rows": [
            {"question": "Trivsel (1–5)", "employee": "2", "manager": "4"},
            {"question": "Motivasjon", "employee": "Godt team", "manager": "Engasjert"},
            {"question": "Arbeidsmengde", "employee": "For høy i perioder", "manager": "–"},
        ],
    },
]


def minutes_context(*, any_previous: bool, language: str = "nb", agenda: bool = True) -> dict:
    """Return a minutes render context: the prep context plus agenda and sides."""
    ctx = context(any_previous=any_previous, language=language)
    ctx["form_id"] = "S1-2026-1042-minutes-7f3a9c"
    return ctx | {"agenda": AGENDA[language] if agenda else [], "sides": SIDES}


def render(name: str, ctx: dict) -> bytes:
    """Return the shipped template ``name`` rendered by docxtpl with ``ctx``."""
    template = DocxTemplate(TEMPLATES / name)
    template.render(ctx, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_ours(name: str, ctx: dict) -> bytes:
    """Return the shipped template ``name`` rendered by the pipeline's own renderer."""
    kind, language = name.split(".")[:2]
    return load_template(TEMPLATES, kind, language).render(ctx, {"samtale.identity": "x"})


RENDERERS = {"docxtpl": render, "pipeline": render_ours}


def body_tables(data: bytes) -> list[list[list[str]]]:
    """Return the body-level tables of a .docx as rows of cell texts."""
    body = part_xml(data, "word/document.xml").find("w:body", NS)
    return [
        [[texts(tc) for tc in tr.iterfind("w:tc", NS)] for tr in tbl.iterfind("w:tr", NS)]
        for tbl in body.iterfind("w:tbl", NS)
    ]


def table_headed(data: bytes, *first_cells: str) -> list[list[str]] | None:
    """Return the body table whose header row starts with ``first_cells``, or None."""
    found = [t for t in body_tables(data) if tuple(t[0][: len(first_cells)]) == first_cells]
    assert len(found) <= 1
    return found[0] if found else None


def bullets(data: bytes) -> list[str]:
    """Return the texts of the body-level bullet paragraphs (not those in tables)."""
    document = docx.Document(io.BytesIO(data))
    return [p.text for p in document.paragraphs if p.style.style_id == "ListBullet"]


# --- the script ------------------------------------------------------------------------------


def test_build_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert set(builder.write_templates(first).values()) == {"written"}
    assert set(builder.write_templates(second).values()) == {"written"}
    for name in NAMES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    with zipfile.ZipFile(first / NAMES[0]) as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = part_xml(first / NAMES[0], "docProps/core.xml")
    assert "2026-01-01T00:00:00Z" in etree.tostring(core, encoding="unicode")


def test_rebuild_leaves_edited_templates_alone_unless_forced(tmp_path):
    builder.write_templates(tmp_path)
    edited = tmp_path / NAMES[0]
    edited.write_bytes(b"edited in Word")
    status = builder.write_templates(tmp_path)
    assert status[NAMES[0]] == "differs" and status[NAMES[1]] == "unchanged"
    assert edited.read_bytes() == b"edited in Word"
    assert builder.write_templates(tmp_path, force=True)[NAMES[0]] == "replaced"
    assert edited.read_bytes() == builder.build_document("employee", "nb")


def test_main_reports_a_differing_template_with_exit_status_1(tmp_path, capsys):
    assert builder.main(["--out", str(tmp_path)]) == 0
    (tmp_path / NAMES[2]).write_bytes(b"edited")
    assert builder.main(["--out", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_shipped_template_matches_the_build(name):
    kind, language = name.split(".")[:2]
    built = builder.build_document(kind, language)
    assert signature(TEMPLATES / name) == signature(built)


# --- the form contract -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_keys_are_the_expected_ones_in_order(name):
    kind = name.split(".")[0]
    keys = [c.key for c in controls(TEMPLATES / name)]
    assert keys == EXPECTED_KEYS[kind]
    assert builder.form_keys(kind) == EXPECTED_KEYS[kind]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in keys)


@pytest.mark.parametrize("kind", KINDS)
def test_nb_and_en_have_the_same_keys_types_and_values(kind):
    nb, en = (controls(TEMPLATES / f"{kind}.{lang}.docx") for lang in ("nb", "en"))
    assert [(c.key, c.type, [v for _, v in c.choices]) for c in nb] == [
        (c.key, c.type, [v for _, v in c.choices]) for c in en
    ]
    assert [c.alias for c in nb] != [c.alias for c in en]  # translated, not copied


@pytest.mark.parametrize("name", NAMES)
def test_tags_and_ids_are_unique(name):
    found = controls(TEMPLATES / name)
    assert len({c.key for c in found}) == len(found)
    assert len({c.id for c in found}) == len(found)
    assert all(c.id.isdigit() for c in found)


@pytest.mark.parametrize("name", NAMES)
def test_control_types_and_choices(name):
    language = name.split(".")[1]
    for control in controls(TEMPLATES / name):
        assert control.type == EXPECTED_TYPES.get(control.key, "text"), control.key
        if control.key in SCALES:
            assert [v for _, v in control.choices] == ["1", "2", "3", "4", "5"]
            assert all(label.startswith(f"{v} – ") for label, v in control.choices)
        elif control.key in FROM_CONFIG:
            assert [v for _, v in control.choices] == [FROM_CONFIG[control.key]]
        elif control.type == "dropdown":
            labels = [label for label, _ in control.choices]
            first = {"nb": "Oppnådd", "en": "Achieved"}[language]
            assert len(labels) == 4 and labels[0] == first
    date = next(c for c in controls(TEMPLATES / name) if c.type == "date")
    fmt = date.element.find("w:sdtPr/w:date/w:dateFormat", NS)
    assert fmt.get(f"{{{W}}}val") == "dd.MM.yyyy"


@pytest.mark.parametrize("name", NAMES)
def test_every_control_sits_alone_in_its_cell(name):
    for control in controls(TEMPLATES / name):
        sdt = control.element
        parent = sdt.getparent()
        if control.type == "text":  # block-level: the cell holds only this control
            assert parent.tag == f"{{{W}}}tc", control.key
            cell = parent
            assert len(sdt.findall("w:sdtContent/w:p", NS)) == 1
        else:  # inline: the cell's only paragraph holds only this control
            assert parent.tag == f"{{{W}}}p", control.key
            cell = parent.getparent()
            assert cell.tag == f"{{{W}}}tc", control.key
            assert [c for c in parent if c.tag != f"{{{W}}}pPr"] == [sdt], control.key
            sdt = parent
        assert [c for c in cell if c.tag != f"{{{W}}}tcPr"] == [sdt], control.key


@pytest.mark.parametrize("name", NAMES)
def test_every_control_has_alias_and_placeholder(name):
    styles = part_xml(TEMPLATES / name, "word/styles.xml")
    style_ids = {s.get(f"{{{W}}}styleId") for s in styles.iter(f"{{{W}}}style")}
    assert "PlaceholderText" in style_ids
    defaults = {
        s.get(f"{{{W}}}styleId")
        for s in styles.iter(f"{{{W}}}style")
        if s.get(f"{{{W}}}default") == "1"
    }
    assert "Normal" in defaults
    for control in controls(TEMPLATES / name):
        pr = control.element.find("w:sdtPr", NS)
        assert control.alias.strip(), control.key
        assert pr.find("w:showingPlcHdr", NS) is not None, control.key
        content = control.element.find("w:sdtContent", NS)
        placeholder_runs = [
            r for r in content.iter(f"{{{W}}}r") if r.find("w:rPr/w:rStyle", NS) is not None
        ]
        assert placeholder_runs, control.key
        style = placeholder_runs[0].find("w:rPr/w:rStyle", NS).get(f"{{{W}}}val")
        assert style == "PlaceholderText" and texts(content).strip(), control.key


@pytest.mark.parametrize("name", NAMES)
def test_header_and_footer_carry_organisation_and_form_id(name):
    language = name.split(".")[1]
    with zipfile.ZipFile(TEMPLATES / name) as package:
        parts = package.namelist()
    footer = part_xml(TEMPLATES / name, next(p for p in parts if "footer" in p))
    header = part_xml(TEMPLATES / name, next(p for p in parts if "header" in p))
    footer_runs = [t.text for t in footer.iter(f"{{{W}}}t")]
    label = {"nb": "Skjema-ID", "en": "Form ID"}[language]
    assert f"{label}: {{{{ form_id }}}}" in footer_runs  # one run, so docxtpl sees it whole
    instructions = [i.text.strip() for i in footer.iter(f"{{{W}}}instrText")]
    assert instructions == ["PAGE", "NUMPAGES"]
    confidential = {"nb": "Fortrolig", "en": "Confidential"}[language]
    assert texts(header) == f"{{{{ organisation }}}} · {confidential}"


@pytest.mark.parametrize("name", NAMES)
def test_jinja_is_outside_controls_and_each_tag_in_one_run(name):
    document = part_xml(TEMPLATES / name, "word/document.xml")
    for sdt in document.iter(f"{{{W}}}sdt"):
        assert "{" not in texts(sdt) and "}" not in texts(sdt)
    tags = 0
    for t in document.iter(f"{{{W}}}t"):
        text = t.text or ""
        assert text.count("{{") == text.count("}}"), text
        assert text.count("{%") == text.count("%}"), text
        tags += text.count("{{") + text.count("{%")
    assert tags >= 15  # title, info table, instructions, agreements


@pytest.mark.parametrize("name", NAMES)
def test_jinja_parses_and_uses_only_contract_variables(name):
    template = DocxTemplate(TEMPLATES / name)
    template.init_docx()
    env = Environment(autoescape=True)  # parsing does not depend on autoescape
    env.parse(template.patch_xml(template.get_xml()))
    for uri in (template.HEADER_URI, template.FOOTER_URI):
        for _, part in template.get_headers_footers(uri):
            env.parse(template.patch_xml(template.get_part_xml(part)))
    variables = template.get_undeclared_template_variables()
    extra = MINUTES_VARIABLES if name in MINUTES_NAMES else set()
    assert variables <= CONTRACT_VARIABLES | extra
    assert {"employee", "manager", "cycle", "form_id", "previous", "deadline"} | extra <= variables


@pytest.mark.parametrize("name", NAMES)
def test_the_pipeline_check_finds_no_problem(name):
    kind, language = name.split(".")[:2]
    assert check_template(load_template(TEMPLATES, kind, language)) == []


@pytest.mark.parametrize("name", NAMES)
def test_document_root_declares_w14_and_page_is_a4(name):
    root = part_xml(TEMPLATES / name, "word/document.xml")
    assert root.nsmap.get("w14") == W14
    assert "w14" in root.get(f"{{{MC}}}Ignorable").split()
    page = root.find("w:body/w:sectPr/w:pgSz", NS)
    margins = root.find("w:body/w:sectPr/w:pgMar", NS)
    assert (page.get(f"{{{W}}}w"), page.get(f"{{{W}}}h")) == ("11906", "16838")
    sides = ("top", "bottom", "left", "right")
    assert {margins.get(f"{{{W}}}{side}") for side in sides} == {"1134"}


# --- rendering -------------------------------------------------------------------------------


def shown_keys(name: str, agreements: int) -> list[str]:
    """Return the template's keys without those of the hidden agreement rows."""
    hidden = {k for k in AGREEMENT_KEYS if int(k.split("_")[2]) > agreements}
    return [c.key for c in controls(TEMPLATES / name) if c.key not in hidden]


@pytest.mark.parametrize("name", PREP_NAMES)
@pytest.mark.parametrize("any_previous", [True, False])
@pytest.mark.parametrize("renderer", RENDERERS)
def test_rendered_prep_form_opens_and_keeps_its_controls(name, any_previous, renderer):
    language = name.split(".")[1]
    data = RENDERERS[renderer](name, context(any_previous=any_previous, language=language))
    body = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    document = part_xml(data, "word/document.xml")
    everything = texts(document)
    assert "{{" not in everything and "{%" not in everything
    assert "Åse-Marie Ødegård Bjørnstad-Kristiansen" in everything
    assert [c.key for c in controls(data)] == shown_keys(name, 2 if any_previous else 0)
    none_line = {"nb": "Ingen avtaler fra forrige samtale", "en": "No agreements from the last"}
    assert (none_line[language] in body) is (not any_previous)
    assert ("Ta over kundeoppfølging <Nord & Sør>" in everything) is any_previous
    footer = texts(docx.Document(io.BytesIO(data)).sections[0].footer._element)
    assert "S1-2026-1042-employee-7f3a9c" in footer


AGREEMENT_HEAD = {"nb": "Avtale fra forrige samtale", "en": "Agreement from the last review"}


@pytest.mark.parametrize("name", PREP_NAMES)
def test_only_slots_holding_an_agreement_get_a_row(name):
    language = name.split(".")[1]
    ctx = context(any_previous=True, language=language)
    ctx["previous"] |= {"agreement_2": "", "agreement_4": "Lede «Prosjekt Ærfugl» & co."}
    data = render_ours(name, ctx)
    table = table_headed(data, "#", AGREEMENT_HEAD[language])
    assert [row[:2] for row in table[1:]] == [
        ["1", "Fullføre PMP-sertifisering innen juni"],
        ["4", "Lede «Prosjekt Ærfugl» & co."],
    ]
    keys = [c.key for c in controls(data) if c.key.startswith("prev_agreement_")]
    assert keys == [f"prev_agreement_{n}_{p}" for n in (1, 4) for p in ("status", "comment")]


@pytest.mark.parametrize("name", PREP_NAMES)
def test_no_previous_agreements_give_the_note_and_no_table(name):
    language = name.split(".")[1]
    data = render_ours(name, context(any_previous=False, language=language))
    assert table_headed(data, "#", AGREEMENT_HEAD[language]) is None
    assert not any(c.key.startswith("prev_agreement_") for c in controls(data))
    body = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    none_line = {"nb": "Ingen avtaler fra forrige samtale", "en": "No agreements from the last"}
    assert sum(line.startswith(none_line[language]) for line in body) == 1


# --- the minutes -----------------------------------------------------------------------------


SIDES_HEAD = {"nb": ("Spørsmål", "Medarbeider", "Leder"), "en": ("Question", "Employee", "Manager")}


@pytest.mark.parametrize("name", MINUTES_NAMES)
@pytest.mark.parametrize("renderer", RENDERERS)
def test_minutes_show_agenda_sides_and_keep_every_control(name, renderer):
    language = name.split(".")[1]
    data = RENDERERS[renderer](name, minutes_context(any_previous=True, language=language))
    everything = texts(part_xml(data, "word/document.xml"))
    assert "{{" not in everything and "{%" not in everything
    assert [c.key for c in controls(data)] == MINUTES_KEYS
    assert bullets(data) == AGENDA[language]
    sides = table_headed(data, *SIDES_HEAD[language])
    expected = [list(SIDES_HEAD[language])]
    for section in SIDES:
        expected.append([section["title"]])
        expected += [[r["question"], r["employee"], r["manager"]] for r in section["rows"]]
    assert sides == expected
    previous = table_headed(data, "#", AGREEMENT_HEAD[language])
    assert previous[1:] == [
        ["1", "Fullføre PMP-sertifisering innen juni"],
        ["2", "Ta over kundeoppfølging <Nord & Sør>"],
    ]
    footer = texts(docx.Document(io.BytesIO(data)).sections[0].footer._element)
    assert "S1-2026-1042-minutes-7f3a9c" in footer


@pytest.mark.parametrize("name", MINUTES_NAMES)
def test_minutes_without_agenda_or_previous_say_so(name):
    language = name.split(".")[1]
    data = render_ours(name, minutes_context(any_previous=False, language=language, agenda=False))
    body = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    no_gaps = {"nb": "Ingen store forskjeller i forberedelsene.",
               "en": "No big differences in the preparations."}  # fmt: skip
    assert body.count(no_gaps[language]) == 1 and bullets(data) == []
    assert table_headed(data, "#", AGREEMENT_HEAD[language]) is None
    assert [c.key for c in controls(data)] == MINUTES_KEYS
    with_agenda = render_ours(name, minutes_context(any_previous=False, language=language))
    assert no_gaps[language] not in [
        p.text for p in docx.Document(io.BytesIO(with_agenda)).paragraphs
    ]


@pytest.mark.parametrize("name", MINUTES_NAMES)
def test_minutes_sign_off_rows_hold_label_checkbox_name_and_date(name):
    language = name.split(".")[1]
    head = {"nb": "Bekreftelse", "en": "Confirmation"}[language]
    ctx = minutes_context(any_previous=False, language=language)
    sign_off = table_headed(render_ours(name, ctx), head)
    labels = {"nb": ["Leder bekrefter referatet", "Medarbeider bekrefter referatet"],
              "en": ["Manager confirms the minutes", "Employee confirms the minutes"]}  # fmt: skip
    assert [row[0] for row in sign_off[1:]] == labels[language]
    by_key = {c.key: c for c in controls(TEMPLATES / name)}
    for role in ("manager", "employee"):
        assert [by_key[f"{role}_{p}"].type for p in ("confirmed", "name", "date")] == [
            "checkbox",
            "text",
            "date",
        ]


@pytest.mark.libreoffice
def test_libreoffice_renders_the_forms_and_keeps_their_answer_cells(tmp_path):
    rendered = {
        "manager.nb.docx": render_ours("manager.nb.docx", context(any_previous=True)),
        "minutes.nb.docx": render_ours("minutes.nb.docx", minutes_context(any_previous=True)),
    }
    for name, data in rendered.items():
        (tmp_path / name).write_bytes(data)
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"
    for target, folder in (("pdf", "pdf"), ("docx:MS Word 2007 XML", "resaved")):
        subprocess.run(
            ["soffice", "--headless", profile, "--convert-to", target, "--outdir",
             str(tmp_path / folder), *(str(tmp_path / name) for name in rendered)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    for name, data in rendered.items():
        check_libreoffice_output(tmp_path, name, data)


def check_libreoffice_output(folder: Path, name: str, data: bytes) -> None:
    """Assert a rendered form's PDF is 2–4 pages and its re-save keeps every answer cell."""
    pdf = folder / "pdf" / name.replace(".docx", ".pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    assert 2 <= pages <= 4, name
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    assert "Åse-Marie Ødegård Bjørnstad-Kristiansen" in text.stdout
    form_id = "S1-2026-1042-minutes-7f3a9c" if "minutes" in name else "S1-2026-1042-employee-7f3a9c"
    assert f"Skjema-ID: {form_id}" in text.stdout
    if "minutes" in name:
        flat = " ".join(text.stdout.split())
        assert all(item in flat for item in AGENDA["nb"])
        assert "5. Trivsel og motivasjon" in flat and "Leder bekrefter referatet" in flat
    # After a LibreOffice re-save each answer cell still holds its control (LibreOffice wraps an
    # inline control in a block-level one of its own), typed controls keep their type and free
    # text keeps its alias: what extraction relies on (.notes/FORMS.md).
    resaved = part_xml((folder / "resaved" / name).read_bytes(), "word/document.xml")
    answer_cells = [tc for tc in resaved.iter(f"{{{W}}}tc") if tc.find(".//w:sdt", NS) is not None]
    shown = controls(data)
    assert len(answer_cells) == len(shown), name
    typed = [c.type for c in shown if c.type != "text"]
    for tag, kind in (
        ("w:dropDownList", "dropdown"),
        ("w14:checkbox", "checkbox"),
        ("w:date", "date"),
    ):
        assert len(resaved.findall(f".//w:sdtPr/{tag}", NS)) == typed.count(kind), kind
    aliases = {a.get(f"{{{W}}}val") for a in resaved.iterfind(".//w:sdtPr/w:alias", NS)}
    assert {c.alias for c in shown if c.type == "text"} <= aliases


def test_builder_runs_as_a_script(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "build_templates.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
