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
from pipeline.domain.versions import counted_versions
from pipeline.formats.answers import normalize, read_answer_columns
from pipeline.state.ledger import Ledger, ReturnedVersion


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
    winners = counted_versions(ledger.accepted_versions(), ledger.chosen_versions())
    corrections = hr_corrections(ledger, answers_path)
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
    path = Path(answers_path)
    keys = question_keys(ledger)
    if not path.is_file() or not keys:
        return {}
    workbook = read_answer_columns(path, keys)
    written = ledger.extracted_values(list(keys))
    corrections: dict[tuple[str, str], dict] = {}
    for kind, rows in workbook.items():
        for employee_id, values in rows.items():
            for key, value in values.items():
                last = written.get((kind, employee_id, key))
                if normalize(value) != normalize(last):
                    corrections.setdefault((employee_id, kind), {})[key] = as_answer(value)
    return corrections


def question_keys(ledger: Ledger) -> dict[str, tuple[str, ...]]:
    """Return the answer keys of each form kind, as the generated forms hold them."""
    keys: dict[str, dict[str, None]] = {}
    for form in ledger.forms():
        for question in questions_from_json(form.fields):
            if question.key:
                keys.setdefault(form.kind, {})[question.key] = None
    return {kind: tuple(found) for kind, found in keys.items()}


def as_answer(value: object) -> object:
    """Return a workbook value as an answer: text stays text, empty is None, numbers as text."""
    if value in (None, ""):
        return None
    if isinstance(value, bool | str):
        return value
    return normalize(value)
