"""Last cycle's agreements, read from last cycle's answers workbook for ``generate --previous``.

When ``samtale retention`` removed that workbook with the rest of the cycle's working files, the
agreements are read from the sealed minutes in ``output/archive/<year>/`` instead: each sealed
PDF carries the answers of its three forms as ``answers.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from pipeline.domain.kinds import ALL_FORM_KINDS, FormKind
from pipeline.errors import Problem, VerifyError, WorkbookError, message_of, plain_reason
from pipeline.formats.roster import normalize_id as roster_id
from pipeline.formats.templates import PREVIOUS_SLOTS
from pipeline.state.archive import Archive, ManifestEntry

GOAL_PARTS = ("goal_{n}", "goal_{n}_measure", "goal_{n}_deadline")
FOLLOWUP_PARTS = ("followup_{n}_what", "followup_{n}_who", "followup_{n}_when")
MAX_ROWS_PER_TABLE = 20
ARCHIVE_MANIFEST = "manifest.jsonl"
SEALED_ANSWERS = "answers.json"  # what finalize attaches to every sealed minutes PDF


@dataclass(frozen=True)
class PreviousCycle:
    """Agreements from last cycle, per employee id, and notes on what did not fit."""

    cycle: str
    agreements: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def context_for(self, employee_id: str) -> dict:
        """Return the ``previous`` template variable for one employee."""
        items = self.agreements.get(employee_id, [])[:PREVIOUS_SLOTS]
        slots = {f"agreement_{n}": "" for n in range(1, PREVIOUS_SLOTS + 1)}
        slots.update({f"agreement_{n}": text for n, text in enumerate(items, start=1)})
        return {"any": bool(items), "cycle": self.cycle, **slots}


def read_sheet_rows(path: Path, sheet: str) -> dict[str, dict[str, object]]:
    """Return a sheet of an answers workbook as {employee_id: {key: value}}; {} if absent."""
    workbook = open_workbook(path)
    try:
        if sheet not in workbook.sheetnames:
            return {}
        rows = workbook[sheet].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        if "employee_id" not in header:
            raise WorkbookError(
                f"{path}: sheet {sheet!r} has no 'employee_id' column in row 1; "
                "use the answers workbook samtale wrote last cycle"
            )
        result = {}
        for row in rows:
            record = dict(zip(header, row, strict=False))
            employee_id = normalize_id(record.get("employee_id"))
            if employee_id:
                result[employee_id] = record
        return result
    finally:
        workbook.close()


def open_workbook(path: Path):
    """Return an openpyxl workbook opened read-only; raise WorkbookError with the fix."""
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise WorkbookError(f"{path}: file not found; give last cycle's answers.xlsx") from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise WorkbookError(
            f"{path}: not a readable .xlsx workbook ({plain_reason(exc)}); give last cycle's "
            "answers.xlsx as samtale wrote it, or open it in Excel and save it again"
        ) from exc


def normalize_id(value: object) -> str:
    """Return an employee id as the roster writes it; a value that is no id stays as text."""
    try:
        return roster_id(value)
    except ValueError:
        return str(value).strip()


def read_previous(path: Path, cycle: int | None = None) -> PreviousCycle:
    """Return last cycle's agreements: minutes goals and follow-ups, else the prep forms' goals."""
    path = Path(path)
    archive = archive_instead(path)
    if archive is not None:
        return read_previous_archive(archive, cycle, path)
    previous_cycle = cycle_of(path)
    check_is_previous(path, previous_cycle, cycle)
    minutes = read_sheet_rows(path, "minutes")
    fallback = read_sheet_rows(path, "employee")
    if not minutes and not fallback and not has_answer_sheets(path):
        raise WorkbookError(
            f"{path}: not an answers workbook (no 'minutes' or 'employee' sheet); give last "
            "cycle's output/<year>/answers.xlsx"
        )
    result = PreviousCycle(str(previous_cycle or ""))
    crowded = []
    for employee_id in sorted(set(minutes) | set(fallback)):
        items = agreements_from_minutes(minutes.get(employee_id, {}))
        if not items:
            items = agreements_from_goals(fallback.get(employee_id, {}))
        if len(items) > PREVIOUS_SLOTS:
            crowded.append(employee_id)
        if items:
            result.agreements[employee_id] = items
    if crowded:
        result.warnings.append(
            Problem(
                str(path),
                f"{len(crowded)} employee(s) have more than {PREVIOUS_SLOTS} agreements; their "
                f"forms show the first {PREVIOUS_SLOTS} (goals before follow-ups): "
                + ", ".join(crowded),
                "nothing to do, or merge agreements in the workbook if all must show",
            )
        )
    if previous_cycle and cycle and previous_cycle < cycle - 1:
        result.warnings.append(
            Problem(
                str(path),
                f"these are the answers of {previous_cycle}, not of {cycle - 1}",
                f"give the answers of {cycle - 1} if there was a review that year",
            )
        )
    return result


def cycle_of(path: Path) -> int | None:
    """Return the cycle a workbook belongs to, from its name or folder (answers-2026.xlsx)."""
    years = re.findall(r"(?<!\d)(20\d\d)(?!\d)", "/".join(path.resolve().parts[-3:]))
    return int(years[-1]) if years else None


def check_is_previous(path: Path, previous_cycle: int | None, cycle: int | None) -> None:
    """Raise WorkbookError when the workbook is this cycle's or a later one's."""
    if previous_cycle and cycle and previous_cycle >= cycle:
        raise WorkbookError(
            f"{path}: these are the answers of cycle {previous_cycle}, not of an earlier cycle; "
            f"give last cycle's answers, e.g. output/{cycle - 1}/answers.xlsx"
        )


def has_answer_sheets(path: Path) -> bool:
    """Return True when the workbook has a sheet named after a form kind."""
    workbook = open_workbook(path)
    try:
        return bool(set(ALL_FORM_KINDS) & set(workbook.sheetnames))
    finally:
        workbook.close()


def agreements_from_minutes(row: dict) -> list[str]:
    """Return the agreed goals and follow-ups of one minutes row as lines of text."""
    items = []
    for parts in (GOAL_PARTS, FOLLOWUP_PARTS):
        for n in range(1, MAX_ROWS_PER_TABLE + 1):
            values = [text_of(row.get(part.format(n=n))) for part in parts]
            if values[0]:
                items.append(" · ".join(v for v in values if v))
    return items


def agreements_from_goals(row: dict) -> list[str]:
    """Return the goals an employee proposed last cycle (when no minutes were kept)."""
    # Forms since 2027 ask for goal_1 … goal_3; older ones for one text of goals (goals_next).
    goals = [text_of(row.get(f"goal_{n}")) for n in range(1, MAX_ROWS_PER_TABLE + 1)]
    text = "\n".join(goal for goal in goals if goal) or text_of(row.get("goals_next"))
    return [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]


def text_of(value: object) -> str:
    """Return a cell value as trimmed text ('' for empty)."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text[8:10]}.{text[5:7]}.{text[:4]}"
    return text


# --- from the sealed archive, when the workbook is gone -----------------------------------------


def archive_instead(path: Path) -> Path | None:
    """Return the archive folder to read instead of ``path``, or None to read the workbook."""
    # ``path`` may be the archive folder itself (output/archive/2027), or a workbook that
    # retention removed (output/2027/answers.xlsx, whose archive is output/archive/2027).
    if path.is_dir() and (path / ARCHIVE_MANIFEST).is_file():
        return path
    if path.exists() or not re.fullmatch(r"\d{4}", path.parent.name):
        return None
    folder = path.parent.parent / "archive" / path.parent.name
    return folder if (folder / ARCHIVE_MANIFEST).is_file() else None


def read_previous_archive(folder: Path, cycle: int | None, given: Path) -> PreviousCycle:
    """Return last cycle's agreements from the answers sealed into each newest minutes PDF."""
    previous_cycle = int(folder.name) if folder.name.isdigit() else None
    check_is_previous(folder, previous_cycle, cycle)
    newest: dict[str, ManifestEntry] = {}
    for entry in Archive(folder).read_manifest()[0]:
        known = newest.get(entry.employee_id)
        if entry.kind == FormKind.MINUTES and (known is None or entry.version > known.version):
            newest[entry.employee_id] = entry
    result = PreviousCycle(str(previous_cycle or ""))
    if given != folder:
        result.warnings.append(
            Problem(
                str(given),
                f"the workbook is gone (retention removed the working files of {folder.name}); "
                f"last year's agreements were read from the sealed minutes in {folder}",
                "nothing to do; people without sealed minutes get no agreements",
            )
        )
    for employee_id, entry in sorted(newest.items()):
        try:
            answers = sealed_answers(folder / entry.path)
        except (OSError, ValueError, VerifyError) as exc:
            result.warnings.append(
                Problem(
                    str(folder / entry.path), f"the answers cannot be read ({message_of(exc)})", ""
                )
            )
            continue
        items = agreements_from_minutes(answers.get("minutes") or {})
        items = items or agreements_from_goals(answers.get("employee") or {})
        if items:
            result.agreements[employee_id] = items
    return result


def sealed_answers(path: Path) -> dict:
    """Return the answers a sealed minutes PDF carries (``answers.json``), by form kind."""
    from pipeline.formats.seal import attachments_of  # pyHanko takes 0.3 s to load: only here

    data = attachments_of(path.read_bytes()).get(SEALED_ANSWERS)
    if data is None:
        raise ValueError(f"no {SEALED_ANSWERS} attached")
    answers = json.loads(data.decode("utf-8"))
    if not isinstance(answers, dict):
        raise ValueError(f"{SEALED_ANSWERS} is not an object")
    return answers
