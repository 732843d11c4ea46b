"""One person's part of a stored email (.eml): what an access request shows, what erasure removes.

An email samtale keeps (a draft in the outbox, or a returned email kept whole) may carry the forms
of several people: a manager gets the forms of all their direct reports in one email and may send
them back in one. ``extract`` builds a new message holding only the part about one person;
``without`` removes one person's attachments and the text lines naming them from a message.
Attachments are found at any depth (an email forwarded inside another included).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

KEPT_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID")
EXTRACT_HEADER = "X-Samtale-Extract"
REMOVED = "[…]"


@dataclass(frozen=True)
class MailAttachment:
    """One attached file of a stored email."""

    filename: str
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the attached file's bytes."""
        return hashlib.sha256(self.data).hexdigest()


def parse(data: bytes) -> EmailMessage:
    """Return the parsed message (never raises: a broken email parses as far as it goes)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def attachments(data: bytes) -> list[MailAttachment]:
    """Return every attached file of the message, those of attached emails included."""
    return [attachment_of(part) for part in attachment_parts(parse(data))]


def attachment_parts(message: EmailMessage) -> Iterator[EmailMessage]:
    """Yield the parts of a message that are attached files, at any depth."""
    for part in message.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        if is_attachment(part):
            yield part


def is_attachment(part: EmailMessage) -> bool:
    """Return True for a part someone attached (a file), not the text of the message."""
    if part.get_content_disposition() == "attachment":
        return True
    return bool(part.get_filename()) and part.get_content_maintype() not in ("text", "multipart")


def attachment_of(part: EmailMessage) -> MailAttachment:
    """Return an attached part's file name, decoded bytes and content type."""
    try:
        data = part.get_payload(decode=True) or b""
    except (ValueError, LookupError):
        data = b""
    return MailAttachment(part.get_filename() or "attachment", data, part.get_content_type())


def plain_text(message: EmailMessage) -> str:
    """Return the message's plain text, or '' when it has none that can be read."""
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return ""
    try:
        return body.get_content()
    except (LookupError, ValueError, KeyError):
        return ""


def without_lines(text: str, names: Iterable[str]) -> str:
    """Return ``text`` without the lines that mention any of ``names`` (case-insensitive)."""
    wanted = [name.casefold() for name in names if name.strip()]
    return "\n".join(
        line for line in text.split("\n") if not any(n in line.casefold() for n in wanted)
    )


def extract(
    data: bytes,
    keep: Callable[[MailAttachment], bool],
    *,
    text: bool,
    other_names: Iterable[str] = (),
    note: str = "",
) -> tuple[bytes, int]:
    """Return a new message holding only the kept attachments, and how many were left out."""
    # The headers that say who wrote to whom and when are kept. With ``text`` the plain text
    # goes along, without the lines naming anyone in ``other_names``; else only ``note``.
    original = parse(data)
    part = EmailMessage(policy=email.policy.default)
    for header in KEPT_HEADERS:
        if original[header]:
            part[header] = str(original[header])
    part[EXTRACT_HEADER] = "yes"
    body = without_lines(plain_text(original), other_names) if text else ""
    part.set_content("\n\n".join(t for t in (note, body) if t).rstrip("\n") + "\n")
    left_out = 0
    for attachment in map(attachment_of, attachment_parts(original)):
        if not keep(attachment):
            left_out += 1
            continue
        maintype, _, subtype = attachment.content_type.partition("/")
        part.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return part.as_bytes(), left_out


def without(
    data: bytes, drop: Callable[[MailAttachment], bool], names: Iterable[str] = ()
) -> tuple[bytes, list[MailAttachment]]:
    """Return the message without the dropped attachments and with ``names`` blanked out."""
    # Returns the bytes unchanged (and no attachments) when there is nothing to remove, so the
    # step can run again after a crash. Names are replaced by "[…]" in the text parts.
    message = parse(data)
    removed = _drop_parts(message, drop)
    changed = _blank_names(message, [n for n in names if n.strip()])
    if not removed and not changed:
        return data, []
    return message.as_bytes(), removed


def _drop_parts(entity: EmailMessage, drop: Callable[[MailAttachment], bool]) -> list:
    """Remove the dropped attachments below ``entity``; return them."""
    removed: list[MailAttachment] = []
    if entity.get_content_type() == "message/rfc822":
        for inner in entity.get_payload():
            removed += _drop_parts(inner, drop)
        return removed
    if not entity.is_multipart():
        return removed
    kept = []
    for part in entity.get_payload():
        if not part.is_multipart() and is_attachment(part):
            attachment = attachment_of(part)
            if drop(attachment):
                removed.append(attachment)
                continue
        kept.append(part)
        removed += _drop_parts(part, drop)
    if removed:
        entity.set_payload(kept)
    return removed


def _blank_names(message: EmailMessage, names: list[str]) -> bool:
    """Replace every occurrence of ``names`` in the text parts; return True if any changed."""
    changed = False
    for part in message.walk():
        if part.get_content_maintype() != "text" or is_attachment(part):
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError, KeyError):
            continue
        new = text
        for name in names:
            new = _replace_folded(new, name)
        if new != text:
            part.set_content(new, subtype=part.get_content_subtype(), cte="quoted-printable")
            changed = True
    return changed


def _replace_folded(text: str, name: str) -> str:
    """Return ``text`` with every case-insensitive occurrence of ``name`` replaced by "[…]"."""
    folded, target = text.casefold(), name.casefold()
    if len(folded) != len(text):  # a letter whose case-folding changes length: exact match only
        return text.replace(name, REMOVED)
    pieces, start = [], 0
    while (found := folded.find(target, start)) != -1:
        pieces += [text[start:found], REMOVED]
        start = found + len(target)
    return "".join(pieces) + text[start:]
