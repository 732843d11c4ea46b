"""``samtale erase``: one person's working data goes, everyone else's stays, even when killed.

The workspace is tests/two_people.py: Åse (301) is erased; Oliver (302) shares a manager, and
Randi's emails carried the forms of both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import signal

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.collect import collect_returned
from pipeline.commands.erase import erase_person
from pipeline.commands.verify import verify_archive
from pipeline.errors import WorkspaceError
from pipeline.formats import email_parts
from pipeline.formats.seal import load_seal
from pipeline.state.archive import Archive
from pipeline.state.ledger import Ledger

from . import two_people
from .conftest import CYCLE
from .two_people import ASE, OLIVER, PASSWORD, RANDI, Built

ASE_TEXTS = ("Åse", "ÅSE", "Lindqvist", "RANDI-OM-ÅSE", "ase.lindqvist")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return two_people.build(tmp_path_factory.mktemp("erase") / "ws")


@pytest.fixture
def ws(built, tmp_path) -> Built:
    return two_people.copy(built, tmp_path / "ws")


def files_of(built: Built) -> dict[str, str]:
    """Return every file under output/ by path, as its SHA-256."""
    root = built.workspace.output_dir
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    }


def mentions(built: Built, texts=ASE_TEXTS) -> list[str]:
    """Return the working files (and access bundles) that still mention any of ``texts``."""
    root = built.workspace.output_dir
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if "archive" in path.parts or path.name in ("deletions.jsonl", "leavers.jsonl"):
            continue
        text = two_people.texts_in(path.read_bytes(), path.name)
        found += [f"{path.relative_to(root)}: {t}" for t in texts if t in text]
    return found


def log_lines(built: Built) -> list[dict]:
    path = built.workspace.output_dir / "deletions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def oliver_state(built: Built) -> dict:
    """Return what the workspace holds about Oliver: files, ledger rows, workbook rows."""
    with Ledger(built.workspace.ledger_path(CYCLE)) as ledger:
        forms = [f for f in ledger.forms() if f.employee_id == OLIVER[0]]
        returned = [r for r in ledger.returned_files() if r["employee_id"] == OLIVER[0]]
        emails = [e for e in ledger.all_emails() if e["recipient_id"] == OLIVER[0]]
    book = openpyxl.load_workbook(built.workspace.answers_path(CYCLE))
    rows = {
        kind: [[c.value for c in row] for row in book[kind].iter_rows() if row[0].value == "302"]
        for kind in ("employee", "manager")
    }
    files = {
        k: v
        for k, v in files_of(built).items()
        if re.search(r"(^|/)302[_/]", k) or "oliver" in k.lower()
    }
    return {"forms": forms, "returned": returned, "emails": emails, "rows": rows, "files": files}


def test_a_dry_run_counts_and_deletes_nothing(ws):
    before = files_of(ws)
    report = erase_person(ws.workspace, ASE[0])
    (cycle,) = report.cycles
    counts = {kind: n for kind, (n, _) in cycle.counts.items()}
    assert counts["form"] == 2 and counts["returned"] == 2 and counts["outbox"] == 1
    assert counts["answers_rows"] == 2 and counts["ledger_rows"] > 0
    assert counts["email_part"] == 1 and counts["outbox_part"] == 1  # Randi's two emails
    assert report.kept_archive == 2 and report.still_in_roster
    assert files_of(ws) == before


def test_erase_removes_one_person_and_leaves_the_other_untouched(ws):
    oliver = oliver_state(ws)
    two_people.write_roster(ws.workspace.roster_path, (RANDI, OLIVER))  # Åse has left
    report = erase_person(ws.workspace, ASE[0], apply=True)
    assert report.applied and report.shared_emails == 2 and not report.still_in_roster
    assert mentions(ws) == []
    assert oliver_state(ws) == oliver
    with Ledger(ws.workspace.ledger_path(CYCLE)) as ledger:
        assert not [f for f in ledger.forms() if f.employee_id == ASE[0]]
        assert not [r for r in ledger.returned_files() if r["employee_id"] == ASE[0]]
        assert not [e for e in ledger.all_emails() if e["recipient_id"] == ASE[0]]
        assert not [k for k in ledger.extracted_values(["employee", "manager"]) if k[1] == "301"]
        to_randi = [e["attachments"] for e in ledger.all_emails() if e["recipient_id"] == "300"]
    assert sorted(to_randi) == [  # her manager email lists only Oliver's form now
        ["forms/300_Randi_Sæther-Øvrebø_medarbeider_2027.docx"],
        ["forms/302_Oliver_Bjørnstad-Hughes_manager_2027.docx"],
    ]
    # Randi's returned email keeps Oliver's form byte for byte, and loses Åse's
    (kept,) = (ws.workspace.output_dir / str(CYCLE) / "returned" / "emails").glob("*randi.eml")
    attached = email_parts.attachments(kept.read_bytes())
    assert [a.filename for a in attached] == ["skjema-oliver.docx"]
    assert "RANDI-TEKST" in email_parts.plain_text(email_parts.parse(kept.read_bytes()))
    # the sealed minutes stay without --archive
    archive = Archive(ws.workspace.output_dir / "archive" / str(CYCLE))
    assert {e.employee_id for e in archive.read_manifest()[0]} == {ASE[0], OLIVER[0]}
    # the log: who, which kinds, hashes, sizes; no names
    lines = log_lines(ws)
    assert {line["employee_id"] for line in lines} == {ASE[0]}
    assert {line["rule"] for line in lines} == {"erase"}
    text = (ws.workspace.output_dir / "deletions.jsonl").read_text(encoding="utf-8")
    assert not [t for t in ASE_TEXTS if t in text] and ".docx" not in text
    # originals HR saved are reported, and collect never takes them in again
    assert {p.name for p in report.originals} == {"åse-skjema.docx", "randi.eml", "åse-pdf.eml"}
    again = collect_returned(ws.workspace, CYCLE, ws.workspace.input_dir / "returned" / "2027")
    assert again.accepted == [] and again.quarantined == [] and mentions(ws) == []


def test_erase_with_archive_needs_a_reason_and_keeps_the_archive_verifiable(ws):
    with pytest.raises(WorkspaceError, match="needs a reason"):
        erase_person(ws.workspace, ASE[0], apply=True, archive=True)
    reason = "Sletteforespørsel 2028-03-01, sak 12"
    erase_person(ws.workspace, ASE[0], apply=True, archive=True, reason=reason)
    archive = Archive(ws.workspace.output_dir / "archive" / str(CYCLE))
    assert {e.employee_id for e in archive.read_manifest()[0]} == {OLIVER[0]}
    assert {(d.employee_id, d.rule) for d in archive.deleted()} == {(ASE[0], "erase_archive")}
    assert "Åse" not in archive.manifest_path.read_text(encoding="utf-8")
    archived = [line for line in log_lines(ws) if line["rule"] == "erase_archive"]
    assert len(archived) == 2 and {line["reason"] for line in archived} == {reason}
    expected = load_seal(ws.p12, PASSWORD).certificate_sha256
    results = verify_archive(ws.workspace, CYCLE, expected_certificate_sha256=expected)
    assert all(r.ok for r in results) and len(results) == 3


def test_erasing_twice_erases_nothing_more_and_logs_nothing_twice(ws):
    erase_person(ws.workspace, ASE[0], apply=True)
    lines = log_lines(ws)
    report = erase_person(ws.workspace, ASE[0], apply=True)
    assert report.nothing and log_lines(ws) == lines


@pytest.mark.parametrize("point", ["log", "0", "2", "6", "9"])
def test_an_erase_killed_half_way_is_finished_by_the_next_run(ws, built, tmp_path, point):
    whole = two_people.copy(built, tmp_path / "whole")
    now = dt.datetime.now(dt.UTC)
    erase_person(whole.workspace, ASE[0], apply=True, now=now)  # uninterrupted, to compare with
    oliver = oliver_state(ws)
    status = two_people.run_killed(ws.workspace, point, "erase", now, employee_id=ASE[0])
    assert status == -signal.SIGKILL
    assert (ws.workspace.output_dir / ".deleting").is_dir()  # the journal says what is left
    report = erase_person(ws.workspace, ASE[0], apply=True, now=now)
    assert report.finished == 1 and report.nothing
    assert not (ws.workspace.output_dir / ".deleting").exists()
    assert mentions(ws) == [] and oliver_state(ws) == oliver
    assert files_of(ws).keys() == files_of(whole).keys()

    def planned(lines):
        return sorted((d["kind"], d["sha256"], d["rows"]) for d in lines)

    assert planned(log_lines(ws)) == planned(log_lines(whole))  # each deletion logged once


def test_the_command_needs_a_reason_for_the_archive_and_says_what_stays(ws):
    runner = CliRunner()
    root = str(ws.workspace.root)
    result = runner.invoke(cli, ["-w", root, "erase", ASE[0], "--archive"])
    assert result.exit_code == 2 and "--archive needs --reason" in result.output
    result = runner.invoke(cli, ["-w", root, "erase", ASE[0]])
    assert result.exit_code == 0, result.output
    assert f"cycle {CYCLE}: to erase:" in result.output
    assert "Kept: 2 sealed file(s) in the archive" in result.output
    assert "is still in the roster" in result.output
    assert "Nothing was erased (run with --apply)." in result.output
    assert not [t for t in ("Åse", "Oliver") if t in result.output.split("Still in HR")[0]]
