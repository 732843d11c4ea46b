"""`make bench`, part 4: `samtale report` for 10,000 employees vs loading the answers workbook.

The cycle is SYNTHETIC (invented people): a synthetic roster, a ledger where most forms came back
and most minutes were confirmed, and an answers workbook of invented answers in the layout
`collect` writes (one sheet per form kind, row 1 the keys, every question of the shipped
templates). Generating and collecting 30,000 real forms would take many minutes and measure
other stages; the report reads only these three files.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from pathlib import Path

import openpyxl

from pipeline.commands.report import write_report
from pipeline.domain.choices import choice_lists
from pipeline.formats.roster import read_roster
from pipeline.formats.templates import FIXED_COLUMNS, load_template
from pipeline.state.ledger import FormRecord, Ledger, now_iso
from pipeline.state.workspace import Workspace
from testkit.simulate import FieldInfo, invented_answers, leaning

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
CYCLE = 2027
KINDS = ("employee", "manager", "minutes")
RETURNED = {"employee": 0.9, "manager": 0.93, "minutes": 0.8}


def form_fields(workspace: Workspace, kind: str, lists: dict) -> list[FieldInfo]:
    """Return the fields of a shipped template, with the configured dropdown lists filled in."""
    template = load_template(workspace.templates_dir, kind, "nb")
    fields = []
    for spec in template.fields:
        options = spec.options
        if options and options[0].startswith("@"):
            options = tuple(value for _, value in lists[options[0][1:]])
        fields.append(FieldInfo(spec.key, spec.type, options))
    return fields


def make_cycle(folder: Path, employees: int) -> Workspace:
    """Return a workspace whose cycle has a synthetic roster, ledger and answers workbook."""
    from make_sample_roster import write_synthetic_roster

    shutil.copytree(ROOT / "templates", folder / "templates")
    shutil.copy(ROOT / "samtale.toml", folder / "samtale.toml")
    (folder / "input").mkdir()
    write_synthetic_roster(folder / "input" / "roster.xlsx", employees)
    workspace = Workspace.at(folder)
    roster = read_roster(workspace.roster_path)
    lists = choice_lists(workspace.config(), "nb")
    fields = {kind: form_fields(workspace, kind, lists) for kind in KINDS}
    rng = random.Random(12)
    workbook = openpyxl.Workbook()  # not write-only: the way collect writes the workbook
    workbook.remove(workbook.active)
    sheets = {kind: workbook.create_sheet(kind) for kind in KINDS}
    for kind, sheet in sheets.items():
        sheet.append([*FIXED_COLUMNS, *(f.key for f in fields[kind])])
    stamp = now_iso()
    with Ledger(workspace.ledger_path(CYCLE)) as ledger, ledger.transaction():
        for employee in roster.employees:
            for kind in KINDS:
                if kind != "minutes":
                    ledger.record_form(
                        FormRecord(
                            employee.id,
                            kind,
                            f"forms/{employee.id}-{kind}.docx",
                            "0" * 64,
                            "x",
                            "v1",
                            "nb",
                            "[]",
                            "sent",
                            stamp,
                            stamp,
                        )
                    )
                if rng.random() > RETURNED[kind]:
                    continue
                answers = invented_answers(
                    fields[kind],
                    "nb",
                    f"{employee.id}-{kind}",
                    CYCLE,
                    leaning=leaning(employee.department, employee.id, kind, CYCLE),
                )
                if kind == "minutes":
                    answers.update(manager_confirmed=True, employee_confirmed=rng.random() < 0.9)
                ledger.add_returned_file(
                    {
                        "sha256": f"{employee.id}-{kind}",
                        "source": f"returned/{employee.id}-{kind}.docx",
                        "stored_path": f"returned/{employee.id}-{kind}.docx",
                        "outcome": "accepted",
                        "employee_id": employee.id,
                        "kind": kind,
                        "collected_at": stamp,
                        "answers": json.dumps(answers if kind == "minutes" else {}),
                    }
                )
                fixed = [
                    employee.id,
                    employee.name,
                    employee.department,
                    employee.manager_id,
                    "returned",
                    stamp,
                    f"{employee.id}-{kind}.docx",
                ]
                sheets[kind].append([*fixed, *(answers.get(f.key) for f in fields[kind])])
    workbook.save(workspace.answers_path(CYCLE))
    return workspace


def load_everything(path: Path) -> int:
    """Return how many rows there are after simply loading the whole workbook with openpyxl."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    workbook.close()
    return rows


def bench_report(folder: Path, employees: int = 10_000) -> dict:
    """Return seconds for the report and for simply loading the answers workbook."""
    workspace = make_cycle(folder, employees)
    started = time.perf_counter()
    result = write_report(workspace, CYCLE)
    report_s = time.perf_counter() - started
    started = time.perf_counter()
    load_everything(workspace.answers_path(CYCLE))
    load_s = time.perf_counter() - started
    return {
        "employees": employees,
        "report_s": report_s,
        "load_s": load_s,
        "ratio": load_s / report_s,
        "tables": result.tables,
    }
