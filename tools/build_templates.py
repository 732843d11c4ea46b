"""Build the shipped Word templates ``templates/<kind>.<language>.docx`` from the tables below.

Run from the repository root::

    .venv/bin/python tools/build_templates.py            # write missing templates, check the rest
    .venv/bin/python tools/build_templates.py --force    # replace templates that differ

The output is deterministic (fixed dates, stable content-control ids, fixed zip timestamps), so
re-running gives identical bytes. The form contract is ``.notes/FORMS.md``: every answer field is a
content control alone in its own table cell, tagged with a stable key; Jinja (docxtpl) lives only
outside the controls.

To add a form kind: write its sections (one table, both languages side by side), add its
``Chrome`` (title, subtitle, instructions) and register both in ``FORMS``. The builder is shared.
A section body mixes paragraphs (``Para``; ``jinja("{%p if … %}")`` lines hide what follows up
to the matching ``{%p endif %}``), answer fields, ``Grid`` tables (rows may be conditional) and
read-only ``RepeatTable`` tables filled by nested ``{%tr for %}`` loops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement
from docx.shared import Twips
from lxml import etree

from pipeline.state.files import write_private

LANGUAGES = ("nb", "en")
REPO = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO / "templates"

# Fixed metadata: every build writes the same bytes.
BUILD_DATE = dt.datetime(2026, 1, 1, 0, 0, 0)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Page and palette. Widths are in twips (1 cm = 567 twips); A4 with 2 cm margins.
PAGE_W, PAGE_H, MARGIN, HEADER_GAP = 11906, 16838, 1134, 567
TEXT_W = PAGE_W - 2 * MARGIN  # 9638
FONT = "Calibri"  # LibreOffice substitutes the metric-compatible Carlito
INK, MUTED, ACCENT = "1F2937", "6B7280", "1F4E79"
ACCENT_FILL, ANSWER_FILL, ANSWER_LINE, RULE = "EAF1F8", "F3F4F6", "C3C9D2", "D1D5DB"
GROUP_FILL = "F7F9FC"  # the title rows of a repeated table
PLACEHOLDER_GRAY = "808080"
CHECKBOX_FONT = "MS Gothic"
LINE_TWIPS = 260  # one line of 10.5 pt answer text, for sizing answer boxes


# --------------------------------------------------------------------------------------------
# The data: what each form says, in both languages.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """One piece of text in Norwegian bokmål and English."""

    nb: str
    en: str

    def get(self, language: str) -> str:
        """Return the text in ``language``."""
        return getattr(self, language)


@dataclass(frozen=True)
class Field:
    """One answer field: a content control tagged ``key``."""

    key: str
    type: str  # "text" | "dropdown" | "checkbox" | "date"
    alias: T  # the control's readable title
    placeholder: T  # what to write, shown gray until the person answers
    question: T | None = None  # the question shown next to or above the field
    choices: tuple[tuple[T, str], ...] = ()  # dropdown: (display text, value)
    lines: int = 3  # free text: height of the answer box in lines


@dataclass(frozen=True)
class Static:
    """Read-only text in a table cell (may hold a Jinja expression, kept in one run)."""

    text: T
    muted: bool = False
    strong: bool = False


@dataclass(frozen=True)
class Grid:
    """A table with a header row; each body cell is read-only text or one answer field.

    ``conditions`` holds one Jinja test per row ("" = always): the row, with its controls,
    appears in the rendered form only when the test holds (docxtpl ``{%tr if … %}`` rows).
    """

    columns: tuple[T, ...]
    widths: tuple[int, ...]  # twips, summing to TEXT_W
    rows: tuple[tuple[Static | Field, ...], ...]
    lines: int = 2  # height of body rows in lines
    conditions: tuple[str, ...] = ()
    valign: str = ""  # "center" for one-line rows; default: top


@dataclass(frozen=True)
class RepeatTable:
    """A read-only table filled from a list of groups: a title row per group, a row per item.

    Rendered with nested docxtpl row loops (``{%tr for <groups> %}``, title row,
    ``{%tr for <items> %}``, item row, ``{%tr endfor %}`` twice); no controls inside.
    """

    columns: tuple[T, ...]
    widths: tuple[int, ...]  # twips, summing to TEXT_W
    groups: str  # the outer loop: "section in sides"
    title: str  # the group's title row: "{{ section.title }}"
    items: str  # the inner loop: "row in section.rows"
    cells: tuple[Static, ...]  # the item row, one cell per column


@dataclass(frozen=True)
class Para:
    """A paragraph of running text; ``jinja`` marks a docxtpl ``{%p … %}`` control line."""

    text: T
    style: str = "FormNote"
    jinja: bool = False


Part = Field | Para | Grid | RepeatTable


@dataclass(frozen=True)
class Section:
    """One numbered section: heading, guiding questions, notes, then its body.

    The body is one Grid, or parts in order: paragraphs, tables, and answer fields (each run of
    consecutive fields becomes one question table).
    """

    heading: T
    prompts: tuple[T, ...]
    body: tuple[Part, ...] | Grid
    notes: tuple[Para, ...] = ()


@dataclass(frozen=True)
class Questions:
    """Consecutive answer fields of a section body, shown as one question table."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Chrome:
    """Everything around the sections: title, identity table, instructions, header/footer."""

    title: T
    subtitle: T
    instructions: tuple[T, ...]
    closing: T  # the seed's reason why both parties prepare
    description: T  # core property "comments": a note to whoever edits the template
    info: tuple[tuple[T, str], ...] = field(default_factory=lambda: info_rows(T("Navn", "Name")))
    instructions_heading: T = T("Slik fyller du ut skjemaet", "How to fill in this form")
    header: T = T("{{ organisation }} · Fortrolig", "{{ organisation }} · Confidential")
    footer: T = T("Skjema-ID: {{ form_id }}", "Form ID: {{ form_id }}")
    page: T = T("Side", "Page")
    of: T = T("av", "of")


def info_rows(name_label: T) -> tuple[tuple[T, str], ...]:
    """Return the identity table's rows: label and the Jinja value shown beside it."""
    return (
        (name_label, "{{ employee.name }}"),
        (T("Ansattnr.", "Employee no."), "{{ employee.id }}"),
        (T("Avdeling", "Department"), '{{ employee.department or "–" }}'),
        (T("Stilling", "Job title"), '{{ employee.title or "–" }}'),
        (T("Leder", "Manager"), '{{ manager.name or "–" }}'),
        (T("Syklus", "Cycle"), "{{ cycle }}"),
    )


def text(key: str, question: T, alias: T, placeholder: T, lines: int = 3) -> Field:
    """Return a multi-line free-text field."""
    return Field(key, "text", alias, placeholder, question, lines=lines)


def dropdown(key: str, question: T | None, alias: T, placeholder: T, choices) -> Field:
    """Return a dropdown field choosing one of ``choices``."""
    return Field(key, "dropdown", alias, placeholder, question, choices=tuple(choices))


def checkbox(key: str, label: T, alias: T) -> Field:
    """Return a checkbox field whose question is ``label``."""
    return Field(key, "checkbox", alias, T("☐", "☐"), label)


def date(key: str, question: T, alias: T) -> Field:
    """Return a date-picker field (dd.MM.yyyy)."""
    return Field(key, "date", alias, T("Velg en dato", "Choose a date"), question)


def scale(*labels: tuple[str, str]) -> tuple[tuple[T, str], ...]:
    """Return 1–5 dropdown choices "n – label" whose value is the digit."""
    return tuple((T(f"{n} – {nb}", f"{n} – {en}"), str(n)) for n, (nb, en) in enumerate(labels, 1))


PERIOD_SCALE = scale(
    ("Svært krevende", "Very challenging"),
    ("Krevende", "Challenging"),
    ("Greit", "Fair"),
    ("Godt", "Good"),
    ("Svært godt", "Very good"),
)
WELLBEING_SCALE = scale(
    ("Trives svært dårlig", "Very unhappy"),
    ("Trives dårlig", "Unhappy"),
    ("Middels", "Neutral"),
    ("Trives godt", "Happy"),
    ("Trives svært godt", "Very happy"),
)
AGREEMENT_STATUS = (  # values are language-neutral codes; the display text is translated
    (T("Oppnådd", "Achieved"), "achieved"),
    (T("Delvis oppnådd", "Partly achieved"), "partly_achieved"),
    (T("Ikke oppnådd", "Not achieved"), "not_achieved"),
    (T("Ikke lenger aktuelt", "No longer relevant"), "not_relevant"),
)
AGREEMENTS = 5


def jinja(tag: str) -> Para:
    """Return a docxtpl paragraph tag line ({%p … %}), the same in both languages."""
    return Para(T(tag, tag), jinja=True)


def agreement_condition(n: int) -> str:
    """Return the Jinja test that last cycle had an agreement in slot ``n``."""
    return f"previous.agreement_{n}"


def previous_agreements() -> Grid:
    """Return last year's agreements: read-only text, then a status and a comment for each.

    A row (and its two controls) appears only when its slot holds an agreement.
    """
    rows = tuple(
        (
            Static(T(str(n), str(n)), muted=True),
            Static(
                T(
                    f"{{{{ previous.agreement_{n} }}}}",
                    f"{{{{ previous.agreement_{n} }}}}",
                )
            ),
            dropdown(
                f"prev_agreement_{n}_status",
                None,
                T(f"Avtale {n} – status", f"Agreement {n} – status"),
                T("Velg status", "Choose a status"),
                AGREEMENT_STATUS,
            ),
            text(
                f"prev_agreement_{n}_comment",
                T("", ""),
                T(f"Avtale {n} – kommentar", f"Agreement {n} – comment"),
                T("Kommenter kort hvordan det gikk.", "Comment briefly on how it went."),
            ),
        )
        for n in range(1, AGREEMENTS + 1)
    )
    return Grid(
        columns=(
            T("#", "#"),
            T("Avtale fra forrige samtale", "Agreement from the last review"),
            T("Status", "Status"),
            T("Kommentar", "Comment"),
        ),
        widths=(454, 3912, 2098, 3174),
        rows=rows,
        conditions=tuple(agreement_condition(n) for n in range(1, AGREEMENTS + 1)),
    )


def agreements_body() -> tuple[Part, ...]:
    """Return the agreements section's body: the table when there are any, else a note."""
    return (
        jinja("{%p if previous.any %}"),
        Para(
            T(
                "Gå gjennom det dere ble enige om i forrige samtale. Velg status for hver avtale "
                "og skriv en kort kommentar.",
                "Go through what you agreed on in the last review. Choose a status for each "
                "agreement and add a short comment.",
            ),
            style="FormIntro",
        ),
        previous_agreements(),
        jinja("{%p endif %}"),
        jinja("{%p if not previous.any %}"),
        Para(
            T(
                "Ingen avtaler fra forrige samtale er registrert, så denne delen faller bort. "
                "Har dere hatt samtale før, kan dere likevel snakke om hvordan det har gått "
                "siden sist.",
                "No agreements from the last review are on record, so this part is left out. "
                "If you have had a review before, you can still talk about how things have "
                "gone since then.",
            )
        ),
        jinja("{%p endif %}"),
    )


AGREEMENTS_BODY = agreements_body()

# ---- company goals, competence areas and the psychosocial factors ------------------------


def from_config(source: str) -> tuple[tuple[T, str], ...]:
    """Return the one list item marking a dropdown that generate fills from samtale.toml."""
    return ((T("(fylles inn fra samtale.toml)", "(filled in from samtale.toml)"), f"@{source}"),)


def company_goal(n: int) -> Field:
    """Return the dropdown linking goal ``n`` to one of the company's goals."""
    return dropdown(
        f"goal_{n}_company",
        None,
        T(f"Mål {n} – selskapsmål", f"Goal {n} – company goal"),
        T("Velg selskapsmål", "Choose a company goal"),
        from_config("company_goals"),
    )


PREP_GOALS = 3


def prep_goals(intro: T, placeholder: T) -> tuple[Part, ...]:
    """Return the goals section's body: an intro, then up to three goals, each with its link."""
    rows = tuple(
        (
            Static(T(str(n), str(n)), muted=True),
            text(f"goal_{n}", T(f"Mål {n}", f"Goal {n}"), T(f"Mål {n}", f"Goal {n}"), placeholder),
            company_goal(n),
        )
        for n in range(1, PREP_GOALS + 1)
    )
    grid = Grid(
        columns=(
            T("#", "#"),
            T("Mål", "Goal"),
            T("Støtter dette av selskapets mål", "Supports this company goal"),
        ),
        widths=(454, 5669, 3515),
        rows=rows,
    )
    return (Para(intro, style="FormIntro"), grid)


def competence_areas(first: T, second: T) -> tuple[Field, Field]:
    """Return the two competence-area dropdowns (the second one optional)."""
    return (
        dropdown(
            "competence_area_1",
            first,
            T("Kompetanseområde 1", "Competence area 1"),
            T("Velg et område", "Choose an area"),
            from_config("competence_areas"),
        ),
        dropdown(
            "competence_area_2",
            second,
            T("Kompetanseområde 2", "Competence area 2"),
            T("Velg et område (valgfritt)", "Choose an area (optional)"),
            from_config("competence_areas"),
        ),
    )


@dataclass(frozen=True)
class Factor:
    """One psychosocial factor of the Working Environment Act § 4-3, rated 1–5 (5 is best)."""

    key: str
    comment_key: str
    title: T
    employee: T  # the question as the employee reads it
    manager: T  # the question as the manager reads it
    choices: tuple[tuple[T, str], ...]


FACTORS = (
    Factor(
        "psy_demands",
        "psy_demands_comment",
        T("Krav og forventninger", "Demands and expectations"),
        T(
            "Er kravene og forventningene til deg tydelige – ikke uklare eller motstridende?",
            "Are the demands and expectations on you clear – not unclear or conflicting?",
        ),
        T(
            "Er kravene og forventningene til medarbeideren tydelige – ikke uklare eller "
            "motstridende?",
            "Are the demands and expectations on the employee clear – not unclear or conflicting?",
        ),
        scale(
            ("Svært uklare eller motstridende", "Very unclear or conflicting"),
            ("Ofte uklare", "Often unclear"),
            ("Av og til uklare", "Sometimes unclear"),
            ("Stort sett tydelige", "Mostly clear"),
            ("Tydelige", "Clear"),
        ),
    ),
    Factor(
        "psy_emotional",
        "psy_emotional_comment",
        T("Følelsesmessige belastninger", "Emotional strain"),
        T(
            "Hvor mye tærer følelsesmessige belastninger i jobben på deg?",
            "How much does emotional strain in your job wear on you?",
        ),
        T(
            "Hvor mye tærer følelsesmessige belastninger i jobben på medarbeideren?",
            "How much does emotional strain in the job wear on the employee?",
        ),
        scale(
            ("Svært mye", "Very much"),
            ("Mye", "Much"),
            ("Noe", "Somewhat"),
            ("Lite", "Little"),
            ("Ikke", "Not at all"),
        ),
    ),
    Factor(
        "psy_workload",
        "workload",  # the key of the old free-text workload question, kept
        T("Arbeidsmengde og tid", "Workload and time"),
        T(
            "Står arbeidsmengden i forhold til tiden du har til rådighet?",
            "Does your workload match the time you have?",
        ),
        T(
            "Står medarbeiderens arbeidsmengde i forhold til tiden til rådighet?",
            "Does the employee's workload match the time available?",
        ),
        scale(
            ("Langt mer enn tiden tillater", "Far more than the time allows"),
            ("Ofte for mye", "Often too much"),
            ("Av og til for mye", "Sometimes too much"),
            ("Stort sett passe", "Mostly right"),
            ("Passe", "Right"),
        ),
    ),
    Factor(
        "psy_support",
        "psy_support_comment",
        T("Støtte og hjelp", "Support and help"),
        T(
            "Får du den støtten og hjelpen du trenger fra leder og kolleger?",
            "Do you get the support and help you need from your manager and colleagues?",
        ),
        T(
            "Får medarbeideren den støtten og hjelpen som trengs fra deg og kollegene?",
            "Does the employee get the support and help needed from you and colleagues?",
        ),
        scale(
            ("Svært lite", "Very little"),
            ("Lite", "Little"),
            ("Noe", "Some"),
            ("Godt", "Good"),
            ("Svært godt", "Very good"),
        ),
    ),
)


def factors(view: str, intro: T) -> tuple[Part, ...]:
    """Return the four factors: a subheading, an intro, and a table of rating and comment."""
    rows = tuple(
        (
            Static(getattr(factor, view)),
            dropdown(
                factor.key,
                None,
                T(f"{factor.title.nb} (1–5)", f"{factor.title.en} (1–5)"),
                T("Velg 1–5", "Choose 1–5"),
                factor.choices,
            ),
            text(
                factor.comment_key,
                T("", ""),
                T(f"{factor.title.nb} – kommentar", f"{factor.title.en} – comment"),
                T("Kort kommentar (valgfritt)", "A short comment (optional)"),
            ),
        )
        for factor in FACTORS
    )
    grid = Grid(
        columns=(T("Forhold", "Factor"), T("Vurdering", "Rating"), T("Kommentar", "Comment")),
        widths=(3969, 2551, 3118),
        rows=rows,
    )
    heading = T(
        "Arbeidsbelastning og støtte (arbeidsmiljøloven § 4-3)",
        "Workload and support (Working Environment Act, section 4-3)",
    )
    return (Para(heading, style="FormSubheading"), Para(intro, style="FormIntro"), grid)


ALIAS = {
    "results": T("Resultater", "Results"),
    "strengths": T("Styrker", "Strengths"),
    "development_areas": T("Utviklingsområder", "Areas to develop"),
    "period_rating": T("Samlet vurdering av perioden", "Overall rating of the period"),
    "competence_needs": T("Kompetansebehov", "Competence needs"),
    "competence_actions": T("Tiltak for kompetanseutvikling", "Competence development actions"),
    "wellbeing_score": T("Trivsel (1–5)", "Wellbeing (1–5)"),
    "motivation": T("Motivasjon", "Motivation"),
    "collaboration": T("Samarbeid", "Collaboration"),
    "work_environment": T("Arbeidsmiljø", "Work environment"),
    "feedback_manager": T("Tilbakemelding til leder", "Feedback to the manager"),
    "support_employee": T("Støtte til medarbeideren", "Support for the employee"),
    "other_topics": T("Andre temaer", "Other topics"),
}

EMPLOYEE_SECTIONS = (
    Section(
        T("Tilbakeblikk og evaluering av perioden", "Looking back: the period that has passed"),
        (
            T(
                "Hva ble dere enige om i forrige samtale, og hvordan har det gått?",
                "What did you agree on in the last review, and how has it gone?",
            ),
            T(
                "Hva er du mest fornøyd med fra perioden som har vært?",
                "What are you most pleased with from the past period?",
            ),
            T(
                "Hva har vært krevende, og hva lærte du av det?",
                "What has been demanding, and what did you learn from it?",
            ),
        ),
        (
            text(
                "results",
                T(
                    "Hvilke resultater har du oppnådd i perioden?",
                    "What results have you achieved?",
                ),
                ALIAS["results"],
                T(
                    "Skriv de viktigste resultatene og bidragene dine siden forrige samtale.",
                    "Write down your main results and contributions since the last review.",
                ),
                lines=4,
            ),
            text(
                "strengths",
                T(
                    "Hva er dine viktigste styrker i jobben?",
                    "What are your main strengths at work?",
                ),
                ALIAS["strengths"],
                T(
                    "Beskriv hva du mestrer godt, gjerne med eksempler.",
                    "Describe what you do well, preferably with examples.",
                ),
            ),
            text(
                "development_areas",
                T("Hvilke områder ønsker du å utvikle?", "Which areas would you like to develop?"),
                ALIAS["development_areas"],
                T(
                    "Skriv hva du vil bli bedre på, og hvorfor.",
                    "Write what you want to get better at, and why.",
                ),
            ),
            dropdown(
                "period_rating",
                T(
                    "Hvordan vil du samlet vurdere perioden?",
                    "How would you rate the period overall?",
                ),
                ALIAS["period_rating"],
                T("Velg en vurdering", "Choose a rating"),
                PERIOD_SCALE,
            ),
        ),
    ),
    Section(
        T("Avtaler fra forrige samtale", "Agreements from the last review"),
        (
            T(
                "Hvilke avtaler er gjennomført, og hva gjorde at det lyktes?",
                "Which agreements were carried out, and what made them succeed?",
            ),
            T(
                "Hva sto i veien for det som ikke ble gjort?",
                "What stood in the way of those that were not?",
            ),
            T(
                "Hvilke avtaler bør videreføres til neste periode?",
                "Which agreements should carry over to the next period?",
            ),
        ),
        AGREEMENTS_BODY,
    ),
    Section(
        T("Mål og retning for neste periode", "Goals and direction for the next period"),
        (
            T(
                "Hva ønsker du å oppnå det neste året?",
                "What do you want to achieve in the coming year?",
            ),
            T(
                "Hvordan kan målene dine bidra til selskapets mål?",
                "How can your goals support the company's goals?",
            ),
            T("Hva trenger du for å lykkes?", "What do you need to succeed?"),
        ),
        prep_goals(
            T(
                "Foreslå inntil tre mål for neste periode, og velg hvilket av selskapets mål hvert "
                "mål støtter.",
                "Propose up to three goals for the next period, and choose which of the "
                "company's goals each one supports.",
            ),
            T(
                "Skriv et konkret mål, gjerne med når det skal være nådd.",
                "Write a concrete goal, ideally with when it should be reached.",
            ),
        ),
    ),
    Section(
        T("Kompetanseutvikling", "Competence development"),
        (
            T(
                "Hvilken kompetanse trenger du i jobben fremover?",
                "What competence will you need in your job going forward?",
            ),
            T(
                "Hvordan lærer du best – kurs, nye oppgaver, veiledning?",
                "How do you learn best – courses, new tasks, mentoring?",
            ),
            T(
                "Har du kompetanse som kan brukes mer enn i dag?",
                "Do you have skills that could be used more than today?",
            ),
        ),
        (
            *competence_areas(
                T(
                    "Hvilket kompetanseområde er viktigst for deg fremover?",
                    "Which competence area matters most for you going forward?",
                ),
                T("Et område til (valgfritt)", "One more area (optional)"),
            ),
            text(
                "competence_needs",
                T(
                    "Hvilken kompetanse ønsker eller trenger du å utvikle?",
                    "What competence do you want or need to develop?",
                ),
                ALIAS["competence_needs"],
                T(
                    "Skriv hvilke ferdigheter eller kunnskaper du vil styrke.",
                    "Write which skills or knowledge you want to strengthen.",
                ),
            ),
            text(
                "competence_actions",
                T("Hvilke tiltak foreslår du?", "Which actions do you propose?"),
                ALIAS["competence_actions"],
                T(
                    "For eksempel kurs, sertifisering, nye oppgaver, hospitering eller mentor.",
                    "For example a course, a certification, new tasks, job shadowing or a mentor.",
                ),
            ),
        ),
    ),
    Section(
        T("Trivsel og motivasjon", "Wellbeing and motivation"),
        (
            T("Hva gir deg energi og arbeidsglede?", "What gives you energy and joy at work?"),
            T("Hva tapper deg for energi?", "What drains your energy?"),
            T(
                "Opplever du tilhørighet og at du blir sett?",
                "Do you feel that you belong and are seen?",
            ),
        ),
        (
            dropdown(
                "wellbeing_score",
                T(
                    "Hvordan trives du i jobben, alt i alt?",
                    "How happy are you at work, all in all?",
                ),
                ALIAS["wellbeing_score"],
                T("Velg 1–5", "Choose 1–5"),
                WELLBEING_SCALE,
            ),
            text(
                "motivation",
                T(
                    "Hva motiverer deg, og hva kan gjøre hverdagen bedre?",
                    "What motivates you, and what could make your working day better?",
                ),
                ALIAS["motivation"],
                T(
                    "Skriv hva som gir deg arbeidsglede, og hva som trekker ned.",
                    "Write what brings you joy at work, and what pulls you down.",
                ),
            ),
            *factors(
                "employee",
                T(
                    "Loven nevner disse fire sidene ved arbeidsmiljøet. Velg 1–5 for hver (5 er "
                    "best), og skriv gjerne en kort kommentar.",
                    "The Act names these four sides of the work environment. Choose 1–5 for each "
                    "(5 is best), and add a short comment if you like.",
                ),
            ),
        ),
    ),
    Section(
        T("Samarbeid og arbeidsmiljø", "Collaboration and work environment"),
        (
            T(
                "Hvordan fungerer samarbeidet i teamet og med andre avdelinger?",
                "How well do you work together in the team and with other departments?",
            ),
            T(
                "Hva bidrar du med til et godt arbeidsmiljø?",
                "What do you contribute to a good work environment?",
            ),
            T(
                "Er det noe i arbeidsmiljøet som bør tas tak i?",
                "Is there anything in the work environment that should be dealt with?",
            ),
        ),
        (
            text(
                "collaboration",
                T(
                    "Hvordan fungerer samarbeidet med kolleger og andre avdelinger?",
                    "How does collaboration with colleagues and other departments work?",
                ),
                ALIAS["collaboration"],
                T(
                    "Skriv hva som fungerer godt, og hva som kan bli bedre.",
                    "Write what works well and what could be better.",
                ),
            ),
            text(
                "work_environment",
                T(
                    "Hvordan opplever du arbeidsmiljøet og kulturen hos oss?",
                    "How do you experience our work environment and culture?",
                ),
                ALIAS["work_environment"],
                T(
                    "Beskriv hva som er bra, hva som kan bli bedre, og eventuelle forslag.",
                    "Describe what is good, what could be better, and any suggestions.",
                ),
            ),
        ),
    ),
    Section(
        T("Tilbakemelding til lederen din", "Feedback to your manager"),
        (
            T(
                "Hva gjør lederen din som hjelper deg i jobben?",
                "What does your manager do that helps you in your job?",
            ),
            T(
                "Hva kunne lederen din gjort mer av, eller annerledes?",
                "What could your manager do more of, or differently?",
            ),
            T(
                "Får du nok tilbakemeldinger og oppfølging?",
                "Do you get enough feedback and follow-up?",
            ),
        ),
        (
            text(
                "feedback_manager",
                T(
                    "Hvilke tilbakemeldinger vil du gi til lederen din?",
                    "What feedback would you like to give your manager?",
                ),
                ALIAS["feedback_manager"],
                T(
                    "Skriv ærlig og konkret hva som fungerer, og hva lederen kan gjøre annerledes.",
                    "Write honestly and concretely what works and what could be done differently.",
                ),
                lines=4,
            ),
        ),
    ),
    Section(
        T("Andre temaer og oppfølging", "Other topics and follow-up"),
        (
            T(
                "Er det noe annet du ønsker å ta opp i samtalen?",
                "Is there anything else you would like to raise in the review?",
            ),
            T(
                "Er det noe lederen din bør vite på forhånd for å kunne forberede seg?",
                "Is there anything your manager should know in advance to prepare?",
            ),
        ),
        (
            text(
                "other_topics",
                T("Andre temaer du vil ta opp", "Other topics you want to raise"),
                ALIAS["other_topics"],
                T(
                    "Skriv andre saker du ønsker å snakke om i samtalen.",
                    "Write any other matters you want to talk about in the review.",
                ),
            ),
            checkbox(
                "wants_followup",
                T(
                    "Jeg ønsker en oppfølgingssamtale i løpet av året",
                    "I would like a follow-up conversation during the year",
                ),
                T("Ønsker oppfølgingssamtale", "Wants a follow-up conversation"),
            ),
            date(
                "preferred_date",
                T("Ønsket tidspunkt for samtalen", "Preferred date for the review"),
                T("Ønsket tidspunkt for samtalen", "Preferred date for the review"),
            ),
        ),
    ),
)

MANAGER_SECTIONS = (
    Section(
        T("Tilbakeblikk og evaluering av perioden", "Looking back: the period that has passed"),
        (
            T(
                "Hva ble dere enige om i forrige samtale, og hvordan har det gått?",
                "What did you agree on in the last review, and how has it gone?",
            ),
            T(
                "Hva har medarbeideren lykkes særlig godt med?",
                "What has the employee done particularly well?",
            ),
            T(
                "Hvor ser du potensial for videre utvikling?",
                "Where do you see potential for further development?",
            ),
        ),
        (
            text(
                "results",
                T(
                    "Hvilke resultater har medarbeideren oppnådd?",
                    "What results has the employee achieved?",
                ),
                ALIAS["results"],
                T(
                    "Skriv de viktigste resultatene og bidragene siden forrige samtale, gjerne "
                    "med eksempler.",
                    "Write down the main results and contributions since the last review, "
                    "preferably with examples.",
                ),
                lines=4,
            ),
            text(
                "strengths",
                T(
                    "Hva er medarbeiderens viktigste styrker?",
                    "What are the employee's main strengths?",
                ),
                ALIAS["strengths"],
                T(
                    "Beskriv hva medarbeideren mestrer godt, med konkrete eksempler.",
                    "Describe what the employee does well, with concrete examples.",
                ),
            ),
            text(
                "development_areas",
                T(
                    "Hvilke områder bør medarbeideren utvikle videre?",
                    "Which areas should the employee develop further?",
                ),
                ALIAS["development_areas"],
                T(
                    "Skriv hva medarbeideren kan bli bedre på, og hvordan du kan bidra.",
                    "Write what the employee could get better at, and how you can help.",
                ),
            ),
            dropdown(
                "period_rating",
                T("Hvordan vurderer du perioden samlet?", "How do you rate the period overall?"),
                ALIAS["period_rating"],
                T("Velg en vurdering", "Choose a rating"),
                PERIOD_SCALE,
            ),
        ),
    ),
    Section(
        T("Avtaler fra forrige samtale", "Agreements from the last review"),
        (
            T(
                "Hvilke avtaler er fulgt opp, og hva bidro til det?",
                "Which agreements were followed up, and what helped?",
            ),
            T(
                "Hva hindret det som ikke ble gjort – og hva kunne du som leder gjort annerledes?",
                "What stopped the rest – and what could you as a manager have done differently?",
            ),
            T(
                "Hvilke avtaler bør videreføres til neste periode?",
                "Which agreements should carry over to the next period?",
            ),
        ),
        AGREEMENTS_BODY,
    ),
    Section(
        T("Mål og retning for neste periode", "Goals and direction for the next period"),
        (
            T(
                "Hvilke av selskapets og avdelingens mål bør medarbeideren bidra til?",
                "Which of the company's and department's goals should the employee contribute to?",
            ),
            T(
                "Hvilke forventninger har du til medarbeideren det neste året?",
                "What do you expect from the employee in the coming year?",
            ),
            T("Hva trenger medarbeideren for å lykkes?", "What does the employee need to succeed?"),
        ),
        prep_goals(
            T(
                "Foreslå inntil tre mål for medarbeideren, og velg hvilket av selskapets mål hvert "
                "mål støtter.",
                "Propose up to three goals for the employee, and choose which of the company's "
                "goals each one supports.",
            ),
            T(
                "Skriv et konkret mål, gjerne med når det skal være nådd.",
                "Write a concrete goal, ideally with when it should be reached.",
            ),
        ),
    ),
    Section(
        T("Kompetanseutvikling", "Competence development"),
        (
            T(
                "Hvilken kompetanse vil avdelingen trenge fremover?",
                "What competence will the department need going forward?",
            ),
            T(
                "Har medarbeideren kompetanse som kan brukes mer enn i dag?",
                "Does the employee have skills that could be used more than today?",
            ),
            T("Hvordan lærer medarbeideren best?", "How does the employee learn best?"),
        ),
        (
            *competence_areas(
                T(
                    "Hvilket kompetanseområde bør medarbeideren prioritere?",
                    "Which competence area should the employee prioritise?",
                ),
                T("Et område til (valgfritt)", "One more area (optional)"),
            ),
            text(
                "competence_needs",
                T(
                    "Hvilken kompetanse bør medarbeideren utvikle?",
                    "What competence should the employee develop?",
                ),
                ALIAS["competence_needs"],
                T(
                    "Skriv hvilke ferdigheter eller kunnskaper som vil styrke medarbeideren.",
                    "Write which skills or knowledge would strengthen the employee.",
                ),
            ),
            text(
                "competence_actions",
                T(
                    "Hvilke tiltak kan du tilby eller foreslå?",
                    "Which actions can you offer or propose?",
                ),
                ALIAS["competence_actions"],
                T(
                    "For eksempel kurs, sertifisering, nye oppgaver, hospitering eller mentor.",
                    "For example a course, a certification, new tasks, job shadowing or a mentor.",
                ),
            ),
        ),
    ),
    Section(
        T("Trivsel og motivasjon", "Wellbeing and motivation"),
        (
            T(
                "Hvordan ser det ut til at medarbeideren har det på jobb?",
                "How does the employee seem to be doing at work?",
            ),
            T(
                "Hva gir medarbeideren energi og arbeidsglede?",
                "What gives the employee energy and joy at work?",
            ),
            T(
                "Er det tegn på for høy eller for lav arbeidsbelastning?",
                "Are there signs of too much or too little work?",
            ),
        ),
        (
            dropdown(
                "wellbeing_score",
                T(
                    "Hvordan opplever du at medarbeideren trives, alt i alt?",
                    "How happy do you think the employee is at work, all in all?",
                ),
                ALIAS["wellbeing_score"],
                T("Velg 1–5", "Choose 1–5"),
                WELLBEING_SCALE,
            ),
            text(
                "motivation",
                T(
                    "Hva tror du motiverer medarbeideren?",
                    "What do you think motivates the employee?",
                ),
                ALIAS["motivation"],
                T(
                    "Skriv hva du ser gir engasjement, og hva som kan trekke ned.",
                    "Write what you see creates engagement, and what may pull it down.",
                ),
            ),
            *factors(
                "manager",
                T(
                    "Slik du ser det som leder. Velg 1–5 for hver (5 er best); i samtalen "
                    "sammenligner dere med medarbeiderens svar.",
                    "As you see it as the manager. Choose 1–5 for each (5 is best); in the review "
                    "you compare with the employee's answers.",
                ),
            ),
        ),
    ),
    Section(
        T("Samarbeid og arbeidsmiljø", "Collaboration and work environment"),
        (
            T(
                "Hvordan samarbeider medarbeideren med kolleger og andre avdelinger?",
                "How does the employee work with colleagues and other departments?",
            ),
            T(
                "Hvordan bidrar medarbeideren til arbeidsmiljøet og kulturen?",
                "How does the employee contribute to the work environment and culture?",
            ),
            T(
                "Er det forhold i arbeidsmiljøet du bør ta tak i?",
                "Is there anything in the work environment you should deal with?",
            ),
        ),
        (
            text(
                "collaboration",
                T(
                    "Hvordan fungerer samarbeidet med kolleger og andre avdelinger?",
                    "How does collaboration with colleagues and other departments work?",
                ),
                ALIAS["collaboration"],
                T(
                    "Skriv hva som fungerer godt, og hva som kan bli bedre.",
                    "Write what works well and what could be better.",
                ),
            ),
            text(
                "work_environment",
                T(
                    "Hvordan bidrar medarbeideren til et godt arbeidsmiljø?",
                    "How does the employee contribute to a good work environment?",
                ),
                ALIAS["work_environment"],
                T(
                    "Beskriv medarbeiderens bidrag og forhold som bør følges opp.",
                    "Describe the employee's contribution and anything that needs follow-up.",
                ),
            ),
        ),
    ),
    Section(
        T("Støtte til medarbeideren", "Supporting the employee"),
        (
            T(
                "Hva trenger medarbeideren fra deg for å lykkes?",
                "What does the employee need from you to succeed?",
            ),
            T(
                "Gir du nok tilbakemeldinger, og på en måte som virker?",
                "Do you give enough feedback, in a way that works?",
            ),
            T(
                "Hva vil du be medarbeideren om tilbakemelding på?",
                "What would you like the employee's feedback on?",
            ),
        ),
        (
            text(
                "support_employee",
                T(
                    "Hvordan kan du som leder støtte medarbeideren bedre?",
                    "How can you as a manager support the employee better?",
                ),
                ALIAS["support_employee"],
                T(
                    "Skriv hva du vil gjøre mer av eller annerledes, og hva du ønsker "
                    "tilbakemelding på.",
                    "Write what you will do more of or differently, and what you want feedback on.",
                ),
                lines=4,
            ),
        ),
    ),
    Section(
        T("Andre temaer og oppfølging", "Other topics and follow-up"),
        (
            T(
                "Er det andre temaer du vil ta opp i samtalen?",
                "Are there other topics you want to raise in the review?",
            ),
            T(
                "Venter du vanskelige temaer? Tenk gjennom innfallsvinkel og ønsket utfall.",
                "Do you expect difficult topics? Think through your approach and the outcome "
                "you want.",
            ),
        ),
        (
            text(
                "other_topics",
                T("Andre temaer du vil ta opp", "Other topics you want to raise"),
                ALIAS["other_topics"],
                T(
                    "Skriv andre saker du ønsker å snakke om i samtalen.",
                    "Write any other matters you want to talk about in the review.",
                ),
            ),
            checkbox(
                "wants_followup",
                T(
                    "Jeg vil tilby en oppfølgingssamtale i løpet av året",
                    "I will offer a follow-up conversation during the year",
                ),
                T("Tilbyr oppfølgingssamtale", "Offers a follow-up conversation"),
            ),
            date(
                "preferred_date",
                T("Ønsket tidspunkt for samtalen", "Preferred date for the review"),
                T("Ønsket tidspunkt for samtalen", "Preferred date for the review"),
            ),
        ),
    ),
)

FILL_IN = T(
    "Skriv svarene i de grå feltene. Klikk i et felt for å begynne å skrive.",
    "Write your answers in the grey fields. Click a field to start typing.",
)
KEEP_TEXT = T(
    "Ikke endre eller slett den øvrige teksten i skjemaet.",
    "Do not change or delete the other text in the form.",
)
RETURN_TO_HR = T(
    "Lagre skjemaet som Word-dokument (.docx) og send det tilbake til HR"
    "{% if deadline %} innen {{ deadline }}{% endif %}.",
    "Save the form as a Word document (.docx) and send it back to HR"
    "{% if deadline %} by {{ deadline }}{% endif %}.",
)

EMPLOYEE_CHROME = Chrome(
    title=T("Medarbeidersamtale {{ cycle }}", "Employee review {{ cycle }}"),
    subtitle=T("Forberedelse – medarbeider", "Preparation – employee"),
    instructions=(FILL_IN, KEEP_TEXT, RETURN_TO_HR),
    closing=T(
        "Både du og lederen din fyller ut hvert deres skjema før samtalen, slik at dere begge er "
        "godt forberedt og forventningene er tydelige. Skjemaet er et utgangspunkt – det "
        "viktigste er samtalen.",
        "You and your manager each fill in a form before the review, so that you are both well "
        "prepared and expectations are clear. The form is a starting point – the conversation "
        "is what matters most.",
    ),
    description=T(
        "Mal for samtale (medarbeiderens forberedelse). Innholdskontrollene er svarfeltene: "
        "ikke slett dem og ikke endre merkene (tag).",
        "samtale template (employee's preparation). The content controls are the answer "
        "fields: do not delete them or change their tags.",
    ),
)

MANAGER_CHROME = Chrome(
    title=T("Medarbeidersamtale {{ cycle }}", "Employee review {{ cycle }}"),
    subtitle=T("Forberedelse – leder", "Preparation – manager"),
    info=info_rows(T("Medarbeider", "Employee")),
    instructions=(
        FILL_IN,
        KEEP_TEXT,
        RETURN_TO_HR,
        T(
            "Sett av 1–1,5 time til samtalen, på et sted der dere kan snakke uforstyrret.",
            "Set aside 1–1.5 hours for the review, somewhere you can talk undisturbed.",
        ),
    ),
    closing=T(
        "Både du og medarbeideren fyller ut hvert deres skjema før samtalen. Se på hva dere ble "
        "enige om sist, og forbered vurderingen av resultater, styrker og utviklingsområder. "
        "Skjemaet er et utgangspunkt – det viktigste er samtalen.",
        "You and the employee each fill in a form before the review. Look at what you agreed on "
        "last time and prepare your view of results, strengths and areas to develop. The form "
        "is a starting point – the conversation is what matters most.",
    ),
    description=T(
        "Mal for samtale (lederens forberedelse). Innholdskontrollene er svarfeltene: "
        "ikke slett dem og ikke endre merkene (tag).",
        "samtale template (manager's preparation). The content controls are the answer "
        "fields: do not delete them or change their tags.",
    ),
)

# ---- the minutes form --------------------------------------------------------------------


def same(text: str) -> T:
    """Return text that reads the same in both languages (Jinja, numbers)."""
    return T(text, text)


def agreed(key: str, topic: T, alias: T, placeholder: T) -> tuple[Static, Field]:
    """Return one row of the agreed-per-topic table: the topic, then what was agreed."""
    return (Static(topic, strong=True), text(key, topic, alias, placeholder))


AGREED = Grid(
    columns=(T("Tema", "Topic"), T("Dette ble dere enige om", "What you agreed")),
    widths=(2552, 7086),
    rows=(
        agreed(
            "agreed_look_back",
            T("Tilbakeblikk og evaluering av perioden", "Looking back on the period"),
            T("Avtalt – tilbakeblikk", "Agreed – looking back"),
            T(
                "Skriv hvordan dere sammen vurderer perioden: resultater, styrker og "
                "utviklingsområder.",
                "Write how you both see the period: results, strengths and areas to develop.",
            ),
        ),
        agreed(
            "agreed_goals",
            T("Mål og retning for neste periode", "Goals and direction for the next period"),
            T("Avtalt – mål og retning", "Agreed – goals and direction"),
            T(
                "Skriv hva dere ble enige om; før de konkrete målene inn i tabellen i del 4.",
                "Write what you agreed; put the concrete goals in the table in part 4.",
            ),
        ),
        agreed(
            "agreed_competence",
            T("Kompetanseutvikling", "Competence development"),
            T("Avtalt – kompetanseutvikling", "Agreed – competence development"),
            T(
                "Skriv hvilken kompetanse medarbeideren skal utvikle, og hvorfor.",
                "Write which competence the employee will develop, and why.",
            ),
        ),
        agreed(
            "agreed_wellbeing",
            T("Trivsel og motivasjon", "Wellbeing and motivation"),
            T("Avtalt – trivsel og motivasjon", "Agreed – wellbeing and motivation"),
            T(
                "Skriv hva dere ble enige om for arbeidsglede og arbeidsmengde.",
                "Write what you agreed about joy at work and workload.",
            ),
        ),
        agreed(
            "agreed_collaboration",
            T("Samarbeid og arbeidsmiljø", "Collaboration and work environment"),
            T("Avtalt – samarbeid og arbeidsmiljø", "Agreed – collaboration and environment"),
            T(
                "Skriv hva dere ble enige om for samarbeid og arbeidsmiljø.",
                "Write what you agreed about collaboration and the work environment.",
            ),
        ),
        agreed(
            "agreed_feedback",
            T("Tilbakemelding og støtte", "Feedback and support"),
            T("Avtalt – tilbakemelding og støtte", "Agreed – feedback and support"),
            T(
                "Skriv hva lederen tar med seg, og hvordan medarbeideren skal få støtte.",
                "Write what the manager takes away, and how the employee will be supported.",
            ),
        ),
        agreed(
            "agreed_other",
            T("Andre temaer", "Other topics"),
            T("Avtalt – andre temaer", "Agreed – other topics"),
            T(
                "Skriv hva dere ble enige om i andre saker som ble tatt opp.",
                "Write what you agreed on other matters you discussed.",
            ),
        ),
    ),
    lines=3,
)

GOALS = 5
GOALS_GRID = Grid(
    columns=(
        T("#", "#"),
        T("Mål", "Goal"),
        T("Slik måler vi det", "How it is measured"),
        T("Selskapsmål", "Company goal"),
        T("Frist", "Deadline"),
    ),
    widths=(454, 3118, 2268, 2098, 1700),
    rows=tuple(
        (
            Static(same(str(n)), muted=True),
            text(
                f"goal_{n}",
                T(f"Mål {n}", f"Goal {n}"),
                T(f"Mål {n}", f"Goal {n}"),
                T("Skriv et konkret mål.", "Write a concrete goal."),
            ),
            text(
                f"goal_{n}_measure",
                T(f"Mål {n} – slik måles det", f"Goal {n} – how it is measured"),
                T(f"Mål {n} – slik måles det", f"Goal {n} – how it is measured"),
                T("Hvordan ser dere at målet er nådd?", "How will you see it is reached?"),
            ),
            company_goal(n),
            date(
                f"goal_{n}_deadline",
                T(f"Mål {n} – frist", f"Goal {n} – deadline"),
                T(f"Mål {n} – frist", f"Goal {n} – deadline"),
            ),
        )
        for n in range(1, GOALS + 1)
    ),
)

FOLLOWUPS = 5
FOLLOWUP_GRID = Grid(
    columns=(
        T("#", "#"),
        T("Hva skal gjøres", "What will be done"),
        T("Hvem", "Who"),
        T("Innen", "By when"),
    ),
    widths=(454, 5102, 2211, 1871),
    rows=tuple(
        (
            Static(same(str(n)), muted=True),
            text(
                f"followup_{n}_what",
                T(f"Oppfølging {n}", f"Follow-up {n}"),
                T(f"Oppfølging {n} – hva", f"Follow-up {n} – what"),
                T("Skriv hva som skal følges opp.", "Write what will be followed up."),
            ),
            text(
                f"followup_{n}_who",
                T(f"Oppfølging {n} – hvem", f"Follow-up {n} – who"),
                T(f"Oppfølging {n} – hvem", f"Follow-up {n} – who"),
                T("Navn", "Name"),
            ),
            date(
                f"followup_{n}_when",
                T(f"Oppfølging {n} – innen", f"Follow-up {n} – by when"),
                T(f"Oppfølging {n} – innen", f"Follow-up {n} – by when"),
            ),
        )
        for n in range(1, FOLLOWUPS + 1)
    ),
)


def sign_off(role: str, confirms: T, name_alias: T, date_alias: T) -> tuple[Static | Field, ...]:
    """Return one sign-off row: who confirms, the checkbox, their name and the date."""
    return (
        Static(confirms, strong=True),
        checkbox(f"{role}_confirmed", confirms, confirms),
        Field(
            f"{role}_name",
            "text",
            name_alias,
            T("Skriv navnet ditt", "Write your name"),
            name_alias,
            lines=1,
        ),
        date(f"{role}_date", date_alias, date_alias),
    )


SIGN_OFF = Grid(
    columns=(
        T("Bekreftelse", "Confirmation"),
        T("Kryss av", "Tick"),
        T("Navn", "Name"),
        T("Dato", "Date"),
    ),
    widths=(3402, 1134, 3231, 1871),
    rows=(
        sign_off(
            "manager",
            T("Leder bekrefter referatet", "Manager confirms the minutes"),
            T("Leders navn", "Manager's name"),
            T("Dato – leder", "Date – manager"),
        ),
        sign_off(
            "employee",
            T("Medarbeider bekrefter referatet", "Employee confirms the minutes"),
            T("Medarbeiders navn", "Employee's name"),
            T("Dato – medarbeider", "Date – employee"),
        ),
    ),
    lines=1,
    valign="center",
)

PREVIOUS_READ_ONLY = Grid(
    columns=(T("#", "#"), T("Avtale fra forrige samtale", "Agreement from the last review")),
    widths=(454, 9184),
    rows=tuple(
        (
            Static(same(str(n)), muted=True),
            Static(same(f"{{{{ previous.agreement_{n} }}}}")),
        )
        for n in range(1, AGREEMENTS + 1)
    ),
    lines=1,
    conditions=tuple(agreement_condition(n) for n in range(1, AGREEMENTS + 1)),
)

SIDES = RepeatTable(
    columns=(T("Spørsmål", "Question"), T("Medarbeider", "Employee"), T("Leder", "Manager")),
    widths=(2836, 3401, 3401),
    groups="section in sides",
    title="{{ section.title }}",
    items="row in section.rows",
    cells=(
        Static(same("{{ row.question }}"), strong=True),
        Static(same("{{ row.employee }}")),
        Static(same("{{ row.manager }}")),
    ),
)

MINUTES_SECTIONS = (
    Section(
        T("Tema for samtalen", "Topics for the review"),
        (),
        (
            Para(
                T("Der forberedelsene skiller seg mest", "Where the preparations differ most"),
                style="FormSubheading",
            ),
            jinja("{%p for item in agenda %}"),
            Para(same("{{ item }}"), style="ListBullet"),
            jinja("{%p endfor %}"),
            jinja("{%p if not agenda %}"),
            Para(
                T(
                    "Ingen store forskjeller i forberedelsene.",
                    "No big differences in the preparations.",
                ),
                style="FormCell",
            ),
            jinja("{%p endif %}"),
            jinja("{%p if previous.any %}"),
            Para(
                T("Avtaler fra forrige samtale", "Agreements from the last review"),
                style="FormSubheading",
            ),
            PREVIOUS_READ_ONLY,
            jinja("{%p endif %}"),
        ),
    ),
    Section(
        T("Forberedelsene side om side", "The preparations side by side"),
        (),
        (
            Para(
                T(
                    "Svarene fra begge forberedelsesskjemaene, spørsmål for spørsmål. Denne "
                    "delen er til støtte i samtalen og skal ikke fylles ut.",
                    "The answers from both preparation forms, question by question. This part "
                    "supports the review; there is nothing to fill in here.",
                ),
                style="FormIntro",
            ),
            SIDES,
        ),
    ),
    Section(
        T("Dette ble dere enige om", "What you agreed"),
        (),
        (
            Para(
                T(
                    "Skriv kort hva dere ble enige om under hvert tema. La feltet stå tomt hvis "
                    "temaet ikke ble tatt opp.",
                    "Write briefly what you agreed under each topic. Leave the field empty if "
                    "the topic did not come up.",
                ),
                style="FormIntro",
            ),
            AGREED,
        ),
    ),
    Section(
        T("Mål for neste periode", "Goals for the next period"),
        (),
        (
            Para(
                T(
                    "Før opp inntil fem konkrete mål, hvordan dere ser at de er nådd, og fristen. "
                    "Målene bør støtte avdelingens og selskapets mål.",
                    "List up to five concrete goals, how you will see they are reached, and the "
                    "deadline. The goals should support the department's and the company's goals.",
                ),
                style="FormIntro",
            ),
            GOALS_GRID,
        ),
    ),
    Section(
        T("Kompetanseutvikling", "Competence development"),
        (),
        (
            text(
                "competence_plan",
                T(
                    "Hvilke tiltak for kompetanseutvikling er avtalt, og når skjer de?",
                    "Which competence development actions were agreed, and when do they happen?",
                ),
                T("Plan for kompetanseutvikling", "Competence development plan"),
                T(
                    "For eksempel kurs, sertifisering, nye oppgaver, hospitering eller mentor – "
                    "med tidspunkt.",
                    "For example a course, a certification, new tasks, job shadowing or a mentor "
                    "– with timing.",
                ),
                lines=4,
            ),
        ),
    ),
    Section(
        T("Oppfølging gjennom året", "Follow-up during the year"),
        (),
        (
            Para(
                T(
                    "Før opp det som skal følges opp, hvem som har ansvaret og når. Sett av tid "
                    "i kalenderen med en gang, så det ikke går i glemmeboka.",
                    "List what will be followed up, who is responsible and by when. Book the "
                    "time in your calendar right away, so it is not forgotten.",
                ),
                style="FormIntro",
            ),
            FOLLOWUP_GRID,
        ),
    ),
    Section(
        T("Bekreftelse", "Confirmation"),
        (),
        (
            Para(
                T(
                    "Lederen krysser av og sender referatet til medarbeideren. Medarbeideren "
                    "leser, krysser av og sender det tilbake. Endres referatet etter at lederen "
                    "har bekreftet, må lederen bekrefte på nytt.",
                    "The manager ticks the box and sends the minutes to the employee. The "
                    "employee reads them, ticks the box and sends them back. If the minutes "
                    "change after the manager has confirmed, the manager must confirm again.",
                ),
                style="FormIntro",
            ),
            SIGN_OFF,
        ),
    ),
)

MINUTES_CHROME = Chrome(
    title=T("Medarbeidersamtale {{ cycle }}", "Employee review {{ cycle }}"),
    subtitle=T("Referat", "Minutes"),
    info=info_rows(T("Medarbeider", "Employee")),
    instructions_heading=T("Slik fyller du ut referatet", "How to complete the minutes"),
    instructions=(
        T(
            "Skriv det dere ble enige om i de grå feltene etter samtalen: avtaler per tema, mål, "
            "kompetanseplan og oppfølging.",
            "After the review, write what you agreed in the grey fields: agreements per topic, "
            "goals, competence plan and follow-up.",
        ),
        T(
            "Kryss av for at du bekrefter referatet, skriv navn og dato, og send det til "
            "medarbeideren.",
            "Tick the box to confirm the minutes, add your name and the date, and send them to "
            "the employee.",
        ),
        T(
            "Medarbeideren leser referatet, krysser av, skriver navn og dato og sender det "
            "tilbake til deg.",
            "The employee reads the minutes, ticks the box, adds their name and the date and "
            "sends them back to you.",
        ),
        T(
            "Endrer medarbeideren noe, må du lese endringene og bekrefte på nytt.",
            "If the employee changes anything, read the changes and confirm again.",
        ),
        T(
            "Lagre referatet som Word-dokument (.docx) og send det til HR"
            "{% if deadline %} innen {{ deadline }}{% endif %}.",
            "Save the minutes as a Word document (.docx) and send them to HR"
            "{% if deadline %} by {{ deadline }}{% endif %}.",
        ),
    ),
    closing=T(
        "Som leder har du ansvaret for et endelig referat som både du og medarbeideren "
        "bekrefter. Det viktigste er at dere har en felles forståelse av vurderingen, "
        "tilbakemeldingene og målene fremover. Referatet tas opp igjen ved neste samtale.",
        "As the manager you are responsible for final minutes that both you and the employee "
        "confirm. What matters most is that you share the same understanding of the "
        "assessment, the feedback and the goals ahead. The minutes are revisited at the next "
        "review.",
    ),
    description=T(
        "Mal for samtale (referat etter samtalen). Innholdskontrollene er svarfeltene: ikke "
        "slett dem og ikke endre merkene (tag).",
        "samtale template (minutes after the review). The content controls are the answer "
        "fields: do not delete them or change their tags.",
    ),
)

FORMS: dict[str, tuple[Chrome, tuple[Section, ...]]] = {
    "employee": (EMPLOYEE_CHROME, EMPLOYEE_SECTIONS),
    "manager": (MANAGER_CHROME, MANAGER_SECTIONS),
    "minutes": (MINUTES_CHROME, MINUTES_SECTIONS),
}

DOC_LANG = {"nb": "nb-NO", "en": "en-GB"}


# --------------------------------------------------------------------------------------------
# Reading the data.
# --------------------------------------------------------------------------------------------


def body_parts(section: Section) -> list[Para | Grid | RepeatTable | Questions]:
    """Return the parts of a section's body; each run of consecutive fields is one Questions."""
    items = (section.body,) if isinstance(section.body, Grid) else section.body
    parts: list[Para | Grid | RepeatTable | Questions] = []
    for item in items:
        if not isinstance(item, Field):
            parts.append(item)
        elif parts and isinstance(parts[-1], Questions):
            parts[-1] = Questions((*parts[-1].fields, item))
        else:
            parts.append(Questions((item,)))
    return parts


def section_fields(section: Section) -> Iterator[Field]:
    """Yield the answer fields of ``section`` in document order."""
    for part in body_parts(section):
        if isinstance(part, Questions):
            yield from part.fields
        elif isinstance(part, Grid):
            for row in part.rows:
                yield from (cell for cell in row if isinstance(cell, Field))


def form_fields(kind: str) -> list[Field]:
    """Return the answer fields of form ``kind`` in document order."""
    return [f for section in FORMS[kind][1] for f in section_fields(section)]


def form_keys(kind: str) -> list[str]:
    """Return the answer keys of form ``kind`` in document order (same for every language)."""
    return [f.key for f in form_fields(kind)]


def control_id(key: str) -> int:
    """Return the stable ``w:id`` of the control tagged ``key``."""
    return zlib.crc32(key.encode("ascii")) & 0x7FFFFFFF


# --------------------------------------------------------------------------------------------
# OOXML helpers (elements are written in schema order).
# --------------------------------------------------------------------------------------------


def E(tag: str, *children, **attrs):
    """Return a new element ``tag`` ("w:p") with ``children``; attributes share its prefix."""
    prefix = tag.split(":")[0]
    element = OxmlElement(tag, {qn(f"{prefix}:{k}"): str(v) for k, v in attrs.items()})
    element.extend(c for c in children if c is not None)
    return element


def run(content: str, *, style: str = "", bold: bool = False, color: str = "", size: int = 0):
    """Return a ``w:r`` holding ``content`` in one ``w:t`` (so Jinja never splits)."""
    props = [
        E("w:rStyle", val=style) if style else None,
        E("w:b") if bold else None,
        E("w:color", val=color) if color else None,
        E("w:sz", val=size) if size else None,
        E("w:szCs", val=size) if size else None,
    ]
    t = E("w:t")
    t.text = content
    t.set(qn("xml:space"), "preserve")
    rpr = E("w:rPr", *props) if any(p is not None for p in props) else None
    return E("w:r", rpr, t)


def para(*runs, style: str = "", keep_next: bool = False, jc: str = "", tabs: Iterable = ()):
    """Return a ``w:p`` with paragraph style ``style`` and ``runs``."""
    tab_stops = [E("w:tab", val=kind, pos=pos) for kind, pos in tabs]
    ppr = E(
        "w:pPr",
        E("w:pStyle", val=style) if style else None,
        E("w:keepNext") if keep_next else None,
        E("w:tabs", *tab_stops) if tab_stops else None,
        E("w:jc", val=jc) if jc else None,
    )
    return E("w:p", ppr if len(ppr) else None, *runs)


def field_runs(instruction: str, shown: str) -> list:
    """Return the runs of a complex field (PAGE, NUMPAGES) showing ``shown`` until updated."""
    instr = E("w:instrText")
    instr.text = f" {instruction} "
    instr.set(qn("xml:space"), "preserve")
    return [
        E("w:r", E("w:fldChar", fldCharType="begin")),
        E("w:r", instr),
        E("w:r", E("w:fldChar", fldCharType="separate")),
        run(shown),
        E("w:r", E("w:fldChar", fldCharType="end")),
    ]


ALL_SIDES = ("top", "left", "bottom", "right", "insideH", "insideV")  # in schema order


def borders(tag: str, color: str, size: int = 4, sides=("top", "left", "bottom", "right")):
    """Return a borders element (``w:tcBorders``/``w:tblBorders``) with single lines."""
    lines = [
        E(f"w:{side}", val="single", sz=size, space=0, color=color)
        if side in sides
        else E(f"w:{side}", val="nil")
        for side in ALL_SIDES
        if tag == "w:tblBorders" or side not in ("insideH", "insideV")
    ]
    return E(tag, *lines)


def cell(
    *content,
    width: int,
    span: int = 1,
    fill: str = "",
    line: str = "",
    line_size: int = 4,
    line_sides=("top", "left", "bottom", "right"),
    margin_left: int | None = None,
    margins: tuple[int, int] | None = None,
    valign: str = "",
):
    """Return a ``w:tc`` of ``width`` twips holding ``content`` (paragraphs or one sdt).

    ``margin_left`` overrides the left padding, ``margins`` the top and bottom padding.
    """
    pads = []
    if margins is not None:
        pads.append(E("w:top", w=margins[0], type="dxa"))
    if margin_left is not None:
        pads.append(E("w:left", w=margin_left, type="dxa"))
    if margins is not None:
        pads.append(E("w:bottom", w=margins[1], type="dxa"))
    margins = E("w:tcMar", *pads) if pads else None
    tcpr = E(
        "w:tcPr",
        E("w:tcW", w=width, type="dxa"),
        E("w:gridSpan", val=span) if span > 1 else None,
        borders("w:tcBorders", line, line_size, line_sides) if line else None,
        E("w:shd", val="clear", color="auto", fill=fill) if fill else None,
        margins,
        E("w:vAlign", val=valign) if valign else None,
    )
    return E("w:tc", tcpr, *content)


def shared_borders(rows: list):
    """Return the table's borders when all its cells have the same single lines, else None."""
    # Word and LibreOffice draw a table's borders (inside ones too) as those lines on every
    # cell; said once per table instead of once per cell, a rendered minutes form is a quarter
    # smaller and LibreOffice renders it with some 4 % less CPU. The cells' own borders are
    # removed then. A row that only holds a docxtpl row tag never reaches a rendered form and
    # does not count.
    cells = [tc for r in rows if not is_tag_row(r) for tc in r.findall(qn("w:tc"))]
    own = [tc.find(f"{qn('w:tcPr')}/{qn('w:tcBorders')}") for tc in cells]
    if not own or any(b is None for b in own) or len({etree.tostring(b) for b in own}) != 1:
        return None
    lines = list(own[0])
    if any(line.get(qn("w:val")) != "single" for line in lines):
        return None  # some sides without a line (the instructions box's left bar)
    for b in own:
        b.getparent().remove(b)
    return borders("w:tblBorders", lines[0].get(qn("w:color")), lines[0].get(qn("w:sz")), ALL_SIDES)


def is_tag_row(tr) -> bool:
    """Return True for a row holding only a docxtpl row tag (``{%tr … %}``)."""
    return "".join(tr.itertext()).strip().startswith("{%tr")


def row(
    *cells, height: int = 0, exact: bool = False, header: bool = False, cant_split: bool = True
):
    """Return a ``w:tr`` of ``cells`` at least (or, with ``exact``, exactly) ``height`` twips."""
    rule = "exact" if exact else "atLeast"
    trpr = E(
        "w:trPr",
        E("w:cantSplit") if cant_split else None,
        E("w:trHeight", val=height, hRule=rule) if height else None,
        E("w:tblHeader") if header else None,
    )
    return E("w:tr", trpr, *cells)


def table(widths: Iterable[int], rows: Iterable, *, margins=(60, 113, 60, 113)):
    """Return a fixed-layout, full-width ``w:tbl``, bordered only if all its cells are alike."""
    widths = list(widths)
    rows = list(rows)
    shared = shared_borders(rows)
    top, left, bottom, right = margins
    tblpr = E(
        "w:tblPr",
        E("w:tblW", w=sum(widths), type="dxa"),
        E("w:tblInd", w=0, type="dxa"),
        shared if shared is not None else borders("w:tblBorders", "auto", sides=()),
        E("w:tblLayout", type="fixed"),
        E(
            "w:tblCellMar",
            E("w:top", w=top, type="dxa"),
            E("w:left", w=left, type="dxa"),
            E("w:bottom", w=bottom, type="dxa"),
            E("w:right", w=right, type="dxa"),
        ),
        E(
            "w:tblLook",
            val="0000",
            firstRow=0,
            lastRow=0,
            firstColumn=0,
            lastColumn=0,
            noHBand=1,
            noVBand=1,
        ),
    )
    grid = E("w:tblGrid", *(E("w:gridCol", w=w) for w in widths))
    return E("w:tbl", tblpr, grid, *rows)


# --------------------------------------------------------------------------------------------
# Content controls.
# --------------------------------------------------------------------------------------------


def sdt_properties(f: Field, language: str, *type_elements):
    """Return the ``w:sdtPr`` of field ``f``: alias, tag, id, placeholder flag, type."""
    return E(
        "w:sdtPr",
        E("w:alias", val=f.alias.get(language)),
        E("w:tag", val=f.key),
        E("w:id", val=control_id(f.key)),
        E("w:lock", val="sdtLocked"),  # the answer can be edited, the field not deleted
        E("w:showingPlcHdr"),
        *type_elements,
    )


def placeholder_run(f: Field, language: str):
    """Return the gray placeholder run of field ``f``."""
    return run(f.placeholder.get(language), style="PlaceholderText")


def text_control(f: Field, language: str):
    """Return a block-level rich-text ``w:sdt`` holding one placeholder paragraph."""
    content = E("w:sdtContent", para(placeholder_run(f, language), style="FormAnswer"))
    return E("w:sdt", sdt_properties(f, language), content)


def dropdown_control(f: Field, language: str):
    """Return an inline dropdown ``w:sdt`` listing the field's choices."""
    items = [E("w:listItem", displayText=label.get(language), value=v) for label, v in f.choices]
    props = sdt_properties(f, language, E("w:dropDownList", *items))
    return E("w:sdt", props, E("w:sdtContent", placeholder_run(f, language)))


def date_control(f: Field, language: str):
    """Return an inline date-picker ``w:sdt`` (dd.MM.yyyy)."""
    picker = E(
        "w:date",
        E("w:dateFormat", val="dd.MM.yyyy"),
        E("w:lid", val=DOC_LANG[language]),
        E("w:storeMappedDataAs", val="dateTime"),
        E("w:calendar", val="gregorian"),
    )
    props = sdt_properties(f, language, picker)
    return E("w:sdt", props, E("w:sdtContent", placeholder_run(f, language)))


def checkbox_control(f: Field, language: str):
    """Return an inline ``w14:checkbox`` ``w:sdt`` showing an empty box (☐)."""
    box = E(
        "w14:checkbox",
        E("w14:checked", val=0),
        E("w14:checkedState", val="2612", font=CHECKBOX_FONT),
        E("w14:uncheckedState", val="2610", font=CHECKBOX_FONT),
    )
    props = sdt_properties(f, language, box)
    props.insert(0, E("w:rPr", checkbox_fonts(), E("w:sz", val=28), E("w:szCs", val=28)))
    glyph = run("☐", style="PlaceholderText", color=INK, size=28)
    glyph.find(qn("w:rPr")).insert(1, checkbox_fonts())
    return E("w:sdt", props, E("w:sdtContent", glyph))


def checkbox_fonts():
    """Return the ``w:rFonts`` Word uses for checkbox glyphs."""
    return E(
        "w:rFonts",
        ascii=CHECKBOX_FONT,
        eastAsia=CHECKBOX_FONT,
        hAnsi=CHECKBOX_FONT,
        hint="eastAsia",
    )


INLINE_CONTROLS = {"dropdown": dropdown_control, "date": date_control, "checkbox": checkbox_control}


def answer_content(f: Field, language: str):
    """Return what goes in the field's answer cell: the control and nothing else."""
    if f.type == "text":
        return text_control(f, language)
    return para(INLINE_CONTROLS[f.type](f, language), style="FormAnswer")


def answer_cell(f: Field, language: str, width: int, span: int = 1, valign: str = ""):
    """Return the shaded, bordered answer cell holding only field ``f``."""
    return cell(
        answer_content(f, language),
        width=width,
        span=span,
        fill=ANSWER_FILL,
        line=ANSWER_LINE,
        valign=valign or ("top" if f.type == "text" else "center"),
    )


# --------------------------------------------------------------------------------------------
# Document parts.
# --------------------------------------------------------------------------------------------

QUESTION_W = 6236
SHORT_ANSWER_W = TEXT_W - QUESTION_W


def box_height(lines: int) -> int:
    """Return the minimum height in twips of an answer box ``lines`` lines tall."""
    return lines * LINE_TWIPS + 160


def question_rows(fields: Iterable[Field], language: str) -> list:
    """Return table rows: full-width question above free text, side by side for short fields."""
    rows = []
    for f in fields:
        keep = f.type == "text"  # keep a free-text question on the page of its answer box
        question = para(run(f.question.get(language)), style="FormQuestion", keep_next=keep)
        if f.type == "text":
            rows.append(row(cell(question, width=TEXT_W, span=2, margin_left=0)))
            rows.append(row(answer_cell(f, language, TEXT_W, span=2), height=box_height(f.lines)))
        else:
            rows.append(
                row(
                    cell(question, width=QUESTION_W, margin_left=0, valign="center"),
                    answer_cell(f, language, SHORT_ANSWER_W),
                    height=460,
                )
            )
        rows.append(spacer_row())
    rows.pop()  # no spacer after the last question
    return rows


def spacer_row():
    """Return a thin empty row that separates one question from the next."""
    gap = cell(para(style="FormSpacer"), width=TEXT_W, span=2, margins=(0, 0))
    return row(gap, height=170, exact=True, cant_split=False)


def head_row(columns: tuple[T, ...], widths: tuple[int, ...], language: str):
    """Return a table's header row (repeated at the top of each page)."""
    return row(
        *(
            cell(
                para(run(title.get(language)), style="FormTableHead"),
                width=w,
                fill=ACCENT_FILL,
                line=RULE,
            )
            for title, w in zip(columns, widths, strict=True)
        ),
        header=True,
    )


def static_cell(item: Static, language: str, width: int, valign: str = ""):
    """Return a read-only cell showing ``item``'s text."""
    style = "FormCellStrong" if item.strong else "FormNote" if item.muted else "FormCell"
    return cell(
        para(run(item.text.get(language)), style=style), width=width, line=RULE, valign=valign
    )


def tag_row(tag: str, widths: tuple[int, ...]):
    """Return a row holding only a docxtpl row tag (``{%tr … %}``), which replaces the row."""
    tag_cell = cell(para(run(tag), style="FormNote"), width=sum(widths), span=len(widths))
    return row(tag_cell, cant_split=False)


def grid_table(grid: Grid, language: str):
    """Return a grid's table: header row, then one row per item (conditional ones in tags)."""
    conditions = grid.conditions or ("",) * len(grid.rows)
    body = []
    for items, condition in zip(grid.rows, conditions, strict=True):
        cells = []
        for item, w in zip(items, grid.widths, strict=True):
            if isinstance(item, Field):
                cells.append(answer_cell(item, language, w, valign=grid.valign or "top"))
            else:
                cells.append(static_cell(item, language, w, grid.valign))
        line = row(*cells, height=box_height(grid.lines))
        if condition:
            body += [
                tag_row(f"{{%tr if {condition} %}}", grid.widths),
                line,
                tag_row("{%tr endif %}", grid.widths),
            ]
        else:
            body.append(line)
    return table(grid.widths, [head_row(grid.columns, grid.widths, language), *body])


def repeat_table(repeat: RepeatTable, language: str):
    """Return a read-only table of nested row loops: a title row per group, a row per item."""
    span = sum(repeat.widths)
    title = cell(
        para(run(repeat.title), style="FormGroupTitle", keep_next=True),
        width=span,
        span=len(repeat.widths),
        fill=GROUP_FILL,
        line=RULE,
    )
    item = row(
        *(static_cell(c, language, w) for c, w in zip(repeat.cells, repeat.widths, strict=True))
    )
    rows = [
        head_row(repeat.columns, repeat.widths, language),
        tag_row(f"{{%tr for {repeat.groups} %}}", repeat.widths),
        row(title),
        tag_row(f"{{%tr for {repeat.items} %}}", repeat.widths),
        item,
        tag_row("{%tr endfor %}", repeat.widths),
        tag_row("{%tr endfor %}", repeat.widths),
    ]
    return table(repeat.widths, rows)


def info_table(chrome: Chrome, language: str):
    """Return the two-column identity table (name, id, department, title, manager, cycle)."""
    label_w = 2552
    rows = [
        row(
            cell(
                para(run(label.get(language)), style="FormLabel"),
                width=label_w,
                fill=ACCENT_FILL,
                line=RULE,
            ),
            cell(para(run(value), style="FormCell"), width=TEXT_W - label_w, line=RULE),
            height=400,
        )
        for label, value in chrome.info
    ]
    return table((label_w, TEXT_W - label_w), rows)


def instructions_box(chrome: Chrome, language: str):
    """Return the instructions as a one-cell callout box."""
    content = [
        para(run(chrome.instructions_heading.get(language), bold=True), style="FormBoxHeading"),
        *(para(run(line.get(language)), style="ListBullet") for line in chrome.instructions),
        para(run(chrome.closing.get(language)), style="FormBoxText"),
    ]
    box = cell(
        *content,
        width=TEXT_W,
        fill=ACCENT_FILL,
        line=ACCENT,
        line_size=24,
        line_sides=("left",),
    )
    return table([TEXT_W], [row(box, cant_split=False)], margins=(140, 227, 140, 227))


def section_blocks(number: int, section: Section, language: str) -> list:
    """Return the block elements of one numbered section."""
    blocks = [para(run(f"{number}. {section.heading.get(language)}"), style="Heading1")]
    blocks += [para(run(p.get(language)), style="FormPrompt") for p in section.prompts]
    for note in section.notes:
        blocks.append(para(run(note.text.get(language)), style=note.style))
    for part in body_parts(section):
        blocks += part_blocks(part, language)
    return blocks


def part_blocks(part: Para | Grid | RepeatTable | Questions, language: str) -> list:
    """Return the block elements of one part of a section body."""
    if isinstance(part, Para):
        return [para(run(part.text.get(language)), style=part.style)]
    if isinstance(part, Grid):
        block = grid_table(part, language)
    elif isinstance(part, RepeatTable):
        block = repeat_table(part, language)
    else:
        block = table((QUESTION_W, SHORT_ANSWER_W), question_rows(part.fields, language))
    # A paragraph after each table: LibreOffice will not move a keep-with-next heading that
    # directly follows a table to the next page, leaving it orphaned at the foot of a page.
    return [block, para(style="FormSpacer")]


def body_blocks(kind: str, language: str) -> list:
    """Return every block of the form's body, title first."""
    chrome, sections = FORMS[kind]
    blocks = [
        para(run(chrome.title.get(language)), style="Title"),
        para(run(chrome.subtitle.get(language)), style="Subtitle"),
        info_table(chrome, language),
        para(style="FormSpacer"),
        instructions_box(chrome, language),
    ]
    for number, section in enumerate(sections, 1):
        blocks += section_blocks(number, section, language)
    return blocks


def header_paragraph(chrome: Chrome, language: str):
    """Return the header line: organisation · Confidential."""
    return para(run(chrome.header.get(language)), style="Header", jc="right")


def footer_paragraph(chrome: Chrome, language: str):
    """Return the footer line: form id on the left, page x of y on the right."""
    return para(
        run(chrome.footer.get(language)),
        E("w:r", E("w:tab")),
        run(f"{chrome.page.get(language)} "),
        *field_runs("PAGE", "1"),
        run(f" {chrome.of.get(language)} "),
        *field_runs("NUMPAGES", "1"),
        style="Footer",
        tabs=[("right", TEXT_W)],
    )


# --------------------------------------------------------------------------------------------
# Styles.
# --------------------------------------------------------------------------------------------


def fonts(name: str = FONT):
    """Return an explicit ``w:rFonts`` (no theme fonts, so Word and LibreOffice agree)."""
    return E("w:rFonts", ascii=name, hAnsi=name, eastAsia=name, cs=name)


def rpr(*, size: float = 0, color: str = "", bold: bool = False, italic: bool = False):
    """Return a style's ``w:rPr``; ``size`` in points."""
    half = int(size * 2)
    return E(
        "w:rPr",
        fonts(),
        E("w:b") if bold else None,
        E("w:bCs") if bold else None,
        E("w:i") if italic else None,
        E("w:color", val=color) if color else None,
        E("w:sz", val=half) if half else None,
        E("w:szCs", val=half) if half else None,
    )


def ppr(*, before: int = 0, after: int = 0, keep_next: bool = False, extra=()):
    """Return a style's ``w:pPr`` with spacing in twips."""
    return E(
        "w:pPr",
        E("w:keepNext") if keep_next else None,
        *extra,
        E("w:spacing", before=before, after=after),
    )


def style(
    styles,
    style_id: str,
    name: str,
    *,
    kind: str = "paragraph",
    based_on: str = "Normal",
    p=None,
    r=None,
    hidden: bool = False,
):
    """Replace (in place, keeping its default flag) or add style ``style_id`` in ``w:styles``."""
    old = next(
        (s for s in styles.findall(qn("w:style")) if s.get(qn("w:styleId")) == style_id), None
    )
    element = E(
        "w:style",
        E("w:name", val=name),
        E("w:basedOn", val=based_on) if based_on else None,
        E("w:uiPriority", val=99 if hidden else 9),
        E("w:semiHidden") if hidden else None,
        E("w:unhideWhenUsed") if hidden else None,
        E("w:qFormat") if not hidden else None,
        p,
        r,
        type=kind,
        styleId=style_id,
    )
    if old is None:
        styles.append(element)
        return
    if old.get(qn("w:default")):
        element.set(qn("w:default"), old.get(qn("w:default")))
    old.addnext(element)
    styles.remove(old)


def install_styles(document, language: str) -> None:
    """Set the document defaults and every style the form uses."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    defaults.clear()
    lang = DOC_LANG[language]
    defaults.append(
        E(
            "w:rPrDefault",
            E(
                "w:rPr",
                fonts(),
                E("w:color", val=INK),
                E("w:sz", val=21),
                E("w:szCs", val=21),
                E("w:lang", val=lang, eastAsia=lang, bidi="ar-SA"),
            ),
        )
    )
    defaults.append(
        E("w:pPrDefault", E("w:pPr", E("w:spacing", after=80, line=264, lineRule="auto")))
    )
    style(styles, "Normal", "Normal", based_on="", p=ppr(after=80), r=rpr())
    style(styles, "Title", "Title", p=ppr(after=0), r=rpr(size=24, color=ACCENT, bold=True))
    style(styles, "Subtitle", "Subtitle", p=ppr(after=200), r=rpr(size=13, color=MUTED))
    heading_rule = E("w:pBdr", E("w:bottom", val="single", sz=6, space=2, color=RULE))
    style(
        styles,
        "Heading1",
        "heading 1",
        p=E(
            "w:pPr",
            E("w:keepNext"),
            E("w:keepLines"),
            heading_rule,
            E("w:spacing", before=200, after=100),
            E("w:outlineLvl", val=0),
        ),
        r=rpr(size=13.5, color=ACCENT, bold=True),
    )
    style(
        styles,
        "ListBullet",
        "List Bullet",
        p=E(
            "w:pPr",
            E("w:numPr", E("w:numId", val=1)),
            E("w:spacing", before=0, after=40),
            E("w:ind", left=284, hanging=227),
        ),
        r=rpr(),
    )
    style(
        styles,
        "FormPrompt",
        "Form Prompt",
        based_on="ListBullet",
        p=E(
            "w:pPr",
            E("w:keepNext"),
            E("w:numPr", E("w:numId", val=1)),
            E("w:spacing", before=0, after=20),
            E("w:ind", left=284, hanging=227),
        ),
        r=rpr(color="4B5563", italic=True),
    )
    style(styles, "FormQuestion", "Form Question", p=ppr(before=40, after=40), r=rpr(bold=True))
    style(styles, "FormIntro", "Form Intro", p=ppr(before=100, after=100, keep_next=True), r=rpr())
    style(styles, "FormAnswer", "Form Answer", p=ppr(after=40), r=rpr())
    style(styles, "FormCell", "Form Cell", p=ppr(after=0), r=rpr())
    style(styles, "FormLabel", "Form Label", p=ppr(after=0), r=rpr(bold=True, color=ACCENT))
    style(styles, "FormCellStrong", "Form Cell Strong", p=ppr(after=0), r=rpr(bold=True))
    style(
        styles,
        "FormGroupTitle",
        "Form Group Title",
        p=ppr(after=0, keep_next=True),
        r=rpr(bold=True, color=ACCENT),
    )
    style(
        styles,
        "FormSubheading",
        "Form Subheading",
        p=ppr(before=120, after=60, keep_next=True),
        r=rpr(size=11, bold=True, color=ACCENT),
    )
    style(
        styles,
        "FormTableHead",
        "Form Table Head",
        p=ppr(after=0),
        r=rpr(size=9.5, bold=True, color=ACCENT),
    )
    style(
        styles,
        "FormNote",
        "Form Note",
        p=ppr(before=40, after=80),
        r=rpr(size=9.5, color=MUTED, italic=True),
    )
    style(
        styles,
        "FormBoxHeading",
        "Form Box Heading",
        p=ppr(after=60, keep_next=True),
        r=rpr(size=11, bold=True, color=ACCENT),
    )
    style(
        styles,
        "FormBoxText",
        "Form Box Text",
        p=ppr(before=60, after=0),
        r=rpr(size=9.5, color="374151"),
    )
    style(
        styles,
        "FormSpacer",
        "Form Spacer",
        p=E("w:pPr", E("w:spacing", before=0, after=0, line=120, lineRule="exact")),
        r=rpr(size=4),
    )
    tab = E("w:tabs", E("w:tab", val="right", pos=TEXT_W))
    style(styles, "Header", "header", p=ppr(after=0, extra=(tab,)), r=rpr(size=8.5, color=MUTED))
    style(styles, "Footer", "footer", p=ppr(after=0, extra=(tab,)), r=rpr(size=8.5, color=MUTED))
    style(
        styles,
        "PlaceholderText",
        "Placeholder Text",
        kind="character",
        based_on="DefaultParagraphFont",
        r=E("w:rPr", E("w:color", val=PLACEHOLDER_GRAY)),
        hidden=True,
    )


def install_bullets(document) -> None:
    """Make numbering 1 (List Bullet) a small round bullet in the accent color."""
    numbering = document.part.numbering_part.element
    num = next(n for n in numbering.findall(qn("w:num")) if n.get(qn("w:numId")) == "1")
    abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    abstract = next(
        a
        for a in numbering.findall(qn("w:abstractNum"))
        if a.get(qn("w:abstractNumId")) == abstract_id
    )
    for old in abstract.findall(qn("w:lvl")):
        abstract.remove(old)
    abstract.append(
        E(
            "w:lvl",
            E("w:start", val=1),
            E("w:numFmt", val="bullet"),
            E("w:lvlText", val="•"),
            E("w:lvlJc", val="left"),
            E("w:pPr", E("w:ind", left=284, hanging=227)),
            E("w:rPr", fonts(), E("w:color", val=ACCENT)),
            ilvl=0,
        )
    )


# --------------------------------------------------------------------------------------------
# The document.
# --------------------------------------------------------------------------------------------


def set_page(document) -> None:
    """Set A4, 2 cm margins, and header/footer distances."""
    section = document.sections[0]
    section.page_width, section.page_height = Twips(PAGE_W), Twips(PAGE_H)
    section.top_margin = section.bottom_margin = Twips(MARGIN)
    section.left_margin = section.right_margin = Twips(MARGIN)
    section.header_distance = section.footer_distance = Twips(HEADER_GAP)


def set_header_footer(document, chrome: Chrome, language: str) -> None:
    """Write the header and footer lines (Jinja kept in single runs)."""
    section = document.sections[0]
    for part, paragraph in (
        (section.header, header_paragraph(chrome, language)),
        (section.footer, footer_paragraph(chrome, language)),
    ):
        part.is_linked_to_previous = False
        root = part._element
        for child in list(root):
            root.remove(child)
        root.append(paragraph)


def set_properties(document, kind: str, language: str) -> None:
    """Set fixed core properties so every build writes the same bytes."""
    chrome = FORMS[kind][0]
    props = document.core_properties
    props.title = f"{chrome.title.get(language).split(' {{')[0]} – {chrome.subtitle.get(language)}"
    props.subject = chrome.subtitle.get(language)
    props.author = "HR"
    props.last_modified_by = "samtale"
    props.comments = chrome.description.get(language)
    props.category = "samtale"
    props.keywords = f"samtale {kind} {language}"
    props.language = DOC_LANG[language]
    props.revision = 1
    props.created = props.modified = BUILD_DATE
    props.last_printed = BUILD_DATE


def set_settings(document) -> None:
    """Mark the document as Word 2013+ (no compatibility mode), with a schema-valid zoom."""
    settings = document.settings.element
    for setting in settings.iter(qn("w:compatSetting")):
        if setting.get(qn("w:name")) == "compatibilityMode":
            setting.set(qn("w:val"), "15")
    for zoom in settings.iter(qn("w:zoom")):
        zoom.set(qn("w:percent"), "100")  # required by the schema; Word repairs a file without


def drop_leftovers(document) -> None:
    """Drop the default template's thumbnail and stale ``stylesWithEffects`` part."""
    for rels, reltype in (
        (document.part.package.rels, RT.THUMBNAIL),
        (
            document.part.rels,
            "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
        ),
    ):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == reltype]:
            rels.pop(rid)
            rels._target_parts_by_rId.pop(rid, None)


def check_root_namespaces(document) -> None:
    """Raise if document.xml's root lacks the namespaces the controls need (w14, mc)."""
    root = document.element
    needed = {"w14": "http://schemas.microsoft.com/office/word/2010/wordml"}
    missing = [p for p, uri in needed.items() if root.nsmap.get(p) != uri]
    ignorable = root.get("{http://schemas.openxmlformats.org/markup-compatibility/2006}Ignorable")
    if missing or "w14" not in (ignorable or "").split():
        raise RuntimeError(f"document.xml root lacks {missing or 'mc:Ignorable w14'}")


def build_document(kind: str, language: str) -> bytes:
    """Return the bytes of template ``<kind>.<language>.docx``."""
    chrome, _ = FORMS[kind]
    document = docx.Document()
    check_root_namespaces(document)
    drop_leftovers(document)
    set_page(document)
    install_styles(document, language)
    install_bullets(document)
    set_settings(document)
    set_header_footer(document, chrome, language)
    body = document.element.body
    sect_pr = body.find(qn("w:sectPr"))
    for child in list(body):
        if child is not sect_pr:
            body.remove(child)
    for block in body_blocks(kind, language):
        sect_pr.addprevious(block)
    set_properties(document, kind, language)
    buffer = io.BytesIO()
    document.save(buffer)
    return normalize_zip(buffer.getvalue())


def normalize_zip(data: bytes) -> bytes:
    """Return ``data`` re-zipped with fixed timestamps and attributes (reproducible bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.create_system = 0
            fixed.external_attr = 0
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def template_name(kind: str, language: str) -> str:
    """Return the file name of a template: ``<kind>.<language>.docx``."""
    return f"{kind}.{language}.docx"


def build_all() -> dict[str, bytes]:
    """Return every template's bytes by file name, in a fixed order."""
    return {
        template_name(kind, language): build_document(kind, language)
        for kind in FORMS
        for language in LANGUAGES
    }


def write_templates(out_dir: Path, *, force: bool = False) -> dict[str, str]:
    """Write the templates into ``out_dir``; return each file's status.

    Status is "written" (new), "unchanged", "replaced" (only with ``force``) or "differs" (left
    alone: someone edited it, e.g. in Word; rebuild with ``force`` to replace it).
    """
    status = {}
    for name, data in build_all().items():
        path = out_dir / name
        if not path.exists():
            write_private(path, data)
            status[name] = "written"
        elif path.read_bytes() == data:
            status[name] = "unchanged"
        elif force:
            write_private(path, data, overwrite=True)
            status[name] = "replaced"
        else:
            status[name] = "differs"
    return status


def main(argv: list[str] | None = None) -> int:
    """Build the templates; return the exit status (1 when a template differs and no --force)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=TEMPLATES_DIR, help="output folder")
    parser.add_argument(
        "--force", action="store_true", help="replace templates that differ from the build"
    )
    args = parser.parse_args(argv)
    status = write_templates(args.out, force=args.force)
    for name, state in status.items():
        print(f"{state:>9}  {args.out / name}")
    if "differs" in status.values():
        print("Some templates differ from the build (edited by hand?). Use --force to replace.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
