"""``samtale retention``: what the rules in ``[retention]`` allow to go; with --apply, deleting it.

Three rules, each set in samtale.toml (``RetentionConfig``):

* ``working_files``: a cycle's working files (everything under ``output/<cycle>/``) go a set number
  of months after the cycle's last minutes were sealed and archived;
* ``quarantine``: a quarantined file nobody in the roster sent goes a set number of days after
  collect took it in;
* ``archive``: a person's sealed minutes go a set number of years after samtale first found them
  gone from the roster; never while they are in it.

A setting below samtale's minimum refuses its rule, with the reason. A rule never deletes a file
younger than its own setting: a cycle whose working files changed after its minutes were
archived waits for the same time after that change. Without ``apply`` nothing is deleted (the
leavers file may note who left); the report counts per cycle and file kind, never a name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.domain.personal_data import (
    EMAIL,
    LEDGER,
    LEDGER_NAME,
    QUARANTINE,
    REASON_SUFFIX,
    HeldFile,
    add_months,
    carry_out,
    finish_interrupted,
    held_cycles,
    moved_folder,
    sha256_of,
    utc,
    workbook_open,
    working_files,
)
from pipeline.formats.roster import read_roster
from pipeline.state.archive import Archive, ManifestEntry, archived_cycles
from pipeline.state.config import RetentionConfig
from pipeline.state.deletions import (
    WORKING_FILES,
    Batch,
    Deletion,
    leaving_dates,
    new_batch_id,
    note_leavers,
    pending_batches,
)
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace

QUARANTINE_RULE, ARCHIVE_RULE = "quarantine", "archive"
MINIMUMS = {  # setting -> (samtale's minimum, unit, why)
    "working_files_months": (
        1,
        "month",
        "an employee may ask for their data (GDPR art. 15) and must get it within a month, "
        "and may dispute the minutes; the working files show how the minutes came about",
    ),
    "quarantine_days": (
        7,
        "day",
        "collect screens quarantined files again, and HR needs time to ask a sender to send "
        "the form again",
    ),
    "archive_years_after_leaving": (
        1,
        "year",
        "a former employee may still ask for their data (GDPR art. 15) or dispute what was agreed",
    ),
}


@dataclass
class CycleDue:
    """What one rule deletes (or would) in one cycle, and why."""

    cycle: int
    why: str
    counts: dict[str, list[int]] = field(default_factory=dict)  # kind -> [files, bytes]

    def add(self, kind: str, size: int) -> None:
        """Count one file of ``kind``."""
        count = self.counts.setdefault(kind, [0, 0])
        count[0] += 1
        count[1] += size

    @property
    def files(self) -> int:
        """Return how many files go."""
        return sum(files for files, _ in self.counts.values())


@dataclass
class RuleOutcome:
    """One rule's verdict: what is due per cycle, what is kept until when, what is refused."""

    rule: str
    setting: str  # e.g. "working_files_months = 12"
    due: list[CycleDue] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list, repr=False)


@dataclass
class RetentionReport:
    """What ``retention`` found due (and deleted, with --apply), kept and refused."""

    applied: bool
    log_path: Path
    rules: list[RuleOutcome] = field(default_factory=list)
    finished: int = 0  # interrupted deletions finished first (--apply)
    interrupted: int = 0  # interrupted deletions waiting for --apply (dry run)
    leavers: list[str] = field(default_factory=list)  # ids newly noted as gone from the roster

    @property
    def deleted(self) -> int:
        """Return how many files went (or would go)."""
        return sum(due.files for rule in self.rules for due in rule.due)

    @property
    def refused(self) -> list[str]:
        """Return every refusal, rule by rule."""
        return [f"{rule.rule}: {line}" for rule in self.rules for line in rule.refused]


def apply_retention(
    workspace: Workspace,
    *,
    apply: bool = False,
    roster_path: Path | None = None,
    sheet: str | None = None,
    now: dt.datetime | None = None,
) -> RetentionReport:
    """Return what the retention rules delete; only ``apply=True`` deletes it."""
    now = now or dt.datetime.now(dt.UTC)
    config = workspace.config().retention
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    output = workspace.output_dir
    report = RetentionReport(apply, output / "deletions.jsonl")
    if apply:
        report.finished = len(finish_interrupted(workspace))
    else:
        report.interrupted = len(pending_batches(output))
    watched = {e.employee_id for c in archived_cycles(workspace) for e in archive_of(workspace, c)}
    in_roster = set(roster.by_id)
    report.leavers = note_leavers(output, watched, in_roster, now.date())
    working = working_files_rule(workspace, config, now)
    due_cycles = {due.cycle for due in working.due}
    report.rules = [
        working,
        quarantine_rule(workspace, config, now, due_cycles),
        archive_rule(workspace, config, now, in_roster),
    ]
    if apply:
        for rule in report.rules:
            for batch in rule.batches:
                carry_out(workspace, batch)
    return report


def archive_of(workspace: Workspace, cycle: int) -> list[ManifestEntry]:
    """Return the files still archived for a cycle (without creating its folder)."""
    return Archive(workspace.output_dir / "archive" / str(cycle)).read_manifest()[0]


def below_minimum(config: RetentionConfig, setting: str) -> str:
    """Return why a setting is refused (below samtale's minimum), or ''."""
    minimum, unit, why = MINIMUMS[setting]
    value = getattr(config, setting)
    if value >= minimum:
        return ""
    return (
        f"refused: [retention] {setting} = {value} is below the minimum of {minimum} {unit}(s): "
        f"{why}. Fix: set it to {minimum} or more in samtale.toml"
    )


def day(moment: dt.datetime) -> str:
    """Return the date of a moment as YYYY-MM-DD."""
    return moment.date().isoformat()


# --- working files ------------------------------------------------------------------------------


def working_files_rule(workspace: Workspace, config: RetentionConfig, now) -> RuleOutcome:
    """Return the verdict on every cycle's working files."""
    months = config.working_files_months
    outcome = RuleOutcome(WORKING_FILES, f"working_files_months = {months}")
    refusal = below_minimum(config, "working_files_months")
    if refusal:
        outcome.refused.append(refusal)
        return outcome
    for cycle in held_cycles(workspace):
        cycle_verdict(workspace, cycle, months, now, outcome)
    return outcome


def cycle_verdict(workspace: Workspace, cycle: int, months: int, now, outcome: RuleOutcome):
    """Add one cycle to the working-files verdict: due (with its batch), kept or refused."""
    archive = Archive(workspace.output_dir / "archive" / str(cycle))
    entries, deleted, _ = archive.read_lines()
    times = [utc(e.archived_at) for e in [*entries, *deleted]]
    times = [t for t in times if t is not None]
    if not times:
        outcome.kept.append(
            f"cycle {cycle}: kept: none of its minutes are archived yet (samtale finalize)"
        )
        return
    archived = max(times)
    due_at = add_months(archived, months)
    if now < due_at:
        outcome.kept.append(
            f"cycle {cycle}: kept until {day(due_at)} ({months} month(s) after its last minutes "
            f"were archived on {day(archived)})"
        )
        return
    files = working_files(workspace, cycle)
    kind, changed = last_change(workspace, cycle, files)
    if changed is not None and add_months(changed, months) > now:
        outcome.refused.append(
            f"cycle {cycle}: refused: its {kind} changed on {day(changed)}, less than {months} "
            f"month(s) ago; the working files are kept until {day(add_months(changed, months))}"
        )
        return
    lock = workbook_open(workspace.output_dir / str(cycle))
    if lock is not None:
        outcome.refused.append(
            f"cycle {cycle}: refused: answers.xlsx is open in another program (lock file "
            f"{lock.name}); close it and run retention again"
        )
        return
    why = f"its last minutes were archived on {day(archived)}; due since {day(due_at)}"
    outcome.due.append(counted(CycleDue(cycle, why), files))
    outcome.batches.append(working_files_batch(cycle, files, now))


def last_change(workspace: Workspace, cycle: int, files: list[HeldFile]):
    """Return (kind, time) of the newest change to a cycle's working files (ledger included)."""
    newest: tuple[str, dt.datetime | None] = ("", None)
    for held in files:
        if held.kind == LEDGER or held.relative.rsplit("/", 1)[-1].startswith("."):
            continue  # the ledger changes when it is opened; its rows say when things happened
        if newest[1] is None or held.changed_at > newest[1]:
            newest = (held.kind, held.changed_at)
    with Ledger(workspace.output_dir / str(cycle) / LEDGER_NAME) as ledger:
        recorded = utc(ledger.last_activity())
    if recorded is not None and (newest[1] is None or recorded > newest[1]):
        newest = (LEDGER, recorded)
    return newest


def counted(due: CycleDue, files: list[HeldFile]) -> CycleDue:
    """Return ``due`` with every file counted by kind."""
    for held in files:
        due.add(held.kind, held.size)
    return due


def working_files_batch(cycle: int, files: list[HeldFile], now: dt.datetime) -> Batch:
    """Return the batch removing a cycle's folder: moved aside at once, then file by file."""
    batch_id = new_batch_id()
    stamp = now.replace(microsecond=0).isoformat()
    moved = moved_folder(batch_id, cycle)
    deletions = tuple(
        Deletion(WORKING_FILES, cycle, f.employee_id, f.kind, f.sha256, f.size, stamp)
        for f in files
    )
    deletions = tuple(replace(d, batch=batch_id) for d in deletions)
    steps = [{"op": "move", "from": str(cycle), "to": moved}]
    steps += [{"op": "unlink", "path": f"{moved}/{f.relative}", "sha256": f.sha256} for f in files]
    steps.append({"op": "prune", "path": moved})
    return Batch(batch_id, deletions, tuple(steps))


# --- quarantine ---------------------------------------------------------------------------------


def quarantine_rule(
    workspace: Workspace, config: RetentionConfig, now, skip: set[int]
) -> RuleOutcome:
    """Return the verdict on quarantined files from unknown senders, per cycle."""
    days = config.quarantine_days
    outcome = RuleOutcome(QUARANTINE_RULE, f"quarantine_days = {days}")
    refusal = below_minimum(config, "quarantine_days")
    if refusal:
        outcome.refused.append(refusal)
        return outcome
    for cycle in held_cycles(workspace):
        if cycle in skip:
            continue  # its whole folder goes under working_files
        cycle_dir = workspace.output_dir / str(cycle)
        if not (cycle_dir / LEDGER_NAME).exists():
            continue
        with Ledger(cycle_dir / LEDGER_NAME) as ledger:
            rows = unknown_senders(ledger.returned_files())
        due_rows = [r for r in rows if ripe(r["collected_at"], dt.timedelta(days=days), now)]
        if len(due_rows) < len(rows):
            waiting = [utc(r["collected_at"]) for r in rows if r not in due_rows]
            first = min(t for t in waiting if t is not None) + dt.timedelta(days=days)
            outcome.kept.append(
                f"cycle {cycle}: {len(rows) - len(due_rows)} quarantined file(s) kept; the next "
                f"goes on {day(first)}"
            )
        if due_rows:
            due, batch = quarantine_batch(cycle, cycle_dir, due_rows, days, now)
            outcome.due.append(due)
            outcome.batches.append(batch)
    return outcome


def unknown_senders(rows: list[dict]) -> list[dict]:
    """Return the quarantined files nobody in the roster sent, and emails that only held such."""
    quarantined = [r for r in rows if r["outcome"] == "quarantined" and not r["sender_id"]]
    for row in rows:
        if row["outcome"] != EMAIL:
            continue
        parts = [r for r in rows if r["source"].startswith(row["source"] + " → ")]
        if parts and all(p["outcome"] == "quarantined" and not p["sender_id"] for p in parts):
            quarantined.append(row)
    return quarantined


def ripe(collected_at: str, keep: dt.timedelta, now: dt.datetime) -> bool:
    """Return True when a file collected at ``collected_at`` has been kept long enough."""
    moment = utc(collected_at)
    return moment is not None and moment + keep <= now


def quarantine_batch(cycle: int, cycle_dir: Path, rows: list[dict], days: int, now):
    """Return the verdict and the batch deleting quarantined files (ledger rows first)."""
    batch_id = new_batch_id()
    stamp = now.replace(microsecond=0).isoformat()
    due = CycleDue(
        cycle, f"quarantined more than {days} day(s) ago; nobody in the roster sent them"
    )
    deletions, steps = [], []
    for row in rows:
        kind = EMAIL if row["outcome"] == EMAIL else QUARANTINE
        steps.append(
            {"op": "forget_returned", "ledger": f"{cycle}/{LEDGER_NAME}", "sha256": row["sha256"]}
        )
        for relative in (row["stored_path"], row["stored_path"] + REASON_SUFFIX):
            path = cycle_dir / relative
            if not path.is_file():
                continue
            sha, size = sha256_of(path), path.stat().st_size
            due.add(kind, size)
            deletions.append(
                Deletion(QUARANTINE_RULE, cycle, "", kind, sha, size, stamp, batch=batch_id)
            )
            steps.append({"op": "unlink", "path": f"{cycle}/{relative}", "sha256": sha})
    return due, Batch(batch_id, tuple(deletions), tuple(steps))


# --- the sealed archive -------------------------------------------------------------------------


def archive_rule(
    workspace: Workspace, config: RetentionConfig, now, in_roster: set[str]
) -> RuleOutcome:
    """Return the verdict on the sealed minutes of people who left, per cycle."""
    years = config.archive_years_after_leaving
    outcome = RuleOutcome(ARCHIVE_RULE, f"archive_years_after_leaving = {years}")
    refusal = below_minimum(config, "archive_years_after_leaving")
    if refusal:
        outcome.refused.append(refusal)
        return outcome
    left = leaving_dates(workspace.output_dir)
    for cycle in archived_cycles(workspace):
        people: dict[str, list[ManifestEntry]] = {}
        for entry in archive_of(workspace, cycle):
            people.setdefault(entry.employee_id, []).append(entry)
        employed = sorted(p for p in people if p in in_roster)
        if employed:
            outcome.kept.append(
                f"cycle {cycle}: the sealed minutes of {len(employed)} people still in the "
                "roster are kept"
            )
        gone = {p: entries for p, entries in people.items() if p not in in_roster}
        person_verdicts(workspace, cycle, gone, left, years, now, outcome)
    return outcome


def person_verdicts(workspace, cycle, gone, left, years, now, outcome: RuleOutcome) -> None:
    """Add the verdicts on the people of one cycle who left: due (one batch), kept, refused."""
    batch_id = new_batch_id()
    stamp = now.replace(microsecond=0).isoformat()
    due = CycleDue(cycle, f"the people left the roster more than {years} year(s) ago")
    deletions, files = [], {}
    folder = workspace.output_dir / "archive" / str(cycle)
    for employee_id, entries in sorted(gone.items()):
        if employee_id not in left:
            continue  # not noted as gone yet: apply_retention notes everyone first
        since = dt.datetime.combine(left[employee_id], dt.time(), dt.UTC)
        due_at = add_months(since, 12 * years)
        times = [t for t in (utc(e.archived_at) for e in entries) if t is not None]
        youngest = max(times, default=since)
        if now < due_at:
            outcome.kept.append(
                f"cycle {cycle}: the sealed minutes of {employee_id} (left the roster "
                f"{day(since)}) are kept until {day(due_at)}"
            )
            continue
        if add_months(youngest, 12 * years) > now:
            outcome.refused.append(
                f"cycle {cycle}: {employee_id}: refused: their minutes were archived on "
                f"{day(youngest)}, less than {years} year(s) ago; kept until "
                f"{day(add_months(youngest, 12 * years))}"
            )
            continue
        for entry in entries:
            path = folder / entry.path
            size = path.stat().st_size if path.is_file() else 0
            due.add(entry.kind, size)
            files[entry.path] = entry.sha256
            deletions.append(
                Deletion(
                    ARCHIVE_RULE,
                    cycle,
                    employee_id,
                    entry.kind,
                    entry.sha256,
                    size,
                    stamp,
                    batch=batch_id,
                )
            )
    if files:
        step = {
            "op": "archive_forget",
            "cycle": cycle,
            "files": files,
            "rule": ARCHIVE_RULE,
            "time": stamp,
        }
        outcome.due.append(due)
        outcome.batches.append(Batch(batch_id, tuple(deletions), (step,)))
