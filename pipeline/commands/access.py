"""``samtale access EMPLOYEE_ID``: everything samtale holds about one person, in one zip.

For an access request (GDPR art. 15): their forms and the manager's forms and minutes about them,
the files and emails they returned, the emails samtale wrote to them, their rows of every answers
workbook (HR's corrections marked), their sealed minutes, the ledger's rows about them and what
was deleted about them, with an index in their language: what each file is, when, where it came
from. Nothing about anyone else: of an email that carried several people's forms only the part
about this person goes in, and a file they sent that samtale cannot tell the subject of is left
for HR to look at by hand. The zip is owner-only under ``output/access/``; HR notes its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from pipeline.domain.kinds import ALL_FORM_KINDS, DEFAULT_LANGUAGE
from pipeline.domain.personal_data import (
    ACCESS_FOLDER,
    ANSWERS_NAME,
    EMAIL,
    FORM,
    LEDGER_NAME,
    OUTBOX,
    QUARANTINE,
    RETURNED,
    HeldFile,
    PersonCycle,
    access_prefix,
    held_cycles,
    person_cycle,
    utc,
)
from pipeline.errors import WorkspaceError
from pipeline.formats import email_parts
from pipeline.formats.answers import normalize, question_texts, rows_about
from pipeline.formats.roster import Roster, normalize_id, read_roster
from pipeline.formats.templates import FIXED_COLUMNS
from pipeline.state.archive import Archive, ManifestEntry, archived_cycles
from pipeline.state.deletions import DeletionLog, removed_working_files
from pipeline.state.files import ensure_private_dir, unique_path, write_private
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace

WORDS = {
    "nb": {
        "index": "innhold.txt",
        "title": "Innsyn: dette har samtale lagret om ansatt {id} ({organisation})",
        "made": "Laget {time}. Hver fil i denne zip-filen er nevnt under: hva den er, når og "
        "hvor den kom fra.",
        "cycle": "Medarbeidersamtalen {cycle}",
        "archive": "Forseglet arkiv",
        "what": "Hva",
        "when": "Når",
        "source": "Kilde",
        "generated": "laget av samtale",
        "returned_mail": "kom med e-post fra {sender}, sendt {time}",
        "returned_file": "kom som fil, samlet inn {time}",
        "sealed": "forseglet og arkivert",
        "samtale": "samtale",
        "form_employee": "Forberedelsesskjemaet ditt, slik det ble sendt ut",
        "form_manager": "Lederens forberedelsesskjema om deg, slik det ble sendt ut",
        "form_minutes": "Referatskjemaet om deg, slik det ble sendt ut",
        "form_old": "En eldre utgave av et skjema om deg (erstattet av en nyere)",
        "returned_employee": "Forberedelsesskjemaet ditt, slik det kom tilbake",
        "returned_manager": "Lederens forberedelsesskjema om deg, slik det kom tilbake",
        "returned_minutes": "Referatet om deg, slik det kom tilbake",
        "quarantine": "En fil du sendte som ikke kunne leses som skjema (lagt til side)",
        "reason_note": "Hvorfor filen over ble lagt til side",
        "other": "En fil samtale har lagret om deg",
        "part_note": "[Bare delen om deg av en e-post som også gjaldt andre; resten er utelatt.]",
        "email_own": "En e-post som bare gjaldt deg, hel",
        "email_part": "Delen om deg av en e-post som også gjaldt andre ({left_out} vedlegg om "
        "andre er utelatt; teksten er utelatt)",
        "outbox_own": "E-post samtale skrev til deg",
        "outbox_part": "Delen om deg av en e-post samtale skrev ({left_out} vedlegg om andre og "
        "linjene som nevner dem er utelatt)",
        "answers": "Dine rader i svararket; kolonnen «Rettet av HR» viser hva HR har rettet",
        "ledger": "Det samtales logg (ledger) har registrert om deg: skjemaer, filer som kom "
        "tilbake, e-poster og samtaler som er satt opp",
        "minutes": "Det endelige referatet, forseglet PDF",
        "followups": "Avtalte oppfølgingspunkter (kalenderfil)",
        "deletions": "Det samtale har slettet om deg (sletteloggen)",
        "removed": "Arbeidsfilene fra {cycle} ble slettet {date} etter reglene for lagring; "
        "bare det som står under «Forseglet arkiv» er igjen.",
        "unclear": "{count} fil(er) du sendte er ikke med: samtale kan ikke se hvem de handler "
        "om. HR går gjennom dem for hånd.",
        "nothing": "samtale har ingen opplysninger om ansatt {id}.",
        "columns": ("Felt", "Spørsmål", "Svar", "Rettet av HR", "Svar slik det kom inn"),
        "yes": "ja",
        "time": "%d.%m.%Y kl. %H:%M UTC",
    },
    "en": {
        "index": "contents.txt",
        "title": "Access request: what samtale holds about employee {id} ({organisation})",
        "made": "Made {time}. Every file in this zip is listed below: what it is, when, and "
        "where it came from.",
        "cycle": "Performance review {cycle}",
        "archive": "Sealed archive",
        "what": "What",
        "when": "When",
        "source": "Source",
        "generated": "made by samtale",
        "returned_mail": "arrived by email from {sender}, sent {time}",
        "returned_file": "arrived as a file, collected {time}",
        "sealed": "sealed and archived",
        "samtale": "samtale",
        "form_employee": "Your preparation form, as it was sent out",
        "form_manager": "Your manager's preparation form about you, as it was sent out",
        "form_minutes": "The minutes form about you, as it was sent out",
        "form_old": "An older version of a form about you (replaced by a newer one)",
        "returned_employee": "Your preparation form, as it came back",
        "returned_manager": "Your manager's preparation form about you, as it came back",
        "returned_minutes": "The minutes about you, as they came back",
        "quarantine": "A file you sent that could not be read as a form (set aside)",
        "reason_note": "Why the file above was set aside",
        "other": "A file samtale keeps about you",
        "part_note": "[Only the part about you of an email that also concerned others; the rest "
        "is left out.]",
        "email_own": "An email only about you, whole",
        "email_part": "The part about you of an email that also concerned others ({left_out} "
        "attachments about others and the text are left out)",
        "outbox_own": "An email samtale wrote to you",
        "outbox_part": "The part about you of an email samtale wrote ({left_out} attachments "
        "about others and the lines naming them are left out)",
        "answers": "Your rows of the answers workbook; the column 'Corrected by HR' shows HR's "
        "corrections",
        "ledger": "What samtale's ledger recorded about you: forms, files returned, emails and "
        "talks scheduled",
        "minutes": "The final minutes, a sealed PDF",
        "followups": "The agreed follow-ups (calendar file)",
        "deletions": "What samtale deleted about you (the deletion log)",
        "removed": "The working files of {cycle} were deleted on {date} under the retention "
        "rules; only what is listed under 'Sealed archive' is left.",
        "unclear": "{count} file(s) you sent are not included: samtale cannot tell whom they are "
        "about. HR goes through them by hand.",
        "nothing": "samtale holds no data about employee {id}.",
        "columns": ("Field", "Question", "Answer", "Corrected by HR", "Answer as it came in"),
        "yes": "yes",
        "time": "%Y-%m-%d %H:%M UTC",
    },
}


@dataclass(frozen=True)
class Item:
    """One file of the bundle and its index entry."""

    name: str  # path inside the zip
    data: bytes
    what: str
    when: str
    source: str


@dataclass
class AccessReport:
    """The access bundle written: where, its SHA-256, and what HR must still look at."""

    employee_id: str
    path: Path | None  # None when samtale holds nothing about the person
    sha256: str = ""
    files: int = 0
    cycles: list[int] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE
    unclear: list[Path] = field(default_factory=list)  # files they sent, subject unknown


def access_bundle(
    workspace: Workspace,
    employee_id: str,
    *,
    roster_path: Path | None = None,
    sheet: str | None = None,
    now: dt.datetime | None = None,
) -> AccessReport:
    """Return the report after writing one person's access bundle (a zip) under output/access/."""
    employee_id = normalize_id(employee_id)
    if not employee_id:
        raise WorkspaceError("the employee id is empty; give the id from the roster (Ansattnr)")
    now = now or dt.datetime.now(dt.UTC)
    path = roster_path or workspace.roster_path
    roster = read_roster(path, sheet) if Path(path).exists() else None
    bundle = Bundle(workspace, employee_id, roster, now)
    for cycle in sorted({*held_cycles(workspace), *archived_cycles(workspace)}):
        bundle.add_cycle(cycle)
    bundle.add_deletions()
    report = AccessReport(employee_id, None, language=bundle.language)
    report.unclear = bundle.unclear
    report.cycles = sorted(bundle.cycles)
    if not bundle.items:
        return report
    data = bundle.zip_bytes()
    folder = ensure_private_dir(workspace.private_output() / ACCESS_FOLDER)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    target = unique_path(folder / f"{access_prefix(employee_id)}{stamp}.zip")
    report.path = write_private(target, data)
    report.sha256 = hashlib.sha256(data).hexdigest()
    report.files = len(bundle.items)
    return report


class Bundle:
    """The files of one person's access bundle, gathered cycle by cycle."""

    def __init__(self, workspace: Workspace, employee_id: str, roster: Roster | None, now):
        self.workspace, self.me, self.roster, self.now = workspace, employee_id, roster, now
        self.language = language_of(workspace, employee_id, roster)
        self.words = WORDS[self.language]
        self.items: list[Item] = []
        self.notes: dict[int, list[str]] = {}  # per cycle: lines for the index
        self.cycles: set[int] = set()
        self.unclear: list[Path] = []

    def time(self, value: str | dt.datetime | None) -> str:
        """Return a time as the person's language writes it ('' when unknown)."""
        moment = utc(value) if isinstance(value, str) else value
        return moment.strftime(self.words["time"]) if moment else ""

    def add(self, name: str, data: bytes, what: str, when: str, source: str) -> None:
        """Add one file to the bundle."""
        self.items.append(Item(name, data, what, when, source))

    # -- one cycle ---------------------------------------------------------------------------

    def add_cycle(self, cycle: int) -> None:
        """Add what one cycle holds about the person: working files, then sealed files."""
        found = person_cycle(self.workspace, cycle, self.me, self.roster)
        before = len(self.items)
        if found is not None:
            self.add_working(found)
        else:
            removed = removed_working_files(self.workspace.output_dir, cycle)
            if removed is not None:
                text = self.words["removed"].format(cycle=cycle, date=removed.removed_at[:10])
                self.notes.setdefault(cycle, []).append(text)
        self.add_sealed(cycle)
        if len(self.items) > before:
            self.cycles.add(cycle)

    def add_working(self, found: PersonCycle) -> None:
        """Add the person's files, email parts, workbook rows and ledger rows of one cycle."""
        cycle = found.cycle
        returned = {r["sha256"]: r for r in found.returned}
        forms = {Path(f["file"]).name: f for f in found.forms}
        for held in found.own:
            self.add_own(held, forms, returned)
        for number, shared in enumerate(found.shared, start=1):
            data, left_out = email_parts.extract(
                shared.file.path.read_bytes(),
                shared.keeps,
                text=shared.text,
                other_names=shared.other_names,
                note=self.words["part_note"],
            )
            kind = "outbox_part" if shared.file.kind == OUTBOX else "email_part"
            folder = "outbox" if shared.file.kind == OUTBOX else "emails"
            row = returned.get(shared.file.sha256, {})
            self.add(
                f"{cycle}/{folder}/email-{number}-part.eml",
                data,
                self.words[kind].format(left_out=left_out),
                self.time(row.get("sent_at") or shared.file.changed_at),
                self.arrival(row) if row else self.words["generated"],
            )
        if found.unclear:
            self.unclear += [h.path for h in found.unclear if not h.relative.endswith(".txt")]
            count = sum(1 for h in found.unclear if not h.relative.endswith(".txt"))
            self.notes.setdefault(cycle, []).append(self.words["unclear"].format(count=count))
        self.add_answers(found)
        events = {
            "forms": found.forms,
            "returned_files": found.returned,
            "emails": found.emails,
            "meetings": found.meetings,
        }
        if any(events.values()):
            data = json.dumps(events, ensure_ascii=False, indent=2).encode("utf-8")
            self.add(f"{cycle}/ledger.json", data, self.words["ledger"], "", LEDGER_NAME)

    def add_own(self, held: HeldFile, forms: dict, returned: dict) -> None:
        """Add one file wholly about the person, described by what the ledger says of it."""
        name = held.relative.rsplit("/", 1)[-1]
        cycle = held.cycle
        row = returned.get(held.sha256)
        if held.kind == FORM:
            form = forms.get(name)
            what = self.words[f"form_{form['kind']}"] if form else self.words["form_old"]
            when = self.time(form["generated_at"]) if form else self.time(held.changed_at)
            self.add(f"{cycle}/forms/{name}", held.path.read_bytes(), what, when, "samtale")
        elif held.kind == OUTBOX:
            data = held.path.read_bytes()
            self.add(
                f"{cycle}/outbox/{name}",
                data,
                self.words["outbox_own"],
                self.time(held.changed_at),
                self.words["generated"],
            )
        elif row is not None:
            what = {
                EMAIL: self.words["email_own"],
                QUARANTINE: self.words["quarantine"],
                RETURNED: self.words.get(f"returned_{row['kind']}", ""),
            }.get(held.kind, "")
            folder = "emails" if held.kind == EMAIL else "returned"
            self.add(
                f"{cycle}/{folder}/{name}",
                held.path.read_bytes(),
                what,
                self.time(row["sent_at"] or row["collected_at"]),
                self.arrival(row),
            )
        else:
            note = held.relative.endswith(".reason.txt")
            self.add(
                f"{cycle}/returned/{name}",
                held.path.read_bytes(),
                self.words["reason_note" if note else "other"],
                self.time(held.changed_at),
                self.words["generated"] if note else self.words["samtale"],
            )

    def arrival(self, row: dict) -> str:
        """Return how a returned file arrived, in the person's language."""
        if row.get("sender"):
            sent = self.time(row.get("sent_at") or "")
            return self.words["returned_mail"].format(sender=row["sender"], time=sent)
        return self.words["returned_file"].format(time=self.time(row.get("collected_at") or ""))

    def add_answers(self, found: PersonCycle) -> None:
        """Add the person's rows of the cycle's answers workbook, HR's corrections marked."""
        path = found.cycle_dir / ANSWERS_NAME
        if not found.workbook_rows or not path.exists():
            return
        rows = rows_about(path, self.me)
        questions = question_texts(path)
        with Ledger(found.cycle_dir / LEDGER_NAME) as ledger:
            extracted = {
                (kind, key): value
                for (kind, eid, key), value in ledger.extracted_values(list(ALL_FORM_KINDS)).items()
                if eid == self.me
            }
        data = answers_workbook(rows, questions, extracted, self.words)
        name = f"{found.cycle}/answers_{found.cycle}.xlsx"
        self.add(name, data, self.words["answers"], self.time(utc_mtime(path)), ANSWERS_NAME)

    # -- the archive and the deletion log ----------------------------------------------------

    def add_sealed(self, cycle: int) -> None:
        """Add the person's sealed minutes and follow-ups of one cycle."""
        archive = Archive(self.workspace.output_dir / "archive" / str(cycle))
        entries: list[ManifestEntry] = archive.read_manifest()[0]
        for entry in entries:
            if entry.employee_id != self.me:
                continue
            path = archive.resolve(entry.path)
            if not path.is_file():
                continue
            what = self.words.get(entry.kind, entry.kind)
            self.add(
                f"archive/{cycle}/{path.name}",
                path.read_bytes(),
                what,
                self.time(entry.sealed_at or entry.archived_at),
                self.words["sealed"],
            )

    def add_deletions(self) -> None:
        """Add the deletion log's lines about the person (no names, no paths in them)."""
        lines = [asdict(d) for d in DeletionLog(self.workspace.output_dir).entries()]
        mine = [line for line in lines if line["employee_id"] == self.me]
        if mine:
            data = json.dumps(mine, ensure_ascii=False, indent=2).encode("utf-8")
            self.add("deletions.json", data, self.words["deletions"], "", "deletions.jsonl")

    # -- writing -----------------------------------------------------------------------------

    def index(self) -> str:
        """Return the readable index in the person's language."""
        words = self.words
        organisation = self.workspace.config().organisation
        lines = [
            words["title"].format(id=self.me, organisation=organisation),
            words["made"].format(time=self.time(self.now)),
            "",
        ]
        groups: dict[str, list[Item]] = {}
        for item in self.items:
            groups.setdefault(item.name.split("/")[0], []).append(item)
        cycles = sorted({*self.cycles, *self.notes})
        for cycle in cycles:
            lines += self.section(words["cycle"].format(cycle=cycle), groups.get(str(cycle), []))
            lines += [f"  {note}" for note in self.notes.get(cycle, [])] + [""]
        if groups.get("archive"):
            lines += self.section(words["archive"], groups["archive"]) + [""]
        for item in groups.get("deletions.json", []):
            lines += self.section("", [item])
        return "\n".join(lines).rstrip("\n") + "\n"

    def section(self, title: str, items: list[Item]) -> list[str]:
        """Return the index lines of one section."""
        words = self.words
        lines = [f"== {title} ==", ""] if title else []
        for item in items:
            lines.append(f"- {item.name}")
            lines.append(f"  {words['what']}: {item.what}")
            if item.when:
                lines.append(f"  {words['when']}: {item.when}")
            lines.append(f"  {words['source']}: {item.source}")
        return lines

    def zip_bytes(self) -> bytes:
        """Return the zip: the index first, then every file."""
        buffer = io.BytesIO()
        stamp = self.now.timetuple()[:6]
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            entries = [(self.words["index"], self.index().encode("utf-8"))]
            entries += [(item.name, item.data) for item in self.items]
            seen: set[str] = set()
            for name, data in entries:
                name = unique_name(name, seen)
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                archive.writestr(info, data)
        return buffer.getvalue()


def unique_name(name: str, seen: set[str]) -> str:
    """Return ``name``, or ``name-2`` … when the zip already holds it."""
    candidate, number = name, 1
    while candidate in seen:
        number += 1
        stem, dot, suffix = name.rpartition(".")
        candidate = f"{stem}-{number}.{suffix}" if dot else f"{name}-{number}"
    seen.add(candidate)
    return candidate


def language_of(workspace: Workspace, employee_id: str, roster: Roster | None) -> str:
    """Return the person's language: the roster's, else that of the forms made for them."""
    person = roster.by_id.get(employee_id) if roster else None
    if person:
        return person.language if person.language in WORDS else DEFAULT_LANGUAGE
    for cycle in reversed(held_cycles(workspace)):
        path = workspace.output_dir / str(cycle) / LEDGER_NAME
        if path.exists():
            with Ledger(path) as ledger:
                form = ledger.form(employee_id, "employee")
            if form and form.language in WORDS:
                return form.language
    return DEFAULT_LANGUAGE


def utc_mtime(path: Path) -> dt.datetime:
    """Return a file's modification time in UTC."""
    return dt.datetime.fromtimestamp(int(path.stat().st_mtime), dt.UTC)


def answers_workbook(rows: dict, questions: dict, extracted: dict, words: dict) -> bytes:
    """Return a workbook with one sheet per form kind: field, question, answer, HR's change."""
    book = Workbook()
    book.remove(book.active)
    for kind, row in rows.items():
        sheet = book.create_sheet(kind)
        sheet.append(list(words["columns"]))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for key, value in row.items():
            if key in FIXED_COLUMNS:
                sheet.append([key, "", shown(value), "", ""])
                continue
            before = extracted.get((kind, key), value)
            changed = normalize(before) != normalize(value)
            sheet.append(
                [
                    key,
                    questions.get((kind, key), ""),
                    shown(value),
                    words["yes"] if changed else "",
                    shown(before) if changed else "",
                ]
            )
        for column, width in zip("ABCDE", (24, 50, 60, 14, 60), strict=True):
            sheet.column_dimensions[column].width = width
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                cell.data_type = "s" if isinstance(cell.value, str) else cell.data_type
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def shown(value) -> object:
    """Return a cell value as the access workbook shows it (text stays text, never a formula)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)
