"""Scheduling benchmark: 1,000 managers × 10 reports (10,000 talks).

1. the planner alone (pipeline.domain.scheduling) vs a naive planner that tries every quarter
   hour and compares with every talk booked so far (measured on a sample of managers);
2. a whole `samtale schedule` run on a 11,000-row roster: read the roster, plan, write
   schedule.xlsx and the ledger; then a second run, which keeps and checks every talk.

Run on its own: .venv/bin/python tools/bench_schedule.py [--managers 1000 --reports 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import openpyxl

from pipeline.commands.schedule import schedule_rules, schedule_talks
from pipeline.domain.scheduling import Pair, Planner, Rules
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace

CYCLE = 2027
TODAY = dt.date(2027, 1, 20)
CONFIG = """\
[mail]
sender_address = "hr@fjordlys.example"
deadline = 2027-01-29

[schedule]
first_day = 2027-02-01
last_day = 2027-02-26
"""


def make_workspace(folder: Path, managers: int, reports: int) -> Workspace:
    """Return a workspace whose roster has ``managers`` × ``reports`` employees (and a ledger)."""
    (folder / "input").mkdir(parents=True)
    (folder / "samtale.toml").write_text(CONFIG, encoding="utf-8")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Ansatte")
    sheet.append(["Ansattnr", "Navn", "E-post", "Leders ansattnr", "Avdeling"])
    for m in range(managers):
        manager_id = str(100000 + m)
        sheet.append([manager_id, f"Leder Nummer{m}", f"leder{m}@fjordlys.example", "", "Drift"])
        for r in range(reports):
            person = str(200000 + m * reports + r)
            sheet.append([person, f"Ansatt Nummer{person}", f"a{person}@fjordlys.example",
                          manager_id, "Drift"])  # fmt: skip
    book.save(folder / "input" / "roster.xlsx")
    workspace = Workspace.at(folder)
    Ledger(workspace.ledger_path(CYCLE)).close()
    return workspace


def pairs_of(managers: int, reports: int, first: dt.date) -> list[Pair]:
    """Return the pairs of ``managers`` × ``reports`` talks."""
    return [
        Pair(str(200000 + m * reports + r), str(100000 + m), first)
        for m in range(managers)
        for r in range(reports)
    ]


def naive_schedule(rules: Rules, pairs: list[Pair]) -> int:
    """Return how many talks a naive planner places: every quarter hour, every booked talk."""
    booked: list[tuple[str, str, dt.datetime, dt.datetime]] = []
    length, gap = rules.talk_length, dt.timedelta(minutes=rules.break_minutes)
    placed = 0
    for pair in pairs:
        day = rules.first_day
        found = False
        while day <= rules.last_day and not found:
            if rules.is_working_day(day):
                start = dt.datetime.combine(day, rules.day_start)
                while start + length <= dt.datetime.combine(day, rules.day_end) and not found:
                    end = start + length
                    clash = any(
                        {e, m} & {pair.employee_id, pair.manager_id}
                        and s < end + gap
                        and start < f + gap
                        for e, m, s, f in booked
                    )
                    held = sum(
                        1 for _, m, s, _ in booked if m == pair.manager_id and s.date() == day
                    )
                    lunch = rules.lunch and (
                        start < dt.datetime.combine(day, rules.lunch[1])
                        and dt.datetime.combine(day, rules.lunch[0]) < end
                    )
                    if not clash and not lunch and held < rules.max_talks_per_day:
                        booked.append((pair.employee_id, pair.manager_id, start, end))
                        found = True
                    start += dt.timedelta(minutes=rules.step_minutes)
            day += dt.timedelta(days=1)
        placed += found
    return placed


def bench_schedule(managers: int = 1000, reports: int = 10, naive_managers: int = 50) -> dict:
    """Return the planner's talks/s (and the naive one's), and the whole run's seconds."""
    with tempfile.TemporaryDirectory(prefix="samtale-bench-schedule-") as tmp:
        workspace = make_workspace(Path(tmp) / "ws", managers, reports)
        rules = schedule_rules(workspace.config(), CYCLE)
        pairs = pairs_of(managers, reports, rules.first_day)
        started = time.perf_counter()
        placements = Planner(rules).schedule(pairs)
        planner_s = time.perf_counter() - started
        sample = pairs_of(naive_managers, reports, rules.first_day)
        started = time.perf_counter()
        naive_placed = naive_schedule(rules, sample)
        naive_s = time.perf_counter() - started
        ours_sample = Planner(rules)
        started = time.perf_counter()
        ours_sample.schedule(sample)
        ours_sample_s = time.perf_counter() - started
        started = time.perf_counter()
        report = schedule_talks(workspace, CYCLE, today=TODAY)
        run_s = time.perf_counter() - started
        started = time.perf_counter()
        again = schedule_talks(workspace, CYCLE, today=TODAY)
        rerun_s = time.perf_counter() - started
    return {
        "talks": sum(1 for p in placements if p.talk),
        "planner_per_s": len(pairs) / planner_s,
        "sample": len(sample),
        "naive_placed": naive_placed,
        "naive_per_s": len(sample) / naive_s,
        "ours_sample_per_s": len(sample) / ours_sample_s,
        "run_talks": len(report.new),
        "run_s": run_s,
        "rerun_s": rerun_s,
        "rerun_changes": len(again.new) + len(again.moved),
    }


def describe(figures: dict) -> str:
    """Return the figures as the lines `make bench` prints."""
    return (
        f"schedule: planner {figures['talks']} talks, {figures['planner_per_s']:.0f} talks/s; "
        f"on {figures['sample']} talks {figures['ours_sample_per_s']:.0f} talks/s vs a naive "
        f"quarter-hour planner {figures['naive_per_s']:.0f} talks/s (ratio "
        f"{figures['ours_sample_per_s'] / figures['naive_per_s']:.0f}x)\n"
        f"schedule: whole run for {figures['run_talks']} talks (10 reports x 1,000 managers, "
        f"roster read, schedule.xlsx and ledger written) {figures['run_s']:.1f} s; "
        f"second run keeping and checking them {figures['rerun_s']:.1f} s"
    )


def main() -> None:
    """Run the scheduling benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=10)
    args = parser.parse_args()
    print(describe(bench_schedule(args.managers, args.reports)))


if __name__ == "__main__":
    main()
