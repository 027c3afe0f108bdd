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


@pytest.mark.parametrize("module", ["nodes.agentic", "nodes.propose", "nodes.combined"])
def test_recipes_answer_a_cut_off_tool_call_and_keep_the_thread_valid(module: str) -> None:
    from langchain_core.messages import BaseMessage, ToolMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from agno_learn_langgraph.testing import ScriptedChatModel
    from tests.test_invalid_tool_calls import cut_off, openai_ordering_errors

    requests: list[list[BaseMessage]] = []

    def answer(messages: list[BaseMessage]) -> str:
        requests.append(list(messages))
        return f"Answer {len(requests)}."

    recipe = importlib.import_module(module)
    chat = ScriptedChatModel([cut_off(), answer, answer])
    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    graph = recipe.build_graph(chat, extraction_model=extractor).compile(
        store=InMemoryStore(), checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t"}}
    ctx = {"user_id": "alice"}
    try:
        first = graph.invoke({"messages": [("user", "Log it.")]}, config, context=ctx)
        graph.invoke({"messages": [("user", "And?")]}, config, context=ctx)
    finally:
        recipe.MACHINE.flush()
    error = next(m for m in first["messages"] if isinstance(m, ToolMessage))
    assert error.status == "error" and error.tool_call_id == "call_cut"
    assert first["messages"][-1].content == "Answer 1."
    assert [openai_ordering_errors(r) for r in requests] == [[], []]
