"""Tests for pipeline/formats/schema.py: every .docx and .xlsx samtale writes is Word-strict."""

from __future__ import annotations

import fnmatch
import shutil
import tomllib
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline.commands.collect import collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.commands.minutes import prepare_minutes
from pipeline.formats import ooxml
from pipeline.formats.schema import (
    DUBLIN_CORE,
    SCHEMA_DIR,
    XSD,
    check_package,
    compiled_schema,
    validate_package,
    validate_part,
)
from pipeline.formats.templates import PERSON_ATTRIBUTES, PREVIOUS_SLOTS, load_template
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger
from testkit.simulate import fields_of, fill_form

from .conftest import CORPUS, CYCLE, ROOT, assert_valid_ooxml, make_workspace

W_NS = f'xmlns:w="{ooxml.W}"'
MC_NS = f'xmlns:mc="{ooxml.MC}"'
W14_NS = f'xmlns:w14="{ooxml.W14}"'
WPS = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
SHIPPED = sorted((ROOT / "templates").glob("*.docx"))
WORD_CORPUS = [  # written by Word; the others are broken, encrypted, macro-enabled or hostile
    "docx4j-LegacyForms.docx",
    "poi-52449.docx",
    "poi-60316.docx",
    "poi-Bug54771a.docx",
    "poi-Bug54849.docx",
    "poi-PageSpecificHeadFoot.docx",
    "poi-documentProtection_forms_no_password.docx",
    "poi-tika-3816.docx",
]


# -- tiny packages, built inline -----------------------------------------------------------


def document(body: str, root_attributes: str = "") -> bytes:
    """Return a word/document.xml holding ``body`` (before the section properties)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<w:document {W_NS} {root_attributes}><w:body>{body}<w:sectPr/></w:body></w:document>"
    ).encode()


def docx(document_xml: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """Return a minimal .docx around ``document_xml``, with ``extra`` parts by name."""
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{ooxml.CT}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{ooxml.DOCX_MIME}.main+xml"/>'
            "</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{ooxml.PKG_REL}"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>'
        ).encode(),
        "word/document.xml": document_xml,
        **(extra or {}),
    }
    return ooxml.write_package(parts, list(parts))


def rules(data: bytes) -> list[str]:
    """Return the rules the violations of a package name."""
    return [v.rule for v in validate_package(data, "test.docx")]


PARAGRAPH = "<w:p><w:r><w:t>Hei</w:t></w:r></w:p>"


def test_a_minimal_document_is_valid():
    assert validate_package(docx(document(PARAGRAPH))) == []


def test_a_zoom_without_percent_is_named_in_plain_words():
    settings_xml = f'<w:settings {W_NS}>\n<w:zoom w:val="bestFit"/></w:settings>'.encode()
    found = validate_package(
        docx(document(PARAGRAPH), {"word/settings.xml": settings_xml}), "f.docx"
    )
    assert len(found) == 1
    assert (found[0].file, found[0].part, found[0].line) == ("f.docx", "word/settings.xml", 2)
    assert found[0].rule == "<w:zoom> lacks the required attribute w:percent"
    assert "word/settings.xml, line 2: <w:zoom> lacks" in str(found[0])


def test_paragraph_properties_out_of_order_name_the_element_and_the_text():
    body = '<w:p><w:pPr><w:jc w:val="left"/><w:spacing w:after="0"/></w:pPr>'
    body += "<w:r><w:t>Mål for neste år</w:t></w:r></w:p>"
    (violation,) = validate_package(docx(document(body)))
    assert violation.rule.startswith("<w:spacing> is out of order or not allowed here")
    assert violation.element == "/w:document/w:body/w:p/w:pPr/w:spacing"
    assert violation.near == "Mål for neste år"


def test_a_value_outside_the_allowed_set_is_reported():
    body = '<w:p><w:pPr><w:jc w:val="middle"/></w:pPr></w:p>'
    assert any(
        'w:val="middle", which is not one of the allowed values' in r
        for r in rules(docx(document(body)))
    )


def test_a_table_cell_without_a_paragraph_is_reported():
    table = (
        '<w:tbl><w:tblPr/><w:tblGrid><w:gridCol w:w="100"/><w:gridCol w:w="100"/></w:tblGrid>'
        "<w:tr><w:tc><w:tcPr/></w:tc><w:tc><w:p><w:r><w:t>Ansattnr.</w:t></w:r></w:p></w:tc>"
        "</w:tr></w:tbl>"
    )
    (violation,) = validate_package(docx(document(table + PARAGRAPH)))
    assert violation.rule.startswith("a table cell does not end with a paragraph")
    assert violation.element.endswith("w:tr/w:tc[1]") and violation.near == "Ansattnr."


def test_a_cell_may_end_with_a_control_around_its_paragraph_and_a_bookmark():
    cell = (
        "<w:tc><w:sdt><w:sdtPr/><w:sdtContent>" + PARAGRAPH + "</w:sdtContent></w:sdt>"
        '<w:bookmarkEnd w:id="0"/></w:tc>'
    )
    table = f"<w:tbl><w:tblPr/><w:tblGrid/><w:tr>{cell}</w:tr></w:tbl>"
    assert validate_package(docx(document(table + PARAGRAPH))) == []


def test_a_cell_ending_with_a_nested_table_is_reported():
    inner = f"<w:tbl><w:tblPr/><w:tblGrid/><w:tr><w:tc>{PARAGRAPH}</w:tc></w:tr></w:tbl>"
    table = f"<w:tbl><w:tblPr/><w:tblGrid/><w:tr><w:tc>{inner}</w:tc></w:tr></w:tbl>"
    found = rules(docx(document(table + PARAGRAPH)))
    assert len(found) == 1 and "does not end with a paragraph" in found[0]


def test_ignorable_extensions_are_set_aside_and_undeclared_ones_are_not():
    control = (
        '<w:p><w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val="0"/></w14:checkbox>'
        '</w:sdtPr><w:sdtContent><w:r w14:foo="1"><w:t>☐</w:t></w:r></w:sdtContent></w:sdt></w:p>'
    )
    declared = f'{MC_NS} {W14_NS} mc:Ignorable="w14"'
    assert validate_package(docx(document(control, declared))) == []
    undeclared = rules(docx(document(control, f"{MC_NS} {W14_NS}")))
    assert any("<w14:checkbox>" in rule for rule in undeclared)
    assert any("w14:foo" in rule for rule in undeclared)


def test_alternate_content_takes_the_first_branch_we_understand():
    alternate = (
        f'<mc:AlternateContent {MC_NS} xmlns:wps="{WPS}">'
        '<mc:Choice Requires="wps"><wps:shape/></mc:Choice>'
        '<mc:Choice Requires="w"><w:r><w:t>kjent</w:t></w:r></mc:Choice>'
        "<mc:Fallback><w:bogus/></mc:Fallback></mc:AlternateContent>"
    )
    assert validate_package(docx(document(f"<w:p>{alternate}</w:p>"))) == []
    fallback = alternate.replace('Requires="w"', 'Requires="wps"')
    assert any("<w:bogus>" in r for r in rules(docx(document(f"<w:p>{fallback}</w:p>"))))


def test_process_content_keeps_the_children_of_an_ignored_element():
    wrapped = "<w14:wrapper><w:r><w:t>inne</w:t></w:r></w14:wrapper>"
    attributes = f'{MC_NS} {W14_NS} mc:Ignorable="w14" mc:ProcessContent="w14:wrapper"'
    assert validate_package(docx(document(f"<w:p>{wrapped}</w:p>", attributes))) == []
    bad = wrapped.replace("<w:r>", '<w:r><w:rPr><w:b w:val="maybe"/></w:rPr>')
    assert any('w:val="maybe"' in r for r in rules(docx(document(f"<w:p>{bad}</w:p>", attributes))))


def test_an_extension_a_reader_must_understand_is_reported():
    attributes = f'{MC_NS} {W14_NS} mc:Ignorable="w14" mc:MustUnderstand="w14"'
    found = rules(docx(document(PARAGRAPH, attributes)))
    assert len(found) == 1 and "mc:MustUnderstand" in found[0] and ooxml.W14 in found[0]


def test_package_structure_parts_without_content_type_and_broken_relationships():
    rels = (
        f'<Relationships xmlns="{ooxml.PKG_REL}">'
        '<Relationship Id="rId7" Type="t" Target="styles.xml"/>'
        '<Relationship Id="rId8" Type="t" Target="https://example.org/" TargetMode="External"/>'
        "</Relationships>"
    ).encode()
    data = docx(
        document(PARAGRAPH), {"word/_rels/document.xml.rels": rels, "word/logo.png": b"png"}
    )
    found = {(v.part, v.rule) for v in validate_package(data)}
    assert found == {
        ("word/logo.png", "the part has no content type in [Content_Types].xml"),
        (
            "word/_rels/document.xml.rels",
            "relationship rId7 points to styles.xml, which is not in the package",
        ),
    }


def test_a_drawing_id_used_twice_in_the_document_is_reported():
    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"

    def picture(number: int) -> str:
        return (
            f'<w:p><w:r><w:drawing><wp:inline xmlns:wp="{wp}" xmlns:a="{a}">'
            '<wp:extent cx="1" cy="1"/><wp:docPr id="{number}" name="Bilde"/>'
            f'<a:graphic><a:graphicData uri="{a}"/></a:graphic></wp:inline>'
            "</w:drawing></w:r></w:p>"
        ).replace("{number}", str(number))

    assert validate_package(docx(document(picture(1) + picture(2)))) == []
    header = f"<w:hdr {W_NS}>{picture(1)}</w:hdr>".encode()
    found = validate_package(docx(document(picture(1)), {"word/header1.xml": header}))
    assert [(v.part, v.rule.split(";")[0]) for v in found] == [
        ("word/header1.xml", "the drawing id 1 (wp:docPr) is used twice")
    ]


def test_broken_and_hostile_xml_is_a_violation_not_a_crash():
    assert "not well-formed" in rules(docx(b"<w:document"))[0]
    hostile = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + document("&x;")
    assert "DTD" in rules(docx(hostile))[0]
    assert "not a Word .docx" in rules(b"plain text")[0]


def test_core_properties_are_checked_with_the_local_dublin_core_schemas():
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>Skjema</dc:title>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
        "</cp:coreProperties>"
    )
    good = core.format(when="2027-01-04T08:00:00Z").encode()
    assert validate_part(good, "docProps/core.xml") == []
    found = validate_part(core.format(when="4. januar").encode(), "docProps/core.xml")
    assert [v.rule for v in found] == [
        '<dcterms:created> holds "4. januar", which is not a valid value '
        "(not of the type the schema expects there)"
    ]


def test_a_spreadsheet_part_is_checked_against_sml():
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="{kind}"><v>1</v></c></row></sheetData></worksheet>'
    )
    assert validate_part(sheet.format(kind="n").encode(), "xl/worksheets/sheet1.xml") == []
    (violation,) = validate_part(sheet.format(kind="number").encode(), "xl/worksheets/sheet1.xml")
    assert 't="number", which is not one of the allowed values' in violation.rule


def test_custom_xml_data_is_left_unchecked():
    check = check_package(docx(document(PARAGRAPH), {"customXml/item1.xml": b"<anything/>"}))
    assert check.ok and check.unchecked == ("customXml/item1.xml",)


def test_the_schemas_are_compiled_once_per_process():
    assert compiled_schema() is compiled_schema()


# -- the schemas ship inside the package ------------------------------------------------------


def test_every_schema_import_is_shipped_and_nothing_refers_outside():
    for path in SCHEMA_DIR.rglob("*.xsd"):
        imports = etree.parse(str(path)).getroot().iterfind(f"{{{XSD}}}*[@schemaLocation]")
        for location in (element.get("schemaLocation") for element in imports):
            if location in DUBLIN_CORE:
                continue
            target = (path.parent / location).resolve()
            assert target.is_file(), f"{path.name} imports {location}, which is not shipped"
            assert SCHEMA_DIR.resolve() in target.parents
    assert (SCHEMA_DIR / "README.md").is_file()


def test_pyproject_ships_every_schema_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["pipeline.formats"]
    package = ROOT / "pipeline" / "formats"
    shipped = [p.relative_to(package).as_posix() for p in SCHEMA_DIR.rglob("*") if p.is_file()]
    for name in shipped:
        globbed = [pat.replace("**/", "*/") for pat in patterns] + patterns
        assert any(fnmatch.fnmatch(name, pattern) for pattern in globbed), name


# -- Word's own files pass: the extension handling reads them as Word does ------------------


@pytest.mark.parametrize("name", WORD_CORPUS)
def test_words_own_files_pass(name):
    check = check_package(CORPUS / name)
    assert check.violations == (), [str(v) for v in check.violations]
    assert "word/document.xml" in check.checked


def test_words_files_pass_only_because_extensions_are_set_aside():
    package = ooxml.read_package((CORPUS / "poi-60316.docx").read_bytes())
    raw = ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART])  # w14, w15, mc:AlternateContent
    assert not compiled_schema().validate(raw.getroottree())
    assert validate_part(package.parts[ooxml.DOCUMENT_PART], ooxml.DOCUMENT_PART) == []


def test_a_hand_edited_sample_is_caught():
    # docx4j's invoice sample was edited by hand after Word saved it (its document.xml is
    # pretty-printed): its second table lacks the w:tblGrid every table needs.
    (violation,) = validate_package(CORPUS / "docx4j-invoice2013.docx")
    assert violation.part == "word/document.xml"
    assert violation.rule == "<w:tr> is out of order or not allowed here; Word expects: w:tblGrid"


# -- everything samtale writes --------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_templates_are_valid(path):
    check = check_package(path)
    assert check.ok, [str(v) for v in check.violations]
    assert check.unchecked == () and len(check.checked) >= 15


def test_generated_forms_without_previous_agreements_are_valid(generated):
    forms = sorted(generated.forms_dir(CYCLE).glob("*.docx"))
    languages = {load_language(path) for path in forms}
    assert len(forms) >= 70 and languages == {"nb", "en"}
    for path in forms:
        assert_valid_ooxml(path)


def load_language(path: Path) -> str:
    """Return the language of a generated form from its document language property."""
    core = ooxml.read_package(path.read_bytes(), wanted=(ooxml.CORE_PART,)).parts[ooxml.CORE_PART]
    return "en" if b"<dc:language>en" in core else "nb"


HOSTILE = {
    "1002": ('Åse-Marie O\'Brien <b>&amp;</b> "{{ x }}" {% raw %}' + "ø" * 200, "nb"),
    "1013": ("Siri\tKvåle\nNy linje ]]> \r\n<![CDATA[x]]>", "nb"),
    "1044": ("Fiona O'Donnell-Whitaker 🌲 \u202eRTL\u202c \u200b", "en"),
    "2001": ("N" * 2000, "en"),
}


def hostile_roster(path: Path) -> None:
    """Write a roster of invented people with long, markup-like and control-character values."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Stilling", "Språk"])
    sheet.append([1001, "Randi Sæther-Øvrebø", "randi@fjordlys.example", None, "Ledelse", "", "nb"])
    for employee_id, (name, language) in HOSTILE.items():
        title = "Rådgiver </w:t></w:r></w:p> <w:p>\n\tlinje to " + "x" * 500
        email = f"{employee_id}@fjordlys.example"
        sheet.append([int(employee_id), name, email, 1001, "{%p if %}<&>" * 20, title, language])
    book.save(path)


def hostile_previous(path: Path) -> None:
    """Write a copy of last cycle's answers whose agreements hold hostile text."""
    book = openpyxl.load_workbook(ROOT / "input" / "answers-2026.xlsx")
    sheet = book["minutes"]
    header = [cell.value for cell in sheet[1]]
    goal = header.index("goal_1") + 1
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, goal).value = "Mål <w:p/> & {{ previous }}\nlinje 2\t" + "å" * 300
    book.save(path)


@pytest.fixture(scope="module")
def cycle_files(tmp_path_factory):
    """Return a workspace after a whole cycle on a hostile roster: forms, answers, minutes."""
    ws = make_workspace(tmp_path_factory.mktemp("schema") / "ws")
    hostile_roster(ws.roster_path)
    previous = ws.input_dir / "answers-2026.xlsx"
    hostile_previous(previous)
    generate_forms(ws, CYCLE, previous_path=previous, workers=1)
    returned = ws.root / "returned"
    returned.mkdir()
    with Ledger(ws.ledger_path(CYCLE)) as ledger:
        records = ledger.forms()
    for record in records:
        data = (ws.cycle_dir(CYCLE) / record.path).read_bytes()
        answers = {field.key: answer(field) for field in fields_of(data)}
        (returned / f"{record.employee_id}-{record.kind}.docx").write_bytes(
            fill_form(data, answers)
        )
    collect_returned(ws, CYCLE, returned, workers=1)
    prepare_minutes(ws, CYCLE, workers=1)
    return ws


def answer(field) -> str | bool:
    """Return an answer for one field, as hostile as a person may type it."""
    if field.type == "checkbox":
        return True
    if field.type in ("dropdown", "combobox"):
        return next((o for o in field.options if o), "")
    if field.type == "date":
        return f"{CYCLE}-01-15"
    return f'Svar på {field.key}: <w:p/> & "{{{{ x }}}}"\nlinje 2\t' + "æ" * 400


def test_forms_for_a_hostile_roster_with_previous_agreements_are_valid(cycle_files):
    forms = sorted(cycle_files.forms_dir(CYCLE).glob("*.docx"))
    kinds = {"medarbeider", "leder", "referat", "employee", "manager", "minutes"}
    found = {kind for kind in kinds for path in forms if f"_{kind}_" in path.name}
    assert found == kinds, found  # nb and en, preparation forms and minutes
    for path in forms:
        assert_valid_ooxml(path)


def test_forms_filled_in_the_way_word_stores_answers_stay_valid(cycle_files):
    returned = sorted((cycle_files.root / "returned").glob("*.docx"))
    assert len(returned) == 2 * (len(HOSTILE) + 1)
    for path in returned:
        assert_valid_ooxml(path)


def test_forms_show_the_hostile_agreements(cycle_files):
    form = next(cycle_files.forms_dir(CYCLE).glob("1002_*_medarbeider_*.docx"))
    text = ooxml.all_text(
        ooxml.parse_xml(ooxml.read_package(form.read_bytes()).parts[ooxml.DOCUMENT_PART])
    )
    assert "Mål <w:p/> & {{ previous }}" in text  # the agreements are really in the form


def test_the_answers_workbook_is_valid(cycle_files):
    check = assert_valid_ooxml(cycle_files.cycle_dir(CYCLE) / "answers.xlsx")
    assert "xl/workbook.xml" in check.checked
    assert any(part.startswith("xl/worksheets/") for part in check.checked)


# -- any roster, any previous agreements --------------------------------------------------

TEMPLATES: dict[tuple[str, str], object] = {}
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
PERSON = st.fixed_dictionaries({attribute: TEXT for attribute in sorted(PERSON_ATTRIBUTES)})
ROW = st.fixed_dictionaries({"question": TEXT, "employee": TEXT, "manager": TEXT})
SIDES = st.lists(
    st.fixed_dictionaries({"title": TEXT, "rows": st.lists(ROW, max_size=3)}), max_size=3
)


def template(kind: str, language: str):
    """Return a shipped template, loaded once per test session."""
    if (kind, language) not in TEMPLATES:
        TEMPLATES[(kind, language)] = load_template(ROOT / "templates", kind, language)
    return TEMPLATES[(kind, language)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(("employee", "manager", "minutes")),
    language=st.sampled_from(("nb", "en")),
    employee=PERSON,
    manager=st.one_of(PERSON, st.just(dict.fromkeys(PERSON_ATTRIBUTES, ""))),
    agreements=st.lists(st.one_of(st.just(""), TEXT), max_size=PREVIOUS_SLOTS),
    agenda=st.lists(TEXT, max_size=5),
    sides=SIDES,
    organisation=TEXT,
)
def test_any_roster_and_previous_agreements_render_to_valid_forms(
    kind, language, employee, manager, agreements, agenda, sides, organisation
):
    slots = {f"agreement_{n}": "" for n in range(1, PREVIOUS_SLOTS + 1)}
    slots.update({f"agreement_{n}": text for n, text in enumerate(agreements, start=1)})
    context = {
        "employee": employee,
        "manager": manager,
        "cycle": CYCLE,
        "language": language,
        "organisation": organisation,
        "deadline": "29.01.2027",
        "form_id": "samtale:1:test",
        "form_kind": kind,
        "previous": {"any": any(agreements), "cycle": "2026", **slots},
        "agenda": agenda,
        "sides": sides,
    }
    data = template(kind, language).render(context, {PROPERTY: "samtale:1:test"})
    assert validate_package(data, f"{kind}.{language}.docx") == []


def test_the_helper_reports_every_violation(tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(docx(document('<w:p><w:pPr><w:jc w:val="middle"/></w:pPr></w:p>')))
    with pytest.raises(AssertionError, match=r"broken\.docx, word/document\.xml, line 2"):
        assert_valid_ooxml(broken)
    shutil.copy(SHIPPED[0], tmp_path / "ok.docx")
    assert assert_valid_ooxml(tmp_path / "ok.docx").ok
