"""Sending by SMTP: one reused connection, TLS, login from the environment, rate limit, retries."""

from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from pipeline.errors import MailError, plain_reason

TLS_MODES = ("starttls", "ssl", "none")

USER_VARIABLE = "SAMTALE_SMTP_USER"

PASSWORD_VARIABLE = "SAMTALE_SMTP_PASSWORD"  # noqa: S105 (the variable name)

NO_SMTPUTF8_FIX = (
    "the server does not take addresses with letters like æ, ø or å before the @ (it lacks "
    "SMTPUTF8); ask whoever runs it to enable SMTPUTF8, or write an address without such "
    "letters in the roster"
)

# How an SMTP failure is treated: a permanent one fails that recipient, a temporary one is
# retried with backoff, a connection one reconnects (and stops the run when that keeps failing),
# a fatal one (login refused, TLS broken) stops the run at once.
PERMANENT, TEMPORARY, CONNECTION, FATAL = "permanent", "temporary", "connection", "fatal"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: server, TLS mode, rate limit and retry policy."""

    host: str
    port: int
    tls: str = "starttls"  # starttls | ssl | none (none only for a server on this machine)
    rate_per_second: float | None = None  # None: the config's [mail] rate_per_second
    max_retries: int = 3  # retries of one message after a temporary failure or lost connection
    backoff_seconds: float = 2.0  # first wait before a retry; doubles every time
    timeout_seconds: float = 60.0
    ca_file: str | None = None  # extra CA certificate to trust (a company relay with its own CA)

    def __post_init__(self) -> None:
        """Refuse unknown TLS modes, bad ports and plain text to another machine."""
        if self.tls not in TLS_MODES:
            raise MailError(f"--tls {self.tls!r} is not known; use one of {', '.join(TLS_MODES)}")
        if not 0 < self.port < 65536:
            raise MailError(f"SMTP port {self.port} is out of range; use 587, 465 or 25")
        for name, value in (
            ("max_retries", self.max_retries),
            ("backoff_seconds", self.backoff_seconds),
            ("rate_per_second", self.rate_per_second or 0),
        ):
            if value < 0:
                raise MailError(f"SMTP {name} is {value}; use 0 or more (0 turns it off)")
        if self.timeout_seconds <= 0:
            raise MailError(f"SMTP timeout_seconds is {self.timeout_seconds}; use 60 or so")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise MailError(f"{self.ca_file}: CA certificate not found; check the path")
        if self.tls == "none" and not is_loopback(self.host):
            raise MailError(
                f"--tls none would send personal data unencrypted to {self.host}; it is only "
                "allowed for a server on this machine (localhost, 127.0.0.1, ::1). "
                "Use --tls starttls (port 587) or --tls ssl (port 465)"
            )


class RunStopped(Exception):
    """The SMTP server cannot be used any more in this run."""


def parse_smtp_address(text: str) -> tuple[str, int]:
    """Return (host, port) from ``host:port`` or ``[ipv6]:port``."""
    value = text.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([^\s:\[\]]+):(\d+)", value)
    if not match:
        raise MailError(
            f"--smtp {text!r}: expected host:port, for example smtp.fjordlys.example:587 "
            "(or [::1]:25 for an IPv6 address)"
        )
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise MailError(f"--smtp {text!r}: port {port} is out of range; use 587, 465 or 25")
    return host, port


def is_loopback(host: str) -> bool:
    """Return True when ``host`` names this machine (localhost, 127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class SmtpSession:
    """One SMTP connection reused across messages, with a rate limit, retries and reconnects."""

    def __init__(self, settings: SmtpSettings, rate: float, env: Mapping[str, str]):
        self.settings = settings
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.user = env.get(USER_VARIABLE, "")
        self._password = env.get(PASSWORD_VARIABLE, "")  # never logged, never in a message
        self.smtp: smtplib.SMTP | None = None
        self.last_start: float | None = None

    def deliver(self, msg: EmailMessage, sender: str, recipient: str) -> tuple[bool, str]:
        """Return (True, note) when accepted, (False, reason) when refused for this recipient."""
        delay = self.settings.backoff_seconds
        nature, detail = CONNECTION, ""
        for attempt in range(self.settings.max_retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                smtp = self._open()
            except (smtplib.SMTPException, OSError) as exc:
                nature, detail = classify(exc)
                if nature in (FATAL, PERMANENT):
                    raise RunStopped(f"{self._where()}: {detail}") from exc
                continue
            self._wait_for_rate()
            try:
                smtp.send_message(msg, from_addr=sender, to_addrs=[recipient])
                return True, f"accepted by {self._where()}"
            except smtplib.SMTPNotSupportedError:  # raised before MAIL FROM: nothing was sent
                return False, f"refused by {self._where()}: {NO_SMTPUTF8_FIX}"
            except (smtplib.SMTPException, OSError) as exc:
                nature, detail = classify(exc)
                if nature in (CONNECTION, FATAL) or smtp.sock is None:
                    self.close(polite=False)
                if nature == PERMANENT:
                    return False, f"refused by {self._where()}: {detail}"
                if nature == FATAL:
                    raise RunStopped(f"{self._where()}: {detail}") from exc
        tries = self.settings.max_retries + 1
        if nature == TEMPORARY:
            return False, f"{self._where()} answered {detail} {tries} time(s); run send again later"
        where = self._where()
        raise RunStopped(f"no working connection to {where} after {tries} tries ({detail})")

    def close(self, *, polite: bool = True) -> None:
        """Close the connection, if one is open (QUIT first when it still works)."""
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            if polite and smtp.sock is not None:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def _open(self) -> smtplib.SMTP:
        """Return the open connection, connecting (TLS, login) when there is none."""
        if self.smtp is not None and self.smtp.sock is not None:
            return self.smtp
        self.close(polite=False)
        s = self.settings
        context = ssl.create_default_context() if s.tls != "none" else None
        if context is not None and s.ca_file:
            context.load_verify_locations(cafile=s.ca_file)
        if s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            if s.tls == "starttls":
                smtp.ehlo()
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self._password)
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        return smtp

    def _wait_for_rate(self) -> None:
        """Sleep so that messages start at most ``rate_per_second`` per second."""
        now = time.monotonic()
        if self.last_start is not None and self.interval:
            wait = self.last_start + self.interval - now
            if wait > 0:
                time.sleep(wait)
                now += wait
        self.last_start = now

    def _where(self) -> str:
        """Return ``host:port`` for messages."""
        return f"{self.settings.host}:{self.settings.port}"


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (nature, detail) of an SMTP failure: permanent, temporary, connection or fatal."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = smtp_reply(exc.smtp_code, exc.smtp_error)
        return FATAL, f"login refused ({reply}); check {USER_VARIABLE} and {PASSWORD_VARIABLE}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return FATAL, f"the server does not support this ({exc}); check --tls and the login"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FATAL, (
            f"the server's certificate is not trusted ({exc.verify_message}); check that --smtp "
            "names the server as its certificate does, or set SSL_CERT_FILE to your company's "
            "CA certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return FATAL, f"TLS failed ({exc.reason}); use --tls starttls for 587, ssl for 465"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, exc.smtp_error
    else:
        if getattr(exc, "strerror", None):  # "[Errno 111] Connection refused" in plain words
            return CONNECTION, plain_reason(exc)
        return CONNECTION, str(exc) or "the connection failed"
    detail = smtp_reply(code, text)
    if code == 421:  # the server is closing the connection
        return CONNECTION, detail
    if 400 <= code < 500:
        return TEMPORARY, detail
    if 500 <= code < 600:
        return PERMANENT, detail
    return CONNECTION, detail


def smtp_reply(code: int, text: bytes | str) -> str:
    """Return an SMTP reply as one readable line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"
