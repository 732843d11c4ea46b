"""Personal data over its whole life: which file is whose, and how a deletion is carried out.

``retention``, ``access`` and ``erase`` share these rules:

* a cycle's *working files* are everything under ``output/<cycle>/``; each one belongs to the
  person the ledger says it is about (their forms, the files they returned, the emails they got),
  or to nobody in particular (the answers workbook, the ledger);
* an email that carried several people's forms is *shared*: one person gets only their part
  (access), or loses only their part (erasure);
* a deletion is a batch (``pipeline.state.deletions``): journal, log, then steps that can each
  run again, so a run killed half-way is finished by the next one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import os
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.kinds import FormKind
from pipeline.domain.names import safe_stem
from pipeline.errors import WorkspaceError
from pipeline.formats import email_parts
from pipeline.formats.answers import lock_files, remove_rows_about, rows_about
from pipeline.formats.roster import Roster
from pipeline.state.archive import Archive
from pipeline.state.deletions import (
    JOURNAL_DIR,
    Batch,
    DeletionLog,
    finish_journal,
    pending_batches,
    write_journal,
)
from pipeline.state.files import ensure_private_dir, write_private
from pipeline.state.ledger import INVITE_KINDS, Ledger
from pipeline.state.workspace import Workspace

LEDGER_NAME = "ledger.sqlite"
ANSWERS_NAME = "answers.xlsx"
# File kinds, as the deletion log and the access index name them.
FORM, OUTBOX, RETURNED, EMAIL, QUARANTINE = "form", "outbox", "returned", "email", "quarantine"
ANSWERS, LEDGER, OTHER = "answers", "ledger", "other"
FOLDER_KINDS = (  # cycle-relative folder prefix -> kind (first match wins)
    ("forms/", FORM),
    ("outbox/", OUTBOX),
    ("returned/emails/", EMAIL),
    ("returned/", RETURNED),
    ("quarantine/", QUARANTINE),
)
REASON_SUFFIX = ".reason.txt"  # the note beside a quarantined file
ACCESS_FOLDER = "access"  # output/access/: the bundles made for access requests


@dataclass(frozen=True)
class HeldFile:
    """One file samtale holds in a cycle's folder, and whom it is about."""

    cycle: int
    kind: str
    employee_id: str  # "" when it is about many people or nobody known
    relative: str  # relative to output/<cycle>/, with "/" separators
    path: Path
    sha256: str
    size: int
    changed_at: dt.datetime  # the file's modification time (UTC)


@dataclass(frozen=True)
class SharedEmail:
    """An email that concerns this person and others: only the person's part may go along."""

    file: HeldFile
    keep_sha256: frozenset[str]  # the attachments about this person, by SHA-256 …
    keep_names: frozenset[str]  # … or by file name (drafts carry the forms as generated)
    other_names: frozenset[str]  # texts naming the others (names, their forms' file names)
    text: bool  # its text may go along (our own drafts, lines naming others left out)
    to_them: bool  # addressed to this person (a manager's email about their reports)

    def keeps(self, attachment: email_parts.MailAttachment) -> bool:
        """Return True for an attachment about this person."""
        return attachment.sha256 in self.keep_sha256 or attachment.filename in self.keep_names


@dataclass
class PersonCycle:
    """What one cycle's working files hold about one person."""

    cycle: int
    cycle_dir: Path
    own: list[HeldFile] = field(default_factory=list)  # wholly about them
    shared: list[SharedEmail] = field(default_factory=list)
    unclear: list[HeldFile] = field(default_factory=list)  # files they sent, about whom unknown
    names: set[str] = field(default_factory=set)  # texts naming them (for erasure)
    forms: list[dict] = field(default_factory=list)  # their ledger rows, for the access index
    returned: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    meetings: list[dict] = field(default_factory=list)  # their talks and follow-ups booked
    workbook_rows: int = 0
    ledger_rows: int = 0
    deleted_sha256: set[str] = field(default_factory=set)  # returned files going with `own`


# --- the cycles and their files -----------------------------------------------------------------


def held_cycles(workspace: Workspace) -> list[int]:
    """Return the cycles whose working files are there (``output/<year>/``), oldest first."""
    root = workspace.output_dir
    if not root.is_dir():
        return []
    return sorted(
        int(p.name) for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name)
    )


def kind_of(relative: str) -> str:
    """Return the kind of a working file from its place in the cycle's folder."""
    if relative == ANSWERS_NAME:
        return ANSWERS
    if relative.startswith(LEDGER_NAME):
        return LEDGER
    for prefix, kind in FOLDER_KINDS:
        if relative.startswith(prefix):
            return kind
    return OTHER


def working_files(workspace: Workspace, cycle: int) -> list[HeldFile]:
    """Return every file of the cycle's folder with its kind and person, in path order."""
    folder = workspace.output_dir / str(cycle)
    owners = file_owners(folder)
    return [held_file(cycle, folder, path, owners) for path in files_under(folder)]


def files_under(folder: Path) -> list[Path]:
    """Return every file below ``folder`` (not following links), in path order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def held_file(cycle: int, folder: Path, path: Path, owners: dict[str, str]) -> HeldFile:
    """Return one file of a cycle's folder, hashed."""
    relative = path.relative_to(folder).as_posix()
    stat = path.lstat()
    return HeldFile(
        cycle,
        kind_of(relative),
        owner_of(relative, owners),
        relative,
        path,
        sha256_of(path),
        stat.st_size,
        dt.datetime.fromtimestamp(int(stat.st_mtime), dt.UTC),  # whole seconds, like the ledger
    )


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of a file's bytes ('' for a link, which is never followed)."""
    if path.is_symlink():
        return ""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_owners(cycle_dir: Path) -> dict[str, str]:
    """Return whom each cycle-relative path is about, as the cycle's ledger records it."""
    path = cycle_dir / LEDGER_NAME
    if not path.exists():
        return {}
    owners: dict[str, str] = {}
    with Ledger(path) as ledger:
        for form in ledger.forms(brief=True):
            owners[form.path] = form.employee_id
        for row in ledger.returned_files():
            owner = row["employee_id"] or row["sender_id"] or ""
            owners[row["stored_path"]] = owner
            owners[row["stored_path"] + REASON_SUFFIX] = owner
        for row in ledger.all_emails():
            if row["status"] == "drafted" and row["detail"]:
                about = row["about"]  # an invite to the manager about one employee is theirs
                invite = row["kind"] in INVITE_KINDS and len(about) == 1
                owners[row["detail"]] = about[0] if invite else row["recipient_id"]
    return owners


def owner_of(relative: str, owners: dict[str, str]) -> str:
    """Return whom a file is about: the ledger's word, else a replaced form's original's."""
    if relative in owners:
        return owners[relative]
    if relative.startswith("forms/replaced/"):
        original = replaced_original(relative)
        return owners.get(original, "")
    return ""


def replaced_original(relative: str) -> str:
    """Return the form a copy in ``forms/replaced/`` was made of (name.<time>.docx → name.docx)."""
    name = relative.rsplit("/", 1)[-1]
    stem, _, suffix = name.rpartition(".")
    original = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"forms/{original}.{suffix}"


# --- one person in one cycle --------------------------------------------------------------------


def person_cycle(
    workspace: Workspace, cycle: int, employee_id: str, roster: Roster | None
) -> PersonCycle | None:
    """Return what the cycle's working files hold about one person (None: no working files)."""
    folder = workspace.output_dir / str(cycle)
    if not (folder / LEDGER_NAME).exists():
        return None
    found = PersonCycle(cycle, folder)
    files = {f.relative: f for f in working_files(workspace, cycle)}
    with Ledger(folder / LEDGER_NAME) as ledger:
        forms = ledger.forms(brief=True)
        returned = ledger.returned_files()
        emails = ledger.all_emails()
        view = _CycleView(employee_id, roster, forms, returned, emails)
        found.names = view.their_names()
        _add_forms(found, view, files)
        _add_returned(found, view, files)
        _add_drafts(found, view, files)
        found.meetings = [
            meeting_about_them(m) for m in ledger.meetings() if m.employee_id == employee_id
        ]
        unclear = {held.sha256 for held in found.unclear}
        found.ledger_rows = ledger.rows_about(employee_id, found.deleted_sha256 | unclear)
    if (folder / ANSWERS_NAME).exists():
        found.workbook_rows = len(rows_about(folder / ANSWERS_NAME, employee_id))
    return found


# A talk's conflict note may name someone else whose talk overlaps it (schedule.py): left out.
MEETING_FIELDS_SHOWN = (
    "uid", "kind", "employee_id", "manager_id", "start", "end", "location", "status",
    "sequence", "invited_sequence", "updated_at",
)  # fmt: skip


def meeting_about_them(meeting) -> dict:
    """Return a talk or follow-up as an access request shows it: when, where, what went out."""
    return {name: getattr(meeting, name) for name in MEETING_FIELDS_SHOWN}


class _CycleView:
    """The ledger rows of one cycle seen from one person: whose is what, who is who."""

    def __init__(self, employee_id: str, roster: Roster | None, forms, returned, emails):
        self.me, self.roster = employee_id, roster
        self.forms, self.returned, self.emails = forms, returned, emails
        self.form_owner = {f.path: f.employee_id for f in forms}
        person = roster.by_id.get(employee_id) if roster else None
        self.addresses = {
            e["recipient"].lower() for e in emails if e["recipient_id"] == employee_id
        }
        if person and person.email:
            self.addresses.add(person.email.strip().lower())
        self.manager = bool(roster and roster.direct_reports(employee_id)) or any(
            e["recipient_id"] == employee_id and self.about(e["attachments"]) - {employee_id}
            for e in emails
        )

    def about(self, form_paths: Iterable[str]) -> set[str]:
        """Return the ids of the people the given forms are about."""
        return {self.form_owner.get(p) or self.owner_by_name(p) for p in form_paths} - {""}

    def owner_by_name(self, form_path: str) -> str:
        """Return the id a form's file name starts with (forms are named ``<id>_<name>_…``)."""
        name = Path(form_path).name
        ids = {f.employee_id for f in self.forms}
        if self.roster:
            ids |= set(self.roster.by_id)
        return next((i for i in sorted(ids) if name.startswith(safe_stem(i, 20) + "_")), "")

    def names_of(self, employee_id: str) -> set[str]:
        """Return the texts that name a person: their name and the file names of their forms."""
        files = {Path(f.path).name for f in self.forms if f.employee_id == employee_id}
        names = files | {n for n in (name_in_form_file(f, employee_id) for f in files) if n}
        person = self.roster.by_id.get(employee_id) if self.roster else None
        if person:
            names.add(person.name)
        return names

    def their_names(self) -> set[str]:
        """Return the texts that name this person (their name from the minutes, too)."""
        names = self.names_of(self.me)
        for row in self.returned:
            if row["employee_id"] == self.me and row["kind"] == FormKind.MINUTES:
                answers = json_object(row["answers"])
                if str(answers.get("employee_name") or "").strip():
                    names.add(str(answers["employee_name"]).strip())
        return names

    def sent_by_me(self, sender: str) -> bool:
        """Return True when an email's From address is one of this person's."""
        return email.utils.parseaddr(sender)[1].lower() in self.addresses


def name_in_form_file(file_name: str, employee_id: str) -> str:
    """Return the person's name as a form's file name holds it (``<id>_<name>_<kind>_<year>``)."""
    # The name lost only its spaces (and characters no file name may hold) to underscores, so
    # it names the person even after they left the roster.
    prefix = re.escape(safe_stem(employee_id, 20))
    match = re.fullmatch(rf"{prefix}_(.+)_[a-z]+_\d{{4}}\.docx", file_name)
    return match.group(1).replace("_", " ") if match else ""


def json_object(text: str) -> dict:
    """Return a JSON object stored in the ledger ({} when it is not one)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _add_forms(found: PersonCycle, view: _CycleView, files: dict[str, HeldFile]) -> None:
    """Add the person's generated forms (and replaced copies of them)."""
    mine = {f.path for f in view.forms if f.employee_id == view.me}
    found.forms = [_form_row(f) for f in view.forms if f.employee_id == view.me]
    for relative, held in files.items():
        original = replaced_original(relative) if relative.startswith("forms/replaced/") else ""
        if relative in mine or original in mine:
            found.own.append(held)


def _form_row(form) -> dict:
    """Return a form's ledger row as the access index shows it (no template internals)."""
    return {
        "kind": form.kind,
        "file": Path(form.path).name,
        "language": form.language,
        "status": form.status,
        "generated_at": form.generated_at,
        "handed_out_at": form.handed_out_at or "",
    }


def _add_returned(found: PersonCycle, view: _CycleView, files: dict[str, HeldFile]) -> None:
    """Add the files the person returned (or that are about them) and the emails they came in."""
    me = view.me
    for row in view.returned:
        mine = row["outcome"] == "accepted" and row["employee_id"] == me
        sent = row["outcome"] == "quarantined" and (
            row["sender_id"] == me or (not row["sender_id"] and view.sent_by_me(row["sender"]))
        )
        if not (mine or sent):
            continue
        unclear = sent and view.manager  # a manager's file may be about one of their reports
        found.returned.append(_returned_row(row, redact=unclear))
        held = [files.get(row["stored_path"]), files.get(row["stored_path"] + REASON_SUFFIX)]
        target = found.unclear if unclear else found.own
        target += [h for h in held if h is not None]
        if target is found.own:
            found.deleted_sha256.add(row["sha256"])
    for row in view.returned:
        if row["outcome"] == "email":
            _add_kept_email(found, view, row, files.get(row["stored_path"]))


def _returned_row(row: dict, *, redact: bool = False) -> dict:
    """Return a returned file's ledger row as the access index shows it."""
    # ``redact`` leaves out where it came from and what it held: the file names others chose
    # may name other people, and so may a file whose subject samtale cannot tell.
    keep = ("kind", "outcome", "reason", "sender", "sent_at", "collected_at", "sha256")
    shown = {key: row[key] or "" for key in keep}
    if redact:
        return shown
    return shown | {"source": row["source"], "answers": json_object(row["answers"])}


def _add_kept_email(found: PersonCycle, view: _CycleView, row: dict, held: HeldFile | None) -> None:
    """Add a returned email kept whole: wholly the person's, shared, or not about them."""
    me = view.me
    parts = [r for r in view.returned if r["source"].startswith(row["source"] + " → ")]
    from_me = view.sent_by_me(row["sender"])
    about = {r["employee_id"] for r in parts if r["outcome"] == "accepted"}
    if not (from_me or me in about):
        return

    def is_mine(part: dict) -> bool:
        if part["outcome"] == "accepted":
            return part["employee_id"] == me
        return from_me and not view.manager

    whole = all(is_mine(p) for p in parts)
    found.returned.append(_returned_row(row, redact=not whole))
    if held is None:
        return
    if whole:
        found.own.append(held)
        found.deleted_sha256.add(row["sha256"])
        return
    others = set().union(*(view.names_of(i) for i in about - {me})) if about - {me} else set()
    found.shared.append(
        SharedEmail(
            held,
            frozenset(p["sha256"] for p in parts if is_mine(p)),
            frozenset(),
            frozenset(others),
            text=False,
            to_them=False,
        )
    )


def _add_drafts(found: PersonCycle, view: _CycleView, files: dict[str, HeldFile]) -> None:
    """Add the emails samtale wrote to the person or about them (drafts in the outbox)."""
    me = view.me
    for row in view.emails:
        meeting_about = set(row.get("about") or ())  # a talk or follow-up invite: whose
        about = view.about(row["attachments"]) | meeting_about
        to_me = row["recipient_id"] == me
        if not (to_me or me in about):
            continue
        found.emails.append(_email_row(row, view))
        held = files.get(row["detail"]) if row["status"] == "drafted" else None
        if held is None:
            continue
        invite_about_me = row["kind"] in INVITE_KINDS and meeting_about == {me}
        if (to_me or invite_about_me) and about <= {me}:
            found.own.append(held)  # to them, or an invite to their manager about them only
            continue
        mine = {Path(p).name for p in row["attachments"] if view.about([p]) == {me}}
        others = set().union(*(view.names_of(i) for i in about - {me})) if about - {me} else set()
        found.shared.append(
            SharedEmail(held, frozenset(), frozenset(mine), frozenset(others), True, to_me)
        )


def _email_row(row: dict, view: _CycleView) -> dict:
    """Return an email's ledger row as the access index shows it: only this person's forms."""
    mine = [Path(p).name for p in row["attachments"] if view.about([p]) == {view.me}]
    to_me = row["recipient_id"] == view.me
    return {
        "kind": row["kind"],
        "to": row["recipient"] if to_me else "",
        "to_them": to_me,
        "forms": mine,
        "other_forms": len(row["attachments"]) - len(mine),
        "status": row["status"],
        "time": row["updated_at"],
    }


# --- carrying out a deletion --------------------------------------------------------------------


def carry_out(workspace: Workspace, batch: Batch) -> None:
    """Delete what ``batch`` plans: journal first, then the log, then every step."""
    output = workspace.output_dir
    write_journal(output, batch)
    DeletionLog(output).append_batch(batch)
    for step in batch.steps:
        run_step(workspace, step)
    finish_journal(output, batch.id)


def finish_interrupted(workspace: Workspace) -> list[Batch]:
    """Return the batches an interrupted run left, after finishing each of them."""
    output = workspace.output_dir
    batches = pending_batches(output)
    for batch in batches:
        DeletionLog(output).append_batch(batch)
        for step in batch.steps:
            run_step(workspace, step)
        finish_journal(output, batch.id)
    return batches


def moved_folder(batch_id: str, cycle: int) -> str:
    """Return where a cycle's folder is moved before its files are deleted (output-relative)."""
    return f"{JOURNAL_DIR}/{batch_id}-{cycle}"


def run_step(workspace: Workspace, step: dict) -> None:
    """Carry out one step of a deletion; each step may run again after a crash."""
    output = workspace.output_dir
    op = step["op"]
    if op == "move":
        source, target = output / step["from"], output / step["to"]
        if source.exists() and not target.exists():
            ensure_private_dir(target.parent)
            os.rename(source, target)
    elif op == "unlink":
        remove_file(output / step["path"], step["sha256"])
    elif op == "prune":
        prune(output / step["path"])
    elif op == "forget_returned":
        if (output / step["ledger"]).exists():
            with Ledger(output / step["ledger"]) as ledger:
                ledger.forget_returned_file(step["sha256"])
    elif op == "erase_rows":
        if (output / step["ledger"]).exists():
            with Ledger(output / step["ledger"]) as ledger:
                ledger.erase_employee(step["employee_id"], set(step["sha256s"]))
    elif op == "workbook_rows":
        if (output / step["path"]).exists():
            remove_rows_about(output / step["path"], step["employee_id"])
    elif op == "email_without":
        email_without(output / step["path"], step)
    elif op == "archive_forget":
        archive = Archive(output / "archive" / str(step["cycle"]))
        archive.forget(step["files"], rule=step["rule"], deleted_at=step["time"])
    else:
        raise WorkspaceError(f"unknown deletion step {op!r} in {JOURNAL_DIR}/; update samtale")


def remove_file(path: Path, sha256: str) -> None:
    """Delete a planned file, unless it is gone or its bytes are not the planned ones."""
    planned = path.is_file() and (not sha256 or sha256_of(path) == sha256)
    if path.is_symlink() or planned:
        path.unlink()


def prune(folder: Path) -> None:
    """Remove the empty folders below ``folder`` and ``folder`` itself when it is left empty."""
    if not folder.is_dir():
        return
    for child in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child.is_dir() and not child.is_symlink() and not any(child.iterdir()):
            child.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def email_without(path: Path, step: dict) -> None:
    """Rewrite a stored email without one person's attachments and name (no change: no write)."""
    if not path.is_file():
        return
    shas, names = set(step["sha256s"]), set(step["filenames"])
    data = path.read_bytes()
    new, _ = email_parts.without(
        data, lambda a: a.sha256 in shas or a.filename in names, step["texts"]
    )
    if new != data:
        write_private(path, new, overwrite=True)


def access_prefix(employee_id: str) -> str:
    """Return how the names of a person's access bundles begin: ``access_<id>_``."""
    return f"access_{safe_stem(employee_id, 20)}_"


def workbook_open(cycle_dir: Path) -> Path | None:
    """Return the lock file of a cycle's answers workbook open in Excel/LibreOffice, or None."""
    return next((p for p in lock_files(cycle_dir / ANSWERS_NAME) if p.exists()), None)


def utc(text: str) -> dt.datetime | None:
    """Return an ISO 8601 time as an aware UTC datetime, or None when it is empty or unreadable."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Return ``moment`` plus whole calendar months (31 January + 1 month = 28/29 February)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))
