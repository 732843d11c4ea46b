"""``samtale report``: the organisation's view of the cycle, as an HTML page and an Excel workbook.

Progress (who has sent, returned, held, confirmed and sealed what) comes from the ledger and the
archive and may name people, as ``status`` does. Every figure built from answers comes from the
answers workbook (HR's corrections included), only from the keys in ``domain/measures.py`` (never
free text), and is shown only for groups that pass ``domain/privacy.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.choices import COMPANY_GOALS, COMPETENCE_AREAS, choice_lists
from pipeline.domain.confirmation import minutes_states
from pipeline.domain.dates import date_from_text
from pipeline.domain.kinds import FormKind
from pipeline.domain.measures import (
    COMPETENCE_AREA_KEYS,
    FOLLOWUPS,
    MANAGER_VIEWS,
    MEASURES,
    MINUTES_GOALS,
    PREP_GOALS,
    Measure,
    scale_value,
)
from pipeline.domain.privacy import Disclosure, Hidden, disclose
from pipeline.domain.versions import lists_of
from pipeline.errors import ReportError
from pipeline.formats.answers import excel_date, read_answer_columns
from pipeline.formats.previous import cycle_of
from pipeline.formats.report_html import report_html
from pipeline.formats.report_model import Cell, Chart, Report, Row, Section, Table
from pipeline.formats.report_xlsx import report_xlsx
from pipeline.formats.roster import Roster, read_roster
from pipeline.state.archive import MINUTES as ARCHIVED_MINUTES
from pipeline.state.archive import Archive
from pipeline.state.config import Config
from pipeline.state.files import ensure_private_dir, write_private
from pipeline.state.ledger import LEDGER_NAME, Ledger
from pipeline.state.workspace import Workspace

EMPLOYEE, MANAGER, MINUTES = (k.value for k in FormKind)
ANSWERS_JSON = "answers.json"  # the answers finalize attaches to every sealed minutes
SOON_DAYS = 30
WORDS = {
    "nb": {
        "title": "Medarbeidersamtalen {cycle}",
        "subtitle": "Rapport til HR – {organisation}",
        "organisation": "Organisasjon",
        "cycle": "Syklus",
        "made": "Laget",
        "compared": "Sammenlignet med",
        "no_comparison": "ingen (fant ingen svar fra et tidligere år)",
        "threshold": "Grense for tall fra svar",
        "people_word": "{n} personer",
        "employees": "Personer i personallisten",
        "privacy": "Om tallene og personvernet",
        "privacy_text": (
            "Rapporten viser ingen fritekstsvar. Tall som bygger på svar, vises bare for grupper "
            "der minst {k} personer har svart, også i oppdelinger og sammenligninger. Er en "
            "gruppe for liten, står det hvorfor og hvor stor den er. Når totalen vises, skjules "
            "også så mange andre grupper at de skjulte har minst {k} svar til sammen, så ingen "
            "kan regne seg fram til en liten gruppe ved å trekke fra. Fremdriften er "
            "driftsinformasjon og viser navn, slik «samtale status» gjør. Tallene endrer seg når "
            "flere svar kommer inn: ikke bruk to rapporter fra samme syklus til å finne ut hva "
            "de som svarte i mellomtiden, mente."
        ),
        "contents": "Innhold",
        "overview": "Oversikt",
        "chart_data": "Diagramdata",
        "footer": (
            "Laget av samtale. Tallene bygger på personallisten, svarene i answers.xlsx (med HRs "
            "rettelser) og arkivet med forseglede referater."
        ),
        "whole": "Hele organisasjonen",
        "no_department": "(uten avdeling)",
        "no_manager": "(ingen leder)",
        "department": "Avdeling",
        "manager": "Leder",
        "person": "Medarbeider",
        "answers_n": "Svar",
        "people_n": "Personer",
        "mean": "Snitt",
        "mean_of": "Snitt {label}",
        "n_of": "Svar {label}",
        "change": "Endring",
        "share_axis": "Andel av svarene (%)",
        "count_axis": "Antall",
        "mean_axis": "Snitt (1–5, 5 er best)",
        "hidden_too_few": "Skjult: {n} svar, under grensen på {k} ({group} har {size} personer)",
        "hidden_protects": (
            "Skjult for å verne en mindre gruppe, som ellers kunne regnes ut fra totalen "
            "({n} svar; {group} har {size} personer)"
        ),
        "hidden_nobody": "Ingen svar ({group} har {size} personer)",
        "group_department": "avdelingen",
        "group_all": "organisasjonen",
        "group_manager": "gruppen",
        "progress": "Fremdrift",
        "progress_intro": (
            "Hvor langt syklusen er kommet: skjemaene sendt, svarene tilbake, samtalen holdt "
            "(referatet kommet inn), referatet bekreftet av begge og forseglet i arkivet."
        ),
        "progress_department": "Fremdrift per avdeling",
        "progress_manager": "Fremdrift per leder",
        "progress_chart": "Fremdrift i hele organisasjonen",
        "stage_people": "Ansatte",
        "stage_sent": "Skjema sendt",
        "stage_employee": "Medarbeiderskjema tilbake",
        "stage_manager": "Lederskjema tilbake",
        "stage_held": "Samtale holdt",
        "stage_confirmed": "Referat bekreftet",
        "stage_sealed": "Forseglet",
        "stage_overdue": "Forfalt",
        "overdue": "Forfalt",
        "overdue_what": "Hva som er forfalt",
        "overdue_none": "Ingenting er forfalt.",
        "overdue_note": (
            "Forberedelsesskjemaer forfaller etter svarfristen {deadline}; samtaler etter {talks}."
        ),
        "not_set": "(ikke satt)",
        "late_employee": "medarbeiderskjema ikke tilbake",
        "late_manager": "lederskjema ikke tilbake",
        "late_talk": "samtale ikke holdt",
        "ratings": "Vurdering av perioden og trivsel",
        "ratings_intro": (
            "Fordelingen av svarene på 1–5-spørsmålene per avdeling (5 er best). Diagrammet "
            "viser andelene; tabellen antall."
        ),
        "factors": "Det psykososiale arbeidsmiljøet",
        "factors_intro": (
            "De fire forholdene arbeidsmiljøloven § 4-3 nevner: uklare eller motstridende krav, "
            "følelsesmessige belastninger, arbeidsmengde sett opp mot tiden og støtte og hjelp. "
            "Medarbeiderens eget svar, 1–5 der 5 er best."
        ),
        "views": "Medarbeiderens og lederens syn",
        "views_employee": "Medarbeiderens snitt",
        "views_manager": "Lederens snitt",
        "views_gap": "Forskjell",
        "views_note": (
            "Lederens syn er lederens vurdering av hver medarbeider i lederens forberedelse."
        ),
        "competence": "Kompetansebehov",
        "competence_intro": (
            "Kompetanseområdene medarbeideren eller lederen valgte i forberedelsene (inntil to "
            "hver). En person telles én gang per område."
        ),
        "competence_table": "Kompetanseområder per avdeling",
        "competence_chart": "Kompetanseområder i hele organisasjonen",
        "competence_people": "Personer med svar",
        "goals": "Mål og selskapets mål",
        "goals_intro": (
            "Hvor mange mål som støtter hvert av selskapets mål: foreslått i medarbeiderens "
            "forberedelse og avtalt i referatet."
        ),
        "goals_table": "Mål per selskapsmål",
        "goals_proposed": "Foreslått (forberedelse)",
        "goals_agreed": "Avtalt (referat)",
        "goals_department": "Avtalte mål per avdeling",
        "goals_none_configured": (
            "samtale.toml har ingen [goals]: legg inn selskapets mål, så kan målene knyttes "
            "til dem i neste skjemaer."
        ),
        "goal_unlinked": "Ikke valgt",
        "not_on_list": "Annet (ikke i listene)",
        "goals_people": "Referater",
        "followups": "Oppfølging gjennom året",
        "followups_intro": "Oppfølgingspunktene som er avtalt i referatene, og når de forfaller.",
        "followups_month": "Oppfølging per måned",
        "followups_department": "Oppfølging per avdeling",
        "month": "Måned",
        "no_date": "Uten dato",
        "followups_count": "Oppfølgingspunkter",
        "followups_past": "Datoen er passert",
        "followups_soon": "Neste 30 dager",
        "followups_people": "Referater",
        "comparison": "Sammenlignet med {label}",
        "comparison_intro": (
            "Snittet på 1–5-spørsmålene i hele organisasjonen i år og i {label}. Tallene per "
            "avdeling står i tabellene over."
        ),
        "comparison_table": "Snitt i år og i {label}",
        "comparison_competence": "Kompetanseområder i år og i {label}",
        "comparison_chart": "Snitt i {this} og {label}",
        "no_answers_yet": "Ingen svar ennå.",
        "factor": "Forhold",
        "company_goal": "Selskapsmål",
        "question": "Spørsmål",
        "area": "Område",
        "not_asked": "Ikke spurt om i {label}",
        "not_asked_note": "Skjemaene i {label} hadde ikke dette spørsmålet.",
        "no_areas": "Skjemaene i {label} hadde ikke kompetanseområder.",
        "months": (
            "januar februar mars april mai juni juli august september oktober november desember"
        ),
    },
    "en": {
        "title": "Employee review {cycle}",
        "subtitle": "Report for HR – {organisation}",
        "organisation": "Organisation",
        "cycle": "Cycle",
        "made": "Made",
        "compared": "Compared with",
        "no_comparison": "none (no answers from an earlier year were found)",
        "threshold": "Threshold for figures from answers",
        "people_word": "{n} people",
        "employees": "People in the roster",
        "privacy": "About the figures and privacy",
        "privacy_text": (
            "The report shows no free-text answer. Figures built from answers are shown only for "
            "groups in which at least {k} people answered, also in breakdowns and comparisons. "
            "When a group is too small, the report says why and how large it is. When the total "
            "is shown, enough other groups are hidden as well that the hidden ones have at least "
            "{k} answers together, so nobody can work out a small group by subtraction. Progress "
            "is operational information and names people, as 'samtale status' does. The figures "
            "change as answers come in: do not use two reports of one cycle to find out what "
            "those who answered in between said."
        ),
        "contents": "Contents",
        "overview": "Overview",
        "chart_data": "Chart data",
        "footer": (
            "Made by samtale from the roster, the answers in answers.xlsx (with HR's "
            "corrections) and the archive of sealed minutes."
        ),
        "whole": "Whole organisation",
        "no_department": "(no department)",
        "no_manager": "(no manager)",
        "department": "Department",
        "manager": "Manager",
        "person": "Employee",
        "answers_n": "Answers",
        "people_n": "People",
        "mean": "Mean",
        "mean_of": "Mean {label}",
        "n_of": "Answers {label}",
        "change": "Change",
        "share_axis": "Share of the answers (%)",
        "count_axis": "Number",
        "mean_axis": "Mean (1–5, 5 is best)",
        "hidden_too_few": "Hidden: {n} answers, below the threshold of {k} ({group} has {size} "
        "people)",
        "hidden_protects": (
            "Hidden to protect a smaller group that could otherwise be worked out from the total "
            "({n} answers; {group} has {size} people)"
        ),
        "hidden_nobody": "No answers ({group} has {size} people)",
        "group_department": "the department",
        "group_all": "the organisation",
        "group_manager": "the group",
        "progress": "Progress",
        "progress_intro": (
            "How far the cycle has come: forms sent, answers back, the talk held (the minutes "
            "came in), the minutes confirmed by both and sealed in the archive."
        ),
        "progress_department": "Progress per department",
        "progress_manager": "Progress per manager",
        "progress_chart": "Progress in the whole organisation",
        "stage_people": "Employees",
        "stage_sent": "Forms sent",
        "stage_employee": "Employee form back",
        "stage_manager": "Manager form back",
        "stage_held": "Talk held",
        "stage_confirmed": "Minutes confirmed",
        "stage_sealed": "Sealed",
        "stage_overdue": "Overdue",
        "overdue": "Overdue",
        "overdue_what": "What is overdue",
        "overdue_none": "Nothing is overdue.",
        "overdue_note": (
            "Preparation forms are overdue after the deadline {deadline}; talks after {talks}."
        ),
        "not_set": "(not set)",
        "late_employee": "employee form not back",
        "late_manager": "manager form not back",
        "late_talk": "talk not held",
        "ratings": "Rating of the period and wellbeing",
        "ratings_intro": (
            "How the answers to the 1–5 questions spread, per department (5 is best). The chart "
            "shows shares; the table counts."
        ),
        "factors": "The psychosocial work environment",
        "factors_intro": (
            "The four factors the Working Environment Act (section 4-3) names: unclear or "
            "conflicting demands, emotional strain, workload versus the time available, and "
            "support and help. The employee's own answer, 1–5 where 5 is best."
        ),
        "views": "The employee's and the manager's view",
        "views_employee": "Employee's mean",
        "views_manager": "Manager's mean",
        "views_gap": "Difference",
        "views_note": "The manager's view is the manager's rating of each employee in their form.",
        "competence": "Competence needs",
        "competence_intro": (
            "The competence areas the employee or the manager chose in the preparation forms "
            "(up to two each). A person counts once per area."
        ),
        "competence_table": "Competence areas per department",
        "competence_chart": "Competence areas in the whole organisation",
        "competence_people": "People with answers",
        "goals": "Goals and the company's goals",
        "goals_intro": (
            "How many goals support each of the company's goals: proposed in the employee's "
            "preparation and agreed in the minutes."
        ),
        "goals_table": "Goals per company goal",
        "goals_proposed": "Proposed (preparation)",
        "goals_agreed": "Agreed (minutes)",
        "goals_department": "Agreed goals per department",
        "goals_none_configured": (
            "samtale.toml has no [goals]: add the company's goals so that the next forms can "
            "link goals to them."
        ),
        "goal_unlinked": "Not chosen",
        "not_on_list": "Other (not on the lists)",
        "goals_people": "Minutes",
        "followups": "Follow-up during the year",
        "followups_intro": "The follow-ups agreed in the minutes, and when they fall due.",
        "followups_month": "Follow-ups per month",
        "followups_department": "Follow-ups per department",
        "month": "Month",
        "no_date": "No date",
        "followups_count": "Follow-ups",
        "followups_past": "Date has passed",
        "followups_soon": "Next 30 days",
        "followups_people": "Minutes",
        "comparison": "Compared with {label}",
        "comparison_intro": (
            "The mean of the 1–5 questions in the whole organisation this year and in {label}. "
            "The figures per department are in the tables above."
        ),
        "comparison_table": "Mean this year and in {label}",
        "comparison_competence": "Competence areas this year and in {label}",
        "comparison_chart": "Mean in {this} and {label}",
        "no_answers_yet": "No answers yet.",
        "factor": "Factor",
        "company_goal": "Company goal",
        "question": "Question",
        "area": "Area",
        "not_asked": "Not asked in {label}",
        "not_asked_note": "The forms of {label} did not have this question.",
        "no_areas": "The forms of {label} had no competence areas.",
        "months": "January February March April May June July August September October "
        "November December",
    },
}


# -- reading -------------------------------------------------------------------------------------


def wanted_columns() -> dict[str, tuple[str, ...]]:
    """Return the answer columns the report reads per form kind (never a free-text answer)."""
    scales = {
        kind: [m.key for m in (*MEASURES, *MANAGER_VIEWS) if m.kind == kind]
        for kind in (EMPLOYEE, MANAGER)
    }
    links = [f"goal_{n}_company" for n in range(1, PREP_GOALS + 1)]
    fixed = ("department", "status")
    return {
        EMPLOYEE: (*fixed, *scales[EMPLOYEE], *links, *COMPETENCE_AREA_KEYS),
        MANAGER: (*fixed, *scales[MANAGER], *COMPETENCE_AREA_KEYS),
        MINUTES: (
            *fixed,
            *(f"goal_{n}" for n in range(1, MINUTES_GOALS + 1)),  # only whether there is one
            *(f"goal_{n}_company" for n in range(1, MINUTES_GOALS + 1)),
            *(f"followup_{n}_what" for n in range(1, FOLLOWUPS + 1)),  # only whether there is one
            *(f"followup_{n}_when" for n in range(1, FOLLOWUPS + 1)),
        ),
    }


FREE_TEXT_PRESENCE = tuple(
    [f"goal_{n}" for n in range(1, MINUTES_GOALS + 1)]
    + [f"followup_{n}_what" for n in range(1, FOLLOWUPS + 1)]
)


@dataclass(frozen=True)
class CycleAnswers:
    """One cycle's answers as the report reads them, with each person's department."""

    label: str  # "2026"
    answers: dict[str, dict[str, dict[str, object]]]  # form kind -> employee id -> key -> value
    department_of: dict[str, str]  # employee id -> department (group label)
    people: Counter  # department -> how many people the cycle had there


def read_cycle_answers(
    path: Path, label: str, departments: dict[str, str], none_label: str
) -> CycleAnswers:
    """Return a cycle's answers from its answers workbook (free text reduced to yes/no)."""
    answers = read_answer_columns(path, wanted_columns())
    return cycle_answers(label, answers, departments, none_label)


def cycle_answers(
    label: str, answers: dict, departments: dict[str, str], none_label: str
) -> CycleAnswers:
    """Return answers grouped by department: the roster's, else the one the workbook recorded."""
    for rows in answers.values():
        for values in rows.values():
            for key in FREE_TEXT_PRESENCE:
                if key in values:
                    values[key] = bool(str(values[key] or "").strip())
    department_of = dict(departments)
    for rows in answers.values():
        for employee_id, values in rows.items():
            if employee_id not in department_of:
                department_of[employee_id] = str(values.get("department") or "") or none_label
    everybody = set(departments) if departments else set(department_of)
    people = Counter(department_of[e] for e in everybody)
    return CycleAnswers(label, answers, department_of, people)


def archived_answers(folder: Path, label: str, roster: Roster, none_label: str) -> CycleAnswers:
    """Return a cycle's answers from the answers attached to its sealed minutes."""
    from pipeline.formats.seal import attachments_of  # pyHanko: only when the archive is read

    archive = Archive(folder)
    latest: dict[str, object] = {}
    for entry in archive.entries():
        newer = entry.employee_id not in latest or latest[entry.employee_id].version < entry.version
        if entry.kind == ARCHIVED_MINUTES and newer:
            latest[entry.employee_id] = entry
    columns = wanted_columns()
    answers: dict[str, dict[str, dict[str, object]]] = {kind: {} for kind in columns}
    for employee_id, entry in latest.items():
        attached = attachments_of((folder / entry.path).read_bytes()).get(ANSWERS_JSON)
        if attached is None:
            continue
        for kind, values in json.loads(attached).items():
            if kind in columns and isinstance(values, dict):
                answers[kind][employee_id] = {k: values.get(k) for k in columns[kind]}
    departments = {e.id: e.department or none_label for e in roster.employees}
    return cycle_answers(label, answers, departments, none_label)


def compared_answers(
    workspace: Workspace, cycle: int, compare_with: int | Path | None, roster: Roster, words
) -> CycleAnswers | None:
    """Return the answers of the cycle to compare with, or None when there is none."""
    none_label = words["no_department"]
    if isinstance(compare_with, Path):
        if not compare_with.is_file():
            raise ReportError(f"{compare_with}: no such answers workbook; check the path")
        label = str(cycle_of(compare_with) or compare_with.stem)
        return read_cycle_answers(compare_with, label, {}, none_label)
    other = compare_with or cycle - 1
    if other == cycle:
        raise ReportError(f"--compare-with {other} is the cycle itself; give an earlier year")
    workbook = workspace.output_dir / str(other) / "answers.xlsx"
    archive = workspace.output_dir / "archive" / str(other)
    if workbook.is_file():
        return read_cycle_answers(workbook, str(other), {}, none_label)
    if (archive / "manifest.jsonl").is_file():
        return archived_answers(archive, str(other), roster, none_label)
    if compare_with is None:
        return None
    raise ReportError(
        f"no answers of cycle {other}: neither {workbook} nor an archive in {archive}; give the "
        f"workbook itself, e.g. --compare-with input/answers-{other}.xlsx"
    )


# -- the report ------------------------------------------------------------------------------


@dataclass
class ReportResult:
    """What ``samtale report`` wrote."""

    cycle: int
    folder: Path
    html: Path
    xlsx: Path
    language: str
    compared: str  # the compared cycle ("" when none)
    tables: int
    hidden_cells: int  # figures withheld: groups too small, no answers, or not asked
    replaced: bool  # an earlier report of the cycle was replaced


def write_report(
    workspace: Workspace,
    cycle: int,
    *,
    compare_with: int | Path | None = None,
    roster_path: Path | None = None,
    sheet: str | None = None,
    today: dt.date | None = None,
) -> ReportResult:
    """Return what was written after building the cycle's report into output/<cycle>/report/."""
    roster = read_roster(roster_path or workspace.roster_path, sheet)
    config = workspace.config()
    report, compared = build_report(
        workspace, cycle, roster, config, compare_with, today or dt.date.today()
    )
    folder = ensure_private_dir(workspace.cycle_dir(cycle) / "report")
    html_path, xlsx_path = folder / "report.html", folder / "report.xlsx"
    replaced = html_path.exists() or xlsx_path.exists()
    write_private(html_path, report_html(report).encode("utf-8"), overwrite=True)
    write_private(xlsx_path, report_xlsx(report), overwrite=True)
    cells = [c for s in report.sections for t in s.tables for r in t.rows for c in r.cells]
    return ReportResult(
        cycle=cycle,
        folder=folder,
        html=html_path,
        xlsx=xlsx_path,
        language=report.language,
        compared=compared,
        tables=sum(len(s.tables) for s in report.sections),
        hidden_cells=sum(1 for c in cells if c.hidden),
        replaced=replaced,
    )


def words_of(config: Config) -> dict[str, str]:
    """Return the report's words in its configured language."""
    return WORDS[config.report.language]


def build_report(
    workspace: Workspace,
    cycle: int,
    roster: Roster,
    config: Config,
    compare_with: int | Path | None,
    today: dt.date,
) -> tuple[Report, str]:
    """Return the report of ``cycle``, and the cycle it is compared with ("" when none)."""
    words = words_of(config)
    language = config.report.language
    with Ledger.of_cycle(workspace, cycle) as ledger:
        progress = Progress.read(ledger, workspace, cycle)
        offered = offered_choices(lists_of(ledger))  # the lists this cycle's forms offered
    departments = {e.id: e.department or words["no_department"] for e in roster.employees}
    answers_path = workspace.output_dir / str(cycle) / "answers.xlsx"
    if answers_path.is_file():
        current = read_cycle_answers(answers_path, str(cycle), departments, words["no_department"])
    else:
        current = cycle_answers(str(cycle), {}, departments, words["no_department"])
    previous = compared_answers(workspace, cycle, compare_with, roster, words)
    if previous is not None:  # the compared cycle's forms had their own lists
        for source, values in offered_in_cycle(workspace, previous.label).items():
            offered[source] |= values
    builder = Builder(config, words, language, current, previous, today, offered)
    sections = [
        progress_section(builder, roster, progress, config, today),
        builder.measure_section("ratings", [m for m in MEASURES if not is_factor(m)]),
        builder.measure_section("factors", [m for m in MEASURES if is_factor(m)], views=True),
        builder.competence_section(),
        builder.goals_section(),
        builder.followups_section(),
    ]
    if previous is not None:
        sections.append(builder.comparison_section())
    threshold = config.report.threshold
    facts = (
        (words["organisation"], config.organisation),
        (words["cycle"], str(cycle)),
        (words["made"], short_date(today, language)),
        (words["compared"], previous.label if previous else words["no_comparison"]),
        (words["threshold"], words["people_word"].format(n=threshold)),
        (words["employees"], str(len(roster.employees))),
    )
    report = Report(
        language=language,
        title=words["title"].format(cycle=cycle),
        subtitle=words["subtitle"].format(organisation=config.organisation),
        facts=facts,
        privacy=words["privacy_text"].format(k=threshold),
        sections=tuple(sections),
        words={k: words[k] for k in ("privacy", "contents", "overview", "chart_data", "footer")},
    )
    return report, previous.label if previous else ""


def union(members: dict[str, set[str]]) -> set[str]:
    """Return everybody in the groups of ``members``."""
    return set().union(*members.values()) if members else set()


def is_factor(measure: Measure) -> bool:
    """Return True for one of the four psychosocial factors."""
    return measure.key.startswith("psy_")


def short_date(day: dt.date, language: str) -> str:
    """Return a date as the report's language writes it (30.01.2027 / 2027-01-30)."""
    return day.strftime("%d.%m.%Y") if language == "nb" else day.isoformat()


def norwegian_order(name: str) -> str:
    """Return a sort key that puts Æ, Ø and Å after Z, as Norwegian does."""
    return name.casefold().translate(str.maketrans({"æ": "{", "ø": "|", "å": "}"}))


# -- progress (operational: may name people) --------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where every employee's forms, talk and minutes stand."""

    handed_out: set[tuple[str, str]]
    returned: set[tuple[str, str]]
    held: set[str]  # minutes came back
    confirmed: set[str]  # minutes confirmed by both
    sealed: set[str]  # minutes sealed in the archive

    @classmethod
    def read(cls, ledger: Ledger, workspace: Workspace, cycle: int) -> Progress:
        """Return the progress of the cycle from its ledger and its archive."""
        states = minutes_states(ledger.accepted_versions(MINUTES))
        archive = workspace.output_dir / "archive" / str(cycle)
        sealed = set()
        if (archive / "manifest.jsonl").is_file():
            sealed = {e.employee_id for e in Archive(archive).entries() if e.kind == "minutes"}
        return cls(
            handed_out=ledger.handed_out_form_keys(),
            returned=ledger.returned_form_keys(),
            held=set(states),
            confirmed={e for e, state in states.items() if state.confirmed},
            sealed=sealed,
        )

    def stages(self, employee_id: str, late: list[str]) -> tuple[int, ...]:
        """Return 1/0 per stage for one employee: sent, both returns, held, confirmed, sealed."""
        return (
            int(all((employee_id, k) in self.handed_out for k in (EMPLOYEE, MANAGER))),
            int((employee_id, EMPLOYEE) in self.returned),
            int((employee_id, MANAGER) in self.returned),
            int(employee_id in self.held),
            int(employee_id in self.confirmed),
            int(employee_id in self.sealed),
            int(bool(late)),
        )


def lateness(
    employee_id: str,
    progress: Progress,
    deadline: dt.date | None,
    talks: dt.date | None,
    today: dt.date,
    words: dict,
) -> list[str]:
    """Return what is overdue for one employee (empty when nothing is)."""
    late = []
    if deadline and today > deadline:
        for kind, word in ((EMPLOYEE, "late_employee"), (MANAGER, "late_manager")):
            if (employee_id, kind) not in progress.returned:
                late.append(words[word])
    if talks and today > talks and employee_id not in progress.held:
        late.append(words["late_talk"])
    return late


def progress_section(
    builder: Builder, roster: Roster, progress: Progress, config: Config, today: dt.date
) -> Section:
    """Return the progress section: per department, per manager, and who is overdue."""
    words = builder.words
    deadline = date_from_text(config.mail.deadline)
    talks = date_from_text(config.report.talks_deadline)
    columns = (
        words["stage_people"],
        words["stage_sent"],
        words["stage_employee"],
        words["stage_manager"],
        words["stage_held"],
        words["stage_confirmed"],
        words["stage_sealed"],
        words["stage_overdue"],
    )
    late = {e.id: lateness(e.id, progress, deadline, talks, today, words) for e in roster.employees}
    stages = {e.id: progress.stages(e.id, late[e.id]) for e in roster.employees}

    def table(key: str, title: str, group: Callable, chart: bool) -> Table:
        groups: dict[str, list[str]] = {}
        for employee in roster.employees:
            groups.setdefault(group(employee), []).append(employee.id)
        rows = [
            progress_row(label, members, stages)
            for label, members in sorted(groups.items(), key=lambda g: norwegian_order(g[0]))
        ]
        rows.append(progress_row(words["whole"], list(stages), stages, total=True))
        plot = Chart("profile", words["progress_chart"], tuple(range(1, 7)), words["count_axis"])
        return Table(
            key,
            title,
            (label_column(key, words), *columns),
            tuple(rows),
            chart=plot if chart else None,
        )

    def manager_label(employee) -> str:
        manager = roster.manager_of(employee)
        return f"{manager.name} ({manager.id})" if manager else words["no_manager"]

    overdue_rows = tuple(
        Row(
            f"{e.name} ({e.id})",
            (
                Cell(e.department or words["no_department"]),
                Cell(manager_label(e)),
                Cell(", ".join(late[e.id])),
            ),
        )
        for e in sorted(roster.employees, key=lambda e: norwegian_order(e.name))
        if late[e.id]
    )
    overdue = Table(
        "overdue",
        words["overdue"],
        (words["person"], words["department"], words["manager"], words["overdue_what"]),
        overdue_rows,
        note=words["overdue_note"].format(
            deadline=short_date(deadline, builder.language) if deadline else words["not_set"],
            talks=short_date(talks, builder.language) if talks else words["not_set"],
        ),
        empty=words["overdue_none"],
    )
    return Section(
        "progress",
        words["progress"],
        words["progress_intro"],
        (
            table(
                "progress_department",
                words["progress_department"],
                lambda e: e.department or words["no_department"],
                chart=True,
            ),
            table("progress_manager", words["progress_manager"], manager_label, chart=False),
            overdue,
        ),
    )


def label_column(key: str, words: dict) -> str:
    """Return the heading of a progress table's first column."""
    return words["manager"] if key == "progress_manager" else words["department"]


def progress_row(label: str, members: list[str], stages: dict, total: bool = False) -> Row:
    """Return one progress row: how many people, then how many at each stage."""
    sums = [sum(stages[m][i] for m in members) for i in range(7)]
    return Row(label, tuple(Cell(v, format="int") for v in (len(members), *sums)), total=total)


# -- figures from answers (privacy thresholds apply) --------------------------------------------


NOT_ON_LIST = "\x00typed"  # what a list answer typed in is counted as (no stored value is it)
LIST_KEYS = {
    COMPANY_GOALS: re.compile(r"goal_\d+_company"),
    COMPETENCE_AREAS: re.compile(r"competence_area_\d+"),
}


def offered_in_cycle(workspace: Workspace, label: str) -> dict[str, set[str]]:
    """Return what the forms of another cycle offered (nothing when its ledger is gone)."""
    path = workspace.output_dir / label / LEDGER_NAME
    if not label.isdigit() or not path.is_file():
        return {}
    with Ledger.reader(path) as ledger:  # read-only: another cycle's ledger is not ours to change
        return offered_choices(lists_of(ledger))


def offered_choices(lists: dict[tuple[str, str], frozenset]) -> dict[str, set[str]]:
    """Return the values the cycle's forms offered for company goals and competence areas."""
    # ``lists``: ``lists_of`` a cycle's ledger (every template the cycle was sent with).
    return {
        source: {v for (_, key), values in lists.items() if pattern.fullmatch(key) for v in values}
        for source, pattern in LIST_KEYS.items()
    }


class Builder:
    """Builds the tables of figures from answers, hiding what would single anybody out."""

    def __init__(self, config, words, language, current, previous, today, offered=None):
        self.config, self.words, self.language = config, words, language
        self.current: CycleAnswers = current
        self.previous: CycleAnswers | None = previous
        self.today: dt.date = today
        self.threshold: int = config.report.threshold
        self.choices = choice_lists(config, language)
        # The values a list may hold: configured now, or offered by a form of the cycle
        # (``offered_choices``). Anything else was typed in (in a form or the workbook): it is
        # counted under NOT_ON_LIST, its text never shown (the report shows no free text).
        self.listed = {
            source: {value for _, value in self.choices[source]}
            | (offered or {}).get(source, set())
            for source in (COMPANY_GOALS, COMPETENCE_AREAS)
        }

    def listed_value(self, source: str, value: object) -> str:
        """Return a list answer as the report counts it: its value, or NOT_ON_LIST if typed."""
        text = str(value)
        return text if text in self.listed[source] else NOT_ON_LIST

    # groups and hiding

    def groups(self) -> list[str]:
        """Return the departments of this cycle, then those only the compared one had."""
        names = set(self.current.people)
        if self.previous is not None:
            names |= set(self.previous.people)
        return sorted(names, key=norwegian_order)

    def disclosure(self, data: CycleAnswers, members: dict[str, set[str]]) -> Disclosure:
        """Return what may be shown, given each department's respondents in ``data``."""
        counts = {group: len(members.get(group, ())) for group in self.groups()}
        return disclose(counts, self.threshold)

    def hidden_text(self, why: Hidden, answers: int, group: str, size: int) -> str:
        """Return why a cell is hidden, with the group's size, in the report's language."""
        words = self.words
        name = words["group_all"] if group == words["whole"] else words["group_department"]
        template = {
            Hidden.TOO_FEW: "hidden_too_few",
            Hidden.PROTECTS: "hidden_protects",
            Hidden.NOBODY: "hidden_nobody",
        }[why]
        return words[template].format(n=answers, k=self.threshold, group=name, size=size)

    def group_cells(
        self,
        data: CycleAnswers,
        members: dict[str, set[str]],
        figures: Callable[[set[str]], list[Cell]],
        width: int,
    ) -> dict[str, list[Cell]]:
        """Return each department's cells (and the total's, under 'whole'), hidden as needed."""
        shown = self.disclosure(data, members)
        everyone = union(members)
        out = {}
        for group in [*self.groups(), self.words["whole"]]:
            people = everyone if group == self.words["whole"] else members.get(group, set())
            why = shown.total if group == self.words["whole"] else shown.groups[group]
            size = sum(data.people.values()) if group == self.words["whole"] else data.people[group]
            if why is Hidden.NONE:
                out[group] = figures(people)
            else:
                out[group] = [Cell(hidden=self.hidden_text(why, len(people), group, size))] * width
        return out

    # the 1–5 questions

    def respondents(self, data: CycleAnswers, measure: Measure) -> dict[str, set[str]]:
        """Return, per department, who answered ``measure`` with a 1–5 value."""
        members: dict[str, set[str]] = {}
        for employee_id, values in data.answers.get(measure.kind, {}).items():
            if scale_value(values.get(measure.key)) is not None:
                members.setdefault(data.department_of[employee_id], set()).add(employee_id)
        return members

    def scores(self, data: CycleAnswers, measure: Measure, people: Iterable[str]) -> list[int]:
        """Return the 1–5 answers of ``people`` to ``measure``."""
        rows = data.answers.get(measure.kind, {})
        return [scale_value(rows[p].get(measure.key)) for p in people]

    def measure_table(self, measure: Measure) -> Table:
        """Return one 1–5 question's distribution per department (and the comparison)."""
        words, levels = self.words, measure.levels[self.language]
        members = self.respondents(self.current, measure)

        def distribution(people: set[str]) -> list[Cell]:
            counts = Counter(self.scores(self.current, measure, people))
            values = [counts.get(level, 0) for level in range(1, 6)]
            mean = sum(level * n for level, n in zip(range(1, 6), values, strict=True)) / max(
                len(people), 1
            )
            return [*(Cell(v, format="int") for v in values), Cell(round(mean, 2), format="mean")]

        now = self.group_cells(self.current, members, distribution, 6)
        columns = [words["department"], words["answers_n"]]
        columns += [f"{n} – {label}" for n, label in enumerate(levels, start=1)]
        columns.append(words["mean"])
        before = self.compared_means(measure)
        if before is not None:
            columns += [
                words["mean_of"].format(label=self.previous.label),
                words["n_of"].format(label=self.previous.label),
                words["change"],
            ]
        rows = []
        for group in [*self.groups(), words["whole"]]:
            people = union(members) if group == words["whole"] else members.get(group, set())
            cells = [Cell(len(people), format="int"), *now[group]]
            if before is not None:
                cells += self.change_cells(now[group][-1], before[group])
            rows.append(Row(group, tuple(cells), total=group == words["whole"]))
        chart = Chart(
            "stacked", measure.title[self.language], tuple(range(1, 6)), words["share_axis"]
        )
        return Table(
            f"{measure.kind}_{measure.key}",
            measure.title[self.language],
            tuple(columns),
            tuple(rows),
            note=self.not_asked_note(before),
            chart=chart,
        )

    def not_asked_note(self, before: dict | None) -> str:
        """Return the note that the compared cycle did not ask a question ("" otherwise)."""
        if self.previous is None or before is not None:
            return ""
        return self.words["not_asked_note"].format(label=self.previous.label)

    def compared_means(self, measure: Measure) -> dict[str, list[Cell]] | None:
        """Return the compared cycle's mean and count per department, hidden as needed."""
        # None when there is no comparison, or its forms did not ask this question.
        if self.previous is None:
            return None
        data = self.previous
        members = self.respondents(data, measure)
        if not members:
            return None

        def mean(people: set[str]) -> list[Cell]:
            values = self.scores(data, measure, people)
            return [
                Cell(round(sum(values) / len(values), 2), format="mean"),
                Cell(len(values), format="int"),
            ]

        return self.group_cells(data, members, mean, 2)

    def change_cells(self, now: Cell, before: list[Cell]) -> list[Cell]:
        """Return the compared mean, its count and the change (shown only when both are)."""
        if before[0].hidden:
            return [before[0], before[0], before[0]]
        if now.hidden or now.number is None or before[0].number is None:
            return [*before, Cell(None)]
        return [*before, Cell(round(now.number - before[0].number, 2), format="change")]

    def measure_section(self, key: str, measures: list[Measure], views: bool = False) -> Section:
        """Return a section of 1–5 questions (and the manager's view of the four factors)."""
        tables = [self.measure_table(m) for m in measures]
        if views:
            tables.append(self.views_table())
        return Section(key, self.words[key], self.words[f"{key}_intro"], tuple(tables))

    def views_table(self) -> Table:
        """Return the employee's and the manager's mean per factor, for the whole organisation."""
        words, rows = self.words, []
        for employee_view, manager_view in zip(
            [m for m in MEASURES if is_factor(m)], MANAGER_VIEWS, strict=True
        ):
            cells = []
            for measure in (employee_view, manager_view):
                people = union(self.respondents(self.current, measure))
                cells += self.cycle_mean(self.current, measure, people)
            gap = Cell(None)
            if cells[0].number is not None and cells[2].number is not None:
                gap = Cell(round(cells[2].number - cells[0].number, 2), format="mean")
            rows.append(Row(employee_view.title[self.language], (*cells, gap)))
        chart = Chart("bars", words["views"], (0, 2), words["mean_axis"])
        return Table(
            "views",
            words["views"],
            (
                words["factor"],
                words["views_employee"],
                words["answers_n"],
                words["views_manager"],
                words["answers_n"],
                words["views_gap"],
            ),
            tuple(rows),
            note=words["views_note"],
            chart=chart,
        )

    # competence areas

    def area_values(self) -> list[str]:
        """Return the configured areas' values, then the other listed ones found in the answers."""
        known = [value for _, value in self.choices[COMPETENCE_AREAS]]
        found = {
            self.listed_value(COMPETENCE_AREAS, values[key])
            for data in filter(None, (self.current, self.previous))
            for kind in (EMPLOYEE, MANAGER)
            for values in data.answers.get(kind, {}).values()
            for key in COMPETENCE_AREA_KEYS
            if values.get(key) not in (None, "")
        }
        others = sorted(found - set(known) - {NOT_ON_LIST}, key=norwegian_order)
        return known + others + ([NOT_ON_LIST] if NOT_ON_LIST in found else [])

    def area_label(self, value: str) -> str:
        """Return how an area's stored value reads in the report's language."""
        if value == NOT_ON_LIST:
            return self.words["not_on_list"]
        return dict((v, shown) for shown, v in self.choices[COMPETENCE_AREAS]).get(value, value)

    def areas_of(self, data: CycleAnswers) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Return who returned a prep form per department, and each person's chosen areas."""
        members: dict[str, set[str]] = {}
        chosen: dict[str, set[str]] = {}
        for kind in (EMPLOYEE, MANAGER):
            for employee_id, values in data.answers.get(kind, {}).items():
                areas = {
                    self.listed_value(COMPETENCE_AREAS, values[k])
                    for k in COMPETENCE_AREA_KEYS
                    if values.get(k)
                }
                if not areas and not str(values.get("status") or "").startswith("returned"):
                    continue
                members.setdefault(data.department_of[employee_id], set()).add(employee_id)
                chosen.setdefault(employee_id, set()).update(areas)
        return members, chosen

    def competence_section(self) -> Section:
        """Return the competence areas per department, and against the compared cycle."""
        words, areas = self.words, self.area_values()
        members, chosen = self.areas_of(self.current)

        def counts(people: set[str]) -> list[Cell]:
            return [Cell(sum(a in chosen.get(p, ()) for p in people), format="int") for a in areas]

        cells = self.group_cells(self.current, members, counts, len(areas))
        rows = []
        for group in [*self.groups(), words["whole"]]:
            people = union(members) if group == words["whole"] else members.get(group, set())
            rows.append(
                Row(
                    group,
                    (Cell(len(people), format="int"), *cells[group]),
                    total=group == words["whole"],
                )
            )
        chart = Chart(
            "profile",
            words["competence_chart"],
            tuple(range(1, len(areas) + 1)),
            words["count_axis"],
        )
        table = Table(
            "competence",
            words["competence_table"],
            (words["department"], words["competence_people"], *map(self.area_label, areas)),
            tuple(rows),
            chart=chart,
        )
        return Section("competence", words["competence"], words["competence_intro"], (table,))

    # goals

    def goal_counts(self, data: CycleAnswers, kind: str, slots: int, people: set[str]) -> Counter:
        """Return how many goals of ``people`` link to each company goal (by stored value)."""
        counts: Counter = Counter()
        rows = data.answers.get(kind, {})
        for person in people:
            values = rows.get(person, {})
            for n in range(1, slots + 1):
                link = values.get(f"goal_{n}_company")
                if link not in (None, ""):
                    counts[self.listed_value(COMPANY_GOALS, link)] += 1
                elif values.get(f"goal_{n}") is True:
                    counts[""] += 1  # a goal written without a link
        return counts

    def goal_people(self, data: CycleAnswers, kind: str) -> dict[str, set[str]]:
        """Return, per department, whose form of ``kind`` came back (they count in the base)."""
        members: dict[str, set[str]] = {}
        for employee_id, values in data.answers.get(kind, {}).items():
            if str(values.get("status") or "").startswith("returned") or any(
                values.get(f"goal_{n}_company") for n in range(1, MINUTES_GOALS + 1)
            ):
                members.setdefault(data.department_of[employee_id], set()).add(employee_id)
        return members

    def goals_section(self) -> Section:
        """Return the goals per company goal, and the agreed ones per department."""
        words = self.words
        goals = [(shown, value) for shown, value in self.choices[COMPANY_GOALS]]
        proposed_people = self.goal_people(self.current, EMPLOYEE)
        agreed_people = self.goal_people(self.current, MINUTES)
        everyone = {"p": union(proposed_people), "a": union(agreed_people)}
        proposed = self.goal_counts(self.current, EMPLOYEE, PREP_GOALS, everyone["p"])
        agreed = self.goal_counts(self.current, MINUTES, MINUTES_GOALS, everyone["a"])
        known = {value for _, value in goals}
        found = set(proposed) | set(agreed)
        extra = sorted(found - known - {"", NOT_ON_LIST}, key=norwegian_order)
        typed = [(words["not_on_list"], NOT_ON_LIST)] if NOT_ON_LIST in found else []
        lines = [*goals, *((v, v) for v in extra), *typed, (words["goal_unlinked"], "")]
        columns_hidden = [self.whole_hidden(len(everyone[k])) for k in ("p", "a")]
        rows = []
        for shown, value in lines:
            cells = []
            for counts, hidden in zip((proposed, agreed), columns_hidden, strict=True):
                cells.append(hidden or Cell(counts.get(value, 0), format="int"))
            rows.append(Row(shown, tuple(cells)))
        chart = Chart("bars", words["goals_table"], (0, 1), words["count_axis"])
        note = "" if self.config.goals.items else words["goals_none_configured"]
        per_goal = Table(
            "goals",
            words["goals_table"],
            (words["company_goal"], words["goals_proposed"], words["goals_agreed"]),
            tuple(rows),
            note=note,
            chart=chart,
        )

        def by_goal(people: set[str]) -> list[Cell]:
            counts = self.goal_counts(self.current, MINUTES, MINUTES_GOALS, people)
            return [Cell(counts.get(value, 0), format="int") for _, value in lines]

        cells = self.group_cells(self.current, agreed_people, by_goal, len(lines))
        department_rows = []
        for group in [*self.groups(), words["whole"]]:
            people = everyone["a"] if group == words["whole"] else agreed_people.get(group, set())
            department_rows.append(
                Row(
                    group,
                    (Cell(len(people), format="int"), *cells[group]),
                    total=group == words["whole"],
                )
            )
        per_department = Table(
            "goals_department",
            words["goals_department"],
            (words["department"], words["goals_people"], *(shown for shown, _ in lines)),
            tuple(department_rows),
        )
        return Section("goals", words["goals"], words["goals_intro"], (per_goal, per_department))

    def whole_hidden(self, answers: int, data: CycleAnswers | None = None) -> Cell | None:
        """Return the hidden cell of a whole-organisation figure with too few answers, or None."""
        if answers >= self.threshold:
            return None
        why = Hidden.NOBODY if answers == 0 else Hidden.TOO_FEW
        size = sum((data or self.current).people.values())
        return Cell(hidden=self.hidden_text(why, answers, self.words["whole"], size))

    # follow-ups

    def followups(self, people: Iterable[str]) -> list[dt.date | None]:
        """Return the due date (or None) of every follow-up agreed in the minutes of ``people``."""
        rows = self.current.answers.get(MINUTES, {})
        found = []
        for person in people:
            values = rows.get(person, {})
            for n in range(1, FOLLOWUPS + 1):
                due = excel_date(values.get(f"followup_{n}_when"))
                if values.get(f"followup_{n}_what") is True or due is not None:
                    found.append(due)
        return found

    def followups_section(self) -> Section:
        """Return the follow-ups per month due, and per department."""
        words = self.words
        members = self.goal_people(self.current, MINUTES)
        everyone = union(members)
        hidden = self.whole_hidden(len(everyone))
        dates = self.followups(everyone)
        months = Counter((d.year, d.month) if d else None for d in dates)
        past = Counter((d.year, d.month) for d in dates if d and d < self.today)
        names = words["months"].split()
        rows = []
        for month in sorted((m for m in months if m), key=lambda m: m) + (
            [None] if None in months else []
        ):
            label = f"{names[month[1] - 1]} {month[0]}" if month else words["no_date"]
            count = hidden or Cell(months[month], format="int")
            passed = hidden or Cell(past.get(month, 0), format="int")
            rows.append(Row(label, (count, passed)))
        if hidden:
            rows = [Row(words["whole"], (hidden, hidden))]
        by_month = Table(
            "followups_month",
            words["followups_month"],
            (words["month"], words["followups_count"], words["followups_past"]),
            tuple(rows),
            chart=Chart("bars", words["followups_month"], (0,), words["count_axis"]),
            empty=words["no_answers_yet"],
        )
        soon = self.today + dt.timedelta(days=SOON_DAYS)

        def summary(people: set[str]) -> list[Cell]:
            due = self.followups(people)
            return [
                Cell(len(due), format="int"),
                Cell(sum(1 for d in due if d and self.today <= d <= soon), format="int"),
                Cell(sum(1 for d in due if d and d < self.today), format="int"),
            ]

        cells = self.group_cells(self.current, members, summary, 3)
        department_rows = []
        for group in [*self.groups(), words["whole"]]:
            people = everyone if group == words["whole"] else members.get(group, set())
            department_rows.append(
                Row(
                    group,
                    (Cell(len(people), format="int"), *cells[group]),
                    total=group == words["whole"],
                )
            )
        per_department = Table(
            "followups_department",
            words["followups_department"],
            (
                words["department"],
                words["followups_people"],
                words["followups_count"],
                words["followups_soon"],
                words["followups_past"],
            ),
            tuple(department_rows),
        )
        return Section(
            "followups", words["followups"], words["followups_intro"], (by_month, per_department)
        )

    # the comparison

    def comparison_section(self) -> Section:
        """Return the whole organisation's means and competence areas, this year and compared."""
        words, label = self.words, self.previous.label
        rows = []
        for measure in MEASURES:
            cells = []
            for data in (self.current, self.previous):
                cells += self.cycle_mean(data, measure, union(self.respondents(data, measure)))
            if not self.respondents(self.previous, measure):
                cells[2:] = [Cell(hidden=words["not_asked"].format(label=label))] * 2
            change = Cell(None)
            if cells[0].number is not None and cells[2].number is not None:
                change = Cell(round(cells[0].number - cells[2].number, 2), format="change")
            rows.append(Row(measure.title[self.language], (*cells, change)))
        this = self.current.label
        means = Table(
            "comparison",
            words["comparison_table"].format(label=label),
            (
                words["question"],
                words["mean_of"].format(label=this),
                words["n_of"].format(label=this),
                words["mean_of"].format(label=label),
                words["n_of"].format(label=label),
                words["change"],
            ),
            tuple(rows),
            chart=Chart(
                "bars",
                words["comparison_chart"].format(this=this, label=label),
                (0, 2),
                words["mean_axis"],
            ),
        )
        areas = self.area_values()
        counted = []
        cycles = (self.current, self.previous)
        for data in cycles:
            members, chosen = self.areas_of(data)
            counted.append((union(members), chosen))
        area_rows = []
        if not any(counted[1][1].values()):
            areas = []  # the compared cycle's forms had no competence areas
        for area in areas:
            cells = []
            for (everyone, chosen), data in zip(counted, cycles, strict=True):
                if len(everyone) < self.threshold:
                    cells += [self.whole_hidden(len(everyone), data)] * 2
                    continue
                n = sum(area in chosen.get(p, ()) for p in everyone)
                cells += [Cell(n, format="int"), Cell(n / len(everyone), format="percent")]
            area_rows.append(Row(self.area_label(area), tuple(cells)))
        competence = Table(
            "comparison_competence",
            words["comparison_competence"].format(label=label),
            (
                words["area"],
                f"{words['people_n']} {this}",
                f"% {this}",
                f"{words['people_n']} {label}",
                f"% {label}",
            ),
            tuple(area_rows),
            empty=words["no_areas"].format(label=label),
        )
        return Section(
            "comparison",
            words["comparison"].format(label=label),
            words["comparison_intro"].format(label=label),
            (means, competence),
        )

    def cycle_mean(self, data: CycleAnswers, measure: Measure, people: set[str]) -> list[Cell]:
        """Return a cycle's whole-organisation mean and count, hidden when too few answered."""
        if len(people) < self.threshold:
            return [self.whole_hidden(len(people), data)] * 2
        values = self.scores(data, measure, people)
        return [
            Cell(round(sum(values) / len(values), 2), format="mean"),
            Cell(len(values), format="int"),
        ]
