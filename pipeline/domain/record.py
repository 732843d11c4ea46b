"""The answers of a cycle as ONE record: the returned answers plus HR's corrections.

Every stage that shows or keeps answers (minutes, the answers attached at finalize, status,
reports) reads this record, so a correction HR types into ``answers.xlsx`` reaches every
document. A correction is a cell whose value differs from what collect last wrote there; a
column HR deleted is not a correction (it comes back on the next collect).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.questions import questions_from_json
from pipeline.domain.versions import ListValues, counted_versions, lists_of
from pipeline.formats.answers import answer_of, answer_rows, normalize, workbook_stamp
from pipeline.state.ledger import Ledger, ReturnedVersion, batched

ROWS_PER_LOOKUP = 256  # workbook rows compared with the ledger's memory at a time


@dataclass(frozen=True)
class FormAnswers:
    """One form's answers as the record holds them, and which of them HR corrected."""

    employee_id: str
    kind: str
    answers: dict[str, object]
    corrected: frozenset[str]
    version: ReturnedVersion | None  # the returned version they come from (None: HR only)


def cycle_record(ledger: Ledger, answers_path: Path) -> dict[tuple[str, str], FormAnswers]:
    """Return every form's answers: the version that counts, with HR's corrections applied."""
    corrections = hr_corrections(ledger, answers_path)
    lists = lists_of(ledger)
    return record_of(ledger.accepted_versions(), ledger.chosen_versions(), corrections, lists)


def record_of(
    versions: list[ReturnedVersion],
    chosen: dict[tuple[str, str], str],
    corrections: dict[tuple[str, str], dict],
    lists: ListValues,
) -> dict[tuple[str, str], FormAnswers]:
    """Return the answers of the forms ``versions`` and ``corrections`` hold (all, or a few)."""
    # One employee's versions with their corrections give that employee's part of the record,
    # so a stage working through thousands never holds every answer at once.
    winners = counted_versions(versions, chosen, lists=lists)  # lists: ``lists_of``
    record = {}
    for key in sorted(set(winners) | set(corrections)):
        version = winners.get(key)
        answers = dict(version.answers) if version else {}
        fixed = corrections.get(key, {})
        answers.update(fixed)
        if version or any(value not in (None, "") for value in fixed.values()):
            record[key] = FormAnswers(key[0], key[1], answers, frozenset(fixed), version)
    return record


def hr_corrections(ledger: Ledger, answers_path: Path) -> dict[tuple[str, str], dict]:
    """Return HR's corrections per (employee id, kind): the cells that differ from collect's."""
    # Row by row: the workbook and the ledger's memory of it hold every answer of the cycle;
    # only the cells HR changed (a handful) are kept.
    path = Path(answers_path)
    keys = question_keys(ledger)
    if not path.is_file() or not keys:
        return {}
    corrections: dict[tuple[str, str], dict] = {}
    recorded = ledger.workbook_corrections(workbook_stamp(path))
    if recorded is not None and all(
        set(wanted) <= set(recorded[1].get(kind, ())) for kind, wanted in keys.items()
    ):  # the workbook is as collect wrote it, its edits looked for in every column asked for
        for kind, employee_id, key, value in recorded[0]:
            if key in keys.get(kind, ()):
                corrections.setdefault((employee_id, kind), {})[key] = value
        return corrections
    for chunk in batched(answer_rows(path, keys), ROWS_PER_LOOKUP):
        written = {}
        for kind in {kind for kind, _, _ in chunk}:
            ids = [employee_id for row_kind, employee_id, _ in chunk if row_kind == kind]
            written[kind] = ledger.extracted_for(kind, ids)
        for kind, employee_id, values in chunk:
            for key, value in values.items():
                last = written[kind].get((employee_id, key))
                if normalize(value) != normalize(last):
                    corrections.setdefault((employee_id, kind), {})[key] = as_answer(value)
    return corrections


def question_keys(ledger: Ledger) -> dict[str, tuple[str, ...]]:
    """Return the answer keys of each form kind, as the generated forms hold them."""
    keys: dict[str, dict[str, None]] = {}
    for kind, fields in ledger.distinct_fields():
        for question in questions_from_json(fields):
            if question.key:
                keys.setdefault(kind, {})[question.key] = None
    return {kind: tuple(found) for kind, found in keys.items()}


def by_employee(corrections: dict[tuple[str, str], dict]) -> dict[str, dict]:
    """Return HR's corrections grouped per employee: {employee id: {(id, kind): values}}."""
    found: dict[str, dict] = {}
    for key, values in corrections.items():
        found.setdefault(key[0], {})[key] = values
    return found


def employee_record(
    ledger: Ledger, employee_id: str, chosen: dict, corrections: dict[str, dict], lists: ListValues
) -> dict[tuple[str, str], FormAnswers]:
    """Return one employee's part of the record (``corrections`` grouped by ``by_employee``)."""
    mine = {key: path for key, path in chosen.items() if key[0] == employee_id}
    versions = ledger.accepted_versions_of(employee_id)
    return record_of(versions, mine, corrections.get(employee_id, {}), lists)


def recorded_forms(
    ledger: Ledger, chosen: dict, corrections: dict[tuple[str, str], dict]
) -> set[tuple[str, str]]:
    """Return (employee id, kind) of every form the record holds, reading one form at a time."""
    found = {key for key, values in corrections.items() if any(v not in (None, "") for v in values)}
    lists = lists_of(ledger)
    for versions in ledger.accepted_version_groups():
        found |= set(counted_versions(versions, chosen, lists=lists))
    return found


def as_answer(value: object) -> object:
    """Return a workbook value as an answer: text stays text, empty is None, numbers as text."""
    return answer_of(value)
