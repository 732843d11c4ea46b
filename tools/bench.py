"""`make bench`: samtale's speed against naive baselines measured in the same run.

1. generate: forms for a 1,000-employee roster vs a naive docxtpl loop (load, render, save)
2. collect: 1,000 returned forms vs a naive python-docx loop, one file at a time
3. convert: 200 minutes to PDF with the warm LibreOffice pool vs per-file soffice
4. report: `samtale report` for 10,000 employees vs simply loading their answers workbook
4. schedule: 1,000 managers x 10 reports: the planner's talks/s vs a naive one, and the time of
   a whole `samtale schedule` run for 10,000 employees (tools/bench_schedule.py)

Figures are printed as rates and ratios; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from docx import Document
from docxtpl import DocxTemplate

from pipeline.commands.collect import collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.domain.forms import form_context
from pipeline.formats.previous import PreviousCycle
from pipeline.formats.roster import read_roster
from pipeline.formats.templates import template_path
from pipeline.state.identity import FormIdentity
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.simulate import fields_of, fill_form, invented_answers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
CYCLE = 2027
NS = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}


def make_workspace(folder: Path, employees: int) -> Workspace:
    """Return a workspace with the shipped templates and a synthetic roster."""
    from make_sample_roster import write_synthetic_roster

    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "input").mkdir()
    write_synthetic_roster(folder / "input" / "roster.xlsx", employees)
    return Workspace.at(folder)


def bench_generate(workspace: Workspace, naive_sample: int) -> dict:
    """Return forms/s of generate and of the naive docxtpl loop on a sample of the same forms."""
    started = time.perf_counter()
    report = generate_forms(workspace, CYCLE)
    ours = len(report.written) / (time.perf_counter() - started)
    roster = read_roster(workspace.roster_path)
    secret, config = workspace.secret(), workspace.config()
    started = time.perf_counter()
    done = 0
    for employee in roster.employees[: naive_sample // 2]:
        for kind in ("employee", "manager"):
            path = template_path(workspace.templates_dir, kind, employee.language)
            token = FormIdentity(CYCLE, kind, employee.id, "naive").token(secret)
            context = form_context(
                employee, roster.manager_of(employee), CYCLE, kind, token, PreviousCycle(""), config
            )
            template = DocxTemplate(path)
            template.render(context, autoescape=True)
            template.save(io.BytesIO())
            done += 1
    naive = done / (time.perf_counter() - started)
    return {
        "forms": len(report.written),
        "ours_per_s": ours,
        "naive_per_s": naive,
        "ratio": ours / naive,
    }


def fill_returns(workspace: Workspace, target: Path) -> int:
    """Return how many forms were filled with invented answers into ``target``."""
    target.mkdir(parents=True)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        records = ledger.forms()
    for record in records:
        data = (workspace.cycle_dir(CYCLE) / record.path).read_bytes()
        answers = invented_answers(fields_of(data), record.language, record.employee_id, CYCLE)
        (target / Path(record.path).name).write_bytes(fill_form(data, answers))
    return len(records)


def naive_read(path: Path) -> dict:
    """Return the tagged controls of one file, the naive way (python-docx + lxml)."""
    document = Document(str(path))
    answers = {}
    for sdt in document.element.body.iter("{*}sdt"):
        tags = sdt.xpath("./w:sdtPr/w:tag/@w:val", namespaces=NS)
        if tags:
            answers[tags[0]] = "".join(sdt.xpath(".//w:t/text()", namespaces=NS))
    return answers


def bench_collect(workspace: Workspace, returned: Path, forms: int, naive_sample: int) -> dict:
    """Return returned forms/s of collect and of a naive one-at-a-time loop."""
    started = time.perf_counter()
    report = collect_returned(workspace, CYCLE, returned)
    ours = len(report.accepted) / (time.perf_counter() - started)
    files = sorted(returned.glob("*.docx"))[:naive_sample]
    started = time.perf_counter()
    for path in files:
        naive_read(path)
    naive = len(files) / (time.perf_counter() - started)
    return {
        "forms": len(report.accepted),
        "ours_per_s": ours,
        "naive_per_s": naive,
        "ratio": ours / naive,
    }


def main() -> None:
    """Run the benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=200)
    parser.add_argument("--skip-convert", action="store_true")
    parser.add_argument("--report-employees", type=int, default=10_000)
    parser.add_argument("--skip-schedule", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="samtale-bench-") as tmp:
        workspace = make_workspace(Path(tmp) / "ws", args.employees)
        figures = bench_generate(workspace, naive_sample=100)
        print(
            f"generate: {figures['forms']} forms, {figures['ours_per_s']:.0f} forms/s; naive "
            f"docxtpl loop {figures['naive_per_s']:.1f} forms/s; ratio {figures['ratio']:.1f}x "
            "(target >= 10x)"
        )
        forms = fill_returns(workspace, Path(tmp) / "returned")
        figures = bench_collect(workspace, Path(tmp) / "returned", forms, naive_sample=200)
        print(
            f"collect: {figures['forms']} returned forms, {figures['ours_per_s']:.0f} forms/s "
            f"(target >= 300); naive python-docx loop {figures['naive_per_s']:.0f} forms/s; "
            f"ratio {figures['ratio']:.1f}x"
        )
    with tempfile.TemporaryDirectory(prefix="samtale-bench-report-") as tmp:
        from bench_report import bench_report

        figures = bench_report(Path(tmp) / "ws", args.report_employees)
        print(
            f"report: {figures['employees']} employees in {figures['report_s']:.1f} s "
            f"(target: a few seconds); loading the answers workbook with openpyxl "
            f"{figures['load_s']:.1f} s; ratio {figures['ratio']:.1f}x"
        )
    if not args.skip_convert:
        from bench_convert import bench_convert

        figures = bench_convert(args.minutes)
        print(
            f"convert: {figures['pool_pdfs_per_s']:.1f} PDFs/s with the warm pool; per-file "
            f"soffice {figures['naive_pdfs_per_s']:.2f} PDFs/s; ratio {figures['ratio']:.1f}x "
            "(target >= 10 PDFs/s, >= 15x)"
        )
    if not args.skip_schedule:
        from bench_schedule import bench_schedule, describe

        print(describe(bench_schedule()))


if __name__ == "__main__":
    main()
