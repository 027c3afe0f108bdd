"""learning_lifespan: a server that stops drains the pending extraction first, and says so."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import (
    LearningMachine,
    learning_lifespan,
)
from agno_learn_langgraph.background import pending_background_jobs
from agno_learn_langgraph.core import arun_plan
from agno_learn_langgraph.stores import user_profile
from tests.test_shutdown import graph_and_machine


def slow_learning_graph(store: InMemoryStore, delay_s: float) -> tuple[Any, LearningMachine]:
    builder, machine = graph_and_machine(delay_s)
    return builder.compile(store=store), machine


async def test_shutdown_waits_for_pending_extraction_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryStore()
    graph, _machine = slow_learning_graph(store, delay_s=0.5)
    caplog.set_level(logging.WARNING, logger="agno_learn_langgraph.server")
    async with learning_lifespan(None):  # what Starlette does around the server's life
        await graph.ainvoke(
            {"messages": [("user", "I'm Ann")]},
            {"configurable": {"thread_id": "t", "user_id": "a"}},
        )
        assert pending_background_jobs() == 1  # the reply came back before the learning
    assert pending_background_jobs() == 0
    profile = await arun_plan(store, user_profile.get_profile("a"))
    assert profile is not None and profile.name == "Ann"
    assert "waiting for 1 pending learning extraction" in caplog.text
    assert "finished in" in caplog.text


async def test_a_drain_that_times_out_reports_what_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryStore()
    graph, machine = slow_learning_graph(store, delay_s=2.0)
    caplog.set_level(logging.WARNING, logger="agno_learn_langgraph.server")
    async with learning_lifespan(None, timeout=0.1):
        await graph.ainvoke(
            {"messages": [("user", "I'm Ann")]},
            {"configurable": {"thread_id": "t", "user_id": "a"}},
        )
    assert "1 learning extraction(s) still pending" in caplog.text
    await machine.aflush(timeout=30)


async def test_nothing_pending_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agno_learn_langgraph.server")
    async with learning_lifespan(None):
        pass
    assert caplog.text == ""
