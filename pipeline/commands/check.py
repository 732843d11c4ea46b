"""``samtale check``: the roster and the templates, validated together before anything is sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.forms import form_context
from pipeline.domain.kinds import ALL_FORM_KINDS, LANGUAGES, PREP_KINDS
from pipeline.errors import Problem, TemplateError
from pipeline.formats.previous import PreviousCycle
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.shipped import outdated_warning
from pipeline.formats.templates import (
    SAMPLE_FORM_ID,
    FormTemplate,
    check_templates,
    load_template,
    structure_problems,
    template_path,
)
from pipeline.state.workspace import Workspace


@dataclass(frozen=True)
class CheckReport:
    """What check found valid: the roster's size and the templates checked."""

    roster: Roster
    departments: int
    managers: int
    languages: dict[str, int]
    templates: list[str]
    warnings: list[str] = field(default_factory=list)  # e.g. older templates than installed


def check_workspace(
    workspace: Workspace, roster_path: Path | None = None, sheet: str | None = None
) -> CheckReport:
    """Return a report when roster and templates are usable; raise RosterError/TemplateError."""
    workspace.config()  # a broken samtale.toml stops here, before anything is generated
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    kinds = tuple(k for k in ALL_FORM_KINDS if k in PREP_KINDS or has_template(workspace, k))
    problems = check_templates(workspace.templates_dir, kinds, LANGUAGES)
    problems += check_structure(workspace, kinds, roster)
    if problems:
        raise TemplateError("The templates need fixing", problems)
    languages: dict[str, int] = {}
    for employee in roster.employees:
        languages[employee.language] = languages.get(employee.language, 0) + 1
    return CheckReport(
        roster=roster,
        departments=len({e.department for e in roster.employees}),
        managers=len({e.manager_id for e in roster.employees if e.manager_id}),
        languages=languages,
        templates=[f"{kind}.{language}.docx" for kind in kinds for language in LANGUAGES],
        warnings=[w for w in [outdated_warning(workspace.templates_dir)] if w]
        + [str(problem) for problem in roster.warnings],
    )


def has_template(workspace: Workspace, kind: str) -> bool:
    """Return True when any language version of a form kind's template exists."""
    return any((workspace.templates_dir / f"{kind}.{lang}.docx").exists() for lang in LANGUAGES)


def check_structure(workspace: Workspace, kinds: tuple[str, ...], roster: Roster) -> list[Problem]:
    """Return where a template, or what it renders to, would make Word report unreadable content."""
    problems: list[Problem] = []
    for kind in kinds:
        for language in LANGUAGES:
            if not template_path(workspace.templates_dir, kind, language).exists():
                continue  # reported by check_templates
            try:
                template = load_template(workspace.templates_dir, kind, language)
            except TemplateError:
                continue  # reported by check_templates
            problems += structure_problems(template, sample_context(workspace, roster, template))
    return problems


def sample_context(workspace: Workspace, roster: Roster, template: FormTemplate) -> dict | None:
    """Return the variables of a form for the first employee who reads the template's language."""
    employees = roster.employees
    employee = next((e for e in employees if e.language == template.language), None)
    employee = employee or next(iter(employees), None)
    if employee is None:
        return None
    cycle = dt.date.today().year
    return form_context(
        employee,
        roster.manager_of(employee),
        cycle,
        template.kind,
        SAMPLE_FORM_ID,
        PreviousCycle(""),
        workspace.config(),
    )
