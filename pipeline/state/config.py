"""The workspace config file (``samtale.toml``): its tables, their defaults and their checks."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class MailConfig:
    """Sender, reply-to, deadline and HR contact used in emails."""

    sender_name: str = "HR"
    sender_address: str = "hr@example.invalid"
    reply_to: str = ""
    deadline: str = ""
    hr_contact: str = ""
    rate_per_second: float = 5.0


@dataclass(frozen=True)
class Config:
    """The workspace config file (``samtale.toml``), with defaults for what it leaves out."""

    organisation: str = "Organisasjonen"
    mail: MailConfig = field(default_factory=MailConfig)
    seal_certificate: str = ""
    seal_subject: str = ""


CONFIG_TABLES = {  # table -> {key: accepted types}
    "organisation": {"name": (str,)},
    "mail": {
        "sender_name": (str,),
        "sender_address": (str,),
        "reply_to": (str,),
        "deadline": (str, dt.date),
        "hr_contact": (str,),
        "rate_per_second": (int, float),
    },
    "seal": {"certificate": (str,), "subject": (str,)},
}


def load_config(path: Path) -> Config:
    """Return the config read from ``path`` (defaults when the file is missing)."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the line it names.") from exc
    check_config(path, data)
    mail = dict(data.get("mail", {}))
    seal = data.get("seal", {})
    if isinstance(mail.get("deadline"), dt.date):
        mail["deadline"] = mail["deadline"].isoformat()
    if "rate_per_second" in mail:
        mail["rate_per_second"] = float(mail["rate_per_second"])
    return Config(
        organisation=data.get("organisation", {}).get("name", Config.organisation),
        mail=MailConfig(**mail),
        seal_certificate=seal.get("certificate", ""),
        seal_subject=seal.get("subject", ""),
    )


def check_config(path: Path, data: dict) -> None:
    """Raise ConfigError naming the first key that is unknown or has the wrong type."""
    for table, value in data.items():
        if table not in CONFIG_TABLES:
            raise ConfigError(
                f"{path}: unknown setting {table!r}. Use the tables "
                + ", ".join(f"[{t}]" for t in CONFIG_TABLES)
                + " (e.g. [organisation] then name = ...)"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {table!r} must be a table: write [{table}] on its own line")
        for key, item in value.items():
            kinds = CONFIG_TABLES[table].get(key)
            if kinds is None:
                known = ", ".join(CONFIG_TABLES[table])
                raise ConfigError(f"{path}: unknown key {key!r} in [{table}]. Known: {known}")
            if not isinstance(item, kinds) or isinstance(item, bool):
                wanted = " or ".join("a date" if k is dt.date else k.__name__ for k in kinds)
                raise ConfigError(f"{path}: [{table}] {key} must be {wanted}, not {item!r}")
    rate = data.get("mail", {}).get("rate_per_second", 1)
    if rate <= 0:
        raise ConfigError(f"{path}: [mail] rate_per_second must be above 0, e.g. 2")
