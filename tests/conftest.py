"""Shared fixtures: a workspace with the shipped templates and sample roster, forms generated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.commands.generate import generate_forms
from pipeline.formats.schema import check_package
from pipeline.state.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
CYCLE = 2027
# Real-world Word files by Word and other tools (sources, licence: data/corpus/README.md).
CORPUS = ROOT / "tests" / "data" / "corpus"


def make_workspace(folder: Path) -> Workspace:
    """Return a workspace in ``folder`` with copies of the shipped templates, roster and config."""
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "input").mkdir()
    shutil.copy(ROOT / "input" / "roster.xlsx", folder / "input" / "roster.xlsx")
    if (ROOT / "samtale.toml").exists():
        shutil.copy(ROOT / "samtale.toml", folder / "samtale.toml")
    return Workspace.at(folder)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """Return a fresh workspace (nothing generated yet)."""
    return make_workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Workspace:
    """Return a module-wide workspace whose 2027 prep forms are generated (treat as read-only)."""
    ws = make_workspace(tmp_path_factory.mktemp("generated") / "ws")
    generate_forms(ws, CYCLE, workers=1)
    return ws


@pytest.fixture
def generated_copy(generated: Workspace, tmp_path: Path) -> Workspace:
    """Return a private copy of the generated workspace, free to change."""
    target = tmp_path / "copy"
    shutil.copytree(generated.root, target)
    return Workspace.at(target)


def pdf_of_objects(objects: list[bytes]) -> bytes:
    """Return a minimal PDF file of numbered ``objects`` (object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def assert_valid_ooxml(source):
    """Return the schema check of a .docx/.xlsx (path or bytes); fail listing every violation.

    One line in any test makes a written file Word-strict: ``assert_valid_ooxml(path)``.
    """
    check = check_package(source)
    assert check.ok, "\n".join(str(violation) for violation in check.violations)
    return check
