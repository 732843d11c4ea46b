"""One person's part of a stored email: extracted for an access request, removed for erasure."""

from __future__ import annotations

from email.message import EmailMessage

from pipeline.formats import email_parts

ASE, OLIVER = b"ASE-FORM-BYTES", b"OLIVER-FORM-BYTES"


def message(text: str, files: list[tuple[str, bytes]]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Randi Sæther-Øvrebø <randi@fjordlys.example>"
    msg["To"] = "HR <hr@fjordlys.example>"
    msg["Subject"] = "Skjemaene"
    msg["Date"] = "Thu, 14 Jan 2027 09:30:00 +0000"
    msg.set_content(text)
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def forwarded() -> bytes:
    """Return an email with one form attached and another inside a forwarded email."""
    outer = message(
        "Hei,\n- Åse Øvrebø-Lindqvist (åse.docx)\n- Oliver Bjørnstad-Hughes (oliver.docx)\n",
        [("åse.docx", ASE)],
    )
    inner = message("Fra Oliver", [("oliver.docx", OLIVER)])
    outer.add_attachment(inner)
    return outer.as_bytes()


def test_attachments_are_found_at_any_depth():
    found = email_parts.attachments(forwarded())
    assert [(a.filename, a.data) for a in found] == [("åse.docx", ASE), ("oliver.docx", OLIVER)]


def test_extract_keeps_only_the_persons_attachments_and_lines():
    data, left_out = email_parts.extract(
        forwarded(), lambda a: a.data == ASE, text=True, other_names=["Oliver Bjørnstad-Hughes"]
    )
    part = email_parts.parse(data)
    assert left_out == 1
    assert [a.data for a in email_parts.attachments(data)] == [ASE]
    text = email_parts.plain_text(part)
    assert "Åse Øvrebø-Lindqvist" in text and "Oliver" not in text
    assert part["From"] == "Randi Sæther-Øvrebø <randi@fjordlys.example>"
    assert part[email_parts.EXTRACT_HEADER] == "yes"
    without_text, _ = email_parts.extract(forwarded(), lambda a: False, text=False, note="Del")
    assert email_parts.plain_text(email_parts.parse(without_text)).strip() == "Del"


def test_without_removes_the_persons_part_even_inside_a_forwarded_email():
    data, removed = email_parts.without(
        forwarded(), lambda a: a.data == OLIVER, ["Oliver Bjørnstad-Hughes"]
    )
    assert [a.data for a in removed] == [OLIVER]
    assert [a.data for a in email_parts.attachments(data)] == [ASE]
    text = email_parts.plain_text(email_parts.parse(data))
    assert "- […] (oliver.docx)" in text and "Åse Øvrebø-Lindqvist" in text


def test_without_leaves_an_email_with_nothing_to_remove_byte_for_byte():
    original = forwarded()
    assert email_parts.without(original, lambda a: False, ["Kari Nordmann"]) == (original, [])
