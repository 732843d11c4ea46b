"""``pipeline.formats.mime``: the email package's policies, with header classes made once."""

from __future__ import annotations

import email
import email.policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage

from pipeline.formats.mime import HEADER_CLASSES, READING, SMTP


def test_a_header_class_is_made_once_per_name():
    assert HeaderRegistry()["subject"] is not HeaderRegistry()["subject"]  # why we keep them
    assert HEADER_CLASSES["subject"] is HEADER_CLASSES["subject"]
    assert HEADER_CLASSES["from"] is not HEADER_CLASSES["subject"]


def test_messages_written_and_read_with_our_policies_match_the_defaults():
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Åse Øvrebø-Lindqvist <ase.lindqvist@fjordlys.example>"
    msg["To"] = "HR <hr@fjordlys.example>"
    msg["Subject"] = "Re: Medarbeidersamtale 2027 – skjema"
    msg.set_content("Hei,\nher er skjemaet.\n")
    msg.add_attachment(
        b"PK\x03\x04" * 500, maintype="application", subtype="zip", filename="æ.docx"
    )
    data = msg.as_bytes()
    ours = email.message_from_bytes(data, policy=READING)
    theirs = email.message_from_bytes(data, policy=email.policy.default)
    for name in ("From", "To", "Subject", "Content-Type"):
        assert str(ours[name]) == str(theirs[name])
        assert ours[name].__class__.__bases__ == theirs[name].__class__.__bases__
    (mine,), (stdlib,) = list(ours.iter_attachments()), list(theirs.iter_attachments())
    assert (mine.get_filename(), mine.get_content()) == (
        stdlib.get_filename(),
        stdlib.get_content(),
    )
    assert ours["From"].addresses[0].display_name == "Åse Øvrebø-Lindqvist"
