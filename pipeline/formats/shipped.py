"""The templates shipped inside the samtale package: list them, name their version, compare."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from pathlib import Path

from pipeline import __version__
from pipeline.errors import WorkspaceError
from pipeline.state.identity import template_version

# The repository's top-level templates/ folder, installed as this package (pyproject.toml maps it
# with package-dir). PATTERNS must match its [tool.setuptools.package-data] globs.
PACKAGE = "pipeline._shipped_templates"
PATTERNS = ("*.docx", "email/*.txt")
STAMP_NAME = "VERSION.txt"
STAMP_LINE = re.compile(r"^(samtale|templates) = (\S+)$", re.MULTILINE)
COMPARE_FIX = (
    "Your own edits are never replaced. To see what changed, run 'samtale init "
    "/tmp/samtale-templates' and compare its templates/ with yours (Word: Review → Compare); "
    "take over what you want, then copy its templates/{stamp} over yours"
)


@dataclass(frozen=True)
class TemplateFile:
    """One template file: its path below templates/ (with '/') and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class TemplateStamp:
    """Which samtale and which template set a workspace's templates/ was copied from."""

    samtale: str
    templates: str

    def text(self) -> bytes:
        """Return the stamp file's text: a note for HR and the two versions."""
        return (
            "# Written by 'samtale init': the samtale release these templates were copied from.\n"
            "# 'samtale check' compares it with the installed samtale and says when newer\n"
            "# templates ship. Your own edits to the templates are never replaced.\n"
            f"samtale = {self.samtale}\n"
            f"templates = {self.templates}\n"
        ).encode()


def shipped_files() -> list[TemplateFile]:
    """Return every Word and email template shipped with samtale, sorted by name."""
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError as exc:
        raise WorkspaceError(
            f"samtale's own templates ({PACKAGE}) are missing from this installation; "
            "reinstall samtale (pip install --force-reinstall samtale)"
        ) from exc
    found = []
    for entry in root.iterdir():
        children = entry.iterdir() if entry.is_dir() else [entry]
        for child in children:
            name = f"{entry.name}/{child.name}" if entry.is_dir() else child.name
            if child.is_file() and any(fnmatchcase(name, p) for p in PATTERNS):
                found.append(TemplateFile(name, child.read_bytes()))
    return sorted(found, key=lambda f: f.name)


def set_version(files: list[TemplateFile]) -> str:
    """Return the version of a set of templates: 12 hex digits over names and file versions."""
    manifest = "".join(f"{f.name} {template_version(f.data)}\n" for f in sorted(files, key=_name))
    return template_version(manifest.encode("utf-8"))


@cache
def shipped_version() -> str:
    """Return the version of the template set shipped with this samtale."""
    return set_version(shipped_files())


def shipped_stamp() -> TemplateStamp:
    """Return the stamp that says: copied from this samtale and its shipped templates."""
    return TemplateStamp(__version__, shipped_version())


def read_stamp(templates_dir: Path) -> TemplateStamp | None:
    """Return the stamp in ``templates_dir``, or None when it is missing or unreadable."""
    try:
        text = (Path(templates_dir) / STAMP_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    values = dict(STAMP_LINE.findall(text))
    if set(values) != {"samtale", "templates"}:
        return None
    return TemplateStamp(values["samtale"], values["templates"])


def outdated_warning(templates_dir: Path) -> str | None:
    """Return a warning when the workspace's templates came with other shipped templates."""
    # Without a stamp (a folder made by hand, or the repository's own templates/) we cannot
    # tell HR's edits from an older release, so we say nothing.
    stamp = read_stamp(templates_dir)
    installed = shipped_stamp()
    if stamp is None or stamp.templates == installed.templates:
        return None
    folder = Path(templates_dir)
    if release(stamp.samtale) > release(installed.samtale):
        return (
            f"{folder} was copied from samtale {stamp.samtale}, newer than this samtale "
            f"{installed.samtale}: upgrade samtale (pip install --upgrade samtale) before "
            "generating forms"
        )
    age = "newer" if release(stamp.samtale) < release(installed.samtale) else "other"
    return (
        f"{folder} holds the templates of samtale {stamp.samtale} (templates "
        f"{stamp.templates}); this samtale {installed.samtale} ships {age} ones (templates "
        f"{installed.templates}). " + COMPARE_FIX.format(stamp=STAMP_NAME)
    )


def release(version: str) -> tuple[int, ...]:
    """Return the numeric parts of a version such as '0.1.0' for comparing releases."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def _name(file: TemplateFile) -> str:
    """Return a template file's name (its sort key)."""
    return file.name
