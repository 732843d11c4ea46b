"""``samtale access``: one zip with everything about one person, and nothing about anyone else.

The workspace is tests/two_people.py: every answer carries a marker naming whose it is, so the
bundle of one person is searched (inside every zip, email and PDF in it) for the other's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import stat
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.access import access_bundle
from pipeline.commands.retention import apply_retention
from pipeline.domain.personal_data import add_months, utc
from pipeline.state.archive import Archive
from pipeline.state.ledger import Ledger, MeetingRecord

from . import two_people
from .conftest import CYCLE
from .two_people import ASE, HR_CORRECTION, OLIVER, RANDI, Built

OLIVER_TEXTS = ("OLIVER", "Oliver", "Bjørnstad", "oliver.hughes", "my-form")
ASE_TEXTS = ("ÅSE", "Åse", "Lindqvist", "ase.lindqvist", "ASE-PDF")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return two_people.build(tmp_path_factory.mktemp("access") / "ws")


@pytest.fixture
def ws(built, tmp_path) -> Built:
    return two_people.copy(built, tmp_path / "ws")


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_the_bundle_holds_this_person_and_nobody_else(ws):
    report = access_bundle(ws.workspace, ASE[0])
    assert report.path.parent == ws.workspace.output_dir / "access"
    assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
    assert report.sha256 == hashlib.sha256(report.path.read_bytes()).hexdigest()
    files = members(report.path)
    everything = two_people.texts_in(report.path.read_bytes())
    leaked = [text for text in OLIVER_TEXTS if text in everything]
    assert leaked == []
    for text in ("ÅSE-SKRIVER", "RANDI-OM-ÅSE", HR_CORRECTION, "ÅSE-MÅL", "ASE-PDF"):
        assert text in everything  # her answers, the manager's about her, HR's fix, the seal
    names = set(files)
    assert {"innhold.txt", "2027/answers_2027.xlsx", "2027/ledger.json"} <= names
    assert "archive/2027/referat_2027_v1.pdf" in names
    assert len([n for n in names if n.startswith("2027/forms/")]) == 2
    assert len([n for n in names if n.startswith("2027/returned/") and n.endswith(".docx")]) == 2
    assert report.files == len(files) - 1  # and the index


def test_an_email_about_several_people_goes_in_only_as_its_part_about_this_person(ws):
    files = members(access_bundle(ws.workspace, OLIVER[0]).path)
    parts = {name: data for name, data in files.items() if name.endswith("-part.eml")}
    assert len(parts) == 2  # Randi's reply with both forms, and her email with both blanks
    for name, data in parts.items():
        text = two_people.texts_in(data, name)
        assert not [t for t in ASE_TEXTS if t in text], name
        assert "X-Samtale-Extract: yes" in text
    reply = next(data for name, data in parts.items() if "/emails/" in name)
    assert "RANDI-ABOUT-OLIVER" in two_people.texts_in(reply, "reply.eml")
    assert "RANDI-TEKST" not in two_people.texts_in(reply, "reply.eml")  # her text is left out
    drafted = next(data for name, data in parts.items() if "/outbox/" in name)
    assert OLIVER[1] in two_people.texts_in(drafted, "draft.eml")  # his line of the list stays


def test_the_index_is_in_the_persons_language_and_says_what_when_and_where(ws):
    norwegian = members(access_bundle(ws.workspace, ASE[0]).path)["innhold.txt"].decode()
    assert norwegian.startswith("Innsyn: dette har samtale lagret om ansatt 301")
    assert "Kilde: kom med e-post fra Randi Sæther-Øvrebø" in norwegian
    assert "== Forseglet arkiv ==" in norwegian and "Når: 10.02.2027 kl. 09:00 UTC" in norwegian
    english = members(access_bundle(ws.workspace, OLIVER[0]).path)
    assert "innhold.txt" not in english
    index = english["contents.txt"].decode()
    assert index.startswith("Access request: what samtale holds about employee 302")
    listed = [line[2:] for line in index.splitlines() if line.startswith("- ")]
    assert sorted(listed) == sorted(n for n in english if n != "contents.txt")


def test_hr_corrections_are_marked_in_the_persons_answers(ws):
    files = members(access_bundle(ws.workspace, ASE[0]).path)
    book = openpyxl.load_workbook(io.BytesIO(files["2027/answers_2027.xlsx"]))
    assert book.sheetnames == ["employee", "manager"]
    rows = {row[0]: row for row in book["employee"].iter_rows(min_row=2, values_only=True)}
    corrected = rows[ws.corrected_key]
    assert corrected[2] == HR_CORRECTION and corrected[3] == "ja"
    assert corrected[4].startswith("ÅSE-SKRIVER")  # what she wrote
    others = [row for key, row in rows.items() if key != ws.corrected_key]
    assert others and all(row[3] in (None, "") for row in others)
    events = json.loads(files["2027/ledger.json"])
    assert {f["kind"] for f in events["forms"]} == {"employee", "manager"}
    assert all(e["to_them"] or e["forms"] for e in events["emails"])


def talk(employee_id: str, start: str, conflict: str = "") -> MeetingRecord:
    """Return a talk with the manager Randi, as samtale schedule records it."""
    return MeetingRecord(
        uid=f"samtale-{CYCLE}-talk-{employee_id}@fjordlys.example",
        kind="talk",
        employee_id=employee_id,
        manager_id=RANDI[0],
        start=f"{start}+01:00",
        end=f"{start[:11]}15:00:00+01:00",
        location="Møterom Fjorden",
        conflict=conflict,
    )


def test_the_persons_talks_are_listed_without_notes_naming_others(ws):
    overlap = f"overlaps the talk of {OLIVER[1]} 14:00–15:15"
    with Ledger(ws.workspace.ledger_path(CYCLE)) as ledger:
        ledger.save_meetings(
            [talk(ASE[0], "2027-02-03T14:00:00", overlap), talk(OLIVER[0], "2027-02-03T14:00:00")]
        )
    files = members(access_bundle(ws.workspace, ASE[0]).path)
    meetings = json.loads(files["2027/ledger.json"])["meetings"]
    assert [(m["employee_id"], m["start"], m["location"]) for m in meetings] == [
        (ASE[0], "2027-02-03T14:00:00+01:00", "Møterom Fjorden")
    ]
    assert "conflict" not in meetings[0]
    assert not [t for t in OLIVER_TEXTS if t in two_people.texts_in(files["2027/ledger.json"])]


def test_a_managers_bundle_holds_none_of_her_peoples_answers(ws):
    everything = two_people.texts_in(access_bundle(ws.workspace, RANDI[0]).path.read_bytes())
    assert "Randi" in everything
    assert not [
        t for t in (*ASE_TEXTS, *OLIVER_TEXTS, "RANDI-OM", "RANDI-ABOUT") if t in everything
    ]


def test_after_retention_only_the_sealed_minutes_and_a_note_remain(ws):
    entries = Archive(ws.workspace.output_dir / "archive" / str(CYCLE)).read_manifest()[0]
    due = add_months(max(utc(e.archived_at) for e in entries), 12)
    apply_retention(ws.workspace, apply=True, now=due + dt.timedelta(days=1))
    files = members(access_bundle(ws.workspace, ASE[0]).path)
    assert sorted(n for n in files if n != "innhold.txt" and n != "deletions.json") == [
        "archive/2027/followups_2027_v1.ics",
        "archive/2027/referat_2027_v1.pdf",
    ]
    assert "Arbeidsfilene fra 2027 ble slettet" in files["innhold.txt"].decode()
    deleted = json.loads(files["deletions.json"])
    assert deleted and {d["employee_id"] for d in deleted} == {ASE[0]}


def test_the_command_prints_the_zips_sha256(ws):
    result = CliRunner().invoke(cli, ["-w", str(ws.workspace.root), "access", ASE[0]])
    assert result.exit_code == 0, result.output
    (zipped,) = (ws.workspace.output_dir / "access").glob("access_301_*.zip")
    digest = hashlib.sha256(zipped.read_bytes()).hexdigest()
    assert f"SHA-256: {digest}" in result.output
    assert "index in nb" in result.output
    result = CliRunner().invoke(cli, ["-w", str(ws.workspace.root), "access", "999"])
    assert result.exit_code == 0 and "holds nothing about employee 999" in result.output
