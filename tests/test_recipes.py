"""The ready-wired graphs in nodes/: importable (langgraph.json), and the demo runs offline."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_langgraph_json_graphs_import_and_compile() -> None:
    spec = json.loads((ROOT / "langgraph.json").read_text())
    assert set(spec["graphs"]) == {"always", "agentic", "propose", "combined"}
    for target in spec["graphs"].values():
        path, attr = target.split(":")
        module = importlib.import_module(
            path.removeprefix("./").removesuffix(".py").replace("/", ".")
        )
        graph = getattr(module, attr)
        assert "recall" in graph.get_graph().nodes


@pytest.mark.parametrize(
    ("module", "nodes"),
    [
        ("nodes.always", {"recall", "agent", "learn"}),
        ("nodes.agentic", {"recall", "agent", "tools"}),
        ("nodes.propose", {"recall", "agent", "tools", "review_learnings", "learn"}),
        ("nodes.combined", {"recall", "agent", "tools", "learn"}),
    ],
)
def test_each_recipe_has_the_nodes_its_modes_need(module: str, nodes: set[str]) -> None:
    graph = importlib.import_module(module).graph
    assert set(graph.get_graph().nodes) - {"__start__", "__end__"} == nodes


def test_library_never_imports_nodes() -> None:
    for path in (ROOT / "agno_learn_langgraph").rglob("*.py"):
        text = path.read_text()
        assert "from nodes" not in text and "import nodes" not in text, path


def test_demo_runs_offline_and_shows_every_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    out = subprocess.run(
        [sys.executable, "-m", "nodes.demo", "--db", str(tmp_path / "demo.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    ).stdout
    assert "Model: scripted" in out
    assert 'Preferred Name: "Ali"' in out  # ALWAYS extraction
    assert '"Acme Corp" (company)' in out and "Moved HQ to Berlin" in out  # AGENTIC tools
    assert "Pending proposal prop_" in out and "['proposed'] (not recalled yet)" in out
    bob = out.split("Recall for bob")[1]
    assert "Back off exponentially with jitter" in bob  # approved, shared, recalled
    assert "Alice Chen" not in bob  # never another user's profile
