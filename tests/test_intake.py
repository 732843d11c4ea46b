"""Tests for pipeline/intake.py: every returned file is hostile; bad ones land in quarantine."""

import datetime as dt
import email.policy
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.commands.collect import CollectReport, collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.domain.intake import (
    MAX_ATTACHMENTS,
    MAX_NESTED_EMAILS,
    PARALLEL_THRESHOLD,
    discover,
    listing,
    store_emails,
)
from pipeline.errors import WorkspaceError
from pipeline.formats import ooxml
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.simulate import fields_of, fill_form, invented_answers

from .conftest import CORPUS, CYCLE
from .outlook_files import Mail, msg_file, tnef_file

MARKER = "TOPSECRET-MARKER-7f3a"


# -- building returned files -----------------------------------------------------------------


def form_bytes(workspace, employee_id: str, kind: str, cycle: int = CYCLE) -> bytes:
    """Return the generated form of one employee and kind."""
    with Ledger(workspace.ledger_path(cycle)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.output_dir / str(cycle) / record.path).read_bytes()


def filled(workspace, employee_id: str, kind: str, cycle: int = CYCLE) -> tuple[bytes, dict]:
    """Return a form filled with invented answers, and those answers."""
    sent = form_bytes(workspace, employee_id, kind, cycle)
    answers = invented_answers(fields_of(sent), "nb", f"{employee_id}-{kind}", cycle, 1.0)
    return fill_form(sent, answers), answers


def entries_of(data: bytes) -> dict[str, bytes]:
    """Return every entry of a zip, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def repack(data: bytes, changes: dict[str, bytes], huge: dict[str, int] | None = None) -> bytes:
    """Return the package with parts replaced or added, plus ``huge`` entries of n zero bytes."""
    parts = {**entries_of(data), **changes}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
        for name, size in (huge or {}).items():
            with archive.open(name, "w", force_zip64=True) as handle:
                for _ in range(size // (1 << 20)):
                    handle.write(b"\0" * (1 << 20))
    return buffer.getvalue()


def with_doctype(xml: bytes, doctype: str, text_entity: str = "") -> bytes:
    """Return XML with a DOCTYPE after its declaration, the entity used in the first w:t."""
    declaration_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    body = xml[declaration_end:]
    if text_entity:
        body = body.replace(b"<w:t>", f"<w:t>{text_entity}".encode(), 1)
        body = body.replace(b'<w:t xml:space="preserve">', f"<w:t>{text_entity}".encode(), 1)
    return xml[:declaration_end] + doctype.encode() + body


BILLION_LAUGHS = (
    '<!DOCTYPE w:document [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)


def lying_size(data: bytes, name: str, declared: int) -> bytes:
    """Return the zip with the central directory declaring ``declared`` bytes for ``name``."""
    out = bytearray(data)
    start = 0
    while True:
        start = out.index(b"PK\x01\x02", start)
        length = struct.unpack_from("<H", out, start + 28)[0]
        if out[start + 46 : start + 46 + length] == name.encode():
            struct.pack_into("<I", out, start + 24, declared)
            return bytes(out)
        start += 4


def reply_email(sender: str, date: str, attachments: dict[str, bytes], quoted: str) -> bytes:
    """Return an email reply quoting the original message, with attachments and a logo."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = "HR <hr@fjordlys.example>"
    message["Subject"] = f"SV: Medarbeidersamtale {CYCLE} – forberedelse"
    message["Date"] = date
    message.set_content(f"Hei!\n\nHer er skjemaet mitt.\n\n> {quoted}\n> Svar med vedlegg.\n")
    message.add_alternative("<p>Hei!</p><img src='cid:logo'>", subtype="html")
    message.get_payload()[1].add_related(
        b"\x89PNG\r\n\x1a\nlogo", maintype="image", subtype="png", cid="logo"
    )
    for name, data in attachments.items():
        maintype, subtype = (
            ooxml.DOCX_MIME.split("/") if name.endswith(".docx") else ("application", "pdf")
        )
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def forward_email(sender: str, date: str, forwarded: bytes, file_name: str = "") -> bytes:
    """Return an email forwarding another one: as message/rfc822, or as an attached .eml file."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = "HR <hr@fjordlys.example>"
    message["Subject"] = "VS: skjema"
    if date:
        message["Date"] = date
    message.set_content("Videresender svaret jeg fikk.\n")
    if file_name:
        message.add_attachment(
            forwarded, maintype="application", subtype="octet-stream", filename=file_name
        )
    else:
        message.add_attachment(email.message_from_bytes(forwarded, policy=email.policy.default))
    return message.as_bytes()


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Return every file and folder under ``folder`` with its SHA-256, mtime and mode."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(folder))] = (content, info.st_mtime_ns, info.st_mode)
    return state


# -- the hostile set -------------------------------------------------------------------------


@dataclass
class SourceFolder:
    """The folder HR saved returned files in, and what the tests expect of each file."""

    root: Path
    good: dict[str, tuple[str, str, dict]] = field(default_factory=dict)  # (id, kind, answers)
    expect: dict[str, str] = field(default_factory=dict)  # source → code of the reason

    def put(self, relative: str, data: bytes, code: str = "") -> None:
        """Write one file; ``code`` is the reason it must be quarantined for."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if code:
            self.expect[relative] = code

    def put_filled(self, relative: str, workspace, employee_id: str, kind: str) -> bytes:
        """Write a filled form that must be accepted; return its bytes."""
        data, answers = filled(workspace, employee_id, kind)
        self.put(relative, data)
        self.good[relative] = (employee_id, kind, answers)
        return data


@dataclass
class Batch:
    """One collected batch of good and hostile files."""

    workspace: Workspace
    folder: SourceFolder
    report: CollectReport
    before: dict
    after: dict

    @property
    def source(self) -> Path:
        """Return the source folder."""
        return self.folder.root


@pytest.fixture(scope="module")
def batch(generated, tmp_path_factory):
    """Return one batch of good and hostile files, collected once (screened in workers)."""
    root = tmp_path_factory.mktemp("intake")
    workspace = Workspace.at(root / "ws")
    shutil.copytree(generated.root, workspace.root)
    generate_forms(workspace, CYCLE - 1, workers=1)  # same secret: the HMAC of 2026 is valid
    folder = SourceFolder(root / "returned")
    secret_file = root / "secret.txt"
    secret_file.write_text(MARKER)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        add_good_files(folder, workspace)
        add_hostile_files(folder, workspace, secret_file, listener.getsockname()[1])
        add_outlook_files(folder, workspace)
        for path in sorted(CORPUS.glob("*")):
            folder.put(f"korpus/{path.name}", path.read_bytes())
        before = snapshot(folder.root)
        report = collect_returned(workspace, CYCLE, folder.root, workers=2)
        after = snapshot(folder.root)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing tried to fetch a DTD or an entity
    return Batch(workspace, folder, report, before, after)


def add_good_files(folder: SourceFolder, workspace) -> None:
    """Write filled forms: plain, nested, misnamed, upper-case, by email, and a duplicate."""
    first = folder.put_filled("skjema-1010.docx", workspace, "1010", "employee")
    # named after somebody else: the identity inside decides, never the file name
    folder.put_filled(
        "undermappe/dypere/1099_Noen_Andre_medarbeider_2027.docx", workspace, "1011", "manager"
    )
    folder.put_filled("STORE-BOKSTAVER.DOCX", workspace, "1012", "employee")
    for employee_id in ("1015", "1016", "1017", "1018"):
        folder.put_filled(f"flere/{employee_id}.docx", workspace, employee_id, "manager")
    folder.put("ånyo/skjema-1010 (kopi).docx", first)  # the same bytes again
    data, answers = filled(workspace, "1013", "employee")
    mail = reply_email(
        "Siri Kvåle <siri.kvale@fjordlys.example>",
        f"Mon, 18 Jan {CYCLE} 09:15:00 +0100",
        {"skjema.docx": data, "skannet.pdf": b"%PDF-1.4\n%%EOF\n"},
        "Hei! Vedlagt er skjemaet for medarbeidersamtalen.",
    )
    folder.put("post/svar fra Siri.eml", mail)
    folder.good["post/svar fra Siri.eml → skjema.docx"] = ("1013", "employee", answers)
    folder.expect["post/svar fra Siri.eml → skannet.pdf"] = "wrong_format"
    add_forwarded_forms(folder, workspace)
    folder.put("~$skjema-1010.docx", b"lock")  # Word's lock file: ignored, not quarantined


def add_forwarded_forms(folder: SourceFolder, workspace) -> None:
    """Write a manager's forward of a reply (message/rfc822), and a reply attached as .eml."""
    date = f"Tue, 19 Jan {CYCLE} 14:30:00 +0100"
    data, answers = filled(workspace, "1019", "employee")
    tone = "Tone Aasen-Løvli <tone.aasen-lovli@fjordlys.example>"
    reply = reply_email(tone, date, {"skjema.docx": data}, "Hei")
    forward = forward_email("Håkon Øverland <hakon.overland@fjordlys.example>", "", reply)
    folder.put("post/videresendt fra Håkon.eml", forward)
    folder.good["post/videresendt fra Håkon.eml → attached email (part 2) → skjema.docx"] = (
        "1019",
        "employee",
        answers,
    )
    data, answers = filled(workspace, "1020", "employee")
    reply = reply_email(
        "Marte <marte.odegaard.lunde@fjordlys.example>", "", {"mitt.docx": data}, ""
    )
    forward = forward_email("Åse <ase.saether@fjordlys.example>", date, reply, "svar fra Marte.eml")
    folder.put("post/videresendt som fil.eml", forward)
    folder.good["post/videresendt som fil.eml → svar fra Marte.eml → mitt.docx"] = (
        "1020",
        "employee",
        answers,
    )


def add_hostile_files(folder: SourceFolder, workspace, secret_file: Path, port: int) -> None:
    """Write the hostile files, each built from a real filled form where that makes it sneakier."""
    base, _ = filled(workspace, "1014", "employee")
    document = entries_of(base)[ooxml.DOCUMENT_PART]
    custom = entries_of(base)[ooxml.CUSTOM_PART]
    put = folder.put
    put("bombe-stor.docx", repack(base, {}, {"word/media/stor.bin": 120 << 20}), "zip_bomb")
    bigger = {ooxml.DOCUMENT_PART: document + b" " * (12 << 20)}
    put("bombe-komprimert.docx", repack(base, bigger), "zip_bomb")
    many = {f"word/media/bilde{n}.xml": b"<a/>" for n in range(600)}
    put("bombe-mange.docx", repack(base, many), "zip_bomb")
    huge = repack(base, {ooxml.DOCUMENT_PART: document + b" " * (40 << 20)})
    put("løgnaktig-størrelse.docx", lying_size(huge, ooxml.DOCUMENT_PART, 1000), "corrupt")
    xxe = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
    xxe_document = {ooxml.DOCUMENT_PART: with_doctype(document, xxe, "&xxe;")}
    put("xxe.docx", repack(base, xxe_document), "xml_entities")
    remote = f'<!DOCTYPE Properties [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]>'
    xxe_properties = {ooxml.CUSTOM_PART: with_doctype(custom, remote)}
    put("xxe-egenskaper.docx", repack(base, xxe_properties), "xml_entities")
    padded = document.replace(b"?>", b"?><!--" + b" " * 4000 + b"-->", 1)
    external = f'<!DOCTYPE w:document SYSTEM "http://127.0.0.1:{port}/dtd">'
    external_dtd = {ooxml.DOCUMENT_PART: with_doctype(padded, external)}
    put("ekstern-dtd.docx", repack(base, external_dtd), "xml_entities")
    laughs = {ooxml.DOCUMENT_PART: with_doctype(document, BILLION_LAUGHS, "&lol9;")}
    put("milliard-latter.docx", repack(base, laughs), "xml_entities")
    put("makro.docm", base, "wrong_format")
    put("makro-inni.docx", repack(base, {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0VBA"}), "macros")
    put("kryptert.docx", ooxml.OLE_MAGIC + b"\0" * 4096, "encrypted")
    put("avbrutt.docx", base[: len(base) // 2], "corrupt")
    put("tom.docx", b"", "not_docx")
    put("egentlig-pdf.docx", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n", "not_docx")
    put("skannet.pdf", b"%PDF-1.4\n% scanned form\n%%EOF\n", "wrong_format")
    put("gammelt.odt", b"PK\x03\x04mimetypeapplication/vnd.oasis.opendocument.text", "wrong_format")
    put("bilde.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "wrong_format")
    put("notat.txt", b"Jeg sender skjemaet i morgen.", "wrong_format")
    put(
        "post/uten vedlegg.eml",
        reply_email("A <a@fjordlys.example>", "", {}, "Hei"),
        "no_attachment",
    )
    put("post/ødelagt.eml", b"\x00\x01 ikke en e-post \xff\n\nfoo", "corrupt")
    last_year, _ = filled(workspace, "1014", "employee", CYCLE - 1)
    put("fjorårets.docx", last_year, "other_cycle")
    token = ooxml.read_custom_properties(custom)[PROPERTY]
    forged = token.replace(":1014:", ":1015:")
    assert forged != token
    properties = ooxml.custom_properties_xml({PROPERTY: forged})
    put(
        "endret-identitet.docx",
        ooxml.replace_part(base, ooxml.CUSTOM_PART, properties),
        "identity_forged",
    )


def ledger_rows(workspace) -> dict[str, dict]:
    """Return the ledger's returned files by source."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        rows = ledger.db.execute("SELECT * FROM returned_files").fetchall()
    return {row["source"]: dict(row) for row in rows}


def reason_note(workspace, row: dict) -> dict[str, str]:
    """Return the fields of the reason file stored next to a quarantined copy."""
    path = workspace.cycle_dir(CYCLE) / (row["stored_path"] + ".reason.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_each_hostile_file_is_quarantined_with_its_reason(batch):
    workspace, expect, report = batch.workspace, batch.folder.expect, batch.report
    rows = ledger_rows(workspace)
    quarantined = dict(report.quarantined)
    for source, code in expect.items():
        row = rows[source]
        assert row["outcome"] == "quarantined", source
        note = reason_note(workspace, row)
        assert note["Code"] == code, (source, note)
        assert note["Reason"] == row["reason"] == quarantined[source]
        assert note["SHA-256"] == row["sha256"]
        assert row["employee_id"] is None and row["answers"] == "{}"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("skannet.pdf", "Word file (.docx)"),
        ("kryptert.docx", "password"),
        ("makro-inni.docx", "macros"),
        ("makro.docm", "macro-enabled"),
        ("bombe-stor.docx", "zip bomb"),
        ("bombe-mange.docx", "entries"),
        ("avbrutt.docx", "damaged"),
        ("fjorårets.docx", f"--cycle {CYCLE - 1}"),
        ("endret-identitet.docx", "identity was edited"),
        ("gammelt.odt", "OpenDocument"),
        ("bilde.png", "picture"),
        ("xxe.docx", "DTD"),
        ("post/uten vedlegg.eml", "ask the sender to attach the filled form"),
        ("post/ødelagt.eml", "not an email"),
    ],
)
def test_reasons_say_what_happened_and_what_to_ask_for(batch, source, words):
    workspace = batch.workspace
    assert words in ledger_rows(workspace)[source]["reason"]


def test_the_good_files_of_the_batch_are_accepted_and_extracted(batch):
    workspace, good, report = batch.workspace, batch.folder.good, batch.report
    rows = ledger_rows(workspace)
    for source, (employee_id, kind, answers) in good.items():
        row = rows[source]
        assert row["outcome"] == "accepted", (source, row["reason"])
        assert (row["employee_id"], row["kind"]) == (employee_id, kind)
        assert json.loads(row["answers"]) == answers
        assert row["stored_path"].startswith(f"returned/{employee_id}/{kind}_")
    assert len(report.accepted) == len(good)


def test_an_email_keeps_its_sender_and_date_as_evidence(batch):
    workspace = batch.workspace
    row = ledger_rows(workspace)["post/svar fra Siri.eml → skjema.docx"]
    assert row["sender"] == "Siri Kvåle <siri.kvale@fjordlys.example>"
    assert row["sent_at"] == f"{CYCLE}-01-18T08:15:00+00:00"
    pdf = ledger_rows(workspace)["post/svar fra Siri.eml → skannet.pdf"]
    assert pdf["sender"] == row["sender"]
    note = reason_note(workspace, pdf)
    assert note["From"].startswith("Siri Kvåle")


def test_a_forwarded_form_keeps_the_sender_and_date_of_the_forwarded_email(batch):
    rows = ledger_rows(batch.workspace)
    inner = rows["post/videresendt fra Håkon.eml → attached email (part 2) → skjema.docx"]
    assert inner["sender"] == "Tone Aasen-Løvli <tone.aasen-lovli@fjordlys.example>"
    assert inner["sent_at"] == f"{CYCLE}-01-19T13:30:00+00:00"
    as_file = rows["post/videresendt som fil.eml → svar fra Marte.eml → mitt.docx"]
    assert as_file["sender"] == "Marte <marte.odegaard.lunde@fjordlys.example>"
    assert as_file["sent_at"] == f"{CYCLE}-01-19T13:30:00+00:00"  # no date inside: the forward's


def test_every_email_is_kept_whole_byte_for_byte(batch):
    workspace, source, report = batch.workspace, batch.source, batch.report
    cycle_dir = workspace.cycle_dir(CYCLE)
    rows = ledger_rows(workspace)
    emails = sorted(p.relative_to(source).as_posix() for p in source.rglob("*.eml"))
    assert len(emails) == 6
    for name in emails:
        row = rows[name]
        stored = cycle_dir / row["stored_path"]
        assert stored.read_bytes() == (source / name).read_bytes()
        assert row["sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
        if name in batch.folder.expect:
            assert row["outcome"] == "quarantined"
            assert stored.parent == cycle_dir / "quarantine"
            assert (name, row["reason"]) in report.quarantined
        else:
            assert row["outcome"] == "email" and row["reason"] == ""
            assert stored.parent == cycle_dir / "returned" / "emails"
            assert row["employee_id"] is None and row["answers"] == "{}"
    assert rows["post/svar fra Siri.eml"]["sender"] == "Siri Kvåle <siri.kvale@fjordlys.example>"
    assert rows["post/svar fra Siri.eml"]["sent_at"] == f"{CYCLE}-01-18T08:15:00+00:00"
    assert not any(".eml" in line for line in report.ignored)


def test_inline_pictures_and_lock_files_are_reported_not_collected(batch):
    workspace, report = batch.workspace, batch.report
    rows = ledger_rows(workspace)
    assert not any("logo" in s or "~$" in s for s in rows)
    assert "~$skjema-1010.docx" in report.ignored


def test_a_duplicate_is_collected_once_and_reported(batch):
    workspace, report = batch.workspace, batch.report
    rows = ledger_rows(workspace)
    assert "skjema-1010.docx" in rows and "ånyo/skjema-1010 (kopi).docx" not in rows
    assert report.already_collected == 1
    files = [row for row in rows.values() if row["outcome"] != "email"]
    assert report.found == report.new + report.already_collected == len(files) + 1


def test_the_batch_was_big_enough_to_be_screened_in_worker_processes(batch):
    assert batch.report.new >= PARALLEL_THRESHOLD


def test_every_corpus_file_is_quarantined_with_a_clear_reason(batch):
    workspace = batch.workspace
    rows = ledger_rows(workspace)
    corpus = sorted(CORPUS.glob("*"))
    assert corpus
    for path in corpus:
        row = rows[f"korpus/{path.name}"]
        assert row["outcome"] == "quarantined"
        assert "could not be read" not in row["reason"], (path.name, row["reason"])  # no crash
        assert len(row["reason"]) > 20
    codes = {reason_note(workspace, rows[f"korpus/{p.name}"])["Code"] for p in corpus}
    assert "encrypted" in codes and "identity_missing" in codes


def test_stored_copies_are_byte_identical_and_private(batch):
    workspace, source = batch.workspace, batch.source
    cycle_dir = workspace.cycle_dir(CYCLE)
    sources = {hashlib.sha256(p.read_bytes()).hexdigest() for p in source.rglob("*") if p.is_file()}
    for row in ledger_rows(workspace).values():
        stored = (cycle_dir / row["stored_path"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == row["sha256"]
        if "→" not in row["source"]:
            assert (source / row["source"]).read_bytes() == stored
        else:
            assert row["sha256"] not in sources  # an attachment, decoded from the email
    for path in [cycle_dir / "returned", cycle_dir / "quarantine"]:
        for item in [path, *path.rglob("*")]:
            mode = stat.S_IMODE(item.stat().st_mode)
            assert mode == (0o700 if item.is_dir() else 0o600), item


def test_the_source_folder_is_unchanged_byte_for_byte(batch):
    before, after = batch.before, batch.after
    assert before == after
    assert len(before) > 40


def test_nothing_read_through_an_entity_reaches_the_output(batch):
    workspace = batch.workspace
    for path in workspace.cycle_dir(CYCLE).rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path


def test_collecting_the_batch_again_changes_nothing(batch):
    workspace, source, report = batch.workspace, batch.source, batch.report
    stored = snapshot(workspace.cycle_dir(CYCLE))
    rows = ledger_rows(workspace)
    again = collect_returned(workspace, CYCLE, source, workers=1)
    assert again.new == 0 and again.already_collected == report.found
    assert again.accepted == [] and again.quarantined == []
    assert ledger_rows(workspace) == rows
    after = snapshot(workspace.cycle_dir(CYCLE))
    assert {k: v for k, v in after.items() if "ledger" not in k} == {
        k: v for k, v in stored.items() if "ledger" not in k
    }


# -- small cases -----------------------------------------------------------------------------


def test_discover_reads_recursively_and_unpacks_emails(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.docx").write_bytes(b"x")
    (tmp_path / ".DS_Store").write_bytes(b"")
    (tmp_path / "svar.eml").write_bytes(
        reply_email(
            "Ola <ola@fjordlys.example>", "Tue, 19 Jan 2027 10:00:00 +0000", {"y.docx": b"y"}, ""
        )
    )
    intake = discover(tmp_path)
    assert [(c.source, c.data) for c in intake.candidates] == [
        ("a/b/x.docx", b"x"),
        ("svar.eml → y.docx", b"y"),
    ]
    assert intake.candidates[1].sender == "Ola <ola@fjordlys.example>"
    assert intake.candidates[1].sent_at == "2027-01-19T10:00:00+00:00"
    assert intake.ignored == [".DS_Store"]
    assert [(e.source, e.data) for e in intake.emails] == [
        ("svar.eml", (tmp_path / "svar.eml").read_bytes())
    ]


def test_a_link_in_the_source_folder_is_not_followed(tmp_path):
    outside = tmp_path / "privat.docx"
    outside.write_bytes(b"not for collect")
    source = tmp_path / "returned"
    source.mkdir()
    (source / "lenke.docx").symlink_to(outside)
    intake = discover(source)
    assert intake.candidates == []
    assert any("lenke.docx" in line for line in intake.ignored)


def test_the_listing_orders_paths_part_by_part_and_follows_no_linked_folder(tmp_path):
    source = tmp_path / "returned"
    (source / "a").mkdir(parents=True)
    (source / "a" / "b.docx").write_bytes(b"1")
    (source / "a-b.docx").write_bytes(b"2")  # '-' sorts before '/' as text, not as a path
    (source / "Z.docx").write_bytes(b"3")
    (source / "~$a-b.docx").write_bytes(b"")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.docx").write_bytes(b"4")
    (source / "lenket").symlink_to(elsewhere, target_is_directory=True)
    (source / "borte.docx").symlink_to(tmp_path / "missing.docx")
    found = listing(source)
    assert [e if isinstance(e, str) else e.relative for e in found] == [
        "Z.docx",
        "a/b.docx",
        "a-b.docx",
        "~$a-b.docx",
    ]
    first = found[1]
    assert first.path == str(source / "a" / "b.docx") and first.size == 1
    assert first.mtime_ns == (source / "a" / "b.docx").stat().st_mtime_ns


def test_a_folder_that_cannot_be_read_is_noted_and_an_unreadable_source_stops(
    tmp_path, monkeypatch
):
    # As a user without read access sees it (root reads everything, so os.scandir says it).
    source = tmp_path / "returned"
    (source / "låst").mkdir(parents=True)
    (source / "låst" / "skjema.docx").write_bytes(b"1")
    (source / "skjema.docx").write_bytes(b"2")
    real_scandir = os.scandir
    locked = {str(source / "låst")}

    def scandir(path="."):
        if str(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = listing(source)
    assert [e if isinstance(e, str) else e.relative for e in found] == [
        "låst/ (a folder that cannot be read: not collected)",
        "skjema.docx",
    ]
    locked.add(str(source))
    with pytest.raises(WorkspaceError, match="the folder cannot be read"):
        listing(source)


def test_a_file_too_big_to_read_is_streamed_into_quarantine(generated_copy, tmp_path):
    source = tmp_path / "big"
    source.mkdir()
    big = source / "opptak.docx"
    with big.open("wb") as handle:  # sparse: costs no disk, but is 25 MB long
        handle.truncate(ooxml.DEFAULT_LIMITS.max_file_bytes + 5_000_000)
    intake = discover(source)
    assert [c.data for c in intake.candidates] == [b""]  # never read into memory
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert [reason for _, reason in report.quarantined] == [
        f"file is {big.stat().st_size:,} bytes, more than the limit of "
        f"{ooxml.DEFAULT_LIMITS.max_file_bytes:,}"
    ]
    stored = next((generated_copy.cycle_dir(CYCLE) / "quarantine").glob("*_opptak.docx"))
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_line_breaks_typed_with_shift_enter_survive(generated_copy):
    data = form_bytes(generated_copy, "1010", "employee")
    answers = {"results": "første linje\vandre linje\nnytt avsnitt"}
    document = ooxml.read_package(fill_form(data, answers), wanted=(ooxml.DOCUMENT_PART,))
    fields = ooxml.read_fields(ooxml.parse_xml(document.parts[ooxml.DOCUMENT_PART]))
    assert next(f.value for f in fields if f.key == "results") == (
        "første linje\nandre linje\nnytt avsnitt"
    )


def test_store_emails_copies_each_email_once_owner_only(tmp_path):
    source = tmp_path / "inn"
    source.mkdir()
    mail = reply_email("Ola <ola@fjordlys.example>", "", {"y.docx": b"y"}, "")
    (source / "svar.eml").write_bytes(mail)
    (source / "svar igjen.EML").write_bytes(mail)  # the same bytes saved twice
    cycle_dir = tmp_path / "out"
    with Ledger(cycle_dir / "ledger.sqlite") as ledger:
        first = store_emails(discover(source), cycle_dir, ledger, ledger.known_hashes())
        again = store_emails(discover(source), cycle_dir, ledger, ledger.known_hashes())
        rows = ledger.db.execute("SELECT outcome, stored_path FROM returned_files").fetchall()
    sha = hashlib.sha256(mail).hexdigest()
    assert first == [f"returned/emails/{sha[:12]}_svar_igjen.eml"] and again == []
    assert [tuple(row) for row in rows] == [("email", first[0])]
    stored = cycle_dir / first[0]
    assert stored.read_bytes() == mail
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


def test_parts_nobody_attached_are_not_candidates(tmp_path):
    message = EmailMessage()
    message["From"] = "Kåre <kare.braten@fjordlys.example>"
    message.set_content("Hei, her er skjemaet.")
    message.add_attachment(
        b"form", maintype="application", subtype="octet-stream", filename="s.docx"
    )
    message.get_payload()[1].replace_header("Content-Disposition", 'inline; filename="s.docx"')
    message.add_attachment("Hilsen Kåre", disposition="inline")  # Apple Mail: text after a file
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", disposition="inline")
    message.add_attachment(b"sig", maintype="application", subtype="pkcs7-signature")
    (tmp_path / "svar.eml").write_bytes(message.as_bytes())
    intake = discover(tmp_path)
    assert [(c.source, c.data) for c in intake.candidates] == [("svar.eml → s.docx", b"form")]


def test_an_email_without_a_form_or_no_email_at_all_is_turned_away_whole(tmp_path):
    empty_forward = forward_email(
        "Leder <leder@fjordlys.example>", "", reply_email("A <a@b>", "", {}, "")
    )
    (tmp_path / "videresendt.eml").write_bytes(empty_forward)
    (tmp_path / "tom.eml").write_bytes(b"")
    many = EmailMessage()
    many["From"] = "A <a@fjordlys.example>"
    for number in range(MAX_ATTACHMENTS + 1):
        many.add_attachment(b"x", maintype="application", subtype="pdf", filename=f"{number}.pdf")
    (tmp_path / "mange.eml").write_bytes(many.as_bytes())
    intake = discover(tmp_path)
    refused = {c.source: (c.refusal[1], c.data) for c in intake.candidates}
    assert refused == {
        "mange.eml": ("too_many_attachments", (tmp_path / "mange.eml").read_bytes()),
        "tom.eml": ("corrupt", b""),
        "videresendt.eml": ("no_attachment", empty_forward),
    }
    assert intake.emails == []
    assert intake.ignored == [
        "videresendt.eml → attached email (part 2) (attached email without attachment)"
    ]


def test_emails_nested_too_deep_are_not_opened(tmp_path):
    def nested(levels: int) -> bytes:
        mail = reply_email("Ola <ola@fjordlys.example>", "", {"y.docx": b"y"}, "")
        for level in range(levels):
            mail = forward_email(
                f"Ledd {level} <l{level}@fjordlys.example>", "", mail, f"{level}.eml"
            )
        return mail

    (tmp_path / "dyp.eml").write_bytes(nested(MAX_NESTED_EMAILS))
    intake = discover(tmp_path)
    assert [c.data for c in intake.candidates] == [b"y"]
    assert intake.candidates[0].source.count(" → ") == MAX_NESTED_EMAILS + 1
    assert intake.candidates[0].sender == "Ola <ola@fjordlys.example>"
    (tmp_path / "dyp.eml").write_bytes(nested(MAX_NESTED_EMAILS + 1))
    intake = discover(tmp_path)
    assert [c.refusal[1] for c in intake.candidates] == ["no_attachment"]
    assert "nested more than" in intake.ignored[0]
    assert len(intake.ignored) == MAX_NESTED_EMAILS + 1


# -- Outlook's own files: .msg and winmail.dat -------------------------------------------------

OUTLOOK_SENT = dt.datetime(CYCLE, 1, 21, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
OUTLOOK_SENT_UTC = f"{CYCLE}-01-21T09:05:00+00:00"
EIRIK = ("Eirik Haugen-Ødegård", "eirik.haugen-odegard@fjordlys.example")
INGRID = ("Ingrid Bø", "ingrid.bo@fjordlys.example")


def outlook_mail(sender, attachments: dict[str, bytes], **changes) -> Mail:
    """Return an Outlook reply with ``attachments`` (and an inline logo Outlook hides)."""
    subject = f"SV: Medarbeidersamtale {CYCLE} – forberedelse"
    hidden = {"image001.png": b"\x89PNG\r\n\x1a\n"}
    return Mail(sender, OUTLOOK_SENT, subject, attachments, hidden=hidden, **changes)


def tnef_email(sender: str, date: str, winmail: bytes) -> bytes:
    """Return an email as Outlook sends it in rich text: the attachments inside winmail.dat."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = "HR <hr@fjordlys.example>"
    message["Subject"] = "SV: skjema"
    message["Date"] = date
    message.set_content("Hei, her er skjemaet.\n")
    message.add_attachment(
        winmail, maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    return message.as_bytes()


def add_outlook_files(folder: SourceFolder, workspace) -> None:
    """Write a message dragged out of Outlook (.msg), a winmail.dat, and broken ones of both."""
    data, answers = filled(workspace, "1021", "employee")
    folder.put("outlook/Svar fra Eirik.msg", msg_file(outlook_mail(EIRIK, {"skjema.docx": data})))
    folder.good["outlook/Svar fra Eirik.msg → skjema.docx"] = ("1021", "employee", answers)
    data, answers = filled(workspace, "1022", "manager")
    folder.put("outlook/winmail.dat", tnef_file(outlook_mail(INGRID, {"leder.docx": data})))
    folder.good["outlook/winmail.dat → leder.docx"] = ("1022", "manager", answers)
    whole = msg_file(outlook_mail(EIRIK, {"skjema.docx": data}))
    folder.put("outlook/avbrutt.msg", whole[: len(whole) // 2], "corrupt")
    folder.put("outlook/uten vedlegg.msg", msg_file(outlook_mail(EIRIK, {})), "no_attachment")
    winmail = tnef_file(outlook_mail(INGRID, {"leder.docx": data}))
    folder.put("outlook/avbrutt winmail.dat", winmail[:-100], "corrupt")
    # inside an email: found by a worker process, read by the main one (it forks the reader)
    data, answers = filled(workspace, "1023", "employee")
    winmail = tnef_file(outlook_mail(EIRIK, {"skjema.docx": data}))
    mail = tnef_email("Eirik <eirik.haugen-odegard@fjordlys.example>", "", winmail)
    folder.put("outlook/rik tekst.eml", mail)
    folder.good["outlook/rik tekst.eml → winmail.dat → skjema.docx"] = ("1023", "employee", answers)


def test_outlook_files_are_collected_with_sender_and_date_and_kept_whole(batch):
    workspace, source = batch.workspace, batch.source
    cycle_dir = workspace.cycle_dir(CYCLE)
    rows = ledger_rows(workspace)
    form = rows["outlook/Svar fra Eirik.msg → skjema.docx"]
    assert form["sender"] == "Eirik Haugen-Ødegård <eirik.haugen-odegard@fjordlys.example>"
    assert form["sent_at"] == OUTLOOK_SENT_UTC
    form = rows["outlook/winmail.dat → leder.docx"]
    assert form["sender"] == "Ingrid Bø <ingrid.bo@fjordlys.example>"
    assert form["sent_at"] == OUTLOOK_SENT_UTC
    for name, suffix in (("outlook/Svar fra Eirik.msg", ".msg"), ("outlook/winmail.dat", ".dat")):
        row = rows[name]
        assert (row["outcome"], row["reason"], row["employee_id"]) == ("email", "", None)
        stored = cycle_dir / row["stored_path"]
        assert stored.parent == cycle_dir / "returned" / "emails" and stored.suffix == suffix
        assert stored.read_bytes() == (source / name).read_bytes()
    assert row["sender"] == "Ingrid Bø <ingrid.bo@fjordlys.example>"
    assert not any("image001" in s for s in rows)  # Outlook's hidden logo is no attachment


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("outlook/avbrutt.msg", "an Outlook message (.msg) whose attachments could not be read"),
        ("outlook/avbrutt winmail.dat", "an Outlook winmail.dat that could not be read"),
        ("outlook/uten vedlegg.msg", "ask the sender to attach the filled form"),
    ],
)
def test_broken_outlook_files_are_quarantined_whole_with_a_clear_reason(batch, source, words):
    row = ledger_rows(batch.workspace)[source]
    assert row["outcome"] == "quarantined" and words in row["reason"]
    stored = batch.workspace.cycle_dir(CYCLE) / row["stored_path"]
    assert stored.read_bytes() == (batch.source / source).read_bytes()


def test_a_winmail_dat_inside_an_email_is_opened_with_the_email_as_evidence(tmp_path):
    # Outlook's winmail.dat seldom names the sender: the email around it does
    winmail = tnef_file(Mail(("", ""), None, "", {"skjema.docx": b"form"}))
    mail = tnef_email("Ola <ola@fjordlys.example>", "Thu, 21 Jan 2027 10:05:00 +0100", winmail)
    (tmp_path / "svar.eml").write_bytes(mail)
    intake = discover(tmp_path)
    assert [(c.source, c.data) for c in intake.candidates] == [
        ("svar.eml → winmail.dat → skjema.docx", b"form")
    ]
    assert intake.candidates[0].sender == "Ola <ola@fjordlys.example>"
    assert intake.candidates[0].sent_at == OUTLOOK_SENT_UTC
    assert [e.data for e in intake.emails] == [mail]


def test_an_msg_attached_to_an_email_is_opened_with_its_own_sender_and_date(tmp_path):
    dragged = msg_file(outlook_mail(EIRIK, {"skjema.docx": b"form"}))
    forward = forward_email("Leder <leder@fjordlys.example>", "", dragged, "Svar fra Eirik.msg")
    (tmp_path / "videresendt.eml").write_bytes(forward)
    intake = discover(tmp_path)
    assert [(c.source, c.data) for c in intake.candidates] == [
        ("videresendt.eml → Svar fra Eirik.msg → skjema.docx", b"form")
    ]
    assert intake.candidates[0].sender.startswith("Eirik Haugen-Ødegård <")
    assert intake.candidates[0].sent_at == OUTLOOK_SENT_UTC


def test_a_broken_outlook_file_inside_an_email_is_quarantined_and_the_email_kept(tmp_path):
    winmail = tnef_file(outlook_mail(INGRID, {"skjema.docx": b"form"}))
    mail = tnef_email("Ingrid <ingrid.bo@fjordlys.example>", "", winmail[:-50])
    (tmp_path / "svar.eml").write_bytes(mail)
    intake = discover(tmp_path)
    [candidate] = intake.candidates
    assert candidate.source == "svar.eml → winmail.dat"
    assert candidate.refusal[1] == "corrupt" and "winmail.dat" in candidate.refusal[0]
    assert candidate.data == winmail[:-50] and candidate.sender.startswith("Ingrid")
    assert [e.data for e in intake.emails] == [mail]


def test_an_unreadable_attachment_of_an_msg_is_reported(tmp_path):
    dragged = outlook_mail(EIRIK, {"skjema.docx": b"form"}, broken=("tapt.docx",))
    (tmp_path / "svar.msg").write_bytes(msg_file(dragged))
    intake = discover(tmp_path)
    assert [c.source for c in intake.candidates] == ["svar.msg → skjema.docx"]
    assert intake.ignored == ["svar.msg → tapt.docx (attachment that could not be read)"]


def test_outlook_messages_nested_too_deep_are_quarantined_not_opened(tmp_path):
    def nested(levels: int) -> bytes:
        message = outlook_mail(EIRIK, {"skjema.docx": b"form"})
        for level in range(levels):
            message = outlook_mail(INGRID, {}, embedded={f"ledd {level}": message})
        return msg_file(message)

    (tmp_path / "dyp.msg").write_bytes(nested(MAX_NESTED_EMAILS))
    intake = discover(tmp_path)
    assert [c.data for c in intake.candidates] == [b"form"]
    assert intake.candidates[0].sender.startswith("Eirik")
    (tmp_path / "dyp.msg").write_bytes(nested(MAX_NESTED_EMAILS + 1))
    [candidate] = discover(tmp_path).candidates
    assert candidate.refusal[1] == "nested_too_deep"
    assert candidate.source.count(" → ") == MAX_NESTED_EMAILS + 1
    assert "nested more than" in candidate.refusal[0]


def test_the_ledger_handles_of_a_process_share_one_connection(generated_copy):
    from pipeline.domain.intake import IssuedIdentities, KnownFiles, SentForms

    path = generated_copy.ledger_path(CYCLE)
    known, issued, sent = KnownFiles(path), IssuedIdentities(path), SentForms(path)
    assert "0" * 64 not in known and "samtale:1:x" not in issued
    assert sent.get(("1010", "employee")) is not None
    connection = known.ledger().db
    assert issued.ledger().db is connection and sent.handle.ledger().db is connection
    known.close()
    issued.close()
    connection.execute("SELECT 1")  # still open for the forms sent
    sent.close()
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")  # the last handle closed it
