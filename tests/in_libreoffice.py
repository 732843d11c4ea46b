"""Forms filled by a person in real LibreOffice, for the tests (``libreoffice_user.py`` types).

``fill_in_libreoffice`` runs ``tests/libreoffice_user.py`` under the Python with the UNO bridge
and returns the saved .docx; ``libreoffice_major`` says which LibreOffice did it, for the
assertions about what that LibreOffice keeps (7.4 drops controls and tags, 25 keeps them).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import LibreOfficeMissing
from pipeline.formats.convert import find_soffice, find_uno_python

USER = Path(__file__).with_name("libreoffice_user.py")


@functools.lru_cache(maxsize=1)
def libreoffice_major() -> int:
    """Return the major version of the installed LibreOffice (7, 25, …); skip when there is none."""
    try:
        soffice = find_soffice()
    except LibreOfficeMissing:
        pytest.skip("LibreOffice (soffice) is not installed")
    shown = subprocess.run(
        [soffice, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    found = re.search(r"LibreOffice (\d+)\.", shown)
    assert found, f"soffice --version said {shown!r}"
    return int(found.group(1))


def fill_in_libreoffice(sent: bytes, actions: list[dict], folder: Path) -> bytes:
    """Return the form after a person did ``actions`` in real LibreOffice and saved it."""
    try:
        soffice = find_soffice()
    except LibreOfficeMissing:
        pytest.skip("LibreOffice (soffice) is not installed")
    python = find_uno_python(soffice)
    if python is None:
        pytest.skip("no Python with the UNO bridge (python3-uno)")
    folder.mkdir()
    (folder / "sent.docx").write_bytes(sent)
    job = {
        "source": str(folder / "sent.docx"),
        "target": str(folder / "typed.docx"),
        "profile": str(folder / "profile"),
        "soffice": soffice,
        "actions": actions,
    }
    (folder / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    subprocess.run(
        [python, str(USER), str(folder / "job.json")],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(folder)},
    )
    return (folder / "typed.docx").read_bytes()
