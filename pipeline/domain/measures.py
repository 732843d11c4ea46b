"""What the HR report counts from the answers: the 1–5 scales, goals, competence areas, follow-ups.

Only the keys named here are ever read for the report; free-text answers never are. The level
labels are the ones the forms show (tools/build_templates.py; a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.domain.kinds import FormKind

SCALE_VALUES = ("1", "2", "3", "4", "5")
PSYCHOSOCIAL_FACTORS = ("psy_demands", "psy_emotional", "psy_workload", "psy_support")
PREP_GOALS = 3  # goal_1 … goal_3 (with goal_n_company) in the preparation forms
MINUTES_GOALS = 5  # goal_1 … goal_5 in the minutes
FOLLOWUPS = 5  # followup_1_when … followup_5_when in the minutes
COMPETENCE_AREA_KEYS = ("competence_area_1", "competence_area_2")


@dataclass(frozen=True)
class Measure:
    """One 1–5 scale question of one form kind, with its title and level labels in nb and en."""

    key: str
    kind: str
    title: dict[str, str]
    levels: dict[str, tuple[str, ...]]

    @property
    def id(self) -> str:
        """Return a stable identifier: ``<kind>.<key>``."""
        return f"{self.kind}.{self.key}"


PERIOD = {
    "nb": ("Svært krevende", "Krevende", "Greit", "Godt", "Svært godt"),
    "en": ("Very challenging", "Challenging", "Fair", "Good", "Very good"),
}
WELLBEING = {
    "nb": ("Trives svært dårlig", "Trives dårlig", "Middels", "Trives godt", "Trives svært godt"),
    "en": ("Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"),
}
DEMANDS = {
    "nb": (
        "Svært uklare eller motstridende",
        "Ofte uklare",
        "Av og til uklare",
        "Stort sett tydelige",
        "Tydelige",
    ),
    "en": (
        "Very unclear or conflicting",
        "Often unclear",
        "Sometimes unclear",
        "Mostly clear",
        "Clear",
    ),
}
EMOTIONAL = {
    "nb": ("Svært mye", "Mye", "Noe", "Lite", "Ikke"),
    "en": ("Very much", "Much", "Somewhat", "Little", "Not at all"),
}
WORKLOAD = {
    "nb": (
        "Langt mer enn tiden tillater",
        "Ofte for mye",
        "Av og til for mye",
        "Stort sett passe",
        "Passe",
    ),
    "en": (
        "Far more than the time allows",
        "Often too much",
        "Sometimes too much",
        "Mostly right",
        "Right",
    ),
}
SUPPORT = {
    "nb": ("Svært lite", "Lite", "Noe", "Godt", "Svært godt"),
    "en": ("Very little", "Little", "Some", "Good", "Very good"),
}
FACTOR_TITLES = {
    "psy_demands": {"nb": "Krav og forventninger", "en": "Demands and expectations"},
    "psy_emotional": {"nb": "Følelsesmessige belastninger", "en": "Emotional strain"},
    "psy_workload": {"nb": "Arbeidsmengde og tid", "en": "Workload and time"},
    "psy_support": {"nb": "Støtte og hjelp", "en": "Support and help"},
}
FACTOR_LEVELS = {
    "psy_demands": DEMANDS,
    "psy_emotional": EMOTIONAL,
    "psy_workload": WORKLOAD,
    "psy_support": SUPPORT,
}


def factor(key: str, kind: str) -> Measure:
    """Return one psychosocial factor as the employee or the manager rates it."""
    return Measure(key, kind, FACTOR_TITLES[key], FACTOR_LEVELS[key])


EMPLOYEE, MANAGER = FormKind.EMPLOYEE.value, FormKind.MANAGER.value
MEASURES = (
    Measure(
        "period_rating",
        EMPLOYEE,
        {"nb": "Samlet vurdering av perioden", "en": "Overall rating of the period"},
        PERIOD,
    ),
    Measure(
        "period_rating",
        MANAGER,
        {
            "nb": "Samlet vurdering av perioden – lederens syn",
            "en": "Overall rating of the period – the manager's view",
        },
        PERIOD,
    ),
    Measure("wellbeing_score", EMPLOYEE, {"nb": "Trivsel", "en": "Wellbeing"}, WELLBEING),
    *(factor(key, EMPLOYEE) for key in PSYCHOSOCIAL_FACTORS),
)
MANAGER_VIEWS = tuple(factor(key, MANAGER) for key in PSYCHOSOCIAL_FACTORS)


def scale_value(value: object) -> int | None:
    """Return a 1–5 answer as an int, or None for anything else (empty, text, out of range)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and float(value).is_integer():
        number = int(value)
    else:
        text = str(value).strip()
        number = int(text[0]) if text[:1] in SCALE_VALUES and text[1:2] in ("", " ") else 0
    return number if 1 <= number <= 5 else None
