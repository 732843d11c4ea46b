"""Which forms go to whom: the emails that carry forms (prep, minutes, reminders)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.commands.send.emails import (
    FORM_KINDS_BY_EMAIL,
    Attachment,
    PlannedEmail,
    recipient_problem,
)
from pipeline.commands.send.meetings import talk_text
from pipeline.domain.dates import format_date
from pipeline.domain.kinds import FormKind
from pipeline.domain.managers import manager_changes, send_note
from pipeline.formats.email import (
    EmailTemplates,
    first_name,
    message_id,
)
from pipeline.formats.roster import Employee, Roster
from pipeline.state.config import Config
from pipeline.state.ledger import FormRecord, Ledger


@dataclass
class _Group:
    """Forms going to one recipient in one email, before the email is planned."""

    recipient_id: str
    recipient: Employee | None
    for_manager: bool
    forms: list[FormRecord]
    problem: str = ""
    row: dict | None = None  # the ledger row this email repeats (sent, drafted or planned)


@dataclass(frozen=True)
class Context:
    """What every planned email of one run shares."""

    cycle: int
    kind: str
    round: str
    domain: str
    deadline: dt.date
    config: Config
    roster: Roster
    cycle_dir: Path
    texts: EmailTemplates
    talks: dict = field(default_factory=dict)  # employee id -> (start, end) of their talk


def group_forms(
    kind: str, forms: list[FormRecord], roster: Roster, rows: list[dict]
) -> list[_Group]:
    """Return the groups of forms per recipient, plus the emails earlier runs already made."""
    by_path = {form.path: form for form in forms}
    groups: list[_Group] = []
    claimed: set[str] = set()
    if kind != "reminder":  # reminders are matched by Message-ID (one round per day)
        for row in rows:
            if row["status"] in ("planned", "drafted", "sent"):
                paths = json.loads(row["attachments"])
                if row["status"] == "planned":
                    claimed.update(paths)  # resent as it was, with the same Message-ID
                records = [by_path[p] for p in paths if p in by_path]
                rid = row["recipient_id"]
                for_manager = any(r.kind != FormKind.EMPLOYEE for r in records)
                groups.append(_Group(rid, roster.by_id.get(rid), for_manager, records, row=row))
    keyed: dict[tuple[str, bool], _Group] = {}
    for form in forms:
        if form.kind not in FORM_KINDS_BY_EMAIL[kind] or form.path in claimed:
            continue
        if not _eligible(kind, form):
            continue
        orphan = _orphan_problem(form, roster)
        if orphan:
            groups.append(_Group("", None, form.kind != FormKind.EMPLOYEE, [form], problem=orphan))
            continue
        about = roster.by_id[form.employee_id]
        recipient = about if form.kind == FormKind.EMPLOYEE else roster.manager_of(about)
        key = (recipient.id, form.kind != FormKind.EMPLOYEE)
        keyed.setdefault(key, _Group(recipient.id, recipient, key[1], [])).forms.append(form)
    return groups + list(keyed.values())


def _eligible(kind: str, form: FormRecord) -> bool:
    """Return True when ``form`` belongs in a new email of ``kind``."""
    if kind == "reminder":
        return form.handed_out_at is not None and form.status != "returned"
    return form.handed_out_at is None and form.status == "generated"


def _orphan_problem(form: FormRecord, roster: Roster) -> str:
    """Return why nobody in the roster can receive ``form``, or ""."""
    about = roster.by_id.get(form.employee_id)
    if about is None:
        return (
            f"form {form.path} is about employee {form.employee_id}, who is not in the roster; "
            "add them to the roster or generate the forms again"
        )
    if form.kind != FormKind.EMPLOYEE and roster.manager_of(about) is None:
        return (
            f"{about.name} ({about.id}) has no manager in the roster (row {about.row}), so "
            f"nobody can get the {form.kind} form {form.path}; fill in the manager id, or "
            "give the form by hand to whoever holds the review (e.g. the board chair)"
        )
    return ""


def sorted_groups(groups: list[_Group], roster: Roster) -> list[_Group]:
    """Return the groups in roster order of the recipient, own forms before reports' forms."""
    position = {e.id: i for i, e in enumerate(roster.employees)}

    def key(group: _Group) -> tuple:
        first = group.forms[0].path if group.forms else ""
        pos = position.get(group.recipient_id, len(position))
        return (pos, group.recipient_id, group.for_manager, first)

    for group in groups:
        group.forms.sort(key=lambda f: (position.get(f.employee_id, len(position)), f.path))
    return sorted(groups, key=key)


def plan_one(number: int, group: _Group, rows_by_id: dict, ctx: Context) -> PlannedEmail:
    """Return the planned email of one group, rendered unless it went out already."""
    attachments = tuple(_attachment(form, ctx) for form in group.forms)
    if group.row:
        mid = group.row["message_id"]
    elif group.recipient is not None:
        shas = [a.sha256 for a in attachments]
        mid = message_id(ctx.cycle, ctx.kind, group.recipient_id, shas, ctx.domain, ctx.round)
    else:
        mid = ""
    row = group.row or rows_by_id.get(mid)
    email = PlannedEmail(
        number=number,
        kind=ctx.kind,
        recipient_id=group.recipient_id,
        recipient=group.recipient,
        for_manager=group.for_manager,
        attachments=attachments,
        message_id=mid,
        status=row["status"] if row else "new",
        detail=row["detail"] if row else "",
        problem=group.problem,
    )
    if email.status in ("sent", "drafted"):
        return email
    problem = email.problem or _delivery_problem(email, ctx)
    if problem:
        return replace(email, problem=problem)
    subject, body = ctx.texts.render(ctx.kind, email.recipient.language, _text_context(email, ctx))
    return replace(email, subject=subject, body=body)


def _attachment(form: FormRecord, ctx: Context) -> Attachment:
    """Return the attachment of ``form``, hashing the file as it is now."""
    about = ctx.roster.by_id.get(form.employee_id)
    path = ctx.cycle_dir / form.path
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    name = about.name if about else form.employee_id
    return Attachment(form.employee_id, name, form.kind, form.path, sha)


def _delivery_problem(email: PlannedEmail, ctx: Context) -> str:
    """Return what stops this email (no recipient, no or bad address, missing form), or ""."""
    problem = recipient_problem(email)
    if problem:
        return problem
    missing = [a.path for a in email.attachments if not a.sha256]
    if missing:
        return f"form file(s) missing in {ctx.cycle_dir}: {', '.join(missing)}; generate again"
    if not email.attachments:
        return "no forms to attach"
    return ""


def _text_context(email: PlannedEmail, ctx: Context) -> dict:
    """Return the variables the email templates may use."""
    person = email.recipient
    manager = None if email.for_manager else ctx.roster.manager_of(person)
    mail = ctx.config.mail
    return_address = mail.reply_to or mail.sender_address
    return {
        "recipient": {
            "id": person.id,
            "name": person.name,
            "first_name": first_name(person.name),
            "email": email.address,
        },
        "manager_name": manager.name if manager else "",
        "for_manager": email.for_manager,
        "forms": [
            {
                "employee": a.employee_name,
                "file": a.filename,
                "talk": talk_text(*ctx.talks[a.employee_id], person.language)
                if a.employee_id in ctx.talks
                else "",
            }
            for a in email.attachments
        ],
        "deadline": format_date(ctx.deadline, person.language),
        "cycle": ctx.cycle,
        "organisation": ctx.config.organisation,
        "hr_contact": mail.hr_contact or return_address,
        "sender_name": mail.sender_name,
        "return_address": return_address,
    }


def manager_notes(workspace, cycle, roster, kind: str, emails: list[PlannedEmail]) -> list[str]:
    """Return a note per form going to the manager named now, not the one it was made for."""
    about = {
        a.employee_id for e in emails for a in e.attachments if a.form_kind != FormKind.EMPLOYEE
    }
    if kind not in ("prep", "minutes") or not about:
        return []
    with Ledger.of_cycle(workspace, cycle) as ledger:
        forms = ledger.forms(brief=True)
    kinds = (FormKind.MANAGER, FormKind.MINUTES) if kind == "minutes" else (FormKind.MANAGER,)
    changes = manager_changes(forms, roster, kinds)
    return [send_note(change, roster, kind) for change in changes if change.employee.id in about]
