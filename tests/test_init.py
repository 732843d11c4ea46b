"""Tests for pipeline/commands/init.py and 'samtale init': a new workspace, and life outside one."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline import __version__
from pipeline.cli import cli
from pipeline.commands.init import GUIDE_NAMES, init_workspace
from pipeline.errors import ExitCode, WorkspaceError
from pipeline.formats.shipped import (
    STAMP_NAME,
    TemplateFile,
    TemplateStamp,
    set_version,
    shipped_files,
)
from pipeline.state.config import Config, load_config

from .conftest import ROOT

ORGANISATION = "Sør-Østlandet Kraft & Nett AS"


def samtale(*args: str) -> Result:
    """Return the result of ``samtale ARGS``."""
    return CliRunner().invoke(cli, list(args), prog_name="samtale")


def files_below(folder: Path) -> dict[str, bytes]:
    """Return every file below ``folder``, relative path -> bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("language", "words"), [("nb", "Januar, steg for steg"), ("en", "January")]
)
def test_init_makes_a_whole_private_workspace(tmp_path, language, words):
    root = tmp_path / "Medarbeidersamtale 2027"
    result = samtale("init", str(root), "--language", language, "--organisation", ORGANISATION)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    shipped = {f.name: f.data for f in shipped_files()}
    files = files_below(root)
    assert set(files) == {f"templates/{n}" for n in shipped} | {
        f"templates/{STAMP_NAME}",
        "samtale.toml",
        GUIDE_NAMES[language],
    }
    assert all(files[f"templates/{name}"] == data for name, data in shipped.items())
    assert (root / "input").is_dir() and (root / "output").is_dir()
    assert not (root / ".samtale").exists()  # the key is made by generate, not by init
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert load_config(root / "samtale.toml").organisation == ORGANISATION
    guide = files[GUIDE_NAMES[language]].decode("utf-8")
    assert words in guide and ORGANISATION in guide and f'"{root}"' in guide
    assert "samtale generate" in guide and ".samtale/" in guide and "input/roster.xlsx" in guide
    assert f"Workspace ready in {root}: {len(files)} file(s) written, 0 kept." in result.output
    assert f"put the roster in {root / 'input' / 'roster.xlsx'}" in result.output


def test_a_new_workspace_passes_check_once_the_roster_is_in(tmp_path):
    root = tmp_path / "ws"
    assert samtale("init", str(root)).exit_code == ExitCode.SUCCESS
    assert load_config(root / "samtale.toml") == Config()  # without --organisation: defaults
    shutil.copy(ROOT / "input" / "roster.xlsx", root / "input" / "roster.xlsx")
    result = samtale("--workspace", str(root), "check")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert result.output.startswith("Roster OK: 36 employees") and "Warning" not in result.output


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("HR's own notes", encoding="utf-8")
    result = samtale("init", str(tmp_path))
    assert result.exit_code == ExitCode.ERROR
    assert result.output == (
        f"Error: {tmp_path} is not empty (notes.txt). Choose a new or empty folder, or pass "
        "--allow-nonempty to add only what is missing (no file is overwritten)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_refuses_a_file(tmp_path):
    target = tmp_path / "roster.xlsx"
    target.write_bytes(b"PK")
    with pytest.raises(WorkspaceError, match="is a file"):
        init_workspace(target)


def test_allow_nonempty_adds_what_is_missing_and_overwrites_nothing(tmp_path):
    own_config = '[organisation]\nname = "Fjordlys Energi AS"\n'
    (tmp_path / "samtale.toml").write_text(own_config, encoding="utf-8")
    (tmp_path / "templates").mkdir(mode=0o755)
    edited = (ROOT / "templates" / "employee.nb.docx").read_bytes() + b"HR-edited"
    (tmp_path / "templates" / "employee.nb.docx").write_bytes(edited)
    result = samtale("init", str(tmp_path), "--allow-nonempty", "--organisation", "Other AS")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert (tmp_path / "samtale.toml").read_text(encoding="utf-8") == own_config
    assert (tmp_path / "templates" / "employee.nb.docx").read_bytes() == edited
    assert f"Kept: {tmp_path / 'samtale.toml'} (already there, not overwritten)" in result.output
    assert (tmp_path / "templates" / "manager.nb.docx").exists()
    assert (tmp_path / "LESMEG.txt").exists()
    # Kept templates may be old or edited: no stamp may claim they are this release's.
    assert not (tmp_path / "templates" / STAMP_NAME).exists()
    assert stat.S_IMODE((tmp_path / "templates").stat().st_mode) == 0o700
    assert ", 2 kept." in result.output


def test_init_twice_writes_nothing_the_second_time(tmp_path):
    first = init_workspace(tmp_path / "ws")
    before = files_below(first.workspace.root)
    second = init_workspace(tmp_path / "ws", allow_nonempty=True)
    assert second.written == [] and sorted(second.kept) == sorted(first.written)
    assert files_below(first.workspace.root) == before


def test_an_unknown_language_is_a_usage_mistake(tmp_path):
    result = samtale("init", str(tmp_path / "ws"), "--language", "sv")
    assert result.exit_code == ExitCode.USAGE
    assert "'sv' is not one of 'nb', 'en'" in result.output
    assert not (tmp_path / "ws").exists()


# -- outside a workspace ---------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(set(cli.commands) - {"init"}))
def test_every_command_outside_a_workspace_suggests_init(tmp_path, command):
    arguments = ["1001"] if command in ("access", "erase") else []  # an employee id
    result = samtale("--workspace", str(tmp_path), command, *arguments)
    assert result.exit_code == ExitCode.ERROR, result.output
    assert result.output == (
        f"Error: {tmp_path} is not a samtale workspace (it has no samtale.toml, and no input/ and "
        f"templates/ folders). Make one with 'samtale init {tmp_path}' (or pass --workspace DIR, "
        "or run samtale from your workspace folder)\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing was made


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["init", "--help"]])
def test_help_works_anywhere(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)  # an empty folder: no workspace
    result = samtale(*args)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert result.output.startswith("Usage: samtale ")


def test_version_names_samtale_and_the_shipped_templates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = ROOT / "templates"
    on_disk = [  # the repository's templates, read from disk
        TemplateFile(p.relative_to(folder).as_posix(), p.read_bytes())
        for p in [*folder.glob("*.docx"), *folder.glob("email/*.txt")]
    ]
    result = samtale("--version")
    assert result.exit_code == ExitCode.SUCCESS
    assert result.output == f"samtale, version {__version__} (templates {set_version(on_disk)})\n"


def test_check_warns_about_templates_of_an_older_samtale_and_keeps_them(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root)
    shutil.copy(ROOT / "input" / "roster.xlsx", root / "input" / "roster.xlsx")
    (root / "templates" / STAMP_NAME).write_bytes(TemplateStamp("0.0.1", "0123456789ab").text())
    before = files_below(root / "templates")
    result = samtale("--workspace", str(root), "check")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    warning = result.stderr.strip()
    assert warning.startswith(f"Warning: {root / 'templates'} holds the templates of samtale 0.0.1")
    assert "samtale init /tmp/samtale-templates" in warning and "Review → Compare" in warning
    assert files_below(root / "templates") == before
