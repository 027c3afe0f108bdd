"""The house rules of the package's layout (issue 17): small modules, one table of store kinds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agno_learn_langgraph.kinds import STORE_NAMES

PACKAGE = Path(__file__).resolve().parents[1] / "agno_learn_langgraph"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 600
MAX_MODULES_PER_STORE_NAME = 3
"""kinds.py (the table), config.py (the store's config class) and the store's own module."""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_600_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it"


@pytest.mark.parametrize("store", STORE_NAMES)
def test_a_store_name_is_spelled_in_at_most_three_modules(store: str) -> None:
    """Other modules ask kinds.py or use the store module's ``NAME``."""
    spelled = sorted(
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if any(
            isinstance(node, ast.Constant) and node.value == store
            for node in ast.walk(ast.parse(path.read_text()))
        )
    )
    assert len(spelled) <= MAX_MODULES_PER_STORE_NAME, f"{store!r} is spelled in {spelled}"
    assert {"kinds.py", f"stores/{store}.py"} <= set(spelled)


def test_no_object_has_its_class_swapped() -> None:
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    assert not (isinstance(target, ast.Attribute) and target.attr == "__class__"), (
                        f"{path.relative_to(PACKAGE)}:{node.lineno} assigns __class__"
                    )
