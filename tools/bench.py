"""`make bench`: samtale's own stages on its own documents, each against a naive baseline.

Each stage runs as the user runs it (the `samtale` command, one process) on a generated company
(invented people), and its naive baseline runs in the same run on the same documents:

1. generate: the preparation forms vs a naive docxtpl loop (load, render, save one form at a time)
2. collect: every form returned, one third by email (.eml), vs a naive loop (python-docx reads
   each form, the email package opens each .eml), one file at a time
3. minutes: the minutes forms vs a naive loop (python-docx reads both preparation forms, docxtpl
   renders the minutes form)
4. finalize: sealed minutes (flattened, signature page, PDF/A, attachments, PAdES seal, archive)
   vs per-file `soffice --convert-to pdf` (PDF/A) and a fresh pyHanko signer for every PDF
5. report and schedule: tools/bench_report.py and tools/bench_schedule.py

Peak memory is the largest sum of the proportional set size of a stage's processes (sampled),
LibreOffice apart. Figures are rates and ratios; nothing here is a pass/fail test.

    PYTHONPATH=. .venv/bin/python tools/bench.py [--employees 600] [--convert]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from docx import Document
from docxtpl import DocxTemplate
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pypdf import PdfReader, PdfWriter

from pipeline.commands import finalize as finalizing
from pipeline.commands.minutes import WORDS, agenda, merged_specs, sides
from pipeline.domain.forms import form_context
from pipeline.domain.questions import questions_from_json
from pipeline.domain.versions import lists_of
from pipeline.formats.previous import PreviousCycle
from pipeline.formats.roster import read_roster
from pipeline.formats.seal import load_seal
from pipeline.formats.templates import template_path
from pipeline.state.identity import FormIdentity
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.convert import convert_once

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
CYCLE = 2027
NS = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}

from bench_cycle import (  # noqa: E402  (tools/, on the path just above)
    CERTIFICATE,
    PASSWORD,
    archived,
    ledger_count,
    make_workspace,
    run_stage,
    simulate_minutes,
    simulate_prep,
)


def stage(name: str, folder: Path, args: list[str], log: Path) -> dict:
    """Return the seconds, peak memory and exit status of one samtale command."""
    seconds, sampler, status = run_stage(name, folder, args, log)
    return {
        "seconds": seconds,
        "peak_mb": sampler.peak_kb / 1024,
        "libreoffice_mb": sampler.libreoffice_kb / 1024,
        "status": status,
    }


def per_second(count: int, seconds: float) -> float:
    """Return count / seconds (0 for no time)."""
    return count / seconds if seconds else 0.0


# -- 1. generate ---------------------------------------------------------------------------------


def naive_generate(workspace: Workspace, sample: int) -> float:
    """Return forms/s of a naive docxtpl loop: load, render and save one form at a time."""
    roster = read_roster(workspace.roster_path)
    secret, config = workspace.secret(), workspace.config()
    started, done = time.perf_counter(), 0
    for employee in roster.employees[: sample // 2]:
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
    return per_second(done, time.perf_counter() - started)


# -- 2. collect ----------------------------------------------------------------------------------


def naive_read(data: bytes) -> dict:
    """Return the tagged controls of one .docx, the naive way (python-docx + lxml)."""
    document = Document(io.BytesIO(data))
    answers = {}
    for sdt in document.element.body.iter("{*}sdt"):
        tags = sdt.xpath("./w:sdtPr/w:tag/@w:val", namespaces=NS)
        if tags:
            answers[tags[0]] = "".join(sdt.xpath(".//w:t/text()", namespaces=NS))
    return answers


def naive_collect(files: list[Path]) -> float:
    """Return files/s of a naive loop: each .eml opened, each form read with python-docx."""
    started = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".eml":
            message = email.message_from_bytes(data, policy=email.policy.default)
            for part in message.iter_attachments():
                naive_read(part.get_payload(decode=True))
        else:
            naive_read(data)
    return per_second(len(files), time.perf_counter() - started)


# -- 3. minutes ----------------------------------------------------------------------------------


def naive_minutes(workspace: Workspace, sample: int) -> float:
    """Return forms/s of a naive loop: both preparation forms read, the minutes rendered."""
    roster = read_roster(workspace.roster_path)
    config, secret = workspace.config(), workspace.secret()
    cycle_dir = workspace.cycle_dir(CYCLE)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        people = [e for e in roster.employees if ledger.accepted_versions_of(e.id)][:sample]
        stored = {
            e.id: {v.kind: cycle_dir / v.stored_path for v in ledger.accepted_versions_of(e.id)}
            for e in people
        }
        fields = {
            (e.id, kind): questions_from_json(ledger.form(e.id, kind).fields)
            for e in people
            for kind in ("employee", "manager")
        }
    started = time.perf_counter()
    for employee in people:
        mine = naive_read(stored[employee.id]["employee"].read_bytes())
        theirs = naive_read(stored[employee.id]["manager"].read_bytes())
        specs = merged_specs(fields[(employee.id, "employee")], fields[(employee.id, "manager")])
        words = WORDS.get(employee.language, WORDS["nb"])
        token = FormIdentity(CYCLE, "minutes", employee.id, "naive").token(secret)
        context = form_context(
            employee,
            roster.manager_of(employee),
            CYCLE,
            "minutes",
            token,
            PreviousCycle(""),
            config,
        )
        context |= {
            "sides": sides(specs, mine, theirs, words),
            "agenda": agenda(specs, mine, theirs, words),
        }
        template = DocxTemplate(
            template_path(workspace.templates_dir, "minutes", employee.language)
        )
        template.render(context, autoescape=True)
        template.save(io.BytesIO())
    return per_second(len(people), time.perf_counter() - started)


# -- 4. finalize ---------------------------------------------------------------------------------


def final_documents(workspace: Workspace, folder: Path, sample: int) -> list[tuple]:
    """Return (final .docx, party, job) of some confirmed minutes, built as finalize builds them."""
    roster = read_roster(workspace.roster_path)
    seal = load_seal(workspace.root / CERTIFICATE, PASSWORD)
    sealing = finalizing.Sealing(seal, CYCLE, workspace.config().organisation, "")
    found = []
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        languages = ledger.form_languages("minutes")
        standings = finalizing.minutes_standings(ledger)
        chosen = ledger.chosen_versions()
        lists = lists_of(ledger)
        for employee_id in sorted(s.employee_id for s in standings.values() if s.confirmed):
            party = finalizing.party_of(employee_id, roster, languages, {})
            item = finalizing.plan_item(ledger, party, chosen, {}, lists)
            job = finalizing.build_job(
                finalizing.JobSettings(sealing, workspace.cycle_dir(CYCLE), folder), item
            )
            found.append(job)
            if len(found) == sample:
                break
    return found


def naive_seal(pdf: bytes, job, p12: Path) -> bytes:
    """Return ``pdf`` sealed the straightforward way: a fresh signer, pypdf, then pyHanko."""
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=PASSWORD.encode())
    writer = PdfWriter(PdfReader(io.BytesIO(pdf)), incremental=True)
    writer.add_metadata({"/Title": f"Referat {job.party.name}", "/Author": "HR"})
    for document in job.documents:
        writer.add_attachment(f"{document.version.kind}.docx", document.data)
    prepared = io.BytesIO()
    writer.write(prepared)
    meta = signers.PdfSignatureMetadata(
        field_name="Seal",
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )
    incremental = IncrementalPdfFileWriter(io.BytesIO(prepared.getvalue()))
    return signers.PdfSigner(meta, signer=signer).sign_pdf(incremental).getvalue()


def naive_finalize(workspace: Workspace, folder: Path, sample: int) -> float:
    """Return sealed PDFs/s of per-file soffice (PDF/A) and a fresh pyHanko signer per PDF."""
    jobs = final_documents(workspace, folder, sample)
    started = time.perf_counter()
    for job in jobs:
        convert_once(job.docx, job.pdf, pdfa=True)
        naive_seal(job.pdf.read_bytes(), job, workspace.root / CERTIFICATE)
    return per_second(len(jobs), time.perf_counter() - started)


# -- the run -------------------------------------------------------------------------------------


def row(name: str, items: int, ours: dict, naive: float) -> str:
    """Return one stage as a line of the table."""
    rate = per_second(items, ours["seconds"])
    office = f" + LibreOffice {ours['libreoffice_mb']:.0f} MB" if ours["libreoffice_mb"] else ""
    failed = "" if ours["status"] == 0 else f"  (exit status {ours['status']})"
    return (
        f"{name:<10} {items:>6} {ours['seconds']:>8.1f} {rate:>9.1f} {naive:>10.2f} "
        f"{rate / naive if naive else 0:>7.1f}x  {ours['peak_mb']:>5.0f} MB{office}{failed}"
    )


def bench_stages(folder: Path, employees: int) -> list[str]:
    """Return the table rows of the product's stages against their naive baselines."""
    log = folder.parent / "bench.log"
    make_workspace(folder, employees)
    workspace = Workspace.at(folder)
    cycle = ["--cycle", str(CYCLE)]
    lines = []
    ours = stage("generate", folder, ["generate", *cycle], log)
    forms = ledger_count(folder, "SELECT COUNT(*) FROM forms")
    lines.append(row("generate", forms, ours, naive_generate(workspace, 60)))
    prep = folder / "input" / "returned" / str(CYCLE)
    simulate_prep(folder, prep)
    returned = sorted(p for p in prep.iterdir() if p.is_file())
    ours = stage("collect", folder, ["collect", *cycle, "--from", str(prep)], log)
    lines.append(row("collect", len(returned), ours, naive_collect(returned[::10])))
    ours = stage("minutes", folder, ["minutes", *cycle], log)
    written = ledger_count(folder, "SELECT COUNT(*) FROM forms WHERE kind = 'minutes'")
    lines.append(row("minutes", written, ours, naive_minutes(workspace, 30)))
    confirmed = folder / "input" / "returned" / f"{CYCLE}-minutes"
    simulate_minutes(folder, confirmed)
    stage("collect", folder, ["collect", *cycle, "--from", str(confirmed)], log)  # not counted
    ours = stage("finalize", folder, ["finalize", *cycle], log)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        naive = naive_finalize(workspace, Path(work), 6)
    lines.append(row("finalize", archived(folder), ours, naive))
    return lines


def main() -> None:
    """Run the benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=600)
    parser.add_argument("--report-employees", type=int, default=10_000)
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--skip-schedule", action="store_true")
    parser.add_argument("--convert", action="store_true", help="also the bare conversion pool")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"Machine: {os.cpu_count()} cores, load {load:.1f}; {args.employees} employees")
    print(
        f"{'stage':<10} {'items':>6} {'seconds':>8} {'items/s':>9} {'naive/s':>10} "
        f"{'ratio':>8}  peak memory (samtale, LibreOffice)"
    )
    with tempfile.TemporaryDirectory(prefix="samtale-bench-") as tmp:
        for line in bench_stages(Path(tmp) / "ws", args.employees):
            print(line, flush=True)
    if not args.skip_report:
        from bench_report import bench_report

        with tempfile.TemporaryDirectory(prefix="samtale-bench-report-") as tmp:
            figures = bench_report(Path(tmp) / "ws", args.report_employees)
        print(
            f"report: {figures['employees']} employees in {figures['report_s']:.1f} s; "
            f"loading the answers workbook with openpyxl {figures['load_s']:.1f} s; "
            f"ratio {figures['ratio']:.1f}x"
        )
    if args.convert:
        from bench_convert import bench_convert

        figures = bench_convert(200)
        print(
            f"convert (bare pool, no seal): {figures['pool_pdfs_per_s']:.1f} PDFs/s; per-file "
            f"soffice {figures['naive_pdfs_per_s']:.2f} PDFs/s; ratio {figures['ratio']:.1f}x"
        )
    if not args.skip_schedule:
        from bench_schedule import bench_schedule, describe

        print(describe(bench_schedule()))


if __name__ == "__main__":
    main()
