"""The public surface: one sorted ``__all__``, every name importable, the import stays light."""

from __future__ import annotations

import subprocess
import sys

import agno_learn_langgraph


def test_all_is_sorted_and_importable() -> None:
    names = agno_learn_langgraph.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(agno_learn_langgraph, name) is not None


def test_seed_imports_work() -> None:
    from agno_learn_langgraph import (  # noqa: F401  (the seeds' import line)
        LearnedKnowledgeConfig,
        LearningMachine,
        LearningMode,
        UserMemoryConfig,
        UserProfileConfig,
    )


def test_package_import_does_not_load_the_graph_machinery() -> None:
    code = "import sys, agno_learn_langgraph; print('langgraph.graph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        agno_learn_langgraph.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
