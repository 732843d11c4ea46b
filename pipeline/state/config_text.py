"""The commented ``samtale.toml`` that ``samtale init`` writes: every setting with its default.

To add a setting: add it to ``CONFIG_TABLES`` in config.py (with its dataclass default) AND here,
as ``# key = default`` under its table in ``CONFIG_SECTIONS``, with a comment line saying what it
does. tests/test_config_text.py fails when a key is missing here or its default differs.
"""

from __future__ import annotations

import json
import re

HEADER = """\
# samtale.toml: the settings of this samtale workspace.
# Every setting is listed with its default. A line starting with # is not used: to change a
# setting, remove the # in front of it and edit the value. Text goes in "quotes"; dates are
# written YYYY-MM-DD without quotes. 'samtale check' reads this file and names any mistake.
"""

CONFIG_SECTIONS = {  # table -> its lines: a comment, then "# key = default" per setting
    "organisation": """\
# The organisation's name, printed on the forms and in the emails.
# name = "Organisasjonen"
""",
    "mail": """\
# Who the emails come from, and where replies with the filled-in forms go.
# sender_name = "HR"
# sender_address = "hr@example.invalid"
# reply_to = ""
# The date the preparation forms are due back, printed on the forms and in the emails. Set it
# for every new cycle, e.g. deadline = 2027-01-29 ('samtale send --deadline' overrides it).
# deadline = ""
# Shown at the end of every email: who to ask, e.g. "Kari Nordmann in HR (kari@example.no)".
# hr_contact = ""
# At most this many emails per second when sending by SMTP (be kind to the mail server).
# rate_per_second = 5.0
""",
    "seal": """\
# The organisation's PKCS#12 seal certificate for 'samtale finalize' (path relative to this
# folder). Its password comes from SAMTALE_SEAL_PASSWORD, or samtale asks for it.
# certificate = ""
# The title of the sealed minutes PDF; empty: a default in the employee's language.
# subject = ""
""",
    "schedule": """\
# 'samtale schedule': when the talks may be held. Days are dates (2027-02-01, "" = the first
# working day after [mail] deadline, and four weeks after that); times are "HH:MM".
# first_day = ""
# last_day = ""
# Working hours (no talk starts before or ends after them) and the lunch kept free ("" = none).
# day_start = "08:30"
# day_end = "15:30"
# lunch = "11:30-12:00"
# Minutes per talk (the article says 1 to 1.5 hours), the break between two talks of the same
# person, and the margin kept free around other meetings in their calendars.
# talk_minutes = 75
# break_minutes = 15
# margin_minutes = 15
# Talks one manager holds on one day.
# max_talks_per_day = 4
# Working days between sending the forms and the first talk, and before a talk when missing
# forms are listed.
# prep_days = 5
# reminder_days = 3
# The room or meeting link shown in the invitations.
# location = ""
# The time zone, and the country whose public holidays are kept free.
# timezone = "Europe/Oslo"
# holidays = "NO"
""",
    "retention": """\
# How long samtale keeps personal data: 'samtale retention' lists what is due, and
# 'samtale retention --apply' deletes it (each file noted in output/deletions.jsonl).
# A cycle's working files (forms, outbox, returned files, quarantine, answers workbook, ledger):
# months after the cycle's last minutes were sealed (at least 1).
# working_files_months = 12
# A person's sealed minutes: years after samtale first found them gone from the roster (at
# least 1); never while they are in it.
# archive_years_after_leaving = 3
# Files in quarantine that nobody in the roster sent: days after collect (at least 7).
# quarantine_days = 30
""",
    "goals": """\
# The organisation's goals for the year: each goal set in a form can be linked to one. Write
# them as a list, like ["Tryggere drift", "Flere fornøyde kunder"]; items_en holds the same
# goals in English, in the same order ("" = as in items).
# items = []
# items_en = []
""",
    "competence": """\
# The competence areas people choose from in the forms (besides their own words), in Norwegian
# and in English (same order).
# areas = ["Fagkompetanse", "Digital kompetanse", "Ledelse", "Språk og kommunikasjon", "Helse, miljø og sikkerhet", "Samarbeid og relasjoner"]
# areas_en = ["Professional skills", "Digital skills", "Leadership", "Language and communication", "Health, safety and environment", "Collaboration and relationships"]
""",  # noqa: E501 - a setting stays on one line, so removing its # is all it takes
    "report": """\
# 'samtale report': its language (nb or en); figures from answers only for groups of at least
# threshold people (3 or more); after talks_deadline (a date) a talk not held shows as overdue.
# language = "nb"
# threshold = 5
# talks_deadline = ""
""",
}

SETTING_LINE = re.compile(r"^# ([a-z][a-z0-9_]*) = (.+)$", re.MULTILINE)


def config_text(settings: dict[tuple[str, str], str | int | float | bool] | None = None) -> str:
    """Return the commented samtale.toml; ``settings`` {(table, key): value} are written active."""
    remaining = dict(settings or {})
    parts = [HEADER]
    for table, body in CONFIG_SECTIONS.items():
        for key in section_keys(table):
            if (table, key) in remaining:
                body = activate(body, key, remaining.pop((table, key)))
        parts.append(f"\n[{table}]\n{body}")
    if remaining:
        raise ValueError(f"not in CONFIG_SECTIONS: {sorted(remaining)}")
    return "".join(parts)


def activate(body: str, key: str, value: str | int | float | bool) -> str:
    """Return a section with its ``# key = default`` line replaced by ``key = value``."""
    line = re.compile(rf"^# {re.escape(key)} = .*$", re.MULTILINE)
    return line.sub(lambda _: f"{key} = {toml_value(value)}", body, count=1)


def section_keys(table: str) -> list[str]:
    """Return the keys listed as ``# key = default`` in a table's section."""
    return [key for key, _ in SETTING_LINE.findall(CONFIG_SECTIONS.get(table, ""))]


def toml_value(value: str | int | float | bool) -> str:
    """Return ``value`` written as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
    return text.replace("\x7f", "\\u007f")  # ... except that TOML wants DEL escaped too
