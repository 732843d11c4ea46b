"""tools/bench.py (``make bench``): it still runs every stage against the product's own code.

The benchmark calls library functions directly (finalize's planning, the minutes' tables), so a
change of their signatures must break a test, not only the next ``make bench``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.libreoffice


def test_the_benchmark_runs_every_stage_on_a_small_company():
    result = subprocess.run(
        [sys.executable, "tools/bench.py", "--employees", "12", "--skip-report", "--skip-schedule"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    stages = [line.split()[0] for line in result.stdout.splitlines() if line[:1].isalpha()]
    assert {"generate", "collect", "minutes", "finalize"} <= set(stages)
