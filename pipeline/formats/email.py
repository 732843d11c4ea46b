"""Email messages: addresses as headers carry them, Message-IDs, the texts HR edits, MIME."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from pipeline.domain.kinds import DEFAULT_LANGUAGE, LANGUAGES
from pipeline.domain.names import ascii_slug
from pipeline.errors import MailError, Problem, TemplateError
from pipeline.formats.mime import SMTP, SMTPUTF8
from pipeline.formats.roster import EMAIL_PATTERN

DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")

TEMPLATE_FOLDER = "email"

TEMPLATE_VARIABLES = (
    "recipient.first_name, recipient.name, recipient.email, manager_name, for_manager, "
    "forms (each with .employee and .file), deadline, cycle, organisation, hr_contact, "
    "sender_name, return_address"
)


def first_name(name: str) -> str:
    """Return the first given name of "Kari Nordmann" or "Nordmann, Kari" (for greetings)."""
    given = name.split(",", 1)[1] if "," in name else name
    parts = given.split()
    return parts[0] if parts else name.strip()


def address_problem(address: str) -> str:
    """Return why ``address`` cannot be emailed, or "" when it can."""
    # The roster's rule first, so that what `check` accepts, send accepts; then what the rule
    # lets through but no mail header can carry.
    if not EMAIL_PATTERN.fullmatch(address):
        return "is not an email address"
    local, _, domain = address.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "has a dot at the start or end of the part before the @, or two dots in a row"
    try:
        ascii_domain(domain)
    except MailError:
        return "has a domain that cannot be written in ASCII for DNS (IDNA)"
    return ""


def ascii_domain(domain: str) -> str:
    """Return the domain as DNS and SMTP carry it: bølgen.no becomes xn--blgen-vua.no."""
    if domain.isascii():
        return domain
    try:
        # Python's codec is IDNA 2003; for æ, ø, å, ä, ö, ü it gives the same as IDNA 2008.
        return domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise MailError(
            f"the domain {domain!r} cannot be written in ASCII ({exc}); check its spelling"
        ) from exc


def wire_address(address: str) -> str:
    """Return ``address`` as headers and the SMTP envelope carry it (domain in IDNA form)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def message_id(
    cycle: int, kind: str, recipient_id: str, shas: list[str], domain: str, round_: str = ""
) -> str:
    """Return the stable Message-ID of one email (same inputs, same id, on every run)."""
    seed = "\n".join([str(cycle), kind, round_, recipient_id, *sorted(shas)])
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]
    label = f"{kind}.{round_.replace('-', '')}" if round_ else kind
    return f"<samtale.{cycle}.{label}.{ascii_slug(recipient_id, 20)}.{digest}@{domain}>"


def mailbox(name: str, address: str) -> Address:
    """Return the header mailbox ``name <address>`` with the domain in IDNA form."""
    local, _, domain = wire_address(address).rpartition("@")
    return Address(name, local, domain)


class EmailTemplates:
    """The email texts HR edits: ``templates/email/<kind>.<nb|en>.txt`` (Jinja2)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(self.folder, encoding="utf-8-sig"),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def render(self, kind: str, language: str, context: dict) -> tuple[str, str]:
        """Return (subject, body) of the text for ``kind`` in ``language``."""
        name = f"{kind}.{language if language in LANGUAGES else DEFAULT_LANGUAGE}.txt"
        path = self.folder / name
        try:
            text = self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound:
            fix = "restore it from the templates/email folder that came with samtale"
            raise template_error(path, "the email template is missing", fix) from None
        except jinja2.TemplateSyntaxError as exc:
            raise template_error(
                path, f"line {exc.lineno}: {exc.message}", "fix that line"
            ) from exc
        except UnicodeDecodeError as exc:
            raise template_error(path, "not UTF-8 text", "save it as UTF-8") from exc
        except jinja2.TemplateError as exc:
            fix = f"use only these variables: {TEMPLATE_VARIABLES}"
            raise template_error(path, exc.message or str(exc), fix) from exc
        return split_subject(text, path)


def split_subject(text: str, path: Path) -> tuple[str, str]:
    """Return (subject, body) of a rendered text whose first line is ``Subject: …``."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.lower().startswith("subject:") or not first.split(":", 1)[1].strip():
        raise template_error(
            path,
            "the first line must be 'Subject: …' followed by a blank line and the text",
            "put the subject on the first line",
        )
    body = re.sub(r"\n{3,}", "\n\n", rest.strip("\n")) + "\n"
    return first.split(":", 1)[1].strip(), body


def template_error(path: Path, message: str, fix: str) -> TemplateError:
    """Return a TemplateError naming the email template file."""
    return TemplateError("Email template cannot be used", [Problem(str(path), message, fix)])


def drafts_by_message_id(outbox: Path) -> dict[str, Path]:
    """Return the drafts already in the outbox by Message-ID (found again after a crash)."""
    found = {}
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        with path.open("rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
        if headers["Message-ID"]:
            found[str(headers["Message-ID"]).strip()] = path
    return found


def mime_message(
    *,
    sender: tuple[str, str],
    recipient: tuple[str, str],
    reply_to: str,
    subject: str,
    body: str,
    message_id: str,
    attachments: list[tuple[str, bytes]],
    draft: bool = False,
    now: dt.datetime | None = None,
    calendar: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """Return a MIME message (text body, .docx attachments); ``draft`` marks it unsent."""
    # ``calendar`` = (method, VCALENDAR bytes) makes a meeting request: the text and the
    # calendar as multipart/alternative, the method in both the VCALENDAR and the MIME type.
    mailboxes = {"From": mailbox(*sender), "To": mailbox(*recipient)}
    if reply_to:
        mailboxes["Reply-To"] = mailbox(*parseaddr(reply_to))
    # Headers use RFC 2047 encoded words, which Outlook and Thunderbird both read, unless an
    # address has letters like å before the @: no encoding exists for those, so that message
    # is written with raw UTF-8 headers (RFC 6532, sent with SMTPUTF8).
    utf8 = not all(box.username.isascii() for box in mailboxes.values())
    msg = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    for header, box in mailboxes.items():
        msg[header] = box
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now or dt.datetime.now().astimezone())
    msg["Message-ID"] = message_id
    if draft:
        msg["X-Unsent"] = "1"  # Outlook (and Thunderbird) open the file as a message to send
    msg.set_content(body, cte="quoted-printable")
    if calendar is not None:
        method, ics = calendar
        msg.add_alternative(
            ics,
            maintype="text",
            subtype="calendar",
            params={"method": method, "charset": "UTF-8"},
            disposition="inline",
            cte="base64",
        )
        msg["Content-Class"] = "urn:content-classes:calendarmessage"  # older Outlook looks here
    maintype, subtype = DOCX_TYPE
    for filename, data in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    for part in msg.walk():
        if part.is_multipart():
            part.set_boundary(new_boundary())
    return msg


def new_boundary() -> str:
    """Return a MIME boundary no body can hold by chance (128 random bits)."""
    # Without one set, the email package makes its own when writing the message and searches
    # the whole encoded message for it first: a tenth of the time `send` takes per email.
    return f"=_samtale_{secrets.token_hex(16)}"
