"""The vocabulary every stage shares: form kinds and form languages."""

from __future__ import annotations

from enum import StrEnum


class FormKind(StrEnum):
    """Which form: the employee's preparation, the manager's preparation, or the minutes."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    MINUTES = "minutes"


PREP_KINDS = (FormKind.EMPLOYEE, FormKind.MANAGER)
ALL_FORM_KINDS = (FormKind.EMPLOYEE, FormKind.MANAGER, FormKind.MINUTES)
LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"
