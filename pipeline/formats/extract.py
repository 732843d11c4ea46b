"""Screen one returned Word file and read its answers, comparing it with the form that was sent.

Everything here works on bytes and plain data, so it can run in worker processes. Warnings name
the field or a paragraph position, never the answer text (answers are personal data).
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from pipeline.domain.questions import Question
from pipeline.errors import Rejected
from pipeline.formats import ooxml
from pipeline.state.identity import PROPERTY, FormIdentity, find_tokens, parse_token

WANTED_PARTS = (ooxml.DOCUMENT_PART, ooxml.CUSTOM_PART, ooxml.CORE_PART)
TICKED = {ooxml.CHECKED, "x", "true", "1", "ja", "yes"}
TEXT_TYPES = ("richtext", "text")  # LibreOffice 25 marks our rich text controls as plain text
MIN_SPLIT_PROMPT = 8  # a prompt typed into is recognised from this many characters on


@dataclass(frozen=True)
class SentForm:
    """What we know of a form as it was sent: its fields and the text outside them."""

    fields: tuple[Question, ...]  # the questions as the form was sent
    outside_text: tuple[str, ...]


@dataclass(frozen=True)
class Screened:
    """A returned file that passed the checks, with its answers and warnings."""

    identity: FormIdentity
    answers: dict[str, str | bool | None]
    warnings: tuple[str, ...] = ()
    saved_at: str = ""  # when the document says it was last saved ('' when it does not say)


@dataclass
class Extraction:
    """The answers found and what the screening noticed."""

    answers: dict[str, str | bool | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fixed_text: list[str] = field(default_factory=list)  # the text outside the fields, by line


def identify(
    data: bytes,
    secret: bytes,
    limits: ooxml.Limits = ooxml.DEFAULT_LIMITS,
    issued: Collection[str] = (),
):
    """Return (identity, package, document root) of a returned file; raise Rejected."""
    return identified(data, secret, limits, issued)[:3]


def identified(
    data: bytes,
    secret: bytes,
    limits: ooxml.Limits = ooxml.DEFAULT_LIMITS,
    issued: Collection[str] = (),
):
    """Return (identity, package, document root, embedded identity line or ''); raise Rejected."""
    package = ooxml.read_package(data, limits, wanted=WANTED_PARTS, headers_footers=True)
    if ooxml.DOCUMENT_PART not in package.parts:
        raise Rejected("not a Word document (no word/document.xml)", "not_docx")
    root = ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART], ooxml.DOCUMENT_PART)
    properties = ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))
    embedded = token = properties.get(PROPERTY, "")
    if not token:
        token = next(iter(shown_tokens(package)), "")
    if not token:
        raise Rejected(
            "the file carries no samtale form identity: it is not one of our forms "
            "(or was copied into a new document); ask for the form that was sent",
            "identity_missing",
        )
    return parse_token(token, secret, issued), package, root, embedded


def shown_tokens(package: ooxml.Package, embedded: str = "") -> list[str]:
    """Return the identity lines shown in the headers and footers (read with the package)."""
    # Parsing is skipped for a part whose raw XML holds only the ``embedded`` identity line
    # (the usual case); any other part that mentions samtale is read for its visible text.
    tokens = []
    for name in ooxml.header_footer_parts(list(package.parts)):
        data = package.parts[name]
        raw = find_tokens(data.decode("utf-8", "replace"))
        if raw and embedded and set(raw) == {embedded}:
            tokens += raw
        elif b"samtale" in data:
            tokens += find_tokens(ooxml.all_text(ooxml.parse_xml(data, name)))
    return tokens


def sent_form(data: bytes, fields: tuple[Question, ...] | None = None) -> SentForm:
    """Return the fields and fixed text of a form we generated (fields parsed when not given)."""
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    return sent_form_of_xml(package.parts[ooxml.DOCUMENT_PART], fields)


def sent_form_of_xml(document_xml: bytes, fields: tuple[Question, ...] | None = None) -> SentForm:
    """Return the fields and fixed text of a generated form's document.xml."""
    reader = ooxml.PartReader(ooxml.parse_xml(document_xml, ooxml.DOCUMENT_PART))
    found = reader.fields() if fields is None else []
    anchors: dict[str, int] = {}
    lines, rows = numbered_lines(reader.outside_text(anchors))
    if fields is None:
        fields = tuple(
            replace(
                f.question,
                anchor=line_index(rows, anchors[f.key]) if f.key in anchors else None,
            )
            for f in found
        )
    return SentForm(tuple(fields), tuple(lines))


def numbered_lines(paragraphs: list[str]) -> tuple[list[str], list[int]]:
    """Return the non-empty paragraphs with whitespace collapsed, and where each one was."""
    rows = [number for number, text in enumerate(paragraphs) if text.strip()]
    return [" ".join(paragraphs[number].split()) for number in rows], rows


def line_index(rows: list[int], paragraph: int) -> int:
    """Return how many non-empty lines come before paragraph number ``paragraph``."""
    return bisect.bisect_left(rows, paragraph)


def extract(root, sent: SentForm) -> Extraction:
    """Return the answers of a returned document, keyed by the sent form's keys, with warnings."""
    reader = ooxml.PartReader(root)
    found = [f for f in reader.fields() if f.type != "other"]
    matches = match_fields(sent.fields, found)
    result = Extraction()
    hidden: set[int] = set()
    paragraphs = reader.outside_text(hidden=hidden)
    result.fixed_text, rows = numbered_lines(paragraphs)
    changes = fixed_text_changes(sent.outside_text, result.fixed_text)
    recovered = lost_answers(sent.fields, matches, changes)
    for spec in sent.fields:
        key = spec.key
        returned = matches.get(key)
        if returned is None and key in recovered:
            first, last = recovered[key]
            place = range(rows[first], rows[last - 1] + 1)
            text = "\n".join(paragraphs[number] for number in place)
            returned = ooxml.Field(
                key, spec.title, spec.type, text, False, hidden_text=bool(hidden & set(place))
            )
            result.warnings.append(
                f"field {key!r} lost its content control (LibreOffice drops it when the prompt "
                "is typed over); its answer was read from the field's place in the form"
            )
        if returned is None:
            result.answers[key] = None
            result.warnings.append(
                f"field {key!r} was deleted from the form or cannot be told apart"
            )
            continue
        result.answers[key] = clean_value(spec, returned)
        if returned.hidden_text:
            result.warnings.append(
                f"field {key!r} holds hidden text (formatted as hidden): it is not part "
                "of the answer; open the returned file to see it"
            )
    read = matches.keys() | recovered.keys()
    empty = [k for k, v in result.answers.items() if v in (None, "") and k in read]
    if empty:
        result.warnings.append(f"{len(empty)} field(s) left empty: {', '.join(empty)}")
    used = set(recovered.values())
    result.warnings += fixed_text_warnings(
        [c for c in changes if not (c[0] == "insert" and (c[3], c[4]) in used)]
    )
    return result


def lost_answers(specs, matches: dict, changes: list[tuple]) -> dict[str, tuple[int, int]]:
    """Return, per text field whose control is gone, the returned lines typed in its place."""
    # The sent form knows how many fixed lines come before each field (its anchor); lines that
    # were inserted exactly there belong to the field, when no other lost field is there too.
    inserted = {a1: (b1, b2) for op, a1, _, b1, b2 in changes if op == "insert"}
    lost: dict[int, list[Question]] = {}
    for spec in specs:
        if spec.key not in matches and spec.anchor is not None:
            lost.setdefault(spec.anchor, []).append(spec)
    return {
        found[0].key: inserted[anchor]
        for anchor, found in lost.items()
        if len(found) == 1 and found[0].type in TEXT_TYPES and anchor in inserted
    }


def match_fields(specs: tuple[Question, ...], found: list[ooxml.Field]) -> dict[str, ooxml.Field]:
    """Return the returned control for each sent key: by tag, then title, then order per type."""
    keys = {spec.key for spec in specs}
    matches: dict[str, ooxml.Field] = {}
    rest = []
    for item in found:
        if item.key in keys and item.key not in matches:
            matches[item.key] = item
        else:
            rest.append(item)
    titles: dict[str, list[str]] = {}
    for spec in specs:
        titles.setdefault(spec.title, []).append(spec.key)
    unmatched = []
    for item in rest:
        candidates = (
            [k for k in titles.get(item.title, []) if k not in matches] if item.title else []
        )
        if len(candidates) >= 1 and item.key == "":
            matches[candidates[0]] = item
        else:
            unmatched.append(item)
    untagged = [f for f in unmatched if f.key == ""]
    for by_section in (True, False):
        match_by_order(specs, untagged, matches, by_section)
    return matches


def match_by_order(specs, untagged: list[ooxml.Field], matches: dict, by_section: bool) -> None:
    """Pair the keys still open with untagged controls of their type, in order."""
    # By section first (headings survive a re-save), then across the whole form; only where the
    # counts agree, so a deleted control never shifts answers onto the wrong question.
    taken = {id(item) for item in matches.values()}
    groups: dict[tuple[str, str], tuple[list[str], list[ooxml.Field]]] = {}
    for spec in specs:
        if spec.key not in matches:
            group = (kind_group(spec.type), spec.section if by_section else "")
            groups.setdefault(group, ([], []))[0].append(spec.key)
    for item in untagged:
        group = (kind_group(item.type), item.section if by_section else "")
        if id(item) not in taken and group in groups:
            groups[group][1].append(item)
    for keys, items in groups.values():
        if len(keys) != len(items):
            continue  # a control is missing: pairing by order would shift answers
        for key, item in zip(keys, items, strict=False):
            matches[key] = item


def kind_group(kind: str) -> str:
    """Return the type a control is paired by: rich and plain text count as one."""
    return "text" if kind in TEXT_TYPES else kind


def clean_value(spec: Question, returned: ooxml.Field) -> str | bool | None:
    """Return the answer of one field: its text without the placeholder prompt."""
    # The content decides, not the placeholder flag: LibreOffice 25 keeps w:showingPlcHdr on
    # text pasted into a field. The flag is only trusted when the sent form tells no prompt.
    value = returned.value
    if isinstance(value, bool):
        return value
    if spec.type == "checkbox":  # a checkbox that lost its type: only its glyph is left
        return (value or "").strip().lower() in TICKED
    text = (value or "").rstrip("\n")
    prompt = spec.placeholder
    if not prompt.strip():
        text = "" if returned.showing_placeholder else text
    elif spec.type in TEXT_TYPES:
        text = without_prompt(text, prompt)
    elif same_text(text, prompt):
        text = ""
    if spec.type in ("dropdown", "combobox") and spec.options:
        options = [o for o in spec.options if o]
        if text not in options and any(text.startswith(f"{o} ") for o in options):
            text = next(o for o in options if text.startswith(f"{o} "))
    return text


def same_text(text: str, other: str) -> bool:
    """Return True when two texts differ at most in whitespace."""
    return text.split() == other.split()


def without_prompt(text: str, prompt: str) -> str:
    """Return a text answer with the placeholder prompt taken out, wherever it was left."""
    # Typing next to an untouched prompt (before, after, in a new paragraph) leaves the prompt
    # whole in the answer cell; typing into it splits it around what was typed.
    prompt = prompt.strip()
    if not prompt:
        return text
    if same_text(text, prompt):
        return ""
    while prompt in text:
        before, _, after = text.partition(prompt)
        text = joined(before, after)
    if len(prompt) >= MIN_SPLIT_PROMPT and len(text) > len(prompt) and ends_alike(text, prompt):
        head = len(os.path.commonprefix([text, prompt]))
        tail = len(os.path.commonprefix([text[::-1], prompt[::-1]]))
        cut = max(1, len(prompt) - tail)
        if cut <= head and cut < len(prompt):
            return text[cut : len(text) - (len(prompt) - cut)].strip()
    return text


def ends_alike(text: str, prompt: str) -> bool:
    """Return True when a text starts and ends like the prompt (a quick first test)."""
    return text[0] == prompt[0] and text[-1] == prompt[-1]


def joined(before: str, after: str) -> str:
    """Return two pieces of an answer joined where a prompt was cut out of it."""
    head, tail = before.rstrip(), after.lstrip()
    if not head or not tail:
        return head or tail
    gap = before[len(head) :] + after[: len(after) - len(tail)]
    return head + ("\n" if "\n" in gap else " ") + tail


def normalize_lines(lines: list[str]) -> list[str]:
    """Return non-empty lines with whitespace collapsed, for comparing fixed text."""
    return [" ".join(line.split()) for line in lines if line.strip()]


IDENTITY_LINE = re.compile(r"samtale:1:\S+")


def compare_fixed_text(sent: tuple[str, ...], returned_lines: list[str]) -> list[str]:
    """Return warnings for text typed outside the fields and for edited fixed text."""
    return fixed_text_warnings(fixed_text_changes(sent, normalize_lines(returned_lines)))


def fixed_text_changes(sent: tuple[str, ...], returned: list[str]) -> list[tuple]:
    """Return how the fixed text changed: difflib opcodes other than 'equal' ([] when same)."""
    if returned == list(sent):
        return []
    matcher = difflib.SequenceMatcher(a=list(sent), b=returned, autojunk=False)
    return [change for change in matcher.get_opcodes() if change[0] != "equal"]


def fixed_text_warnings(changes: list[tuple]) -> list[str]:
    """Return warnings for text typed outside the fields and for edited fixed text."""
    warnings = []
    for op, a1, a2, b1, b2 in changes:
        if op == "insert":
            warnings.append(f"text typed outside the fields at paragraph {b1 + 1} ({b2 - b1} par.)")
        elif op == "delete":
            warnings.append(f"fixed text deleted at paragraph {a1 + 1} ({a2 - a1} par.)")
        elif op == "replace":
            warnings.append(f"fixed text edited at paragraph {a1 + 1} ({a2 - a1} par.)")
    return warnings


def screen(
    data: bytes,
    secret: bytes,
    cycle: int,
    sent_forms: dict,
    limits: ooxml.Limits = ooxml.DEFAULT_LIMITS,
    people: dict[str, str] | None = None,
    issued: Collection[str] = (),
) -> Screened:
    """Return the screened answers of one returned file; raise Rejected with the reason."""
    # ``people`` (employee id → name, from the roster) lets the form's visible details be
    # checked against its embedded identity.
    identity, package, root, embedded = identified(data, secret, limits, issued)
    if identity.cycle != cycle:
        raise Rejected(
            f"the form belongs to cycle {identity.cycle}, not {cycle}; "
            f"collect it with --cycle {identity.cycle} or ask for this year's form",
            "other_cycle",
        )
    sent = sent_forms.get((identity.employee_id, identity.kind))
    if sent is None:
        raise Rejected(
            f"no {identity.kind} form for employee {identity.employee_id} was generated in "
            f"cycle {cycle}",
            "unknown_form",
        )
    extraction = extract(root, sent)
    people = people or {}
    shown = shown_elsewhere(identity, shown_tokens(package, embedded))
    shown = shown or shown_in_place(identity, extraction.fixed_text, sent, people)
    if shown:
        raise Rejected(identity_mismatch(identity, shown, people), "identity_mismatch")
    saved = ooxml.saved_at(package.part(ooxml.CORE_PART))
    return Screened(identity, extraction.answers, tuple(extraction.warnings), saved)


def shown_elsewhere(identity: FormIdentity, tokens: list[str]) -> FormIdentity | None:
    """Return the form an identity line printed in the form names, when it is not this one."""
    for token in tokens:
        _, _, cycle, kind, employee, version = token.split(":")[:6]
        shown = FormIdentity(int(cycle), kind, unquote(employee), version)
        if (shown.cycle, shown.kind, shown.employee_id) != (
            identity.cycle,
            identity.kind,
            identity.employee_id,
        ):
            return shown
    return None


def shown_in_place(
    identity: FormIdentity, lines: list[str], sent: SentForm, people: dict
) -> FormIdentity | None:
    """Return the form of the employee whose id or name is shown where this one's were."""
    # Only fixed text that the sent form showed as this employee's id or name, and that was
    # replaced by another employee's id or name, counts (a changed manager or title does not).
    own = identity.employee_id
    mine = {own, " ".join(people.get(own, "").split())} - {""}
    rows = [number for number, line in enumerate(sent.outside_text) if line in mine]
    if not rows or lines == list(sent.outside_text):
        return None
    others: dict[str, str] = {}
    for employee, name in people.items():
        if employee != own:
            others[employee] = employee
            others.setdefault(" ".join(name.split()), employee)
    for op, a1, a2, b1, b2 in fixed_text_changes(sent.outside_text, lines):
        if op == "replace" and any(a1 <= row < a2 for row in rows):
            shown = [others[line] for line in lines[b1:b2] if line in others and line not in mine]
            if shown:
                return FormIdentity(identity.cycle, identity.kind, shown[0], "")
    return None


def identity_mismatch(identity: FormIdentity, shown: FormIdentity, people: dict) -> str:
    """Return the quarantine reason for a form that shows another form than it belongs to."""
    return (
        f"the form shows {described(shown, people)} but its embedded identity is "
        f"{described(identity, people)}: another form's identity was put into it; ask who "
        "filled it in, and collect the form that was sent to them"
    )


def described(form: FormIdentity, people: dict) -> str:
    """Return a form as HR reads it: the employee's id and name, the form kind and cycle."""
    name = people.get(form.employee_id, "")
    who = f"employee {form.employee_id} ({name})" if name else f"employee {form.employee_id}"
    return f"{who}, {form.kind} form {form.cycle}"
