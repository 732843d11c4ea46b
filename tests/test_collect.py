"""Tests for pipeline/collect.py: returned forms in, newest version wins, answers workbook out."""

import datetime as dt
import email.policy
import hashlib
import os
import shutil
import tempfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.commands import collect as collect_module
from pipeline.commands.collect import FormKeys, collect_returned
from pipeline.commands.generate import generate_forms
from pipeline.domain.record import cycle_record
from pipeline.errors import WorkspaceError
from pipeline.state.ledger import Ledger
from pipeline.state.workspace import Workspace
from testkit.simulate import fields_of, fill_form

from .conftest import CYCLE, ROOT
from .outlook_files import Mail, msg_file, tnef_file


def form_bytes(workspace, employee_id: str, kind: str) -> bytes:
    """Return the generated form of one employee and kind."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        record = ledger.form(employee_id, kind)
    return (workspace.output_dir / str(CYCLE) / record.path).read_bytes()


def answers_for(data: bytes, text: str) -> dict[str, str | bool]:
    """Return an answer for every field: ``text`` plus the key in text fields, fixed choices."""
    answers: dict[str, str | bool] = {}
    for field in fields_of(data):
        if field.type == "checkbox":
            answers[field.key] = True
        elif field.type == "dropdown":
            answers[field.key] = field.options[-1]
        elif field.type == "date":
            answers[field.key] = f"{CYCLE}-01-20"
        else:
            answers[field.key] = f"{text} ({field.key})"
    return answers


def put_filled(
    folder: Path, name: str, workspace, employee_id: str, kind: str, text: str, when=None
) -> dict:
    """Write a filled form into ``folder`` (with the given modification time); return answers."""
    sent = form_bytes(workspace, employee_id, kind)
    answers = answers_for(sent, text)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fill_form(sent, answers))
    if when is not None:
        stamp = dt.datetime(*when, tzinfo=dt.UTC).timestamp()
        os.utime(path, (stamp, stamp))
    return answers


def workbook_rows(workspace, kind: str) -> dict[str, dict[str, object]]:
    """Return one form kind's sheet of answers.xlsx: row values by employee id and column key."""
    book = openpyxl.load_workbook(workspace.answers_path(CYCLE))
    rows = list(book[kind].iter_rows(values_only=True))
    keys = list(rows[0])
    return {str(row[0]): dict(zip(keys, row, strict=True)) for row in rows[1:]}


def ledger_rows(workspace) -> list[dict]:
    """Return every returned-file row of the ledger, sorted by SHA-256."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        rows = ledger.db.execute("SELECT * FROM returned_files ORDER BY sha256").fetchall()
    return [dict(row) for row in rows]


def form_status(workspace, employee_id: str, kind: str) -> str:
    """Return the ledger status of one generated form."""
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:
        return ledger.form(employee_id, kind).status


def empty_as_none(value):
    """Return None for an empty answer (the workbook leaves such cells blank)."""
    return None if value == "" else value


# -- end to end ------------------------------------------------------------------------------


def test_collect_fills_the_workbook_and_marks_forms_returned(generated_copy, tmp_path):
    source = tmp_path / "returned"
    sent = {
        ("1010", "employee"): put_filled(source, "a.docx", generated_copy, "1010", "employee", "A"),
        ("1010", "manager"): put_filled(source, "b.docx", generated_copy, "1010", "manager", "B"),
        ("1044", "employee"): put_filled(
            source, "c/d.docx", generated_copy, "1044", "employee", "=1+1 {{ employee.name }}"
        ),
    }
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert (report.found, report.new, report.already_collected) == (3, 3, 0)
    assert len(report.accepted) == 3 and report.quarantined == []
    for (employee_id, kind), answers in sent.items():
        row = workbook_rows(generated_copy, kind)[employee_id]
        assert row["status"] == "returned"
        assert {k: row[k] for k in answers} == answers
        assert form_status(generated_copy, employee_id, kind) == "returned"
    # answers are data: never a formula, never rendered as a template
    english = workbook_rows(generated_copy, "employee")["1044"]
    assert english["results"] == "=1+1 {{ employee.name }} (results)"
    book = openpyxl.load_workbook(generated_copy.answers_path(CYCLE))
    sheet = book["employee"]
    cells = [c for r in sheet.iter_rows() for c in r if c.value == english["results"]]
    assert cells and all(c.data_type == "s" for c in cells)
    missing = workbook_rows(generated_copy, "employee")["1011"]
    assert missing["status"] == "missing" and missing["results"] is None
    assert form_status(generated_copy, "1011", "employee") == "generated"


def test_a_missing_source_folder_is_an_error_with_the_fix(generated_copy, tmp_path):
    with pytest.raises(WorkspaceError, match="no such folder"):
        collect_returned(generated_copy, CYCLE, tmp_path / "finnes-ikke", workers=1)


# -- versions --------------------------------------------------------------------------------


def test_the_newest_version_wins_and_every_version_is_kept(generated_copy, tmp_path):
    source = tmp_path / "returned"
    # the newer file sorts first by name: the time decides, not the name
    newer = put_filled(
        source, "a-rettet.docx", generated_copy, "1012", "employee", "Ny", (CYCLE, 1, 25, 12)
    )
    put_filled(
        source, "b-første.docx", generated_copy, "1012", "employee", "Gammel", (CYCLE, 1, 20)
    )
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    row = workbook_rows(generated_copy, "employee")["1012"]
    assert row["results"] == newer["results"]
    assert row["status"] == "returned (2 versions)"
    assert row["source_file"] == "a-rettet.docx"
    (line,) = report.versions
    assert "1012" in line and "2 versions" in line and "a-rettet.docx" in line
    kept = sorted((generated_copy.cycle_dir(CYCLE) / "returned" / "1012").glob("employee_*"))
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in kept} == {
        hashlib.sha256((source / n).read_bytes()).hexdigest()
        for n in ("a-rettet.docx", "b-første.docx")
    }


def test_an_older_version_found_later_does_not_replace_the_newer(generated_copy, tmp_path):
    first, later = tmp_path / "uke1", tmp_path / "uke2"
    newer = put_filled(first, "x.docx", generated_copy, "1013", "manager", "Ny", (CYCLE, 1, 28))
    collect_returned(generated_copy, CYCLE, first, workers=1)
    put_filled(later, "x.docx", generated_copy, "1013", "manager", "Gammel", (CYCLE, 1, 10))
    report = collect_returned(generated_copy, CYCLE, later, workers=1)
    row = workbook_rows(generated_copy, "manager")["1013"]
    assert row["results"] == newer["results"] and row["status"] == "returned (2 versions)"
    assert any("2 versions" in line for line in report.versions)
    newest = put_filled(later, "y.docx", generated_copy, "1013", "manager", "Nyest", (CYCLE, 2, 1))
    collect_returned(generated_copy, CYCLE, later, workers=1)
    row = workbook_rows(generated_copy, "manager")["1013"]
    assert row["results"] == newest["results"] and row["status"] == "returned (3 versions)"


# -- re-runs and HR's edits ------------------------------------------------------------------


def test_collecting_the_same_folder_twice_changes_nothing(generated_copy, tmp_path):
    source = tmp_path / "returned"
    put_filled(source, "a.docx", generated_copy, "1010", "employee", "A", (CYCLE, 1, 20))
    put_filled(source, "b.docx", generated_copy, "1010", "employee", "B", (CYCLE, 1, 21))
    (source / "skannet.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    first = collect_returned(generated_copy, CYCLE, source, workers=1)
    workbook = generated_copy.answers_path(CYCLE)
    state = (workbook.read_bytes(), workbook.stat().st_mtime_ns)
    rows = ledger_rows(generated_copy)
    stored = sorted(p for p in generated_copy.cycle_dir(CYCLE).rglob("*") if p.is_file())
    second = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert (second.found, second.new, second.already_collected) == (3, 0, 3)
    assert second.accepted == [] and second.quarantined == [] and second.warnings == []
    assert ledger_rows(generated_copy) == rows
    assert (workbook.read_bytes(), workbook.stat().st_mtime_ns) == state
    assert sorted(p for p in generated_copy.cycle_dir(CYCLE).rglob("*") if p.is_file()) == stored
    assert second.workbook.updated_cells == 0
    assert len(first.versions) == 1 and second.versions == []  # nothing new to report


def test_copies_and_their_folders_are_flushed_before_the_ledger_names_them(
    generated_copy, tmp_path, monkeypatch
):
    from pipeline.state import files

    def whole_machine():
        raise AssertionError("os.sync() flushes every program's writes, not just ours")

    flushed: list[Path] = []
    real_sync_file, real_sync_folders = files._sync_file, files.sync_folders

    def noting_file(path):
        with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:  # not named yet
            assert not ledger.db.execute(
                "SELECT 1 FROM returned_files WHERE stored_path = ?",
                (str(Path(path).relative_to(generated_copy.cycle_dir(CYCLE))),),
            ).fetchall()
        flushed.append(Path(path))
        real_sync_file(path)

    def noting_folders(folders):
        folders = list(folders)
        flushed.extend(Path(folder) for folder in folders)
        real_sync_folders(folders)

    monkeypatch.setattr(os, "sync", whole_machine)
    monkeypatch.setattr(files, "_sync_file", noting_file)
    monkeypatch.setattr("pipeline.domain.intake.sync_folders", noting_folders)
    source = tmp_path / "returned"
    put_filled(source, "a.docx", generated_copy, "1010", "employee", "A")
    (source / "skannet.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    collect_returned(generated_copy, CYCLE, source, workers=1)
    cycle_dir = generated_copy.cycle_dir(CYCLE)
    stored = [cycle_dir / row["stored_path"] for row in ledger_rows(generated_copy)]
    assert len(stored) == 2
    for path in stored:
        assert path in flushed and path.parent in flushed
    assert cycle_dir / "returned" in flushed  # where the new folder 1010/ is named
    assert any(p.name.endswith(".reason.txt") for p in flushed)  # the quarantine note too


def set_cell(workspace, kind: str, employee_id: str, key: str, value: str) -> None:
    """Edit one answer cell of the workbook as HR would, and save it."""
    path = workspace.answers_path(CYCLE)
    book = openpyxl.load_workbook(path)
    sheet = book[kind]
    keys = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if str(row[0].value) == employee_id:
            row[keys.index(key)].value = value
    book.save(path)


def test_hr_edits_survive_a_later_collect(generated_copy, tmp_path):
    source = tmp_path / "returned"
    put_filled(source, "a.docx", generated_copy, "1014", "employee", "Svar", (CYCLE, 1, 20))
    collect_returned(generated_copy, CYCLE, source, workers=1)
    set_cell(generated_copy, "employee", "1014", "results", "Rettet av HR")
    put_filled(source, "b.docx", generated_copy, "1015", "employee", "Annen", (CYCLE, 1, 21))
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    rows = workbook_rows(generated_copy, "employee")
    assert rows["1014"]["results"] == "Rettet av HR"
    assert rows["1015"]["results"] == "Annen (results)"
    assert report.workbook.kept_hr_edits >= 1 and report.workbook.conflicts == []
    # a newer version with another answer: HR's value is kept and the conflict is reported
    put_filled(source, "c.docx", generated_copy, "1014", "employee", "Nyere", (CYCLE, 1, 30))
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    rows = workbook_rows(generated_copy, "employee")
    assert rows["1014"]["results"] == "Rettet av HR"
    assert rows["1014"]["strengths"] == "Nyere (strengths)"
    assert [(c.employee_id, c.key) for c in report.workbook.conflicts] == [("1014", "results")]
    assert all("Nyere" not in c.reason for c in report.workbook.conflicts)


# -- the round trip --------------------------------------------------------------------------

SPECIAL = st.sampled_from(
    ["æøå", "ÆØÅ", "😀", "👩‍👩‍👧", "&", "<", ">", '"', "'", "{{ x }}", "{% if a %}", "=1+1",
     "@SUM(A1)", "\n", "\n\n", "\t", " ", "  ", "–", "\u00a0"]
)  # fmt: skip
PLAIN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn"), whitelist_characters="\n\t"),
    max_size=25,
)
# The extractor drops trailing newlines (an empty last paragraph is not part of an answer).
ANSWER = st.lists(st.one_of(PLAIN, SPECIAL), max_size=8).map("".join).map(lambda s: s.rstrip("\n"))


@st.composite
def filled_answers(draw, fields) -> dict[str, str | bool]:
    """Draw an answer for every field of a form."""
    answers: dict[str, str | bool] = {}
    for field in fields:
        if field.type == "checkbox":
            answers[field.key] = draw(st.booleans())
        elif field.type == "dropdown":
            answers[field.key] = draw(st.sampled_from(field.options))
        elif field.type == "date":
            day = draw(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
            answers[field.key] = day.isoformat()
        else:
            answers[field.key] = draw(ANSWER)
    return answers


ROUND_TRIP_FORM = ("1044", "employee")


def round_trip(generated: Workspace, answers: dict) -> dict[str, object]:
    """Return the workbook row after collecting ``answers`` in a fresh copy of the workspace."""
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.at(Path(folder) / "ws")
        shutil.copytree(generated.root, workspace.root)
        source = Path(folder) / "returned"
        source.mkdir()
        sent = form_bytes(workspace, *ROUND_TRIP_FORM)
        (source / "svar.docx").write_bytes(fill_form(sent, answers))
        report = collect_returned(workspace, CYCLE, source, workers=1)
        assert len(report.accepted) == 1, report.quarantined
        return workbook_rows(workspace, ROUND_TRIP_FORM[1])[ROUND_TRIP_FORM[0]]


def test_round_trip_keeps_exactly_what_was_typed(generated):
    fields = fields_of(form_bytes(generated, *ROUND_TRIP_FORM))

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(answers=filled_answers(fields))
    def check(answers):
        row = round_trip(generated, answers)
        assert {k: row[k] for k in answers} == {k: empty_as_none(v) for k, v in answers.items()}

    check()


def test_collect_without_the_workspace_secret_stops_with_the_fix(generated_copy, tmp_path):
    from pipeline.errors import WorkspaceError

    (generated_copy.root / ".samtale" / "secret.key").unlink()
    (tmp_path / "inn").mkdir()
    with pytest.raises(WorkspaceError, match="Restore it from your backup"):
        collect_returned(generated_copy, CYCLE, tmp_path / "inn")
    assert not (generated_copy.root / ".samtale" / "secret.key").exists()


def test_a_form_quarantined_for_a_lost_secret_is_let_in_once_it_is_restored(
    generated_copy, tmp_path
):
    from testkit.simulate import fields_of, fill_form, invented_answers

    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        record = ledger.form("1010", "employee")
    sent = (generated_copy.cycle_dir(CYCLE) / record.path).read_bytes()
    folder = tmp_path / "inn"
    folder.mkdir()
    answers = invented_answers(fields_of(sent), "nb", "x", CYCLE)
    (folder / "skjema.docx").write_bytes(fill_form(sent, answers))
    secret = generated_copy.root / ".samtale" / "secret.key"
    kept = secret.read_bytes()
    secret.write_text("ab" * 32 + "\n")  # the wrong key, as after a bad restore
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:  # a ledger that kept no identities
        ledger.db.execute("DELETE FROM issued_identities")
    first = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert first.accepted == [] and len(first.quarantined) == 1
    again = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert again.quarantined == [] and again.already_collected == 1
    secret.write_bytes(kept)
    restored = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert len(restored.accepted) == 1
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        rows = ledger.db.execute("SELECT outcome FROM returned_files").fetchall()
    assert [r[0] for r in rows] == ["accepted"]


def test_copies_of_one_file_count_once_whichever_ledger_batch_they_fall_in(
    generated_copy, tmp_path, monkeypatch
):
    # One file per ledger transaction, and workers that screen every copy before the main
    # process records the first (as a pool running ahead does): a copy is recognised from the
    # ledger (recorded by an earlier batch), not from a set of digests of the run.
    import pipeline.commands.collect as collect_module
    from pipeline.domain.intake import KnownFiles
    from testkit.simulate import fields_of, fill_form, invented_answers

    monkeypatch.setattr(collect_module, "LEDGER_BATCH", 1)
    monkeypatch.setattr(KnownFiles, "__contains__", lambda self, sha256: False)
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        record = ledger.form("1010", "employee")
    sent = (generated_copy.cycle_dir(CYCLE) / record.path).read_bytes()
    filled = fill_form(sent, invented_answers(fields_of(sent), "nb", "x", CYCLE))
    folder = tmp_path / "inn"
    (folder / "b").mkdir(parents=True)
    for name in ("a.docx", "b/a (kopi).docx", "c.docx"):
        (folder / name).write_bytes(filled)
    report = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert (report.found, report.new, report.already_collected) == (3, 1, 2)
    assert report.accepted == ["a.docx (employee form of 1010)"]
    stored = list((generated_copy.cycle_dir(CYCLE) / "returned" / "1010").iterdir())
    assert len(stored) == 1  # the copies' copies were removed again


def test_a_restored_form_saved_twice_is_let_in_once(generated_copy, tmp_path, monkeypatch):
    import pipeline.commands.collect as collect_module
    from testkit.simulate import fields_of, fill_form, invented_answers

    monkeypatch.setattr(collect_module, "LEDGER_BATCH", 1)
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        record = ledger.form("1010", "employee")
    sent = (generated_copy.cycle_dir(CYCLE) / record.path).read_bytes()
    filled = fill_form(sent, invented_answers(fields_of(sent), "nb", "x", CYCLE))
    folder = tmp_path / "inn"
    folder.mkdir()
    (folder / "skjema.docx").write_bytes(filled)
    secret = generated_copy.root / ".samtale" / "secret.key"
    kept = secret.read_bytes()
    secret.write_text("ab" * 32 + "\n")  # the wrong key, as after a bad restore
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        ledger.db.execute("DELETE FROM issued_identities")
    assert len(collect_returned(generated_copy, CYCLE, folder, workers=1).quarantined) == 1
    (folder / "skjema igjen.docx").write_bytes(filled)  # saved once more meanwhile
    secret.write_bytes(kept)
    restored = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert len(restored.accepted) == 1 and restored.already_collected == 1
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        rows = ledger.db.execute("SELECT outcome FROM returned_files").fetchall()
    assert [r[0] for r in rows] == ["accepted"]


def test_the_document_save_time_decides_which_version_is_newest(generated_copy, tmp_path):
    from pipeline.formats import ooxml

    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        record = ledger.form("1010", "employee")
    sent = (generated_copy.cycle_dir(CYCLE) / record.path).read_bytes()

    def saved(data: bytes, when: str) -> bytes:
        core = (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            "</cp:coreProperties>"
        )
        return ooxml.replace_part(data, ooxml.CORE_PART, core.encode())

    folder = tmp_path / "inn"
    folder.mkdir()
    older = saved(fill_form(sent, {"results": "Første utkast"}), "2027-01-05T09:00:00Z")
    newer = saved(fill_form(sent, {"results": "Endelig svar"}), "2027-01-18T09:00:00Z")
    (folder / "b-lagret-fra-outlook-senere.docx").write_bytes(older)
    (folder / "a-ny.docx").write_bytes(newer)
    os.utime(folder / "b-lagret-fra-outlook-senere.docx", (2_000_000_000, 2_000_000_000))
    collect_returned(generated_copy, CYCLE, folder, workers=1)
    sheet = openpyxl.load_workbook(generated_copy.answers_path(CYCLE))["employee"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "1010")
    assert row[header.index("results")] == "Endelig svar"


def test_collect_says_where_returned_minutes_stand(generated_copy, tmp_path):
    from pipeline.commands.minutes import prepare_minutes

    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        prep = {k: ledger.form("1010", k) for k in ("employee", "manager")}
    folder = tmp_path / "inn"
    folder.mkdir()
    for kind, record in prep.items():
        sent = (generated_copy.cycle_dir(CYCLE) / record.path).read_bytes()
        (folder / f"{kind}.docx").write_bytes(fill_form(sent, {"results": "Godt år"}))
    collect_returned(generated_copy, CYCLE, folder, workers=1)
    prepare_minutes(generated_copy, CYCLE)
    with Ledger(generated_copy.ledger_path(CYCLE)) as ledger:
        minutes = ledger.form("1010", "minutes")
    sent = (generated_copy.cycle_dir(CYCLE) / minutes.path).read_bytes()
    (folder / "referat.docx").write_bytes(fill_form(sent, {"manager_confirmed": True}))
    report = collect_returned(generated_copy, CYCLE, folder, workers=1)
    assert report.minutes == ["minutes of 1010: waiting for the employee's confirmation"]


# -- Outlook's own files ---------------------------------------------------------------------


def outlook_reply(sender: tuple[str, str], day: int, attachments: dict[str, bytes]) -> Mail:
    """Return an Outlook reply sent on ``day`` of January at 08:30 Oslo time."""
    sent = dt.datetime(CYCLE, 1, day, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    return Mail(sender, sent, "SV: Medarbeidersamtale", attachments)


def winmail_email(sender: str, winmail: bytes) -> bytes:
    """Return an email whose attachments Outlook packed into a winmail.dat."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["Date"] = f"Fri, 22 Jan {CYCLE} 14:00:00 +0100"
    message["Subject"] = "SV: Medarbeidersamtale"
    message.set_content("Se vedlegg.\n")
    message.add_attachment(
        winmail, maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    return message.as_bytes()


def test_forms_inside_outlook_files_are_collected_with_sender_and_date(generated_copy, tmp_path):
    source = tmp_path / "returned"
    source.mkdir()
    sent = {}
    for employee_id, kind in (("1024", "employee"), ("1025", "manager"), ("1026", "employee")):
        form = form_bytes(generated_copy, employee_id, kind)
        sent[employee_id] = answers_for(form, f"Svar {employee_id}")
        sent[f"{employee_id}-file"] = fill_form(form, sent[employee_id])
    marit = ("Marit Sæther-Lie", "marit.saether-lie@fjordlys.example")
    dragged = outlook_reply(marit, 20, {"skjema.docx": sent["1024-file"]})
    (source / "Svar fra Marit.msg").write_bytes(msg_file(dragged))
    leader = ("Per Ødegård", "per.odegard@fjordlys.example")
    winmail = outlook_reply(leader, 21, {"leder 1025.docx": sent["1025-file"]})
    (source / "winmail.dat").write_bytes(tnef_file(winmail))
    packed = tnef_file(Mail(("", ""), None, "", {"mitt skjema.docx": sent["1026-file"]}))
    (source / "svar.eml").write_bytes(winmail_email("Åse <ase@fjordlys.example>", packed))

    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert report.quarantined == [] and report.emails_kept == 3
    assert sorted(report.accepted) == [
        "Svar fra Marit.msg → skjema.docx (employee form of 1024)",
        "svar.eml → winmail.dat → mitt skjema.docx (employee form of 1026)",
        "winmail.dat → leder 1025.docx (manager form of 1025)",
    ]
    for employee_id, kind in (("1024", "employee"), ("1025", "manager"), ("1026", "employee")):
        row = workbook_rows(generated_copy, kind)[employee_id]
        assert row["status"] == "returned"
        assert {k: row[k] for k in sent[employee_id]} == sent[employee_id]
    evidence = {r["source"]: (r["sender"], r["sent_at"]) for r in ledger_rows(generated_copy)}
    assert evidence["Svar fra Marit.msg → skjema.docx"] == (
        "Marit Sæther-Lie <marit.saether-lie@fjordlys.example>",
        f"{CYCLE}-01-20T07:30:00+00:00",
    )
    assert evidence["winmail.dat → leder 1025.docx"] == (
        "Per Ødegård <per.odegard@fjordlys.example>",
        f"{CYCLE}-01-21T07:30:00+00:00",
    )
    assert evidence["svar.eml → winmail.dat → mitt skjema.docx"] == (
        "Åse <ase@fjordlys.example>",
        f"{CYCLE}-01-22T13:00:00+00:00",
    )
    kept = sorted(
        p.name[13:] for p in (generated_copy.cycle_dir(CYCLE) / "returned" / "emails").iterdir()
    )
    assert kept == ["Svar_fra_Marit.msg", "svar.eml", "winmail.dat"]


def test_collect_reports_a_broken_outlook_file_in_plain_words(generated_copy, tmp_path):
    source = tmp_path / "returned"
    source.mkdir()
    form = fill_form(form_bytes(generated_copy, "1027", "employee"), {})
    whole = tnef_file(outlook_reply(("Kari", "kari@fjordlys.example"), 20, {"s.docx": form}))
    (source / "winmail.dat").write_bytes(whole[: len(whole) // 3])
    (source / "tom.msg").write_bytes(b"")
    args = ["--workspace", str(generated_copy.root), "collect", "--cycle", str(CYCLE)]
    result = CliRunner().invoke(cli, [*args, "--from", str(source), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (
        "Quarantined: winmail.dat: an Outlook winmail.dat that could not be read (damaged); ask "
        "the sender to send the filled form again as a Word attachment"
    ) in result.output
    assert "Quarantined: tom.msg: an Outlook message (.msg) that could not be read" in result.output
    assert "Traceback" not in result.output and "Error" not in result.output


# -- a lost workspace key -------------------------------------------------------------------------


def run_cli(workspace, *args: str):
    """Return the result of ``samtale --workspace WORKSPACE ARGS``."""
    return CliRunner().invoke(cli, ["--workspace", str(workspace.root), *args])


def test_generate_never_replaces_a_lost_key_behind_hrs_back(generated_copy):
    key = generated_copy.root / ".samtale" / "secret.key"
    key.unlink()
    result = run_cli(generated_copy, "generate", "--cycle", str(CYCLE), "--workers", "1")
    assert result.exit_code == 1, result.output
    assert f"already issued forms (cycle {CYCLE})" in result.stderr
    assert "Restore it from your backup" in result.stderr
    assert "samtale generate --new-key" in result.stderr
    assert not key.exists()  # nothing was made behind HR's back
    (generated_copy.input_dir / "returned").mkdir()
    collect = run_cli(generated_copy, "collect", "--cycle", str(CYCLE))
    assert collect.exit_code == 1 and "Restore it from your backup" in collect.stderr


def test_forms_issued_before_a_lost_key_stay_genuine_after_new_key(generated_copy, tmp_path):
    returned = generated_copy.input_dir / "returned"
    before = put_filled(returned, "før.docx", generated_copy, "1013", "employee", "Før")
    (generated_copy.root / ".samtale" / "secret.key").unlink()
    args = ["generate", "--cycle", str(CYCLE), "--workers", "1", "--new-key"]
    result = run_cli(generated_copy, *args)
    assert result.exit_code == 0, result.output
    report = collect_returned(generated_copy, CYCLE, returned, workers=1)
    assert report.quarantined == [] and len(report.accepted) == 1
    assert workbook_rows(generated_copy, "employee")["1013"]["results"] == before["results"]
    again = run_cli(generated_copy, *args)  # the key exists now: --new-key is refused
    assert again.exit_code == 1 and "the key is not lost" in again.stderr


def test_forms_written_with_a_new_key_stay_genuine_when_the_old_key_is_restored(generated_copy):
    key = generated_copy.root / ".samtale" / "secret.key"
    old = key.read_bytes()
    key.unlink()
    args = ["generate", "--cycle", str(CYCLE), "--workers", "1", "--new-key", "--force"]
    assert run_cli(generated_copy, *args).exit_code == 0  # every form rewritten, new key
    returned = generated_copy.input_dir / "returned"
    put_filled(returned, "etter.docx", generated_copy, "1013", "employee", "Etter")
    key.unlink()
    key.write_bytes(old)  # the backup turned up after all
    report = collect_returned(generated_copy, CYCLE, returned, workers=1)
    assert report.quarantined == [] and len(report.accepted) == 1


def test_a_form_showing_another_employee_than_its_identity_goes_to_quarantine(
    generated_copy, tmp_path
):
    # Issue 9: 1003's filled form with 1044's identity put into it (properties and footer).
    from pipeline.formats import ooxml
    from pipeline.state.identity import PROPERTY

    mine = form_bytes(generated_copy, "1003", "employee")
    theirs = form_bytes(generated_copy, "1044", "employee")

    def token_of(data: bytes) -> str:
        package = ooxml.read_package(data, wanted=(ooxml.CUSTOM_PART,))
        return ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))[PROPERTY]

    package = ooxml.read_package(mine)
    changed = {ooxml.CUSTOM_PART: ooxml.custom_properties_xml({PROPERTY: token_of(theirs)})}
    for name in ooxml.header_footer_parts(package.names):
        changed[name] = package.parts[name].replace(
            token_of(mine).encode(), token_of(theirs).encode()
        )
    folder = tmp_path / "in"
    folder.mkdir()
    filled = fill_form(mine, answers_for(mine, "Svar fra 1003"))
    (folder / "skjema.docx").write_bytes(ooxml.with_parts(filled, changed))
    report = collect_returned(generated_copy, CYCLE, folder)
    assert report.accepted == []
    ((source, reason),) = report.quarantined
    assert source == "skjema.docx"
    assert "employee 1003" in reason and "employee 1044" in reason
    (row,) = ledger_rows(generated_copy)
    assert row["outcome"] == "quarantined" and row["employee_id"] is None
    assert (generated_copy.cycle_dir(CYCLE) / row["stored_path"]).read_bytes() == (
        folder / "skjema.docx"
    ).read_bytes()


# -- filled in real LibreOffice (issue 9: 26 of 26 pasted answers were lost in LibreOffice 25) --


def filling_in_libreoffice(sent: bytes, who: str) -> tuple[list[dict], dict[str, str], set[str]]:
    """Return a person's actions answering every free-text field of a form in LibreOffice (click
    on the prompt, then type or paste, in turn), the answers expected back, and the keys pasted.
    """
    from pipeline.formats.extract import sent_form

    actions, expected, pasted = [], {}, set()
    specs = [spec for spec in sent_form(sent).fields if spec.type == "richtext"]
    for number, spec in enumerate(specs):
        text = f"{who} svarer på {spec.key}: blåbær – «sitat» & <ost> =1+1"
        if number % 3 == 1:
            text += "\nAndre avsnitt, med æøå"
        do = "paste_over" if number % 2 else "type_over"
        actions.append({"cell": spec.placeholder, "do": do, "text": text})
        expected[spec.key] = text
        if do == "paste_over":
            pasted.add(spec.key)
    return actions, expected, pasted


def still_flagged(saved: bytes) -> set[str]:
    """Return the keys of the controls that say they show their placeholder."""
    from pipeline.formats import ooxml

    package = ooxml.read_package(saved, wanted=(ooxml.DOCUMENT_PART,))
    root = ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART])
    return {
        ooxml.attr_val(props, ooxml.w("tag"))
        for props in root.iter(ooxml.W_SDTPR)
        if props.find(ooxml.W_SHOWING) is not None
    }


@pytest.mark.libreoffice
@pytest.mark.slow
def test_answers_typed_and_pasted_in_libreoffice_come_back_exactly(generated_copy, tmp_path):
    from pipeline.formats import ooxml
    from pipeline.formats.extract import identify

    from .in_libreoffice import fill_in_libreoffice, libreoffice_major

    source = tmp_path / "returned"
    source.mkdir()
    expected, pasted, saved = {}, {}, {}
    for kind, who in (("employee", "Bjørn-Åge"), ("manager", "Lederen")):
        sent = form_bytes(generated_copy, "1003", kind)
        actions, expected[kind], pasted[kind] = filling_in_libreoffice(sent, who)
        saved[kind] = fill_in_libreoffice(sent, actions, tmp_path / kind)
        (source / f"{kind}-1003.docx").write_bytes(saved[kind])
    if libreoffice_major() >= 25:  # what lost the pasted answers before: the flag stays set
        for kind in expected:
            assert still_flagged(saved[kind]) >= pasted[kind]
    report = collect_returned(generated_copy, CYCLE, source, workers=1)
    assert len(report.accepted) == 2 and report.quarantined == []
    assert not any("fixed text" in w or "outside the fields" in w for w in report.warnings)
    compared = matched = 0
    for kind, answers in expected.items():
        row = workbook_rows(generated_copy, kind)["1003"]
        compared += len(answers)
        matched += sum(row[key] == text for key, text in answers.items())
        assert {key: row[key] for key in answers} == answers
    assert matched == compared >= 30 and sum(map(len, pasted.values())) >= 15
    # the identity lines of the footers (LibreOffice 25 saves three) identify the form alone
    package = ooxml.read_package(saved["employee"], headers_footers=True)
    footers = [n for n in package.names if n.startswith("word/footer")]
    assert len(footers) == (3 if libreoffice_major() >= 25 else 1)
    without = ooxml.replace_part(
        saved["employee"], ooxml.CUSTOM_PART, ooxml.custom_properties_xml({})
    )
    identity, _, _ = identify(without, generated_copy.secret())
    assert (identity.employee_id, identity.kind) == ("1003", "employee")


def test_form_keys_hold_pairs_as_sets_of_ids_per_kind():
    keys = FormKeys()
    for pair in [
        ("1010", "employee"),
        ("1010", "manager"),
        ("1011", "employee"),
        ("1010", "employee"),
    ]:
        keys.add(pair)
    assert ("1010", "manager") in keys and ("1011", "manager") not in keys
    assert "1010" not in keys and ("1010",) not in keys
    assert sorted(keys) == [("1010", "employee"), ("1010", "manager"), ("1011", "employee")]
    assert len(keys) == 3


def test_a_newer_choice_counts_even_when_its_value_is_part_of_the_older_one(workspace, tmp_path):
    # Last year's agreements come with a status list: "achieved" is no part of "not_achieved"
    # cut away, and a value picked from a list is a choice that counts as the newest one.
    previous = workspace.input_dir / "answers-2026.xlsx"
    shutil.copy(ROOT / "input" / "answers-2026.xlsx", previous)
    generate_forms(workspace, CYCLE, previous_path=previous, workers=1)
    employee_id, sent, field, older, newer = next(
        (employee_id, sent, f, long, short)
        for employee_id in ("1010", "1011", "1012", "1013", "1014", "1015")
        for sent in [form_bytes(workspace, employee_id, "employee")]
        for f in fields_of(sent)
        if f.type == "dropdown"
        for long in f.options
        for short in f.options
        if short and short != long and short in long
    )
    source = tmp_path / "returned"
    source.mkdir()
    for name, value, day in (("a.docx", older, 20), ("b.docx", newer, 25)):
        answers = {**answers_for(sent, "Svar"), field.key: value}
        (source / name).write_bytes(fill_form(sent, answers))
        stamp = dt.datetime(CYCLE, 1, day, tzinfo=dt.UTC).timestamp()
        os.utime(source / name, (stamp, stamp))
    report = collect_returned(workspace, CYCLE, source, workers=1)
    row = workbook_rows(workspace, "employee")[employee_id]
    assert row[field.key] == newer and row["source_file"] == "b.docx"
    assert not any("would clear or shorten" in line for line in report.versions)
    with Ledger(workspace.ledger_path(CYCLE)) as ledger:  # the record later steps read agrees
        record = cycle_record(ledger, workspace.answers_path(CYCLE))
    assert record[(employee_id, "employee")].answers[field.key] == newer


def test_the_workbook_is_written_again_when_the_version_rule_changes(
    generated_copy, tmp_path, monkeypatch
):
    put_filled(tmp_path / "in", "a.docx", generated_copy, "1010", "employee", "A", (CYCLE, 1, 20))
    collect_returned(generated_copy, CYCLE, tmp_path / "in", workers=1)
    path = generated_copy.answers_path(CYCLE)
    before = path.stat().st_mtime_ns
    assert collect_returned(generated_copy, CYCLE, tmp_path / "in", workers=1)
    assert path.stat().st_mtime_ns == before  # nothing changed: the workbook is left alone
    monkeypatch.setattr(collect_module, "RULE_VERSION", 999)  # an upgrade changed the rule
    collect_returned(generated_copy, CYCLE, tmp_path / "in", workers=1)
    assert path.stat().st_mtime_ns != before
