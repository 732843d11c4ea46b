"""Tests for pipeline/identity.py: the sealed identity of a form."""

import pytest

from pipeline.errors import Rejected
from pipeline.state.identity import FormIdentity, find_tokens, parse_token, template_version

SECRET = b"k" * 32


def test_token_round_trips_and_survives_odd_ids():
    identity = FormIdentity(2027, "employee", "A-10/01 ø", "0123456789ab")
    assert parse_token(identity.token(SECRET), SECRET) == identity


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace(":2027:", ":2026:"),
        lambda t: t.replace(":employee:", ":manager:"),
        lambda t: t.replace(":1001:", ":1002:"),
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
    ],
    ids=["cycle", "kind", "employee", "mac"],
)
def test_an_edited_identity_is_detected(edit):
    token = FormIdentity(2027, "employee", "1001", "0123456789ab").token(SECRET)
    with pytest.raises(Rejected) as caught:
        parse_token(edit(token), SECRET)
    assert caught.value.code == "identity_forged"


def test_another_workspace_secret_is_detected():
    token = FormIdentity(2027, "employee", "1001", "0123456789ab").token(SECRET)
    with pytest.raises(Rejected, match="another workspace"):
        parse_token(token, b"x" * 32)


def test_garbage_is_missing_identity():
    with pytest.raises(Rejected) as caught:
        parse_token("samtale:1:oops", SECRET)
    assert caught.value.code == "identity_missing"


def test_tokens_are_found_in_footer_text():
    token = FormIdentity(2027, "manager", "1001", "0123456789ab").token(SECRET)
    assert find_tokens(f"Skjema-ID: {token}  Side 1") == [token]


def test_template_version_changes_with_the_bytes():
    assert template_version(b"a") != template_version(b"b")
    assert len(template_version(b"a")) == 12
