"""Tests for pipeline/formats/smtp.py: the SMTP settings and the --smtp option's address."""

from __future__ import annotations

import smtplib
import socket

import pytest

from pipeline.errors import MailError
from pipeline.formats.smtp import SmtpSettings, parse_smtp_address


@pytest.mark.parametrize("host", ["smtp.fjordlys.example", "192.0.2.10", "10.0.0.1", "::2"])
def test_plain_text_to_another_machine_is_refused_without_connecting(host, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("must not connect")

    monkeypatch.setattr(smtplib, "SMTP", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(MailError, match="only allowed for a server on this machine"):
        SmtpSettings(host, 25, tls="none")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1"])
def test_plain_text_to_this_machine_is_allowed(host):
    assert SmtpSettings(host, 2525, tls="none").tls == "none"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp.fjordlys.example:587", ("smtp.fjordlys.example", 587)),
        ("127.0.0.1:2525", ("127.0.0.1", 2525)),
        ("[::1]:25", ("::1", 25)),
        (" mail.fjordlys.example:465 ", ("mail.fjordlys.example", 465)),
    ],
)
def test_parse_smtp_address(text, expected):
    assert parse_smtp_address(text) == expected


@pytest.mark.parametrize("text", ["smtp.fjordlys.example", "host:", ":25", "host:99999", "a b:25"])
def test_parse_smtp_address_rejects_bad_input(text):
    with pytest.raises(MailError, match="host:port|out of range"):
        parse_smtp_address(text)


def test_bad_smtp_settings_say_how_to_fix_them():
    cases = [
        ({"max_retries": -1}, "max_retries is -1; use 0 or more"),
        ({"backoff_seconds": -0.5}, "backoff_seconds is -0.5; use 0 or more"),
        ({"rate_per_second": -2}, "rate_per_second is -2; use 0 or more"),
        ({"timeout_seconds": 0}, "timeout_seconds is 0; use 60"),
        (
            {"ca_file": "/ingen/firma-ca.pem"},
            "/ingen/firma-ca.pem: CA certificate not found; check",
        ),
    ]
    for changes, message in cases:
        with pytest.raises(MailError) as caught:
            SmtpSettings("127.0.0.1", 2525, tls="none", **changes)
        assert message in str(caught.value)
