"""Write the shipped sample of last cycle's answers workbook: input/answers-2026.xlsx.

Invented agreements for the invented people of input/roster.xlsx, in the layout samtale's
answers workbook has (sheet per form kind, row 1 = column keys, `employee_id` column), so that
`samtale generate --previous input/answers-2026.xlsx` has something to fill in.

    python tools/make_sample_previous.py [--force]
"""

import argparse
import datetime as dt
import io
import random
from pathlib import Path

import openpyxl

from pipeline.formats.roster import read_roster
from pipeline.formats.templates import FIXED_COLUMNS
from pipeline.state.files import write_private

ROOT = Path(__file__).resolve().parents[1]
GOALS = [
    ("Fullføre opplæring i det nye driftssystemet", "Sertifikat levert", "2026-06-30"),
    ("Redusere ubesvarte kundehenvendelser", "Under 5 % ved kvartalsslutt", "2026-09-30"),
    ("Ta ansvar for ett forbedringsprosjekt", "Prosjektrapport presentert", "2026-11-15"),
    ("Bli fadder for en nyansatt", "Fadderordning gjennomført", "2026-04-30"),
    ("Dokumentere rutinene for månedsavslutning", "Rutinebeskrivelse i intranettet", "2026-05-31"),
]
FOLLOWUPS = [
    ("Avklare kursbudsjett", "Leder", "2026-02-15"),
    ("Oppfølgingssamtale om arbeidsmengde", "Leder og medarbeider", "2026-08-20"),
    ("Hospitering i kundeservice", "Medarbeider", "2026-10-01"),
]
GOALS_EN = [
    ("Complete training in the new operations system", "Certificate delivered", "2026-06-30"),
    ("Lead one improvement project", "Project report presented", "2026-11-15"),
]


def minutes_rows(roster, rng: random.Random) -> tuple[list[str], list[list]]:
    """Return the header and rows of last cycle's minutes sheet."""
    keys = [
        f"{p}" for n in (1, 2, 3) for p in (f"goal_{n}", f"goal_{n}_measure", f"goal_{n}_deadline")
    ]
    keys += [
        p for n in (1, 2) for p in (f"followup_{n}_what", f"followup_{n}_who", f"followup_{n}_when")
    ]
    header = [*FIXED_COLUMNS, *keys]
    rows = []
    for employee in roster.employees:
        if rng.random() < 0.2:
            continue  # new this year, or no talk last year
        pool = GOALS_EN if employee.language == "en" else GOALS
        goals = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
        followups = rng.sample(FOLLOWUPS, k=rng.randint(0, 2))
        values = {}
        for n, goal in enumerate(goals, start=1):
            values.update(
                {f"goal_{n}": goal[0], f"goal_{n}_measure": goal[1], f"goal_{n}_deadline": goal[2]}
            )
        for n, action in enumerate(followups, start=1):
            values.update(
                {
                    f"followup_{n}_what": action[0],
                    f"followup_{n}_who": action[1],
                    f"followup_{n}_when": action[2],
                }
            )
        fixed = [
            employee.id,
            employee.name,
            employee.department,
            employee.manager_id,
            "returned",
            "2026-02-10T09:00:00+00:00",
            "referat-2026.docx",
        ]
        rows.append(fixed + [values.get(k, "") for k in keys])
    return header, rows


SCALES = ("period_rating", "wellbeing_score")  # the 1–5 questions the 2026 forms had


def scale_rows(roster, kind: str) -> list[list]:
    """Return last cycle's rows of the 1–5 answers of one form kind (for `samtale report`)."""
    rng = random.Random(f"2026-{kind}")  # its own stream: the minutes sheet stays as it was
    rows = []
    for employee in roster.employees:
        if rng.random() < 0.15:
            continue  # not back last year
        centre = rng.gauss(3.5, 0.6) + (0.3 if kind == "manager" else 0)
        scores = [str(min(5, max(1, round(rng.gauss(centre, 0.8))))) for _ in SCALES]
        fixed = [employee.id, employee.name, employee.department, employee.manager_id]
        rows.append([*fixed, "returned", "2026-01-20T09:00:00+00:00", f"{kind}-2026.docx", None])
        rows[-1] += scores
    return rows


def build(roster_path: Path) -> bytes:
    """Return the bytes of the sample previous-cycle workbook."""
    roster = read_roster(roster_path)
    rng = random.Random(2026)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "minutes"
    header, rows = minutes_rows(roster, rng)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for name in ("employee", "manager"):
        other = workbook.create_sheet(name)
        other.append([*FIXED_COLUMNS, "goals_next", *SCALES])
        for row in scale_rows(roster, name):
            other.append(row)
    workbook.properties.created = workbook.properties.modified = dt.datetime(2026, 2, 10, 9, 0)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def main() -> None:
    """Write input/answers-2026.xlsx (refuses to replace it without --force)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    target = ROOT / "input" / "answers-2026.xlsx"
    write_private(target, build(ROOT / "input" / "roster.xlsx"), overwrite=args.force)
    print(f"Wrote {target}")


if __name__ == "__main__":
    main()
