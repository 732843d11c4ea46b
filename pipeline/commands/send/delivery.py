"""Delivering the plan: drafts in the outbox or SMTP, each email recorded exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pipeline.commands.send.emails import (
    Attachment,
    Outcome,
    PlannedEmail,
    SendReport,
    build_message,
)
from pipeline.domain.names import ascii_slug
from pipeline.domain.pools import parallel_map
from pipeline.errors import MailError
from pipeline.formats.email import (
    drafts_by_message_id,
    wire_address,
)
from pipeline.formats.smtp import (
    RunStopped,
    SmtpSession,
)
from pipeline.state.config import Config
from pipeline.state.files import (
    ensure_private_dir,
    sync_files,
    sync_folders,
    unique_path,
    write_private,
)
from pipeline.state.ledger import Ledger, batched

log = logging.getLogger(__name__)


def sort_out(plan: list[PlannedEmail], report: SendReport) -> list[PlannedEmail]:
    """Return the emails to deliver now; file the others under skipped and failed."""
    pending = []
    for email in plan:
        if email.problem:
            report.failed.append(Outcome(email, email.problem))
        elif email.status == "sent":
            report.skipped.append(Outcome(email, f"already sent ({email.detail})"))
        elif email.status == "drafted" and report.mode == "outbox":
            report.skipped.append(Outcome(email, f"draft already in the outbox ({email.detail})"))
        elif email.status == "drafted":
            note = f"drafted earlier ({email.detail}); send that draft, SMTP does not send it again"
            report.skipped.append(Outcome(email, note))
        else:
            pending.append(email)
    return pending


def record(ledger: Ledger, email: PlannedEmail, status: str, detail: str) -> None:
    """Write the email's ledger row; a sent or drafted email also marks its forms handed out."""
    with ledger.transaction():
        record_within(ledger, email, status, detail)


def record_within(ledger: Ledger, email: PlannedEmail, status: str, detail: str) -> None:
    """Write the email's ledger row inside the caller's transaction (see ``record``)."""
    paths = [a.path for a in email.attachments]
    about = [email.meeting.record.employee_id] if email.meeting is not None else list(email.names)
    write = ledger.record_email(
        email.message_id, email.kind, email.recipient_id, email.address, paths, about
    )
    write(status, detail)
    if status in ("sent", "drafted"):
        for attachment in email.attachments:
            _hand_out(ledger, attachment)
        if email.meeting is not None:
            ledger.mark_meeting_invited(email.meeting.record)


def _hand_out(ledger: Ledger, attachment: Attachment) -> None:
    """Mark one form handed out, unless it is already back."""
    form = ledger.form(attachment.employee_id, attachment.form_kind)
    if form is not None and form.status != "returned":
        ledger.mark_handed_out(attachment.employee_id, attachment.form_kind)


def write_outbox(report, ledger, config, cycle_dir, progress) -> None:
    """Write one unsent draft (.eml) per pending email; never rewrite an existing draft."""
    # The messages are built and written on every core, unflushed; each batch is flushed and
    # then recorded in one transaction. A crash in between leaves drafts the ledger does not
    # know yet: the next run finds them by Message-ID and records them, never writing twice.
    outbox = ensure_private_dir(report.outbox)
    existing = drafts_by_message_id(outbox)
    jobs = [(email, existing.get(email.message_id)) for email in report.pending]
    drafts = parallel_map(
        _draft_of,
        DraftSettings(config, cycle_dir, outbox),
        jobs,
        threshold=DRAFTS_IN_PARALLEL,
        progress=progress,
    )
    for batch in batched(zip(report.pending, drafts, strict=True), DRAFT_BATCH):
        sync_files(path for _, (path, _) in batch if path is not None)
        sync_folders([outbox])  # the drafts' names on disk before the ledger says so
        with ledger.transaction():
            for email, (path, problem) in batch:
                if path is None:
                    record_within(ledger, email, "failed", problem)
                    report.failed.append(Outcome(email, problem))
                    continue
                relative = path.relative_to(cycle_dir).as_posix()
                record_within(ledger, email, "drafted", relative)
                report.drafted.append(Outcome(email, relative))


DRAFTS_IN_PARALLEL = 40  # below this, forking costs more than it saves
DRAFT_BATCH = 200  # drafts flushed and recorded together


@dataclass(frozen=True)
class DraftSettings:
    """What every draft of one run needs."""

    config: Config
    cycle_dir: Path
    outbox: Path


def _draft_of(settings: DraftSettings, job: tuple) -> tuple[Path | None, str]:
    """Return (the draft's path, '') for one pending email, or (None, why it failed)."""
    email, existing = job
    if existing is not None:
        return existing, ""
    try:
        return _write_draft(email, settings.config, settings.cycle_dir, settings.outbox), ""
    except MailError as exc:
        return None, str(exc)


def _write_draft(email: PlannedEmail, config: Config, cycle_dir: Path, outbox: Path) -> Path:
    """Return the path of a new unsent draft (.eml, owner-only, flushed by the caller)."""
    data = build_message(email, config, cycle_dir, draft=True).as_bytes()
    return write_private(unique_path(outbox / _draft_name(email)), data, durable=False)


def _draft_name(email: PlannedEmail) -> str:
    """Return the draft's file name, like ``0001-prep-1001-kari-nordmann.eml``."""
    name = ascii_slug(email.recipient.name if email.recipient else "")
    return f"{email.number:04d}-{email.kind}-{ascii_slug(email.recipient_id, 20)}-{name}.eml"


def send_by_smtp(report, ledger, config, cycle_dir, settings, env, progress) -> None:
    """Send every pending email over one reused connection; record each result."""
    rate = settings.rate_per_second
    session = SmtpSession(settings, config.mail.rate_per_second if rate is None else rate, env)
    try:
        for done, email in enumerate(report.pending, start=1):
            if report.stopped:
                _fail(report, ledger, email, f"not sent: {report.stopped}; run send again")
            else:
                _send_one(report, ledger, config, cycle_dir, session, email)
            if progress:
                progress(done, len(report.pending))
    finally:
        session.close()


def _send_one(report, ledger, config, cycle_dir, session, email: PlannedEmail) -> None:
    """Send one email: ledger row planned, deliver, then ledger row sent or failed."""
    try:
        msg = build_message(email, config, cycle_dir)
        sender, recipient = wire_address(config.mail.sender_address), wire_address(email.address)
    except MailError as exc:
        _fail(report, ledger, email, str(exc))
        return
    record(ledger, email, "planned", "")  # a crash from here on resends the same Message-ID
    try:
        sent, detail = session.deliver(msg, sender, recipient)
    except RunStopped as exc:
        report.stopped = str(exc)
        _fail(report, ledger, email, f"not sent: {exc}; run send again")
        return
    if not sent:
        _fail(report, ledger, email, detail)
        return
    record(ledger, email, "sent", detail)
    report.sent.append(Outcome(email, detail))
    log.info("sent %s", email.message_id)


def _fail(report: SendReport, ledger: Ledger, email: PlannedEmail, detail: str) -> None:
    """Record one email as failed, in the ledger and the report."""
    record(ledger, email, "failed", detail)
    report.failed.append(Outcome(email, detail))
