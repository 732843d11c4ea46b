"""The email package's policies for the messages samtale writes and reads, made faster."""

from __future__ import annotations

import functools
from email import policy
from email.headerregistry import HeaderRegistry


class HeaderClasses(HeaderRegistry):
    """The email package's header registry, making each kind of header's class only once."""

    # The registry builds a new class (``type(...)``) for every header it stores or parses:
    # a quarter of the time writing an email takes. The classes it builds for a name are alike.

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one registry; a few dozen header names
    def __getitem__(self, name: str) -> type:
        """Return the class for headers called ``name`` (made on first use)."""
        return super().__getitem__(name)


HEADER_CLASSES = HeaderClasses()
SMTP = policy.SMTP.clone(header_factory=HEADER_CLASSES)  # the emails send writes
SMTPUTF8 = policy.SMTPUTF8.clone(header_factory=HEADER_CLASSES)


class KeptHeaders(policy.EmailPolicy):
    """The email package's default policy, each header value parsed once however often asked."""

    # Reading one email asks for the same Content-Type a dozen times, and each time the default
    # policy parses it again (most of the time an email takes). A parsed header never changes.

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one policy object; an email asks for few
    def header_fetch_parse(self, name, value):
        """Return the header as the default policy parses it (kept for the next call)."""
        return super().header_fetch_parse(name, value)


READING = KeptHeaders(header_factory=HEADER_CLASSES)  # returned emails
