"""``pipeline.formats.email``: the MIME messages samtale writes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

from pipeline.formats.email import mime_message

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
FORM = b"PK\x03\x04 a form, --=_samtale_ and -- lines inside\n--" + bytes(range(256)) * 40


def message(**changes):
    values = {
        "sender": ("HR Fjordlys", "hr@fjordlys.example"),
        "recipient": ("Åse Øvrebø-Lindqvist", "ase.lindqvist@fjordlys.example"),
        "reply_to": "",
        "subject": "Medarbeidersamtale 2027",
        "body": "Hei Åse,\n--\nskjemaet ligger ved.\n",
        "message_id": "<1@fjordlys.example>",
        "attachments": [("skjema.docx", FORM)],
        "now": NOW,
    }
    return mime_message(**{**values, **changes})


def test_each_multipart_gets_its_own_random_boundary_and_reads_back_whole():
    first, second = message(), message()
    assert first.get_boundary().startswith("=_samtale_")
    assert first.get_boundary() != second.get_boundary()
    parsed = email.message_from_bytes(first.as_bytes(), policy=email.policy.default)
    text = parsed.get_body().get_content().replace("\r\n", "\n")
    assert text == "Hei Åse,\n--\nskjemaet ligger ved.\n"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "skjema.docx"
    assert attachment.get_content() == FORM


def test_a_meeting_request_nests_its_alternative_under_another_boundary():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    msg = message(attachments=[], calendar=("REQUEST", ics))
    boundaries = [part.get_boundary() for part in msg.walk() if part.is_multipart()]
    assert boundaries and all(b.startswith("=_samtale_") for b in boundaries)
    assert len(set(boundaries)) == len(boundaries)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    calendar = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_content().replace("\r\n", "\n") == ics.decode().replace("\r\n", "\n")
