"""``samtale send``: plan who gets which forms, then write drafts to the outbox or send by SMTP.

Which forms go to whom:

* ``prep``: each employee gets their own ``employee`` form; each manager gets the ``manager``
  forms of all their direct reports in ONE email (a manager's own employee form comes separately).
* ``minutes``: each manager gets the ``minutes`` forms of all their direct reports in one email.
* ``reminder``: everyone whose own forms (employee form, or the manager forms of their reports)
  were handed out but are not back yet gets a friendly second email with the forms again (with
  the time of the talk, once ``samtale schedule`` has given it one).
* ``invite``: every scheduled talk as a meeting request (``METHOD:REQUEST``), one email to the
  employee (an attendee asked to reply) and one to the manager (the organizer, HR sending on
  their behalf); a talk moved since its invitation again with the same UID and the next SEQUENCE;
  a cancelled talk that had been invited as ``METHOD:CANCEL``.
* ``followups``: each follow-up agreed in minutes confirmed by both, as an all-day meeting
  request (shown as free) on its date, to the manager and, when "who" names them, the employee.
  A changed follow-up goes out again as an update, one removed from newer minutes as a cancel.
* ``reflection``: once all of a manager's scheduled talks are over, one short email asking them
  to reflect (how did it go, what needs following up, what to do differently). Nothing of the
  reflection comes back or is stored.

Meeting emails are exactly-once the same way: their Message-ID is derived from the meeting's UID,
SEQUENCE, method and content and the recipient, so a re-run sends nothing twice, and a move or a
cancel is a new email. The ledger records which SEQUENCE of each meeting went out.

Exactly once, as far as email allows. Every email has a stable Message-ID derived from the cycle,
the email kind, the recipient and the attached forms' bytes. Before a message goes to the server
its ledger row is written as ``planned``; after the server accepted it, the row becomes ``sent``
and its forms are marked handed out, in one transaction. A crash (or a dropped connection) between
the server's "250 OK" and that transaction leaves a ``planned`` (or ``failed``) row, and the next
run sends that email again with the SAME Message-ID, so mail clients can drop the second copy. We
chose a possible duplicate over a possibly missing form: nobody notices a form that never came.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline.commands.send.delivery import record, send_by_smtp, sort_out, write_outbox
from pipeline.commands.send.emails import (
    ALL_EMAIL_KINDS,
    MEETING_EMAIL_KINDS,
    OUTBOX,
    PlannedEmail,
    SendReport,
    check_ready_to_send,
    resolve_deadline,
    sender_domain,
)
from pipeline.commands.send.form_emails import (
    Context,
    group_forms,
    manager_notes,
    plan_one,
    sorted_groups,
)
from pipeline.commands.send.meetings import plan_meetings, talk_times
from pipeline.errors import MailError
from pipeline.formats.email import TEMPLATE_FOLDER, EmailTemplates
from pipeline.formats.roster import Roster, read_roster
from pipeline.formats.smtp import SmtpSettings, parse_smtp_address
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import CONFIG_NAME, Workspace, cycle_lock


def plan_emails(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    kind: str,
    *,
    deadline: str | dt.date | None = None,
    today: dt.date | None = None,
) -> list[PlannedEmail]:
    """Return the emails of ``kind`` for ``cycle`` (who gets which forms); writes nothing."""
    if kind not in ALL_EMAIL_KINDS:
        known = ", ".join(ALL_EMAIL_KINDS)
        raise MailError(f"email kind {kind!r} is not known; use one of {known}")
    if kind in MEETING_EMAIL_KINDS:
        return plan_meetings(workspace, cycle, roster, kind, deadline, today)
    config = workspace.config()
    config_path = workspace.root / CONFIG_NAME
    domain = sender_domain(config, config_path)
    due = resolve_deadline(deadline, config, config_path)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        forms = ledger.forms(brief=True)
        rows = ledger.emails(kind)
        talks = talk_times(ledger.meetings("talk"), config) if kind == "reminder" else {}
    cycle_dir = workspace.output_dir / str(cycle)
    round_ = (today or dt.date.today()).isoformat() if kind == "reminder" else ""
    groups = sorted_groups(group_forms(kind, forms, roster, rows), roster)
    texts = EmailTemplates(workspace.templates_dir / TEMPLATE_FOLDER)
    rows_by_id = {row["message_id"]: row for row in rows}
    context = Context(cycle, kind, round_, domain, due, config, roster, cycle_dir, texts, talks)
    return [
        plan_one(number, group, rows_by_id, context) for number, group in enumerate(groups, start=1)
    ]


def send_emails(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    kind: str,
    *,
    smtp: SmtpSettings | None = None,
    deadline: str | dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    env: Mapping[str, str] = os.environ,
    today: dt.date | None = None,
) -> SendReport:
    """Return the report of drafting (outbox) or sending (SMTP) every email not yet sent."""
    if dry_run:
        return _send_emails(
            workspace, cycle, roster, kind, smtp, deadline, True, progress, env, today
        )
    with cycle_lock(workspace.output_dir / str(cycle), "send"):  # never two senders at once
        return _send_emails(
            workspace, cycle, roster, kind, smtp, deadline, False, progress, env, today
        )


def _send_emails(workspace, cycle, roster, kind, smtp, deadline, dry_run, progress, env, today):
    """Return the report of one send run (the caller holds the cycle's send lock)."""
    plan = plan_emails(workspace, cycle, roster, kind, deadline=deadline, today=today)
    cycle_dir = workspace.output_dir / str(cycle)
    report = SendReport(
        kind=kind,
        mode="smtp" if smtp else "outbox",
        dry_run=dry_run,
        outbox=None if smtp else cycle_dir / OUTBOX,
        planned=plan,
    )
    report.pending = sort_out(plan, report)
    report.notes = manager_notes(workspace, cycle, roster, kind, report.pending)
    if dry_run:
        return report
    config = workspace.config()
    check_ready_to_send(config, workspace.root / CONFIG_NAME, smtp, env)
    with Ledger.of_cycle(workspace, cycle) as ledger:
        for outcome in report.failed:
            if outcome.email.message_id:
                record(ledger, outcome.email, "failed", outcome.detail)
        if smtp:
            send_by_smtp(report, ledger, config, cycle_dir, smtp, env, progress)
        else:
            write_outbox(report, ledger, config, cycle_dir, progress)
    return report


def send_for_cycle(
    workspace: Workspace,
    cycle: int,
    kind: str,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    smtp_address: str | None = None,
    tls: str = "starttls",
    deadline: str | dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    env: Mapping[str, str] = os.environ,
) -> SendReport:
    """Return the report of ``send_emails`` for the roster (default: input/roster.xlsx)."""
    smtp = None
    if smtp_address:  # checked before the roster is read: a typo in an option fails fast
        host, port = parse_smtp_address(smtp_address)
        smtp = SmtpSettings(host=host, port=port, tls=tls)
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    return send_emails(
        workspace,
        cycle,
        roster,
        kind,
        smtp=smtp,
        deadline=deadline,
        dry_run=dry_run,
        progress=progress,
        env=env,
    )
