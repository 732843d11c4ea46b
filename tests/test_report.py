"""Tests for pipeline/commands/report.py: the HR report, its figures and their privacy rules."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import stat
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.collect import collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.commands.minutes import prepare_minutes
from pipeline.commands.report import (
    WORDS,
    Builder,
    CycleAnswers,
    build_report,
    offered_in_cycle,
    write_report,
)
from pipeline.domain.measures import MEASURES
from pipeline.domain.questions import Question, questions_to_json
from pipeline.errors import ConfigError, ReportError
from pipeline.formats.roster import read_roster
from pipeline.formats.seal import Attachment, PdfInfo, prepare_pdf
from pipeline.state.archive import Archive
from pipeline.state.config import load_config
from pipeline.state.ledger import FormRecord, Ledger
from pipeline.state.workspace import Workspace
from testkit.simulate import fields_of, fill_form, invented_answers, leaning

from .conftest import ROOT, make_workspace, pdf_of_objects

CYCLE = 2027
SECRET = "Hemmelig fritekst"  # every free-text answer in this cycle starts with it
LATE = ("1003", "1014")  # employees who never send their own form back
AFTER_DEADLINES = dt.date(CYCLE, 3, 15)


def reply(workspace: Workspace, records, roster, folder: Path, extra: dict | None = None) -> None:
    """Write filled copies of the forms in ``records`` to ``folder``, as people return them."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        employee = roster.by_id[record.employee_id]
        data = (workspace.cycle_dir(CYCLE) / record.path).read_bytes()
        fields = fields_of(data)
        answers = invented_answers(
            fields,
            employee.language,
            f"{record.employee_id}-{record.kind}",
            CYCLE,
            fill_ratio=0.95,
            leaning=leaning(employee.department, employee.id, record.kind, CYCLE),
        )
        for field in fields:
            if field.type in ("text", "richtext") and answers.get(field.key):
                answers[field.key] = f"{SECRET} {record.employee_id} {field.key}"
        answers.update(extra or {})
        (folder / f"{record.employee_id}-{record.kind}.docx").write_bytes(fill_form(data, answers))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> Workspace:
    """Return a workspace whose 2027 cycle has returns, minutes confirmed by both, one sealed."""
    workspace = make_workspace(tmp_path_factory.mktemp("report") / "ws")
    generate_forms(workspace, CYCLE, workers=1)
    roster = read_roster(workspace.roster_path)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        records = ledger.forms()
        for record in records:
            ledger.mark_handed_out(record.employee_id, record.kind)
    back = [r for r in records if not (r.kind == "employee" and r.employee_id in LATE)]
    reply(workspace, back, roster, workspace.input_dir / "returned" / "prep")
    collect_returned(workspace, CYCLE, workspace.input_dir / "returned" / "prep", workers=1)
    prepare_minutes(workspace, CYCLE, workers=1, allow_missing=True)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        minutes = ledger.forms("minutes")
    confirmed = {"manager_confirmed": True, "employee_confirmed": True}
    reply(workspace, minutes, roster, workspace.input_dir / "returned" / "minutes", confirmed)
    collect_returned(workspace, CYCLE, workspace.input_dir / "returned" / "minutes", workers=1)
    Archive(workspace.archive_dir(CYCLE)).add(
        "1010_x/referat_2027_v1.pdf",
        b"%PDF-1.7 sealed minutes stand-in",
        employee_id="1010",
        kind="minutes",
        version=1,
        source_sha256="0" * 64,
    )
    return workspace


@pytest.fixture
def cycle_copy(cycle: Workspace, tmp_path: Path) -> Workspace:
    """Return a private copy of the cycle's workspace, free to change."""
    shutil.copytree(cycle.root, tmp_path / "copy")
    return Workspace.at(tmp_path / "copy")


def the_report(workspace: Workspace, compare_with=None, today=AFTER_DEADLINES):
    """Return the report model of the cycle (nothing written)."""
    roster = read_roster(workspace.roster_path)
    report, _ = build_report(workspace, CYCLE, roster, workspace.config(), compare_with, today)
    return report


def set_report_setting(workspace: Workspace, line: str, new: str) -> None:
    """Change one line of the workspace's [report] table."""
    path = workspace.root / "samtale.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(f"\n{line}\n") == 1
    path.write_text(text.replace(f"\n{line}\n", f"\n{new}\n"), encoding="utf-8")


def table(report, key: str):
    """Return the report's table with ``key``."""
    return next(t for s in report.sections for t in s.tables if t.key == key)


def xlsx_text(path: Path) -> str:
    """Return all XML text of an .xlsx package."""
    with zipfile.ZipFile(path) as package:
        return "".join(package.read(n).decode("utf-8") for n in package.namelist())


# -- what is written ----------------------------------------------------------------------------


def test_the_command_writes_the_page_and_the_workbook_owner_only(cycle_copy):
    runner = CliRunner()
    args = ["--workspace", str(cycle_copy.root), "report", "--cycle", str(CYCLE)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    folder = cycle_copy.output_dir / str(CYCLE) / "report"
    assert f"Wrote: {folder / 'report.html'}" in result.output
    assert "tables;" in result.output and "withheld" in result.output
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("report.html", "report.xlsx"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and f"Replaced: {folder / 'report.xlsx'}" in again.output


def test_a_cycle_never_generated_is_refused(cycle_copy):
    result = CliRunner().invoke(cli, ["-w", str(cycle_copy.root), "report", "--cycle", "2031"])
    assert result.exit_code == 1
    assert "no forms were generated for cycle 2031" in result.output
    assert not (cycle_copy.output_dir / "2031").exists()


def test_no_free_text_answer_ever_reaches_the_report(cycle_copy):
    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    workbook = openpyxl.load_workbook(cycle_copy.answers_path(CYCLE), read_only=True)
    secrets = {
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if isinstance(value, str) and value.startswith(SECRET)
    }
    assert len(secrets) > 500  # the answers really hold free text
    page, book = result.html.read_text(encoding="utf-8"), xlsx_text(result.xlsx)
    assert SECRET not in page and SECRET not in book


# -- the privacy rules --------------------------------------------------------------------------

FIGURE_TABLES = ("employee_", "manager_", "competence", "goals_department", "followups_department")


def test_every_figure_shown_stands_for_enough_people(cycle):
    report = the_report(cycle)
    threshold = cycle.config().report.threshold
    checked = 0
    for section in report.sections:
        for found in section.tables:
            if not found.key.startswith(FIGURE_TABLES):
                continue
            groups = [r for r in found.rows if not r.total]
            hidden = [r.cells[0].value for r in groups if r.cells[1].hidden]
            for row in groups:
                if not row.cells[1].hidden:
                    assert row.cells[0].value >= threshold, (found.key, row.label)
                    checked += 1
            total = next(r for r in found.rows if r.total)
            if not total.cells[1].hidden:
                assert sum(hidden) == 0 or sum(hidden) >= threshold, found.key
    assert checked > 20


def test_the_small_departments_are_hidden_with_the_reason_and_their_size(cycle):
    wellbeing = table(the_report(cycle), "employee_wellbeing_score")
    rows = {r.label: r for r in wellbeing.rows}
    ledelse = rows["Ledelse"].cells[1].hidden  # 4 people in the roster
    assert ledelse.startswith("Skjult:") and "under grensen på 5" in ledelse
    assert "avdelingen har 4 personer" in ledelse
    assert all(c.hidden == ledelse for c in rows["Ledelse"].cells[1:])
    assert rows["Drift og vedlikehold"].cells[1].hidden == ""


def groups_of(sizes: dict[str, int]) -> CycleAnswers:
    """Return invented answers: in each department, ``n`` people answered wellbeing with 4."""
    answers, departments = {}, {}
    for department, n in sizes.items():
        for number in range(n):
            employee_id = f"{department}{number}"
            answers[employee_id] = {"wellbeing_score": "4", "department": department}
            departments[employee_id] = department
    return CycleAnswers("2027", {"employee": answers}, departments, Counter(departments.values()))


def test_a_department_of_six_minus_a_group_of_five_is_not_left_open():
    config = load_config(ROOT / "samtale.toml")
    builder = Builder(
        config, WORDS["nb"], "nb", groups_of({"A": 6, "B": 5, "C": 4}), None, AFTER_DEADLINES
    )
    wellbeing = next(m for m in MEASURES if m.key == "wellbeing_score")
    rows = {r.label: r for r in builder.measure_table(wellbeing).rows}
    assert rows["A"].cells[4].value == 6  # six answered 4
    assert rows["C"].cells[1].hidden.startswith("Skjult: 4 svar")
    assert rows["B"].cells[1].hidden.startswith("Skjult for å verne en mindre gruppe")
    assert "(5 svar; avdelingen har 5 personer)" in rows["B"].cells[1].hidden
    assert rows["Hele organisasjonen"].cells[4].value == 15


def test_a_threshold_below_three_is_refused(tmp_path):
    path = tmp_path / "samtale.toml"
    path.write_text("[report]\nthreshold = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[report\] threshold must be at least 3"):
        load_config(path)


def test_a_higher_threshold_hides_more(cycle_copy):
    set_report_setting(cycle_copy, "threshold = 5", "threshold = 9")
    wellbeing = table(the_report(cycle_copy), "employee_wellbeing_score")
    shown = [r.label for r in wellbeing.rows if not r.cells[1].hidden]
    assert shown == ["Hele organisasjonen"] or all(
        r.cells[0].value >= 9 for r in wellbeing.rows if r.label in shown
    )
    assert "under grensen på 9" in "".join(c.hidden for r in wellbeing.rows for c in r.cells)


# -- progress -----------------------------------------------------------------------------------


def test_progress_counts_every_stage_and_names_who_is_overdue(cycle):
    report = the_report(cycle)
    total = next(r for r in table(report, "progress_department").rows if r.total)
    people, sent, employee, manager, held, confirmed, sealed, overdue = (
        c.value for c in total.cells
    )
    assert (people, sent) == (36, 36)
    assert employee == 36 - len(LATE) and manager == 36
    assert held == confirmed and held >= 30
    assert sealed == 1
    assert overdue == len(LATE)
    late = table(report, "overdue")
    assert sorted(r.label.rsplit("(", 1)[1].rstrip(")") for r in late.rows) == sorted(LATE)
    assert all("medarbeiderskjema ikke tilbake" in r.cells[2].value for r in late.rows)


def test_nothing_is_overdue_before_the_deadline(cycle):
    late = table(the_report(cycle, today=dt.date(CYCLE, 1, 10)), "overdue")
    assert late.rows == () and late.empty == "Ingenting er forfalt."


# -- language and comparison --------------------------------------------------------------------


def test_english_when_the_config_says_so(cycle_copy):
    set_report_setting(cycle_copy, 'language = "nb"', 'language = "en"')
    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    page = result.html.read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Employee review 2027" in page
    assert "Whole organisation" in page and "Hele organisasjonen" not in page
    assert "Satisfied customers" in page  # company goals read in English


def test_comparison_with_last_years_workbook(cycle):
    report = the_report(cycle, compare_with=ROOT / "input" / "answers-2026.xlsx")
    rating = table(report, "employee_period_rating")
    assert rating.columns[-3:] == ("Snitt 2026", "Svar 2026", "Endring")
    total = next(r for r in rating.rows if r.total)
    assert total.cells[-3].number is not None and total.cells[-1].format == "change"
    demands = table(report, "employee_psy_demands")  # not asked in 2026
    assert "Snitt 2026" not in demands.columns
    assert demands.note == "Skjemaene i 2026 hadde ikke dette spørsmålet."
    assert report.sections[-1].title == "Sammenlignet med 2026"


def test_no_comparison_without_last_years_answers(cycle):
    report = the_report(cycle)
    assert dict(report.facts)["Sammenlignet med"].startswith("ingen")
    assert "Snitt 2026" not in table(report, "employee_period_rating").columns


@pytest.mark.parametrize(
    ("compare_with", "message"),
    [
        (2031, "no answers of cycle 2031"),
        (CYCLE, "is the cycle itself"),
        (Path("nowhere/answers-2026.xlsx"), "no such answers workbook"),
    ],
)
def test_a_comparison_that_cannot_be_made_says_why(cycle, compare_with, message):
    with pytest.raises(ReportError, match=message):
        the_report(cycle, compare_with=compare_with)


def sealed_pdf_with_answers(answers: dict) -> bytes:
    """Return a PDF carrying ``answers`` as answers.json, as finalize attaches them."""
    text = b"BT /F1 12 Tf 72 720 Td (Referat) Tj ET"
    pdf = pdf_of_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        ]
    )
    data = json.dumps(answers).encode()
    info = PdfInfo("Referat", "Fjordlys", "Medarbeidersamtale 2026", [])
    return prepare_pdf(pdf, info, [Attachment("answers.json", data, "", "application/json")])


def test_comparison_from_last_years_archive(cycle_copy):
    archive = Archive(cycle_copy.archive_dir(2026))
    roster = read_roster(cycle_copy.roster_path)
    for number, employee in enumerate(roster.employees[:12]):
        answers = {"employee": {"wellbeing_score": str(2 + number % 3)}, "minutes": {}}
        archive.add(
            f"{employee.id}/referat_2026_v1.pdf",
            sealed_pdf_with_answers(answers),
            employee_id=employee.id,
            kind="minutes",
            version=1,
            source_sha256=f"{number:064d}",
        )
    report = the_report(cycle_copy, compare_with=2026)
    means = {r.label: r for r in table(report, "comparison").rows}
    assert means["Trivsel"].cells[2].value == round(sum(2 + n % 3 for n in range(12)) / 12, 2)
    assert means["Trivsel"].cells[3].value == 12


# -- the workbook -------------------------------------------------------------------------------


def test_the_workbook_has_the_tables_and_native_charts(cycle_copy):
    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    workbook = openpyxl.load_workbook(result.xlsx)
    names = workbook.sheetnames
    assert names[0] == "Oversikt" and names[-1] == "Diagramdata"
    assert names[1] == "1 Fremdrift"
    report = the_report(cycle_copy)
    charted = sum(1 for s in report.sections for t in s.tables if t.chart and t.rows)
    charts = sum(len(sheet._charts) for sheet in workbook.worksheets)
    assert charts >= charted - 1 > 8  # a chart may be left out when every row is hidden
    ratings = workbook["2 Vurdering av perioden og triv"]
    labels = [row[0] for row in ratings.iter_rows(values_only=True) if row and row[0]]
    assert "Samlet vurdering av perioden" in labels and "Hele organisasjonen" in labels


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_opens_the_workbook_with_its_charts(cycle_copy, tmp_path):
    import subprocess

    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    profile = tmp_path / "profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(result.xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with zipfile.ZipFile(tmp_path / "report.ods") as package:
        objects = [n for n in package.namelist() if n.endswith("content.xml") and "Object" in n]
        charts = [n for n in objects if b"<chart:chart" in package.read(n)]
    assert len(charts) > 8


def test_department_names_stay_text_in_the_workbook():
    from pipeline.formats.report_model import Cell, Report, Row, Section, Table
    from pipeline.formats.report_xlsx import report_xlsx

    words = {k: WORDS["nb"][k] for k in ("privacy", "contents", "overview", "chart_data")}
    hostile = Table("t", "Tabell", ("Avdeling", "Antall"), (Row("=1+2", (Cell("=SUM(A1)"),)),))
    report = Report("nb", "T", "S", (), "P", (Section("s", "Del", "", (hostile,)),), words)
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))["1 Del"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value in ("=1+2", "=SUM(A1)")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)


# -- the page as a person sees it: headless Chromium --------------------------------------------

CHROMIUM = (
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    # Belt and braces: whatever Chromium or a page still tries goes nowhere off this machine.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
)


class Served:
    """A folder served on 127.0.0.1 in a thread, remembering every path asked for."""

    def __init__(self, folder: Path):
        import functools
        import http.server
        import threading

        self.paths: list[str] = []
        served = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args) -> None:
                served.paths.append(self.path)

        handler = functools.partial(Handler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, name: str) -> str:
        """Return the URL of one file of the folder."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"


def chromium(url: str, work: Path, *action: str) -> list[tuple[str, str]]:
    """Run headless Chromium on ``url``; return (page site, URL) of every request it logged."""
    import subprocess

    netlog = work / "netlog.json"
    subprocess.run(
        [
            *CHROMIUM,
            f"--user-data-dir={work / 'profile'}",
            f"--log-net-log={netlog}",
            "--net-log-capture-mode=Default",
            *action,
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        (event["params"].get("network_isolation_key", ""), event["params"]["url"])
        for event in log["events"]
        if event["type"] == start and "url" in event.get("params", {})
    ]


def page_requests(requests: list[tuple[str, str]]) -> list[str]:
    """Return the URLs the page asked for (Chromium's own background requests left out)."""
    return [url for site, url in requests if site.startswith("http://127.0.0.1")]


@pytest.mark.slow
def test_chromium_shows_the_page_without_any_request_and_prints_it_on_a4(cycle_copy, tmp_path):
    import subprocess

    from PIL import Image

    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    control = result.folder / "control.html"  # proves the check sees what a page fetches
    control.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
        '<img src="http://report-test.invalid/logo.png"></body></html>',
        encoding="utf-8",
    )
    screenshot, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    with Served(result.folder) as served:
        (tmp_path / "a").mkdir()
        seen = chromium(
            served.url("report.html"),
            tmp_path / "a",
            "--window-size=1100,3000",
            f"--screenshot={screenshot}",
        )
        (tmp_path / "b").mkdir()
        chromium(
            served.url("report.html"),
            tmp_path / "b",
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
        )
        (tmp_path / "c").mkdir()
        control_seen = chromium(served.url("control.html"), tmp_path / "c", "--dump-dom")
    assert page_requests(seen) == [served.url("report.html")]
    assert served.paths.count("/report.html") == 2 and "/control.html" in served.paths
    assert set(served.paths) == {"/report.html", "/control.html"}
    assert "http://report-test.invalid/logo.png" in page_requests(control_seen)
    image = Image.open(screenshot).convert("L")
    assert image.size == (1100, 3000)
    dark = sum(image.histogram()[:128])
    assert dark > 20_000  # text, tables and charts were drawn, not an empty page
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "(A4)" in info.stdout
    pages = int(next(ln for ln in info.stdout.splitlines() if ln.startswith("Pages:")).split()[1])
    assert pages >= 5


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("1999", 2, "1999 is not a year from 2000 to 2100"),
        ("2031", 1, "no answers of cycle 2031"),
        ("input/answers-2026.xlsx", 0, "compared with 2026"),
    ],
)
def test_compare_with_takes_a_year_or_a_workbook(cycle_copy, value, code, words):
    shutil.copy(ROOT / "input" / "answers-2026.xlsx", cycle_copy.input_dir / "answers-2026.xlsx")
    args = ["-w", str(cycle_copy.root), "report", "--cycle", str(CYCLE), "--compare-with"]
    result = CliRunner().invoke(
        cli, [*args, value if "/" not in value else str(cycle_copy.root / value)]
    )
    assert result.exit_code == code, result.output
    assert words in result.output


def test_a_list_answer_typed_in_is_counted_as_typed_never_shown(cycle_copy):
    # HR (or a form) put text where a list value belongs: counted in one row, its text unshown
    path = cycle_copy.answers_path(CYCLE)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["employee"]
    header = [cell.value for cell in sheet[1]]
    for column, text in (("goal_1_company", "ZZ eget mål"), ("competence_area_1", "ZZ eget fag")):
        sheet.cell(row=2, column=header.index(column) + 1, value=text)
    workbook.save(path)
    result = write_report(cycle_copy, CYCLE, today=AFTER_DEADLINES)
    page, book = result.html.read_text(encoding="utf-8"), xlsx_text(result.xlsx)
    assert "ZZ eget" not in page and "ZZ eget" not in book
    goals = {row.label: row for row in table(the_report(cycle_copy), "goals").rows}
    typed = goals["Annet (ikke i listene)"]
    assert typed.cells[0].value == 1
    competence = table(the_report(cycle_copy), "competence")
    assert "Annet (ikke i listene)" in competence.columns


def test_a_list_value_a_form_offered_is_shown_though_no_longer_configured():
    config = load_config(ROOT / "samtale.toml")
    answers = {
        f"{department}{n}": {"status": "returned", "goal_1_company": goal}
        for department, goal in (("A", "Gammelt mål fra skjemaet"), ("B", "Skrevet av noen"))
        for n in range(5)
    }
    departments = {employee_id: employee_id[0] for employee_id in answers}
    current = CycleAnswers(
        "2027", {"employee": answers}, departments, Counter(departments.values())
    )
    offered = {"company_goals": {"Gammelt mål fra skjemaet"}, "competence_areas": set()}
    builder = Builder(config, WORDS["nb"], "nb", current, None, AFTER_DEADLINES, offered)
    rows = {row.label: row for row in table_of(builder.goals_section(), "goals").rows}
    assert rows["Gammelt mål fra skjemaet"].cells[0].value == 5
    assert rows["Annet (ikke i listene)"].cells[0].value == 5
    assert "Skrevet av noen" not in rows


def table_of(section, key: str):
    """Return the table with ``key`` of one section."""
    return next(t for t in section.tables if t.key == key)


def test_the_lists_of_a_compared_cycle_count_as_lists(tmp_path):
    workspace = Workspace.at(tmp_path)
    fields = questions_to_json(
        [Question("goal_1_company", "Mål", "dropdown", options=("Gammelt mål", "none"))]
    )
    with Ledger(workspace.ledger_path(2026)) as ledger:
        ledger.record_form(
            FormRecord(
                "1", "employee", "forms/1.docx", "ab" * 32, "cd" * 32, "v", "nb", fields,
                "generated", "2026-01-02T08:00:00+00:00", None,
            )
        )  # fmt: skip
    assert offered_in_cycle(workspace, "2026")["company_goals"] == {"Gammelt mål", "none"}
    assert offered_in_cycle(workspace, "2025") == {}
