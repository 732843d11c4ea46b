"""Check .docx and .xlsx packages against the Office Open XML schemas, as strictly as Word does.

Word and Excel refuse, or "repair" (dropping content controls and the answers in them), a part
that breaks ISO/IEC 29500: elements out of order, a missing required attribute, a table cell
without a paragraph. Every XML part is checked against the transitional schemas shipped in
``schemas/`` (see its README). Extension namespaces (Word 2010+ ``w14``, ``w15`` …) are handled
as a consumer that does not know them: what ``mc:Ignorable`` lists is set aside and
``mc:AlternateContent`` is resolved to the first branch we understand, before validating.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from lxml import etree

from pipeline.errors import Rejected
from pipeline.formats import ooxml

SCHEMA_DIR = Path(__file__).with_name("schemas")
ISO = "ISO-IEC29500-4_2016"
OPC = "ecma/fouth-edition"
ENTRY_SCHEMAS = (  # one per kind of root element a .docx or .xlsx part may have
    f"{ISO}/wml.xsd",
    f"{ISO}/sml.xsd",
    f"{ISO}/dml-main.xsd",
    f"{ISO}/shared-documentPropertiesCustom.xsd",
    f"{ISO}/shared-documentPropertiesExtended.xsd",
    f"{ISO}/shared-customXmlDataProperties.xsd",
    f"{ISO}/shared-bibliography.xsd",
    f"{OPC}/opc-contentTypes.xsd",
    f"{OPC}/opc-relationships.xsd",
    f"{OPC}/opc-coreProperties.xsd",
)
DUBLIN_CORE = {  # opc-coreProperties.xsd imports these from the web; we never fetch anything
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dc.xsd": "dublin-core/dc.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcterms.xsd": "dublin-core/dcterms.xsd",
}
MC = ooxml.MC
MC_ALTERNATE, MC_CHOICE, MC_FALLBACK = (
    f"{{{MC}}}AlternateContent",
    f"{{{MC}}}Choice",
    f"{{{MC}}}Fallback",
)
MC_IGNORABLE, MC_PROCESS, MC_MUST = (
    f"{{{MC}}}Ignorable",
    f"{{{MC}}}ProcessContent",
    f"{{{MC}}}MustUnderstand",
)
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
CONTENT_TYPES = "[Content_Types].xml"
XML_SUFFIXES = (".xml", ".rels", ".vml")
PREFIXES = {  # how Word names the namespaces, for readable messages
    ooxml.W: "w",
    ooxml.W14: "w14",
    ooxml.W15: "w15",
    ooxml.CT: "ct",
    ooxml.PKG_REL: "rel",
    ooxml.CUSTOM: "op",
    ooxml.VT: "vt",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": "r",
    "http://schemas.openxmlformats.org/officeDocument/2006/math": "m",
    "http://schemas.openxmlformats.org/officeDocument/2006/sharedTypes": "s",
    "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties": "ep",
    "http://schemas.openxmlformats.org/package/2006/metadata/core-properties": "cp",
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main": "x",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "a",
    "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing": "wp",
    "http://schemas.openxmlformats.org/drawingml/2006/picture": "pic",
    "http://schemas.openxmlformats.org/schemaLibrary/2006/main": "sl",
    "urn:schemas-microsoft-com:vml": "v",
    "urn:schemas-microsoft-com:office:office": "o",
    "urn:schemas-microsoft-com:office:word": "w10",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    MC: "mc",
    XML_NS: "xml",
}
CLARK = re.compile(r"\{([^}]*)\}([\w.-]+)")
NEAR_CHARS = 60
MAX_PER_PART = 20  # one broken structure can cascade; the first ones are the useful ones


@dataclass(frozen=True)
class SchemaViolation:
    """One place where a part breaks the schema: file, part, line, element and the rule."""

    file: str
    part: str
    line: int | None
    rule: str  # in plain words
    element: str = ""  # where in the part, e.g. /w:settings/w:zoom
    near: str = ""  # the text of the paragraph it is in, to find it in Word

    def __str__(self) -> str:
        """Return the violation as one line: where, what, and the text near it."""
        where = ", ".join(
            p for p in (self.file, self.part, f"line {self.line}" if self.line else "") if p
        )
        text = f"{where}: {self.rule}"
        if self.element:
            text += f" (at {self.element})"
        if self.near:
            text += f", near the text {self.near!r}"
        return text


@dataclass(frozen=True)
class PackageCheck:
    """What validating one package found: the parts checked and every violation."""

    file: str
    checked: tuple[str, ...]
    unchecked: tuple[str, ...]  # XML parts no schema here describes (custom XML data)
    violations: tuple[SchemaViolation, ...]

    @property
    def ok(self) -> bool:
        """Return True when no part breaks the schemas."""
        return not self.violations


# -- the schemas, compiled once per process --------------------------------------------------


class LocalSchemas(etree.Resolver):
    """Resolves the Dublin Core imports to the copies shipped here; never the network."""

    def resolve(self, system_url, public_id, context):
        """Return the local copy of a schema the OPC schema imports from the web."""
        local = DUBLIN_CORE.get(system_url)
        return self.resolve_filename(str(SCHEMA_DIR / local), context) if local else None


@functools.cache
def compiled_schema() -> etree.XMLSchema:
    """Return one schema that knows every root element of a .docx or .xlsx part."""
    imports = "".join(
        f'<xsd:import namespace="{target_namespace(entry)}" schemaLocation="{entry}"/>'
        for entry in ENTRY_SCHEMAS
    )
    driver = f'<xsd:schema xmlns:xsd="{XSD}">{imports}</xsd:schema>'
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(LocalSchemas())
    root = etree.fromstring(driver.encode(), parser, base_url=str(SCHEMA_DIR / "driver.xsd"))
    return etree.XMLSchema(root)


def target_namespace(entry: str) -> str:
    """Return the namespace a schema file defines."""
    root = etree.parse(str(SCHEMA_DIR / entry), etree.XMLParser(no_network=True)).getroot()
    return root.get("targetNamespace", "")


@functools.cache
def understood_namespaces() -> frozenset[str]:
    """Return the namespaces the shipped schemas define: everything else is an extension."""
    found = {target_namespace(str(p.relative_to(SCHEMA_DIR))) for p in SCHEMA_DIR.rglob("*.xsd")}
    return frozenset(found | {XSI})


# -- packages --------------------------------------------------------------------------------


def validate_package(source: bytes | Path, name: str = "") -> list[SchemaViolation]:
    """Return every schema violation in a .docx or .xlsx (bytes or a path); [] when valid."""
    return list(check_package(source, name).violations)


def check_package(source: bytes | Path, name: str = "") -> PackageCheck:
    """Return what validating every XML part of a .docx or .xlsx found."""
    if isinstance(source, Path | str):
        name = name or Path(source).name
        source = Path(source).read_bytes()
    try:
        names, parts = read_xml_parts(source)
    except Rejected as exc:
        return PackageCheck(name, (), (), (SchemaViolation(name, "", None, exc.reason),))
    violations = package_violations(name, names, parts)
    checked, unchecked, ids = [], [], []
    for part in sorted(parts, key=part_order):
        found, drawings = inspect_part(parts[part], part, name)
        if found is None:
            unchecked.append(part)
            continue
        checked.append(part)
        violations += found
        ids += drawings
    violations += duplicate_drawing_ids(name, ids)
    return PackageCheck(name, tuple(checked), tuple(unchecked), tuple(violations))


def read_xml_parts(data: bytes) -> tuple[list[str], dict[str, bytes]]:
    """Return the package's entry names and its XML parts (as its content types say)."""
    package = ooxml.read_package(data, wanted=(CONTENT_TYPES,))
    types = content_types(package.parts.get(CONTENT_TYPES))
    wanted = tuple(n for n in package.names if n.endswith(XML_SUFFIXES) or is_xml_type(types(n)))
    return package.names, ooxml.read_package(data, wanted=wanted).parts if wanted else {}


def part_order(part: str) -> tuple[int, str]:
    """Return a sort key: the package's own parts first, then the rest by name."""
    return (0 if part in (CONTENT_TYPES, "_rels/.rels") else 1, part)


def is_xml_type(content_type: str | None) -> bool:
    """Return True for a content type of XML (``application/xml``, ``…+xml``)."""
    return bool(content_type) and (content_type.endswith("+xml") or content_type.endswith("/xml"))


# -- package structure: content types and relationships --------------------------------------


def content_types(data: bytes | None):
    """Return a function giving the content type of a part name (or None), from the part."""
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    if data:
        try:
            root = ooxml.parse_xml(data, CONTENT_TYPES)
        except Rejected:
            root = etree.Element("none")
        for item in root.iter(f"{{{ooxml.CT}}}Default"):
            defaults[(item.get("Extension") or "").lower()] = item.get("ContentType") or ""
        for item in root.iter(f"{{{ooxml.CT}}}Override"):
            overrides[(item.get("PartName") or "").lower()] = item.get("ContentType") or ""

    def content_type(name: str) -> str | None:
        """Return the content type of ``name``."""
        found = overrides.get("/" + name.lower())
        return found if found is not None else defaults.get(name.rpartition(".")[2].lower())

    return content_type


def package_violations(
    file: str, names: list[str], parts: dict[str, bytes]
) -> list[SchemaViolation]:
    """Return what makes Word refuse the package as a whole: parts without type, broken links."""
    if CONTENT_TYPES not in parts:
        return [
            SchemaViolation(file, CONTENT_TYPES, None, "the package has no [Content_Types].xml")
        ]
    content_type = content_types(parts[CONTENT_TYPES])
    found = [
        SchemaViolation(file, name, None, "the part has no content type in [Content_Types].xml")
        for name in names
        if name != CONTENT_TYPES and not name.endswith("/") and content_type(name) is None
    ]
    for rels in sorted(n for n in parts if n.endswith(".rels")):
        found += broken_relationships(file, rels, parts[rels], set(names))
    return found


def broken_relationships(
    file: str, rels: str, data: bytes, names: set[str]
) -> list[SchemaViolation]:
    """Return a violation for each internal relationship whose target is not in the package."""
    try:
        root = ooxml.parse_xml(data, rels)
    except Rejected:
        return []  # reported when the part itself is validated
    source = PurePosixPath(ooxml.rels_source(rels)).parent
    found = []
    for relationship in root.iter(f"{{{ooxml.PKG_REL}}}Relationship"):
        if (relationship.get("TargetMode") or "").lower() == "external":
            continue
        target = relationship.get("Target") or ""
        if target_part(source, unquote(target.partition("#")[0])) not in names:
            found.append(
                SchemaViolation(
                    file,
                    rels,
                    relationship.sourceline,
                    f"relationship {relationship.get('Id')} points to {target}, "
                    "which is not in the package",
                )
            )
    return found


def target_part(source: PurePosixPath, target: str) -> str:
    """Return the part name a relationship target refers to (relative to its source part)."""
    if target.startswith("/"):
        path = target.lstrip("/")
    else:
        path = str(source / target) if str(source) != "." else target
    resolved: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if resolved:
                resolved.pop()
        elif piece not in ("", "."):
            resolved.append(piece)
    return "/".join(resolved)


# -- one part --------------------------------------------------------------------------------


def validate_part(data: bytes, part: str, file: str = "") -> list[SchemaViolation] | None:
    """Return the schema violations of one XML part, or None when no schema describes it."""
    return inspect_part(data, part, file)[0]


def inspect_part(data: bytes, part: str, file: str = ""):
    """Return a part's violations (None when no schema describes it) and its drawing ids."""
    found, ids = inspect_bytes(data, part)
    if found is None:
        return None, list(ids)
    return [replace(violation, file=file) for violation in found], list(ids)


@functools.lru_cache(maxsize=64)
def inspect_bytes(data: bytes, part: str):
    """Return inspect_part's answer for a part's bytes (forms share most parts with a template)."""
    file = ""
    try:
        root = ooxml.parse_xml(data, part)
    except Rejected as exc:
        return (SchemaViolation(file, part, None, exc.reason),), ()
    if etree.QName(root).namespace not in understood_namespaces():
        return None, ()  # custom XML data (customXml/item1.xml): any XML is allowed there
    found = consume_extensions(root, file, part)
    found += word_rules(root, file, part)
    schema = compiled_schema()
    if not schema.validate(root.getroottree()):
        found += [
            SchemaViolation(
                file,
                part,
                error.line or None,
                plain_rule(error.message),
                error.path or "",
                near_text(root, error.path),
            )
            for error in list(schema.error_log)[:MAX_PER_PART]
        ]
    return tuple(found), tuple(drawing_ids(root, part))


# -- what Word requires beyond the schemas ---------------------------------------------------

RANGE_MARKS = {  # markup Word allows after a cell's last paragraph: it marks a range, no content
    ooxml.w(tag)
    for tag in (
        "bookmarkStart",
        "bookmarkEnd",
        "commentRangeStart",
        "commentRangeEnd",
        "moveFromRangeStart",
        "moveFromRangeEnd",
        "moveToRangeStart",
        "moveToRangeEnd",
        "permStart",
        "permEnd",
        "proofErr",
        "customXmlInsRangeStart",
        "customXmlInsRangeEnd",
        "customXmlDelRangeStart",
        "customXmlDelRangeEnd",
    )
}
NOT_CONTENT = RANGE_MARKS | {ooxml.w("tcPr"), ooxml.w("customXmlPr")}
W_CUSTOM_XML = ooxml.w("customXml")
DOC_PR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


def word_rules(root: etree._Element, file: str, part: str) -> list[SchemaViolation]:
    """Return what breaks Word's rules beyond the schema: a cell must end with a paragraph."""
    # ISO/IEC 29500-1 §17.4.66: a table cell holds at least one block-level element and its
    # last one is a paragraph; a cell emptied by a removed {%p if %} block breaks this, and so
    # does a table nested at the very end of a cell.
    found = []
    for cell in root.iter(ooxml.W_TC):
        if last_block(cell) != ooxml.W_P:
            path = cell.getroottree().getpath(cell)
            found.append(
                SchemaViolation(
                    file,
                    part,
                    cell.sourceline,
                    "a table cell does not end with a paragraph (<w:p>); Word requires one "
                    "in every cell, also after a table inside the cell",
                    path,
                    near_text(root, path),
                )
            )
    return found[:MAX_PER_PART]


def last_block(container: etree._Element) -> str | None:
    """Return the tag of the last block-level element in a cell (looking inside controls)."""
    for child in reversed(container):
        if not isinstance(child.tag, str) or child.tag in NOT_CONTENT:
            continue
        if child.tag == ooxml.W_SDT:
            content = child.find(ooxml.W_SDTCONTENT)
            return last_block(content) if content is not None else None
        if child.tag == W_CUSTOM_XML:
            return last_block(child)
        return child.tag
    return None


def drawing_ids(root: etree._Element, part: str) -> list[tuple[str, str, int | None]]:
    """Return (part, id, line) of every drawing (wp:docPr) in a part of the main document."""
    if "/glossary/" in part:  # building blocks are a document of their own
        return []
    return [(part, d.get("id", ""), d.sourceline) for d in root.iter(DOC_PR)]


def duplicate_drawing_ids(
    file: str, ids: list[tuple[str, str, int | None]]
) -> list[SchemaViolation]:
    """Return a violation for each drawing id (wp:docPr) used twice in the document."""
    seen: set[str] = set()
    found = []
    for part, value, line in ids:
        if value in seen:
            found.append(
                SchemaViolation(
                    file,
                    part,
                    line,
                    f"the drawing id {value} (wp:docPr) is used twice; each picture or shape "
                    "needs its own",
                )
            )
        seen.add(value)
    return found


# -- markup compatibility: what a consumer that does not know the extensions sees ------------

ATTRIBUTES_IN = etree.XPath("descendant-or-self::*/@*[namespace-uri() = $ns]")


def consume_extensions(root: etree._Element, file: str, part: str) -> list[SchemaViolation]:
    """Set aside ignorable extensions in place; return violations for ones we must understand."""
    # As ECMA-376 Part 3 tells a consumer that knows none of the extensions: each
    # mc:AlternateContent becomes its first branch whose requirements we know (else mc:Fallback,
    # else nothing), then elements and attributes of the namespaces mc:Ignorable lists are
    # dropped (an element named in mc:ProcessContent gives way to its children), and the mc:
    # attributes themselves go.
    directives = ATTRIBUTES_IN(root, ns=MC)
    found = must_understand(root, directives, file, part)
    for alternate in list(root.iter(MC_ALTERNATE)):
        if alternate is root or root in alternate.iterancestors():
            resolve_alternate(alternate)
    for attribute in directives:
        holder = attribute.getparent()
        if attribute.attrname == MC_IGNORABLE and (
            holder is root or root in holder.iterancestors()
        ):
            set_aside(holder, ignorable_namespaces(holder))
    for attribute in directives:
        attribute.getparent().attrib.pop(attribute.attrname, None)
    return found


def must_understand(root, directives: list, file: str, part: str) -> list[SchemaViolation]:
    """Return a violation for each extension the part says a reader must know, unknown here."""
    found = []
    for attribute in directives:
        if attribute.attrname != MC_MUST:
            continue
        element = attribute.getparent()
        for uri in namespaces_of(element, str(attribute)) - understood_namespaces():
            found.append(
                SchemaViolation(
                    file,
                    part,
                    element.sourceline,
                    f"the part requires the extension {uri} (mc:MustUnderstand); "
                    "a program that does not know it must refuse the file",
                )
            )
    return found


def namespaces_of(element: etree._Element, prefixes: str | None) -> frozenset[str]:
    """Return the namespaces the space-separated ``prefixes`` stand for at ``element``."""
    found = (element.nsmap.get(prefix) for prefix in (prefixes or "").split())
    return frozenset(uri for uri in found if uri)


def ignorable_namespaces(element: etree._Element) -> frozenset[str]:
    """Return the namespaces ``element`` declares ignorable that no shipped schema defines."""
    return namespaces_of(element, element.get(MC_IGNORABLE)) - understood_namespaces()


def resolve_alternate(alternate: etree._Element) -> None:
    """Replace an mc:AlternateContent by the content of the branch we understand."""
    branch = chosen_branch(alternate)
    children = []
    if branch is not None:
        set_aside(branch, ignorable_namespaces(alternate) | ignorable_namespaces(branch))
        children = list(branch)
    parent = alternate.getparent()
    if parent is None:
        return
    index = parent.index(alternate)
    parent.remove(alternate)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)


def chosen_branch(alternate: etree._Element) -> etree._Element | None:
    """Return the first mc:Choice whose requirements we understand, else mc:Fallback, else None."""
    for branch in alternate:
        if branch.tag == MC_CHOICE:
            prefixes = (branch.get("Requires") or "").split()
            required = namespaces_of(branch, branch.get("Requires"))
            if len(required) == len(prefixes) and required <= understood_namespaces():
                return branch
        elif branch.tag == MC_FALLBACK:
            return branch
    return None


def set_aside(holder: etree._Element, ignorable: frozenset[str]) -> None:
    """Drop, under ``holder``, the elements and attributes of the ``ignorable`` namespaces."""
    if not ignorable:
        return
    keep = process_content(holder)
    for element in list(holder.iter(*(f"{{{uri}}}*" for uri in ignorable))):
        if element is holder or holder not in element.iterancestors():
            continue  # the holder itself, or already gone with an ignored ancestor
        if element.tag in keep or f"{{{namespace_of(element.tag)}}}*" in keep:
            unwrap(element)
        else:
            element.getparent().remove(element)
    for uri in ignorable:
        for attribute in ATTRIBUTES_IN(holder, ns=uri):
            attribute.getparent().attrib.pop(attribute.attrname, None)


def process_content(holder: etree._Element) -> set[str]:
    """Return the elements (Clark names, ``{ns}*`` for all) whose children are kept."""
    keep = set()
    for element in (holder, *holder.iterancestors()):
        for qname in (element.get(MC_PROCESS) or "").split():
            prefix, _, local = qname.rpartition(":")
            uri = element.nsmap.get(prefix or None)
            if uri:
                keep.add(f"{{{uri}}}{local}")
    return keep


def namespace_of(name: str) -> str:
    """Return the namespace of a Clark name (``{ns}local``), or ''."""
    return name[1:].partition("}")[0] if name.startswith("{") else ""


def unwrap(element: etree._Element) -> None:
    """Replace ``element`` by its children."""
    parent = element.getparent()
    index = parent.index(element)
    for offset, child in enumerate(list(element)):
        parent.insert(index + offset, child)
    parent.remove(element)


# -- plain words -----------------------------------------------------------------------------

RULES = (  # libxml2's message → what it means for a Word user
    (
        r"Element '([^']+)': This element is not expected\. Expected is one of \( (.+) \)\.?$",
        "<{0}> is out of order or not allowed here; Word expects one of: {1}",
    ),
    (
        r"Element '([^']+)': This element is not expected\. Expected is \( (.+) \)\.?$",
        "<{0}> is out of order or not allowed here; Word expects: {1}",
    ),
    (
        r"Element '([^']+)': This element is not expected\.?$",
        "<{0}> is not allowed here (out of place, or once too often)",
    ),
    (
        r"Element '([^']+)': Missing child element\(s\)\. Expected is one of \( (.+) \)\.?$",
        "<{0}> lacks a required element: one of {1}",
    ),
    (
        r"Element '([^']+)': Missing child element\(s\)\. Expected is \( (.+) \)\.?$",
        "<{0}> lacks the required element {1}",
    ),
    (
        r"Element '([^']+)': The attribute '([^']+)' is required but missing\.?$",
        "<{0}> lacks the required attribute {1}",
    ),
    (
        r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed\.?$",
        "<{0}> may not have the attribute {1}",
    ),
    (
        r"Element '([^']+)', attribute '([^']+)': \[facet 'enumeration'\] "
        r"The value '([^']*)' is not an element of the set \{(.*)\}\.?$",
        '<{0}> has {1}="{2}", which is not one of the allowed values ({3})',
    ),
    (
        r"Element '([^']+)', attribute '([^']+)': \[facet '(\w+)'\] The value '([^']*)' (.*?)\.?$",
        '<{0}> has {1}="{3}", which breaks the rule for that value ({2}: {4})',
    ),
    (
        r"Element '([^']+)', attribute '([^']+)': '([^']*)' is not a valid value of (.+?)\.?$",
        '<{0}> has {1}="{2}", which is not a valid value ({3})',
    ),
    (
        r"Element '([^']+)': \[facet '(\w+)'\] The value '([^']*)' (.*?)\.?$",
        '<{0}> holds "{2}", which breaks the rule for its value ({1}: {3})',
    ),
    (
        r"Element '([^']+)': '([^']*)' is not a valid value of (.+?)\.?$",
        '<{0}> holds "{1}", which is not a valid value ({2})',
    ),
    (
        r"Element '([^']+)': No matching global (?:element )?declaration available "
        r"for the validation root\.?$",
        "the part's root element <{0}> is not one the Office Open XML schemas define",
    ),
    (
        r"Element '([^']+)': Character content other than whitespace is not allowed.*$",
        "<{0}> holds text where only elements are allowed",
    ),
    (
        r"Element '([^']+)': Element content is not allowed.*$",
        "<{0}> holds elements where only text is allowed",
    ),
)
COMPILED_RULES = tuple((re.compile(pattern), text) for pattern, text in RULES)


MAX_NAMES = 8  # of the elements Word expects at a place: the first ones say enough
NAME = re.compile(r"[\w.-]+:[\w.-]+|\{[^}]*\}[\w.-]+")
TYPE_NAME = re.compile(r"^the (?:local )?(?:atomic |union |list )?type(?: '([^']+)')?$")


def plain_rule(message: str) -> str:
    """Return libxml2's validation message as the rule broken, in plain words."""
    message = message.strip()
    for pattern, text in COMPILED_RULES:
        match = pattern.match(message)
        if match:
            return text.format(*(plain_words(group) for group in match.groups()))
    return short_names(message)


def plain_words(text: str) -> str:
    """Return a piece of a message with short names and type names said simply."""
    kind = TYPE_NAME.match(text)
    if kind:
        return (
            f"expected a value of type {short_names(kind.group(1))}"
            if kind.group(1)
            else ("not of the type the schema expects there")
        )
    names = short_names(text).split(", ")
    if len(names) > MAX_NAMES and all(NAME.fullmatch(name) for name in names):
        return ", ".join(names[:MAX_NAMES]) + f" … ({len(names) - MAX_NAMES} more)"
    return ", ".join(names)


def short_names(text: str) -> str:
    """Return ``text`` with {namespace}name written as prefix:name, as Word's XML shows them."""

    def prefixed(match: re.Match) -> str:
        prefix = PREFIXES.get(match.group(1))
        return f"{prefix}:{match.group(2)}" if prefix else match.group(0)

    shortened = CLARK.sub(prefixed, text)
    return re.sub(r"##other\{[^}]*\}\*", "an element of another namespace", shortened)


def near_text(root: etree._Element, path: str | None) -> str:
    """Return the first text around the element at ``path`` (to find the place in Word)."""
    element = element_at(root, path)
    if element is None:
        return ""
    paragraph = next(element.iterancestors(ooxml.W_P), None)
    candidates = [paragraph] if paragraph is not None else []
    for container in (element, *element.iterancestors()):
        if container.tag == ooxml.w("body"):
            break
        candidates += container.iter(ooxml.W_P)
        text = next((t for t in map(paragraph_words, candidates) if t), "")
        if text:
            return text if len(text) <= NEAR_CHARS else text[: NEAR_CHARS - 1] + "…"
        candidates = []
    return ""


def paragraph_words(paragraph: etree._Element) -> str:
    """Return a paragraph's text on one line."""
    return " ".join(ooxml.run_text(paragraph).split())


def element_at(root: etree._Element, path: str | None) -> etree._Element | None:
    """Return the element libxml2's path names, or None when it cannot be found."""
    if not path or not path.startswith("/"):
        return None
    namespaces = {}
    for element in root.iter():
        if isinstance(element.tag, str):
            namespaces.update({k: v for k, v in element.nsmap.items() if k})
    try:
        found = root.getroottree().xpath(path, namespaces=namespaces)
    except (etree.XPathError, TypeError):
        return None
    return found[0] if found and isinstance(found[0], etree._Element) else None
