"""The tree shows the layers, and imports only ever go down them.

Each subpackage of ``yeko_sql`` is a layer; a module may import its own layer
and the ones listed before it, never one after. Yeko's application
(``yeko_sql.yeko``) sits on top: it may import anything, and nothing in the
toolkit imports it. The package's ``__init__`` and ``__main__`` only gather
public names and are left out. Imports under ``if TYPE_CHECKING:`` count too:
a layer that needs another's types for its signatures depends on it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import yeko_sql.ops.migrate
import yeko_sql.yeko.domain.schools

PACKAGE = Path(__file__).resolve().parents[1] / "yeko_sql"

LAYERS = (
    ("errors", "settings", "config", "ids", "_moved"),
    ("query",),
    ("runtime",),
    ("bulk",),
    ("verify",),
    ("stubs",),
    ("ops",),
    ("studio",),
    ("cli",),
    ("testing",),
    ("yeko",),
)
"""Bottom first: the base modules, then one subpackage per layer."""

RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _room(module: str) -> str:
    """``yeko_sql.runtime.rows`` -> ``runtime``; ``yeko_sql.errors`` -> ``errors``."""
    return module.split(".")[1]


def _modules() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if p.parent != PACKAGE or p.stem not in {"__init__", "__main__"}
    )


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "yeko_sql":
                found += [(node.lineno, f"yeko_sql.{a.name}") for a in node.names]
    return [(line, m) for line, m in found if m.startswith("yeko_sql.")]


def test_every_module_lives_in_a_known_room() -> None:
    rooms = {_room(_name(p)) for p in _modules()}
    assert rooms <= set(RANK), sorted(rooms - set(RANK))


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_imports_only_go_down_the_layers(path: Path) -> None:
    here = _room(_name(path))
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module} "
        f"({_room(module)} is above {here})"
        for line, module in _imports(path)
        if RANK.get(_room(module), -1) > RANK[here]
    ]
    assert not upward, "\n".join(upward)


def test_the_tree_has_one_folder_per_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == {name for names in LAYERS[1:] for name in names}


def test_the_direction_test_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from yeko_sql.yeko.domain import jobs\nimport yeko_sql.cli\n")
    assert [m for _, m in _imports(sample)] == ["yeko_sql.yeko.domain", "yeko_sql.cli"]


def test_an_old_module_path_still_imports_the_same_module_and_warns() -> None:
    with pytest.warns(DeprecationWarning, match=r"yeko_sql\.ops\.migrate"):
        old = importlib.import_module("yeko_sql.migrate")
    assert old is yeko_sql.ops.migrate
    with pytest.warns(DeprecationWarning, match="moved to yeko_sql.yeko.domain"):
        schools = importlib.import_module("yeko_sql.domain.schools")
    assert schools is yeko_sql.yeko.domain.schools
