"""``samtale finalize``: minutes confirmed by both become sealed PDFs in the archive.

Per confirmed employee: the returned minutes are flattened (the agreed text as plain text, no
form fields, no links out of the file for LibreOffice to follow), a signature page is added (who
confirmed and when, which returned file with its SHA-256, how it arrived, the form's identity),
LibreOffice renders it as PDF/A-2b, the returned documents and the answers go inside as
attachments, and the organisation's seal closes it.
Only a sealed PDF is archived; one employee's failure never stops the others. Re-running is
safe: minutes already archived from the same returned file are skipped.

Thousands of minutes flow through a pipeline: each employee's answers are read from the ledger
when their turn comes, worker processes build the document and seal the PDF, warm LibreOffice
converters render meanwhile, and the sealed PDF is archived at once. All cores stay busy, and
only the few minutes in flight are held in memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from pipeline.domain.confirmation import minutes_state
from pipeline.domain.kinds import PREP_KINDS
from pipeline.domain.names import safe_stem
from pipeline.domain.pools import WorkerPool
from pipeline.domain.questions import questions_from_json
from pipeline.domain.record import FormAnswers, by_employee, hr_corrections, record_of
from pipeline.domain.versions import ListValues, lists_of
from pipeline.errors import MinutesError, SamtaleError, SealError, message_of
from pipeline.formats.calendar import AgreedItem, agreed_calendar
from pipeline.formats.certificate import write_public_certificate
from pipeline.formats.convert import ConverterPool
from pipeline.formats.ooxml import (
    CUSTOM_PART,
    DOCUMENT_PART,
    DOCX_MIME,
    STYLES_PART,
    final_document,
    flatten_controls,
    header_footer_parts,
    read_custom_properties,
    read_package,
    with_parts,
    without_outside_links,
    without_unused_styles,
)
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.seal import (
    MISSING_CERT_FIX,
    Attachment,
    PdfInfo,
    Seal,
    load_seal,
    seal_minutes,
)
from pipeline.state.archive import FOLLOWUPS, MINUTES, Archive, archived_name
from pipeline.state.files import PRIVATE_DIR, temp_prefix, write_private
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger, ReturnedVersion, now_iso
from pipeline.state.workspace import Workspace, seal_certificate_path

Progress = Callable[[int, int], None]
ANSWERS_NAME = "answers.json"
HR_CORRECTIONS = "_hr_corrections"  # in answers.json: keys HR corrected, with the returned value
HEADING_STYLE = "Heading1"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
FOLLOWUP_KEY = re.compile(r"^followup_(\d+)_what$")
GOAL_KEY = re.compile(r"^goal_(\d+)$")
PARALLEL_THRESHOLD = 20  # fewer minutes than this are built and sealed in this process
JOBS_PER_CONVERTER = 2  # in flight per LibreOffice: one rendering, one being built or sealed
WORDS = {
    "nb": {
        "title": "Medarbeidersamtale {cycle} – referat – {name}",
        "subject": "Endelig referat fra medarbeidersamtalen {cycle}, bekreftet av leder og "
        "medarbeider",
        "reason": "Endelig referat fra medarbeidersamtalen {cycle}, bekreftet av begge parter",
        "heading": "Bekreftelse og segl",
        "intro": "Dette er det endelige referatet fra medarbeidersamtalen {cycle}. Leder og "
        "medarbeider har bekreftet det, og {organisation} har forseglet PDF-filen. "
        "Endres filen etter forseglingen, blir seglet ugyldig.",
        "employee": "Medarbeider: {name} ({id})",
        "department": "Avdeling: {department}",
        "manager": "Leder: {name}",
        "manager_confirmed": "Leder bekreftet: {yes} – {name}, {date}",
        "employee_confirmed": "Medarbeider bekreftet: {yes} – {name}, {date}",
        "yes": "Ja",
        "no": "Nei",
        "no_date": "uten dato",
        "no_name": "uten navn",
        "file": "Returnert fil: {source}",
        "sha256": "SHA-256: {sha256}",
        "by_email": "Kom som e-post fra {sender}, sendt {time}",
        "by_file": "Kom som fil, sist endret {time}",
        "collected": "Samlet inn: {time}",
        "identity": "Skjema-ID: {token}",
        "no_identity": "ikke funnet",
        "attachments": "Vedlagt i PDF-filen: {names}",
        "made": "Laget: {time}",
        "time": "%d.%m.%Y kl. %H:%M UTC",
        "attach": {
            "employee": ("forberedelse_medarbeider", "Medarbeiderens forberedelse"),
            "manager": ("forberedelse_leder", "Lederens forberedelse"),
            "minutes": ("referat", "Referatet slik det kom tilbake bekreftet"),
        },
        "answers": "Svarene fra de tre skjemaene (medarbeider, leder, referat) som JSON",
        "calendar": "Medarbeidersamtale {cycle} – {name}",
        "followup": "Oppfølging: {what}",
        "responsible": "Ansvarlig: {who}",
        "goal": "Mål: {goal}",
        "measure": "Måles ved: {measure}",
        "when": "Når: {when}",
        "agreed": "Avtalt i medarbeidersamtalen {cycle} mellom {name} og {manager}.",
    },
    "en": {
        "title": "Performance review {cycle} – minutes – {name}",
        "subject": "Final minutes of the performance review {cycle}, confirmed by manager and "
        "employee",
        "reason": "Final minutes of the performance review {cycle}, confirmed by both parties",
        "heading": "Confirmation and seal",
        "intro": "These are the final minutes of the performance review {cycle}. The manager "
        "and the employee confirmed them, and {organisation} sealed this PDF file. Any change "
        "to the file after sealing makes the seal invalid.",
        "employee": "Employee: {name} ({id})",
        "department": "Department: {department}",
        "manager": "Manager: {name}",
        "manager_confirmed": "Confirmed by the manager: {yes} – {name}, {date}",
        "employee_confirmed": "Confirmed by the employee: {yes} – {name}, {date}",
        "yes": "Yes",
        "no": "No",
        "no_date": "no date",
        "no_name": "no name",
        "file": "Returned file: {source}",
        "sha256": "SHA-256: {sha256}",
        "by_email": "Arrived by email from {sender}, sent {time}",
        "by_file": "Arrived as a file, last modified {time}",
        "collected": "Collected: {time}",
        "identity": "Form ID: {token}",
        "no_identity": "not found",
        "attachments": "Attached inside this PDF: {names}",
        "made": "Made: {time}",
        "time": "%Y-%m-%d %H:%M UTC",
        "attach": {
            "employee": ("preparation_employee", "The employee's preparation form"),
            "manager": ("preparation_manager", "The manager's preparation form"),
            "minutes": ("minutes", "The minutes as returned, confirmed"),
        },
        "answers": "The answers of the three forms (employee, manager, minutes) as JSON",
        "calendar": "Performance review {cycle} – {name}",
        "followup": "Follow-up: {what}",
        "responsible": "Responsible: {who}",
        "goal": "Goal: {goal}",
        "measure": "Measured by: {measure}",
        "when": "When: {when}",
        "agreed": "Agreed in the performance review {cycle} between {name} and {manager}.",
    },
}


@dataclass(frozen=True)
class Archived:
    """Sealed minutes in the archive (just written, or found there from an earlier run)."""

    employee_id: str
    name: str
    path: Path
    version: int
    followups: Path | None = None


@dataclass(frozen=True)
class NotConfirmed:
    """Minutes that cannot be finalized yet, and what is missing."""

    employee_id: str
    name: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Failed:
    """Confirmed minutes that could not be sealed and archived this time, and why."""

    employee_id: str
    name: str
    reason: str


@dataclass
class FinalizeReport:
    """What a finalize run archived, skipped, could not finalize yet, and what failed."""

    cycle: int
    archive_dir: Path
    archived: list[Archived] = field(default_factory=list)
    skipped_already_archived: list[Archived] = field(default_factory=list)
    not_confirmed: list[NotConfirmed] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    public_certificate: Path | None = None  # the seal's .crt that verify checks against
    certificate_sha256: str = ""


@dataclass(frozen=True)
class Party:
    """The employee whose minutes these are, as the signature page names them."""

    employee_id: str
    name: str
    language: str
    department: str
    manager_name: str


@dataclass(frozen=True)
class Evidence:
    """How a returned file arrived, as the ledger recorded it."""

    sha256: str
    source: str
    stored_path: str
    sender: str
    sent_at: str
    file_time: str
    collected_at: str


@dataclass(frozen=True)
class Returned:
    """One returned document going into the PDF: its version, its evidence and its bytes."""

    version: ReturnedVersion
    evidence: Evidence
    data: bytes


@dataclass(frozen=True)
class MinutesJob:
    """Everything needed to render, seal and archive one employee's minutes."""

    party: Party
    final: Returned
    documents: tuple[Returned, ...]  # the prep forms that came back, then the final minutes
    token: str
    docx: Path
    pdf: Path
    answers: dict[str, dict]  # per form kind, as the cycle's record holds them (answers.json)
    calendar: bytes | None = None  # the agreed follow-ups as iCalendar (made by the worker)


@dataclass(frozen=True)
class Sealing:
    """What every PDF of one run shares: the seal, the cycle and the organisation's name."""

    seal: Seal
    cycle: int
    organisation: str
    subject: str  # [seal] subject, or "" for the default in the employee's language


@dataclass(frozen=True)
class Standing:
    """Where one employee's minutes stand, without their answers (thousands are held at once)."""

    employee_id: str
    confirmed: bool
    missing: tuple[str, ...]
    final_path: str  # stored path of the version confirmed by both ("" when not confirmed)
    names: dict[str, str]  # employee_name and manager_name as the newest minutes say


@dataclass(frozen=True)
class PlanItem:
    """One employee's confirmed minutes and what their job is built from (their rows only)."""

    party: Party
    final: ReturnedVersion
    record: dict[tuple[str, str], FormAnswers]
    evidence: dict[str, Evidence]
    prompts: tuple[str, ...] | None


@dataclass(frozen=True)
class JobSettings:
    """What every job of one run shares; the worker processes receive it once."""

    sealing: Sealing
    cycle_dir: Path
    workdir: Path


@dataclass(frozen=True)
class Refused:
    """A job a worker could not build or seal, and why (sent back instead of an exception)."""

    reason: str


def finalize_minutes(
    workspace: Workspace,
    cycle: int,
    *,
    certificate: Path | None = None,
    password: str | Callable[[], str],
    roster_path: Path | None = None,
    sheet: str | None = None,
    workers: int | None = None,
    pool: ConverterPool | None = None,
    progress: Progress | None = None,
) -> FinalizeReport:
    """Return the report of sealing and archiving every minutes confirmed by both."""
    # ``certificate`` (a PKCS#12 file) overrides ``[seal] certificate``; the password is the
    # caller's to ask for (never an option): a callable is asked only when something is to be
    # sealed and the certificate exists. ``pool`` lets callers share a warm LibreOffice.
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    Ledger.of_cycle(workspace, cycle).close()  # a cycle never generated stops here
    cycle_dir = workspace.cycle_dir(cycle)
    archive = Archive.of(workspace, cycle)
    report = FinalizeReport(cycle, archive.folder)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        languages = ledger.form_languages(MINUTES)
        standings = minutes_standings(ledger)
        report.not_confirmed = not_confirmed(roster, standings, languages)
        todo = still_to_archive(ledger, standings, roster, languages, archive, report)
        if not todo:
            return report
        sealing = open_seal(workspace, cycle, certificate, password, report)
        corrections = by_employee(hr_corrections(ledger, workspace.answers_path(cycle)))
        chosen = ledger.chosen_versions()
        lists = lists_of(ledger)
        workdir = Path(tempfile.mkdtemp(prefix=temp_prefix(".finalize-"), dir=cycle_dir))
        os.chmod(workdir, PRIVATE_DIR)
        try:
            items = (plan_item(ledger, party, chosen, corrections, lists) for party in todo)
            settings = JobSettings(sealing, cycle_dir, workdir)
            seal_all(items, len(todo), settings, archive, report, pool, workers, progress)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    for found in (report.archived, report.skipped_already_archived, report.failed):
        found.sort(key=lambda outcome: outcome.employee_id)  # finished in any order
    return report


# --- what the ledger and the roster say ----------------------------------------------------------


def returned_evidence(ledger: Ledger) -> dict[str, Evidence]:
    """Return the evidence of every accepted returned file by its stored path."""
    return {row["stored_path"]: Evidence(**row) for row in ledger.accepted_evidence()}


def minutes_standings(ledger: Ledger) -> dict[str, Standing]:
    """Return where every employee's returned minutes stand, one employee at a time."""
    standings = {}
    for versions in ledger.accepted_version_groups(MINUTES):
        state = minutes_state(versions[0].employee_id, versions)
        newest = state.versions[-1].answers
        standings[state.employee_id] = Standing(
            state.employee_id,
            state.confirmed,
            state.missing,
            state.final.stored_path if state.final else "",
            {key: str(newest.get(key) or "") for key in ("employee_name", "manager_name")},
        )
    return standings


def still_to_archive(
    ledger: Ledger,
    standings: dict[str, Standing],
    roster: Roster,
    languages: dict,
    archive: Archive,
    report: FinalizeReport,
) -> list[Party]:
    """Return who has minutes confirmed and not yet archived; those archived go to ``report``."""
    todo = []
    for employee_id in sorted(s.employee_id for s in standings.values() if s.confirmed):
        standing = standings[employee_id]
        party = party_of(employee_id, roster, languages, standing.names)
        shas = {
            row["stored_path"]: row["sha256"] for row in ledger.accepted_evidence_of(employee_id)
        }
        found = shas.get(standing.final_path)
        entry = found and archive.entry_for(employee_id, MINUTES, found)
        if entry:
            path = archive.folder / entry.path
            report.skipped_already_archived.append(
                Archived(employee_id, party.name, path, entry.version)
            )
        else:
            todo.append(party)
    return todo


def plan_item(
    ledger: Ledger, party: Party, chosen: dict, corrections: dict, lists: ListValues
) -> PlanItem:
    """Return what one employee's job is built from, read from the ledger now."""
    employee_id = party.employee_id
    versions = ledger.accepted_versions_of(employee_id)
    final = minutes_state(employee_id, [v for v in versions if v.kind == MINUTES]).final
    mine = {key: path for key, path in chosen.items() if key[0] == employee_id}
    record = record_of(versions, mine, corrections.get(employee_id, {}), lists)
    evidence = {
        row["stored_path"]: Evidence(**row) for row in ledger.accepted_evidence_of(employee_id)
    }
    form = ledger.form(employee_id, MINUTES)
    prompts = placeholders(form.fields) if form else None
    return PlanItem(party, final, record, evidence, prompts)


def party_of(employee_id: str, roster: Roster, languages: dict, answers: dict) -> Party:
    """Return the employee as the roster has them; one who left is named from the minutes."""
    employee = roster.by_id.get(employee_id)
    if employee is None:
        return Party(
            employee_id,
            str(answers.get("employee_name") or employee_id),
            languages.get(employee_id, "nb"),
            "",
            str(answers.get("manager_name") or ""),
        )
    manager = roster.manager_of(employee)
    manager_name = manager.name if manager else str(answers.get("manager_name") or "")
    return Party(employee_id, employee.name, employee.language, employee.department, manager_name)


def not_confirmed(
    roster: Roster, standings: dict[str, Standing], languages: dict
) -> list[NotConfirmed]:
    """Return the minutes (sent or returned) not confirmed by both, with what is missing."""
    order = {employee.id: n for n, employee in enumerate(roster.employees)}
    ids = sorted(set(languages) | set(standings), key=lambda i: (order.get(i, len(order)), i))
    listed = []
    for employee_id in ids:
        standing = standings.get(employee_id)
        if standing is not None and standing.confirmed:
            continue
        names = standing.names if standing else {}
        name = party_of(employee_id, roster, languages, names).name
        missing = standing.missing if standing else ("the returned minutes: none collected yet",)
        listed.append(NotConfirmed(employee_id, name, tuple(missing)))
    return listed


# --- building the final document -----------------------------------------------------------------


def plan_job(
    party: Party,
    final: ReturnedVersion,
    record: dict[tuple[str, str], FormAnswers],
    evidence: dict[str, Evidence],
    sealing: Sealing,
    cycle_dir: Path,
    workdir: Path,
    prompts: tuple[str, ...] | None = None,
) -> MinutesJob:
    """Return the job for one employee after writing the final .docx to ``workdir``."""
    preps = [record.get((party.employee_id, kind)) for kind in PREP_KINDS]
    versions = [form.version for form in preps if form is not None and form.version]
    documents = tuple(read_returned(v, evidence, cycle_dir) for v in [*versions, final])
    final_returned = documents[-1]
    token = identity_token(final_returned.data)
    names = [attachment_name(r.version.kind, party, sealing.cycle) for r in documents]
    page = signature_page(party, final_returned, token, sealing, names)
    stem = job_stem(party.employee_id)
    document = final_docx(final_returned.data, page, prompts)
    docx = write_private(workdir / f"{stem}.docx", document, durable=False)  # a work file
    answers = recorded_answers(record, party.employee_id, [r.version for r in documents])
    calendar = followups_calendar(party, sealing.cycle, final)
    return MinutesJob(
        party, final_returned, documents, token, docx, workdir / f"{stem}.pdf", answers, calendar
    )


def recorded_answers(record: dict, employee_id: str, versions: list) -> dict[str, dict]:
    """Return each form's answers as the record holds them, HR's corrections marked."""
    # The returned documents stay attached exactly as they came; this is what the cycle's one
    # record says: their answers with HR's corrections, ``_hr_corrections`` naming each
    # corrected key and the value that came back.
    answers = {}
    for version in versions:
        form = record.get((employee_id, version.kind))
        corrected = sorted(form.corrected) if form else []
        answers[version.kind] = {**version.answers, **{k: form.answers[k] for k in corrected}}
        if corrected:
            answers[version.kind][HR_CORRECTIONS] = {
                key: {"returned": version.answers.get(key)} for key in corrected
            }
    return answers


def job_stem(employee_id: str) -> str:
    """Return the working-copy file stem of one employee; ids alike as file names differ here."""
    digest = hashlib.sha256(employee_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe_stem(employee_id, 40)}_{digest}"


def read_returned(version: ReturnedVersion, evidence: dict, cycle_dir: Path) -> Returned:
    """Return a returned document's stored copy, checked against the SHA-256 in the ledger."""
    found = evidence.get(version.stored_path)
    if found is None:
        raise MinutesError(
            f"{version.stored_path}: the ledger has no record of this returned file; "
            "run collect again"
        )
    path = cycle_dir / version.stored_path
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise MinutesError(
            f"{path}: the stored copy of the returned {version.kind} form is gone; put "
            f"{found.source} back in the returned folder and run collect again"
        ) from exc
    if hashlib.sha256(data).hexdigest() != found.sha256:
        raise MinutesError(
            f"{path}: the stored copy of the returned {version.kind} form was changed after "
            f"collect (SHA-256 differs from the ledger's); restore it from {found.source}"
        )
    return Returned(version, found, data)


def identity_token(docx: bytes) -> str:
    """Return the form identity (custom property ``samtale.identity``) of a .docx, or ''."""
    package = read_package(docx, wanted=(CUSTOM_PART,))
    return read_custom_properties(package.part(CUSTOM_PART)).get(PROPERTY, "")


INSTRUCTIONS_STYLE = "FormBoxHeading"  # a box starting with this style is left out of the archive


def placeholders(fields_json: str) -> tuple[str, ...]:
    """Return the prompts of a sent form's fields (what a field shows until it is filled)."""
    return tuple(q.placeholder for q in questions_from_json(fields_json) if q.placeholder)


def final_docx(
    data: bytes, page: list[tuple[str, str]], prompts: tuple[str, ...] | None = None
) -> bytes:
    """Return the minutes to archive: no form fields, no links out, the signature page last."""
    # With ``prompts`` (the sent form's), a field's content decides whether it was filled, so a
    # pasted answer LibreOffice saved with the placeholder flag still set is kept.
    package = read_package(data)
    document = package.part(DOCUMENT_PART)
    if document is None:
        raise MinutesError(f"the returned minutes have no {DOCUMENT_PART}; it is not a Word file")
    changed = without_outside_links(package.parts)
    final = final_document(
        changed.get(DOCUMENT_PART, document), prompts or None, INSTRUCTIONS_STYLE, page
    )
    changed[DOCUMENT_PART] = final.xml
    for name in header_footer_parts(package.names):
        part = changed.get(name, package.part(name))
        if part is not None and b"sdt" in part:
            changed[name] = flatten_controls(part)
    styles = without_unused_styles({**package.parts, **changed}, {DOCUMENT_PART: final.style_names})
    if styles is not None:  # LibreOffice converts the smaller package a fifth faster
        changed[STYLES_PART] = styles
    return with_parts(data, changed)


def signature_page(
    party: Party,
    final: Returned,
    token: str,
    sealing: Sealing,
    attachment_names: list[str],
) -> list[tuple[str, str]]:
    """Return the signature page as (style id, text) paragraphs in the employee's language."""
    words = WORDS.get(party.language, WORDS["nb"])
    answers = final.version.answers
    evidence = final.evidence
    lines = [
        (HEADING_STYLE, words["heading"]),
        ("", words["intro"].format(cycle=sealing.cycle, organisation=sealing.organisation)),
        ("", words["employee"].format(name=party.name, id=party.employee_id)),
    ]
    if party.department:
        lines.append(("", words["department"].format(department=party.department)))
    if party.manager_name:
        lines.append(("", words["manager"].format(name=party.manager_name)))
    for role in ("manager", "employee"):
        lines.append(
            (
                "",
                words[f"{role}_confirmed"].format(
                    yes=words["yes"] if answers.get(f"{role}_confirmed") else words["no"],
                    name=str(answers.get(f"{role}_name") or words["no_name"]),
                    date=show_date(answers.get(f"{role}_date"), party.language),
                ),
            )
        )
    lines += [
        ("", words["file"].format(source=evidence.source)),
        ("", words["sha256"].format(sha256=evidence.sha256)),
        ("", arrival(evidence, words)),
        ("", words["collected"].format(time=show_time(evidence.collected_at, words))),
        ("", words["identity"].format(token=token or words["no_identity"])),
        ("", words["attachments"].format(names=", ".join([*attachment_names, ANSWERS_NAME]))),
        ("", words["made"].format(time=show_time(now_iso(), words))),
    ]
    return lines


def arrival(evidence: Evidence, words: dict) -> str:
    """Return how the returned file arrived: by email (sender, date) or as a file (its time)."""
    if evidence.sender:
        return words["by_email"].format(
            sender=evidence.sender, time=show_time(evidence.sent_at, words)
        )
    return words["by_file"].format(time=show_time(evidence.file_time, words))


def show_date(value, language: str) -> str:
    """Return an answer's ISO date as the language writes it (nb: dd.mm.yyyy)."""
    text = str(value or "").strip()
    if not text:
        return WORDS.get(language, WORDS["nb"])["no_date"]
    if ISO_DATE.match(text) and language != "en":
        return f"{text[8:10]}.{text[5:7]}.{text[:4]}"
    return text[:10] if ISO_DATE.match(text) else text


def show_time(value: str, words: dict) -> str:
    """Return an ISO 8601 time in UTC as the language writes it ('–' when unknown)."""
    if not value:
        return "–"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(words["time"])


def attachment_name(kind: str, party: Party, cycle: int) -> str:
    """Return the file name a returned document gets inside the PDF."""
    label = WORDS.get(party.language, WORDS["nb"])["attach"][kind][0]
    return f"{label}_{cycle}_{safe_stem(party.employee_id, 20)}_{safe_stem(party.name, 60)}.docx"


# --- converting, sealing, archiving --------------------------------------------------------------


def open_seal(
    workspace: Workspace,
    cycle: int,
    certificate: Path | None,
    password: str | Callable[[], str],
    report: FinalizeReport,
) -> Sealing:
    """Return the run's seal, after writing its public certificate for ``verify`` if missing."""
    p12 = seal_certificate_path(workspace, certificate)
    if p12 is None:
        raise SealError(f"no seal certificate is configured; {MISSING_CERT_FIX}")
    if not Path(p12).is_file():
        raise SealError(f"{p12}: seal certificate not found; {MISSING_CERT_FIX}")
    seal = load_seal(p12, password() if callable(password) else password)
    report.public_certificate = write_public_certificate(seal, p12)
    report.certificate_sha256 = seal.certificate_sha256
    config = workspace.config()
    return Sealing(seal, cycle, config.organisation, config.seal_subject)


def seal_all(
    items: Iterable[PlanItem],
    total: int,
    settings: JobSettings,
    archive: Archive,
    report: FinalizeReport,
    pool: ConverterPool | None,
    workers: int | None,
    progress: Progress | None,
) -> None:
    """Build, render, seal and archive every item; outcomes go to ``report``."""
    # Worker processes build and seal, warm LibreOffice converters render, and threads here
    # carry each job from one to the other, so every core has work while a job waits. The
    # processes are forked before LibreOffice starts, so they hold none of its pipes.
    count = max(1, min(workers or os.cpu_count() or 1, total))
    with contextlib.ExitStack() as stack:
        cpu = stack.enter_context(
            WorkerPool(settings, workers=count if total >= PARALLEL_THRESHOLD else 1)
        )
        converter = pool or stack.enter_context(ConverterPool(workers=count))
        pipeline = Pipeline(cpu, converter, settings, archive, report, total, progress)
        pipeline.run(items, converter.workers * JOBS_PER_CONVERTER)


class Pipeline:
    """Threads that take each job through building, rendering, sealing and archiving."""

    def __init__(self, cpu, converter, settings, archive, report, total, progress):
        self.cpu, self.converter, self.settings = cpu, converter, settings
        self.archive, self.report = archive, report
        self.total, self.progress, self.done = total, progress, 0
        self.lock = threading.Lock()  # the report, the progress and the archive
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def run(self, items: Iterable[PlanItem], threads: int) -> None:
        """Hand every item to the threads (at most ``threads`` waiting), then wait for them."""
        waiting: queue.Queue = queue.Queue(maxsize=threads)
        runners = [
            threading.Thread(target=self.drain, args=(waiting,), daemon=True)
            for _ in range(threads)
        ]
        for runner in runners:
            runner.start()
        try:
            for item in items:  # read from the ledger here, in this thread, when a place frees
                self.hand_over(waiting, item)
            for _ in runners:
                self.hand_over(waiting, None)
            for runner in runners:
                while runner.is_alive():
                    runner.join(timeout=0.5)
        except BaseException:
            self.stop.set()  # Ctrl-C: no new job starts; LibreOffice stops with its pool
            raise
        if self.errors:
            raise self.errors[0]

    def hand_over(self, waiting: queue.Queue, item: PlanItem | None) -> None:
        """Put one item (None: no more) in the queue once a thread has room for it."""
        while not self.stop.is_set():
            with contextlib.suppress(queue.Full):
                waiting.put(item, timeout=0.5)
                return
        if self.errors:
            raise self.errors[0]

    def drain(self, waiting: queue.Queue) -> None:
        """Take items from the queue and finish each, until told there are no more."""
        while not self.stop.is_set():
            item = waiting.get()
            if item is None:
                return
            try:
                outcome = self.finish(item)
            except BaseException as exc:  # a bug, not a bad document: stop and raise it
                self.errors.append(exc)
                self.stop.set()
                return
            self.note(item.party, outcome)

    def finish(self, item: PlanItem) -> tuple[Archived, bool] | Failed | None:
        """Return the archived minutes of one item (and whether new), or why it failed."""
        party = item.party
        try:
            job = self.cpu.call(build_job, item)
            if isinstance(job, Refused):
                return Failed(party.employee_id, party.name, job.reason)
            self.converter.convert(job.docx, job.pdf, pdfa=True)
            sealed = self.cpu.call(seal_built, job)
            if isinstance(sealed, Refused):
                return Failed(party.employee_id, party.name, sealed.reason)
            with self.lock:
                if self.stop.is_set():
                    return None
                return archive_job(job, sealed, self.archive, self.settings.sealing)
        except (SamtaleError, OSError, ValueError) as exc:
            return Failed(party.employee_id, party.name, message_of(exc))

    def note(self, party: Party, outcome: tuple[Archived, bool] | Failed | None) -> None:
        """Note one finished item in the report and tell the progress callback."""
        if outcome is None:
            return
        with self.lock:
            if isinstance(outcome, Failed):
                self.report.failed.append(outcome)
            else:
                archived, new = outcome
                (self.report.archived if new else self.report.skipped_already_archived).append(
                    archived
                )
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total)


def build_job(settings: JobSettings, item: PlanItem) -> MinutesJob | Refused:
    """Return the job of one item, its final .docx written (in a worker process)."""
    try:
        return plan_job(
            item.party,
            item.final,
            item.record,
            item.evidence,
            settings.sealing,
            settings.cycle_dir,
            settings.workdir,
            item.prompts,
        )
    except (SamtaleError, OSError, ValueError, zipfile.BadZipFile) as exc:
        return Refused(message_of(exc))


def seal_built(settings: JobSettings, job: MinutesJob) -> bytes | Refused:
    """Return the job's rendered PDF sealed, its work files removed (in a worker process)."""
    try:
        return seal_job(job, settings.sealing)
    except (SamtaleError, OSError, ValueError) as exc:
        return Refused(message_of(exc))
    finally:
        job.docx.unlink(missing_ok=True)
        job.pdf.unlink(missing_ok=True)


def seal_job(job: MinutesJob, sealing: Sealing) -> bytes:
    """Return the job's PDF with attachments and metadata, sealed, in one update."""
    party, cycle, organisation = job.party, sealing.cycle, sealing.organisation
    words = WORDS.get(party.language, WORDS["nb"])
    info = PdfInfo(
        title=words["title"].format(cycle=cycle, name=party.name),
        author=organisation,
        subject=sealing.subject or words["subject"].format(cycle=cycle),
        keywords=[
            k for k in ("medarbeidersamtale", str(cycle), party.employee_id, party.department) if k
        ],
    )
    return seal_minutes(
        job.pdf.read_bytes(),
        info,
        attachments(job, cycle),
        sealing.seal,
        reason=words["reason"].format(cycle=cycle),
        location=organisation,
    )


def attachments(job: MinutesJob, cycle: int) -> list[Attachment]:
    """Return the returned documents (original bytes) and the answers as JSON attachments."""
    words = WORDS.get(job.party.language, WORDS["nb"])
    found = [
        Attachment(
            attachment_name(r.version.kind, job.party, cycle),
            r.data,
            f"{words['attach'][r.version.kind][1]} ({r.evidence.source}, SHA-256 "
            f"{r.evidence.sha256})",
            DOCX_MIME,
        )
        for r in job.documents
    ]
    data = json.dumps(job.answers, ensure_ascii=False, indent=2).encode("utf-8")
    found.append(Attachment(ANSWERS_NAME, data, words["answers"], "application/json"))
    return found


def archive_job(
    job: MinutesJob, sealed: bytes, archive: Archive, sealing: Sealing
) -> tuple[Archived, bool]:
    """Return the archived minutes, and False when another run archived them meanwhile."""
    party, cycle = job.party, sealing.cycle
    source = job.final.evidence.sha256
    calendar = job.calendar
    with archive.lock():
        done = archive.entry_for(party.employee_id, MINUTES, source)
        if done is not None:
            path = archive.folder / done.path
            return Archived(party.employee_id, party.name, path, done.version), False
        folder = archive.employee_folder(party.employee_id, party.name)
        version = archive.next_version(party.employee_id, folder)
        entry = archive.add(
            f"{folder}/{archived_name(MINUTES, cycle, version)}",
            sealed,
            employee_id=party.employee_id,
            kind=MINUTES,
            version=version,
            source_sha256=source,
            certificate_sha256=sealing.seal.certificate_sha256,
            sealed_at=now_iso(),
        )
        followups = None
        if calendar is not None and calendar_changed(archive, party.employee_id, calendar):
            added = archive.add(
                f"{folder}/{archived_name(FOLLOWUPS, cycle, version)}",
                calendar,
                employee_id=party.employee_id,
                kind=FOLLOWUPS,
                version=version,
                source_sha256=source,
            )
            followups = archive.folder / added.path
    path = archive.folder / entry.path
    return Archived(party.employee_id, party.name, path, version, followups), True


# --- the follow-ups as a calendar ---------------------------------------------------------------


def followups_calendar(party: Party, cycle: int, final: ReturnedVersion) -> bytes | None:
    """Return the agreed follow-ups and goals as iCalendar, or None when none were agreed."""
    # Items with a date become all-day events on that date; items without one become to-dos.
    # UIDs stay the same from one version to the next, so importing a newer file updates them.
    words = WORDS.get(party.language, WORDS["nb"])
    items = agreed_items(final.answers, words)
    if not items:
        return None
    agreed = words["agreed"].format(cycle=cycle, name=party.name, manager=party.manager_name or "–")
    uid = f"samtale-{cycle}-{quote(party.employee_id, safe='')}"
    return agreed_calendar(
        words["calendar"].format(cycle=cycle, name=party.name),
        [
            AgreedItem(f"{uid}-{key}", summary, "\n".join([*details, agreed]), when)
            for key, summary, details, when in items
        ],
        stamp_of(final.returned_at, cycle),
    )


def agreed_items(answers: dict, words: dict) -> list[tuple[str, str, list[str], dt.date | None]]:
    """Return (key, summary, detail lines, date or None) for each agreed follow-up and goal."""
    items = []
    for number in numbers(answers, FOLLOWUP_KEY):
        what = text_of(answers.get(f"followup_{number}_what"))
        if not what:
            continue
        who = text_of(answers.get(f"followup_{number}_who"))
        when, when_text = date_of(answers.get(f"followup_{number}_when"))
        details = [words["responsible"].format(who=who)] if who else []
        if when_text:
            details.append(words["when"].format(when=when_text))
        items.append((f"followup-{number}", words["followup"].format(what=what), details, when))
    for number in numbers(answers, GOAL_KEY):
        goal = text_of(answers.get(f"goal_{number}"))
        if not goal:
            continue
        measure = text_of(answers.get(f"goal_{number}_measure"))
        when, when_text = date_of(answers.get(f"goal_{number}_deadline"))
        details = [words["measure"].format(measure=measure)] if measure else []
        if when_text:
            details.append(words["when"].format(when=when_text))
        items.append((f"goal-{number}", words["goal"].format(goal=goal), details, when))
    return items


def numbers(answers: dict, pattern: re.Pattern) -> list[int]:
    """Return the numbers n of the answer keys matching ``pattern``, ascending."""
    return sorted(int(match[1]) for key in answers if (match := pattern.match(key)))


def text_of(value) -> str:
    """Return an answer as trimmed text ('' for empty)."""
    return "" if value is None or isinstance(value, bool) else str(value).strip()


def date_of(value) -> tuple[dt.date | None, str]:
    """Return (the date, '') for an ISO date answer, or (None, the text) for anything else."""
    text = text_of(value)
    if ISO_DATE.match(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text[:10]), ""
    return None, text


def stamp_of(returned_at: str, cycle: int) -> dt.datetime:
    """Return the calendar's DTSTAMP: when the final minutes came back (stable across runs)."""
    try:
        moment = dt.datetime.fromisoformat(returned_at)
    except ValueError:
        return dt.datetime(cycle, 1, 1, tzinfo=dt.UTC)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def calendar_changed(archive: Archive, employee_id: str, calendar: bytes) -> bool:
    """Return True unless the employee's newest archived follow-ups say the same."""
    latest = archive.latest(employee_id, FOLLOWUPS)
    if latest is None:
        return True
    try:
        old = archive.resolve(latest.path).read_bytes()
    except OSError:
        return True
    return without_stamps(old) != without_stamps(calendar)


def without_stamps(calendar: bytes) -> list[bytes]:
    """Return the calendar's lines without DTSTAMP (when it was made is not what it says)."""
    return [line for line in calendar.splitlines() if not line.startswith(b"DTSTAMP")]
