"""Load, check and render the Word templates (docxtpl syntax), parsing each template only once."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from pipeline.errors import Problem, TemplateError
from pipeline.formats import ooxml
from pipeline.formats.schema import SchemaViolation, validate_package
from pipeline.state.identity import PROPERTY, template_version

FIXED_COLUMNS = (
    "employee_id",
    "name",
    "department",
    "manager_id",
    "status",
    "returned_at",
    "source_file",
)
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
PERSON_ATTRIBUTES = {"id", "name", "email", "department", "title", "start_date"}
PREVIOUS_SLOTS = 5
KNOWN_VARIABLES = {
    "employee": PERSON_ATTRIBUTES,
    "manager": PERSON_ATTRIBUTES,
    "previous": {"any", "cycle"} | {f"agreement_{n}" for n in range(1, PREVIOUS_SLOTS + 1)},
    "cycle": set(),
    "language": set(),
    "organisation": set(),
    "deadline": set(),
    "form_id": set(),
    "form_kind": set(),
    "agenda": None,  # minutes only: free structure
    "sides": None,
}
JINJA_MARK = re.compile(r"\{[{%#]")
CHOICE_SOURCES = ("company_goals", "competence_areas")  # dropdown lists filled from samtale.toml
_PATCHER = DocxTemplate.__new__(DocxTemplate)  # only its XML clean-up (patch_xml) is used


def template_path(templates_dir: Path, kind: str, language: str) -> Path:
    """Return the path of the template for a form kind and language."""
    return Path(templates_dir) / f"{kind}.{language}.docx"


def make_environment() -> SandboxedEnvironment:
    """Return the Jinja environment used for every Word template (sandboxed, autoescaping)."""
    return SandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)


class FormTemplate:
    """A Word template parsed and compiled once, rendered many times."""

    def __init__(self, path: Path, kind: str, language: str):
        self.path = Path(path)
        self.kind = kind
        self.language = language
        data = self.path.read_bytes()
        self.version = template_version(data)
        try:
            with zipfile.ZipFile(self.path) as archive:
                self.order = archive.namelist()
                self.parts = {name: archive.read(name) for name in self.order}
        except (zipfile.BadZipFile, OSError) as exc:
            raise TemplateError(
                f"Template {self.path.name} cannot be read",
                [Problem(str(self.path), f"not a readable .docx ({exc})", "save it again in Word")],
            ) from exc
        self.sources = {name: patch(self.parts[name]) for name in self.templated_parts()}
        self.compiled = {}
        env = make_environment()
        for name, source in self.sources.items():
            try:
                self.compiled[name] = env.from_string(source)
            except TemplateSyntaxError as exc:
                raise TemplateError(
                    f"Template {self.path.name} has a Jinja syntax error",
                    [jinja_problem(self.path, name, source, exc)],
                ) from exc
        dynamic = set(self.compiled) | {"[Content_Types].xml", "_rels/.rels", ooxml.CUSTOM_PART}
        self.entry_order = ooxml.package_order(self.order)
        if ooxml.CUSTOM_PART not in self.entry_order:
            self.entry_order.append(ooxml.CUSTOM_PART)
        self.static_entries = {
            name: ooxml.compress_entry(name, self.parts[name])
            for name in self.order
            if name not in dynamic
        }
        self.choice_sources = ooxml.choice_sources(self.parts[ooxml.DOCUMENT_PART].decode())
        root = ooxml.parse_xml(self.parts[ooxml.DOCUMENT_PART], ooxml.DOCUMENT_PART)
        self.fields = tuple(f.question for f in ooxml.read_fields(root))

    def templated_parts(self) -> list[str]:
        """Return the names of parts holding Jinja markup."""
        candidates = [ooxml.DOCUMENT_PART, "docProps/core.xml"]
        candidates += ooxml.header_footer_parts(self.order)
        return [
            n
            for n in candidates
            if n in self.parts
            and (
                JINJA_MARK.search(self.parts[n].decode())
                or ooxml.CHOICE_MARKER.search(self.parts[n].decode())
            )
        ]

    @property
    def keys(self) -> list[str]:
        """Return the answer keys in template order."""
        return [f.key for f in self.fields]

    def render(self, context: dict, properties: dict[str, str]) -> bytes:
        """Return the bytes of a .docx rendered from ``context`` with custom ``properties``."""
        return self.render_parts(context, properties)[0]

    def render_parts(self, context: dict, properties: dict[str, str]) -> tuple[bytes, bytes]:
        """Return the rendered .docx and its document.xml (for reading it back cheaply)."""
        choices = context.get("choices") or {}
        values = to_markup({k: v for k, v in context.items() if k != "choices"})
        rendered = {}
        for name, template in self.compiled.items():
            xml = template.render(values)
            if name == ooxml.DOCUMENT_PART and self.choice_sources:
                xml = ooxml.with_choices(xml, choices)
            rendered[name] = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml).encode("utf-8")
        rendered.update(ooxml.with_custom_properties(self.package_parts(), properties))
        entries = [
            self.static_entries[name]
            if name in self.static_entries
            else ooxml.compress_entry(name, rendered[name])
            for name in self.entry_order
        ]
        data = ooxml.write_entries(entries)
        return data, rendered.get(ooxml.DOCUMENT_PART, self.parts[ooxml.DOCUMENT_PART])

    def package_parts(self) -> dict[str, bytes]:
        """Return the parts that custom properties touch (content types, relations, custom)."""
        names = ("[Content_Types].xml", "_rels/.rels", ooxml.CUSTOM_PART)
        return {name: self.parts[name] for name in names if name in self.parts}


def patch(data: bytes) -> str:
    """Return a part's XML cleaned by docxtpl so Jinja sees whole tags."""
    xml = _PATCHER.patch_xml(data.decode("utf-8"))
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def to_markup(value):
    """Return ``value`` with every string turned into safe WordprocessingML run markup."""
    if isinstance(value, dict):
        return {k: to_markup(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_markup(v) for v in value]
    if isinstance(value, str):
        return Markup(ooxml.text_to_runs_markup(value))  # noqa: S704 - escaped by ooxml
    return value


def jinja_problem(path: Path, part: str, source: str, exc: TemplateSyntaxError) -> Problem:
    """Return a Problem that quotes the template text around a Jinja syntax error."""
    lines = source.splitlines()
    near = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
    snippet = re.sub(r"<[^>]+>", "", near).strip()[:80]
    return Problem(
        str(path),
        f"Jinja syntax error in {part}: {exc.message}",
        "open the template in Word and correct the {{ }} / {% %} markup near the quoted text",
        value=snippet,
    )


def load_template(templates_dir: Path, kind: str, language: str) -> FormTemplate:
    """Return the compiled template for a kind and language; raise TemplateError if missing."""
    path = template_path(templates_dir, kind, language)
    if not path.exists():
        raise TemplateError(
            "Template missing",
            [
                Problem(
                    str(path),
                    "the template file does not exist",
                    f"add {path.name} to {templates_dir}",
                )
            ],
        )
    return FormTemplate(path, kind, language)


# -- checking ------------------------------------------------------------------------------


def check_templates(
    templates_dir: Path, kinds: tuple[str, ...], languages: tuple[str, ...]
) -> list[Problem]:
    """Return every problem found in the templates of ``kinds`` × ``languages``."""
    problems: list[Problem] = []
    loaded: dict[tuple[str, str], FormTemplate] = {}
    for kind in kinds:
        for language in languages:
            try:
                template = load_template(templates_dir, kind, language)
            except TemplateError as exc:
                problems += exc.problems
                continue
            loaded[(kind, language)] = template
            problems += check_template(template)
        problems += check_same_keys(kind, [loaded[k] for k in loaded if k[0] == kind])
    return problems


def check_template(template: FormTemplate) -> list[Problem]:
    """Return the problems of one template: variables, fields, identity."""
    return (
        check_variables(template)
        + check_fields(template)
        + check_identity(template)
        + check_choice_sources(template)
    )


def check_variables(template: FormTemplate) -> list[Problem]:
    """Return a problem for every variable the renderer cannot supply."""
    problems = []
    env = make_environment()
    for part, source in template.sources.items():
        ast = env.parse(source)
        for name, attribute in used_variables(ast):
            allowed = KNOWN_VARIABLES.get(name, set())
            if name not in KNOWN_VARIABLES:
                problems.append(unknown_variable(template, part, name))
            elif attribute and allowed is not None and attribute not in allowed:
                problems.append(unknown_variable(template, part, f"{name}.{attribute}"))
    return problems


def used_variables(ast: nodes.Template) -> set[tuple[str, str]]:
    """Return (name, attribute) pairs the template reads; attribute is '' for a bare name."""
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    used: set[tuple[str, str]] = set()
    attribute_of: dict[int, str] = {}
    for getattr_node in ast.find_all(nodes.Getattr):
        if isinstance(getattr_node.node, nodes.Name):
            attribute_of[id(getattr_node.node)] = getattr_node.attr
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in assigned:
            used.add((name.name, attribute_of.get(id(name), "")))
    return used


def unknown_variable(template: FormTemplate, part: str, name: str) -> Problem:
    """Return the problem for a variable the roster and renderer cannot supply."""
    known = ", ".join(sorted(k for k in KNOWN_VARIABLES if KNOWN_VARIABLES[k] is not None))
    return Problem(
        str(template.path),
        f"{part} uses {{{{ {name} }}}}, which the roster cannot supply",
        f"use one of: {known}; person fields: {', '.join(sorted(PERSON_ATTRIBUTES))}",
    )


def check_fields(template: FormTemplate) -> list[Problem]:
    """Return problems with the answer fields: missing, invalid or duplicate keys, Jinja inside."""
    problems = []
    seen: set[str] = set()
    path = str(template.path)
    for number, spec in enumerate(template.fields, start=1):
        label = spec.title or f"content control #{number}"
        if not spec.key:
            problems.append(
                Problem(
                    path,
                    f"field {label!r} has no tag (question key)",
                    "in Word: Developer → Properties → Tag, e.g. results",
                )
            )
        elif not KEY_PATTERN.fullmatch(spec.key) or spec.key in FIXED_COLUMNS:
            problems.append(
                Problem(
                    path,
                    f"field {label!r} has an unusable key {spec.key!r}",
                    "use lowercase letters, digits and _ (not a fixed column name)",
                )
            )
        elif spec.key in seen:
            problems.append(
                Problem(
                    path,
                    f"field key {spec.key!r} is used twice",
                    "give each content control its own tag",
                )
            )
        seen.add(spec.key)
        if JINJA_MARK.search(spec.placeholder):
            problems.append(
                Problem(
                    path,
                    f"field {label!r} contains {{{{ }}}} markup",
                    "keep template markup outside content controls",
                )
            )
    if not template.fields:
        problems.append(
            Problem(
                path,
                "the template has no answer fields (content controls)",
                "add content controls with a tag for each question",
            )
        )
    return problems


def check_choice_sources(template: FormTemplate) -> list[Problem]:
    """Return a problem for each list a dropdown asks for that samtale.toml does not have."""
    unknown = [s for s in template.choice_sources if s not in CHOICE_SOURCES]
    return [
        Problem(
            str(template.path),
            f"{unknown.count(source)} dropdown(s) have a list item with the value @{source}, "
            "which is no list samtale fills in",
            "use one of: " + ", ".join(f"@{known}" for known in CHOICE_SOURCES),
        )
        for source in dict.fromkeys(unknown)
    ]


def check_identity(template: FormTemplate) -> list[Problem]:
    """Return a problem when the template does not show the form identity."""
    if any("form_id" in source for source in template.sources.values()):
        return []
    return [
        Problem(
            str(template.path),
            "the form identity {{ form_id }} is missing",
            "put 'Skjema-ID: {{ form_id }}' in the footer",
        )
    ]


def check_same_keys(kind: str, templates: list[FormTemplate]) -> list[Problem]:
    """Return a problem when the language versions of one kind ask different questions."""
    if len(templates) < 2:
        return []
    first = templates[0]
    problems = []
    for other in templates[1:]:
        if other.keys != first.keys:
            missing = sorted(set(first.keys) ^ set(other.keys))
            detail = f"keys differ: {', '.join(missing)}" if missing else "the key order differs"
            problems.append(
                Problem(
                    str(other.path),
                    f"{other.path.name} and {first.path.name} differ ({detail})",
                    "give both language versions the same fields in the same order",
                )
            )
    return problems


# -- Word-strict structure: the template and what it renders to, against the schemas --------

SAMPLE_PERSON = {
    "id": "0000",
    "name": "Kari Eksempel-Nordmann",
    "email": "kari.eksempel@example.org",
    "department": "Økonomi og økonomistyring",
    "title": "Seniorrådgiver",
    "start_date": "01.02.2020",
}
SAMPLE_TEXT = {"nb": "Eksempel", "en": "Example"}
SAMPLE_FORM_ID = "samtale:1:check"
TEMPLATE_FIX = (
    "open the template in Microsoft Word and save it again as a Word Document (.docx), then run "
    "samtale check again; if the problem stays, start again from the shipped template"
)
RENDER_FIX = (
    "the {% %} markup near that place leaves an incomplete structure once filled in: keep each "
    "{%p %} tag in a paragraph of its own and each {%tr %} tag in a table row of its own, and "
    "leave at least one paragraph in every table cell"
)
_STRUCTURE_CHECKED: dict[tuple[str, str], list[Problem]] = {}


def sample_contexts(template: FormTemplate, base: dict | None = None) -> dict[str, dict]:
    """Return two sample contexts by label: every optional block on ('full'), all off ('empty')."""
    # ``base`` is a real form's context (check passes the first employee of the roster); what
    # it lacks comes from an invented sample employee.
    word = SAMPLE_TEXT.get(template.language, SAMPLE_TEXT["en"])
    base = {
        "employee": SAMPLE_PERSON,
        "manager": SAMPLE_PERSON,
        "cycle": 2027,
        "language": template.language,
        "organisation": f"{word} AS",
        "deadline": "29.01.2027",
        "form_id": SAMPLE_FORM_ID,
        "form_kind": template.kind,
        **(base or {}),
    }
    agreements = {f"agreement_{n}": f"{word} {n}" for n in range(1, PREVIOUS_SLOTS + 1)}
    row = {"question": word, "employee": word, "manager": word}
    full = {
        **base,
        "previous": {"any": True, "cycle": "2026", **agreements},
        "agenda": [word, word],
        "sides": [{"title": word, "rows": [row, row]}, {"title": "", "rows": [row]}],
    }
    empty = {
        **base,
        "manager": dict.fromkeys(PERSON_ATTRIBUTES, ""),
        "previous": {"any": False, "cycle": "", **dict.fromkeys(agreements, "")},
        "agenda": [],
        "sides": [],
    }
    return {"full": full, "empty": empty}


def structure_problems(template: FormTemplate, base: dict | None = None) -> list[Problem]:
    """Return where the template, or a form it renders, breaks the Office Open XML schemas."""
    found = validate_package(template.path.read_bytes(), template.path.name)
    if found:
        return [violation_problem(template.path, v, "", TEMPLATE_FIX) for v in found]
    for label, context in sample_contexts(template, base).items():
        data = template.render(context, {PROPERTY: SAMPLE_FORM_ID})
        found = validate_package(data, template.path.name)
        if found:
            when = f"filled in for a sample employee ({label} optional blocks)"
            return [violation_problem(template.path, v, when, RENDER_FIX) for v in found]
    return []


def checked_structure(template: FormTemplate) -> list[Problem]:
    """Return structure_problems for the template, checked once per process and version."""
    key = (str(template.path), template.version)
    if key not in _STRUCTURE_CHECKED:
        _STRUCTURE_CHECKED[key] = structure_problems(template)
    return _STRUCTURE_CHECKED[key]


def violation_problem(path: Path, violation: SchemaViolation, when: str, fix: str) -> Problem:
    """Return a schema violation as a Problem naming the part, line and rule in plain words."""
    where = f"{violation.part}, line {violation.line}" if violation.line else violation.part
    message = f"{where}: {violation.rule}" if where else violation.rule
    if violation.near:
        message += f", near the text {violation.near!r}"
    if violation.element:
        message += f" (at {violation.element})"
    if when:
        message = f"when {when}, {message}"
    return Problem(str(path), message, fix)
