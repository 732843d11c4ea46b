"""Outlook's own files: a saved message (.msg) and winmail.dat (TNEF), read as plain data.

A message dragged out of Outlook is an .msg file (an OLE compound file, read with extract-msg);
some Outlook senders wrap their attachments in a winmail.dat (TNEF, read with tnefparse), as a
file or as an ``application/ms-tnef`` part of an email. Both come from outside and are hostile:
each is read in a child process bounded in time and memory (one tiny TNEF file can keep
tnefparse busy for hours), the number and total size of attachments are capped, and every
failure becomes ``Rejected`` with a reason HR can act on, never a traceback.

What comes out is plain data: sender, date, subject and the attachments as (name, bytes). An
Outlook message attached to another one comes out as an attachment of its own (``name.msg``, or
the TNEF bytes of an embedded message) for the caller to open, one nesting level at a time.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import multiprocessing
import os
import resource
import struct
import warnings
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from pipeline.errors import Rejected

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"  # 0x223E9F78, little-endian
MSG_SUFFIX = ".msg"
MSG_TYPES = {"application/vnd.ms-outlook"}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
INLINE_PICTURES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf")
MB = 1024 * 1024
SPECIALS = '()<>[]:;@\\,."'  # RFC 5322: a name holding one of these is quoted

# MAPI property ids (MS-OXPROPS) read from a TNEF message.
PR_SUBJECT = 0x0037
PR_CLIENT_SUBMIT_TIME = 0x0039
PR_SENT_REPRESENTING_NAME = 0x0042
PR_SENT_REPRESENTING_EMAIL = 0x0065
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL = 0x0C1F
PR_SENDER_SMTP = 0x5D01
PR_ATTACH_CONTENT_ID = 0x3712
PR_ATTACHMENT_HIDDEN = 0x7FFE
# TNEF attribute ids (MS-OXTNEF 2.1.3.3), the low word of the attribute tag.
ATT_FROM = 0x8000
ATT_SUBJECT = 0x8004
ATT_DATE_SENT = 0x8005
ATT_ATTACH_REND_DATA = 0x9002
TNEF_ATTACHMENT_LEVEL = 0x02
TNEF_HEADER = 6  # signature (4) and legacy key (2)
TNEF_ATTRIBUTE_OVERHEAD = 11  # level (1), tag (4), length (4), checksum (2)
MAX_TNEF_ATTRIBUTES = 20_000

ASK_AGAIN = "ask the sender to send the filled form again as a Word attachment"
UNREADABLE = {
    "msg": f"an Outlook message (.msg) that could not be read (damaged); {ASK_AGAIN}",
    "tnef": f"an Outlook winmail.dat that could not be read (damaged); {ASK_AGAIN}",
}
DAMAGED_ATTACHMENTS = (
    "an Outlook message (.msg) whose attachments could not be read ({names}: damaged); "
    f"{ASK_AGAIN}"
)
TOO_SLOW = (
    "an Outlook file that could not be opened within {seconds:g} seconds (damaged, or built to "
    f"stall the reader); {ASK_AGAIN}"
)
TOO_MUCH_MEMORY = (
    "an Outlook file that needed more than {mb:,} MB of memory to open (damaged, or built to "
    f"blow up when opened); {ASK_AGAIN}"
)
TOO_BIG = (
    "an Outlook file whose attachments add up to more than {mb:,} MB; ask for the filled form "
    "on its own"
)
TOO_MANY = "an Outlook file with more than {count} attachments; ask for the filled form on its own"
NOT_OUTLOOK = f"not one of Outlook's own files (.msg or winmail.dat); {ASK_AGAIN}"


@dataclass(frozen=True)
class OutlookLimits:
    """Bounds on reading one Outlook file."""

    max_attachments: int = 200
    max_total_bytes: int = 100 * MB  # all attachments of one file together
    max_seconds: float = 20.0
    max_memory_bytes: int = 1024 * MB  # on top of what the reading process already uses


DEFAULT_LIMITS = OutlookLimits()


@dataclass(frozen=True)
class OutlookMessage:
    """What an Outlook file says: who sent it when, and the files a person attached."""

    sender: str = ""  # "Name <address>" (or what there is of it)
    sent_at: str = ""  # ISO 8601 UTC, '' when the file does not say
    subject: str = ""
    attachments: tuple[tuple[str, bytes], ...] = ()
    unreadable: tuple[str, ...] = ()  # names of attachments that could not be read


# -- recognising -----------------------------------------------------------------------------


def outlook_kind(name: str, data: bytes, content_type: str = "") -> str:
    """Return 'tnef' or 'msg' for one of Outlook's own files, else ''."""
    if data.startswith(TNEF_SIGNATURE) or content_type.lower() in TNEF_TYPES:
        return "tnef"
    if Path(name).suffix.lower() == MSG_SUFFIX or content_type.lower() in MSG_TYPES:
        return "msg"
    return ""


# -- reading, in a child process -------------------------------------------------------------


class ReaderUnavailable(Exception):  # noqa: N818 - a signal to the caller, not an error
    """This process may not start the child process that reads Outlook files (a pool worker)."""


def read_outlook(data: bytes, kind: str, limits: OutlookLimits = DEFAULT_LIMITS) -> OutlookMessage:
    """Return what an Outlook file says, read in a bounded child process; raise Rejected."""
    # A worker of a process pool may not start processes: it raises ReaderUnavailable, and the
    # caller opens the file in its main process instead.
    if kind not in READERS:
        raise Rejected(NOT_OUTLOOK, "wrong_format")
    if multiprocessing.current_process().daemon:
        raise ReaderUnavailable(kind)
    preload(kind)  # imported once here, so each child starts at once
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=read_in_child, args=(data, kind, limits, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.max_seconds):
            raise Rejected(TOO_SLOW.format(seconds=limits.max_seconds), "too_slow")
        outcome = receiver.recv()
    except EOFError:  # the child died: the memory bound stopped it
        outcome = too_much_memory(limits)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if isinstance(outcome, tuple):
        raise Rejected(outcome[1], outcome[2])
    return outcome


def preload(kind: str) -> None:
    """Import the library that reads this kind of file (it takes a quarter of a second)."""
    if kind == "msg":
        import extract_msg  # noqa: F401
    else:
        import tnefparse  # noqa: F401


def read_in_child(data: bytes, kind: str, limits: OutlookLimits, pipe) -> None:
    """Send the message read from ``data``, or ('rejected', reason, code), through ``pipe``."""
    limit_memory(limits.max_memory_bytes)
    logging.disable(logging.CRITICAL)  # the libraries log about bad input; we report it
    warnings.simplefilter("ignore")
    try:
        outcome = READERS[kind](data, limits)
    except Rejected as exc:
        outcome = ("rejected", exc.reason, exc.code)
    except MemoryError:
        outcome = too_much_memory(limits)
    except Exception:  # noqa: BLE001 - RecursionError included: a hostile file is just unreadable
        outcome = ("rejected", UNREADABLE[kind], "corrupt")
    pipe.send(outcome)
    pipe.close()


def too_much_memory(limits: OutlookLimits) -> tuple[str, str, str]:
    """Return the refusal of a file that needed more memory than the bound allows."""
    return ("rejected", TOO_MUCH_MEMORY.format(mb=limits.max_memory_bytes // MB), "too_large")


def limit_memory(extra: int) -> None:
    """Bound this process's address space to what it uses now plus ``extra`` bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (used + extra, used + extra))
    except (OSError, ValueError):  # not Linux: the time bound still holds
        pass


def checked(attachments: list[tuple[str, bytes]], limits: OutlookLimits) -> tuple:
    """Return the attachments as a tuple; raise Rejected when there are too many or too much."""
    if len(attachments) > limits.max_attachments:
        raise Rejected(TOO_MANY.format(count=limits.max_attachments), "too_many_attachments")
    if sum(len(data) for _, data in attachments) > limits.max_total_bytes:
        raise Rejected(TOO_BIG.format(mb=limits.max_total_bytes // MB), "too_large")
    return tuple(attachments)


# -- .msg (extract-msg) ----------------------------------------------------------------------


def read_msg(data: bytes, limits: OutlookLimits = DEFAULT_LIMITS) -> OutlookMessage:
    """Return what an .msg file says (in this process: call ``read_outlook`` for hostile files)."""
    import extract_msg
    from extract_msg.enums import ErrorBehavior

    # A broken attachment does not hide the good ones; embedded messages are opened on demand.
    lenient = ErrorBehavior.ATTACH_SUPPRESS_ALL | ErrorBehavior.STANDARDS_VIOLATION
    message = extract_msg.openMsg(data, delayAttachments=True, errorBehavior=lenient)
    with message:
        attachments, unreadable = [], []
        for number, attachment in enumerate(message.attachments, start=1):
            if len(attachments) > limits.max_attachments:
                break
            if is_inline(attachment.hidden, attachment.cid, attachment.name or ""):
                continue
            item = msg_attachment(attachment, number)
            if item:
                attachments.append(item)
            else:
                unreadable.append(clean(attachment.name) or f"attachment {number}")
        if unreadable and not attachments:  # a cut-off file loses the data of its attachments
            raise Rejected(DAMAGED_ATTACHMENTS.format(names=", ".join(unreadable)), "corrupt")
        return OutlookMessage(
            sender=msg_sender(message),
            sent_at=iso_utc(sent_date(message)),
            subject=clean(getattr(message, "subject", None)),
            attachments=checked(attachments, limits),
            unreadable=tuple(unreadable),
        )


def msg_attachment(attachment, number: int) -> tuple[str, bytes] | None:
    """Return (name, bytes) of an .msg attachment (an attached message as .msg), else None."""
    data = attachment.data
    name = clean(attachment.name) or f"attachment {number}"
    if isinstance(data, bytes):
        return name, data
    if hasattr(data, "exportBytes"):  # an Outlook message attached to this one
        if not name.lower().endswith(MSG_SUFFIX):
            name += MSG_SUFFIX
        return name, data.exportBytes()
    return None  # a link to a file elsewhere, an OLE object, a broken attachment


def msg_sender(message) -> str:
    """Return "Name <address>" of an .msg's sender: its mail headers' From, else its properties."""
    stream = message.getStringStream
    headers = clean(stream("__substg1.0_007D"))  # the headers as the message arrived, if kept
    if headers:
        sender = HeaderParser(policy=email.policy.default).parsestr(headers).get("From")
        if sender:
            return clean(str(sender))
    name = clean(stream("__substg1.0_0C1A") or stream("__substg1.0_0042"))
    addresses = [clean(stream(f"__substg1.0_{prop}")) for prop in ("5D01", "0C1F", "0065")]
    return name_and_address(name, next((a for a in addresses if "@" in a), ""))


def sent_date(message) -> dt.datetime | None:
    """Return when an .msg message was sent (else received); None when it does not say."""
    from extract_msg.null_date import NullDate  # Outlook's "no date" (the year 4500)

    for value in (getattr(message, "date", None), getattr(message, "receivedTime", None)):
        if isinstance(value, dt.datetime) and not isinstance(value, NullDate):
            return value
    return None


# -- winmail.dat (tnefparse) -----------------------------------------------------------------


def read_tnef(data: bytes, limits: OutlookLimits = DEFAULT_LIMITS) -> OutlookMessage:
    """Return what a TNEF file says (in this process: call ``read_outlook`` for hostile files)."""
    from tnefparse import TNEF

    check_tnef_structure(data, limits)
    tnef = TNEF(data, do_checksum=False)
    props = {prop.name: prop for prop in tnef.mapiprops}
    attributes = {attribute.name: attribute.data for attribute in tnef.msgprops}
    attachments = []
    for number, attachment in enumerate(tnef.attachments, start=1):
        extra = {prop.name: prop for prop in attachment.mapi_attrs}
        name = tnef_name(attachment, tnef.codepage) or f"attachment {number}"
        hidden = PR_ATTACHMENT_HIDDEN in extra and bool(extra[PR_ATTACHMENT_HIDDEN].data)
        content_id = PR_ATTACH_CONTENT_ID in extra
        if not is_inline(hidden, content_id, name):
            attachments.append((name, attachment.data))
    return OutlookMessage(
        sender=tnef_sender(props, attributes.get(ATT_FROM)),
        sent_at=iso_utc(mapi_value(props, PR_CLIENT_SUBMIT_TIME) or attributes.get(ATT_DATE_SENT)),
        subject=clean(mapi_value(props, PR_SUBJECT) or attributes.get(ATT_SUBJECT)),
        attachments=checked(attachments, limits),
    )


def tnef_name(attachment, codepage: str | None) -> str:
    """Return an attachment's name: its long name, else its short one in the file's code page."""
    try:
        return clean(attachment.long_filename())
    except UnicodeDecodeError:  # tnefparse reads a short name as UTF-8; Outlook writes cp1252
        return clean(attachment._name.decode(codepage or "cp1252", "replace"))


def check_tnef_structure(data: bytes, limits: OutlookLimits) -> None:
    """Raise Rejected unless ``data`` is a whole TNEF stream with a bounded number of parts."""
    # tnefparse reads a cut-off file without a word; walking the attributes first notices it.
    if not data.startswith(TNEF_SIGNATURE):
        raise Rejected(UNREADABLE["tnef"], "corrupt")
    end = len(data.rstrip(b"\0"))  # zero bytes after the last attribute are padding
    offset, count, attachments = TNEF_HEADER, 0, 0
    while offset < end:
        if len(data) - offset < TNEF_ATTRIBUTE_OVERHEAD:
            raise Rejected(UNREADABLE["tnef"], "corrupt")
        level, tag, length = struct.unpack_from("<BII", data, offset)
        offset += TNEF_ATTRIBUTE_OVERHEAD + length
        count += 1
        attachments += level == TNEF_ATTACHMENT_LEVEL and tag & 0xFFFF == ATT_ATTACH_REND_DATA
        if offset > len(data) or count > MAX_TNEF_ATTRIBUTES:
            raise Rejected(UNREADABLE["tnef"], "corrupt")
        if attachments > limits.max_attachments:
            raise Rejected(TOO_MANY.format(count=limits.max_attachments), "too_many_attachments")


def mapi_value(props: dict, prop_id: int):
    """Return the value of one MAPI property of a TNEF message, or None."""
    prop = props.get(prop_id)
    return prop.data if prop is not None else None


def tnef_sender(props: dict, triple) -> str:
    """Return "Name <address>" of a TNEF message's sender (MAPI first, then attFrom)."""
    name = clean(mapi_value(props, PR_SENDER_NAME) or mapi_value(props, PR_SENT_REPRESENTING_NAME))
    addresses = [
        clean(mapi_value(props, prop_id))
        for prop_id in (PR_SENDER_SMTP, PR_SENDER_EMAIL, PR_SENT_REPRESENTING_EMAIL)
    ]
    if isinstance(triple, tuple) and len(triple) == 3:
        name = name or clean(triple[0])
        addresses.append(clean(triple[2]))
    address = next((a for a in addresses if "@" in a), "")
    return name_and_address(name, address)


def name_and_address(name: str, address: str) -> str:
    """Return "Name <address>" as a decoded From line reads (the name quoted if need be)."""
    if not address:
        return name
    if not name:
        return address
    if any(char in name for char in SPECIALS):
        name = '"' + name.replace("\\", "").replace('"', "") + '"'
    return f"{name} <{address}>"


# -- shared ------------------------------------------------------------------------------------


def is_inline(hidden: bool, content_id, name: str) -> bool:
    """Return True for attachments nobody attached: hidden ones and pictures shown in the text."""
    return bool(hidden) or (bool(content_id) and name.lower().endswith(INLINE_PICTURES))


def clean(value) -> str:
    """Return a text value without NUL characters and outer blanks ('' for None)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value or "").replace("\x00", "").strip()


def iso_utc(value) -> str:
    """Return a date as ISO 8601 UTC ('' for anything else); a date without zone is UTC."""
    if not isinstance(value, dt.datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    except (OverflowError, ValueError):
        return ""


READERS = {"msg": read_msg, "tnef": read_tnef}
