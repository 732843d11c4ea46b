"""``samtale minutes``: the manager's minutes form, built from both preparation forms."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.forms import GenerateReport, Progress, write_forms
from pipeline.domain.kinds import PREP_KINDS, FormKind
from pipeline.domain.managers import manager_changes, minutes_warning
from pipeline.domain.questions import Question, sent_questions
from pipeline.domain.record import by_employee, employee_record, hr_corrections, recorded_forms
from pipeline.domain.versions import lists_of
from pipeline.formats.roster import Employee, read_roster
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace

MINUTES = FormKind.MINUTES
EMPTY = "–"
AGENDA_SIZE = 5
PREP_ANSWERS = "prep_answers"  # context key: what finish_context makes the tables of
WORDS = {
    "nb": {
        "yes": "Ja",
        "no": "Nei",
        "only_employee": "tatt opp bare av medarbeideren",
        "only_manager": "tatt opp bare av lederen",
        "scores": "medarbeider {e}, leder {m}",
        "different": "ulike vurderinger",
        "status": "ulik status",
    },
    "en": {
        "yes": "Yes",
        "no": "No",
        "only_employee": "raised only by the employee",
        "only_manager": "raised only by the manager",
        "scores": "employee {e}, manager {m}",
        "different": "different views",
        "status": "different status",
    },
}


@dataclass
class MinutesReport:
    """What a minutes run wrote and who is still waiting for preparation forms."""

    forms: GenerateReport | None
    waiting: list[str] = field(default_factory=list)


def prepare_minutes(
    workspace: Workspace,
    cycle: int,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    allow_missing: bool = False,
    force: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> MinutesReport:
    """Return the report of writing minutes forms for employees whose prep forms are back."""
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    report = MinutesReport(forms=None)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        # One employee at a time: their answers (HR's corrections included) are read when
        # their minutes form is written, never the whole cycle's at once.
        corrections = hr_corrections(ledger, workspace.answers_path(cycle))
        chosen = ledger.chosen_versions()
        lists = lists_of(ledger)
        recorded = recorded_forms(ledger, chosen, corrections)
        corrections = by_employee(corrections)
        forms = ledger.form_briefs()
        ready = set()
        for employee in roster.employees:
            missing = [k for k in PREP_KINDS if (employee.id, k) not in recorded]
            if missing and not allow_missing:
                report.waiting.append(
                    f"{employee.name} ({employee.id}): {' and '.join(missing)} form"
                )
            else:
                ready.add(employee.id)

        def extra(employee: Employee, kind: str) -> dict:
            # Only what the minutes are made from is read here (and hashed, to know when a form
            # is unchanged); the side-by-side table and the agenda are made where the form is
            # rendered (``finish_context``, in a worker process for big batches).
            record = employee_record(ledger, employee.id, chosen, corrections, lists)
            employee_side = record.get((employee.id, FormKind.EMPLOYEE))
            manager_side = record.get((employee.id, FormKind.MANAGER))
            return {
                PREP_ANSWERS: {
                    "employee_fields": sent_fields_json(ledger, employee.id, FormKind.EMPLOYEE),
                    "manager_fields": sent_fields_json(ledger, employee.id, FormKind.MANAGER),
                    "employee": employee_side.answers if employee_side else {},
                    "manager": manager_side.answers if manager_side else {},
                }
            }

        report.forms = write_forms(
            workspace,
            cycle,
            roster,
            (MINUTES,),
            only=ready,
            extra=extra,
            finish=finish_context,
            force=force,
            workers=workers,
            progress=progress,
        )
    changes = [c for c in manager_changes(forms, roster, PREP_KINDS) if c.employee.id in ready]
    report.forms.warnings += [minutes_warning(change, roster) for change in changes]
    return report


def sent_fields_json(ledger: Ledger, employee_id: str, kind: str) -> str:
    """Return the fields (JSON) of a generated form as it was sent ('[]' when not generated)."""
    form = ledger.form(employee_id, kind)
    return form.fields if form else "[]"


def finish_context(context: dict) -> dict:
    """Return the minutes form's variables: both prep forms side by side, and the agenda."""
    prep = context[PREP_ANSWERS]
    specs = merged_specs(
        sent_questions(prep["employee_fields"]), sent_questions(prep["manager_fields"])
    )
    words = WORDS.get(context["language"], WORDS["nb"])
    employee_answers, manager_answers = prep["employee"], prep["manager"]
    return {
        **{key: value for key, value in context.items() if key != PREP_ANSWERS},
        "sides": sides(specs, employee_answers, manager_answers, words),
        "agenda": agenda(specs, employee_answers, manager_answers, words),
    }


def merged_specs(employee_fields, manager_fields) -> list[Question]:
    """Return the questions of both prep forms in form order (manager-only ones after theirs)."""
    specs = [f for f in employee_fields if f.key]
    keys = {f.key for f in specs}
    for position, spec in enumerate(f for f in manager_fields if f.key):
        if spec.key not in keys:
            specs.insert(min(position, len(specs)), spec)
            keys.add(spec.key)
    return specs


def as_text(value, words: dict, spec: Question | None = None) -> str:
    """Return an answer as display text: Yes/No, a choice's label, dd.mm.yyyy, – when empty."""
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if value in (None, ""):
        return EMPTY
    text = spec.label_of(str(value)) if spec else str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and words is WORDS["nb"]:
        return f"{text[8:10]}.{text[5:7]}.{text[:4]}"
    return text


def sides(specs: list[Question], employee: dict, manager: dict, words: dict) -> list[dict]:
    """Return the sections with each question's two answers side by side."""
    sections: list[dict] = []
    for spec in specs:
        title = spec.section
        if not sections or sections[-1]["title"] != title:
            sections.append({"title": title, "rows": []})
        sections[-1]["rows"].append(
            {
                "question": spec.title or spec.key,
                "employee": as_text(employee.get(spec.key), words, spec),
                "manager": as_text(manager.get(spec.key), words, spec),
            }
        )
    return sections


def agenda(specs: list[Question], employee: dict, manager: dict, words: dict) -> list[str]:
    """Return the topics where the two prep forms differ most, most different first."""
    scored = []
    for order, spec in enumerate(specs):
        score, reason = difference(spec, employee.get(spec.key), manager.get(spec.key), words)
        if score > 0:
            scored.append((-score, order, f"{spec.title or spec.key}: {reason}"))
    return [text for _, _, text in sorted(scored)[:AGENDA_SIZE]]


def difference(spec: Question, mine, theirs, words: dict) -> tuple[float, str]:
    """Return how much two answers to one question differ (0 = alike) and why."""
    empty_mine, empty_theirs = mine in (None, ""), theirs in (None, "")
    if empty_mine and empty_theirs:
        return 0.0, ""
    if spec.type in ("dropdown", "combobox") and not (empty_mine or empty_theirs):
        try:
            gap = abs(float(mine) - float(theirs))
        except ValueError:
            return (2.0, words["status"]) if mine != theirs else (0.0, "")
        return (gap * 1.5, words["scores"].format(e=mine, m=theirs)) if gap >= 1 else (0.0, "")
    if empty_theirs and spec.type != "checkbox":
        return 2.5, words["only_employee"]
    if empty_mine and spec.type != "checkbox":
        return 2.5, words["only_manager"]
    if spec.type == "checkbox":
        return (1.0, words["different"]) if bool(mine) != bool(theirs) else (0.0, "")
    similarity = difflib.SequenceMatcher(None, str(mine).lower(), str(theirs).lower()).ratio()
    return (1.0 - similarity, words["different"]) if similarity < 0.5 else (0.0, "")
