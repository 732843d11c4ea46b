"""Where collect's CPU goes per returned file: each step of screening one file timed on its own.

Makes a company of N employees in a temporary folder (forms generated, every prep form
returned, a third of them by email, as ``make bench-cycle`` does), then runs each step of
screening over all the returned files in this one process and prints the milliseconds of CPU
per file, beside the whole per-file work of collect's workers (``take_in``: read, open, screen,
store the copy). For deciding where a change to collect pays; ``make bench`` and
``make bench-cycle`` time the command itself.

    PYTHONPATH=. .venv/bin/python tools/collect_costs.py --employees 300
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import bench_cycle

from pipeline.commands.collect import screening_context
from pipeline.domain import intake
from pipeline.formats import extract, ooxml
from pipeline.formats.roster import read_roster
from pipeline.state.files import ensure_private_dir, write_private
from pipeline.state.identity import PROPERTY, parse_token
from pipeline.state.workspace import Workspace

CYCLE = bench_cycle.CYCLE


class Clock:
    """CPU seconds per step, added up over the files."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)

    def time(self, step: str, function, *args):
        """Return ``function(*args)``, its CPU time added to ``step``."""
        start = time.process_time()
        result = function(*args)
        self.spent[step] += time.process_time() - start
        return result


def make_company(folder: Path, employees: int) -> Path:
    """Return the folder of returned files of a generated company whose forms all came back."""
    bench_cycle.make_workspace(folder, employees)
    command = [sys.executable, "-m", "pipeline", "--workspace", str(folder)]
    subprocess.run([*command, "generate", "--cycle", str(CYCLE)], check=True, capture_output=True)
    returned = folder / "input" / "returned" / str(CYCLE)
    bench_cycle.simulate_prep(folder, returned)
    return returned


def word_files(path: Path, clock: Clock) -> list[bytes]:
    """Return the Word files one returned file holds (itself, or an email's attachments)."""
    data = clock.time("read the file", path.read_bytes)
    clock.time("SHA-256 of the file", lambda: hashlib.sha256(data).hexdigest())
    if path.suffix.lower() != ".eml":
        return [data]
    _, _, attachments = clock.time(
        "parse the email (a third of the files)", intake.opened_carrier, path.name, data, "", []
    )
    return [candidate.data for candidate in clock.time("decode its attachment", list, attachments)]


def screen_steps(data: bytes, secret: bytes, sent_forms, scratch: Path, clock: Clock) -> None:
    """Time each step of screening one Word file and keeping its copy."""
    package = clock.time(
        "unzip the parts read",
        lambda: ooxml.read_package(data, wanted=extract.WANTED_PARTS, headers_footers=True),
    )
    root = clock.time(
        "parse document.xml", ooxml.parse_xml, package.parts[ooxml.DOCUMENT_PART], "document"
    )
    token = ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))[PROPERTY]
    identity = clock.time("check the identity (HMAC)", parse_token, token, secret, ())
    sent = clock.time(
        "look up the form sent", sent_forms.get, (identity.employee_id, identity.kind)
    )
    reader = clock.time("read the controls", lambda: ooxml.PartReader(root))
    found = clock.time("read the controls", reader.fields)
    clock.time("match them to the questions", extract.match_fields, sent.fields, found)
    paragraphs = clock.time("read the fixed text", reader.outside_text, None, set())
    lines, _ = clock.time("read the fixed text", extract.numbered_lines, paragraphs)
    clock.time(
        "compare it with the form sent", extract.fixed_text_changes, sent.outside_text, lines
    )
    folder = scratch / identity.employee_id
    target = folder / f"{identity.kind}_{hashlib.sha256(data).hexdigest()[:12]}.docx"
    clock.time("make the employee's folder (first file)", ensure_private_dir, folder)
    clock.time(
        "store the copy", lambda: write_private(target, data, durable=False)
    )  # unflushed: collect flushes a batch at once


def whole_take_in(workspace: Workspace, returned: Path) -> dict[str, tuple[float, int]]:
    """Return the CPU seconds of collect's per-file work and the files, per kind of file."""
    # Kinds: '.docx' (saved into the folder) and '.eml' (an email with the form attached).
    context = screening_context(workspace, CYCLE, read_roster(workspace.roster_path), set())
    sources = [e for e in intake.listing(returned) if not isinstance(e, str)]
    spent: dict[str, tuple[float, int]] = {}
    with intake.worker_settings(context) as settings:
        for source in sources:
            start = time.process_time()
            intake.take_in(settings, source)
            kind = Path(source.relative).suffix.lower()
            seconds, files = spent.get(kind, (0.0, 0))
            spent[kind] = (seconds + time.process_time() - start, files + 1)
    return spent


def report(clock: Clock, files: int, whole: dict[str, tuple[float, int]]) -> None:
    """Print the milliseconds of CPU per returned file, step by step, then take_in's per kind."""
    total = sum(clock.spent.values())
    print(f"{'step':44s} {'ms per file':>11s} {'share':>6s}")
    for step, seconds in clock.spent.items():
        print(f"{step:44s} {seconds / files * 1000:11.3f} {seconds / total:6.0%}")
    print(f"{'the steps above':44s} {total / files * 1000:11.3f}")
    seconds = sum(spent for spent, _ in whole.values())
    counted = sum(kind_files for _, kind_files in whole.values())
    print(f"{'collect per file in a worker (take_in)':44s} {seconds / counted * 1000:11.3f}")
    for suffix, (spent, kind_files) in sorted(whole.items()):
        label = f"  of which a {suffix} file ({kind_files} files)"
        print(f"{label:44s} {spent / kind_files * 1000:11.3f}")
    print(
        "take_in also builds the results, asks the ledger if each file is known and checks the "
        "form's visible details; the main process adds its own work (ledger rows, flushing, "
        "the answers workbook)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=300)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="samtale-costs-")) / "ws"
    try:
        returned = make_company(folder, options.employees)
        workspace = Workspace.at(folder)
        sent_forms = intake.SentForms(workspace.ledger_path(CYCLE))
        secret, scratch = workspace.secret(), folder / "scratch"
        clock, paths = Clock(), sorted(returned.iterdir())
        for path in paths:
            for data in word_files(path, clock):
                screen_steps(data, secret, sent_forms, scratch, clock)
        sent_forms.close()
        whole = whole_take_in(workspace, returned)
        print(f"{options.employees} employees, {len(paths)} returned files (synthetic data)")
        report(clock, len(paths), whole)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
