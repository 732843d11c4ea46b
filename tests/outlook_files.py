"""Build Outlook's own files for tests: an .msg (MS-OXMSG) and a winmail.dat (MS-OXTNEF).

No library writes either format, so these follow Microsoft's specifications: the .msg is an OLE
compound file written with extract-msg's own ``OleWriter`` (its property streams laid out as
MS-OXMSG 2.2 and 2.4 say), the TNEF stream is written attribute by attribute (MS-OXTNEF 2.1.3).
Both were checked once against independent readers: Debian's ``msgconvert``
(Email::Outlook::Message, Perl) turns the .msg into an email with the same sender, date, subject
and attachment, and ``tnef`` (C) lists and extracts the winmail.dat's attachments.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from dataclasses import dataclass, field

from extract_msg.ole_writer import OleWriter

PT_LONG = 0x0003
PT_BOOLEAN = 0x000B
PT_SYSTIME = 0x0040
PT_UNICODE = 0x001F
PT_BINARY = 0x0102
PROPERTY_READ_WRITE = 0x00000006  # PROPATTR_READABLE | PROPATTR_WRITABLE
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
ATTACH_BY_VALUE = 1
ATTACH_EMBEDDED_MSG = 5


def filetime(when: dt.datetime) -> int:
    """Return a moment as a Windows FILETIME (100 ns steps since 1601)."""
    return (when - FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10


# -- .msg ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """An Outlook message to write (as .msg or winmail.dat), sender as (name, address)."""

    sender: tuple[str, str]
    sent_at: dt.datetime | None
    subject: str
    attachments: dict[str, bytes] = field(default_factory=dict)
    embedded: dict[str, Mail] = field(default_factory=dict)  # messages dragged onto this one
    hidden: dict[str, bytes] = field(default_factory=dict)  # marked hidden (inline pictures)
    broken: tuple[str, ...] = ()  # attached by value, but the data stream is missing (.msg only)
    headers: str = ""  # the mail headers a received message keeps (.msg only)


def msg_file(message: Mail) -> bytes:
    """Return ``message`` as an .msg file."""
    writer = OleWriter()
    writer.addEntry(["__nameid_version1.0"], storage=True)
    for stream in ("00020102", "00030102", "00040102"):  # no named properties
        writer.addEntry(["__nameid_version1.0", f"__substg1.0_{stream}"], b"")
    add_message(writer, [], message)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def add_message(writer: OleWriter, prefix: list[str], message: Mail) -> None:
    """Add one message's streams and attachments under ``prefix`` ([] for the file itself)."""
    name, address = message.sender
    strings = {0x001A: "IPM.Note", 0x0037: message.subject, 0x0C1A: name, 0x0C1E: "SMTP"}
    strings |= {0x0C1F: address, 0x5D01: address}
    if message.headers:
        strings[0x007D] = message.headers  # PR_TRANSPORT_MESSAGE_HEADERS
    variable = add_strings(writer, prefix, strings)
    files = [(n, d, False) for n, d in message.attachments.items()]
    files += [(n, d, True) for n, d in message.hidden.items()]
    for number, (file_name, data, is_hidden) in enumerate(files):
        add_attachment(writer, prefix, number, file_name, data, is_hidden)
    for number, (file_name, inner) in enumerate(message.embedded.items(), start=len(files)):
        add_embedded(writer, prefix, number, file_name, inner)
    count = len(files) + len(message.embedded)
    for number, file_name in enumerate(message.broken, start=count):
        add_attachment(writer, prefix, number, file_name, None, False)
    count += len(message.broken)
    header = struct.pack("<8xIIII", 0, count, 0, count).ljust(24 if prefix else 32, b"\0")
    entries = fixed(0x0E07, PT_LONG, 1)  # MSGFLAG_READ, and not MSGFLAG_UNSENT: it was sent
    if message.sent_at is not None:
        entries += fixed(0x0039, PT_SYSTIME, filetime(message.sent_at))  # PR_CLIENT_SUBMIT_TIME
    writer.addEntry([*prefix, "__properties_version1.0"], header + entries + variable)


def add_attachment(
    writer, prefix, number: int, name: str, data: bytes | None, hidden: bool
) -> None:
    """Add one attached file (by value) under ``prefix``; without data when ``data`` is None."""
    folder = [*prefix, f"__attach_version1.0_#{number:08X}"]
    writer.addEntry(folder, storage=True)
    variable = add_strings(writer, folder, {0x3707: name, 0x3704: name[:12], 0x3001: name})
    if data is not None:
        writer.addEntry([*folder, f"__substg1.0_3701{PT_BINARY:04X}"], data)
        variable += variable_entry(0x3701, PT_BINARY, len(data))
    properties = fixed(0x3705, PT_LONG, ATTACH_BY_VALUE) + fixed(0x0E21, PT_LONG, number)
    properties += fixed(0x370B, PT_LONG, 0xFFFFFFFF)  # not shown in the text
    if hidden:
        properties += fixed(0x7FFE, PT_BOOLEAN, 1)
    writer.addEntry([*folder, "__properties_version1.0"], b"\0" * 8 + properties + variable)


def add_embedded(writer, prefix, number: int, name: str, inner: Mail) -> None:
    """Add another message as an embedded message attachment under ``prefix``."""
    folder = [*prefix, f"__attach_version1.0_#{number:08X}"]
    writer.addEntry(folder, storage=True)
    variable = add_strings(writer, folder, {0x3001: name})
    writer.addEntry([*folder, "__substg1.0_3701000D"], storage=True)
    add_message(writer, [*folder, "__substg1.0_3701000D"], inner)
    properties = fixed(0x3705, PT_LONG, ATTACH_EMBEDDED_MSG) + fixed(0x0E21, PT_LONG, number)
    writer.addEntry([*folder, "__properties_version1.0"], b"\0" * 8 + properties + variable)


def add_strings(writer, prefix, strings: dict[int, str]) -> bytes:
    """Add Unicode string streams under ``prefix``; return their property stream entries."""
    entries = b""
    for prop_id, text in strings.items():
        data = text.encode("utf-16-le")
        writer.addEntry([*prefix, f"__substg1.0_{prop_id:04X}{PT_UNICODE:04X}"], data)
        entries += variable_entry(prop_id, PT_UNICODE, len(data) + 2)  # size counts the NUL
    return entries


def fixed(prop_id: int, prop_type: int, value: int) -> bytes:
    """Return a property stream entry of a fixed-size property (MS-OXMSG 2.4.2.1)."""
    packed = struct.pack("<Q" if prop_type == PT_SYSTIME else "<I4x", value)
    return struct.pack("<II", prop_id << 16 | prop_type, PROPERTY_READ_WRITE) + packed


def variable_entry(prop_id: int, prop_type: int, size: int) -> bytes:
    """Return a property stream entry of a variable-size property (MS-OXMSG 2.4.2.2)."""
    return struct.pack("<IIII", prop_id << 16 | prop_type, PROPERTY_READ_WRITE, size, 0)


# -- winmail.dat -----------------------------------------------------------------------------

TNEF_SIGNATURE = 0x223E9F78
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 0x01, 0x02
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_MAPI_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005
PT_OBJECT = 0x000D
IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")


def tnef_file(message: Mail, key: int = 0x5A17) -> bytes:
    """Return ``message`` as a TNEF stream, the way Outlook writes a winmail.dat."""
    out = struct.pack("<IH", TNEF_SIGNATURE, key)
    out += tnef_attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += tnef_attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += tnef_attribute(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0")
    out += tnef_attribute(LEVEL_MESSAGE, ATT_SUBJECT, message.subject.encode("cp1252") + b"\0")
    if message.sent_at is not None:
        when = message.sent_at.astimezone(dt.UTC)
        parts = (when.year, when.month, when.day, when.hour, when.minute, when.second)
        date = struct.pack("<7H", *parts, when.isoweekday() % 7)
        out += tnef_attribute(LEVEL_MESSAGE, ATT_DATE_SENT, date)
    out += tnef_attribute(LEVEL_MESSAGE, ATT_MAPI_PROPS, mapi_properties(message_props(message)))
    for name, data in message.attachments.items():
        out += tnef_attachment(name, data)
    for name, inner in message.embedded.items():
        out += tnef_attachment(name, b"", IID_IMESSAGE + tnef_file(inner))
    return out


def message_props(message: Mail) -> list[tuple[int, int, bytes]]:
    """Return the MAPI properties of a TNEF message: sender and submit time."""
    name, address = message.sender
    props = [(0x0C1A, PT_UNICODE, unicode(name)), (0x0C1E, PT_UNICODE, unicode("SMTP"))]
    props.append((0x0C1F, PT_UNICODE, unicode(address)))
    if message.sent_at is not None:
        props.append((0x0039, PT_SYSTIME, struct.pack("<Q", filetime(message.sent_at))))
    return props


def tnef_attachment(name: str, data: bytes, embedded: bytes = b"") -> bytes:
    """Return the attributes of one attachment: its data, or an embedded message."""
    render = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)  # a file, not shown in the text
    out = tnef_attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, render)
    out += tnef_attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, name[:12].encode("cp1252") + b"\0")
    props = [(0x3707, PT_UNICODE, unicode(name))]
    if embedded:
        props += [(0x3705, PT_LONG, struct.pack("<I", ATTACH_EMBEDDED_MSG))]
        props += [(0x3701, PT_OBJECT, embedded)]
    else:
        out += tnef_attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data)
        props += [(0x3705, PT_LONG, struct.pack("<I", ATTACH_BY_VALUE))]
    return out + tnef_attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, mapi_properties(props))


def tnef_attribute(level: int, tag: int, data: bytes) -> bytes:
    """Return one TNEF attribute: level, tag, length, data and checksum (MS-OXTNEF 2.1.3.1)."""
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, tag, len(data)) + data + struct.pack("<H", checksum)


def mapi_properties(props: list[tuple[int, int, bytes]]) -> bytes:
    """Return an attMAPIProps block: fixed values padded to 4, variable ones counted (2.1.3.4)."""
    out = struct.pack("<I", len(props))
    for prop_id, prop_type, value in props:
        out += struct.pack("<HH", prop_type, prop_id)
        if prop_type in (PT_UNICODE, PT_BINARY, PT_OBJECT):
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * (-len(value) % 4)
        else:
            out += value + b"\0" * (-len(value) % 4)
    return out


def unicode(text: str) -> bytes:
    """Return a MAPI Unicode string value: UTF-16LE with its NUL."""
    return (text + "\0").encode("utf-16-le")
