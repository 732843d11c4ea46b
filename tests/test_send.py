"""Emailing the forms: the plan, .eml drafts, and a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import socket
import time
from collections import Counter
from email import policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from hypothesis import assume, given
from hypothesis import strategies as st
from icalendar import Calendar

from pipeline.commands.erase import erase_person
from pipeline.commands.send import (
    delivery,
    emails,
    plan_emails,
    send_emails,
    send_for_cycle,
)
from pipeline.domain.dates import format_date
from pipeline.domain.personal_data import file_owners, person_cycle
from pipeline.errors import ConfigError, CycleNotGenerated, MailError, RosterError, TemplateError
from pipeline.formats import email as email_format
from pipeline.formats import email_parts
from pipeline.formats.roster import EMAIL_PATTERN, Employee, Roster, read_roster
from pipeline.formats.smtp import SmtpSettings
from pipeline.state.config import Config, MailConfig
from pipeline.state.files import write_private
from pipeline.state.ledger import FormRecord, Ledger, MeetingRecord, now_iso
from pipeline.state.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
CYCLE = 2027
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PASSWORD = "Fjord-hemmelig-42"
CONFIG = """\
[organisation]
name = "Fjordlys Energi AS"

[mail]
sender_name = "HR i Fjordlys Energi – Åsgård"
sender_address = "hr@fjordlys.example"
reply_to = "medarbeidersamtale@fjordlys.example"
deadline = 2027-01-29
hr_contact = "Ingrid Løvås-Brekke (ingrid.lovas-brekke@fjordlys.example)"
rate_per_second = 1000  # no noticeable limit; test_rate_limit sets its own
"""
# id, name, manager, email, language
PEOPLE = [
    ("1000", "Åse Marit Fjellheim-Østby", "", "ase.fjellheim-ostby@fjordlys.example", "nb"),
    ("1001", "Kari Nordmann", "1000", "kari.nordmann@fjordlys.example", "nb"),
    ("1002", "Ola Ødegård", "1001", "ola.odegard@fjordlys.example", "nb"),
    ("1003", "Bjørn-Åge Sæther Kvalsvik-Lindqvist", "1001", "bjorn-age@fjordlys.example", "nb"),
    ("1004", "Priya Raman", "1001", "priya.raman@fjordlys.example", "en"),
    ("1005", "Tor Ærlig", "1000", "", "nb"),
]
FORM_WORD = {"employee": "medarbeider", "manager": "leder", "minutes": "referat"}


# fixtures ---------------------------------------------------------------------------------------


class Cycle:
    """A workspace with a roster and generated forms recorded in the ledger."""

    def __init__(self, root: Path, people=PEOPLE, config: str = CONFIG):
        root.mkdir(parents=True, exist_ok=True)
        self.ws = Workspace.at(root, templates_dir=REPO / "templates")
        (root / "samtale.toml").write_text(config, encoding="utf-8")
        employees = tuple(
            Employee(i, n, e, m, "Drift", "Rådgiver", None, lang, row)
            for row, (i, n, m, e, lang) in enumerate(people, start=2)
        )
        self.roster = Roster(
            root / "roster.xlsx", "Ansatte", employees, {e.id: e for e in employees}
        )
        self.forms: dict[tuple[str, str], bytes] = {}
        self.paths: dict[tuple[str, str], str] = {}
        self.cycle_dir = self.ws.cycle_dir(CYCLE)

    def add_form(self, employee_id: str, kind: str) -> bytes:
        """Write a small fake .docx for one form and record it as generated."""
        person = self.roster.by_id.get(employee_id)
        name = person.name if person else employee_id
        rel = f"forms/{kind}/Medarbeidersamtale {CYCLE} – {name} ({FORM_WORD[kind]}).docx"
        data = b"PK\x03\x04" + f"{kind}:{employee_id}:".encode() + os.urandom(48)
        write_private(self.cycle_dir / rel, data)
        sha = hashlib.sha256(data).hexdigest()
        record = FormRecord(
            employee_id, kind, rel, sha, "in", "v1", "nb", "[]", "generated", now_iso(), None
        )
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            ledger.record_form(record)
        self.forms[(employee_id, kind)] = data
        self.paths[(employee_id, kind)] = rel
        return data

    def add_prep_forms(self) -> None:
        """Add employee and manager forms for everyone who has a manager."""
        for person in self.roster.employees:
            if person.manager_id:
                self.add_form(person.id, "employee")
                self.add_form(person.id, "manager")

    def ledger_rows(self) -> list[dict]:
        """Return the emails table."""
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            return [dict(r) for r in ledger.db.execute("SELECT * FROM emails ORDER BY message_id")]

    def form_record(self, employee_id: str, kind: str) -> FormRecord:
        """Return one form's ledger record."""
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            return ledger.form(employee_id, kind)

    def set_status(self, employee_id: str, kind: str, status: str) -> None:
        """Set one form's status (as intake would when it comes back)."""
        with Ledger(self.ws.ledger_path(CYCLE)) as ledger:
            ledger.set_form_status(employee_id, kind, status)

    def send(self, kind="prep", **kwargs) -> emails.SendReport:
        """Run send_emails for this cycle."""
        kwargs.setdefault("env", {})
        return send_emails(self.ws, CYCLE, self.roster, kind, **kwargs)

    def plan(self, kind="prep", **kwargs) -> list[emails.PlannedEmail]:
        """Run plan_emails for this cycle."""
        return plan_emails(self.ws, CYCLE, self.roster, kind, **kwargs)


@pytest.fixture
def cyc(tmp_path) -> Cycle:
    """Return a cycle with prep forms for everyone below the top manager."""
    c = Cycle(tmp_path)
    c.add_prep_forms()
    return c


class Recorder:
    """aiosmtpd handler that keeps what it accepted and misbehaves when told to."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.mail_options: list[list[str]] = []  # MAIL FROM options of each accepted message
        self.refuse: dict[str, str] = {}  # recipient -> reply to RCPT, for every attempt
        self.data_replies: dict[int, str] = {}  # n-th DATA (1-based) -> reply, or "drop"
        self.down = False  # every MAIL FROM gets 421 (the server is going away)
        self.data_count = 0
        self.rcpt_attempts: Counter[str] = Counter()
        self.logins: list[tuple[str, bytes, bytes]] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.down:
            return "421 4.3.2 Service not available, closing channel"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts[address] += 1
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_count += 1
        action = self.data_replies.get(self.data_count)
        if action in ("drop", "drop-and-stay-down"):
            self.down = action == "drop-and-stay-down"
            server.transport.close()  # the client never hears back: nothing was accepted
            return "421 gone"
        if action:
            return action
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        self.mail_options.append(list(envelope.mail_options))
        return "250 2.0.0 Ok: queued"

    def parsed(self) -> list[email.message.EmailMessage]:
        """Return the accepted messages, parsed."""
        return [parse(raw) for _, raw in self.messages]

    def message_ids(self) -> Counter[str]:
        """Return how often each Message-ID arrived."""
        return Counter(str(m["Message-ID"]) for m in self.parsed())


def parse(raw: bytes) -> email.message.EmailMessage:
    """Return a message parsed as RFC 6532 readers do: raw header bytes are UTF-8."""
    # message_from_bytes would keep UTF-8 in an address as surrogate escapes
    return email.message_from_string(raw.decode("utf-8"), policy=policy.default)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(handler, **kwargs) -> Controller:
    """Start aiosmtpd on 127.0.0.1 and return its controller."""
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.test", **kwargs
    )
    controller.start()
    return controller


@pytest.fixture
def server():
    """Yield (recorder, settings) for a plain SMTP server on 127.0.0.1."""
    recorder = Recorder()
    controller = start_server(recorder)
    settings = SmtpSettings(
        "127.0.0.1", controller.port, tls="none", max_retries=2, backoff_seconds=0.01
    )
    yield recorder, settings
    controller.stop()


def attachments_of(msg) -> dict[str, bytes]:
    """Return {file name: bytes} of a parsed message's attachments."""
    return {part.get_filename(): part.get_content() for part in msg.iter_attachments()}


def form_keys(planned: emails.PlannedEmail) -> set[tuple[str, str]]:
    """Return the (employee id, form kind) of each attachment of a planned email."""
    return {(a.employee_id, a.form_kind) for a in planned.attachments}


def expected_emails(c: Cycle) -> dict[str, set[tuple[str, str]]]:
    """Return, per address, the attachment sets each prep email must carry (as form keys)."""
    return {
        "kari.nordmann@fjordlys.example": {("1001", "employee")},
        "ola.odegard@fjordlys.example": {("1002", "employee")},
        "bjorn-age@fjordlys.example": {("1003", "employee")},
        "priya.raman@fjordlys.example": {("1004", "employee")},
        "ase.fjellheim-ostby@fjordlys.example/manager": {("1001", "manager"), ("1005", "manager")},
        "kari.nordmann@fjordlys.example/manager": {
            ("1002", "manager"),
            ("1003", "manager"),
            ("1004", "manager"),
        },
    }


# the plan ---------------------------------------------------------------------------------------


def test_plan_groups_forms_per_recipient_and_reports_missing_addresses(cyc):
    plan = cyc.plan()
    by_recipient = [(e.recipient_id, e.for_manager, {a.path for a in e.attachments}) for e in plan]
    kari_reports = {cyc.paths[(i, "manager")] for i in ("1002", "1003", "1004")}
    assert ("1001", True, kari_reports) in by_recipient
    assert ("1001", False, {cyc.paths[("1001", "employee")]}) in by_recipient
    top = {cyc.paths[("1001", "manager")], cyc.paths[("1005", "manager")]}
    assert ("1000", True, top) in by_recipient
    assert len(plan) == 7  # five own forms (one without address) + two managers
    [tor] = [e for e in plan if e.problem]
    assert tor.recipient_id == "1005" and "no email address" in tor.problem
    assert "row 7" in tor.problem
    assert [e.number for e in plan] == list(range(1, 8))
    assert all(e.status == "new" for e in plan)


def test_message_ids_are_stable_and_distinct(cyc):
    first = [e.message_id for e in cyc.plan()]
    second = [e.message_id for e in cyc.plan()]
    assert first == second
    ids = [i for i in first if i]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(f"<samtale.{CYCLE}.prep.") for i in ids)
    assert all(i.endswith("@fjordlys.example>") for i in ids)


def test_texts_follow_the_recipient_language_and_greet_by_first_name(cyc):
    plan = {(e.recipient_id, e.for_manager): e for e in cyc.plan()}
    ola, priya, kari_mgr = plan[("1002", False)], plan[("1004", False)], plan[("1001", True)]
    assert ola.body.startswith("Hei Ola,\n") and "fredag 29. januar 2027" in ola.body
    assert "Kari Nordmann" in ola.body  # the employee's manager, by name
    assert priya.body.startswith("Hi Priya,\n") and "Friday 29 January 2027" in priya.body
    assert "Ingrid Løvås-Brekke" in priya.body and "medarbeidersamtale@fjordlys.example" in ola.body
    for name in ("Ola Ødegård", "Bjørn-Åge Sæther Kvalsvik-Lindqvist", "Priya Raman"):
        assert name in kari_mgr.body
    assert "3 medarbeidere" in kari_mgr.subject
    for planned in plan.values():
        if not planned.problem:
            assert "{" not in planned.body + planned.subject and "\n\n\n" not in planned.body
            assert "\n" not in planned.subject


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-02-12", dt.date(2027, 2, 12)),
        ("12.02.2027", dt.date(2027, 2, 12)),
        (dt.date(2027, 3, 1), dt.date(2027, 3, 1)),
        (None, dt.date(2027, 1, 29)),  # from the config
    ],
)
def test_deadline_comes_from_the_option_or_the_config(cyc, value, expected):
    [ola] = [e for e in cyc.plan(deadline=value) if e.recipient_id == "1002"]
    assert format_date(expected, "nb") in ola.body


def test_bad_or_missing_deadline_is_an_error(tmp_path):
    with pytest.raises(MailError, match="not a date"):
        Cycle(tmp_path / "a").plan(deadline="neste fredag")
    config = CONFIG.replace("deadline = 2027-01-29\n", "")
    c = Cycle(tmp_path / "b", config=config)
    c.add_prep_forms()
    with pytest.raises(MailError, match="--deadline"):
        c.plan()
    c = Cycle(tmp_path / "c", config=CONFIG.replace("2027-01-29", '"snart"'))
    with pytest.raises(ConfigError, match=r"\[mail\] deadline"):
        c.plan()


def test_a_cycle_without_forms_is_an_error_and_creates_nothing(tmp_path):
    ws = Workspace.at(tmp_path, templates_dir=REPO / "templates")
    (tmp_path / "samtale.toml").write_text(CONFIG, encoding="utf-8")
    roster = Roster(tmp_path / "r.xlsx", "Ansatte", ())
    with pytest.raises(CycleNotGenerated, match="generate --cycle 2031"):
        send_emails(ws, 2031, roster, "prep", dry_run=True)
    assert not (tmp_path / "output" / "2031").exists()


def test_forms_nobody_can_receive_are_reported(tmp_path):
    c = Cycle(tmp_path)
    c.add_form("1000", "manager")  # the top of the organisation has no manager
    c.add_form("9999", "employee")  # not in the roster
    problems = [e.problem for e in c.plan()]
    assert len(problems) == 2
    assert any("has no manager in the roster" in p for p in problems)
    assert any("9999, who is not in the roster" in p for p in problems)
    report = c.send(dry_run=True)
    assert len(report.failed) == 2 and not report.pending


def test_broken_email_template_names_the_file(cyc, tmp_path):
    templates = tmp_path / "tpl"
    shutil.copytree(REPO / "templates" / "email", templates / "email")
    broken = templates / "email" / "prep.nb.txt"
    broken.write_text("Subject: Hei {{ recipient.nickname }}\n\nTekst\n", encoding="utf-8")
    ws = Workspace.at(cyc.ws.root, templates_dir=templates)
    with pytest.raises(TemplateError) as caught:
        plan_emails(ws, CYCLE, cyc.roster, "prep")
    assert str(broken) in str(caught.value) and "nickname" in str(caught.value)
    broken.write_text("Hei {{ recipient.first_name }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="Subject"):
        plan_emails(ws, CYCLE, cyc.roster, "prep")


@pytest.mark.parametrize("kind", emails.EMAIL_KINDS)
@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize(("for_manager", "count"), [(False, 1), (True, 1), (True, 3)])
def test_every_email_template_renders_cleanly(kind, language, for_manager, count):
    forms = [{"employee": f"Ærlig Person {i}", "file": f"skjema-{i}.docx"} for i in range(count)]
    context = {
        "recipient": {"id": "1", "name": "Kari Nordmann", "first_name": "Kari", "email": "k@x.no"},
        "manager_name": "Åse Østby",
        "for_manager": for_manager,
        "forms": forms,
        "deadline": "fredag 29. januar 2027",
        "cycle": CYCLE,
        "organisation": "Fjordlys Energi AS",
        "hr_contact": "Ingrid i HR",
        "sender_name": "HR",
        "return_address": "svar@fjordlys.example",
    }
    texts = email_format.EmailTemplates(REPO / "templates" / "email")
    subject, body = texts.render(kind, language, context)
    assert subject and str(CYCLE) in subject and "\n" not in subject
    assert body.startswith(("Hei Kari,\n\n", "Hi Kari,\n\n"))
    for needle in ("fredag 29. januar 2027", "Ingrid i HR", "svar@fjordlys.example", ".docx"):
        assert needle in body
    assert "{" not in body and "\n\n\n" not in body and body.endswith("Fjordlys Energi AS\n")
    if for_manager or kind == "minutes":
        assert all(f["employee"] in body for f in forms)


def test_bad_addresses_and_missing_files_are_reported(tmp_path):
    people = [*PEOPLE[:3], ("1006", "Liv Brå", "1001", "liv.bra@fjordlys", "nb")]
    c = Cycle(tmp_path, people=people)
    c.add_form("1002", "employee")
    c.add_form("1006", "employee")
    (c.cycle_dir / c.paths[("1002", "employee")]).unlink()
    problems = {e.recipient_id: e.problem for e in c.plan()}
    assert "invalid email address 'liv.bra@fjordlys'" in problems["1006"]
    assert "missing" in problems["1002"] and "Ola Ødegård" in problems["1002"]
    report = c.send()
    assert not report.drafted and len(report.failed) == 2
    assert {r["status"] for r in c.ledger_rows()} == {"failed"}


def test_config_must_name_a_real_sender_before_anything_goes_out(tmp_path):
    c = Cycle(tmp_path, config="[mail]\ndeadline = 2027-01-29\n")
    c.add_prep_forms()
    assert len(c.send(dry_run=True).pending) == 6  # the plan works with the defaults
    with pytest.raises(ConfigError, match="sender_address"):
        c.send()
    assert c.ledger_rows() == [] and not (c.cycle_dir / "outbox").exists()
    c = Cycle(tmp_path / "b", config=CONFIG.replace('"medarbeidersamtale@', '"ikke en adresse '))
    with pytest.raises(ConfigError, match="reply_to"):
        c.plan()


# outbox -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("in_workers", [False, True], ids=["here", "worker-processes"])
def test_outbox_drafts_parse_carry_x_unsent_and_are_not_rewritten(cyc, monkeypatch, in_workers):
    if in_workers:  # a big batch: the drafts are built and written by a pool of processes
        monkeypatch.setattr(delivery, "DRAFTS_IN_PARALLEL", 2)
    report = cyc.send()
    outbox = cyc.cycle_dir / "outbox"
    assert report.outbox == outbox and report.mode == "outbox"
    assert len(report.drafted) == 6 and [o.email.recipient_id for o in report.failed] == ["1005"]
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 6
    names = [f.name for f in files]
    assert "0002-prep-1001-kari-nordmann.eml" in names
    assert any(n.endswith("-prep-1003-bjorn-age-saether-kvalsvik-lindqvist.eml") for n in names)
    seen = Counter()
    for path in files:
        assert path.stat().st_mode & 0o077 == 0
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg["X-Unsent"] == "1" and msg["Bcc"] is None
        for name, data in attachments_of(msg).items():
            key = next(k for k, p in cyc.paths.items() if Path(p).name == name)
            assert data == cyc.forms[key]
            seen[key] += 1
    assert seen == Counter({k: 1 for k in cyc.forms if k != ("1005", "employee")})
    assert cyc.form_record("1002", "manager").handed_out_at is not None
    assert cyc.form_record("1005", "employee").handed_out_at is None
    rows = {r["status"] for r in cyc.ledger_rows()}
    assert rows == {"drafted", "failed"}

    before = {p.name: p.read_bytes() for p in files}
    again = cyc.send()
    assert not again.drafted and len(again.skipped) == 6 and len(again.failed) == 1
    assert {p.name: p.read_bytes() for p in outbox.glob("*.eml")} == before


def test_outbox_finds_its_drafts_again_after_a_crash(cyc, monkeypatch):
    real_record = delivery.record_within

    def crash_on_drafted(ledger, planned, status, detail):
        if status == "drafted":
            raise KeyboardInterrupt
        real_record(ledger, planned, status, detail)

    monkeypatch.setattr(delivery, "record_within", crash_on_drafted)
    with pytest.raises(KeyboardInterrupt):
        cyc.send()
    monkeypatch.setattr(delivery, "record_within", real_record)
    outbox = cyc.cycle_dir / "outbox"
    written = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(written) == 6  # the batch was written, then the crash came before the ledger
    assert {r["status"] for r in cyc.ledger_rows()} <= {"failed"}  # rolled back: none drafted
    report = cyc.send()
    assert len(report.drafted) == 6
    assert {p.name: p.read_bytes() for p in outbox.glob("*.eml")} == written  # none twice


def test_dry_run_sends_nothing_and_writes_nothing(cyc, server):
    recorder, settings = server

    def snapshot():
        return {
            p.relative_to(cyc.ws.root): p.read_bytes()
            for p in cyc.ws.root.rglob("*")
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))
        }

    before = snapshot()
    for smtp in (None, settings):
        report = cyc.send(smtp=smtp, dry_run=True)
        assert report.dry_run and len(report.pending) == 6 and len(report.failed) == 1
        assert not report.sent and not report.drafted
    assert snapshot() == before
    assert recorder.data_count == 0 and not recorder.rcpt_attempts
    assert cyc.ledger_rows() == []
    assert report.pending[1].describe() == (
        "Kari Nordmann (1001) <kari.nordmann@fjordlys.example>: employee form of Kari Nordmann"
    )


def test_outbox_from_really_generated_forms(generated_copy):
    """The contract with generate and the roster reader: every generated form leaves once."""
    from pipeline.formats.roster import read_roster

    roster = read_roster(generated_copy.roster_path)
    report = send_emails(generated_copy, CYCLE, roster, "prep", env={})
    cycle_dir = generated_copy.output_dir / str(CYCLE)
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        forms = {Path(f.path).name: f for f in ledger.forms()}
    attached = Counter()
    for outcome in report.drafted:
        msg = email.message_from_bytes(
            (cycle_dir / outcome.detail).read_bytes(), policy=policy.default
        )
        assert msg["X-Unsent"] == "1"
        for name, data in attachments_of(msg).items():
            assert data == (cycle_dir / forms[name].path).read_bytes()
            attached[name] += 1
    unsent = {Path(a.path).name for o in report.failed for a in o.email.attachments}
    assert set(attached.values()) == {1}
    assert set(attached) | unsent == set(forms) and not set(attached) & unsent


# SMTP -------------------------------------------------------------------------------------------


def test_smtp_delivers_every_form_once_in_correct_mime(cyc, server):
    recorder, settings = server
    report = cyc.send(smtp=settings)
    assert report.ok is False  # Tor has no address
    assert [o.email.recipient_id for o in report.failed] == ["1005"]
    assert len(report.sent) == 6 and not report.stopped

    messages = recorder.parsed()
    assert sorted(r for rcpts, _ in recorder.messages for r in rcpts) == sorted(
        a.split("/")[0] for a in expected_emails(cyc)
    )
    got = {}
    for (rcpts, raw), msg in zip(recorder.messages, messages, strict=True):
        keys = set()
        for part in msg.iter_attachments():
            assert part.get_content_type() == DOCX
            name = part.get_filename()
            key = next(k for k, p in cyc.paths.items() if Path(p).name == name)
            assert part.get_content() == cyc.forms[key]
            keys.add(key)
        suffix = "/manager" if any(k[1] == "manager" for k in keys) else ""
        got[rcpts[0] + suffix] = keys
        assert msg["To"].addresses[0].addr_spec == rcpts[0]
        assert msg["Reply-To"] == "medarbeidersamtale@fjordlys.example"
        assert msg["Date"].datetime is not None and msg["Auto-Submitted"] is None
        assert msg["From"].addresses[0].display_name == "HR i Fjordlys Energi – Åsgård"
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and b"=?utf-8?" in head  # encoded subject and display names
    assert got == expected_emails(cyc)

    bjorn = next(m for m in messages if "bjorn-age" in str(m["To"]))
    assert str(bjorn["To"].addresses[0].display_name) == "Bjørn-Åge Sæther Kvalsvik-Lindqvist"
    assert "forberedelsesskjemaet ditt" in str(bjorn["Subject"])
    raw = next(raw for rcpts, raw in recorder.messages if rcpts == ["bjorn-age@fjordlys.example"])
    assert b"filename*" in raw and b"utf-8''" in raw  # RFC 2231
    assert "Bjørn-Åge Sæther" in next(iter(attachments_of(bjorn)))

    plan_ids = {e.message_id for e in cyc.plan() if not e.problem}
    assert set(recorder.message_ids()) == plan_ids
    rows = {r["message_id"]: r for r in cyc.ledger_rows()}
    assert all(rows[i]["status"] == "sent" for i in plan_ids)
    paths = json.loads(rows[next(iter(plan_ids))]["attachments"])
    assert all(p.startswith("forms/") for p in paths)
    assert cyc.form_record("1003", "manager").handed_out_at is not None

    again = cyc.send(smtp=settings)
    assert not again.sent and len(again.skipped) == 6
    assert len(recorder.messages) == 6


def test_dropped_connection_is_reconnected_within_the_run(cyc, server):
    recorder, settings = server
    recorder.data_replies = {3: "drop", 5: "451 4.3.0 try again later"}
    report = cyc.send(smtp=settings)
    assert len(report.sent) == 6 and not report.stopped
    assert max(recorder.message_ids().values()) == 1 and len(recorder.messages) == 6


def test_server_gone_mid_batch_then_rerun_sends_each_email_exactly_once(cyc, server):
    recorder, settings = server
    recorder.data_replies = {3: "drop-and-stay-down"}
    first = cyc.send(smtp=settings)
    assert len(first.sent) == 2 and "no working connection" in first.stopped
    assert len(first.failed) == 5  # the dropped one, three after it, and Tor without address
    not_sent = [o for o in first.failed if o.email.recipient_id != "1005"]
    assert all("run send again" in o.detail for o in not_sent)

    recorder.down = False
    second = cyc.send(smtp=settings)
    assert len(second.sent) == 4 and len(second.skipped) == 2
    counts = recorder.message_ids()
    assert set(counts.values()) == {1}
    assert set(counts) == {e.message_id for e in cyc.plan() if not e.problem}


def test_temporary_failure_beyond_retries_then_rerun(cyc, server):
    recorder, settings = server
    recorder.refuse["priya.raman@fjordlys.example"] = "452 4.2.2 Mailbox full"
    first = cyc.send(smtp=settings)
    [priya] = [o for o in first.failed if o.email.recipient_id == "1004"]
    assert "452 4.2.2 Mailbox full" in priya.detail
    assert recorder.rcpt_attempts["priya.raman@fjordlys.example"] == settings.max_retries + 1
    assert len(first.sent) == 5 and not first.stopped

    del recorder.refuse["priya.raman@fjordlys.example"]
    second = cyc.send(smtp=settings)
    assert [o.email.recipient_id for o in second.sent] == ["1004"]
    assert set(recorder.message_ids().values()) == {1} and len(recorder.messages) == 6


def test_permanent_failure_is_reported_for_that_recipient_only(cyc, server):
    recorder, settings = server
    recorder.refuse["ola.odegard@fjordlys.example"] = "550 5.1.1 No such user here"
    recorder.data_replies = {4: "554 5.6.0 Message rejected"}
    report = cyc.send(smtp=settings)
    failed = {o.email.recipient_id: o.detail for o in report.failed}
    assert "550 5.1.1 No such user here" in failed["1002"]
    assert recorder.rcpt_attempts["ola.odegard@fjordlys.example"] == 1  # no retry of a 5xx
    assert any("554 5.6.0 Message rejected" in d for d in failed.values())
    assert len(report.sent) == 4 and len(report.failed) == 3
    assert [o.email.recipient_id for o in report.problems] == ["1005"]  # no address
    assert len(report.undelivered) == 2
    assert cyc.form_record("1002", "employee").handed_out_at is None
    statuses = Counter(r["status"] for r in cyc.ledger_rows())
    assert statuses == Counter({"sent": 4, "failed": 3})


def test_crash_mid_batch_then_rerun_sends_the_rest(cyc, server):
    recorder, settings = server

    def crash_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cyc.send(smtp=settings, progress=crash_after_three)
    assert len(recorder.messages) == 3
    calls = []
    report = cyc.send(smtp=settings, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert len(report.sent) == 3 and set(recorder.message_ids().values()) == {1}
    assert len(recorder.messages) == 6


def test_crash_between_accept_and_ledger_resends_with_the_same_message_id(cyc, server, monkeypatch):
    """The documented window: the copy comes twice, but under one Message-ID."""
    recorder, settings = server
    real_record = delivery.record

    def crash_on_sent(ledger, planned, status, detail):
        if status == "sent":
            raise KeyboardInterrupt
        real_record(ledger, planned, status, detail)

    monkeypatch.setattr(delivery, "record", crash_on_sent)
    with pytest.raises(KeyboardInterrupt):
        cyc.send(smtp=settings)
    monkeypatch.setattr(delivery, "record", real_record)
    [first_id] = recorder.message_ids()
    assert [r["status"] for r in cyc.ledger_rows() if r["message_id"] == first_id] == ["planned"]
    cyc.send(smtp=settings)
    counts = recorder.message_ids()
    assert counts[first_id] == 2 and len(counts) == 6
    assert sum(counts.values()) == 7


def test_rate_limit_spaces_messages(cyc, server):
    recorder, settings = server
    slow = SmtpSettings("127.0.0.1", settings.port, tls="none", rate_per_second=20)
    started = time.monotonic()
    report = cyc.send(smtp=slow)
    assert len(report.sent) == 6
    assert time.monotonic() - started >= 5 / 20


def test_reminders_go_to_those_whose_forms_are_not_back(cyc, server):
    recorder, settings = server
    cyc.send(smtp=settings)
    cyc.set_status("1002", "employee", "returned")
    cyc.set_status("1003", "manager", "returned")
    day = dt.date(2027, 1, 25)
    report = cyc.send("reminder", smtp=settings, today=day)
    got = {(o.email.recipient_id, o.email.for_manager): form_keys(o.email) for o in report.sent}
    assert got == {
        ("1000", True): {("1001", "manager"), ("1005", "manager")},
        ("1001", False): {("1001", "employee")},
        ("1001", True): {("1002", "manager"), ("1004", "manager")},
        ("1003", False): {("1003", "employee")},
        ("1004", False): {("1004", "employee")},
    }
    assert all(".reminder.20270125." in o.email.message_id for o in report.sent)
    reminder = next(m for m in recorder.parsed() if "Påminnelse" in str(m["Subject"]))
    assert "vennlig påminnelse" in reminder.get_body().get_content()
    assert cyc.form_record("1002", "employee").status == "returned"

    again = cyc.send("reminder", smtp=settings, today=day)
    assert not again.sent and len(again.skipped) == 5
    next_round = cyc.plan("reminder", today=day + dt.timedelta(days=7))
    assert all(e.status == "new" for e in next_round)


def test_minutes_go_to_the_manager_once_each(tmp_path, server):
    recorder, settings = server
    c = Cycle(tmp_path)
    c.add_form("1002", "minutes")
    c.add_form("1003", "minutes")
    first = c.send("minutes", smtp=settings)
    [kari] = first.sent
    assert kari.email.recipient_id == "1001" and len(kari.email.attachments) == 2
    assert "referatskjema for 2 medarbeidere" in kari.email.subject
    c.add_form("1004", "minutes")
    second = c.send("minutes", smtp=settings)
    [later] = second.sent
    assert [a.employee_id for a in later.email.attachments] == ["1004"]
    assert len(second.skipped) == 1
    received = [set(attachments_of(m).values()) for m in recorder.parsed()]
    assert received == [
        {c.forms[("1002", "minutes")], c.forms[("1003", "minutes")]},
        {c.forms[("1004", "minutes")]},
    ]


def test_outbox_drafts_are_not_sent_again_by_smtp(cyc, server):
    recorder, settings = server
    cyc.send()
    report = cyc.send(smtp=settings)
    assert not report.sent and len(report.skipped) == 6
    assert all("outbox/" in o.detail for o in report.skipped)
    assert recorder.data_count == 0


# TLS and login ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """Return (cert file, key file) of a self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_tls_context(certificate):
    """Return the server side TLS context."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


class Authenticator:
    """Accept one user and password; remember every attempt."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.recorder.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == b"hr@fjordlys.example" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: send 535


def test_starttls_with_login_from_the_environment(cyc, certificate, caplog):
    recorder = Recorder()
    controller = start_server(
        recorder,
        tls_context=server_tls_context(certificate),
        require_starttls=True,
        authenticator=Authenticator(recorder),
        auth_required=True,
    )
    try:
        settings = SmtpSettings(
            "127.0.0.1", controller.port, tls="starttls", ca_file=str(certificate[0])
        )
        env = {"SAMTALE_SMTP_USER": "hr@fjordlys.example", "SAMTALE_SMTP_PASSWORD": PASSWORD}
        with caplog.at_level(logging.DEBUG, logger="pipeline"):
            report = cyc.send(smtp=settings, env=env)
        assert len(report.sent) == 6
        # one connection (one login), reused for all six messages
        assert recorder.logins == [("PLAIN", b"hr@fjordlys.example", PASSWORD.encode())]

        recorder.logins.clear()
        cyc.add_form("1002", "minutes")
        wrong = {**env, "SAMTALE_SMTP_PASSWORD": "feil-passord"}
        refused = cyc.send("minutes", smtp=settings, env=wrong)
        assert "login refused" in refused.stopped and "SAMTALE_SMTP_PASSWORD" in refused.stopped
        # one login() call (smtplib tries each offered mechanism once), no retry after it
        assert [mechanism for mechanism, _, _ in recorder.logins] == ["PLAIN", "LOGIN"]
        texts = [refused.stopped] + [o.detail for o in refused.failed]
        texts += [r.getMessage() for r in caplog.records] + [str(r) for r in cyc.ledger_rows()]
        assert not any(PASSWORD in t or "feil-passord" in t for t in texts)
    finally:
        controller.stop()


def test_implicit_tls(cyc, certificate):
    recorder = Recorder()
    controller = start_server(recorder, ssl_context=server_tls_context(certificate))
    try:
        settings = SmtpSettings(
            "127.0.0.1", controller.port, tls="ssl", ca_file=str(certificate[0])
        )
        assert len(cyc.send(smtp=settings).sent) == 6
        untrusted = SmtpSettings("127.0.0.1", controller.port, tls="ssl")
        cyc.add_form("1002", "minutes")
        report = cyc.send("minutes", smtp=untrusted)
        assert "certificate is not trusted" in report.stopped and not report.sent
        assert len(recorder.messages) == 6
    finally:
        controller.stop()


def test_user_without_password_is_an_error_before_sending(cyc, server):
    recorder, settings = server
    with pytest.raises(MailError, match="SAMTALE_SMTP_PASSWORD"):
        cyc.send(smtp=settings, env={"SAMTALE_SMTP_USER": "hr"})
    assert recorder.data_count == 0 and cyc.ledger_rows() == []


def test_send_for_cycle_checks_the_smtp_option_reads_the_roster_and_sends(tmp_path, server):
    recorder, settings = server
    c = Cycle(tmp_path / "ws")
    c.add_prep_forms()
    missing = tmp_path / "mangler.xlsx"
    with pytest.raises(MailError, match="expected host:port"):  # before the roster is read
        send_for_cycle(c.ws, CYCLE, "prep", roster_path=missing, smtp_address="smtp.fjordlys")
    with pytest.raises(RosterError, match="mangler.xlsx"):
        send_for_cycle(c.ws, CYCLE, "prep", roster_path=missing)
    roster = write_roster(tmp_path / "roster.xlsx", PEOPLE)
    address = f"127.0.0.1:{settings.port}"
    report = send_for_cycle(
        c.ws, CYCLE, "prep", roster_path=roster, smtp_address=address, tls="none", env={}
    )
    assert report.mode == "smtp" and len(report.sent) == 6 == len(recorder.messages)
    assert [o.email.recipient_id for o in report.failed] == ["1005"]  # no address


# addresses: one rule with the roster ------------------------------------------------------------

# Addresses the roster accepts: letters like å before the @ (RFC 6531) and in the domain (IDNA).
UNICODE_PEOPLE = [
    ("1000", "Åse Marit Fjellheim-Østby", "", "ase.fjellheim-ostby@fjordlys.example", "nb"),
    ("1001", "Åse Ødegård", "1000", "åse.ødegård@fjordlys.example", "nb"),
    ("1002", "Ola Bølgen-Brå", "1000", "ola@bølgen.example", "nb"),
    ("1003", "Kari Nordmann", "1000", "kari.nordmann@fjordlys.example", "en"),
]
OLA_ON_THE_WIRE = "ola@xn--blgen-vua.example"  # IDNA of bølgen, as the .no registry writes it


def write_roster(path: Path, people) -> Path:
    """Write a roster workbook of ``people`` (id, name, manager, email, language)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Ansatte"
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling", "Språk"])
    for employee_id, name, manager_id, address, language in people:
        sheet.append([employee_id, name, address, manager_id, "Drift", language])
    book.save(path)
    return path


def unicode_cycle(tmp_path: Path) -> Cycle:
    """Return a cycle whose roster, read from a workbook, has non-ASCII addresses."""
    c = Cycle(tmp_path / "ws", people=UNICODE_PEOPLE)
    c.roster = read_roster(write_roster(tmp_path / "roster.xlsx", UNICODE_PEOPLE))
    for employee_id in ("1001", "1002", "1003"):
        c.add_form(employee_id, "employee")
    return c


def head(raw: bytes) -> bytes:
    """Return the header block of a message."""
    return raw.split(b"\r\n\r\n", 1)[0]


def test_drafts_to_addresses_the_roster_accepts(tmp_path):
    c = unicode_cycle(tmp_path)
    report = c.send()
    assert not report.failed and len(report.drafted) == 3
    raw = {o.email.recipient_id: (c.cycle_dir / o.detail).read_bytes() for o in report.drafted}
    parsed = {i: parse(r) for i, r in raw.items()}
    # å before the @ has no ASCII form: that draft alone has raw UTF-8 headers (RFC 6532)
    assert "To: Åse Ødegård <åse.ødegård@fjordlys.example>\r\n".encode() in head(raw["1001"])
    assert parsed["1001"]["To"].addresses[0].addr_spec == "åse.ødegård@fjordlys.example"
    assert "Hei Åse," in parsed["1001"].get_body().get_content()
    # an IDN domain goes out in its ASCII (xn--) form, in headers every client reads
    assert parsed["1002"]["To"].addresses[0].addr_spec == OLA_ON_THE_WIRE
    assert str(parsed["1002"]["To"].addresses[0].display_name) == "Ola Bølgen-Brå"
    assert head(raw["1002"]).isascii() and head(raw["1003"]).isascii()


def test_smtp_sends_addresses_the_roster_accepts(tmp_path):
    c = unicode_cycle(tmp_path)
    recorder = Recorder()
    controller = start_server(recorder)  # aiosmtpd's Controller offers SMTPUTF8
    try:
        settings = SmtpSettings("127.0.0.1", controller.port, tls="none")
        report = c.send(smtp=settings)
    finally:
        controller.stop()
    assert len(report.sent) == 3 and not report.failed
    sent = dict(zip((r[0] for r, _ in recorder.messages), recorder.mail_options, strict=True))
    assert set(sent) == {
        "åse.ødegård@fjordlys.example",
        OLA_ON_THE_WIRE,
        "kari.nordmann@fjordlys.example",
    }
    assert "SMTPUTF8" in sent["åse.ødegård@fjordlys.example"]
    assert "SMTPUTF8" not in sent[OLA_ON_THE_WIRE]  # plain SMTP suffices for an IDN domain
    to = {str(m["To"].addresses[0].addr_spec) for m in recorder.parsed()}
    assert to == set(sent)


def test_a_server_without_smtputf8_fails_only_that_recipient(tmp_path):
    c = unicode_cycle(tmp_path)
    recorder = Recorder()
    controller = start_server(recorder, enable_SMTPUTF8=False)
    try:
        report = c.send(smtp=SmtpSettings("127.0.0.1", controller.port, tls="none"))
    finally:
        controller.stop()
    assert not report.stopped and len(report.sent) == 2
    [failed] = report.failed
    assert failed.email.recipient_id == "1001" and "SMTPUTF8" in failed.detail
    assert "write an address without such letters in the roster" in failed.detail
    assert sorted(r[0] for r, _ in recorder.messages) == sorted(
        [OLA_ON_THE_WIRE, "kari.nordmann@fjordlys.example"]
    )


LOCAL_PART = st.text("abzÆØÅæøåäöü09!#$%&'*+-/=?^_`{|}~.", min_size=1, max_size=12)
LABEL = st.text("abzæøåü09-", min_size=1, max_size=10)
TOP_LEVEL = st.text("noexampleå", min_size=2, max_size=6)


@given(LOCAL_PART, st.lists(LABEL, min_size=1, max_size=3), TOP_LEVEL)
def test_every_address_the_roster_accepts_can_be_emailed(local, labels, top_level):
    address = f"{local}@{'.'.join(labels)}.{top_level}"
    assume(EMAIL_PATTERN.fullmatch(address))  # the roster's rule
    problem = email_format.address_problem(address)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        assert "dot" in problem  # RFC 5322 forbids it; no header can carry it
        return
    assert problem == ""
    person = Employee("1", "Åse Ødegård", address, "", "Drift", "", None, "nb", 2)
    planned = emails.PlannedEmail(1, "prep", "1", person, False, (), "<id@fjordlys.example>")
    config = Config(mail=MailConfig(sender_address="hr@fjordlys.example"))
    raw = emails.build_message(planned, config, Path("unused")).as_bytes()
    parsed = parse(raw)
    assert parsed["To"].addresses[0].addr_spec == email_format.wire_address(address)
    assert head(raw).isascii() == local.isascii()


# meeting requests: invitations to the talks, follow-ups, reflection ---------------------------

OSLO_OFFSET = "+01:00"  # February 2027


def add_talk(c: Cycle, employee_id: str, manager_id: str, start: str, **changes) -> MeetingRecord:
    """Record a scheduled talk in the ledger, as samtale schedule does; return it."""
    begin = dt.datetime.fromisoformat(f"{start}{OSLO_OFFSET}")
    values = {
        "uid": f"samtale-{CYCLE}-talk-{employee_id}-{manager_id}@fjordlys.example",
        "kind": "talk",
        "employee_id": employee_id,
        "manager_id": manager_id,
        "start": begin.isoformat(),
        "end": (begin + dt.timedelta(minutes=75)).isoformat(),
        "location": "Møterom Fjorden",
    }
    record = MeetingRecord(**{**values, **changes})
    with Ledger(c.ws.ledger_path(CYCLE)) as ledger:
        ledger.save_meetings([record])
    return record


def talk_record(c: Cycle, employee_id: str) -> MeetingRecord:
    """Return the ledger's talk of one employee."""
    with Ledger(c.ws.ledger_path(CYCLE)) as ledger:
        return next(t for t in ledger.meetings("talk") if t.employee_id == employee_id)


def calendar_part(msg: email.message.EmailMessage):
    """Return (MIME part, parsed VCALENDAR) of a meeting email."""
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    return part, Calendar.from_ical(part.get_content())


def drafts(c: Cycle, kind: str) -> list[email.message.EmailMessage]:
    """Return the parsed outbox drafts of ``kind``, in file order."""
    folder = c.cycle_dir / "outbox"
    return [parse(p.read_bytes()) for p in sorted(folder.glob(f"*-{kind}-*.eml"))]


@pytest.fixture
def booked(cyc) -> Cycle:
    """Return the cycle with prep forms handed out and two talks scheduled with Kari."""
    cyc.send()
    add_talk(cyc, "1002", "1001", "2027-02-01T10:00:00")
    add_talk(cyc, "1004", "1001", "2027-02-01T12:00:00")
    return cyc


def test_invitations_are_meeting_requests_outlook_accepts(booked):
    report = booked.send("invite")
    assert len(report.drafted) == 4 and report.ok
    messages = drafts(booked, "invite")
    assert {str(m["To"].addresses[0].addr_spec) for m in messages} == {
        "ola.odegard@fjordlys.example",
        "priya.raman@fjordlys.example",
        "kari.nordmann@fjordlys.example",
    }
    for msg in messages:
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["X-Unsent"] == "1" and msg["Content-Class"].endswith("calendarmessage")
        part, calendar = calendar_part(msg)
        assert part.get_param("method") == "REQUEST" and part.get_param("charset") == "UTF-8"
        assert part.get_content_disposition() == "inline"
        assert str(calendar["METHOD"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert event["SEQUENCE"] == 0 and str(event["UID"]).startswith("samtale-2027-talk-")
        organizer = event["ORGANIZER"]
        assert str(organizer) == "mailto:kari.nordmann@fjordlys.example"
        assert organizer.params["SENT-BY"] == "mailto:hr@fjordlys.example"
        attendees = {str(a): a.params for a in event["ATTENDEE"]}
        employee = next(a for a in attendees if "kari" not in a)
        assert attendees[employee]["RSVP"] == "TRUE"
        assert attendees["mailto:kari.nordmann@fjordlys.example"]["PARTSTAT"] == "ACCEPTED"
        assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Oslo"]
        assert str(event["LOCATION"]) == "Møterom Fjorden"
        body = msg.get_body(("plain",)).get_content()
        assert str(event["DESCRIPTION"]).rstrip() == body.replace("\r\n", "\n").rstrip()
    ola = next(m for m in messages if "ola.odegard" in str(m["To"]))
    text = ola.get_body(("plain",)).get_content()
    assert str(ola["Subject"]) == "Medarbeidersamtale 2027 med Kari Nordmann"
    assert "mandag 1. februar 2027 kl. 10.00–11.15" in text
    assert "(medarbeider).docx" in text and "innen fredag 29. januar 2027" in text
    priya = next(m for m in messages if "priya" in str(m["To"]))
    assert "Monday 1 February 2027, 12:00–13:15" in priya.get_body(("plain",)).get_content()
    (event,) = calendar_part(priya)[1].walk("VEVENT")
    assert str(event["SUMMARY"]) == "Employee review 2027: Priya Raman and Kari Nordmann"
    assert talk_record(booked, "1002").invited_sequence == 0
    again = booked.send("invite")
    assert not again.drafted and len(again.skipped) == 4


def test_a_moved_talk_goes_out_with_the_same_uid_and_the_next_sequence_then_a_cancel(booked):
    first = booked.send("invite")
    old = talk_record(booked, "1002")
    add_talk(booked, "1002", "1001", "2027-02-03T13:00:00", sequence=1, invited_sequence=0)
    moved = booked.send("invite")
    assert len(moved.drafted) == 2 and len(moved.skipped) == 2  # Priya's talk did not move
    ids = {o.email.message_id for o in first.drafted} | {o.email.message_id for o in moved.drafted}
    assert len(ids) == 6  # a move is a new email, never the old one again
    for outcome in moved.drafted:
        assert outcome.email.subject.startswith("Nytt tidspunkt: ")
    ola = [m for m in drafts(booked, "invite") if "ola.odegard" in str(m["To"])]
    events = sorted(
        (calendar_part(m)[1].walk("VEVENT")[0] for m in ola), key=lambda e: e["SEQUENCE"]
    )
    assert [e["SEQUENCE"] for e in events] == [0, 1]
    assert events[0]["UID"] == events[1]["UID"] == old.uid
    assert events[1].decoded("DTSTART").hour == 13

    add_talk(booked, "1002", "1001", "2027-02-03T13:00:00", sequence=2, invited_sequence=1,
             status="cancelled")  # fmt: skip
    add_talk(booked, "1003", "1001", "2027-02-04T09:00:00", status="cancelled")  # never invited
    cancelled = booked.send("invite")
    assert [o.email.recipient_id for o in cancelled.drafted] == ["1002", "1001"]
    msg = parse((booked.cycle_dir / cancelled.drafted[1].detail).read_bytes())
    part, calendar = calendar_part(msg)
    assert part.get_param("method") == "CANCEL" and str(calendar["METHOD"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert event["SEQUENCE"] == 2 and str(event["STATUS"]) == "CANCELLED"
    assert str(msg["Subject"]).startswith("Avlyst: ")
    assert talk_record(booked, "1002").invited_sequence == 2
    assert not booked.send("invite").drafted


def test_a_talk_in_conflict_is_not_invited_until_hr_fixes_it(booked):
    add_talk(booked, "1003", "1001", "2027-02-06T10:00:00", conflict="2027-02-06 is Saturday")
    report = booked.send("invite")
    problems = [o for o in report.failed if o.email.recipient_id in ("1003", "1001")]
    assert problems and all("2027-02-06 is Saturday" in o.detail for o in problems)
    assert all("schedule.xlsx" in o.detail for o in problems)
    assert len(report.drafted) == 4  # the other two talks


def test_smtp_sends_each_invitation_exactly_once(booked, server):
    recorder, settings = server
    report = booked.send("invite", smtp=settings)
    assert len(report.sent) == 4 and report.ok
    assert sorted(recorder.message_ids().values()) == [1, 1, 1, 1]
    for msg in recorder.parsed():
        part, calendar = calendar_part(msg)
        assert part.get_param("method") == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert event["SEQUENCE"] == 0
    again = booked.send("invite", smtp=settings)
    assert not again.sent and len(again.skipped) == 4 and len(recorder.messages) == 4
    dry = booked.send("invite", smtp=settings, dry_run=True)
    assert not dry.pending


def test_reminders_name_the_time_of_the_talk(booked):
    report = booked.send("reminder", today=dt.date(2027, 1, 27))
    ola = next(o.email for o in report.drafted if o.email.recipient_id == "1002")
    assert "Samtalen med Kari Nordmann er mandag 1. februar 2027 kl. 10.00–11.15" in ola.body
    kari = next(
        o.email for o in report.drafted if o.email.for_manager and o.email.recipient_id == "1001"
    )
    assert (
        "Priya Raman" in kari.body and "samtalen er mandag 1. februar 2027 kl. 12.00" in kari.body
    )


MINUTES_ANSWERS = {
    "followup_1_what": "Kurs i prosjektledelse",
    "followup_1_who": "Ola",
    "followup_1_when": "2027-03-01",
    "followup_2_what": "Avklare budsjett for kurs",
    "followup_2_who": "Kari",
    "followup_2_when": "2027-02-15",
    "followup_3_what": "Se på arbeidsmengden",
    "followup_3_who": "Begge",
    "followup_3_when": "etter sommeren",
    "manager_confirmed": True,
    "employee_confirmed": True,
    "manager_date": "2027-02-05",
}


def add_minutes(c: Cycle, employee_id: str, answers: dict, when: str) -> None:
    """Record a returned minutes version with ``answers`` (as collect does)."""
    with Ledger(c.ws.ledger_path(CYCLE)) as ledger:
        ledger.add_returned_file(
            {
                "sha256": hashlib.sha256(json.dumps(answers).encode()).hexdigest(),
                "source": f"minutes-{when}.docx",
                "stored_path": f"returned/minutes-{when}.docx",
                "outcome": "accepted",
                "employee_id": employee_id,
                "kind": "minutes",
                "collected_at": f"{when}T10:00:00+00:00",
                "answers": json.dumps(answers),
            }
        )


def test_agreed_follow_ups_are_booked_at_once_and_updated_or_cancelled_later(booked):
    add_minutes(booked, "1002", {**MINUTES_ANSWERS, "employee_confirmed": False}, "2027-02-05")
    assert not booked.plan("followups")  # not confirmed by both yet
    add_minutes(booked, "1002", MINUTES_ANSWERS, "2027-02-06")
    report = booked.send("followups")
    sent = sorted((o.email.recipient_id, o.email.about) for o in report.drafted)
    assert sent == [
        ("1001", "follow-up 1 agreed with Ola Ødegård (2027-03-01)"),
        ("1001", "follow-up 2 agreed with Ola Ødegård (2027-02-15)"),
        ("1002", "follow-up 1 agreed with Ola Ødegård (2027-03-01)"),
    ]
    [undated] = report.failed
    assert undated.email.describe().endswith(": follow-up 3 agreed with Ola Ødegård")
    assert undated.detail.startswith("no date in the minutes, so nothing to book")
    assert "etter sommeren" not in undated.detail  # answer text is never printed
    ola = next(m for m in drafts(booked, "followups") if "ola.odegard" in str(m["To"]))
    part, calendar = calendar_part(ola)
    assert part.get_param("method") == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "samtale-2027-1002-followup-1"  # as in the archived .ics
    assert event.decoded("DTSTART") == dt.date(2027, 3, 1) and str(event["TRANSP"]) == "TRANSPARENT"
    assert str(event["SUMMARY"]) == "Oppfølging: Kurs i prosjektledelse"
    assert "Kurs i prosjektledelse" in ola.get_body(("plain",)).get_content()
    assert not booked.send("followups").drafted

    changed = {**MINUTES_ANSWERS, "followup_1_when": "2027-03-15", "followup_2_what": ""}
    add_minutes(booked, "1002", {**changed, "employee_confirmed": False}, "2027-02-08")
    assert not booked.send("followups").drafted  # the employee has not confirmed the change
    add_minutes(booked, "1002", changed, "2027-02-09")
    later = booked.send("followups")
    got = sorted((o.email.recipient_id, o.email.meeting.method, o.email.meeting.record.sequence)
                 for o in later.drafted)  # fmt: skip
    assert got == [("1001", "CANCEL", 1), ("1001", "REQUEST", 1), ("1002", "REQUEST", 1)]
    assert not booked.send("followups").drafted


def test_follow_up_invites_to_the_manager_are_the_employees_for_access_and_erasure(booked):
    # Kari (1001) gets Ola's (1002) follow-ups: they hold what Ola agreed, so an access request
    # of Ola's finds them, and erasing Ola removes them whole (Kari's other mail stays).
    add_minutes(booked, "1002", MINUTES_ANSWERS, "2027-02-06")
    booked.send("followups")
    with Ledger(booked.ws.ledger_path(CYCLE)) as ledger:
        drafted = [e for e in ledger.all_emails() if e["status"] == "drafted"]
        to_kari = [e for e in drafted if e["kind"] == "followups"]
    assert {(e["recipient_id"], tuple(e["about"])) for e in to_kari} == {
        ("1001", ("1002",)),
        ("1002", ("1002",)),
    }
    ola = person_cycle(booked.ws, CYCLE, "1002", booked.roster)
    owned = {held.relative for held in ola.own}
    kari_drafts = {e["detail"] for e in to_kari if e["recipient_id"] == "1001"}
    assert len(kari_drafts) == 2 and kari_drafts <= owned
    owners = file_owners(booked.cycle_dir)  # the deletion log names Ola for them, not Kari
    assert {owners[draft] for draft in kari_drafts} == {"1002"}
    kari_before = person_cycle(booked.ws, CYCLE, "1001", booked.roster)
    assert not kari_drafts & {held.relative for held in kari_before.own}
    outbox = booked.cycle_dir / "outbox"
    others = {p.name for p in outbox.iterdir()} - {Path(d).name for d in owned}
    erase_person(booked.ws, "1002", apply=True)
    assert {p.name for p in outbox.iterdir()} == others  # Ola's follow-ups gone, nothing else
    with Ledger(booked.ws.ledger_path(CYCLE)) as ledger:
        assert not [e for e in ledger.all_emails() if "1002" in e["about"]]


def test_erasing_someone_named_in_a_reflection_email_blanks_their_name_there(booked, tmp_path):
    # HR may name the employees in the reflection text (the template offers ``employees``)
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    text_path = templates / "email" / "reflection.nb.txt"
    text = text_path.read_text(encoding="utf-8")
    text_path.write_text(text + '\nSamtaler med {{ employees|join(", ") }}.\n', encoding="utf-8")
    booked.ws = Workspace.at(booked.ws.root, templates_dir=templates)
    booked.send("reflection", today=dt.date(2027, 2, 2))
    [draft] = (booked.cycle_dir / "outbox").glob("*-reflection-*.eml")
    ola, other = booked.roster.by_id["1002"].name, booked.roster.by_id["1004"].name
    text = email_parts.plain_text(email_parts.parse(draft.read_bytes()))
    assert ola in text and other in text
    with Ledger(booked.ws.ledger_path(CYCLE)) as ledger:
        [row] = [e for e in ledger.all_emails() if e["kind"] == "reflection"]
    assert sorted(row["about"]) == ["1002", "1004"]
    roster = write_roster(tmp_path / "roster.xlsx", PEOPLE)  # names Ola for the erasure
    erase_person(booked.ws, "1002", apply=True, roster_path=roster)
    text = email_parts.plain_text(email_parts.parse(draft.read_bytes()))
    assert ola not in text and other in text  # Kari's reflection stays, without Ola
    with Ledger(booked.ws.ledger_path(CYCLE)) as ledger:
        assert [e["kind"] for e in ledger.all_emails()].count("reflection") == 1


def test_reflection_after_the_managers_last_talk_once(booked):
    assert not booked.plan("reflection", today=dt.date(2027, 1, 31))
    add_talk(booked, "1003", "1001", "2027-02-03T09:00:00", status="cancelled")
    [email] = booked.plan("reflection", today=dt.date(2027, 2, 1))
    assert email.recipient_id == "1001" and email.about == "reflection after 2 talk(s)"
    assert "egenrefleksjon" in email.subject and "du trenger ikke svare" in email.body
    report = booked.send("reflection", today=dt.date(2027, 2, 2))
    assert len(report.drafted) == 1
    assert not booked.send("reflection", today=dt.date(2027, 2, 3)).drafted


@pytest.mark.parametrize("kind", ["invite", "followups", "reflection"])
@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize(("for_manager", "update", "cancelled"), [
    (False, False, False), (True, False, False), (False, True, False), (True, False, True),
])  # fmt: skip
def test_every_meeting_template_renders_cleanly(kind, language, for_manager, update, cancelled):
    context = {
        "recipient": {"id": "1", "name": "Kari Nordmann", "first_name": "Kari", "email": "k@x.no"},
        "for_manager": for_manager,
        "employee_name": "Ola Ødegård",
        "manager_name": "Åse Østby",
        "when": "mandag 1. februar 2027 kl. 10.00–11.15",
        "location": "Møterom Fjorden",
        "update": update,
        "cancelled": cancelled,
        "deadline": "fredag 29. januar 2027",
        "form_file": "skjema.docx",
        "form_returned": update,
        "what": "Kurs",
        "who": "",
        "talks": 1,
        "employees": ["Ola Ødegård"],
        "cycle": CYCLE,
        "organisation": "Fjordlys Energi AS",
        "hr_contact": "Ingrid i HR",
        "sender_name": "HR",
        "return_address": "svar@fjordlys.example",
    }
    texts = email_format.EmailTemplates(REPO / "templates" / "email")
    subject, body = texts.render(kind, language, context)
    assert subject and str(CYCLE) in subject and "\n" not in subject
    assert body.startswith(("Hei Kari,\n\n", "Hi Kari,\n\n"))
    assert "{" not in body and "\n\n\n" not in body and body.endswith("Fjordlys Energi AS\n")
    assert "Ingrid i HR" in body
    if kind != "reflection":
        assert ("Ola Ødegård" if for_manager else "Åse Østby") in subject
        assert (subject.startswith(("Avlyst", "Cancelled"))) == cancelled
