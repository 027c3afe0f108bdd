"""The package's imports point down its layers only (ARCHITECTURE.md draws the same list).

Every module of ``agno_learn_langgraph`` belongs to one layer; a module may import from its own
layer and those below it, never from a layer above. Imports inside functions count too: a lazy
import is still a dependency. A new module must be given a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agno_learn_langgraph"

LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("scope",),
    ("kinds", "records"),
    ("config",),
    ("background",),
    ("compat",),
    ("core",),
    ("index",),
    ("stores",),
    ("prompts", "render"),
    ("machine", "graph_node", "backends", "remote", "server"),
    ("recall", "approval"),
    ("extraction", "tools"),
    ("turn",),
    ("graph", "middleware"),
    ("cli",),
    ("testing",),
]
"""Bottom first. A name is a module or a subpackage of ``agno_learn_langgraph``."""

EXEMPT = {"__init__"}
"""The package's ``__init__`` re-exports the public names of every layer (lazily)."""


def layer_of(module: str) -> int:
    """The layer of ``agno_learn_langgraph.<module>`` (its first dotted part decides)."""
    head = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(
        f"agno_learn_langgraph.{module} has no layer: add it to LAYERS in {Path(__file__).name} "
        "and to the map in ARCHITECTURE.md."
    )


def package_modules() -> dict[str, Path]:
    """``{dotted name below the package: path}`` for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(path: Path, module: str) -> set[str]:
    """The ``agno_learn_langgraph`` modules that ``path`` imports (absolute or relative)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                names = [".".join(["agno_learn_langgraph", *base, *(node.module or "").split(".")])]
                names = [n.rstrip(".") for n in names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.startswith("agno_learn_langgraph."):
                found.add(name.removeprefix("agno_learn_langgraph."))
    return found


MODULES = package_modules()


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if module not in EXEMPT:
            layer_of(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in EXEMPT))
def test_imports_point_down(module: str) -> None:
    mine = layer_of(module)
    upward = sorted(
        f"{target} (layer {layer_of(target)})"
        for target in imported(MODULES[module], module)
        if layer_of(target) > mine
    )
    assert not upward, (
        f"agno_learn_langgraph.{module} (layer {mine}) imports upward: {', '.join(upward)}. "
        "Move the shared code down, or pass it in."
    )


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a low module importing a door is reported."""
    bad = tmp_path / "scope.py"
    bad.write_text("def f():\n    from agno_learn_langgraph.middleware import LearningMiddleware\n")
    targets = imported(bad, "scope")
    assert targets == {"middleware"}
    assert layer_of("middleware") > layer_of("scope")
