"""SIMULATION for `make demo`: invented people "reply" to the sample cycle's forms.

Nobody real is involved: answers are invented (pipeline/simulate.py). Files land in a folder the
way HR would save them: some as .docx, some as emails (.eml) that quote the original message,
plus a few bad files that `collect` must turn away. Re-running writes nothing twice.

    python tools/simulate_replies.py prep --cycle 2027 [--workspace .]
    python tools/simulate_replies.py minutes --cycle 2027
"""

from __future__ import annotations

import argparse
import email.policy
import hashlib
import os
import random
from email.message import EmailMessage
from pathlib import Path

from pipeline.formats.ooxml import (
    CUSTOM_PART,
    DOCX_MIME,
    custom_properties_xml,
    read_custom_properties,
    read_package,
    replace_part,
)
from pipeline.formats.roster import read_roster
from pipeline.state.files import write_private
from pipeline.state.identity import PROPERTY
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.simulate import fields_of, fill_form, invented_answers, leaning

RETURN_RATE = 0.85


def main() -> None:
    """Write the simulated replies for one stage of the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["prep", "minutes"])
    parser.add_argument("--cycle", type=int, required=True)
    parser.add_argument("--workspace", type=Path, default=Path("."))
    args = parser.parse_args()
    workspace = Workspace.at(args.workspace)
    target = workspace.input_dir / "returned" / str(args.cycle)
    written = (
        simulate_prep(workspace, args.cycle, target)
        if args.stage == "prep"
        else simulate_minutes(workspace, args.cycle, target)
    )
    print(f"SIMULATION: {written} invented repl(y/ies) written to {target}")


def simulate_prep(workspace: Workspace, cycle: int, target: Path) -> int:
    """Return how many files were written: filled prep forms and a few bad files."""
    roster = read_roster(workspace.roster_path)
    cycle_dir = workspace.cycle_dir(cycle)
    with Ledger(workspace.ledger_path(cycle)) as ledger:
        forms = [r for r in ledger.forms() if r.kind in ("employee", "manager")]
    written = 0
    for number, record in enumerate(forms):
        rng = random.Random(f"{cycle}-{record.employee_id}-{record.kind}")
        if rng.random() > RETURN_RATE:
            continue  # not everybody answers in time
        employee = roster.by_id.get(record.employee_id)
        if employee is None:
            continue
        sent = (cycle_dir / record.path).read_bytes()
        answers = invented_answers(
            fields_of(sent),
            employee.language,
            f"{record.employee_id}-{record.kind}",
            cycle,
            leaning=leaning(employee.department, employee.id, record.kind, cycle),
        )
        filled = fill_form(sent, answers)
        name = Path(record.path).name
        sender = employee if record.kind == "employee" else roster.manager_of(employee)
        if number % 3 == 0 and sender is not None:
            written += put(
                target / f"svar-{record.employee_id}-{record.kind}.eml",
                reply_email(sender.name, sender.email, name, filled, cycle),
            )
        else:
            written += put(target / name, filled)
        if number == 4:  # somebody sends a corrected version later the same week
            again = dict(answers, other_topics="Tillegg: ønsker å snakke om kurs.")
            corrected = target / f"{Path(name).stem} (2).docx"
            if put(corrected, fill_form(sent, again)):
                written += 1
                later = corrected.stat().st_mtime + 24 * 3600  # the corrected copy came a day later
                os.utime(corrected, (later, later))
    written += bad_files(target, forms, cycle_dir)
    return written


def bad_files(target: Path, forms, cycle_dir: Path) -> int:
    """Return how many bad files were written: the kind HR really receives."""
    first = (cycle_dir / forms[0].path).read_bytes()
    written = put(target / "skannet-skjema.pdf", b"%PDF-1.4\n% scanned form, simulation\n%%EOF\n")
    written += put(target / "gammelt-skjema.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    written += put(target / "endret-identitet.docx", forged_identity(first, forms[0].employee_id))
    written += put(target / "avbrutt-opplasting.docx", first[: len(first) // 2])
    return written


def forged_identity(data: bytes, employee_id: str) -> bytes:
    """Return a form whose embedded identity was edited to name another employee."""
    package = read_package(data, wanted=(CUSTOM_PART,))
    properties = read_custom_properties(package.parts[CUSTOM_PART])
    token = properties[PROPERTY].replace(f":{employee_id}:", ":9999:")
    return replace_part(data, CUSTOM_PART, custom_properties_xml({PROPERTY: token}))


def simulate_minutes(workspace: Workspace, cycle: int, target: Path) -> int:
    """Return how many minutes were 'returned': confirmed by the manager, then the employee."""
    roster = read_roster(workspace.roster_path)
    cycle_dir = workspace.cycle_dir(cycle)
    with Ledger(workspace.ledger_path(cycle)) as ledger:
        forms = ledger.forms("minutes")
    written = 0
    for number, record in enumerate(forms):
        employee = roster.by_id.get(record.employee_id)
        manager = roster.manager_of(employee) if employee else None
        if employee is None or manager is None:
            continue
        sent = (cycle_dir / record.path).read_bytes()
        answers = invented_answers(fields_of(sent), employee.language, f"{employee.id}-m", cycle)
        answers.update(
            manager_confirmed=True,
            manager_name=manager.name,
            manager_date=f"{cycle}-02-01",
            employee_confirmed=False,
            employee_name="",
        )
        stem = Path(record.path).stem
        written += put(target / "referat" / f"{stem}-leder.docx", fill_form(sent, answers))
        confirmed = dict(
            answers,
            employee_confirmed=True,
            employee_name=employee.name,
            employee_date=f"{cycle}-02-03",
        )
        if number == 1:  # the employee edits the agreed text: the manager must confirm again
            confirmed["agreed_goals"] = (
                "Medarbeideren har endret målene etter lederens bekreftelse."
            )
        employee_copy = target / "referat" / f"{stem}-medarbeider.docx"
        if put(employee_copy, fill_form(sent, confirmed)):
            written += 1
            later = employee_copy.stat().st_mtime + 2 * 24 * 3600  # returned two days later
            os.utime(employee_copy, (later, later))
    return written


def reply_email(name: str, address: str, file_name: str, data: bytes, cycle: int) -> bytes:
    """Return an email reply that quotes the original message and attaches the form."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"{name} <{address}>"
    message["To"] = "HR <hr@fjordlys.example>"
    message["Subject"] = f"SV: Medarbeidersamtale {cycle} – forberedelse"
    message["Date"] = (
        f"Mon, 18 Jan {cycle} 09:{int(hashlib.sha1(data).hexdigest()[:2], 16) % 60:02d}:00 +0100"
    )
    message.set_content(
        "Hei!\n\nHer er skjemaet mitt.\n\nHilsen\n" + name + "\n\n"
        "> Hei! Vedlagt er skjemaet for medarbeidersamtalen. Fyll det ut og svar på denne\n"
        "> e-posten med skjemaet som vedlegg.\n"
    )
    maintype, subtype = DOCX_MIME.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=file_name)
    return message.as_bytes()


def put(path: Path, data: bytes) -> int:
    """Return 1 after writing a new file, 0 when it is already there (re-runs write nothing)."""
    if path.exists():
        return 0
    write_private(path, data)
    return 1


if __name__ == "__main__":
    main()
