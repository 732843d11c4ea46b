"""A small workspace for the personal-data tests: a manager and her two people, one cycle.

Åse and Oliver report to Randi. Forms are generated and drafted (Randi's email carries the manager
forms of both), Åse returns hers as a file and a PDF by mistake, Oliver by email, Randi returns
both manager forms in ONE email, a stranger sends a PDF, collect runs, HR corrects one of Åse's
answers, and the sealed minutes of both are archived (tiny PDFs sealed with a demo certificate,
no LibreOffice). Every answer carries a marker naming whose it is, so a test can tell whether
anything of the other person leaked.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import openpyxl
from openpyxl import Workbook

from pipeline.commands.collect import collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.commands.send import send_for_cycle
from pipeline.formats import email_parts
from pipeline.formats.seal import (
    Attachment,
    PdfInfo,
    attachments_of,
    load_seal,
    prepare_pdf,
    seal_pdf,
)
from pipeline.state.archive import FOLLOWUPS, MINUTES, Archive, archived_name
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.certificates import create_demo_certificate
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE, ROOT, make_workspace, pdf_of_objects

PASSWORD = "Segl-for-personvern 2027"
RANDI = ("300", "Randi Sæther-Øvrebø", "randi.saether@fjordlys.example", "nb")
ASE = ("301", "Åse Øvrebø-Lindqvist", "ase.lindqvist@fjordlys.example", "nb")
OLIVER = ("302", "Oliver Bjørnstad-Hughes", "oliver.hughes@fjordlys.example", "en")
MARKERS = {  # (employee id, form kind) -> the text in every answer of that form
    ("301", "employee"): "ÅSE-SKRIVER",
    ("301", "manager"): "RANDI-OM-ÅSE",
    ("302", "employee"): "OLIVER-WRITES",
    ("302", "manager"): "RANDI-ABOUT-OLIVER",
}
HR_CORRECTION = "Rettet av HR: ÅSE-SKRIVER korrigert"
STRANGER = "ukjent.avsender@elsewhere.example"


@dataclass(frozen=True)
class Built:
    """The workspace and the seal its archive was sealed with."""

    workspace: Workspace
    p12: Path
    corrected_key: str  # the answer of Åse's employee form that HR corrected


def write_roster(path: Path, people=(RANDI, ASE, OLIVER)) -> None:
    """Write a roster of ``people`` (Randi manages the others)."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Språk"])
    for employee_id, name, address, language in people:
        manager = None if employee_id == RANDI[0] else int(RANDI[0])
        sheet.append([int(employee_id), name, address, manager, "Drift", language])
    book.save(path)


def form_of(workspace: Workspace, employee_id: str, kind: str) -> bytes:
    """Return the generated form of one person and kind."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.output_dir / str(CYCLE) / record.path).read_bytes()


def filled(workspace: Workspace, employee_id: str, kind: str) -> bytes:
    """Return a form filled with its marker in every text answer."""
    data = form_of(workspace, employee_id, kind)
    marker = MARKERS[(employee_id, kind)]
    answers: dict[str, str | bool] = {}
    for field in fields_of(data):
        if field.type == "checkbox":
            answers[field.key] = True
        elif field.type in ("dropdown", "combobox"):
            choices = [o for o in field.options if o]
            if choices:
                answers[field.key] = choices[-1]
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-01-20"
        else:
            answers[field.key] = f"{marker} {field.key}"
    return fill_form(data, answers)


def email_with(sender: tuple, text: str, files: list[tuple[str, bytes]], when: int) -> bytes:
    """Return an email from ``sender`` to HR with ``files`` attached."""
    message = EmailMessage()
    message["From"] = f"{sender[0]} <{sender[1]}>"
    message["To"] = "HR <medarbeidersamtale@fjordlys.example>"
    message["Subject"] = "Skjema"
    message["Date"] = format_datetime(dt.datetime(CYCLE, 1, when, 9, 30, tzinfo=dt.UTC))
    message.set_content(text)
    for name, data in files:
        maintype, subtype = (
            ("application", "pdf")
            if name.endswith(".pdf")
            else (
                "application",
                "vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        )
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def minutes_pdf(marker: str) -> bytes:
    """Return a one-page PDF showing ``marker`` (ASCII)."""
    content = b"BT /F1 12 Tf 72 700 Td (" + marker.encode("ascii") + b") Tj ET"
    return pdf_of_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def archive_minutes(workspace: Workspace, p12: Path, person: tuple, goal: str) -> None:
    """Archive sealed minutes (with answers.json inside) and follow-ups for one person."""
    seal = load_seal(p12, PASSWORD)
    answers = {
        "minutes": {"goal_1": goal, "goal_1_measure": "Sertifikat", "employee_name": person[1]},
        "employee": {"goal_1": f"{goal} (forslag)"},
    }
    data = json.dumps(answers, ensure_ascii=False).encode("utf-8")
    info = PdfInfo(f"Referat {CYCLE}", "Fjordlys Energi AS", "Endelig referat", [person[0]])
    attached = [Attachment("answers.json", data, "Svarene", "application/json")]
    pdf = seal_pdf(
        prepare_pdf(minutes_pdf(f"Referat {person[0]}"), info, attached),
        seal,
        reason="Endelig referat",
    )
    archive = Archive.of(workspace, CYCLE)
    folder = archive.employee_folder(person[0], person[1])
    for kind, body in (
        (MINUTES, pdf),
        (FOLLOWUPS, b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"),
    ):
        archive.add(
            f"{folder}/{archived_name(kind, CYCLE, 1)}",
            body,
            employee_id=person[0],
            kind=kind,
            version=1,
            source_sha256=f"{int(person[0]):064x}",
            certificate_sha256=seal.certificate_sha256 if kind == MINUTES else "",
            sealed_at="2027-02-10T09:00:00+00:00" if kind == MINUTES else "",
        )


def build(root: Path) -> Built:
    """Return the workspace described in the module docstring."""
    workspace = make_workspace(root)
    write_roster(workspace.roster_path)
    p12 = create_demo_certificate(root / "seal.p12", PASSWORD, "Fjordlys Energi AS")
    generate_forms(workspace, CYCLE, workers=1)
    send_for_cycle(workspace, CYCLE, "prep")
    returned = workspace.input_dir / "returned" / str(CYCLE)
    returned.mkdir(parents=True)
    (returned / "åse-skjema.docx").write_bytes(filled(workspace, "301", "employee"))
    oliver = [("my-form.docx", filled(workspace, "302", "employee"))]
    (returned / "oliver.eml").write_bytes(
        email_with((OLIVER[1], OLIVER[2]), "Here is my form. OLIVER-WRITES in the mail", oliver, 12)
    )
    both = [
        ("skjema-åse.docx", filled(workspace, "301", "manager")),
        ("skjema-oliver.docx", filled(workspace, "302", "manager")),
    ]
    text = f"Vedlagt: {ASE[1]} og {OLIVER[1]}. RANDI-TEKST"
    (returned / "randi.eml").write_bytes(email_with((RANDI[1], RANDI[2]), text, both, 14))
    pdf = [("ÅSE-SKRIVER.pdf", b"%PDF-1.4 not a form ASE-PDF")]
    (returned / "åse-pdf.eml").write_bytes(email_with((ASE[1], ASE[2]), "Oops", pdf, 15))
    strange = [("invoice.pdf", b"%PDF-1.4 STRANGER-PDF")]
    (returned / "stranger.eml").write_bytes(email_with(("X", STRANGER), "Hello", strange, 16))
    collect_returned(workspace, CYCLE, returned, workers=1)
    corrected = correct_one_answer(workspace)
    archive_minutes(workspace, p12, ASE, "Sertifisering i driftsledelse ÅSE-MÅL")
    archive_minutes(workspace, p12, OLIVER, "Lead the cloud move OLIVER-GOAL")
    return Built(workspace, p12, corrected)


def correct_one_answer(workspace: Workspace) -> str:
    """Return the key of Åse's employee answer HR corrected in the answers workbook."""
    path = workspace.answers_path(CYCLE)
    book = openpyxl.load_workbook(path)
    sheet = book["employee"]
    header = [c.value for c in sheet[1]]
    key = next(k for k in header if k and str(k).startswith("goal_1"))
    for row in sheet.iter_rows(min_row=2):
        if str(row[0].value) == ASE[0]:
            row[header.index(key)].value = HR_CORRECTION
    book.save(path)
    return key


def copy(built: Built, target: Path) -> Built:
    """Return a private copy of a built workspace."""
    shutil.copytree(built.workspace.root, target, symlinks=True)
    return Built(Workspace.at(target), target / "seal.p12", built.corrected_key)


def texts_in(data: bytes, name: str = "") -> str:
    """Return every text inside a file: zips, emails and PDF attachments opened, recursively."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(
                info.filename + "\n" + texts_in(archive.read(info), info.filename)
                for info in archive.infolist()
            )
    if data[:5] == b"%PDF-":
        try:
            inner = attachments_of(data)
        except Exception:  # noqa: BLE001 - a PDF without attachments
            inner = {}
        return data.decode("latin-1") + "\n".join(texts_in(v, k) for k, v in inner.items())
    if name.endswith(".eml"):
        message = email_parts.parse(data)
        parts = [str(message)]
        for part in message.walk():
            if not part.is_multipart():
                payload = part.get_payload(decode=True) or b""
                parts.append(texts_in(payload, part.get_filename() or ""))
        return "\n".join(parts)
    return html.unescape(data.decode("utf-8", errors="replace"))  # XML writes Å as &#197;


KILLER = """
import datetime as dt, json, os, signal, sys
import pipeline.domain.personal_data as personal_data
from pipeline.commands.erase import erase_person
from pipeline.commands.retention import apply_retention
from pipeline.state.workspace import Workspace

point, root, call = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
done = []
if point == "log":  # the journal is written, the log not yet
    def append_batch(self, batch):
        os.kill(os.getpid(), signal.SIGKILL)
    personal_data.DeletionLog.append_batch = append_batch
else:  # the log is written and int(point) steps are done
    original = personal_data.run_step
    def run_step(workspace, step):
        if len(done) == int(point):
            os.kill(os.getpid(), signal.SIGKILL)
        done.append(step)
        original(workspace, step)
    personal_data.run_step = run_step
workspace = Workspace.at(root)
now = dt.datetime.fromisoformat(call.pop("now"))
if call.pop("command") == "retention":
    apply_retention(workspace, apply=True, now=now)
else:
    erase_person(workspace, apply=True, now=now, **call)
"""


def run_killed(workspace: Workspace, point: str, command: str, now: dt.datetime, **options) -> int:
    """Run retention or erase (with --apply) in a subprocess killed (SIGKILL) at ``point``."""
    call = json.dumps({"command": command, "now": now.isoformat(), **options})
    result = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(workspace.root), call],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode
