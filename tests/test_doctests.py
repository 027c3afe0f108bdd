"""Docstring examples run offline, as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import agno_learn_langgraph

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(agno_learn_langgraph.__path__, "agno_learn_langgraph.")
    if m.name != "agno_learn_langgraph.cli"  # its examples are console sessions (docs/cli.md)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_the_examples_are_there() -> None:
    counted = sum(len(doctest.DocTestFinder().find(importlib.import_module(n))) for n in MODULES)
    assert counted >= 10
