"""Every message a user reads is in plain words: no Python exception names, no tracebacks.

The error paths are walked through the command line as a user meets them: a damaged roster,
answers workbook, samtale.toml, ledger, template, key or previous year's workbook; damaged and
hostile returned files (the real-world corpus included); damaged and tampered sealed PDFs. The
output, and every quarantine reason file, must say what happened and what to do, without
"…Error", "…Exception", "Traceback" or "object has no attribute".
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.errors import plain_reason
from pipeline.formats.certificate import write_public_certificate
from pipeline.formats.seal import load_seal
from pipeline.formats.smtp import classify
from pipeline.state.ledger import Ledger
from testkit.certificates import create_demo_certificate
from testkit.simulate import fields_of, fill_form

from .conftest import CORPUS, CYCLE
from .outlook_files import Mail, msg_file, tnef_file
from .two_people import PASSWORD, archive_minutes

PYTHON_WORDS = re.compile(
    r"\b\w+(?:Error|Exception|Warning)\b|Traceback|object has no attribute|\bErrno\b"
    r"|\b(?:BadZipFile|KeyError|RecursionError|EntitiesForbidden|DTDForbidden)\b"
    r"|XML_PARSE_HUGE|<string>|\bNoneType\b|asn1crypto|AdESIndeterminate|startxref|0x0x"
)  # the last line: library jargon that says nothing to HR


def assert_plain(text: str, where: str = "output") -> None:
    """Fail naming the first Python exception name found in ``text``."""
    found = PYTHON_WORDS.search(text)
    assert found is None, f"{where} shows {found.group(0)!r}:\n{text}"


def run(workspace, *args: str) -> Result:
    """Return the result of ``samtale --workspace WORKSPACE ARGS`` (stdout and stderr)."""
    return CliRunner().invoke(cli, ["--workspace", str(workspace.root), *args])


def in_cycle(command: str) -> list[str]:
    """Return the command with ``--cycle`` where it takes one."""
    return [command] if command == "check" else [command, "--cycle", str(CYCLE)]


def assert_refused_plainly(result: Result) -> None:
    """Assert the command stopped with 'Error: …' in plain words and exit status 1."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Error: " in result.output
    assert_plain(result.output)


def rezipped(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """Return a zip package with some parts replaced (None: left out)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in changes:
                target.writestr(info, source.read(info))
        for name, part in changes.items():
            if part is not None:
                target.writestr(name, part)
    return out.getvalue()


NESTED = b"<a>" * 50_000 + b"</a>" * 50_000
ENTITIES = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><a>&lol2;</a>'
)


# -- plain_reason ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        RecursionError("maximum recursion depth exceeded"),
        zipfile.BadZipFile("File is not a zip file"),
        KeyError("word/document.xml"),
        AttributeError("'EmbeddedPdfSignature' object has no attribute 'signer_cert'"),
        ValueError("invalid literal for int() with base 10: 'x'"),
        TypeError("'NoneType' object is not subscriptable"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        SyntaxError("not well-formed (invalid token): line 1, column 0"),
        PermissionError(13, "Permission denied", "/x/answers.xlsx"),
        FileNotFoundError(2, "No such file or directory", "/x/roster.xlsx"),
        OSError(28, "No space left on device"),
        MemoryError(),
        EOFError(),
    ],
)
def test_plain_reason_never_names_python(exc):
    reason = plain_reason(exc)
    assert_plain(reason)
    assert reason and reason == reason.strip() and "object" not in reason


def test_plain_reason_keeps_what_the_system_says():
    reason = plain_reason(PermissionError(13, "Permission denied", "/x/answers.xlsx"))
    assert reason == "permission denied on /x/answers.xlsx"
    assert plain_reason(OSError(28, "No space left on device")) == "no space left on device"


def test_a_refused_mail_server_connection_is_told_in_plain_words():
    _nature, detail = classify(ConnectionRefusedError(111, "Connection refused"))
    assert detail == "connection refused"
    _nature, detail = classify(OSError())
    assert detail == "the connection failed"


# -- the roster --------------------------------------------------------------------------------


def broken_rosters(good: bytes) -> dict[str, bytes]:
    """Return damaged versions of a roster workbook, by what is wrong with them."""
    sheet = "xl/worksheets/sheet1.xml"
    return {
        "cut short": good[: len(good) // 2],
        "not a zip": b"PK\x03\x04" + b"\x00" * 200,
        "no workbook part": rezipped(good, {"xl/workbook.xml": None}),
        "sheet XML damaged": rezipped(good, {sheet: b"<worksheet><sheetData><row>"}),
        "sheet XML nested deep": rezipped(good, {sheet: NESTED}),
        "sheet XML with entities": rezipped(good, {sheet: ENTITIES}),
        "styles damaged": rezipped(good, {"xl/styles.xml": b"<styleSheet><numFmts count='x'>"}),
        "relations damaged": rezipped(good, {"xl/_rels/workbook.xml.rels": b"<Relationships"}),
        "empty": b"",
        "old xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        "text": "Ansattnr;Navn\n1001;Åse".encode(),
    }


ROSTER_DAMAGE = [
    "cut short",
    "not a zip",
    "no workbook part",
    "sheet XML damaged",
    "sheet XML nested deep",
    "sheet XML with entities",
    "styles damaged",
    "relations damaged",
    "empty",
    "old xls",
    "text",
]


@pytest.mark.parametrize("damage", ROSTER_DAMAGE)
@pytest.mark.parametrize("command", ["check", "generate"])
def test_a_damaged_roster_is_refused_in_plain_words(workspace, damage, command):
    good = workspace.roster_path.read_bytes()
    workspace.roster_path.write_bytes(broken_rosters(good)[damage])
    result = run(workspace, *in_cycle(command))
    assert_refused_plainly(result)
    assert "roster" in result.output


# -- samtale.toml, the key, the ledger, templates, last year's workbook ----------------------


@pytest.mark.parametrize(
    "text",
    [
        b"[mail\nsender = 'x'",
        b"\xff\xfe[mail]\x00",
        b"[mail]\ndeadline = 2027-13-45\n",
        b"organisation = ['a', 'b']\n",
        b"[seal]\ncertificate = 42\n",
        b"[retention]\nanswers_years = 'many'\n",
        b"[schedule]\nholidays = 'Mars'\n",
    ],
)
def test_a_damaged_samtale_toml_is_refused_in_plain_words(workspace, text):
    workspace.config_path.write_bytes(text)
    result = run(workspace, "check")
    assert_plain(result.output)
    assert result.exit_code in (0, 1)
    if result.exit_code:
        assert_refused_plainly(result)


@pytest.mark.parametrize("key", [b"not hex at all\n", b"00\n", b"\xff\xfe\x00"])
def test_a_damaged_key_is_refused_in_plain_words(generated_copy, key):
    (generated_copy.root / ".samtale" / "secret.key").write_bytes(key)
    assert_refused_plainly(run(generated_copy, "generate", "--cycle", str(CYCLE)))
    assert_refused_plainly(run(generated_copy, "collect", "--cycle", str(CYCLE)))


@pytest.mark.parametrize("damage", ["garbage", "cut short", "empty tables"])
@pytest.mark.parametrize("command", ["status", "collect", "minutes", "send", "finalize"])
def test_a_damaged_ledger_is_refused_in_plain_words(generated_copy, damage, command):
    path = generated_copy.ledger_path(CYCLE)
    with Ledger(path) as ledger:
        ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    for side in path.parent.glob("ledger.sqlite-*"):
        side.unlink()
    if damage == "garbage":
        data = b"SQLite format 3\x00" + b"\x13" * 4000
    elif damage == "cut short":
        data = data[: len(data) // 3]
    else:  # a valid SQLite file whose pages were zeroed in the middle
        middle = len(data) // 2
        data = data[:4096] + b"\x00" * (middle - 4096) + data[middle:]
    returned = generated_copy.input_dir / "returned"
    returned.mkdir()
    (returned / "skjema.docx").write_bytes(sent_form(generated_copy))
    path.write_bytes(data)
    result = run(generated_copy, command, "--cycle", str(CYCLE))
    assert_refused_plainly(result)
    assert "restore it from your backup" in result.output


@pytest.mark.parametrize(
    "damage",
    ["cut short", "no document", "document nested deep", "document with entities"],
)
def test_a_damaged_template_is_refused_in_plain_words(workspace, damage):
    path = workspace.templates_dir / "employee.nb.docx"
    good = path.read_bytes()
    data = {
        "cut short": good[: len(good) // 2],
        "no document": rezipped(good, {"word/document.xml": None}),
        "document nested deep": rezipped(good, {"word/document.xml": NESTED}),
        "document with entities": rezipped(good, {"word/document.xml": ENTITIES}),
    }[damage]
    path.write_bytes(data)
    for command in ("check", "generate"):
        assert_refused_plainly(run(workspace, *in_cycle(command)))


@pytest.mark.parametrize("damage", ["garbage", "cut short", "nested"])
def test_a_damaged_previous_workbook_is_refused_in_plain_words(workspace, tmp_path, damage):
    good = workspace.roster_path.read_bytes()
    previous = tmp_path / "answers-2026.xlsx"
    previous.write_bytes(
        {
            "garbage": b"PK\x03\x04garbage",
            "cut short": good[:900],
            "nested": rezipped(good, {"xl/worksheets/sheet1.xml": NESTED}),
        }[damage]
    )
    result = run(workspace, "generate", "--cycle", str(CYCLE), "--previous", str(previous))
    assert_plain(result.output)
    assert result.exit_code in (0, 1), result.output


# -- the schedule: exported calendars and schedule.xlsx ----------------------------------------

CALENDARS = {
    "garbage": b"\xff\xfe not a calendar",
    "bad date": b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2027-99-99\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n",
    "bad rule": b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270201T090000Z\r\n"
    b"DTEND:20270201T100000Z\r\nRRULE:FREQ=DAILY;UNTIL=garbage\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n",
    "nested": b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\n" * 5000 + b"END:VCALENDAR\r\n",
}


@pytest.mark.parametrize("damage", sorted(CALENDARS))
def test_a_damaged_calendar_is_told_in_plain_words(generated_copy, damage):
    folder = generated_copy.input_dir / "calendars"
    folder.mkdir()
    (folder / "1011.ics").write_bytes(CALENDARS[damage])
    result = run(generated_copy, "schedule", "--cycle", str(CYCLE), "--dry-run")
    assert_refused_plainly(result)
    assert "1011.ics" in result.output and "export the calendar again" in result.output


@pytest.mark.parametrize("damage", ["garbage", "cut short", "nested"])
def test_a_damaged_schedule_workbook_is_told_in_plain_words(generated_copy, damage):
    assert run(generated_copy, "schedule", "--cycle", str(CYCLE)).exit_code == 0
    path = generated_copy.cycle_dir(CYCLE) / "schedule.xlsx"
    good = path.read_bytes()
    path.write_bytes(
        {
            "garbage": b"PK\x03\x04" + b"\x02" * 300,
            "cut short": good[: len(good) // 2],
            "nested": rezipped(good, {"xl/worksheets/sheet1.xml": NESTED}),
        }[damage]
    )
    result = run(generated_copy, "schedule", "--cycle", str(CYCLE))
    assert_plain(result.output)
    if damage != "nested":  # a sheet part it does not read may be anything
        assert_refused_plainly(result)


# -- returned files ------------------------------------------------------------------------------


def hostile_returns(form: bytes) -> dict[str, bytes]:
    """Return damaged and hostile returned files, by file name."""
    document = "word/document.xml"
    mail = Mail(("Åse", "ase@fjordlys.example"), None, "Svar", {"skjema.docx": form})
    files = {
        "cut-short.docx": form[: len(form) // 2],
        "not-a-zip.docx": b"PK\x03\x04" + b"\xff" * 300,
        "nested.docx": rezipped(form, {document: NESTED}),
        "entities.docx": rezipped(form, {document: ENTITIES}),
        "no-document.docx": rezipped(form, {document: None}),
        "bad-xml.docx": rezipped(form, {document: b"<w:document><w:body>"}),
        "bad-properties.docx": rezipped(form, {"docProps/custom.xml": NESTED}),
        "bad-core.docx": rezipped(form, {"docProps/core.xml": b"<cp:coreProperties"}),
        "bad-types.docx": rezipped(form, {"[Content_Types].xml": b"\xff\xfe"}),
        "empty.docx": b"",
        "broken.eml": b"From: \xff\xfe\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        "nested.eml": b"Content-Type: message/rfc822\r\n\r\n" * 200,
        "broken.msg": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        "cut-short.msg": msg_file(mail)[: len(msg_file(mail)) // 2],
        "winmail.dat": tnef_file(mail)[:200],
        "scan.pdf": b"%PDF-1.4\n%%EOF\n",
    }
    for path in sorted(CORPUS.glob("*.doc*")):
        files[f"corpus-{path.name}"] = path.read_bytes()
    return files


def sent_form(workspace, employee_id: str = "1013", kind: str = "employee") -> bytes:
    """Return a generated form."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.cycle_dir(CYCLE) / record.path).read_bytes()


def test_damaged_and_hostile_returns_are_quarantined_in_plain_words(generated_copy, tmp_path):
    source = tmp_path / "returned"
    source.mkdir()
    form = sent_form(generated_copy)
    filled = fill_form(form, {f.key: "Svar" for f in fields_of(form) if f.type == "richtext"})
    for name, data in hostile_returns(filled).items():
        (source / name).write_bytes(data)
    result = run(generated_copy, "collect", "--cycle", str(CYCLE), "--from", str(source))
    assert result.exit_code == 0, result.output
    assert_plain(result.output)
    notes = sorted((generated_copy.cycle_dir(CYCLE) / "quarantine").rglob("*.reason.txt"))
    assert len(notes) >= len(hostile_returns(filled)) - 3  # emails without forms are kept apart
    for note in notes:
        assert_plain(note.read_text(encoding="utf-8"), str(note))
    assert_plain(run(generated_copy, "status", "--cycle", str(CYCLE)).output)


# -- the answers workbook ----------------------------------------------------------------------


@pytest.fixture
def collected(generated_copy, tmp_path):
    """Return a workspace where one filled form came back (so answers.xlsx exists)."""
    source = tmp_path / "back"
    source.mkdir()
    form = sent_form(generated_copy)
    filled = fill_form(form, {f.key: "Svar" for f in fields_of(form) if f.type == "richtext"})
    (source / "form.docx").write_bytes(filled)
    result = run(generated_copy, "collect", "--cycle", str(CYCLE), "--from", str(source))
    assert result.exit_code == 0, result.output
    return generated_copy


@pytest.mark.parametrize("damage", ["garbage", "cut short", "nested", "no workbook part"])
@pytest.mark.parametrize("command", ["collect", "minutes", "status", "report", "finalize"])
def test_a_damaged_answers_workbook_is_told_in_plain_words(collected, damage, command):
    path = collected.answers_path(CYCLE)
    good = path.read_bytes()
    path.write_bytes(
        {
            "garbage": b"PK\x03\x04" + b"\x01" * 500,
            "cut short": good[: len(good) // 2],
            "nested": rezipped(good, {"xl/worksheets/sheet1.xml": NESTED}),
            "no workbook part": rezipped(good, {"xl/workbook.xml": None}),
        }[damage]
    )
    result = run(collected, command, "--cycle", str(CYCLE))
    assert_plain(result.output)
    assert result.exit_code in (0, 1, 3), result.output


# -- sealed PDFs ---------------------------------------------------------------------------------


@pytest.fixture
def sealed(generated_copy, tmp_path):
    """Return a workspace with one sealed minutes PDF archived, the PDF, and verify's options."""
    p12 = create_demo_certificate(tmp_path / "seal.p12", PASSWORD, "Fjordlys Energi AS")
    write_public_certificate(load_seal(p12, PASSWORD), p12)
    person = ("1013", "Siri Kvåle", "siri@fjordlys.example", "nb")
    archive_minutes(generated_copy, p12, person, "Bli sertifisert")
    (pdf,) = (generated_copy.output_dir / "archive" / str(CYCLE)).rglob("*.pdf")
    options = ("--cycle", str(CYCLE), "--cert", str(p12))
    assert run(generated_copy, "verify", *options).exit_code == 0
    return generated_copy, pdf, options


def overwrite(path: Path, data: bytes) -> None:
    """Write over an archived file (the archive keeps its files read-only)."""
    os.chmod(path, 0o600)
    path.write_bytes(data)


def tampered(data: bytes, how: str) -> bytes:
    """Return a sealed PDF damaged or tampered with in one way."""
    contents = data.index(b"/Contents <") + len(b"/Contents <")
    byte_range = data.index(b"/ByteRange")
    if how == "content changed":
        at = data.index(b"Referat")
        return data[:at] + b"Rxferat" + data[at + 7 :]
    if how == "signature bytes changed":
        return data[: contents + 200] + b"ff" * 40 + data[contents + 280 :]
    if how == "signature zeroed":
        end = data.index(b">", contents)
        return data[:contents] + b"0" * (end - contents) + data[end:]
    if how == "signature garbage":
        end = data.index(b">", contents)
        return data[:contents] + b"3082" + b"ab" * ((end - contents - 4) // 2) + data[end:]
    if how == "byte range broken":
        return data[:byte_range] + b"/ByteRange [0 1 2 3 4 5]" + data[byte_range + 24 :]
    if how == "appended":
        return data + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
    if how == "cut short":
        return data[: len(data) // 2]
    if how == "not a pdf":
        return b"PK\x03\x04 this is no PDF"
    if how == "empty":
        return b""
    if how == "no xref":
        return data.replace(b"startxref", b"startxxxx")
    raise AssertionError(how)


TAMPERING = [
    "content changed",
    "signature bytes changed",
    "signature zeroed",
    "signature garbage",
    "byte range broken",
    "appended",
    "cut short",
    "not a pdf",
    "empty",
    "no xref",
]


@pytest.mark.parametrize("how", TAMPERING)
def test_a_tampered_sealed_pdf_fails_verify_in_plain_words(sealed, how):
    workspace, pdf, options = sealed
    overwrite(pdf, tampered(pdf.read_bytes(), how))
    for args in (options, (*options[2:], str(pdf))):
        result = run(workspace, "verify", *args)
        assert result.exit_code == 1, result.output
        assert "FAIL" in result.output
        assert_plain(result.output)


@pytest.mark.parametrize("damage", ["garbage line", "not json", "binary"])
def test_a_damaged_archive_manifest_fails_verify_in_plain_words(sealed, damage):
    workspace, pdf, options = sealed
    manifest = pdf.parents[1] / "manifest.jsonl"
    extra = {"garbage line": b'{"path": 1}\n', "not json": b"{oops\n", "binary": b"\xff\xfe\x00\n"}
    overwrite(manifest, manifest.read_bytes() + extra[damage])
    result = run(workspace, "verify", *options)
    assert result.exit_code == 1, result.output
    assert_plain(result.output)


def test_a_damaged_certificate_is_refused_in_plain_words(sealed, tmp_path):
    workspace, _pdf, _options = sealed
    certificate = tmp_path / "broken.p12"
    certificate.write_bytes(b"\x30\x82\x01\x00" + b"\x00" * 100)
    result = run(workspace, "verify", "--cycle", str(CYCLE), "--cert", str(certificate))
    assert result.exit_code == 1, result.output
    assert_plain(result.output)


# -- the last resort ---------------------------------------------------------------------------


def test_an_unexpected_failure_is_told_in_plain_words_with_a_way_to_the_details(
    generated_copy, monkeypatch
):
    def broken(*_args, **_kwargs):
        raise AttributeError("'EmbeddedPdfSignature' object has no attribute 'signer_cert'")

    monkeypatch.setattr("pipeline.commands.status.cycle_status", broken)
    result = run(generated_copy, "status", "--cycle", str(CYCLE))
    assert_refused_plainly(result)
    assert "samtale --traceback" in result.output
    shown = CliRunner().invoke(
        cli, ["--workspace", str(generated_copy.root), "--traceback", "status"]
    )
    assert shown.exit_code == 1 and "Traceback" in shown.output  # asked for: shown
