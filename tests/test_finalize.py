"""``finalize``: confirmed minutes become sealed PDF/A files in the archive, nothing half-done.

The workspace is built by hand: a roster, a minutes-like .docx with content controls (filled the
way Word stores them), and ledger rows for the returned files, as ``collect`` would leave them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import threading
import zipfile
import zlib
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from docx import Document
from icalendar import Calendar
from lxml import etree
from openpyxl import Workbook
from pypdf import PdfReader, PdfWriter

from pipeline.commands.finalize import (
    WORDS,
    Evidence,
    Party,
    Returned,
    Sealing,
    calendar_changed,
    final_docx,
    finalize_minutes,
    followups_calendar,
    plan_job,
    returned_evidence,
    signature_page,
)
from pipeline.commands.verify import configured_certificate_sha256, verify_archive
from pipeline.domain.confirmation import minutes_states
from pipeline.domain.record import cycle_record
from pipeline.errors import SealError, WorkspaceError
from pipeline.formats import ooxml
from pipeline.formats.certificate import public_certificate_path, write_public_certificate
from pipeline.formats.convert import ConverterPool
from pipeline.formats.seal import attachments_of, load_seal
from pipeline.state.archive import Archive
from pipeline.state.identity import PROPERTY, FormIdentity
from pipeline.state.ledger import FormRecord, Ledger, ReturnedVersion
from pipeline.state.workspace import Workspace
from testkit.certificates import create_demo_certificate
from testkit.word import fill_fields

CYCLE = 2027
PASSWORD = "Seglet-på-Fjordlys 2027!"
ORGANISATION = "Fjordlys Energi AS"
MANAGER = ("100", "Randi Sæther-Øvrebø")
PEOPLE = {  # id: (name, language, department)
    "101": ("Åse Øvrebø-Lindqvist", "nb", "Drift og vedlikehold"),
    "102": ("Oliver Bjørnstad-Hughes", "en", "IT og digitalisering"),
    "103": ("Kåre Ødegård", "nb", "Kundeservice"),
    "104": ("Marit Ås-Kristiansen", "nb", "Økonomi og innkjøp"),
    "105": ("Per-Øyvind Ærø", "nb", "Kundeservice"),
}
FIELDS = [  # key, label, control type
    ("agreed_look_back", "Tilbakeblikk", "text"),
    ("agreed_goals", "Mål", "text"),
    ("agreed_wellbeing", "Trivsel", "text"),
    ("agreed_other", "Annet", "text"),
    ("goal_1", "Mål 1", "text"),
    ("goal_1_measure", "Måles ved", "text"),
    ("goal_1_deadline", "Frist", "date"),
    ("followup_1_what", "Tiltak 1", "text"),
    ("followup_1_who", "Ansvarlig 1", "text"),
    ("followup_1_when", "Når 1", "date"),
    ("followup_2_what", "Tiltak 2", "text"),
    ("followup_2_who", "Ansvarlig 2", "text"),
    ("followup_2_when", "Når 2", "date"),
    ("manager_confirmed", "Leder bekrefter referatet", "checkbox"),
    ("manager_name", "Leders navn", "text"),
    ("manager_date", "Dato", "date"),
    ("employee_confirmed", "Medarbeider bekrefter referatet", "checkbox"),
    ("employee_name", "Medarbeiders navn", "text"),
    ("employee_date", "Dato", "date"),
]
PLACEHOLDER = "Klikk her og skriv"
NS = f'xmlns:w="{ooxml.W}" xmlns:w14="{ooxml.W14}"'


def agreed(employee_id: str, *, employee_confirmed: bool = True, text: str = "") -> dict:
    """Return the answers of a filled minutes form (agreed_other left empty on purpose)."""
    name = PEOPLE[employee_id][0]
    return {
        "agreed_look_back": text or f"{name} leverte migreringen av kundeportalen i tide.",
        "agreed_goals": "Lede ett forbedringsprosjekt innen juni.\nDele erfaringer på allmøtet.",
        "agreed_wellbeing": "Trives godt i teamet; arbeidsmengden har vært høy i perioder.",
        "goal_1": "Fullføre sertifisering i driftsledelse",
        "goal_1_measure": "Bestått eksamen",
        "goal_1_deadline": "2027-09-30",
        "followup_1_what": "Kurs i prosjektledelse",
        "followup_1_who": MANAGER[1],
        "followup_1_when": "2027-03-15",
        "followup_2_what": "Hospitering i driftsavdelingen",
        "followup_2_who": name,
        "manager_confirmed": True,
        "manager_name": MANAGER[1],
        "manager_date": "2027-02-03",
        "employee_confirmed": employee_confirmed,
        "employee_name": name if employee_confirmed else "",
        "employee_date": "2027-02-05" if employee_confirmed else "",
    }


def control(key: str, label: str, kind: str, number: int) -> str:
    """Return the XML of one empty content control as the form contract describes it."""
    props = f'<w:alias w:val="{label}"/><w:tag w:val="{key}"/><w:id w:val="{number}"/>'
    hint = f'<w:r><w:rPr><w:rStyle w:val="PlaceholderText"/></w:rPr><w:t>{PLACEHOLDER}</w:t></w:r>'
    if kind == "checkbox":
        box = (
            '<w14:checkbox><w14:checked w14:val="0"/>'
            '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
            '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox>'
        )
        return (
            f"<w:p {NS}><w:sdt><w:sdtPr>{props}{box}</w:sdtPr>"
            "<w:sdtContent><w:r><w:t>☐</w:t></w:r></w:sdtContent></w:sdt></w:p>"
        )
    if kind == "date":
        date = '<w:date><w:dateFormat w:val="dd.MM.yyyy"/><w:lid w:val="nb-NO"/></w:date>'
        return (
            f"<w:p {NS}><w:sdt><w:sdtPr>{props}<w:showingPlcHdr/>{date}</w:sdtPr>"
            f"<w:sdtContent>{hint}</w:sdtContent></w:sdt></w:p>"
        )
    return (
        f"<w:sdt {NS}><w:sdtPr>{props}<w:showingPlcHdr/></w:sdtPr>"
        f"<w:sdtContent><w:p>{hint}</w:p></w:sdtContent></w:sdt>"
    )


def minutes_form(token: str, decorate=None) -> bytes:
    """Return an empty minutes-like form: fixed text, one answer cell per field, the identity."""
    document = Document()
    document.add_heading("Referat fra medarbeidersamtalen", level=1)
    document.add_paragraph("Lederen skriver referatet; begge bekrefter det til slutt.")
    table = document.add_table(rows=len(FIELDS), cols=2)
    for number, (row, (key, label, kind)) in enumerate(zip(table.rows, FIELDS, strict=True)):
        row.cells[0].text = label
        cell = row.cells[1]._tc
        for paragraph in cell.findall(ooxml.W_P):
            cell.remove(paragraph)
        cell.append(etree.fromstring(control(key, label, kind, number + 1)))
    document.add_paragraph(f"Skjema-ID: {token}")
    if decorate is not None:
        decorate(document)
    buffer = io.BytesIO()
    document.save(buffer)
    parts = zip_parts(buffer.getvalue())
    parts = ooxml.with_custom_properties(parts, {PROPERTY: token})
    return ooxml.write_package(parts, list(parts))


def filled(form: bytes, answers: dict) -> bytes:
    """Return the form with ``answers`` filled in the way Word stores them."""
    document = zip_parts(form)[ooxml.DOCUMENT_PART]
    return ooxml.replace_part(form, ooxml.DOCUMENT_PART, fill_fields(document, answers))


def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def prep_form(employee_id: str, kind: str) -> bytes:
    document = Document()
    document.add_paragraph(f"Forberedelse ({kind}) for {PEOPLE[employee_id][0]}, {CYCLE}.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@dataclass
class Built:
    """A hand-built workspace and what went into it."""

    workspace: Workspace
    returned: dict  # (employee id, kind) -> list of (bytes, answers, evidence dict)
    tokens: dict


def write_roster(path: Path, ids) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Språk"])
    sheet.append([int(MANAGER[0]), MANAGER[1], "randi@fjordlys.example", None, "Ledelse", "nb"])
    for employee_id in ids:
        name, language, department = PEOPLE[employee_id]
        email = f"{employee_id}@fjordlys.example"
        sheet.append([int(employee_id), name, email, int(MANAGER[0]), department, language])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def build(root: Path, p12: Path, ids=tuple(PEOPLE), *, seal_config: bool = True) -> Built:
    """Return a workspace at ``root`` with a roster, the seal and an empty ledger."""
    root.mkdir(parents=True, exist_ok=True)
    config = f'[organisation]\nname = "{ORGANISATION}"\n'
    if seal_config:
        (root / "seal").mkdir()
        shutil.copy2(p12, root / "seal" / "demo-seal.p12")
        config += '[seal]\ncertificate = "seal/demo-seal.p12"\n'
    (root / "samtale.toml").write_text(config, encoding="utf-8")
    workspace = Workspace.at(root)
    write_roster(workspace.roster_path, ids)
    tokens = {
        employee_id: FormIdentity(CYCLE, "minutes", employee_id, "0a1b2c3d4e5f").token(
            workspace.secret(create=True)
        )
        for employee_id in ids
    }
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        for employee_id in ids:
            ledger.record_form(
                FormRecord(
                    employee_id,
                    "minutes",
                    f"forms/{employee_id}_referat_{CYCLE}.docx",
                    "0" * 64,
                    "x",
                    "0a1b2c3d4e5f",
                    PEOPLE[employee_id][1],
                    "[]",
                    "sent",
                    "2027-01-20T08:00:00+00:00",
                    "2027-01-20T08:00:00+00:00",
                )
            )
    return Built(workspace, {}, tokens)


def give_back(
    built: Built,
    employee_id: str,
    kind: str,
    data: bytes,
    answers: dict,
    *,
    when: str,
    sender: str = "",
) -> str:
    """Store a returned file and its ledger row the way ``collect`` does; return its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    cycle_dir = built.workspace.cycle_dir(CYCLE)
    stored = f"returned/{employee_id}/{kind}_{sha[:12]}_{kind}.docx"
    (cycle_dir / stored).parent.mkdir(parents=True, exist_ok=True)
    (cycle_dir / stored).write_bytes(data)
    source = f"innboks/{employee_id}.eml → {kind}.docx" if sender else f"mottatt/{kind}.docx"
    row = {
        "sha256": sha,
        "source": source,
        "stored_path": stored,
        "outcome": "accepted",
        "employee_id": employee_id,
        "kind": kind,
        "sender": sender,
        "sent_at": when if sender else "",
        "file_time": when,
        "collected_at": "2027-02-10T09:00:00+00:00",
        "answers": json.dumps(answers, ensure_ascii=False),
    }
    with Ledger(built.workspace.ledger_path(CYCLE)) as ledger:
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        ledger.db.execute(
            f"INSERT INTO returned_files ({columns}) VALUES ({marks})", tuple(row.values())
        )
    built.returned.setdefault((employee_id, kind), []).append((data, answers, row))
    return sha


def give_back_all(
    built: Built, employee_id: str, answers: dict, *, sender: str = "", form: bytes | None = None
) -> bytes:
    """Return the filled minutes after storing both prep forms and the minutes as returned."""
    for kind in ("employee", "manager"):
        prep_answers = {"results": f"{kind}-svar for {employee_id}"}
        give_back(
            built,
            employee_id,
            kind,
            prep_form(employee_id, kind),
            prep_answers,
            when="2027-01-25T10:00:00+00:00",
        )
    minutes = filled(form or minutes_form(built.tokens[employee_id]), answers)
    give_back(
        built,
        employee_id,
        "minutes",
        minutes,
        answers,
        when="2027-02-05T14:30:00+00:00",
        sender=sender,
    )
    return minutes


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def pdfsig(path: Path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def squeeze(text: str) -> str:
    return "".join(text.split())


def copy_workspace(workspace: Workspace, target: Path) -> Workspace:
    shutil.copytree(workspace.root, target, symlinks=True)
    return Workspace.at(target)


# --- returned minutes that point out of the package ------------------------------------------

R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
O_RELID = "{urn:schemas-microsoft-com:office:office}relid"
LINKING = {"aFChunk", "attachedTemplate", "subDocument", "oleObject", "package", "frame"}


def png(rgb: tuple[int, int, int], size: int) -> bytes:
    """Return a square PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def with_pictures(document) -> None:
    """Add two pictures to the body and one to the header (all stored in the file, for now)."""
    document.add_paragraph("Bilder fra intranettet:")
    document.add_picture(io.BytesIO(png((200, 30, 30), 8)))
    document.add_picture(io.BytesIO(png((30, 200, 30), 8)))
    header = document.sections[0].header.paragraphs[0]
    header.add_run().add_picture(io.BytesIO(png((30, 30, 200), 8)))


def relationship(rid: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rid}" Type="{R}/{kind}" Target="{target}" TargetMode="External"/>'


def rels_part(*relationships: str) -> bytes:
    body = "".join(relationships)
    return f'<Relationships xmlns="{ooxml.PKG_REL}">{body}</Relationships>'.encode()


def linked_outside(form: bytes, url: str, local: Path, *, font: bool = True) -> bytes:
    """Return a ``with_pictures`` form whose pictures, objects and settings point outside.

    The first body picture is only linked (``r:link``) to ``url``, the second is stored and
    linked, the header picture is linked to the local file ``local``; a hyperlink, a linked
    VML picture and OLE object, an altChunk, a subdocument, an attached template, a frame and
    (with ``font``) an embedded font point to ``url`` too. LibreOffice refuses to open a file
    whose font points outside, so the conversion test leaves it out.
    """
    parts = zip_parts(form)
    document = parts[ooxml.DOCUMENT_PART].decode()
    first, second = re.findall(r'r:embed="(rId\d+)"', document)
    rels = parts["word/_rels/document.xml.rels"].decode()
    rels = re.sub(
        rf'<Relationship Id="{first}"[^>]*/>',
        relationship(first, "image", url + "/pixel.png"),
        rels,
    )
    extra = [
        relationship("rIdUtKopi", "image", url + "/kopi.png"),
        relationship("rIdUtKlikk", "hyperlink", url + "/klikk"),
        relationship("rIdUtLenke", "hyperlink", url + "/rutiner"),
        relationship("rIdUtVml", "image", url + "/vml.png"),
        relationship("rIdUtOle", "oleObject", url + "/regneark.xlsx"),
        relationship("rIdUtBit", "aFChunk", url + "/bit.html"),
        relationship("rIdUtDel", "subDocument", url + "/del.docx"),
    ]
    parts["word/_rels/document.xml.rels"] = rels.replace(
        "</Relationships>", "".join(extra) + "</Relationships>"
    ).encode()
    document = document.replace(f'r:embed="{first}"', f'r:link="{first}"')
    document = document.replace(f'r:embed="{second}"', f'r:embed="{second}" r:link="rIdUtKopi"')
    docpr = re.findall(r"<wp:docPr [^>]*/>", document)[1]
    drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
    click = f'<a:hlinkClick xmlns:a="{drawing}" r:id="rIdUtKlikk"/>'
    document = document.replace(docpr, docpr[:-2] + ">" + click + "</wp:docPr>")
    body = (
        '<w:p><w:hyperlink r:id="rIdUtLenke"><w:r><w:t>Se intranettet for rutiner</w:t></w:r>'
        "</w:hyperlink></w:p>"
        '<w:p><w:r><w:pict><v:shape style="width:12pt;height:12pt"><v:imagedata r:id="rIdUtVml"/>'
        "</v:shape></w:pict></w:r></w:p>"
        '<w:p><w:r><w:object><v:shape style="width:12pt;height:12pt">'
        f'<v:imagedata r:id="{second}"/></v:shape><o:OLEObject Type="Link" ProgID="Excel.Sheet.12"'
        ' ShapeID="_x0000_i1025" DrawAspect="Content" r:id="rIdUtOle" UpdateMode="Always"/>'
        "</w:object></w:r></w:p>"
        '<w:altChunk r:id="rIdUtBit"/><w:p><w:subDoc r:id="rIdUtDel"/></w:p>'
    )
    at = document.rindex("<w:sectPr")
    parts[ooxml.DOCUMENT_PART] = (document[:at] + body + document[at:]).encode()
    header_rels = next(n for n in parts if re.fullmatch(r"word/_rels/header\d*\.xml\.rels", n))
    header_name = header_rels.replace("_rels/", "").removesuffix(".rels")
    header = parts[header_name].decode()
    (picture,) = re.findall(r'r:embed="(rId\d+)"', header)
    parts[header_name] = header.replace(f'r:embed="{picture}"', f'r:link="{picture}"').encode()
    parts[header_rels] = re.sub(
        rf'<Relationship Id="{picture}"[^>]*/>',
        relationship(picture, "image", local.as_uri()),
        parts[header_rels].decode(),
    ).encode()
    settings = parts["word/settings.xml"].decode()
    settings = re.sub(r"(<w:settings [^>]*>)", r'\1<w:attachedTemplate r:id="rIdUtMal"/>', settings)
    parts["word/settings.xml"] = settings.encode()
    parts["word/_rels/settings.xml.rels"] = rels_part(
        relationship("rIdUtMal", "attachedTemplate", url + "/mal.dotx")
    )
    web = parts["word/webSettings.xml"].decode()
    source = f'<w:sourceFileName xmlns:r="{R}" r:id="rIdUtRamme"/>'
    frames = f"<w:frameset><w:frame>{source}</w:frame></w:frameset>"
    parts["word/webSettings.xml"] = re.sub(r"(<w:webSettings [^>]*>)", r"\1" + frames, web).encode()
    parts["word/_rels/webSettings.xml.rels"] = rels_part(
        relationship("rIdUtRamme", "frame", url + "/ramme.html")
    )
    if not font:
        return ooxml.write_package(parts, list(parts))
    fonts = parts["word/fontTable.xml"].decode()
    embed = f'<w:embedRegular xmlns:r="{R}" r:id="rIdUtSkrift"/>'
    parts["word/fontTable.xml"] = re.sub(
        r"(<w:font [^>]*>)", r"\1" + embed, fonts, count=1
    ).encode()
    parts["word/_rels/fontTable.xml.rels"] = rels_part(
        relationship("rIdUtSkrift", "font", url + "/skrift.odttf")
    )
    return ooxml.write_package(parts, list(parts))


def outside_references(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    """Return (rels part, target) of every relationship that leads out of the package."""
    found = []
    for name in sorted(n for n in parts if n.endswith(".rels")):
        for rel in etree.fromstring(parts[name]):
            external = rel.get("TargetMode") == "External"
            if external or rel.get("Type", "").rsplit("/", 1)[-1] in LINKING:
                found.append((name, rel.get("Target")))
    return found


def dangling_references(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    """Return (part, id) of every relationship id an XML part uses but its .rels lacks."""
    found = []
    for name in sorted(n for n in parts if n.endswith(".xml")):
        folder, _, file = name.rpartition("/")
        rels = parts.get(f"{folder}/_rels/{file}.rels" if folder else f"_rels/{file}.rels")
        ids = {rel.get("Id") for rel in etree.fromstring(rels)} if rels else set()
        for element in etree.fromstring(parts[name]).iter():
            for attribute, value in element.attrib.items():
                if (attribute.startswith(f"{{{R}}}") or attribute == O_RELID) and value not in ids:
                    found.append((name, value))
    return found


@pytest.fixture
def http_server():
    """Return the URL of an HTTP server on 127.0.0.1 and the list of requests it received."""
    requests: list[tuple[str, str]] = []
    picture = png((0, 0, 0), 16)

    class Counting(BaseHTTPRequestHandler):
        def parse_request(self):
            parsed = super().parse_request()
            if parsed:
                requests.append((self.command, self.path))
            return parsed

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(picture)))
            self.end_headers()
            self.wfile.write(picture)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pdf_image_sizes(path: Path) -> list[tuple[int, int]]:
    """Return (width, height) of every image drawn in a PDF, as pdfimages lists them."""
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()[2:]
    return [(int(row.split()[3]), int(row.split()[4])) for row in listing]


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_p12(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seal")
    return create_demo_certificate(folder / "demo-seal.p12", PASSWORD, ORGANISATION)


@pytest.fixture(scope="module")
def pool():
    with ConverterPool(workers=2, timeout=60) as shared:
        yield shared


@pytest.fixture(scope="module")
def finalized(tmp_path_factory, demo_p12, pool):
    """One finalize run over: 101 (email) and 102 (file, English) confirmed, 103 half, 104 broken
    stored copy, 105 nothing returned."""
    built = build(tmp_path_factory.mktemp("ws") / "samtale", demo_p12)
    give_back_all(
        built, "101", agreed("101"), sender="Randi Sæther-Øvrebø <randi@fjordlys.example>"
    )
    give_back_all(built, "102", agreed("102"))
    give_back_all(built, "103", agreed("103", employee_confirmed=False))
    give_back_all(built, "104", agreed("104"))
    broken = built.returned[("104", "minutes")][0][2]["stored_path"]
    path = built.workspace.cycle_dir(CYCLE) / broken
    path.write_bytes(path.read_bytes() + b"\0")
    steps = []
    report = finalize_minutes(
        built.workspace,
        CYCLE,
        password=PASSWORD,
        pool=pool,
        progress=lambda done, total: steps.append((done, total)),
    )
    return built, report, steps


def archived_pdf(report, employee_id: str) -> Path:
    (found,) = [a for a in report.archived if a.employee_id == employee_id]
    return found.path


# --- one run ---------------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_report_lists_archived_waiting_and_failed(finalized, demo_p12):
    built, report, steps = finalized
    assert [(a.employee_id, a.version) for a in report.archived] == [("101", 1), ("102", 1)]
    assert report.skipped_already_archived == []
    assert [(f.employee_id, f.name) for f in report.failed] == [("104", PEOPLE["104"][0])]
    assert "changed after collect" in report.failed[0].reason
    waiting = {n.employee_id: n.missing for n in report.not_confirmed}
    assert waiting == {
        "103": ("the employee's confirmation",),
        "105": ("the returned minutes: none collected yet",),
    }
    assert [n.name for n in report.not_confirmed] == [PEOPLE["103"][0], PEOPLE["105"][0]]
    assert steps == [(1, 3), (2, 3), (3, 3)]  # every confirmed minutes, 104's failure too
    folders = sorted(p.name for p in report.archive_dir.iterdir() if p.is_dir())
    assert folders == ["101_Åse_Øvrebø-Lindqvist", "102_Oliver_Bjørnstad-Hughes"]
    cycle_dir = built.workspace.cycle_dir(CYCLE)
    assert not list(cycle_dir.glob(".finalize-*"))  # the work files are gone


@pytest.mark.libreoffice
def test_archived_files_are_private_and_named_by_version(finalized):
    _, report, _ = finalized
    pdf = archived_pdf(report, "101")
    assert pdf.relative_to(report.archive_dir).as_posix() == (
        f"101_Åse_Øvrebø-Lindqvist/referat_{CYCLE}_v1.pdf"
    )
    assert report.archived[0].followups == pdf.with_name(f"followups_{CYCLE}_v1.ics")
    for path in [pdf, report.archived[0].followups, report.archive_dir / "manifest.jsonl"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pdf.parent.stat().st_mode) == 0o700


@pytest.mark.libreoffice
def test_pdfsig_sees_a_valid_pades_seal_over_the_whole_file(finalized):
    _, report, _ = finalized
    for employee_id in ("101", "102"):
        output = pdfsig(archived_pdf(report, employee_id))
        assert "Signature Validation: Signature is Valid." in output
        assert "Signature Type: ETSI.CAdES.detached" in output
        assert "Total document signed" in output
        assert f"{ORGANISATION} – DEMO seal (not valid)" in output


@pytest.mark.libreoffice
def test_pdf_holds_the_agreed_text_and_the_signature_page(finalized):
    built, report, _ = finalized
    text = pdf_text(archived_pdf(report, "101"))
    answers = agreed("101")
    for key in ("agreed_look_back", "agreed_goals", "agreed_wellbeing", "goal_1"):
        assert squeeze(answers[key]) in squeeze(text)  # narrow table cells wrap lines
    assert "15.03.2027" in text  # a date control, as shown in the form
    assert squeeze(PLACEHOLDER) not in squeeze(text)  # the empty agreed_other shows nothing
    minutes_row = built.returned[("101", "minutes")][0][2]
    for line in [
        "Bekreftelse og segl",
        f"Medarbeider: {PEOPLE['101'][0]} (101)",
        f"Leder: {MANAGER[1]}",
        f"Leder bekreftet: Ja – {MANAGER[1]}, 03.02.2027",
        f"Medarbeider bekreftet: Ja – {PEOPLE['101'][0]}, 05.02.2027",
        f"SHA-256: {minutes_row['sha256']}",
        "Kom som e-post fra Randi Sæther-Øvrebø <randi@fjordlys.example>, sendt 05.02.2027 "
        "kl. 14:30 UTC",
        "Samlet inn: 10.02.2027 kl. 09:00 UTC",
    ]:
        assert squeeze(line) in squeeze(text), line
    assert squeeze(minutes_row["source"]) in squeeze(text)
    assert squeeze(built.tokens["101"]) in squeeze(text)


@pytest.mark.libreoffice
def test_english_employee_gets_an_english_signature_page(finalized):
    built, report, _ = finalized
    text = squeeze(pdf_text(archived_pdf(report, "102")))
    assert squeeze("Confirmation and seal") in text
    assert squeeze("Arrived as a file, last modified 2027-02-05 14:30 UTC") in text
    assert squeeze(f"Confirmed by the employee: Yes – {PEOPLE['102'][0]}, 2027-02-05") in text
    assert squeeze("Bekreftelse og segl") not in text


@pytest.mark.libreoffice
def test_pdf_has_no_form_fields_but_the_seal(finalized):
    _, report, _ = finalized
    fields = PdfReader(archived_pdf(report, "101")).get_fields() or {}
    assert [f.get("/FT") for f in fields.values()] == ["/Sig"]


@pytest.mark.libreoffice
def test_attachments_are_the_returned_files_and_the_answers(finalized):
    built, report, _ = finalized
    found = attachments_of(archived_pdf(report, "101").read_bytes())
    name = "Åse_Øvrebø-Lindqvist"
    assert sorted(found) == sorted(
        [
            f"forberedelse_leder_{CYCLE}_101_{name}.docx",
            f"forberedelse_medarbeider_{CYCLE}_101_{name}.docx",
            f"referat_{CYCLE}_101_{name}.docx",
            "answers.json",
        ]
    )
    assert found[f"referat_{CYCLE}_101_{name}.docx"] == built.returned[("101", "minutes")][0][0]
    assert (
        found[f"forberedelse_leder_{CYCLE}_101_{name}.docx"]
        == (built.returned[("101", "manager")][0][0])
    )
    answers = json.loads(found["answers.json"])
    assert answers == {kind: built.returned[("101", kind)][0][1] for kind in answers}
    assert sorted(answers) == ["employee", "manager", "minutes"]


@pytest.mark.libreoffice
def test_metadata_and_pdfa_claim(finalized):
    _, report, _ = finalized
    reader = PdfReader(archived_pdf(report, "101"))
    meta = reader.metadata
    assert meta.title == f"Medarbeidersamtale {CYCLE} – referat – {PEOPLE['101'][0]}"
    assert meta.author == ORGANISATION
    assert meta.subject == WORDS["nb"]["subject"].format(cycle=CYCLE)
    keywords = [k.strip() for k in meta["/Keywords"].split(",")]
    assert keywords == ["medarbeidersamtale", str(CYCLE), "101", "Drift og vedlikehold"]
    assert reader.xmp_metadata.pdfaid_part == "3"  # LibreOffice's PDF/A-2b, now with attachments
    english = PdfReader(archived_pdf(report, "102")).metadata
    assert english.title == f"Performance review {CYCLE} – minutes – {PEOPLE['102'][0]}"


@pytest.mark.libreoffice
def test_manifest_records_every_file_and_verify_passes(finalized, demo_p12):
    built, report, _ = finalized
    seal = load_seal(demo_p12, PASSWORD)
    entries = Archive(report.archive_dir).entries()
    assert sorted((e.employee_id, e.kind, e.version) for e in entries) == [
        ("101", "followups", 1),
        ("101", "minutes", 1),
        ("102", "followups", 1),
        ("102", "minutes", 1),
    ]
    for entry in entries:
        data = (report.archive_dir / entry.path).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        final = built.returned[(entry.employee_id, "minutes")][0][2]["sha256"]
        assert entry.source_sha256 == final
        if entry.kind == "minutes":
            assert entry.certificate_sha256 == seal.certificate_sha256 and entry.sealed_at
    assert report.certificate_sha256 == seal.certificate_sha256
    assert report.public_certificate == public_certificate_path(
        built.workspace.root / "seal" / "demo-seal.p12"
    )
    configured = configured_certificate_sha256(built.workspace)
    assert configured == seal.certificate_sha256
    results = verify_archive(built.workspace, CYCLE, expected_certificate_sha256=configured)
    assert [(r.ok, r.problems) for r in results] == [(True, [])] * 4
    assert {r.path for r in results} == {report.archive_dir / e.path for e in entries}


@pytest.mark.libreoffice
def test_followups_become_calendar_events_and_todos(finalized):
    _, report, _ = finalized
    calendar = Calendar.from_ical(report.archived[0].followups.read_bytes())
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    todos = [str(t["summary"]) for t in calendar.walk("VTODO")]
    assert sorted(events) == [
        "Mål: Fullføre sertifisering i driftsledelse",
        "Oppfølging: Kurs i prosjektledelse",
    ]
    course = events["Oppfølging: Kurs i prosjektledelse"]
    assert str(course["dtstart"].dt) == "2027-03-15" and str(course["dtend"].dt) == "2027-03-16"
    assert f"Ansvarlig: {MANAGER[1]}" in str(course["description"])
    assert todos == ["Oppfølging: Hospitering i driftsavdelingen"]  # no date: a to-do


@pytest.mark.libreoffice
def test_one_byte_change_or_appended_update_fails_verify(finalized, tmp_path):
    built, report, _ = finalized
    workspace = copy_workspace(built.workspace, tmp_path / "ws")
    archive = workspace.output_dir / "archive" / str(CYCLE)
    pdf = archive / archived_pdf(report, "101").relative_to(report.archive_dir)
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    other = archive / archived_pdf(report, "102").relative_to(report.archive_dir)
    writer = PdfWriter(other, incremental=True)
    writer.add_metadata({"/Title": "Endret etter forseglingen"})
    with other.open("wb") as handle:
        writer.write(handle)
    results = {r.path: r for r in verify_archive(workspace, CYCLE)}
    assert not results[pdf].ok and not results[other].ok
    assert any("SHA-256" in p for p in results[pdf].problems)
    assert any("appended after sealing" in p for p in results[other].problems)
    assert "Signature is Valid" not in pdfsig(pdf)
    assert "Total document signed" not in pdfsig(other)


# --- re-runs and new versions ------------------------------------------------------------------


@pytest.mark.libreoffice
def test_rerun_archives_nothing_new(finalized, tmp_path, pool):
    built, report, _ = finalized
    workspace = copy_workspace(built.workspace, tmp_path / "ws")
    archive = workspace.output_dir / "archive" / str(CYCLE)
    before = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    again = finalize_minutes(workspace, CYCLE, password=PASSWORD, pool=pool)
    assert again.archived == []
    assert [(a.employee_id, a.version) for a in again.skipped_already_archived] == [
        ("101", 1),
        ("102", 1),
    ]
    assert [f.employee_id for f in again.failed] == ["104"]  # still broken, still reported
    after = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.libreoffice
def test_corrected_minutes_become_v2_beside_v1(finalized, tmp_path, pool):
    built, report, _ = finalized
    workspace = copy_workspace(built.workspace, tmp_path / "ws")
    copy = Built(workspace, {}, built.tokens)
    corrected = "Korrigert: migreringen ble levert to uker før fristen."
    manager_version = agreed("101", employee_confirmed=False, text=corrected)
    manager_version["followup_2_what"] = "Hospitering hos IT i april"
    form = minutes_form(built.tokens["101"])
    give_back(
        copy,
        "101",
        "minutes",
        filled(form, manager_version),
        manager_version,
        when="2027-03-01T08:00:00+00:00",
    )
    employee_side = {k: v for k, v in agreed("101").items() if k.startswith("employee_")}
    confirmed = {**manager_version, **employee_side}
    give_back(
        copy, "101", "minutes", filled(form, confirmed), confirmed, when="2027-03-02T08:00:00+00:00"
    )
    archive = workspace.output_dir / "archive" / str(CYCLE)
    old = archive / archived_pdf(report, "101").relative_to(report.archive_dir)
    old_bytes = old.read_bytes()
    result = finalize_minutes(workspace, CYCLE, password=PASSWORD, pool=pool)
    (new,) = result.archived
    assert (new.employee_id, new.version) == ("101", 2)
    assert new.path == old.with_name(f"referat_{CYCLE}_v2.pdf")
    assert new.followups == old.with_name(f"followups_{CYCLE}_v2.ics")
    assert old.read_bytes() == old_bytes  # v1 untouched
    assert squeeze(corrected) in squeeze(pdf_text(new.path))
    entries = Archive(archive).entries()
    assert sorted((e.version, e.kind) for e in entries if e.employee_id == "101") == [
        (1, "followups"),
        (1, "minutes"),
        (2, "followups"),
        (2, "minutes"),
    ]
    assert all(r.ok for r in verify_archive(workspace, CYCLE))


# --- nothing half-done -------------------------------------------------------------------------


def test_minutes_not_confirmed_are_listed_and_nothing_is_archived(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("103",))
    give_back_all(built, "103", agreed("103", employee_confirmed=False))
    report = finalize_minutes(built.workspace, CYCLE, password="not needed: nothing to seal")
    assert report.archived == [] and report.failed == []
    assert [(n.employee_id, n.missing) for n in report.not_confirmed] == [
        ("103", ("the employee's confirmation",))
    ]
    assert list(report.archive_dir.iterdir()) == []


def test_wrong_password_stops_before_anything_is_archived(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("101",))
    give_back_all(built, "101", agreed("101"))
    with pytest.raises(SealError, match="wrong password") as caught:
        finalize_minutes(built.workspace, CYCLE, password="feil passord")
    assert "feil passord" not in str(caught.value)
    archive = built.workspace.output_dir / "archive" / str(CYCLE)
    assert [p for p in archive.rglob("*") if p.is_file()] == []
    assert not list(built.workspace.cycle_dir(CYCLE).glob(".finalize-*"))


def test_missing_certificate_says_how_to_configure_it(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("101",), seal_config=False)
    give_back_all(built, "101", agreed("101"))
    with pytest.raises(SealError, match=r"\[seal\] certificate"):
        finalize_minutes(built.workspace, CYCLE, password=PASSWORD)


def test_public_certificate_of_another_seal_is_never_replaced(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("101",))
    give_back_all(built, "101", agreed("101"))
    other = create_demo_certificate(tmp_path / "annen.p12", "annet", "Annen etat")
    crt = built.workspace.root / "seal" / "demo-seal.crt"
    write_public_certificate(load_seal(other, "annet"), crt.with_suffix(".p12"))
    stale = crt.read_bytes()
    with pytest.raises(SealError, match="holds another certificate"):
        finalize_minutes(built.workspace, CYCLE, password=PASSWORD)
    assert crt.read_bytes() == stale


# --- nothing outside the returned minutes is fetched ------------------------------------------


def test_final_docx_keeps_no_link_out_of_the_package(tmp_path):
    local = tmp_path / "lokalt.png"
    hostile = linked_outside(minutes_form("tok", with_pictures), "http://127.0.0.1:9", local)
    minutes = filled(hostile, agreed("101"))
    assert len(outside_references(zip_parts(minutes))) == 12
    final = zip_parts(final_docx(minutes, [("", "Signaturside")]))
    assert outside_references(final) == []
    assert dangling_references(final) == []
    document = etree.fromstring(final[ooxml.DOCUMENT_PART])
    assert "Se intranettet for rutiner" in ooxml.all_text(document)
    assert document.find(f".//{ooxml.w('hyperlink')}") is None
    assert document.find(f".//{ooxml.w('altChunk')}") is None
    drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
    (kept,) = document.iter(f"{{{drawing}}}blip")  # the stored picture, without its link
    assert list(kept.attrib) == [f"{{{R}}}embed"]
    assert len(list(document.iter(ooxml.w("drawing")))) == 1  # the linked one went as a whole
    assert not list(document.iter(ooxml.w("pict")))  # so did the linked VML picture
    (header,) = [n for n in final if re.fullmatch(r"word/header\d*\.xml", n)]
    assert etree.fromstring(final[header]).find(f".//{ooxml.w('drawing')}") is None
    assert not list(document.iter(f"{{{drawing}}}hlinkClick"))
    preview = list(document.iter("{urn:schemas-microsoft-com:vml}imagedata"))
    assert [p.get(f"{{{R}}}id") for p in preview] == [kept.get(f"{{{R}}}embed")]  # OLE preview
    assert not list(document.iter("{urn:schemas-microsoft-com:office:office}OLEObject"))
    assert b"attachedTemplate" not in final["word/settings.xml"]
    assert b"sourceFileName" not in final["word/webSettings.xml"]
    assert b"embedRegular" not in final["word/fontTable.xml"]
    assert "Signaturside" in ooxml.all_text(document)


def test_final_docx_leaves_minutes_without_links_alone():
    minutes = filled(minutes_form("tok", with_pictures), agreed("101"))
    final = zip_parts(final_docx(minutes, [("", "Signaturside")]))
    for name, data in zip_parts(minutes).items():
        if name not in (ooxml.DOCUMENT_PART, ooxml.STYLES_PART):
            assert final[name] == data, name
    drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
    assert len(list(etree.fromstring(final[ooxml.DOCUMENT_PART]).iter(f"{{{drawing}}}blip"))) == 2


def test_final_docx_keeps_only_the_styles_in_use():
    minutes = filled(minutes_form("tok"), agreed("101"))
    before, final = zip_parts(minutes), zip_parts(final_docx(minutes, [("", "Signaturside")]))

    def style_ids(styles: bytes) -> set[str]:
        return {s.get(ooxml.w("styleId")) for s in etree.fromstring(styles).iter(ooxml.w("style"))}

    named = {
        e.get(ooxml.W_VAL)
        for e in etree.fromstring(final[ooxml.DOCUMENT_PART]).iter(*ooxml.STYLE_REFERENCES)
    }
    kept = style_ids(final[ooxml.STYLES_PART])
    assert named & style_ids(before[ooxml.STYLES_PART]) <= kept
    assert len(kept) < len(style_ids(before[ooxml.STYLES_PART]))


@pytest.mark.libreoffice
def test_links_in_the_returned_minutes_are_never_followed(tmp_path, demo_p12, pool, http_server):
    url, requests = http_server
    local = tmp_path / "lokalt-bilde.png"
    local.write_bytes(png((250, 200, 0), 48))
    built = build(tmp_path / "ws", demo_p12, ids=("101",))
    form = minutes_form(built.tokens["101"], with_pictures)
    give_back_all(built, "101", agreed("101"), form=linked_outside(form, url, local, font=False))
    report = finalize_minutes(built.workspace, CYCLE, password=PASSWORD, pool=pool)
    assert report.failed == [] and len(report.archived) == 1
    assert requests == []  # LibreOffice 7.4 sent OPTIONS and GET for the linked picture
    pdf = report.archived[0].path
    text = pdf_text(pdf)
    assert squeeze("Se intranettet for rutiner") in squeeze(text)
    assert "image.png" not in squeeze(text)  # no placeholder for a picture that is not there
    sizes = pdf_image_sizes(pdf)
    assert (8, 8) in sizes  # the picture stored in the file is still there …
    assert (48, 48) not in sizes and (16, 16) not in sizes  # … nothing from outside got in


# --- the working copy ------------------------------------------------------------------------


def planned(built: Built, demo_p12: Path, party: Party, workdir: Path):
    """Return the job plan_job makes for ``party`` from employee 101's returned minutes."""
    with Ledger(built.workspace.ledger_path(CYCLE)) as ledger:
        final = minutes_states(ledger.accepted_versions())["101"].final
        record = cycle_record(ledger, built.workspace.answers_path(CYCLE))
        evidence = returned_evidence(ledger)
    sealing = Sealing(load_seal(demo_p12, PASSWORD), CYCLE, ORGANISATION, "")
    cycle_dir = built.workspace.cycle_dir(CYCLE)
    return plan_job(party, final, record, evidence, sealing, cycle_dir, workdir)


def test_final_docx_is_private_and_never_written_over_another(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("101",))
    give_back_all(built, "101", agreed("101"))
    workdir = tmp_path / "arbeid"
    workdir.mkdir(mode=0o700)
    party = Party("101", PEOPLE["101"][0], "nb", "", MANAGER[1])
    umask = os.umask(0o022)
    try:
        job = planned(built, demo_p12, party, workdir)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(job.docx.stat().st_mode) == 0o600
    written = job.docx.read_bytes()
    with pytest.raises(WorkspaceError, match="refusing to overwrite"):
        planned(built, demo_p12, party, workdir)
    assert job.docx.read_bytes() == written
    # ids that make the same file-name stem still get a working copy each
    slash = planned(built, demo_p12, replace(party, employee_id="7/1"), workdir)
    underscore = planned(built, demo_p12, replace(party, employee_id="7_1"), workdir)
    assert slash.docx != underscore.docx and slash.pdf != underscore.pdf


# --- pieces ------------------------------------------------------------------------------------


def _returned(answers: dict, sender: str = "") -> Returned:
    version = ReturnedVersion(
        "101", "minutes", "x.docx", "returned/x.docx", "2027-02-05T14:30:00+00:00", answers, []
    )
    evidence = Evidence(
        "ab" * 32,
        "mottatt/x.docx",
        "returned/x.docx",
        sender,
        "2027-02-05T14:30:00+00:00" if sender else "",
        "2027-02-04T10:00:00+00:00",
        "2027-02-10T09:00:00+00:00",
    )
    return Returned(version, evidence, b"")


def test_signature_page_names_an_unconfirmed_side_and_missing_values(demo_p12):
    party = Party("101", PEOPLE["101"][0], "nb", "", "")
    answers = {"manager_confirmed": True, "manager_name": "", "employee_confirmed": False}
    sealing = Sealing(load_seal(demo_p12, PASSWORD), CYCLE, ORGANISATION, "")
    page = signature_page(party, _returned(answers), "", sealing, ["a.docx"])
    assert page[0] == ("Heading1", "Bekreftelse og segl")
    lines = [text for _, text in page]
    assert "Leder bekreftet: Ja – uten navn, uten dato" in lines
    assert "Medarbeider bekreftet: Nei – uten navn, uten dato" in lines
    assert "Kom som fil, sist endret 04.02.2027 kl. 10:00 UTC" in lines
    assert "Skjema-ID: ikke funnet" in lines
    assert "Vedlagt i PDF-filen: a.docx, answers.json" in lines
    assert not [line for line in lines if line.startswith(("Avdeling:", "Leder:"))]


def test_no_follow_ups_no_calendar_and_odd_dates_stay_text():
    party = Party("1/2", "Åse", "en", "", "Randi")
    version = _returned({"followup_1_what": "", "goal_1": "", "manager_confirmed": True}).version
    assert followups_calendar(party, CYCLE, version) is None
    answers = {"followup_3_what": "Mentor", "followup_3_when": "after the summer"}
    version = _returned(answers).version
    calendar = Calendar.from_ical(followups_calendar(party, CYCLE, version))
    (todo,) = calendar.walk("VTODO")
    assert str(todo["summary"]) == "Follow-up: Mentor"
    assert "When: after the summer" in str(todo["description"])
    assert str(todo["uid"]) == f"samtale-{CYCLE}-1%2F2-followup-3"
    assert calendar.walk("VEVENT") == []


def test_certificate_option_wins_over_the_config(tmp_path, demo_p12):
    built = build(tmp_path / "ws", demo_p12, ids=("101",), seal_config=False)
    give_back_all(built, "101", agreed("101"))
    with pytest.raises(SealError, match=f"{demo_p12.name}: wrong password"):
        finalize_minutes(built.workspace, CYCLE, certificate=demo_p12, password="feil")


def test_same_follow_ups_returned_later_are_not_archived_again(tmp_path):
    party = Party("101", PEOPLE["101"][0], "nb", "", MANAGER[1])
    archive = Archive(tmp_path / "arkiv")
    first = _returned(agreed("101")).version
    calendar = followups_calendar(party, CYCLE, first)
    archive.add(
        "101/followups_2027_v1.ics",
        calendar,
        employee_id="101",
        kind="followups",
        version=1,
        source_sha256="a" * 64,
    )
    later = replace(first, returned_at="2027-03-09T12:00:00+00:00")
    again = followups_calendar(party, CYCLE, later)
    assert again != calendar  # a new DTSTAMP …
    assert not calendar_changed(archive, "101", again)  # … but the same follow-ups
    changed = replace(later, answers={**later.answers, "followup_1_when": "2027-04-01"})
    assert calendar_changed(archive, "101", followups_calendar(party, CYCLE, changed))


def test_final_docx_keeps_an_answer_pasted_in_libreoffice_25(tmp_path):
    # LibreOffice 25 saves a pasted answer with the placeholder flag still set: the sent form's
    # prompts decide what is an answer, so the pasted text reaches the archive.
    minutes = filled(minutes_form("tok"), {"agreed_goals": "Limt inn: nytt mål for våren."})
    parts = zip_parts(minutes)
    document = parts[ooxml.DOCUMENT_PART].replace(b"</w:sdtPr>", b"<w:showingPlcHdr/></w:sdtPr>")
    flagged = ooxml.replace_part(minutes, ooxml.DOCUMENT_PART, document)
    final = zip_parts(final_docx(flagged, [("", "Signaturside")], (PLACEHOLDER,)))
    text = ooxml.all_text(etree.fromstring(final[ooxml.DOCUMENT_PART]))
    assert "Limt inn: nytt mål for våren." in text
    assert PLACEHOLDER not in text  # the untouched fields still show nothing
    old = zip_parts(final_docx(flagged, [("", "Signaturside")]))  # the flag alone decides
    assert "Limt inn" not in ooxml.all_text(etree.fromstring(old[ooxml.DOCUMENT_PART]))


# --- many at once: the pipeline ----------------------------------------------------------------


@pytest.mark.libreoffice
def test_many_minutes_are_built_and_sealed_in_worker_processes(
    tmp_path, demo_p12, pool, monkeypatch
):
    # Enough minutes for the worker processes (finalize's PARALLEL_THRESHOLD); one of them is
    # broken, and it fails alone while the others are sealed, verified and counted.
    many = {str(200 + n): (f"Kari Nordmann-Ås {n}", "nb", "Drift") for n in range(22)}
    for employee_id, person in many.items():
        monkeypatch.setitem(PEOPLE, employee_id, person)
    built = build(tmp_path / "ws", demo_p12, ids=tuple(many))
    for employee_id in many:
        give_back_all(built, employee_id, agreed(employee_id))
    broken = built.returned[("221", "minutes")][0][2]["stored_path"]
    (built.workspace.cycle_dir(CYCLE) / broken).write_bytes(b"PK\x03\x04 ikke lenger et skjema")
    steps = []
    report = finalize_minutes(
        built.workspace,
        CYCLE,
        password=PASSWORD,
        pool=pool,
        workers=2,
        progress=lambda done, total: steps.append((done, total)),
    )
    assert [a.employee_id for a in report.archived] == sorted(many)[:-1]  # in id order
    assert [f.employee_id for f in report.failed] == ["221"]
    assert steps[-1] == (22, 22) and len(steps) == 22
    results = verify_archive(built.workspace, CYCLE)
    pdfs = [r for r in results if r.path.suffix == ".pdf"]
    assert len(pdfs) == 21 and all(r.ok for r in results), [r.problems for r in results]
    assert not list(built.workspace.cycle_dir(CYCLE).glob(".finalize-*"))
