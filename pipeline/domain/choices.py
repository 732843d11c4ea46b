"""Dropdown lists filled from ``samtale.toml`` when forms are written: goals and competence areas.

A template marks such a dropdown with one list item whose value is ``@<source>`` (FORMS.md); the
renderer replaces that item with the configured entries. The stored value of an entry is its text
in the first list (``items`` / ``areas``), whatever the form's language, so answers from Norwegian
and English forms count together; the report translates values back with ``choice_label``.
"""

from __future__ import annotations

from pipeline.formats.templates import CHOICE_SOURCES
from pipeline.state.config import Config

COMPANY_GOALS, COMPETENCE_AREAS = CHOICE_SOURCES
NOT_LINKED = "none"  # a goal that supports none of the company's goals
NOT_LINKED_LABEL = {"nb": "Ikke knyttet til et selskapsmål", "en": "Not linked to a company goal"}

Choices = list[tuple[str, str]]  # (display text, stored value)


def choice_lists(config: Config, language: str) -> dict[str, Choices]:
    """Return every configured dropdown list as (display text, value) pairs in ``language``."""
    goals = entries(config.goals.items, config.goals.items_en, language)
    goals.append((NOT_LINKED_LABEL.get(language, NOT_LINKED_LABEL["nb"]), NOT_LINKED))
    areas = entries(config.competence.areas, config.competence.areas_en, language)
    return {COMPANY_GOALS: goals, COMPETENCE_AREAS: areas}


def entries(values: tuple[str, ...], english: tuple[str, ...], language: str) -> Choices:
    """Return (display text, value) pairs: the English text on English forms, else the value."""
    shown = english if language == "en" and len(english) == len(values) else values
    return list(zip(shown, values, strict=True))


def choice_label(config: Config, source: str, value: str, language: str) -> str:
    """Return how a stored value reads in ``language`` (an unknown value reads as it is)."""
    for display, stored in choice_lists(config, language)[source]:
        if stored == value:
            return display
    return value
