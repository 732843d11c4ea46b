"""The form writer: fill Word templates per employee, safely re-runnable, recorded in the ledger.

Shared by ``generate`` (preparation forms) and ``minutes`` (minutes forms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.choices import choice_lists
from pipeline.domain.dates import date_from_text, format_date
from pipeline.domain.kinds import FormKind
from pipeline.domain.names import safe_stem
from pipeline.domain.pools import parallel_map
from pipeline.domain.questions import questions_to_json
from pipeline.errors import Problem, TemplateError
from pipeline.formats.extract import sent_form_of_xml
from pipeline.formats.previous import PreviousCycle
from pipeline.formats.roster import Employee, Roster
from pipeline.formats.templates import FormTemplate, checked_structure, load_template
from pipeline.state.files import (
    copy_private,
    ensure_private_dir,
    sync_files,
    sync_folders,
    unique_path,
    write_private,
)
from pipeline.state.identity import PROPERTY, FormIdentity
from pipeline.state.ledger import FormRecord, Ledger, batched, now_iso
from pipeline.state.workspace import Workspace

KIND_LABELS = {
    "nb": {
        FormKind.EMPLOYEE: "medarbeider",
        FormKind.MANAGER: "leder",
        FormKind.MINUTES: "referat",
    },
    "en": {FormKind.EMPLOYEE: "employee", FormKind.MANAGER: "manager", FormKind.MINUTES: "minutes"},
}
PARALLEL_THRESHOLD = 40
LEDGER_BATCH = 200  # below this, forking costs more than it saves
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FormJob:
    """One form to render: where it goes and everything the template needs."""

    employee_id: str
    kind: str
    language: str
    path: Path
    context: dict
    properties: dict[str, str]
    inputs_hash: str
    previous_sha: str = ""  # the form already on disk at ``path``, if any
    protected: bool = False  # handed out: never replaced without --force
    keep_copy: bool = False  # handed out and forced: copy the old file aside first
    manager_id: str = ""  # the employee's manager in the roster the form is written from


@dataclass
class GenerateReport:
    """What a generate run did, for the closing summary."""

    cycle: int
    forms_dir: Path
    employees: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept_handed_out: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def forms(self) -> int:
        """Return how many forms the cycle has after this run."""
        return sum(self.status_counts.values())


ExtraContext = Callable[[Employee, str], dict]
FinishContext = Callable[[dict], dict]  # the template variables made from the planned ones


def write_forms(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    kinds: tuple[str, ...],
    *,
    previous: PreviousCycle | None = None,
    only: set[str] | None = None,
    extra: ExtraContext | None = None,
    finish: FinishContext | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    new_key: bool = False,
) -> GenerateReport:
    """Return the report of (re)writing forms of ``kinds`` for the roster (or ``only`` some)."""
    # ``extra`` adds variables when a form is planned (here: they decide whether it changed);
    # ``finish`` turns the planned variables into the template's where the form is rendered
    # (in worker processes for big batches), for work that needs nothing but those variables.
    secret = workspace.secret(create=True, replace_lost=new_key)  # before anything is written
    employees = [e for e in roster.employees if only is None or e.id in only]
    templates = load_templates(workspace, employees, kinds)
    forms_dir = workspace.forms_dir(cycle)
    report = GenerateReport(cycle, forms_dir, employees=len(employees))
    setup = JobSetup(
        cycle=cycle,
        forms_dir=forms_dir,
        secret=secret,
        config=workspace.config(),
        previous=previous or PreviousCycle(""),
        extra_context=extra,
        force=force,
    )
    with Ledger(workspace.ledger_path(cycle)) as ledger:
        jobs = (  # planned here, a window at a time, while the workers render the last one
            plan_job(employee, roster.manager_of(employee), kind, templates, setup, ledger, report)
            for employee in employees
            for kind in kinds
        )
        total = len(employees) * len(kinds)
        rendered = render_jobs(jobs, total, (templates, finish), workers, progress)
        for batch in batched(rendered, LEDGER_BATCH):
            batch = [done for done in batch if done[0] is not None]  # unchanged: nothing to do
            sync_files(job.path for job, _, _, outcome in batch if outcome == "written")
            sync_folders(job.path.parent for job, *_ in batch)  # on disk before the ledger
            with ledger.transaction():
                for job, sha, outside, outcome in batch:
                    note_rendered(
                        ledger,
                        report,
                        job,
                        (sha, outside),
                        outcome,
                        templates,
                        workspace.cycle_dir(cycle),
                    )
        report.warnings += roster_leavers(ledger, roster)
        report.status_counts = ledger.form_status_counts()
    return report


@dataclass(frozen=True)
class JobSetup:
    """What every form of one run shares."""

    cycle: int
    forms_dir: Path
    secret: bytes
    config: object
    previous: PreviousCycle
    extra_context: ExtraContext | None
    force: bool


def load_templates(workspace: Workspace, employees, kinds) -> dict[tuple[str, str], FormTemplate]:
    """Return the compiled templates for every form kind and language the employees need."""
    languages = sorted({e.language for e in employees})
    templates = {
        (kind, language): load_template(workspace.templates_dir, kind, language)
        for kind in kinds
        for language in languages
    }
    problems = [p for template in templates.values() for p in checked_structure(template)]
    if problems:  # Word would "repair" such forms and may drop the answer fields with it
        raise TemplateError("The templates would make Word report unreadable content", problems)
    return templates


def plan_job(employee, manager, kind, templates, setup: JobSetup, ledger, report) -> FormJob | None:
    """Return the job for one form, or None when it is unchanged or protected."""
    template = templates[(kind, employee.language)]
    identity = FormIdentity(setup.cycle, kind, employee.id, template.version)
    token = identity.token(setup.secret)
    context = form_context(
        employee, manager, setup.cycle, kind, token, setup.previous, setup.config
    )
    if setup.extra_context:
        context.update(setup.extra_context(employee, kind))
    inputs_hash = hash_inputs(template.version, context)
    path = setup.forms_dir / form_file_name(employee, kind, setup.cycle)
    record = ledger.form(employee.id, kind)
    decision = decide(record, inputs_hash, setup.forms_dir.parent, setup.force)
    if decision == "unchanged":
        report.unchanged += 1
        return None
    same_file = record is not None and setup.forms_dir.parent / record.path == path
    return FormJob(
        employee.id,
        kind,
        employee.language,
        path,
        context,
        {PROPERTY: token},
        inputs_hash,
        previous_sha=record.sha256 if same_file and path.exists() else "",
        protected=decision == "handed_out",
        keep_copy=bool(record and record.handed_out_at),
        manager_id=employee.manager_id,
    )


def decide(record: FormRecord | None, inputs_hash: str, cycle_dir: Path, force: bool) -> str:
    """Return 'write', 'unchanged' or 'handed_out' for one form."""
    if record is None:
        return "write"
    existing = cycle_dir / record.path
    if record.inputs_hash == inputs_hash and existing.exists():
        return "unchanged"
    if record.status == "returned" and record.inputs_hash != inputs_hash:
        return "handed_out"  # already answered: never replaced, not even with --force
    if record.handed_out_at and not force and record.inputs_hash != inputs_hash:
        return "handed_out"
    return "write"


def keep_replaced_copy(path: Path) -> None:
    """Copy a handed-out form aside (forms/replaced/) before it is replaced with --force."""
    replaced = ensure_private_dir(path.parent / "replaced")
    stamp = now_iso().replace(":", "")
    copy_private(path, unique_path(replaced / f"{path.stem}.{stamp}{path.suffix}"))


def handed_out_warning(job: FormJob, record: FormRecord) -> Problem:
    """Return the warning for a changed form that was already handed out."""
    name = job.context["employee"]["name"]
    if record.status == "returned":
        return Problem(
            record.path,
            f"the {job.kind} form of {name} ({job.employee_id}) changed but was already "
            "returned; it was left as it is",
            "nothing to do: the answers are in; correct them in answers.xlsx if needed",
        )
    return Problem(
        record.path,
        f"the {job.kind} form of {name} ({job.employee_id}) changed but was already handed out "
        f"({record.handed_out_at}); it was left as it is",
        "run generate --force to replace it (the old file is kept under forms/replaced/)",
    )


def form_context(employee, manager, cycle, kind, token, previous, config) -> dict:
    """Return the template variables of one form."""
    return {
        "employee": person(employee),
        "manager": person(manager),
        "cycle": cycle,
        "language": employee.language,
        "organisation": config.organisation,
        "deadline": format_deadline(config.mail.deadline, employee.language),
        "form_id": token,
        "form_kind": kind,
        "previous": previous.context_for(employee.id),
        "choices": choice_lists(config, employee.language),  # dropdowns filled from the config
    }


def person(employee: Employee | None) -> dict[str, str]:
    """Return an employee as template variables (empty strings when there is nobody)."""
    if employee is None:
        return dict.fromkeys(("id", "name", "email", "department", "title", "start_date"), "")
    start = employee.start_date.strftime("%d.%m.%Y") if employee.start_date else ""
    return {
        "id": employee.id,
        "name": employee.name,
        "email": employee.email,
        "department": employee.department,
        "title": employee.title,
        "start_date": start,
    }


def format_deadline(deadline: str, language: str) -> str:
    """Return the configured deadline as the form's language writes dates (29.01.2027 in nb)."""
    due = date_from_text(deadline)
    return format_date(due, language, short=True) if due else deadline


def hash_inputs(template_version: str, context: dict) -> str:
    """Return a hash of everything a form's bytes depend on."""
    payload = json.dumps([template_version, context], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def form_file_name(employee: Employee, kind: str, cycle: int) -> str:
    """Return a readable, safe file name with the employee id, name, form kind and cycle."""
    label = KIND_LABELS.get(employee.language, KIND_LABELS["nb"])[kind]
    return f"{safe_stem(employee.id, 20)}_{safe_stem(employee.name, 60)}_{label}_{cycle}.docx"


# -- rendering, in parallel ----------------------------------------------------------------


def render_jobs(jobs, total: int, settings, workers: int | None, progress: Progress | None):
    """Yield (job, sha256, …) for every job rendered and written, on all cores for big batches."""
    # ``jobs`` is a generator (None for a form left as it is); only a few windows of it are
    # planned ahead, so the contexts of 20,000 forms are never all in memory.
    return parallel_map(
        render_and_write,
        settings,
        jobs,
        workers=workers,
        threshold=PARALLEL_THRESHOLD,
        progress=progress,
        total=total,
    )


def render_and_write(settings: tuple, job: FormJob | None) -> tuple[FormJob, str, str, str]:
    """Return the job, its form's SHA-256, its fields and fixed text (JSON), and what was done."""
    # What was done is 'written', 'unchanged' or 'protected' (handed out, left alone).
    # ``settings`` are the compiled templates and the run's ``finish`` (or None).
    if job is None:
        return None, "", "", "unchanged"  # decided when planned: counted there
    templates, finish = settings
    template = templates[(job.kind, job.language)]
    context = finish(job.context) if finish else job.context
    data, document_xml = template.render_parts(context, job.properties)
    sha = hashlib.sha256(data).hexdigest()
    if sha == job.previous_sha:
        return job, sha, "", "unchanged"
    if job.protected:
        return job, sha, "", "protected"
    exists = job.path.exists()
    if exists and job.keep_copy:
        keep_replaced_copy(job.path)
    write_private(job.path, data, overwrite=exists, durable=False)  # flushed per batch
    sent = sent_form_of_xml(document_xml)
    return (
        job,
        sha,
        (
            questions_to_json(sent.fields),
            json.dumps(sent.outside_text, ensure_ascii=False),
        ),
        "written",
    )


def note_rendered(
    ledger, report, job: FormJob, written, outcome: str, templates, cycle_dir
) -> None:
    """Update the ledger and the report with what happened to one rendered form."""
    if outcome == "protected":
        record = ledger.form(job.employee_id, job.kind)
        report.kept_handed_out.append(record.path)
        report.warnings.append(handed_out_warning(job, record))
        return
    if outcome == "unchanged":
        report.unchanged += 1
        ledger.set_inputs_hash(job.employee_id, job.kind, job.inputs_hash)
        return
    record_generated(ledger, job, written, templates, cycle_dir)
    report.written.append(job.path.name)


def record_generated(ledger: Ledger, job: FormJob, written, templates, cycle_dir: Path) -> None:
    """Store a freshly written form (its SHA-256 and fixed text) in the ledger."""
    sha, (fields, outside_text) = written
    template = templates[(job.kind, job.language)]
    before = ledger.form(job.employee_id, job.kind)
    same_form = before is not None and before.sha256 == sha  # a lost file written again
    ledger.record_form(
        FormRecord(
            employee_id=job.employee_id,
            kind=job.kind,
            path=str(job.path.relative_to(cycle_dir)),
            sha256=sha,
            inputs_hash=job.inputs_hash,
            template_version=template.version,
            language=job.language,
            fields=fields,  # as sent: rows the template left out are not expected back
            status=before.status if same_form else "generated",
            generated_at=now_iso(),
            handed_out_at=before.handed_out_at if same_form else None,  # a new version: not yet
            outside_text=outside_text,
            manager_id=job.manager_id,
        )
    )
    ledger.record_issued(job.properties[PROPERTY], job.employee_id, job.kind)


def roster_leavers(ledger: Ledger, roster: Roster) -> list[Problem]:
    """Return a warning for each form whose employee is no longer in the roster."""
    forms = ledger.forms(brief=True)
    gone = sorted({r.employee_id for r in forms if r.employee_id not in roster.by_id})
    return [
        Problem(
            str(roster.path),
            f"employee {employee_id} has forms in this cycle but is no "
            "longer in the roster; the forms were kept",
            "nothing to do if they left",
        )
        for employee_id in gone
    ]
