"""Dates as the forms and emails write them, in the recipient's language (nb or en)."""

from __future__ import annotations

import datetime as dt

from pipeline.domain.kinds import DEFAULT_LANGUAGE

_MONTHS = {
    "nb": "januar februar mars april mai juni juli august september oktober november desember",
    "en": "January February March April May June July August September October November December",
}
_WEEKDAYS = {
    "nb": "mandag tirsdag onsdag torsdag fredag lørdag søndag",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
TEXT_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")  # what --deadline and samtale.toml accept


def format_date(date: dt.date, language: str, *, short: bool = False) -> str:
    """Return "fredag 29. januar 2027" / "Friday 29 January 2027", or short 29.01.2027."""
    lang = language if language in _MONTHS else DEFAULT_LANGUAGE
    if short:
        # English readers split between 01/02 = 1 February and = 2 January; ISO is unambiguous.
        return date.strftime("%d.%m.%Y") if lang == "nb" else date.isoformat()
    month = _MONTHS[lang].split()[date.month - 1]
    weekday = _WEEKDAYS[lang].split()[date.weekday()]
    if lang == "nb":
        return f"{weekday} {date.day}. {month} {date.year}"
    return f"{weekday} {date.day} {month} {date.year}"


def date_from_text(text: str) -> dt.date | None:
    """Return the date written as 2027-01-29 or 29.01.2027, or None for anything else."""
    for fmt in TEXT_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None
