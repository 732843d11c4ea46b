"""Tests for pipeline/dates.py: dates as forms and emails write them."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.dates import date_from_text, format_date


@pytest.mark.parametrize(
    ("language", "short", "text"),
    [
        ("nb", False, "fredag 29. januar 2027"),
        ("en", False, "Friday 29 January 2027"),
        ("nb", True, "29.01.2027"),
        ("en", True, "2027-01-29"),
        ("se", False, "fredag 29. januar 2027"),  # a language we have no words for: bokmål
    ],
)
def test_format_date(language, short, text):
    assert format_date(dt.date(2027, 1, 29), language, short=short) == text


def test_weekdays_and_months_line_up_with_the_calendar():
    assert format_date(dt.date(2028, 2, 29), "nb") == "tirsdag 29. februar 2028"
    assert format_date(dt.date(2026, 12, 20), "en") == "Sunday 20 December 2026"
    assert format_date(dt.date(2027, 5, 3), "nb") == "mandag 3. mai 2027"


@pytest.mark.parametrize("text", ["2027-01-29", "29.01.2027", " 29.1.2027 "])
def test_date_from_text(text):
    assert date_from_text(text) == dt.date(2027, 1, 29)


@pytest.mark.parametrize("text", ["", "neste fredag", "31.02.2027", "01/29/2027", "2027-13-01"])
def test_date_from_text_refuses_what_is_not_a_date(text):
    assert date_from_text(text) is None


@given(st.dates(min_value=dt.date(1900, 1, 1)))
def test_every_written_date_reads_back(date):
    assert date_from_text(format_date(date, "nb", short=True)) == date
    assert date_from_text(format_date(date, "en", short=True)) == date
