"""Tests for pipeline/formats/shipped.py: the templates shipped in the package and their version."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase

import pytest

from pipeline import __version__
from pipeline.domain.kinds import ALL_FORM_KINDS, LANGUAGES
from pipeline.formats.shipped import (
    PATTERNS,
    STAMP_NAME,
    TemplateFile,
    TemplateStamp,
    outdated_warning,
    read_stamp,
    release,
    set_version,
    shipped_files,
    shipped_stamp,
    shipped_version,
)
from pipeline.state.identity import template_version

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def repository_templates() -> dict[str, bytes]:
    """Return the repository's templates/ files that PATTERNS ship, name -> bytes."""
    folder = ROOT / "templates"
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if any(fnmatchcase(path.relative_to(folder).as_posix(), p) for p in PATTERNS)
    }


def test_the_shipped_templates_are_the_repository_templates():
    shipped = {f.name: f.data for f in shipped_files()}
    assert shipped == repository_templates()
    for kind in ALL_FORM_KINDS:
        for language in LANGUAGES:
            assert f"{kind}.{language}.docx" in shipped
            assert f"email/prep.{language}.txt" in shipped
    assert "__init__.py" not in shipped


def test_pyproject_installs_templates_as_the_package_shipped_reads():
    assert SETUPTOOLS["package-dir"] == {"pipeline._shipped_templates": "templates"}
    data = SETUPTOOLS["package-data"]
    globs = [f"{pattern}" for pattern in data["pipeline._shipped_templates"]]
    globs += [f"email/{pattern}" for pattern in data["pipeline._shipped_templates.email"]]
    assert sorted(globs) == sorted(PATTERNS)


def test_pyproject_lists_every_package_of_pipeline():
    # Packages are listed by hand (for the mapped templates/): a new one must not be forgotten.
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "pipeline").rglob("__init__.py")
    }
    listed = set(SETUPTOOLS["packages"])
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert listed - found == {"pipeline._shipped_templates", "pipeline._shipped_templates.email"}


def test_the_set_version_covers_every_name_and_byte():
    files = shipped_files()
    version = set_version(files)
    assert re.fullmatch(r"[0-9a-f]{12}", version) and version == shipped_version()
    assert set_version(list(reversed(files))) == version  # order does not matter
    changed = [TemplateFile(files[0].name, files[0].data + b"\0"), *files[1:]]
    renamed = [TemplateFile("x" + files[0].name, files[0].data), *files[1:]]
    assert len({version, set_version(changed), set_version(renamed)}) == 3
    manifest = "".join(f"{f.name} {template_version(f.data)}\n" for f in files)
    assert version == template_version(manifest.encode())


def test_a_stamp_is_read_back_and_a_damaged_one_is_ignored(tmp_path):
    stamp = TemplateStamp("0.1.0", "a1b2c3d4e5f6")
    (tmp_path / STAMP_NAME).write_bytes(stamp.text())
    assert read_stamp(tmp_path) == stamp
    (tmp_path / STAMP_NAME).write_text("samtale = 0.1.0\n", encoding="utf-8")
    assert read_stamp(tmp_path) is None
    assert read_stamp(tmp_path / "nowhere") is None


def test_templates_without_a_stamp_or_from_this_samtale_give_no_warning(tmp_path):
    assert outdated_warning(ROOT / "templates") is None  # the repository's: no stamp
    (tmp_path / STAMP_NAME).write_bytes(shipped_stamp().text())
    assert outdated_warning(tmp_path) is None


def test_older_templates_are_named_with_how_to_compare(tmp_path):
    (tmp_path / STAMP_NAME).write_bytes(TemplateStamp("0.0.9", "0123456789ab").text())
    warning = outdated_warning(tmp_path)
    assert f"{tmp_path} holds the templates of samtale 0.0.9 (templates 0123456789ab)" in warning
    assert f"this samtale {__version__} ships newer ones (templates {shipped_version()})" in warning
    assert "never replaced" in warning and "upgrade" not in warning
    assert "samtale init /tmp/samtale-templates" in warning and STAMP_NAME in warning


@pytest.mark.parametrize(
    ("stamped", "words"),
    [("0.0.1", "ships newer ones"), ("99.0.0", "upgrade samtale"), (__version__, "other ones")],
)
def test_the_warning_says_which_is_newer(tmp_path, stamped, words):
    (tmp_path / STAMP_NAME).write_bytes(TemplateStamp(stamped, "0123456789ab").text())
    assert words in outdated_warning(tmp_path)


@pytest.mark.parametrize(
    ("a", "b"), [("0.1.0", "0.2.0"), ("0.9.9", "0.10.0"), ("1.0", "1.0.1"), ("0.1.0", "1.0.0+x")]
)
def test_releases_compare_by_number(a, b):
    assert release(a) < release(b)
