"""Every exception samtale raises, under one base class.

Policy for bad input (written down here so every module follows it):

* **Stop** (raise a ``SamtaleError``) when the user must fix something before the command can do
  its job: a roster with errors, a broken template, a locked workbook, a missing certificate.
  The CLI turns the exception into ``Error: …`` and exit status 1, never a traceback.
* **Warn and skip** when one item of a batch is bad but the rest can go on: a returned file that
  is hostile or not ours goes to quarantine with a ``Rejected`` reason, a recipient without an
  email address is reported. The batch result carries these as warnings; the exit status is 0
  unless the command promised all-or-nothing (``check``, ``verify``). A batch whose items
  failed on delivery (an email the server refused, a PDF that could not be sealed) ends with
  ``ExitCode.PARTIAL``: done, but run it again once the cause is fixed.
* **Log** (never print) when the library repaired something the user should know about, and
  never log answer text.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``samtale`` command."""

    SUCCESS = 0
    ERROR = 1  # nothing was done: the user must fix something first
    USAGE = 2  # a usage mistake (click's own status)
    PARTIAL = 3  # done, but some items failed (emails not sent, PDFs not sealed); run again
    INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One user mistake, located precisely enough to fix it."""

    file: str
    message: str
    fix: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    value: str = ""

    def __str__(self) -> str:
        """Return the problem as one line: where, what, and how to fix it."""
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = ", ".join(where) + f": {self.message}"
        if self.value:
            text += f" (value: {self.value!r})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class SamtaleError(Exception):
    """Base class of every error samtale raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


class ProblemsError(SamtaleError):
    """Several user mistakes found in one pass, reported together."""

    def __init__(self, summary: str, problems: list[Problem]):
        self.summary = summary
        self.problems = list(problems)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        """Return the summary followed by one line per problem."""
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class RosterError(ProblemsError):
    """The roster workbook cannot be used as it is."""


class TemplateError(ProblemsError):
    """A Word or email template is broken or does not fit the roster."""


class WorkspaceError(SamtaleError):
    """The workspace folders, config file or secret are missing or unusable."""


class ConfigError(WorkspaceError):
    """The workspace config file has a bad value."""


class LedgerError(SamtaleError):
    """The cycle's SQLite ledger cannot be read or written."""


class SecretMissing(WorkspaceError):
    """The workspace key (.samtale/secret.key) is missing; it must be restored, not remade."""


class CycleNotGenerated(WorkspaceError):
    """A command that reads a cycle's state was given a cycle whose forms were never generated."""


class WorkbookError(SamtaleError):
    """An answers workbook cannot be read or written."""


class WorkbookLockedError(WorkbookError):
    """The answers workbook is open in another program or not writable."""


class Rejected(SamtaleError):
    """A returned file was turned away; ``reason`` is what HR reads in the quarantine note."""

    def __init__(self, reason: str, code: str = "rejected"):
        self.reason = reason
        self.code = code
        super().__init__(reason)


class ConversionError(SamtaleError):
    """LibreOffice could not convert a document."""


class ConversionTimeout(ConversionError):
    """LibreOffice took longer than the timeout for one document."""


class LibreOfficeMissing(ConversionError):
    """No LibreOffice (soffice) was found on this machine."""


class SealError(SamtaleError):
    """A PDF could not be sealed: certificate, password or signing failed."""


class VerifyError(SamtaleError):
    """An archived PDF failed verification."""


class NothingToVerify(VerifyError):
    """No archived PDF was found to verify."""


class ArchiveError(SamtaleError):
    """The archive is inconsistent or a file would be overwritten."""


class MailError(SamtaleError):
    """Email could not be prepared or sent."""


class SmtpPermanentError(MailError):
    """The SMTP server refused a message for good (5xx)."""


class SmtpTemporaryError(MailError):
    """The SMTP server answered a temporary failure (4xx) or dropped the connection."""


class MinutesError(SamtaleError):
    """Minutes cannot be prepared or finalized."""


class NotAWorkspace(WorkspaceError):
    """The folder has neither samtale.toml nor input/ and templates/: 'samtale init' makes one."""


class ScheduleError(SamtaleError):
    """The talks cannot be scheduled: bad [schedule] settings, schedule workbook or request."""


class CalendarError(ScheduleError):
    """An exported calendar (.ics) in input/calendars/ cannot be read."""


class ReportError(SamtaleError):
    """The HR report cannot be written: no data for the cycle, or a cycle to compare with."""


def plain_reason(exc: BaseException) -> str:
    """Return what an unexpected exception means, in plain words without Python's names for it."""
    # Library exceptions (zipfile, lxml, openpyxl, pypdf, pyHanko, sqlite3) reach users only
    # through this: the message says what happened to the file, never which class was raised.
    module = type(exc).__module__.split(".")[0]
    if isinstance(exc, RecursionError):
        return "its content is nested too deeply to be read safely"
    if isinstance(exc, MemoryError):
        return "it is too large to be read"
    if module == "defusedxml":
        return "it declares XML entities or a DTD, which samtale never reads (they hide attacks)"
    if module == "sqlite3":
        return "the database file is damaged or is not a samtale ledger"
    if isinstance(exc, UnicodeError):
        return "it holds text in an encoding that cannot be read"
    if isinstance(exc, SyntaxError):  # lxml's and ElementTree's XML errors among them
        return "its XML is damaged"
    if isinstance(exc, PermissionError):
        return "permission denied" + (f" on {exc.filename}" if exc.filename else "")
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror[0].lower()}{exc.strerror[1:]}{where}"
    if isinstance(exc, EOFError | zipfile.BadZipFile | zipfile.LargeZipFile | zlib.error):
        return "it is damaged or cut short"
    if isinstance(exc, KeyError):
        return "a part it needs is missing"
    return "it is damaged or not in the format expected"


def message_of(exc: BaseException) -> str:
    """Return what to tell the user about ``exc``: our own message, or plain words for others."""
    return str(exc) if isinstance(exc, SamtaleError) else plain_reason(exc)
