"""``samtale generate``: both preparation forms for every employee, safely re-runnable."""

from __future__ import annotations

from pathlib import Path

from pipeline.domain.dates import date_from_text
from pipeline.domain.forms import GenerateReport, Progress, write_forms
from pipeline.domain.kinds import PREP_KINDS
from pipeline.errors import Problem
from pipeline.formats.previous import PreviousCycle, read_previous
from pipeline.formats.roster import read_roster
from pipeline.state.workspace import Workspace


def generate_forms(
    workspace: Workspace,
    cycle: int,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    previous_path: Path | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    new_key: bool = False,
) -> GenerateReport:
    """Return the report of writing both preparation forms for every employee of the roster."""
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    previous = read_previous(previous_path, cycle) if previous_path else PreviousCycle("")
    report = write_forms(
        workspace,
        cycle,
        roster,
        PREP_KINDS,
        previous=previous,
        force=force,
        workers=workers,
        progress=progress,
        new_key=new_key,
    )
    report.warnings[:0] = [
        *roster.warnings,
        *previous.warnings,
        *deadline_warnings(workspace, cycle),
    ]
    return report


def deadline_warnings(workspace: Workspace, cycle: int) -> list[Problem]:
    """Return a warning when the configured deadline is not in the cycle's year."""
    deadline = workspace.config().mail.deadline
    due = date_from_text(deadline)
    if due is None or due.year == cycle:
        return []
    return [
        Problem(
            str(workspace.root / "samtale.toml"),
            f"the deadline {deadline} printed on the forms is not in {cycle}",
            "set [mail] deadline for this cycle, then run generate again",
        )
    ]
