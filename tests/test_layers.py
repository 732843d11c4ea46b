"""The package's structure, checked from its imports: layers point down, SQL lives in the ledger.

Layers, top to bottom: ``cli`` → ``commands`` (one module per command, side by side) → ``domain``
(rules and vocabulary more than one stage needs) → ``formats`` (Word, workbooks, PDF, email,
calendar) → ``state`` (workspace, config, files, ledger, archive, identity). ``errors`` sits
below everything. A module may import its own layer and the ones below, never above; a command
module never imports another command module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
LAYERS = {"cli": 0, "commands": 1, "domain": 2, "formats": 3, "state": 4, "errors": 5}
# Vocabulary every layer may use (form kinds, dates, names): the bottom of domain/.
VOCABULARY = {
    "pipeline.domain.kinds",
    "pipeline.domain.dates",
    "pipeline.domain.names",
    "pipeline.domain.questions",
}
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+TABLE|ALTER\s+TABLE|DROP\s+TABLE)\b",
    re.DOTALL,  # the code writes SQL in capitals; prose like "select … from" is not SQL
)


def modules() -> list[Path]:
    """Return every Python module of the package."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "schemas" not in p.parts)


def name_of(path: Path) -> str:
    """Return the dotted module name of a file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """Return the layer number of a ``pipeline.…`` module (None for the package's face)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return LAYERS.get(parts[1].removesuffix(".py"))


def imports_of(path: Path) -> list[str]:
    """Return the ``pipeline`` modules a file imports (at any depth, lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("pipeline"):
                found.append(node.module)
                found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("pipeline")]
    return [
        name
        for name in found
        if (PACKAGE.parent / name.replace(".", "/")).exists()
        or (PACKAGE.parent / (name.replace(".", "/") + ".py")).exists()
    ]


def test_the_walk_sees_the_whole_package():
    names = {name_of(p) for p in modules()}
    assert {"pipeline.cli", "pipeline.commands.collect", "pipeline.state.ledger"} <= names
    assert len(names) > 40


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_and_commands_stand_side_by_side(path):
    here = name_of(path)
    mine = layer_of(here)
    for imported in imports_of(path):
        theirs = layer_of(imported)
        if mine is None or theirs is None or imported in VOCABULARY:
            continue
        assert theirs >= mine, f"{here} (layer {mine}) imports {imported} (layer {theirs})"
        if mine == theirs == LAYERS["commands"]:
            assert imported.split(".")[:3] == here.split(".")[:3], (
                f"command module {here} imports another command module: {imported}; move what "
                "both need down into pipeline/domain/"
            )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_lives_only_in_the_ledger(path):
    if name_of(path) == "pipeline.state.ledger":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "db":  # the ledger's connection
            pytest.fail(f"{path.name}:{node.lineno} uses the ledger's database; add a method")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "sqlite3" not in names, f"{path.name}:{node.lineno} imports sqlite3"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not SQL.search(node.value), f"{path.name}:{node.lineno} holds SQL"


def test_the_checks_above_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('from pipeline.commands.collect import x\nQ = "SELECT a FROM b"\n')
    assert imports_of(bad) == ["pipeline.commands.collect"]
    assert SQL.search("SELECT a FROM b")
    assert not SQL.search("Select the form, then update the workbook from it")
