"""``samtale retention``: each rule's boundary dates, refusals, the log, and what stays usable.

The workspace is tests/two_people.py: one 2027 cycle through collect, sealed minutes archived.
"Now" is passed in, so every boundary is tested to the second (or the day) from the times the
workspace really recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.commands.collect import collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.commands.retention import apply_retention
from pipeline.commands.status import cycle_status
from pipeline.commands.verify import verify_archive
from pipeline.domain.personal_data import add_months, utc
from pipeline.errors import ConfigError, CycleNotGenerated
from pipeline.formats.seal import load_seal
from pipeline.state.archive import Archive
from pipeline.state.config import RetentionConfig, load_config
from pipeline.state.deletions import DeletionLog, leaving_dates
from pipeline.state.ledger import Ledger

from . import two_people
from .conftest import CYCLE
from .two_people import ASE, OLIVER, PASSWORD, RANDI, Built


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return two_people.build(tmp_path_factory.mktemp("retention") / "ws")


@pytest.fixture
def ws(built, tmp_path) -> Built:
    return two_people.copy(built, tmp_path / "ws")


def archived_at(built: Built) -> dt.datetime:
    """Return when the cycle's last minutes were archived, as the manifest says."""
    entries = Archive(built.workspace.output_dir / "archive" / str(CYCLE)).read_manifest()[0]
    return max(utc(e.archived_at) for e in entries)


def rule(report, name: str):
    return next(r for r in report.rules if r.rule == name)


def log_lines(built: Built) -> list[dict]:
    path = built.workspace.output_dir / "deletions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def verified(built: Built) -> list:
    """Return the verify results of the 2027 archive, checked against the demo seal."""
    expected = load_seal(built.p12, PASSWORD).certificate_sha256
    return verify_archive(built.workspace, CYCLE, expected_certificate_sha256=expected)


def all_files(built: Built) -> dict[str, bytes]:
    root = built.workspace.output_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- config ---------------------------------------------------------------------------------


def test_retention_settings_have_documented_defaults_and_are_checked(tmp_path):
    assert load_config(tmp_path / "none.toml").retention == RetentionConfig(12, 3, 30)
    path = tmp_path / "samtale.toml"
    path.write_text("[retention]\nworking_files_months = 6\nquarantine_days = 14\n")
    assert load_config(path).retention == RetentionConfig(6, 3, 14)
    path.write_text("[retention]\nquarantine_days = -1\n")
    with pytest.raises(ConfigError, match=r"\[retention\] quarantine_days must be 0 or more"):
        load_config(path)
    path.write_text("[retention]\nkeep_forever = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'keep_forever'"):
        load_config(path)


def test_a_setting_below_the_minimum_refuses_its_rule_with_the_reason(ws):
    config = ws.workspace.config_path
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "working_files_months = 12", "working_files_months = 0"
        ),
        encoding="utf-8",
    )
    later = archived_at(ws) + dt.timedelta(days=3650)
    report = apply_retention(ws.workspace, apply=True, now=later)
    working = rule(report, "working_files")
    assert working.due == [] and len(working.refused) == 1
    assert "working_files_months = 0 is below the minimum of 1 month" in working.refused[0]
    assert "GDPR art. 15" in working.refused[0]
    assert (ws.workspace.output_dir / str(CYCLE) / "ledger.sqlite").exists()


# --- working files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.datetime(2027, 1, 31, 10, 0), 1, dt.datetime(2027, 2, 28, 10, 0)),
        (dt.datetime(2028, 2, 29), 12, dt.datetime(2029, 2, 28)),
        (dt.datetime(2027, 12, 5), 1, dt.datetime(2028, 1, 5)),
        (dt.datetime(2027, 3, 15), 36, dt.datetime(2030, 3, 15)),
    ],
)
def test_months_are_calendar_months(start, months, end):
    assert add_months(start, months) == end


def test_working_files_are_kept_until_the_second_the_rule_allows(ws):
    due_at = add_months(archived_at(ws), 12)
    before = all_files(ws)
    early = apply_retention(ws.workspace, now=due_at - dt.timedelta(seconds=1))
    assert rule(early, "working_files").due == []
    assert any("kept until" in line for line in rule(early, "working_files").kept)
    dry = apply_retention(ws.workspace, now=due_at)
    (due,) = rule(dry, "working_files").due
    assert due.cycle == CYCLE and due.counts["form"][0] == 6 and due.counts["ledger"][0] >= 1
    assert due.counts["outbox"][0] == 4 and due.counts["answers"][0] == 1
    assert all_files(ws) == before  # a dry run deletes nothing
    assert log_lines(ws) == []
    apply_retention(ws.workspace, apply=True, now=due_at - dt.timedelta(seconds=1))
    assert (ws.workspace.output_dir / str(CYCLE) / "ledger.sqlite").exists()
    assert {line["rule"] for line in log_lines(ws)} == {"quarantine"}


def test_applied_the_cycle_goes_logged_and_what_stays_still_works(ws):
    due_at = add_months(archived_at(ws), 12)
    cycle_dir = ws.workspace.output_dir / str(CYCLE)
    files = sorted(p for p in cycle_dir.rglob("*") if p.is_file())
    sizes = sorted(p.stat().st_size for p in files)
    report = apply_retention(ws.workspace, apply=True, now=due_at)
    assert report.deleted == len(files) and not cycle_dir.exists()
    lines = log_lines(ws)
    assert len(lines) == len(files)
    assert {line["rule"] for line in lines} == {"working_files"}
    assert {line["cycle"] for line in lines} == {CYCLE}
    assert {"form", "outbox", "returned", "email", "quarantine", "answers", "ledger"} <= {
        line["kind"] for line in lines
    }
    assert {line["employee_id"] for line in lines} >= {RANDI[0], ASE[0], OLIVER[0]}
    assert sorted(line["size"] for line in lines) == sizes
    text = (ws.workspace.output_dir / "deletions.jsonl").read_text(encoding="utf-8")
    for name in ("Åse", "Oliver", "Randi", "Lindqvist", ".docx", ".eml", "forms/"):
        assert name not in text  # no names, no paths
    assert not (ws.workspace.output_dir / ".deleting").exists()
    # verify passes for the archive that stays
    results = verified(ws)
    assert results and all(r.ok for r in results)
    # status says what happened, and so does every command that needs the cycle
    status = cycle_status(ws.workspace, CYCLE)
    assert "working files of cycle 2027" in status.working_files_removed
    assert "retention rule 'working_files'" in status.working_files_removed
    with pytest.raises(CycleNotGenerated, match="were removed on"):
        collect_returned(ws.workspace, CYCLE, ws.workspace.input_dir / "returned" / "2027")
    # running it again deletes nothing more and logs nothing twice
    again = apply_retention(ws.workspace, apply=True, now=due_at + dt.timedelta(days=1))
    assert again.deleted == 0 and len(log_lines(ws)) == len(lines)


def test_generate_previous_reads_the_archive_when_the_workbook_is_gone(ws):
    apply_retention(ws.workspace, apply=True, now=add_months(archived_at(ws), 13))
    gone = ws.workspace.output_dir / str(CYCLE) / "answers.xlsx"
    report = generate_forms(ws.workspace, CYCLE + 1, previous_path=gone, workers=1)
    assert any("read from the sealed minutes" in str(w) for w in report.warnings)
    with Ledger(ws.workspace.ledger_path(CYCLE + 1)) as ledger:
        form = ledger.form(ASE[0], "employee")
    text = two_people.texts_in((ws.workspace.output_dir / str(CYCLE + 1) / form.path).read_bytes())
    assert "ÅSE-MÅL" in text and "OLIVER-GOAL" not in text


def test_a_file_changed_after_archiving_refuses_the_cycle_with_the_reason(ws):
    due_at = add_months(archived_at(ws), 12)
    workbook = ws.workspace.answers_path(CYCLE)
    edited = (archived_at(ws) + dt.timedelta(days=40)).timestamp()
    os.utime(workbook, (edited, edited))
    report = apply_retention(ws.workspace, apply=True, now=due_at)
    (refusal,) = rule(report, "working_files").refused
    assert "its answers changed on" in refusal and "less than 12 month(s) ago" in refusal
    assert workbook.exists()
    assert [line for line in log_lines(ws) if line["rule"] == "working_files"] == []
    later = apply_retention(ws.workspace, apply=True, now=add_months(due_at, 2))
    assert rule(later, "working_files").due and not workbook.exists()


@pytest.mark.parametrize("point", ["log", "0", "1", "5"])
def test_a_cycle_killed_half_way_is_finished_by_the_next_run(ws, point):
    due_at = add_months(archived_at(ws), 12)
    files = {p for p in (ws.workspace.output_dir / str(CYCLE)).rglob("*") if p.is_file()}
    status = two_people.run_killed(ws.workspace, point, "retention", due_at)
    assert status == -signal.SIGKILL
    moved = point not in ("log", "0")  # the first step moves the whole folder aside, at once
    assert (ws.workspace.output_dir / str(CYCLE)).exists() is not moved
    if moved:
        assert "were removed on" in cycle_status(ws.workspace, CYCLE).working_files_removed
    planned = log_lines(ws)
    assert len(planned) == (0 if point == "log" else len(files))
    report = apply_retention(ws.workspace, apply=True, now=due_at)
    assert report.finished == 1
    assert not (ws.workspace.output_dir / str(CYCLE)).exists()
    assert not (ws.workspace.output_dir / ".deleting").exists()
    lines = log_lines(ws)
    assert len(lines) == len(files) and len({line["batch"] for line in lines}) == 1
    assert all(r.ok for r in verified(ws))


# --- quarantine -----------------------------------------------------------------------------


def test_quarantined_files_of_strangers_go_on_the_day_and_never_come_back(ws):
    with Ledger(ws.workspace.ledger_path(CYCLE)) as ledger:
        rows = ledger.returned_files()
    strangers = [r for r in rows if two_people.STRANGER in r["sender"]]
    collected = max(utc(r["collected_at"]) for r in strangers)
    early = apply_retention(
        ws.workspace, apply=True, now=collected + dt.timedelta(days=30, seconds=-1)
    )
    assert rule(early, "quarantine").due == []
    report = apply_retention(ws.workspace, apply=True, now=collected + dt.timedelta(days=30))
    (due,) = rule(report, "quarantine").due
    assert due.counts == {
        "quarantine": [2, due.counts["quarantine"][1]],
        "email": [1, due.counts["email"][1]],
    }
    cycle_dir = ws.workspace.output_dir / str(CYCLE)
    for row in strangers:
        assert not (cycle_dir / row["stored_path"]).exists()
    with Ledger(ws.workspace.ledger_path(CYCLE)) as ledger:
        left = ledger.returned_files()
    assert not [r for r in left if two_people.STRANGER in r["sender"]]
    known = [r for r in left if r["outcome"] == "quarantined"]  # Åse's PDF: her sender is known
    assert len(known) == 1 and (cycle_dir / known[0]["stored_path"]).exists()
    again = collect_returned(ws.workspace, CYCLE, ws.workspace.input_dir / "returned" / "2027")
    assert again.quarantined == [] and not list((cycle_dir / "quarantine").glob("*invoice*"))
    assert {line["rule"] for line in log_lines(ws)} == {"quarantine"}
    assert all(line["employee_id"] == "" for line in log_lines(ws))


# --- the sealed archive ---------------------------------------------------------------------


def test_sealed_minutes_go_years_after_leaving_never_while_employed(ws):
    two_people.write_roster(ws.workspace.roster_path, (RANDI, ASE))  # Oliver has left
    noticed = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    first = apply_retention(ws.workspace, now=noticed)
    assert first.leavers == [OLIVER[0]]
    assert leaving_dates(ws.workspace.output_dir) == {OLIVER[0]: noticed.date()}
    left = dt.datetime.combine(noticed.date(), dt.time(), dt.UTC)
    early = apply_retention(ws.workspace, apply=True, now=add_months(left, 36) - dt.timedelta(1))
    assert rule(early, "archive").due == []
    assert any("kept until" in line for line in rule(early, "archive").kept)
    report = apply_retention(ws.workspace, apply=True, now=add_months(left, 36))
    (due,) = rule(report, "archive").due
    assert {kind: n for kind, (n, _) in due.counts.items()} == {"minutes": 1, "followups": 1}
    archive = Archive(ws.workspace.output_dir / "archive" / str(CYCLE))
    assert {e.employee_id for e in archive.read_manifest()[0]} == {ASE[0]}
    records = archive.deleted()
    assert {(r.employee_id, r.kind, r.rule) for r in records} == {
        (OLIVER[0], "minutes", "archive"),
        (OLIVER[0], "followups", "archive"),
    }
    manifest = archive.manifest_path.read_text(encoding="utf-8")
    assert "Oliver" not in manifest and "Bjørnstad" not in manifest  # the path named him
    assert not any("302" in p.name for p in archive.folder.iterdir())
    results = verified(ws)
    assert all(r.ok for r in results) and len(results) == 3  # Åse's two files, the manifest
    assert "records 2 deleted file(s)" in next(r.note for r in results if r.note.startswith("rec"))
    # Åse is in the roster: her minutes stay, however far in the future
    far = apply_retention(ws.workspace, apply=True, now=add_months(left, 600))
    assert rule(far, "archive").due == [] and archive.read_manifest()[0]


def test_minutes_archived_after_someone_left_are_refused_until_old_enough(ws):
    two_people.write_roster(ws.workspace.roster_path, (RANDI, ASE))
    noticed = archived_at(ws) - dt.timedelta(days=200)  # left before the minutes were sealed
    apply_retention(ws.workspace, now=noticed)
    left = dt.datetime.combine(noticed.date(), dt.time(), dt.UTC)
    report = apply_retention(ws.workspace, apply=True, now=add_months(left, 36))
    (refusal,) = rule(report, "archive").refused
    assert refusal.startswith(f"cycle {CYCLE}: {OLIVER[0]}: refused: their minutes were archived")
    assert "less than 3 year(s) ago" in refusal
    assert len(Archive(ws.workspace.output_dir / "archive" / str(CYCLE)).read_manifest()[0]) == 4


def test_someone_back_in_the_roster_starts_a_new_count(ws):
    two_people.write_roster(ws.workspace.roster_path, (RANDI, ASE))
    first = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    apply_retention(ws.workspace, now=first)
    two_people.write_roster(ws.workspace.roster_path)
    apply_retention(ws.workspace, now=first + dt.timedelta(days=100))
    assert leaving_dates(ws.workspace.output_dir) == {}
    two_people.write_roster(ws.workspace.roster_path, (RANDI, ASE))
    second = first + dt.timedelta(days=400)
    apply_retention(ws.workspace, now=second)
    assert leaving_dates(ws.workspace.output_dir) == {OLIVER[0]: second.date()}


# --- the command ----------------------------------------------------------------------------


def test_the_command_lists_counts_per_rule_cycle_and_kind_without_names(ws):
    result = CliRunner().invoke(cli, ["-w", str(ws.workspace.root), "retention"])
    assert result.exit_code == 0, result.output
    assert "Rule working_files (working_files_months = 12):" in result.output
    assert f"cycle {CYCLE}: kept until" in result.output
    assert "Rule archive (archive_years_after_leaving = 3):" in result.output
    assert "0 file(s) due; nothing was deleted (run with --apply)." in result.output
    for name in ("Åse", "Oliver", "Randi"):
        assert name not in result.output
    assert DeletionLog(ws.workspace.output_dir).entries() == []
