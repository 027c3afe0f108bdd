"""Leaving open_store() while a background extraction runs loses nothing and crashes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph

from agno_learn_langgraph import (
    LearningMachine,
    LearningState,
    aopen_store,
    create_extraction_node,
    open_store,
)
from agno_learn_langgraph.core import arun_plan, run_plan
from agno_learn_langgraph.stores import user_profile
from agno_learn_langgraph.testing import ScriptedChatModel


def graph_and_machine(delay_s: float = 0.5) -> tuple[Any, LearningMachine]:
    """An uncompiled graph whose extraction of the profile name "Ann" takes ``delay_s``."""
    extractor = ScriptedChatModel(
        structured_responses=[{"profile": {"set": {"name": "Ann"}}}], structured_delay_s=delay_s
    )
    machine = LearningMachine(model=extractor, user_profile=True)

    def agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [AIMessage("Hi Ann")]}

    builder = StateGraph(LearningState)
    builder.add_node("agent", agent)
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "learn")
    builder.add_edge("learn", END)
    return builder, machine


def url_for(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend_name == "sqlite":
        return str(tmp_path / "learn.db")
    db = request.getfixturevalue("pg_database")
    db.reset()
    return str(db.url)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_leaving_open_store_waits_for_background_extraction(
    backend_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = url_for(backend_name, tmp_path, request)
    builder, machine = graph_and_machine()
    with open_store(url) as backend:
        graph = builder.compile(store=backend.store, checkpointer=backend.checkpointer)
        graph.invoke(
            {"messages": [("user", "I'm Ann")]},
            {"configurable": {"thread_id": "t", "user_id": "ann"}},
        )
        assert machine.runner.stats.pending == 1  # still extracting when the block ends
    with open_store(url) as backend:
        profile = run_plan(backend.store, user_profile.get_profile("ann"))
    assert profile is not None and profile.name == "Ann"
    machine.close()


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
async def test_leaving_aopen_store_waits_for_background_extraction(
    backend_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = url_for(backend_name, tmp_path, request)
    builder, machine = graph_and_machine()
    async with aopen_store(url) as backend:
        graph = builder.compile(store=backend.store, checkpointer=backend.checkpointer)
        await graph.ainvoke(
            {"messages": [("user", "I'm Ann")]},
            {"configurable": {"thread_id": "t", "user_id": "ann"}},
        )
        assert machine.runner.stats.pending == 1
    async with aopen_store(url) as backend:
        profile = await arun_plan(backend.store, user_profile.get_profile("ann"))
    assert profile is not None and profile.name == "Ann"
    await machine.aclose()
