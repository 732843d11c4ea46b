"""`make bench-cycle N=10000`: a whole review cycle on a generated company of N employees.

Every stage runs as the user runs it, as its own `samtale` process (the CLI), one after the
other: generate, send (drafts), collect (one third of the replies as .eml), collect again with
nothing new, status, minutes, collect of the confirmed minutes, finalize (PDF/A, signature page,
seal, archive) and verify. The replies are a SIMULATION (invented answers, nobody real) and are
not counted. It prints one row per stage: items, seconds, items/s and peak memory, where peak
memory is the largest sum of the proportional set size (PSS) of the stage's processes, sampled
every 0.2 s, LibreOffice's processes left out (they are counted apart, in "LibreOffice MB").

    PYTHONPATH=. .venv/bin/python tools/bench_cycle.py --employees 10000 [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.pools import parallel_map
from pipeline.formats.roster import read_roster
from pipeline.state.files import write_private
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.certificates import create_demo_certificate
from testkit.simulate import fields_of, fill_form, invented_answers, leaning

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

CYCLE = 2027
PASSWORD = "bench-only-password"  # noqa: S105 (a throw-away demo seal)
SAMPLE_SECONDS = 0.2
LIBREOFFICE_MARKERS = (b"soffice", b"_uno_worker.py")
CERTIFICATE = Path(".samtale") / "demo-seal.p12"


@dataclass(frozen=True)
class Stage:
    """One measured stage: what ran, how many items, how long, and its peak memory."""

    name: str
    items: int
    seconds: float
    peak_mb: float
    libreoffice_mb: float
    status: int

    @property
    def rate(self) -> float:
        """Return items per second."""
        return self.items / self.seconds if self.seconds else 0.0


# -- memory of a process tree ----------------------------------------------------------------


def children_of(root: int) -> list[int]:
    """Return ``root`` and every process below it (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def pss_kb(pid: int) -> int:
    """Return the proportional set size of one process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def is_libreoffice(pid: int) -> bool:
    """Return True for soffice and the UNO bridge that drives it."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return False
    return any(marker in cmdline for marker in LIBREOFFICE_MARKERS)


class Sampler(threading.Thread):
    """Sample the memory of a process tree until stopped; keep the peaks."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.libreoffice_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        """Sample every SAMPLE_SECONDS until ``stop``."""
        while not self.done.wait(SAMPLE_SECONDS):
            ours = office = 0
            for pid in children_of(self.pid):
                if is_libreoffice(pid):
                    office += pss_kb(pid)
                else:
                    ours += pss_kb(pid)
            self.peak_kb = max(self.peak_kb, ours)
            self.libreoffice_kb = max(self.libreoffice_kb, office)

    def stop(self) -> None:
        """Stop sampling."""
        self.done.set()
        self.join()


def run_stage(name: str, workspace: Path, args: list[str], log: Path) -> tuple[float, Sampler, int]:
    """Return the seconds, the memory sampler and the exit status of one samtale command."""
    command = [sys.executable, "-m", "pipeline", "--workspace", str(workspace), *args]
    env = {**os.environ, "SAMTALE_SEAL_PASSWORD": PASSWORD}
    with log.open("ab") as output:
        output.write(f"\n== {name}: {' '.join(args)}\n".encode())
        output.flush()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=output, env=env)
        sampler = Sampler(process.pid)
        sampler.start()
        status = process.wait()
        seconds = time.perf_counter() - started
        sampler.stop()
    return seconds, sampler, status


# -- the company and its simulated replies (not measured) --------------------------------------


def make_workspace(folder: Path, employees: int) -> Path:
    """Return a workspace with the shipped templates, a synthetic roster and a demo seal."""
    from make_sample_roster import write_synthetic_roster

    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "templates", folder / "templates")
    shutil.copy(ROOT / "samtale.toml", folder / "samtale.toml")
    (folder / "input").mkdir()
    write_synthetic_roster(folder / "input" / "roster.xlsx", employees)
    workspace = Workspace.at(folder)
    create_demo_certificate(folder / CERTIFICATE, PASSWORD, workspace.config().organisation)
    return folder


def prep_reply(settings: dict, job: tuple) -> int:
    """Return 1 after writing one simulated reply: a filled prep form, as .docx or .eml."""
    from simulate_replies import reply_email

    number, path, name, language, department, employee_id, kind, sender = job
    sent = Path(path).read_bytes()
    answers = invented_answers(
        fields_of(sent),
        language,
        f"{employee_id}-{kind}",
        CYCLE,
        leaning=leaning(department, employee_id, kind, CYCLE),
    )
    filled = fill_form(sent, answers)
    target = Path(settings["target"])
    if number % 3 == 0 and sender:  # one third arrive as emails, as in the demo
        message = reply_email(sender[0], sender[1], name, filled, CYCLE)
        write_private(target / f"svar-{employee_id}-{kind}.eml", message, durable=False)
    else:
        write_private(target / name, filled, durable=False)
    return 1


def minutes_reply(settings: dict, job: tuple) -> int:
    """Return 2 after writing the minutes confirmed by the manager, then by the employee."""
    path, employee_id, employee_name, language, manager_name = job
    sent = Path(path).read_bytes()
    answers = invented_answers(fields_of(sent), language, f"{employee_id}-m", CYCLE)
    answers.update(
        manager_confirmed=True,
        manager_name=manager_name,
        manager_date=f"{CYCLE}-02-01",
        employee_confirmed=False,
        employee_name="",
    )
    target = Path(settings["target"])
    stem = Path(path).stem
    write_private(target / f"{stem}-leder.docx", fill_form(sent, answers), durable=False)
    confirmed = dict(
        answers,
        employee_confirmed=True,
        employee_name=employee_name,
        employee_date=f"{CYCLE}-02-03",
    )
    employee_copy = target / f"{stem}-medarbeider.docx"
    write_private(employee_copy, fill_form(sent, confirmed), durable=False)
    later = employee_copy.stat().st_mtime + 2 * 24 * 3600  # returned two days later
    os.utime(employee_copy, (later, later))
    return 2


def simulate_prep(folder: Path, target: Path) -> int:
    """Return how many simulated prep replies were written (every form comes back)."""
    workspace = Workspace.at(folder)
    roster = read_roster(workspace.roster_path)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        forms = [r for r in ledger.forms(brief=True) if r.kind in ("employee", "manager")]
    jobs = []
    for number, record in enumerate(forms):
        employee = roster.by_id[record.employee_id]
        person = employee if record.kind == "employee" else roster.manager_of(employee)
        sender = (person.name, person.email) if person and person.email else None
        path = workspace.cycle_dir(CYCLE) / record.path
        name = Path(record.path).name
        job = (number, str(path), name, employee.language, employee.department, employee.id)
        jobs.append((*job, record.kind, sender))
    target.mkdir(parents=True, exist_ok=True)
    return sum(parallel_map(prep_reply, {"target": str(target)}, jobs))


def simulate_minutes(folder: Path, target: Path) -> int:
    """Return how many simulated minutes were written (two per employee: manager, employee)."""
    workspace = Workspace.at(folder)
    roster = read_roster(workspace.roster_path)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        forms = ledger.forms("minutes", brief=True)
    jobs = []
    for record in forms:
        employee = roster.by_id[record.employee_id]
        manager = roster.manager_of(employee)
        path = str(workspace.cycle_dir(CYCLE) / record.path)
        manager_name = manager.name if manager else ""
        jobs.append((path, employee.id, employee.name, employee.language, manager_name))
    target.mkdir(parents=True, exist_ok=True)
    return sum(parallel_map(minutes_reply, {"target": str(target)}, jobs))


# -- counting what a stage did ---------------------------------------------------------------


def ledger_count(folder: Path, query: str) -> int:
    """Return one number from the cycle's ledger (read-only)."""
    path = folder / "output" / str(CYCLE) / "ledger.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(query).fetchone()[0]


def archived(folder: Path) -> int:
    """Return how many sealed minutes the archive's manifest lists."""
    manifest = folder / "output" / "archive" / str(CYCLE) / "manifest.jsonl"
    if not manifest.exists():
        return 0
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and json.loads(line).get("kind") == "minutes")


def returned_rows(folder: Path) -> int:
    """Return how many returned files (emails kept whole included) the ledger holds."""
    return ledger_count(folder, "SELECT COUNT(*) FROM returned_files")


def files_in(folder: Path) -> int:
    """Return how many files lie under ``folder``."""
    return sum(1 for path in folder.rglob("*") if path.is_file())


# -- the cycle -------------------------------------------------------------------------------


def run_cycle(folder: Path, employees: int, log: Path) -> list[Stage]:
    """Return the measured stages of a whole cycle for a company of ``employees``."""
    stages: list[Stage] = []
    cycle = ["--cycle", str(CYCLE)]
    prep = folder / "input" / "returned" / str(CYCLE)
    minutes_dir = folder / "input" / "returned" / f"{CYCLE}-minutes"

    def measure(name: str, args: list[str], count, *, change: bool = True) -> None:
        # ``count`` says how many items: the change it sees over the stage, or (change=False)
        # what it sees afterwards (the files a collect was given, the employees status shows).
        before = count() if change else 0
        seconds, sampler, status = run_stage(name, folder, args, log)
        stage = Stage(
            name,
            count() - before,
            seconds,
            sampler.peak_kb / 1024,
            sampler.libreoffice_kb / 1024,
            status,
        )
        stages.append(stage)
        print(row(stage), flush=True)

    def forms() -> int:
        return ledger_count(folder, "SELECT COUNT(*) FROM forms") if ledger_exists(folder) else 0

    def drafts() -> int:
        outbox = folder / "output" / str(CYCLE) / "outbox"
        return files_in(outbox) if outbox.is_dir() else 0

    print(header(), flush=True)
    measure("generate", ["generate", *cycle], forms)
    measure("send prep", ["send", *cycle, "--kind", "prep"], drafts)
    simulate_prep(folder, prep)
    returned = files_in(prep)
    measure(
        "collect prep", ["collect", *cycle, "--from", str(prep)], lambda: returned, change=False
    )
    measure(
        "collect again", ["collect", *cycle, "--from", str(prep)], lambda: returned, change=False
    )
    measure("status", ["status", *cycle], lambda: employees, change=False)
    measure("minutes", ["minutes", *cycle], lambda: minutes_forms(folder))
    simulate_minutes(folder, minutes_dir)
    confirmed = files_in(minutes_dir)
    args = ["collect", *cycle, "--from", str(minutes_dir)]
    measure("collect minutes", args, lambda: confirmed, change=False)
    measure("finalize", ["finalize", *cycle], lambda: archived(folder))
    measure("verify", ["verify", *cycle], lambda: archived(folder), change=False)
    return stages


def ledger_exists(folder: Path) -> bool:
    """Return True once the cycle has a ledger."""
    return (folder / "output" / str(CYCLE) / "ledger.sqlite").is_file()


def minutes_forms(folder: Path) -> int:
    """Return how many minutes forms the ledger holds."""
    return ledger_count(folder, "SELECT COUNT(*) FROM forms WHERE kind = 'minutes'")


def header() -> str:
    """Return the table's header lines."""
    title = (
        f"{'stage':<16} {'items':>7} {'seconds':>9} {'items/s':>9} {'peak MB':>8} "
        f"{'LibreOffice MB':>15} {'exit':>4}"
    )
    return title + "\n" + "-" * len(title)


def row(stage: Stage) -> str:
    """Return one stage as a table row."""
    office = f"{stage.libreoffice_mb:.0f}" if stage.libreoffice_mb else "–"
    return (
        f"{stage.name:<16} {stage.items:>7} {stage.seconds:>9.1f} {stage.rate:>9.1f} "
        f"{stage.peak_mb:>8.0f} {office:>15} {stage.status:>4}"
    )


def main() -> None:
    """Run the cycle and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="keep the workspace in this (new) folder")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="samtale-cycle-")) if not args.keep else args.keep
    folder = base / "ws" if not args.keep else args.keep
    log = (base if not args.keep else args.keep.parent) / f"bench-cycle-{os.getpid()}.log"
    load = os.getloadavg()[0]
    print(f"Machine: {os.cpu_count()} cores, load {load:.1f}; {args.employees} employees")
    print(f"Workspace: {folder} (the commands' output: {log})")
    random.seed(1)
    make_workspace(folder, args.employees)
    started = time.perf_counter()
    try:
        stages = run_cycle(folder, args.employees, log)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    total = sum(stage.seconds for stage in stages)
    print("-" * 72)
    wall = time.perf_counter() - started
    print(f"{'whole cycle':<16} {'':>7} {total:>9.1f}   (wall {wall:.0f} s with the simulation)")


if __name__ == "__main__":
    main()
