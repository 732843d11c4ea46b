"""Screen one returned Word file and read its answers, comparing it with the form that was sent.

Everything here works on bytes and plain data, so it can run in worker processes. Warnings name
the field or a paragraph position, never the answer text (answers are personal data).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from pipeline.errors import Rejected
from pipeline.formats import ooxml
from pipeline.state.identity import PROPERTY, FormIdentity, find_tokens, parse_token

WANTED_PARTS = (ooxml.DOCUMENT_PART, ooxml.CUSTOM_PART, ooxml.CORE_PART)
TICKED = {ooxml.CHECKED, "x", "true", "1", "ja", "yes"}


@dataclass(frozen=True)
class SentForm:
    """What we know of a form as it was sent: its fields and the text outside them."""

    fields: tuple[dict, ...]  # FieldSpec as dicts: key, title, type, placeholder, options
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


def identify(data: bytes, secret: bytes, limits: ooxml.Limits = ooxml.DEFAULT_LIMITS):
    """Return (identity, package, document root) of a returned file; raise Rejected."""
    package = ooxml.read_package(data, limits, wanted=WANTED_PARTS)
    if ooxml.DOCUMENT_PART not in package.parts:
        raise Rejected("not a Word document (no word/document.xml)", "not_docx")
    root = ooxml.parse_xml(package.parts[ooxml.DOCUMENT_PART], ooxml.DOCUMENT_PART)
    properties = ooxml.read_custom_properties(package.part(ooxml.CUSTOM_PART))
    token = properties.get(PROPERTY, "")
    if not token:
        token = next(iter(find_tokens(footer_text(package, data, limits))), "")
    if not token:
        raise Rejected(
            "the file carries no samtale form identity: it is not one of our forms "
            "(or was copied into a new document); ask for the form that was sent",
            "identity_missing",
        )
    return parse_token(token, secret), package, root


def footer_text(package: ooxml.Package, data: bytes, limits: ooxml.Limits) -> str:
    """Return the text of the headers and footers (where the identity line is printed)."""
    names = ooxml.header_footer_parts(package.names)
    parts = ooxml.read_package(data, limits, wanted=tuple(names)).parts
    return "\n".join(ooxml.all_text(ooxml.parse_xml(parts[n], n)) for n in names if n in parts)


def sent_form(data: bytes, fields: tuple[dict, ...] | None = None) -> SentForm:
    """Return the fields and fixed text of a form we generated (fields parsed when not given)."""
    package = ooxml.read_package(data, wanted=(ooxml.DOCUMENT_PART,))
    return sent_form_of_xml(package.parts[ooxml.DOCUMENT_PART], fields)


def sent_form_of_xml(document_xml: bytes, fields: tuple[dict, ...] | None = None) -> SentForm:
    """Return the fields and fixed text of a generated form's document.xml."""
    root = ooxml.parse_xml(document_xml, ooxml.DOCUMENT_PART)
    if fields is None:
        fields = tuple(
            {
                "key": f.key,
                "title": f.title,
                "type": f.type,
                "placeholder": f.placeholder,
                "options": list(f.options),
                "section": f.section,
            }
            for f in ooxml.read_fields(root)
        )
    return SentForm(tuple(fields), tuple(normalize_lines(ooxml.text_outside_fields(root))))


def extract(root, sent: SentForm) -> Extraction:
    """Return the answers of a returned document, keyed by the sent form's keys, with warnings."""
    found = [f for f in ooxml.read_fields(root) if f.type != "other"]
    matches = match_fields(sent.fields, found)
    result = Extraction()
    for spec in sent.fields:
        returned = matches.get(spec["key"])
        if returned is None:
            result.answers[spec["key"]] = None
            result.warnings.append(
                f"field {spec['key']!r} was deleted from the form or cannot be told apart"
            )
            continue
        result.answers[spec["key"]] = clean_value(spec, returned)
    empty = [k for k, v in result.answers.items() if v in (None, "") and k in matches]
    if empty:
        result.warnings.append(f"{len(empty)} field(s) left empty: {', '.join(empty)}")
    result.warnings += compare_fixed_text(sent.outside_text, ooxml.text_outside_fields(root))
    return result


def match_fields(specs: tuple[dict, ...], found: list[ooxml.Field]) -> dict[str, ooxml.Field]:
    """Return the returned control for each sent key: by tag, then title, then order per type."""
    keys = {spec["key"] for spec in specs}
    matches: dict[str, ooxml.Field] = {}
    rest = []
    for item in found:
        if item.key in keys and item.key not in matches:
            matches[item.key] = item
        else:
            rest.append(item)
    titles: dict[str, list[str]] = {}
    for spec in specs:
        titles.setdefault(spec["title"], []).append(spec["key"])
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
        if spec["key"] not in matches:
            group = (spec["type"], spec.get("section", "") if by_section else "")
            groups.setdefault(group, ([], []))[0].append(spec["key"])
    for item in untagged:
        group = (item.type, item.section if by_section else "")
        if id(item) not in taken and group in groups:
            groups[group][1].append(item)
    for keys, items in groups.values():
        if len(keys) != len(items):
            continue  # a control is missing: pairing by order would shift answers
        for key, item in zip(keys, items, strict=False):
            matches[key] = item


def clean_value(spec: dict, returned: ooxml.Field) -> str | bool | None:
    """Return the answer of one field; a field still showing its placeholder is empty."""
    value = returned.value
    if isinstance(value, bool):
        return value
    if spec["type"] == "checkbox":  # a checkbox that lost its type: only its glyph is left
        return (value or "").strip().lower() in TICKED
    text = (value or "").rstrip("\n")
    if returned.showing_placeholder or text.strip() == spec.get("placeholder", "").strip():
        return ""
    if spec["type"] in ("dropdown", "combobox") and spec.get("options"):
        options = [o for o in spec["options"] if o]
        if text not in options and any(text.startswith(f"{o} ") for o in options):
            text = next(o for o in options if text.startswith(f"{o} "))
    return text


def normalize_lines(lines: list[str]) -> list[str]:
    """Return non-empty lines with whitespace collapsed, for comparing fixed text."""
    return [" ".join(line.split()) for line in lines if line.strip()]


IDENTITY_LINE = re.compile(r"samtale:1:\S+")


def compare_fixed_text(sent: tuple[str, ...], returned_lines: list[str]) -> list[str]:
    """Return warnings for text typed outside the fields and for edited fixed text."""
    returned = normalize_lines(returned_lines)
    if returned == list(sent):
        return []
    warnings = []
    matcher = difflib.SequenceMatcher(a=list(sent), b=returned, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
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
) -> Screened:
    """Return the screened answers of one returned file; raise Rejected with the reason."""
    identity, package, root = identify(data, secret, limits)
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
    saved = ooxml.saved_at(package.part(ooxml.CORE_PART))
    return Screened(identity, extraction.answers, tuple(extraction.warnings), saved)
