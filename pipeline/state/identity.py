"""A form's identity (cycle, employee, form kind, template version) and its HMAC seal."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, unquote

from pipeline.errors import Rejected

PREFIX = "samtale:1"
PROPERTY = "samtale.identity"
TOKEN = re.compile(r"samtale:1:\d{4}:[a-z]+:[A-Za-z0-9%._~-]+:[0-9a-f]{12}:[0-9a-f]{32}")


@dataclass(frozen=True)
class FormIdentity:
    """Who and what a form is for; the same identity is embedded in every copy of the form."""

    cycle: int
    kind: str
    employee_id: str
    template_version: str

    def message(self) -> bytes:
        """Return the bytes the HMAC covers."""
        return f"{self.cycle}|{self.kind}|{self.employee_id}|{self.template_version}".encode()

    def token(self, secret: bytes) -> str:
        """Return the identity as one line, sealed with the workspace secret."""
        mac = hmac.new(secret, self.message(), hashlib.sha256).hexdigest()[:32]
        employee = quote(self.employee_id, safe="")
        return f"{PREFIX}:{self.cycle}:{self.kind}:{employee}:{self.template_version}:{mac}"


def parse_token(token: str, secret: bytes, issued: Collection[str] = ()) -> FormIdentity:
    """Return the identity in ``token``; raise Rejected when it is malformed or forged."""
    # ``issued`` holds the tokens the ledger recorded for the forms this workspace generated:
    # a token found there is genuine even when its HMAC was made with a key since lost.
    token = token.strip()
    if not TOKEN.fullmatch(token):
        raise Rejected("the form's identity is damaged or missing", "identity_missing")
    _, _, cycle, kind, employee, version, mac = token.split(":")
    identity = FormIdentity(int(cycle), kind, unquote(employee), version)
    expected = identity.token(secret).rsplit(":", 1)[1]
    if not hmac.compare_digest(expected, mac) and token not in issued:
        raise Rejected(
            "the form's identity was edited or the form comes from another workspace "
            "(HMAC mismatch)",
            "identity_forged",
        )
    return identity


def find_tokens(text: str) -> list[str]:
    """Return every identity token found in free text (e.g. a footer)."""
    return TOKEN.findall(text)


def template_version(data: bytes) -> str:
    """Return the version of a template: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:12]
