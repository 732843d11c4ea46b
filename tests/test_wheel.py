"""A built wheel carries its templates: installed apart from the checkout, init + check work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pipeline.formats.shipped import shipped_version

from .conftest import ROOT

SOURCE_PARTS = ("pyproject.toml", "README.md", "pipeline", "templates")


def run(*args, cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    """Return a finished command, asserting it succeeded; no PYTHONPATH leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(tmp_path: Path) -> Path:
    """Return a wheel built from a copy of the checkout (so no build/ lands in the repository)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE_PARTS:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, source / name)
    dist = tmp_path / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        dist,
        source,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("samtale-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """Return the bin/ folder of a new venv holding the wheel; other packages come from ours."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    )
    # The dependencies (docxtpl, openpyxl …) are found in this venv's site-packages: a path in a
    # .pth file is added to sys.path, but the .pth files there (our editable install) are not run.
    ours = sysconfig.get_paths()["purelib"]
    Path(site.stdout.strip(), "samtale-test-deps.pth").write_text(ours + "\n", encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel, cwd=tmp_path)  # fmt: skip
    return venv / "bin"


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_makes_and_checks_a_workspace(tmp_path):
    bin_dir = fresh_venv(tmp_path, build_wheel(tmp_path))
    elsewhere = tmp_path / "elsewhere"  # no checkout here or above it
    elsewhere.mkdir()
    where = run(
        bin_dir / "python",
        "-c",
        "import pipeline, pipeline._shipped_templates as t; print(pipeline.__file__, t.__file__)",
        cwd=elsewhere,
    ).stdout.split()
    assert all(Path(p).is_relative_to(tmp_path / "venv") for p in where), where

    samtale = bin_dir / "samtale"
    version = run(samtale, "--version", cwd=elsewhere).stdout
    assert version.endswith(f"(templates {shipped_version()})\n")
    made = run(samtale, "init", "Medarbeidersamtale", "--language", "en", cwd=elsewhere)
    assert "Workspace ready in " in made.stdout
    workspace = elsewhere / "Medarbeidersamtale"
    for template in (ROOT / "templates").glob("*.docx"):
        assert (workspace / "templates" / template.name).read_bytes() == template.read_bytes()
    assert not (workspace / "templates" / "__init__.py").exists()
    assert (workspace / "README.txt").is_file()

    shutil.copy(ROOT / "input" / "roster.xlsx", workspace / "input" / "roster.xlsx")
    checked = run(samtale, "check", cwd=workspace)
    assert checked.stdout.startswith("Roster OK: 36 employees"), checked.stdout
    assert "Templates OK: employee.nb.docx" in checked.stdout and not checked.stderr
