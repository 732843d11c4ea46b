"""The follow-ups agreed in the minutes (``followup_n_what/who/when``), and who they name."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

FOLLOWUP_KEY = re.compile(r"^followup_(\d+)_what$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Words in "who" that include the employee (besides their own name): Norwegian and English.
EMPLOYEE_WORDS = frozenset(
    {"medarbeider", "medarbeideren", "ansatt", "ansatte", "begge", "alle", "vi", "oss", "felles"}
    | {"employee", "both", "all", "we", "us", "together"}
)


@dataclass(frozen=True)
class FollowUp:
    """One agreed follow-up: what, who is responsible, and by when (a date, or free text)."""

    number: int
    what: str
    who: str
    when: dt.date | None
    when_text: str  # the answer as written when it is not a date

    def uid(self, cycle: int, employee_id: str) -> str:
        """Return its calendar UID: the same as in the archived follow-ups calendar."""
        return f"samtale-{cycle}-{quote(employee_id, safe='')}-followup-{self.number}"

    def content(self) -> str:
        """Return a hash of what, who and when (a change makes the booking an update)."""
        text = "\n".join([self.what, self.who, self.when.isoformat() if self.when else ""])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def agreed_followups(answers: dict) -> list[FollowUp]:
    """Return the follow-ups written in a minutes' answers, in their order (empty ones skipped)."""
    found = []
    numbers = sorted(int(match[1]) for key in answers if (match := FOLLOWUP_KEY.match(key)))
    for number in numbers:
        what = text_of(answers.get(f"followup_{number}_what"))
        if not what:
            continue
        who = text_of(answers.get(f"followup_{number}_who"))
        when, when_text = date_of(answers.get(f"followup_{number}_when"))
        found.append(FollowUp(number, what, who, when, when_text))
    return found


def names_employee(who: str, employee_name: str) -> bool:
    """Return True when "who" includes the employee: their name, or words like "begge"/"both"."""
    words = set(re.findall(r"[\w-]+", who.lower()))
    if words & EMPLOYEE_WORDS:
        return True
    name = employee_name.lower()
    given = name.split(",", 1)[1] if "," in name else name
    parts = given.split()
    return bool(parts) and (parts[0] in words or name in who.lower())


def text_of(value) -> str:
    """Return an answer as trimmed text ('' for empty)."""
    return "" if value is None or isinstance(value, bool) else str(value).strip()


def date_of(value) -> tuple[dt.date | None, str]:
    """Return (the date, '') for an ISO date answer, or (None, the text) for anything else."""
    text = text_of(value)
    if ISO_DATE.match(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text[:10]), ""
    return None, text
