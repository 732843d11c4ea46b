"""A SIMULATION of people replying: invented answers filled into generated forms.

Used by ``make demo``, the tests and the benchmark. Nothing here is real personal data; every
answer is drawn from the phrases below. Files are filled the way Word stores filled content
controls (placeholder flag removed, one paragraph per line).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.domain.measures import PSYCHOSOCIAL_FACTORS, SCALE_VALUES
from pipeline.formats import ooxml
from testkit.word import fill_fields

PHRASES = {
    "nb": {
        "results": [
            "Leverte migreringen av kundeportalen i tide.",
            "Fikk ned svartiden i kundeservice fra 3 til 2 dager.",
            "Tok ansvar for opplæringen av to nyansatte.",
        ],
        "strengths": [
            "Strukturert og løsningsorientert.",
            "God til å samarbeide på tvers.",
            "Tar initiativ og holder fristene.",
        ],
        "development": [
            "Vil bli tryggere på å presentere for ledelsen.",
            "Kan delegere mer.",
            "Ønsker dypere kunnskap om økonomistyring.",
        ],
        "goals": [
            "Lede ett forbedringsprosjekt innen juni.",
            "Fullføre sertifisering i Q3.",
            "Redusere antall feilmeldinger med 20 %.",
        ],
        "competence": [
            "Kurs i prosjektledelse.",
            "Hospitering i driftsavdelingen.",
            "Mentorordning med erfaren kollega.",
        ],
        "wellbeing": [
            "Trives godt i teamet.",
            "Arbeidsmengden har vært høy i perioder.",
            "Fleksibel arbeidstid betyr mye.",
        ],
        "collaboration": [
            "Godt samarbeid i avdelingen.",
            "Mer kontakt med IT ville hjelpe.",
            "Ukentlige tavlemøter fungerer bra.",
        ],
        "feedback": [
            "Tydelige prioriteringer er til stor hjelp.",
            "Ønsker litt oftere korte en-til-en-samtaler.",
        ],
        "other": ["Ingen andre tema.", "Vil gjerne snakke om hjemmekontor."],
    },
    "en": {
        "results": [
            "Delivered the customer portal migration on time.",
            "Cut response time in customer service from 3 to 2 days.",
        ],
        "strengths": ["Structured and solution-oriented.", "Works well across teams."],
        "development": ["Wants to be more confident presenting to management."],
        "goals": ["Lead one improvement project by June.", "Complete certification in Q3."],
        "competence": ["Project management course.", "Mentoring with an experienced colleague."],
        "wellbeing": ["Enjoys the team.", "Workload has been high at times."],
        "collaboration": ["Good collaboration in the department."],
        "feedback": ["Clear priorities help a lot."],
        "other": ["No other topics."],
    },
}
TOPICS = (
    ("result", "results"),
    ("strength", "strengths"),
    ("development", "development"),
    ("goal", "goals"),
    ("competence", "competence"),
    ("wellbeing", "wellbeing"),
    ("motivation", "wellbeing"),
    ("workload", "wellbeing"),
    ("collaboration", "collaboration"),
    ("environment", "collaboration"),
    ("feedback", "feedback"),
    ("support", "feedback"),
    ("agree", "goals"),
    ("followup", "goals"),
    ("psy_", "wellbeing"),
    ("comment", "results"),
)


@dataclass(frozen=True)
class FieldInfo:
    """What the simulation needs to know of one field."""

    key: str
    type: str
    options: tuple[str, ...]


def fields_of(data: bytes) -> list[FieldInfo]:
    """Return the tagged fields of a generated form."""
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    root = ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART])
    return [FieldInfo(f.key, f.type, f.options) for f in ooxml.read_fields(root) if f.key]


def invented_answers(
    fields: list[FieldInfo],
    language: str,
    seed: str,
    cycle: int,
    fill_ratio: float = 0.9,
    leaning: dict[str, float] | None = None,
) -> dict[str, str | bool]:
    """Return plausible invented answers for the fields (some left empty, as people do)."""
    # ``leaning`` gives the centre of each 1–5 scale (key -> centre, "" for any other scale), so
    # answers differ between people and departments the way real ones do; without it a scale
    # answer is drawn evenly.
    rng = random.Random(seed)
    phrases = PHRASES.get(language, PHRASES["nb"])
    answers: dict[str, str | bool] = {}
    for field in fields:
        if rng.random() > fill_ratio and field.type != "checkbox":
            continue
        if field.type == "checkbox":
            answers[field.key] = rng.random() < 0.4
        elif field.type in ("dropdown", "combobox"):
            choices = [o for o in field.options if o]
            if tuple(choices) == SCALE_VALUES and leaning is not None:
                centre = leaning.get(field.key, leaning.get("", 3.5))
                answers[field.key] = str(min(5, max(1, round(rng.gauss(centre, 0.8)))))
            elif choices:
                answers[field.key] = rng.choice(choices)
        elif field.type == "date" and ("followup" in field.key or "deadline" in field.key):
            answers[field.key] = f"{cycle}-{rng.randint(2, 12):02d}-{rng.randint(1, 28):02d}"
        elif field.type == "date":
            answers[field.key] = f"{cycle}-01-{rng.randint(11, 29):02d}"
        else:
            pool = phrases[topic_of(field.key)]
            answers[field.key] = "\n".join(rng.sample(pool, k=min(len(pool), rng.randint(1, 2))))
    for key in [k for k in answers if k.endswith("_company")]:
        if not answers.get(key.removesuffix("_company")):
            del answers[key]  # no goal, so nothing to link to a company goal
    return answers


def leaning(department: str, employee_id: str, kind: str, cycle: int) -> dict[str, float]:
    """Return where one person's 1–5 answers centre: their own mood, their department's climate."""
    person = random.Random(f"{cycle}-{employee_id}").gauss(3.7, 0.5)
    climate = random.Random(f"climate-{department}")
    centres = {key: person + climate.uniform(-1.0, 0.4) for key in PSYCHOSOCIAL_FACTORS}
    centres["wellbeing_score"] = person + climate.uniform(-0.5, 0.4)
    centres[""] = person
    if kind == "manager":  # managers see things a little brighter than their people do
        centres = {key: centre + 0.3 for key, centre in centres.items()}
    return centres


def topic_of(key: str) -> str:
    """Return the phrase topic that fits a question key."""
    return next((topic for marker, topic in TOPICS if marker in key), "other")


def fill_form(data: bytes, answers: dict[str, str | bool]) -> bytes:
    """Return a generated form filled with ``answers``, stored as Word stores filled controls."""
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    filled = fill_fields(package.parts[ooxml.DOCUMENT_PART], answers)
    return ooxml.replace_part(data, ooxml.DOCUMENT_PART, filled)
