"""Which returned version of a form counts: the rule every stage that reads answers shares.

The rule, written down once:

* A version with no answer filled (a blank re-save, or a copy of the form as it was sent) is
  "returned unfilled": it never replaces a filled version, and a form with nothing else back
  does not count as returned.
* Otherwise the newest filled version counts (by the document's save time, then arrival).
* Automation never wipes an answer: where the newest version leaves a field empty, or holds only
  part of the text an older version had, the older answer is kept and a note names the field
  and both files (never the text). A value picked from a list field is a choice, never a cut
  text ("achieved" is no part of "not_achieved" taken away). HR chooses the newest file as it
  is with ``samtale collect --use FILE``; that choice is stored and wins until another is made.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from pipeline.domain.questions import sent_questions
from pipeline.state.ledger import Ledger, ReturnedVersion

USE_HINT = "to use the newest file as it is: samtale collect --use {path}"
RULE_VERSION = 2  # one up whenever the rule changes: the answers workbook is written again
LIST_TYPES = ("dropdown", "combobox")
ListValues = Mapping[tuple[str, str], Collection[str]]  # (kind, key) → the list's values


@dataclass(frozen=True)
class KeptAnswer:
    """One field where an older version's answer was kept over the newest version's."""

    key: str
    kept_from: str  # stored path of the version whose answer is kept
    newest: str  # stored path of the newest version
    why: str  # "empty" | "shortened"


def is_unfilled(version: ReturnedVersion) -> bool:
    """Return True when the version has no answer filled in (all empty, unticked or unset)."""
    return all(value in (None, "", False) for value in version.answers.values())


def newest_versions(
    versions: list[ReturnedVersion],
    notes: list[str] | None = None,
    touched: set | None = None,
    chosen: dict[tuple[str, str], str] | None = None,
    lists: ListValues | None = None,
) -> dict[tuple[str, str], ReturnedVersion]:
    """Return the version that counts per (employee id, kind), its answers never wiped."""
    # A note goes to ``notes`` for each form returned more than once (only forms in ``touched``,
    # when given: those that got a new version in this run). ``chosen`` maps a form to the
    # stored path of the version HR chose with ``collect --use``. ``lists``: the values of the
    # forms' list fields (``lists_of``), each a choice that never counts as a cut answer.
    winners = {}
    for key, group in sorted(grouped(versions).items()):
        choice = (chosen or {}).get(key)
        winner, kept = pick(group, choice, lists or {})
        winners[key] = winner
        if notes is not None and (touched is None or key in touched):
            notes.extend(version_notes(key, group, winner, kept, choice))
    return winners


def grouped(versions: list[ReturnedVersion]) -> dict[tuple[str, str], list[ReturnedVersion]]:
    """Return the versions per (employee id, kind), oldest first."""
    groups: dict[tuple[str, str], list[ReturnedVersion]] = {}
    for version in versions:
        groups.setdefault((version.employee_id, version.kind), []).append(version)
    for group in groups.values():
        group.sort(key=version_order)
    return groups


def pick(
    group: list[ReturnedVersion], choice: str | None, lists: ListValues
) -> tuple[ReturnedVersion, list[KeptAnswer]]:
    """Return the version that counts (answers merged as the rule says) and the kept answers."""
    chosen = [v for v in group if v.stored_path == choice]
    if chosen:
        return chosen[-1], []
    filled = [v for v in group if not is_unfilled(v)]
    if not filled:
        return group[-1], []
    newest = filled[-1]
    answers, kept = dict(newest.answers), []
    for key, value in newest.answers.items():
        if value and isinstance(value, str) and value in lists.get((newest.kind, key), ()):
            continue  # picked from the list: a choice, whatever an older version picked
        older = next((v for v in reversed(filled[:-1]) if lost(value, v.answers.get(key))), None)
        if older is not None:
            answers[key] = older.answers[key]
            why = "empty" if value in (None, "", False) else "shortened"
            kept.append(KeptAnswer(key, older.stored_path, newest.stored_path, why))
    return (replace(newest, answers=answers) if kept else newest), kept


def lost(newer: object, older: object) -> bool:
    """Return True when ``newer`` would wipe or cut ``older``: empty now, or only part of it."""
    if older in (None, "", False) or newer == older:
        return False
    if newer in (None, "", False):
        return True
    if isinstance(newer, str) and isinstance(older, str):
        shorter, longer = " ".join(newer.split()), " ".join(older.split())
        return len(shorter) < len(longer) and shorter in longer
    return False


def version_notes(key, group, winner, kept: list[KeptAnswer], choice) -> list[str]:
    """Return the notes HR reads about a form's versions (fields and files, never answers)."""
    employee_id, kind = key[0], key[1]
    label = f"{kind} form of {employee_id}"
    notes = []
    if choice and winner.stored_path == choice:
        notes.append(f"{label}: {len(group)} version(s); HR chose {choice}, used as it is")
    elif len(group) > 1:
        unfilled = sum(is_unfilled(v) for v in group)
        blank = f" ({unfilled} returned unfilled, not used)" if unfilled else ""
        notes.append(
            f"{label}: {len(group)} versions kept{blank}; the newest filled one "
            f"({winner.source}, {winner.returned_at}) is used"
        )
    if kept:
        fields = ", ".join(f"{k.key} ({k.why}, kept from {k.kept_from})" for k in kept)
        hint = USE_HINT.format(path=kept[0].newest)
        notes.append(
            f"{label}: the newest file {kept[0].newest} would clear or shorten answers an "
            f"older file had; the filled answers are kept for {fields}; {hint}"
        )
    if is_unfilled(winner):
        notes.append(f"{label}: returned unfilled (no answer filled in); not counted as returned")
    return notes


def version_order(version: ReturnedVersion) -> tuple:
    """Return the sort key of a returned version: when it was last saved, then when it arrived."""
    # The document's own save time comes first (an attachment saved from Outlook weeks later
    # keeps it); versions that agree on it (or lack it) are ordered by arrival, then collection.
    return (version.saved_at, version.returned_at, version.order)


def counted_versions(
    versions: list[ReturnedVersion],
    chosen: dict[tuple[str, str], str] | None = None,
    notes: list[str] | None = None,
    touched: set | None = None,
    lists: ListValues | None = None,
) -> dict[tuple[str, str], ReturnedVersion]:
    """Return the versions that count as returned: winners that are not unfilled."""
    winners = newest_versions(versions, notes, touched, chosen, lists)
    return {key: version for key, version in winners.items() if not is_unfilled(version)}


def lists_of(ledger: Ledger) -> dict[tuple[str, str], frozenset]:
    """Return the values each list field of the ledger's forms offers, per (kind, key)."""
    return list_values(ledger.distinct_fields())


def list_values(fields_by_kind: Iterable[tuple[str, str]]) -> dict[tuple[str, str], frozenset]:
    """Return the values each list field offers, per (kind, key), from the forms' fields JSON."""
    # ``fields_by_kind``: the ledger's ``distinct_fields()``; every template a kind was
    # generated from adds its lists' values.
    found: dict[tuple[str, str], set[str]] = {}
    for kind, fields in fields_by_kind:
        for question in sent_questions(fields):
            if question.type in LIST_TYPES:
                found.setdefault((kind, question.key), set()).update(question.options)
    return {key: frozenset(values - {""}) for key, values in found.items()}
