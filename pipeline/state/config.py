"""The workspace config file (``samtale.toml``): its tables, their defaults and their checks."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
class RetentionConfig:
    """How long ``samtale retention`` keeps personal data (README, "Personal data")."""

    # A cycle's working files (forms, outbox, returned files, quarantine, answers workbook,
    # ledger): kept this many months after the cycle's last minutes were sealed and archived.
    working_files_months: int = 12
    # A person's sealed minutes: kept while they are in the roster, then this many years.
    archive_years_after_leaving: int = 3
    # Files in quarantine that nobody in the roster sent: kept this many days after collect.
    quarantine_days: int = 30


DEFAULT_COMPETENCE_AREAS = (
    "Fagkompetanse",
    "Digital kompetanse",
    "Ledelse",
    "Språk og kommunikasjon",
    "Helse, miljø og sikkerhet",
    "Samarbeid og relasjoner",
)
DEFAULT_COMPETENCE_AREAS_EN = (
    "Professional skills",
    "Digital skills",
    "Leadership",
    "Language and communication",
    "Health, safety and environment",
    "Collaboration and relationships",
)
MIN_PRIVACY_THRESHOLD = 3  # never show a figure built from fewer people's answers


@dataclass(frozen=True)
class GoalsConfig:
    """The organisation's goals for the year; each goal set in a form can be linked to one."""

    items: tuple[str, ...] = ()  # the stored value of a link, and the text of Norwegian forms
    items_en: tuple[str, ...] = ()  # the same goals in English, same order ("" = as in items)


@dataclass(frozen=True)
class CompetenceConfig:
    """The competence areas people choose from in the forms (besides their own words)."""

    areas: tuple[str, ...] = DEFAULT_COMPETENCE_AREAS
    areas_en: tuple[str, ...] = DEFAULT_COMPETENCE_AREAS_EN


@dataclass(frozen=True)
class ReportConfig:
    """``samtale report``: its language, privacy threshold and the date talks are due."""

    language: str = "nb"
    threshold: int = 5  # figures from answers only for groups of at least this many people
    talks_deadline: str = ""  # ISO date; after it, a talk not held shows as overdue


@dataclass(frozen=True)
class ScheduleConfig:
    """``samtale schedule``: when the talks may be, how long, with which breaks and where."""

    first_day: str = ""  # ISO date; "" = the first working day after [mail] deadline
    last_day: str = ""  # ISO date; "" = four weeks after the first day
    day_start: str = "08:30"  # working hours: no talk starts before or ends after these
    day_end: str = "15:30"
    lunch: str = "11:30-12:00"  # kept free every day; "" for none
    talk_minutes: int = 75  # the article: 1 to 1.5 hours per talk
    break_minutes: int = 15  # between two talks of the same person
    margin_minutes: int = 15  # kept free before and after other meetings in their calendars
    max_talks_per_day: int = 4  # talks one manager holds on one day
    prep_days: int = 5  # working days between sending the forms and the first talk
    reminder_days: int = 3  # working days before a talk when missing forms are listed
    location: str = ""  # room or meeting link, shown in the invitations
    timezone: str = "Europe/Oslo"
    holidays: str = "NO"  # country code of the public holidays (the holidays package)


@dataclass(frozen=True)
class Config:
    """The workspace config file (``samtale.toml``), with defaults for what it leaves out."""

    organisation: str = "Organisasjonen"
    mail: MailConfig = field(default_factory=MailConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    goals: GoalsConfig = field(default_factory=GoalsConfig)
    competence: CompetenceConfig = field(default_factory=CompetenceConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    seal_certificate: str = ""
    seal_subject: str = ""
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


# A new key also goes into config_text.py CONFIG_SECTIONS (the samtale.toml init writes).
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
    "schedule": {
        "first_day": (str, dt.date),
        "last_day": (str, dt.date),
        "day_start": (str, dt.time),
        "day_end": (str, dt.time),
        "lunch": (str,),
        "talk_minutes": (int,),
        "break_minutes": (int,),
        "margin_minutes": (int,),
        "max_talks_per_day": (int,),
        "prep_days": (int,),
        "reminder_days": (int,),
        "location": (str,),
        "timezone": (str,),
        "holidays": (str,),
    },
    "retention": {name: (int,) for name in RetentionConfig.__dataclass_fields__},
    "goals": {"items": (list,), "items_en": (list,)},
    "competence": {"areas": (list,), "areas_en": (list,)},
    "report": {"language": (str,), "threshold": (int,), "talks_deadline": (str, dt.date)},
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
        schedule=schedule_config(path, data.get("schedule", {})),
        retention=RetentionConfig(**data.get("retention", {})),
        goals=GoalsConfig(*lists(path, data, "goals", "items", "items_en")),
        competence=CompetenceConfig(*lists(path, data, "competence", "areas", "areas_en")),
        report=report_config(path, data.get("report", {})),
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
    for key, value in data.get("retention", {}).items():
        if value < 0:
            raise ConfigError(f"{path}: [retention] {key} must be 0 or more, not {value}")
    rate = data.get("mail", {}).get("rate_per_second", 1)
    if rate <= 0:
        raise ConfigError(f"{path}: [mail] rate_per_second must be above 0, e.g. 2")


def lists(path: Path, data: dict, table: str, key: str, key_en: str) -> tuple[tuple, tuple]:
    """Return a list setting and its English twin (default: the list itself), checked."""
    values = data.get(table, {})
    if key not in values:
        fields = CONFIG_TABLES_DEFAULTS[table].__dataclass_fields__
        return fields[key].default, fields[key_en].default
    items = list_of_texts(path, f"[{table}] {key}", values[key])
    english = list_of_texts(path, f"[{table}] {key_en}", values.get(key_en, items))
    if len(english) != len(items):
        raise ConfigError(
            f"{path}: [{table}] {key_en} has {len(english)} entries and {key} has {len(items)}; "
            f"give the English text of each entry of {key}, in the same order"
        )
    return tuple(items), tuple(english)


def list_of_texts(path: Path, name: str, value: list) -> list[str]:
    """Return distinct, non-empty one-line texts; raise ConfigError naming a bad one."""
    texts = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or "\n" in item or len(item) > 120:
            raise ConfigError(
                f"{path}: {name} must list texts of one line (at most 120 characters), not {item!r}"
            )
        if item.strip() in texts:
            raise ConfigError(f"{path}: {name} lists {item.strip()!r} twice; keep one")
        texts.append(item.strip())
    return texts


def report_config(path: Path, values: dict) -> ReportConfig:
    """Return the [report] table, checked: a known language, a threshold of at least 3."""
    language = values.get("language", ReportConfig.language)
    if language not in ("nb", "en"):
        raise ConfigError(f'{path}: [report] language must be "nb" or "en", not {language!r}')
    threshold = values.get("threshold", ReportConfig.threshold)
    if threshold < MIN_PRIVACY_THRESHOLD:
        raise ConfigError(
            f"{path}: [report] threshold must be at least {MIN_PRIVACY_THRESHOLD} (figures from "
            f"fewer people's answers could single someone out), not {threshold}"
        )
    deadline = values.get("talks_deadline", "")
    if isinstance(deadline, dt.date):
        deadline = deadline.isoformat()
    return ReportConfig(language=language, threshold=threshold, talks_deadline=deadline)


CONFIG_TABLES_DEFAULTS = {"goals": GoalsConfig, "competence": CompetenceConfig}


def schedule_config(path: Path, values: dict) -> ScheduleConfig:
    """Return the [schedule] table, checked: real dates, HH:MM times, a known time zone."""
    table = {}
    for key, value in values.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, dt.time):
            value = value.strftime("%H:%M")
        table[key] = value.strip() if isinstance(value, str) else value
    config = ScheduleConfig(**table)
    problem = schedule_problem(config)
    if problem:
        raise ConfigError(f"{path}: [schedule] {problem}")
    return config


def schedule_problem(config: ScheduleConfig) -> str:
    """Return what is wrong with the [schedule] settings (and how to write it), or ""."""
    for key in ("first_day", "last_day"):
        value = getattr(config, key)
        if value and not parse_iso_date(value):
            return f"{key} {value!r} is not a date; write it like 2027-02-01"
    if config.first_day and config.last_day and config.last_day < config.first_day:
        return f"last_day {config.last_day} is before first_day {config.first_day}"
    times = [config.day_start, config.day_end, *filter(None, config.lunch.split("-"))]
    for value in times:
        if parse_clock(value) is None:
            return f"{value!r} is not a time of day; write it like 08:30 (lunch as 11:30-12:00)"
    if parse_clock(config.day_start) >= parse_clock(config.day_end):
        return f"day_start {config.day_start} must be before day_end {config.day_end}"
    if config.lunch and (len(times) != 4 or parse_clock(times[2]) >= parse_clock(times[3])):
        return f'lunch {config.lunch!r} must be a start and an end, like 11:30-12:00 (or "")'
    if not 15 <= config.talk_minutes <= 480:
        return f"talk_minutes must be between 15 and 480, not {config.talk_minutes}"
    start, end = parse_clock(config.day_start), parse_clock(config.day_end)
    hours = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if config.talk_minutes > hours:
        return (
            f"talk_minutes = {config.talk_minutes} does not fit between day_start "
            f"{config.day_start} and day_end {config.day_end} ({hours} minutes)"
        )
    for key in ("break_minutes", "margin_minutes", "prep_days", "reminder_days"):
        if getattr(config, key) < 0:
            return f"{key} must be 0 or more, not {getattr(config, key)}"
    if config.max_talks_per_day < 1:
        return f"max_talks_per_day must be at least 1, not {config.max_talks_per_day}"
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {config.timezone!r} is not known; write it like Europe/Oslo"
    return ""


def parse_iso_date(text: str) -> dt.date | None:
    """Return the date written as 2027-02-01, or None."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_clock(text: str) -> dt.time | None:
    """Return the time of day written as 08:30 (or 8:30, 08.30), or None."""
    hours, _, minutes = text.strip().replace(".", ":").partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return dt.time(int(hours), int(minutes))
