"""Tests for pipeline/ledger.py: the cycle's SQLite state."""

import sqlite3
import stat
from dataclasses import replace

from pipeline.state.ledger import FormRecord, Ledger, batched


def record(employee_id: str = "1001", kind: str = "employee") -> FormRecord:
    """Return a form record with plausible values."""
    return FormRecord(
        employee_id,
        kind,
        f"forms/{employee_id}.docx",
        "ab" * 32,
        "cd" * 32,
        "0123456789ab",
        "nb",
        "[]",
        "generated",
        "2027-01-02T08:00:00+00:00",
        None,
    )


def test_the_ledger_and_its_side_files_are_owner_only(tmp_path):
    with Ledger(tmp_path / "cycle" / "ledger.sqlite") as ledger:
        ledger.record_form(record())
        files = list((tmp_path / "cycle").iterdir())
        assert {f.name for f in files} >= {"ledger.sqlite", "ledger.sqlite-wal"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "cycle").stat().st_mode) == 0o700


def test_forms_round_trip_and_handing_out_is_remembered(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.record_form(record())
        ledger.mark_handed_out("1001", "employee")
        stored = ledger.form("1001", "employee")
    assert stored.status == "sent" and stored.handed_out_at
    assert stored.outside_text == "[]"


def test_a_ledger_from_an_older_samtale_gets_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE forms (employee_id TEXT, kind TEXT, path TEXT, sha256 TEXT,"
        " inputs_hash TEXT, template_version TEXT, language TEXT, fields TEXT,"
        " status TEXT, generated_at TEXT, handed_out_at TEXT,"
        " PRIMARY KEY (employee_id, kind))"
    )
    db.commit()
    db.close()
    with Ledger(path) as ledger:
        ledger.record_form(record())
        columns = {row[1] for row in ledger.db.execute("PRAGMA table_info(returned_files)")}
        assert ledger.form("1001", "employee").outside_text == "[]"
        assert ledger.form("1001", "employee").manager_id is None  # not recorded back then
    assert "sender_id" in columns


def test_a_failed_transaction_leaves_nothing(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        try:
            with ledger.transaction():
                ledger.record_form(record())
                raise RuntimeError("crash")
        except RuntimeError:
            pass
        assert ledger.forms() == []


def test_batched():
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(batched([], 3)) == []


def test_the_forms_fields_are_read_again_only_after_forms_changed(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger, Ledger(path) as other:
        ledger.record_form(replace(record("1001"), fields='[{"key": "a"}]'))
        assert ledger.distinct_fields() == [("employee", '[{"key": "a"}]')]
        queries: list[str] = []
        ledger.db.set_trace_callback(queries.append)
        assert ledger.distinct_fields() == [("employee", '[{"key": "a"}]')]
        assert not [q for q in queries if "DISTINCT" in q]  # unchanged: not read again
        ledger.record_form(replace(record("1002"), fields='[{"key": "b"}]'))  # this connection
        assert len(ledger.distinct_fields()) == 2
        other.record_form(replace(record("1003", "manager"), fields='[{"key": "c"}]'))  # another
        assert ("manager", '[{"key": "c"}]') in ledger.distinct_fields()
        ledger.erase_employee("1003")
        assert ("manager", '[{"key": "c"}]') not in ledger.distinct_fields()
        with Ledger.reader(path) as reader:
            assert ("manager", '[{"key": "c"}]') not in reader.distinct_fields()
