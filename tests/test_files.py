"""Tests for pipeline/state/files.py: a run killed mid-write leaves nothing for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import WorkspaceError
from pipeline.state.archive import Archive
from pipeline.state.files import (
    copy_private,
    open_private_log,
    remove_stale_temp_files,
    temp_prefix,
    write_private,
)

from .conftest import CYCLE, ROOT

# Writes one PDF into the archive the way finalize does, but stops for good once the bytes are
# in the temporary file (before they are synced and linked into place): the parent kills it.
STUCK_WRITER = """
import os, sys, time
sys.path.insert(0, {root!r})
from pipeline.state.archive import Archive
from pipeline.state.workspace import Workspace

def stuck(fd):
    print("writing", flush=True)
    time.sleep(120)

os.fsync = stuck
archive = Archive.of(Workspace.at({workspace!r}), {cycle})
archive.add("1013_Siri_Kvale/referat_{cycle}_v1.pdf", b"%PDF-1.7 half written" * 4096,
            employee_id="1013", kind="minutes", version=1, source_sha256="0" * 64)
"""


def start_stuck_writer(workspace) -> subprocess.Popen:
    """Return a running process that is stuck in the middle of writing an archived PDF."""
    script = STUCK_WRITER.format(root=str(ROOT), workspace=str(workspace.root), cycle=CYCLE)
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    if line != "writing\n":
        with process:
            raise AssertionError(process.stderr.read())
    return process


def temp_files(folder: Path) -> list[Path]:
    """Return every temporary file or work folder under ``folder``."""
    return sorted(p for p in folder.rglob(".*") if p.name.startswith((".tmp-", ".finalize-")))


def test_write_private_names_its_temporary_file_after_the_process(tmp_path, monkeypatch):
    seen = []
    real = os.fsync

    def spy(fd):
        seen.extend(p.name for p in tmp_path.iterdir())
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    write_private(tmp_path / "a.txt", b"x")
    (name,) = seen
    assert name.startswith(temp_prefix()) and temp_prefix() == f".tmp-{os.getpid()}-"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_finalize_killed_mid_write_is_cleaned_up_by_the_next_run(generated_copy):
    archive = Archive.of(generated_copy, CYCLE).folder
    with start_stuck_writer(generated_copy) as writer:
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    (left,) = temp_files(archive)
    assert left.name.startswith(f".tmp-{writer.pid}-") and left.stat().st_size > 0
    assert not (left.parent / f"referat_{CYCLE}_v1.pdf").exists()  # never half a PDF in place
    result = CliRunner().invoke(
        cli, ["--workspace", str(generated_copy.root), "finalize", "--cycle", str(CYCLE)]
    )
    assert result.exit_code == 0, result.output
    assert f"Cleaned up: {left} (half-written by a samtale run that was stopped)" in result.output
    assert temp_files(generated_copy.output_dir) == []
    again = CliRunner().invoke(
        cli, ["--workspace", str(generated_copy.root), "finalize", "--cycle", str(CYCLE)]
    )
    assert "Cleaned up" not in again.output


def test_a_file_another_run_is_writing_is_left_alone(generated_copy):
    with start_stuck_writer(generated_copy) as writer:
        try:
            (busy,) = temp_files(generated_copy.output_dir)
            removed = generated_copy.remove_stale_temp_files(started=time.time() + 60)
            assert removed == [] and busy.exists()
        finally:
            writer.kill()
            writer.wait(timeout=30)
    assert generated_copy.remove_stale_temp_files(started=time.time() + 60) == [busy]


def test_only_our_own_old_names_are_removed(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    old = time.time() - 2 * 3600
    names = {
        f".tmp-{gone.pid}-abc123": True,  # its process ended: left over
        f".tmp-{os.getpid()}-abc123": False,  # this process writes it
        ".tmp-k2j4h5g6": True,  # an older samtale's name, hours old
        f".answers-{gone.pid}-x.xlsx.tmp": True,
        ".schedule-q1w2e3.xlsx.tmp": True,
        ".answers-notes.xlsx": False,  # not a temporary name
        "tmp-report.pdf": False,
        ".tmpfile": False,
    }
    for name in names:
        path = tmp_path / "cycle" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    work = tmp_path / "cycle" / f".finalize-{gone.pid}-w1"
    work.mkdir()
    (work / "1013.docx").write_bytes(b"x")
    os.utime(work, (old, old))
    fresh = tmp_path / "cycle" / f".tmp-{gone.pid}-fresh"
    fresh.write_bytes(b"made after the run started")
    removed = remove_stale_temp_files([(tmp_path, True)], started=time.time() - 60)
    expected = {tmp_path / "cycle" / n for n, stale in names.items() if stale} | {work}
    assert set(removed) == expected
    assert {p.name for p in (tmp_path / "cycle").iterdir()} == {
        n for n, stale in names.items() if not stale
    } | {fresh.name}


def test_a_recent_name_without_a_process_id_is_kept(tmp_path):
    path = tmp_path / ".tmp-k2j4h5g6"
    path.write_bytes(b"x")
    earlier = time.time() - 60
    os.utime(path, (earlier, earlier))
    assert remove_stale_temp_files([(tmp_path, True)]) == [] and path.exists()


def test_folders_not_walked_into_keep_their_files(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    deep = tmp_path / "sub" / f".tmp-{gone.pid}-x"
    deep.parent.mkdir()
    deep.write_bytes(b"x")
    assert remove_stale_temp_files([(tmp_path, False)], started=time.time() + 1) == []
    assert remove_stale_temp_files([(tmp_path, True)], started=time.time() + 1) == [deep]


def test_sync_files_flushes_each_file_once_and_skips_one_gone(tmp_path, monkeypatch):
    from pipeline.state import files

    written = [
        files.write_private(tmp_path / f"kopi-{n}.docx", b"x", durable=False) for n in range(5)
    ]
    flushed: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: flushed.append(fd) or real_fsync(fd))
    files.sync_files([*written, tmp_path / "borte.docx"])
    assert len(flushed) == 5
    files.sync_folders([tmp_path, tmp_path, tmp_path / "finnes-ikke"])
    assert len(flushed) == 6  # one folder, once


def test_a_private_copy_is_owner_only_byte_for_byte_and_keeps_its_time(tmp_path):
    source = tmp_path / "restored" / "1010_Åse_Øvre-Li_medarbeider_2027.docx"
    source.parent.mkdir()
    source.write_bytes(b"PK\x03\x04 form \xc3\xa6\xc3\xb8")
    source.chmod(0o644)  # restored from a backup, open to all
    os.utime(source, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
    target = copy_private(source, tmp_path / "replaced" / "copy.docx")
    assert target.read_bytes() == source.read_bytes()
    assert stat_mode(target) == 0o600 and stat_mode(target.parent) == 0o700
    assert target.stat().st_mtime_ns == source.stat().st_mtime_ns
    with pytest.raises(WorkspaceError, match="refusing to overwrite"):
        copy_private(source, target)


def test_a_log_is_opened_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with open_private_log(tmp_path / "worker.log") as log:
            log.write(b"first run\n")
        with open_private_log(tmp_path / "worker.log") as log:
            log.write(b"second\n")
    finally:
        os.umask(old)
    assert (tmp_path / "worker.log").read_bytes() == b"second\n"
    assert stat_mode(tmp_path / "worker.log") == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
