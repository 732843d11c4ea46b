"""``samtale check``: the roster and the templates, validated together before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.kinds import ALL_FORM_KINDS, LANGUAGES, PREP_KINDS
from pipeline.errors import TemplateError
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.templates import check_templates
from pipeline.state.workspace import Workspace


@dataclass(frozen=True)
class CheckReport:
    """What check found valid: the roster's size and the templates checked."""

    roster: Roster
    departments: int
    managers: int
    languages: dict[str, int]
    templates: list[str]


def check_workspace(
    workspace: Workspace, roster_path: Path | None = None, sheet: str | None = None
) -> CheckReport:
    """Return a report when roster and templates are usable; raise RosterError/TemplateError."""
    workspace.config()  # a broken samtale.toml stops here, before anything is generated
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    kinds = tuple(k for k in ALL_FORM_KINDS if k in PREP_KINDS or has_template(workspace, k))
    problems = check_templates(workspace.templates_dir, kinds, LANGUAGES)
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
    )


def has_template(workspace: Workspace, kind: str) -> bool:
    """Return True when any language version of a form kind's template exists."""
    return any((workspace.templates_dir / f"{kind}.{lang}.docx").exists() for lang in LANGUAGES)
