"""Tests for pipeline/workspace.py: folders, config file, secret, private writes."""

import stat

import pytest

from pipeline.errors import ConfigError, NotAWorkspace, WorkspaceError
from pipeline.state.config import load_config
from pipeline.state.files import unique_path, write_private
from pipeline.state.workspace import Workspace

from .conftest import ROOT


def test_the_shipped_config_loads():
    config = load_config(ROOT / "samtale.toml")
    assert config.organisation == "Fjordlys Energi AS"
    assert config.mail.deadline == "2027-01-29" and config.mail.rate_per_second > 0
    assert config.seal_certificate


def test_a_missing_config_gives_the_defaults(tmp_path):
    assert load_config(tmp_path / "samtale.toml").organisation


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('organisation = "X"\n', "must be a table"),
        ('[mail]\nrate_per_second = "fast"\n', "rate_per_second must be int or float"),
        ("[mail]\nrate_per_second = 0\n", "must be above 0"),
        ('[mail]\nsender = "x"\n', "unknown key 'sender' in [mail]"),
        ("[mailer]\nx = 1\n", "unknown setting 'mailer'"),
        ("[mail\n", "not valid TOML"),
    ],
)
def test_config_mistakes_name_the_key_and_the_fix(tmp_path, text, words):
    path = tmp_path / "samtale.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_config(path)


def test_the_secret_is_created_only_when_asked_and_kept_private(tmp_path):
    workspace = Workspace.at(tmp_path)
    with pytest.raises(WorkspaceError, match="Restore it from your backup"):
        workspace.secret()
    key = workspace.secret(create=True)
    assert workspace.secret() == key and len(key) == 32
    path = tmp_path / ".samtale" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not hex\n", encoding="ascii")
    with pytest.raises(WorkspaceError, match="damaged"):
        workspace.secret()


def test_private_writes_never_overwrite_silently(tmp_path):
    target = write_private(tmp_path / "a" / "b" / "f.txt", b"one")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    with pytest.raises(WorkspaceError, match="refusing to overwrite"):
        write_private(target, b"two")
    write_private(target, b"two", overwrite=True)
    assert target.read_bytes() == b"two"
    assert unique_path(target).name == "f-2.txt"


def test_folder_overrides(tmp_path):
    workspace = Workspace.at(tmp_path, output_dir=tmp_path / "elsewhere")
    assert workspace.output_dir == tmp_path / "elsewhere"
    assert workspace.roster_path == tmp_path / "input" / "roster.xlsx"


def test_an_existing_open_folder_is_tightened(tmp_path):
    folder = tmp_path / "restored"
    folder.mkdir(mode=0o755)
    write_private(folder / "f.txt", b"x")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_cycle_lock_refuses_a_second_holder(tmp_path):
    from pipeline.state.workspace import cycle_lock

    folder = tmp_path / "2027"
    folder.mkdir()
    with (
        cycle_lock(folder, "send"),
        pytest.raises(WorkspaceError, match="another 'samtale send' is running"),
        cycle_lock(folder, "send"),
    ):
        pass
    with cycle_lock(folder, "send"):  # released again
        pass
    assert stat.S_IMODE((folder / ".send.lock").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("made", "is_workspace"),
    [
        ([], False),
        (["samtale.toml"], True),
        (["input/", "templates/"], True),
        (["input/"], False),
        (["templates/", "output/"], False),
        (["samtale.toml/"], False),  # a folder of that name is not the config file
    ],
)
def test_what_marks_a_workspace(tmp_path, made, is_workspace):
    for name in made:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text("", encoding="utf-8")
    workspace = Workspace.at(tmp_path)
    assert workspace.is_workspace() is is_workspace
    if is_workspace:
        assert workspace.require() is workspace
    else:
        with pytest.raises(NotAWorkspace, match=f"'samtale init {tmp_path}'"):
            workspace.require()


def test_input_and_templates_given_elsewhere_make_a_workspace(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "tpl").mkdir()
    root = tmp_path / "root"  # does not even exist
    workspace = Workspace.at(root, input_dir=tmp_path / "in", templates_dir=tmp_path / "tpl")
    assert workspace.is_workspace()


def test_an_output_folder_checked_out_open_is_tightened_on_first_use(tmp_path):
    (tmp_path / "output").mkdir(mode=0o755)  # git makes output/ (it holds .gitkeep) open
    (tmp_path / "output").chmod(0o755)
    workspace = Workspace.at(tmp_path)
    cycle = workspace.cycle_dir(2027)
    assert stat.S_IMODE((tmp_path / "output").stat().st_mode) == 0o700
    assert stat.S_IMODE(cycle.stat().st_mode) == 0o700
    (tmp_path / "output").chmod(0o755)
    archive = workspace.archive_dir(2027)
    assert stat.S_IMODE((tmp_path / "output").stat().st_mode) == 0o700
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
