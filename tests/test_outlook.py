"""Tests for pipeline/formats/outlook.py: .msg and winmail.dat in, plain data out, hostile too."""

import datetime as dt
import email
import email.policy
import multiprocessing
import shutil
import struct
import subprocess
import time

import pytest

from pipeline.errors import Rejected
from pipeline.formats.outlook import (
    DEFAULT_LIMITS,
    OutlookLimits,
    outlook_kind,
    read_msg,
    read_outlook,
    read_tnef,
)

from .outlook_files import Mail, msg_file, tnef_attribute, tnef_file

SIRI = ("Siri Kvåle-Øvrebø", "siri.kvale-ovrebo@fjordlys.example")
TONE = ("Aasen, Tone", "tone.aasen@fjordlys.example")
SENT = dt.datetime(2027, 1, 18, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
FORM = b"PK\x03\x04" + bytes(range(256)) * 40  # stands in for a form: bytes must come back as sent
EXCEPTION_NAMES = ("Error", "Exception", "Traceback", "olefile", "tnefparse", "extract_msg")


def reply(**changes) -> Mail:
    """Return Siri's reply with her form and a scan attached (and a hidden logo)."""
    fields = {
        "sender": SIRI,
        "sent_at": SENT,
        "subject": "SV: Medarbeidersamtale 2027 – forberedelse",
        "attachments": {"skjema 2027.docx": FORM, "skannet.pdf": b"%PDF-1.4\n%%EOF\n"},
        "hidden": {"logo.png": b"\x89PNG\r\n\x1a\n"},
    }
    return Mail(**{**fields, **changes})


def refusal(data: bytes, kind: str, limits: OutlookLimits = DEFAULT_LIMITS) -> Rejected:
    """Return why ``read_outlook`` turns a file away (failing when it does not)."""
    with pytest.raises(Rejected) as caught:
        read_outlook(data, kind, limits)
    return caught.value


# -- what comes out --------------------------------------------------------------------------


@pytest.mark.parametrize(("writer", "kind"), [(msg_file, "msg"), (tnef_file, "tnef")])
def test_sender_date_subject_and_attachments_come_out_as_plain_data(writer, kind):
    message = read_outlook(writer(reply()), kind)
    assert message.sender == "Siri Kvåle-Øvrebø <siri.kvale-ovrebo@fjordlys.example>"
    assert message.sent_at == "2027-01-18T08:15:00+00:00"
    assert message.subject == "SV: Medarbeidersamtale 2027 – forberedelse"
    assert message.attachments[:2] == (
        ("skjema 2027.docx", FORM),
        ("skannet.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    assert message.unreadable == ()


def test_a_hidden_attachment_of_an_msg_is_not_an_attachment():
    names = [name for name, _ in read_outlook(msg_file(reply()), "msg").attachments]
    assert names == ["skjema 2027.docx", "skannet.pdf"]


def test_a_broken_attachment_of_an_msg_is_named_and_the_good_ones_still_come_out():
    message = read_outlook(msg_file(reply(broken=("tapt.docx",))), "msg")
    assert message.unreadable == ("tapt.docx",)
    assert message.attachments[0] == ("skjema 2027.docx", FORM)


def test_an_msg_whose_only_attachment_is_broken_is_damaged():
    rejected = refusal(msg_file(reply(attachments={}, broken=("tapt.docx",))), "msg")
    assert rejected.code == "corrupt"
    assert rejected.reason.startswith(
        "an Outlook message (.msg) whose attachments could not be read (tapt.docx: damaged)"
    )


def test_a_short_attachment_name_in_the_windows_code_page_is_read():
    # an attachment with only attAttachTitle (no MAPI long name), as older Outlook writes it
    title = tnef_attribute(2, 0x00018010, "skjøma.doc".encode("cp1252") + b"\0")
    start = tnef_attribute(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))
    data = tnef_file(reply(attachments={})) + start + title + tnef_attribute(2, 0x0006800F, FORM)
    assert read_outlook(data, "tnef").attachments == (("skjøma.doc", FORM),)


def test_a_name_with_a_comma_is_quoted_so_the_address_reads_back():
    message = read_outlook(tnef_file(reply(sender=TONE)), "tnef")
    assert message.sender == '"Aasen, Tone" <tone.aasen@fjordlys.example>'


def test_a_received_msg_names_its_sender_as_its_mail_headers_do():
    headers = (
        "Received: from mx.fjordlys.example by outlook.example; Mon, 18 Jan 2027 08:15:02 +0000\r\n"
        "From: =?utf-8?q?Kv=C3=A5le-=C3=98vreb=C3=B8=2C_Siri?= <siri@fjordlys.example>\r\n"
        "Subject: SV: skjema\r\n\r\n"
    )
    message = read_outlook(msg_file(reply(headers=headers)), "msg")
    assert message.sender == '"Kvåle-Øvrebø, Siri" <siri@fjordlys.example>'


def test_a_message_without_date_or_sender_name_says_so_with_empty_values():
    message = read_outlook(msg_file(reply(sent_at=None, sender=("", SIRI[1]))), "msg")
    assert (message.sender, message.sent_at) == (SIRI[1], "")


def test_a_message_dragged_onto_an_msg_comes_out_as_an_msg_to_open_in_turn():
    forwarded = reply(embedded={"Svar fra Tone": reply(sender=TONE, sent_at=None)})
    outer = read_outlook(msg_file(forwarded), "msg")
    name, data = outer.attachments[-1]
    assert name == "Svar fra Tone.msg" and outlook_kind(name, data) == "msg"
    inner = read_outlook(data, "msg")
    assert inner.sender == '"Aasen, Tone" <tone.aasen@fjordlys.example>'
    assert inner.attachments[0] == ("skjema 2027.docx", FORM)


def test_a_message_embedded_in_a_winmail_dat_comes_out_as_tnef_to_open_in_turn():
    outer = read_outlook(tnef_file(reply(embedded={"Svar fra Tone": reply(sender=TONE)})), "tnef")
    name, data = outer.attachments[-1]
    assert name == "Svar fra Tone" and outlook_kind(name, data) == "tnef"
    assert read_outlook(data, "tnef").attachments[0] == ("skjema 2027.docx", FORM)


@pytest.mark.parametrize(
    ("name", "head", "content_type", "kind"),
    [
        ("winmail.dat", b"\x78\x9f\x3e\x22\x01\x00", "", "tnef"),
        ("WINMAIL (2).DAT", b"\x78\x9f\x3e\x22", "application/octet-stream", "tnef"),
        ("attachment", b"", "application/ms-tnef", "tnef"),
        ("Svar.MSG", b"\xd0\xcf\x11\xe0", "", "msg"),
        ("svar", b"", "application/vnd.ms-outlook", "msg"),
        ("winmail.dat", b"PK\x03\x04", "", ""),
        ("skjema.doc", b"\xd0\xcf\x11\xe0", "application/msword", ""),
        ("skjema.docx", b"PK\x03\x04", "", ""),
    ],
)
def test_outlook_files_are_known_by_their_content_or_name(name, head, content_type, kind):
    assert outlook_kind(name, head, content_type) == kind


def test_zero_bytes_after_the_last_attribute_are_padding():
    data = tnef_file(reply()) + b"\0" * 7
    assert read_outlook(data, "tnef").attachments[0] == ("skjema 2027.docx", FORM)


def test_reading_runs_in_a_child_and_the_same_data_comes_out_in_process():
    data = msg_file(reply())
    assert read_outlook(data, "msg") == read_msg(data)
    data = tnef_file(reply())
    assert read_outlook(data, "tnef") == read_tnef(data)


# -- hostile and broken files ----------------------------------------------------------------


def stalling_tnef() -> bytes:
    """Return a 40-byte TNEF whose MAPI block claims 4 billion properties (tnefparse loops)."""
    return tnef_file(reply())[:6] + tnef_attribute(1, 0x00069003, struct.pack("<I", 0xFFFFFFFF))


def aliased(data: bytes, stream: str) -> bytes:
    """Return an OLE file whose streams called ``stream`` all claim the first one's sectors."""
    out, name = bytearray(data), stream.encode("utf-16-le")
    entries = [  # directory entries are 128 bytes long, after the 512-byte header
        at for at in range(512, len(out), 128) if out[at : at + len(name)] == name
    ]
    start, size = struct.unpack_from("<II", out, entries[0] + 116)
    for at in entries[1:]:
        struct.pack_into("<II", out, at + 116, start, size)  # start sector, stream size
    return bytes(out)


def nested_tnef(levels: int) -> bytes:
    """Return a winmail.dat of messages embedded ``levels`` deep."""
    message = reply(embedded={})
    for _ in range(levels):
        message = reply(attachments={}, hidden={}, embedded={"videre": message})
    return tnef_file(message)


def test_a_file_that_stalls_the_reader_is_stopped_in_time_and_leaves_no_process():
    started = time.monotonic()
    rejected = refusal(stalling_tnef(), "tnef", OutlookLimits(max_seconds=1))
    assert rejected.code == "too_slow"
    assert "within 1 seconds" in rejected.reason and "built to stall" in rejected.reason
    assert time.monotonic() - started < 5
    assert multiprocessing.active_children() == []


def test_a_file_that_needs_too_much_memory_is_stopped():
    big = reply(attachments={"stor.docx": b"\0" * (64 << 20)}, hidden={})
    rejected = refusal(tnef_file(big), "tnef", OutlookLimits(max_memory_bytes=16 << 20))
    assert rejected.code == "too_large" and "memory" in rejected.reason


def test_streams_that_share_their_sectors_are_refused():
    # four directory entries claim one 100 KB chain of sectors: 400 KB out of a 110 KB file
    files = {"0.docx": FORM * 10} | {f"{n}.docx": b"x" for n in range(1, 4)}
    data = aliased(msg_file(reply(attachments=files, hidden={})), "__substg1.0_37010102")
    assert len(data) < 120_000
    assert refusal(data, "msg").code == "corrupt"


@pytest.mark.parametrize(("writer", "kind"), [(msg_file, "msg"), (tnef_file, "tnef")])
def test_attachments_adding_up_to_more_than_the_bound_are_refused(writer, kind):
    files = {f"{n}.docx": FORM * 30 for n in range(4)}  # 4 x 300 KB
    rejected = refusal(
        writer(reply(attachments=files)), kind, OutlookLimits(max_total_bytes=1 << 20)
    )
    assert rejected.code == "too_large"
    assert rejected.reason.startswith("an Outlook file whose attachments add up to more than 1 MB")


@pytest.mark.parametrize(("writer", "kind"), [(msg_file, "msg"), (tnef_file, "tnef")])
def test_too_many_attachments_are_refused(writer, kind):
    many = reply(attachments={f"{n}.pdf": b"%PDF" for n in range(6)})
    rejected = refusal(writer(many), kind, OutlookLimits(max_attachments=5))
    assert rejected.code == "too_many_attachments"
    assert rejected.reason == (
        "an Outlook file with more than 5 attachments; ask for the filled form on its own"
    )


def test_messages_embedded_until_the_parser_gives_up_are_unreadable_not_a_crash():
    rejected = refusal(nested_tnef(400), "tnef")
    assert rejected.code == "corrupt"


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        (tnef_file(reply())[:-300], "tnef", "winmail.dat that could not be read"),
        (tnef_file(reply()) + b"\x02\x10\x80\x01\x00", "tnef", "winmail.dat that could not be"),
        (b"\x78\x9f\x3e\x22", "tnef", "winmail.dat"),
        (b"not a winmail.dat at all", "tnef", "winmail.dat that could not be read"),
        (msg_file(reply())[:3000], "msg", "Outlook message (.msg) that could not be read"),
        (b"PK\x03\x04 a Word file called .msg", "msg", "Outlook message (.msg)"),
        (b"", "msg", "Outlook message (.msg)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, "msg", "Outlook message (.msg)"),
        (b"anything", "pst", "not one of Outlook's own files"),
    ],
)
def test_broken_files_are_refused_with_a_reason_hr_can_act_on(data, kind, words, capfd):
    rejected = refusal(data, kind)
    assert words in rejected.reason
    assert "ask" in rejected.reason
    assert not any(name in rejected.reason for name in EXCEPTION_NAMES)
    assert capfd.readouterr() == ("", "")  # the libraries' complaints are not printed


def test_an_ole_file_that_is_no_message_is_refused():
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    writer.addEntry(["WordDocument"], b"\0" * 600)
    import io

    buffer = io.BytesIO()
    writer.write(buffer)
    assert refusal(buffer.getvalue(), "msg").code == "corrupt"


# -- the fixtures read the same in independent readers ---------------------------------------


@pytest.mark.skipif(
    not shutil.which("msgconvert"), reason="needs apt-get install libemail-outlook-message-perl"
)
def test_the_msg_fixture_reads_the_same_in_another_reader(tmp_path):
    path = tmp_path / "svar.msg"
    path.write_bytes(msg_file(reply()))
    command = ["msgconvert", "--outfile", "-", str(path)]
    converted = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout
    message = email.message_from_bytes(converted, policy=email.policy.default)
    assert message["Subject"] == reply().subject
    assert message["Date"].datetime == SENT
    assert SIRI[1] in str(message["From"])
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert files["skjema 2027.docx"] == FORM and "logo.png" in files


@pytest.mark.skipif(not shutil.which("tnef"), reason="needs apt-get install tnef")
def test_the_winmail_dat_fixture_reads_the_same_in_another_reader(tmp_path):
    path = tmp_path / "winmail.dat"
    path.write_bytes(tnef_file(reply()))
    out = tmp_path / "ut"
    out.mkdir()
    subprocess.run(["tnef", "-C", str(out), str(path)], check=True, timeout=60)
    assert (out / "skjema 2027.docx").read_bytes() == FORM
    assert (out / "skannet.pdf").read_bytes() == reply().attachments["skannet.pdf"]
