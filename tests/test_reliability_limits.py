"""Oversized inputs: a clear limit error or a bounded run, never a hang or an unbounded prompt.

* A 1 MB memory through ``save_user_memory`` or from extraction: refused with an error naming the
  limit (``MAX_TEXT_CHARS``) and the fix; nothing is stored; the turn goes on.
* 10,000 entities in one namespace: ``search_entities`` and recall answer, bounded.
* A 1 MB user message through recall: answered, and the rendered section stays small.
* Whatever the size of a stored value or of the model's arguments, what reaches the prompt
  (recall, tool replies) is capped.

The whole file must finish well within ``FILE_BUDGET_S``: this guards against hangs, it is not a
performance test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.core import MAX_TEXT_CHARS, put, run_plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.extraction import extract_learnings
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.recall import build_learning_context
from agno_learn_langgraph.records import Entity, Memory, Provenance, fingerprint
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import entity_memory, user_memory
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from agno_learn_langgraph.tools import create_learning_tools

MB = 1_000_000
FILE_BUDGET_S = 30.0
PROMPT_BUDGET = 20_000
"""Most characters a recalled section or a tool reply may have, whatever was stored or sent."""
ANN = Scope(user_id="ann", thread_id="t1")
MACHINE = LearningMachine(user_memory="agentic", entity_memory="agentic", learned_knowledge=True)
ENTITY_NS = entity_memory.entity_namespaces("global", Scope())


@pytest.fixture(scope="module", autouse=True)
def whole_file_is_bounded() -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < FILE_BUDGET_S, f"oversized inputs took {elapsed:.1f} s"


def megabyte_text(seed: str = "word") -> str:
    """1 MB of words that match queries (a worst case for ranking), not one long token."""
    return " ".join(f"{seed}{i % 5000}" for i in range(MB // 6))[:MB]


def run_tools(store: BaseStore, *calls: Any) -> dict[str, ToolMessage]:
    """Run tool calls through a real ToolNode; the replies by tool call id."""
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(create_learning_tools(MACHINE)))
    builder.add_edge(START, "tools")
    graph: Any = builder.compile(store=store)
    out = graph.invoke({"messages": [ai_tool_calls(*calls)]}, context={"user_id": "ann"})
    return {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}


# -- a 1 MB memory ----------------------------------------------------------------------------


def test_a_one_megabyte_memory_from_a_tool_is_refused_naming_the_limit() -> None:
    store = InMemoryStore()
    big, fine = (
        tool_call("save_user_memory", {"text": megabyte_text()}),
        tool_call("save_user_memory", {"text": "Prefers short answers"}),
    )
    start = time.perf_counter()
    replies = run_tools(store, big, fine)
    assert time.perf_counter() - start < 10
    refused = replies[str(big["id"])]
    assert refused.status == "error"
    assert f"{MAX_TEXT_CHARS:,}" in str(refused.content) and "MAX_TEXT_CHARS" in str(
        refused.content
    )
    assert "short statement" in str(refused.content)  # the fix, for the model
    assert len(str(refused.content)) < PROMPT_BUDGET
    assert replies[str(fine["id"])].status == "success"  # the other call of the turn is unaffected
    memories = run_plan(store, user_memory.list_memories("ann"))
    assert [m.text for m in memories] == ["Prefers short answers"]


def test_text_at_the_limit_is_stored_whole_and_recalled_capped() -> None:
    store = InMemoryStore()
    text = ("tea " * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS]
    replies = run_tools(store, tool_call("save_user_memory", {"text": text}))
    (reply,) = replies.values()
    assert reply.status == "success" and len(str(reply.content)) < PROMPT_BUDGET
    (stored,) = run_plan(store, user_memory.list_memories("ann"))
    assert stored.text == text.strip()
    section = build_learning_context(MACHINE, store, ANN, "tea")
    assert "tea tea" in section and len(section) < PROMPT_BUDGET


def test_every_store_refuses_oversized_or_nul_text_before_writing() -> None:
    """The limit lives in ``put``: every store's writes pass through it, whoever calls them."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "text is 20,001 characters"),
        ({"facts": [{"text": "ok"}, {"text": "x" * MB}]}, "facts[1].text is 1,000,000"),
        ({"text": "a\x00b"}, "NUL"),
    ]
    for value, problem in cases:
        with pytest.raises(LearningInputError, match=problem.replace("[", r"\[")):
            put(("learning", "x"), "k", value)
    prov = Provenance(mode="api")
    store = InMemoryStore()
    with pytest.raises(LearningInputError, match="MAX_TEXT_CHARS"):
        run_plan(
            store,
            entity_memory.create_entity(ENTITY_NS, prov, name="Acme", facts=["ok", "x" * MB]),
        )
    with pytest.raises(LearningInputError, match="MAX_TEXT_CHARS"):
        run_plan(store, entity_memory.create_entity(ENTITY_NS, prov, name="y" * MB))
    assert store.search(("learning",), limit=10) == []  # nothing half-written


def test_a_one_megabyte_memory_from_extraction_is_skipped_and_the_rest_learned() -> None:
    store = InMemoryStore()
    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": [megabyte_text(), "Uses Postgres"]}}]
    )
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    messages: list[BaseMessage] = [
        HumanMessage("I use Postgres", id="1"),
        AIMessage("Noted.", id="2"),
    ]
    start = time.perf_counter()
    report = extract_learnings(machine, store, ANN, messages)
    assert time.perf_counter() - start < 10
    assert report.status == "applied"
    assert any("MAX_TEXT_CHARS" in change for change in report.changes)  # logged, skipped
    memories = run_plan(store, user_memory.list_memories("ann"))
    assert [m.text for m in memories] == ["Uses Postgres"]
    assert run_plan(store, get_cursor("t1")) == "2"  # the turn is done, not retried forever


def test_a_megabyte_memory_stored_before_the_limit_is_recalled_capped() -> None:
    """Data written directly (an import, an older version) still renders bounded."""
    store = InMemoryStore()
    text = megabyte_text()
    memory = Memory(text=text, fingerprint=fingerprint(text))
    ns = user_memory.memory_namespace("ann")
    store.put(ns, memory.id, {**memory.model_dump(mode="json"), "search_text": text})
    start = time.perf_counter()
    section = build_learning_context(MACHINE, store, ANN, "word42")
    assert time.perf_counter() - start < 10
    assert "word42" in section and len(section) < PROMPT_BUDGET


# -- 10,000 entities --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_thousand_entities() -> InMemoryStore:
    """One namespace with 10,000 entities, written in bulk (the shape the store plans write)."""
    store = InMemoryStore()
    prov = Provenance(mode="api")
    ops = []
    for i in range(10_000):
        entity = Entity(
            key=entity_memory.entity_key(f"Project {i}"),
            name=f"Project {i}",
            entity_type="project",
            provenance=prov,
        )
        entity.facts = []
        text = entity_memory.entity_text(entity) + f" owned by team {i % 97}"
        ops.append(put(ENTITY_NS[0], entity.key, entity.model_dump(mode="json"), search_text=text))
    store.batch(ops)
    run_plan(store, entity_memory.create_entity(ENTITY_NS, prov, name="Acme", facts=["Uses PG"]))
    return store


def test_search_entities_among_ten_thousand_is_bounded(
    ten_thousand_entities: InMemoryStore,
) -> None:
    store = ten_thousand_entities
    calls = [
        tool_call("search_entities", {"query": "Project 4242"}),
        tool_call("search_entities", {"query": "team 5", "limit": 20}),
        tool_call("search_entities", {}),
        tool_call("search_entities", {"query": megabyte_text("project")}),
    ]
    start = time.perf_counter()
    replies = run_tools(store, *calls)
    assert time.perf_counter() - start < 15
    exact = str(replies[str(calls[0]["id"])].content)
    assert exact.startswith("Found") and '1. "Project 4242"' in exact
    assert str(replies[str(calls[1]["id"])].content).startswith("Found 20 entities")
    assert str(replies[str(calls[2]["id"])].content).startswith("Found 5 entities")
    for reply in replies.values():
        assert reply.status == "success" and len(str(reply.content)) < PROMPT_BUDGET


def test_recall_over_ten_thousand_entities_with_a_megabyte_message_is_bounded(
    ten_thousand_entities: InMemoryStore,
) -> None:
    store = ten_thousand_entities
    for message in ["What does Acme use?", megabyte_text("project"), "é" * MB, "Acme " * (MB // 5)]:
        start = time.perf_counter()
        section = build_learning_context(MACHINE, store, ANN, message)
        assert time.perf_counter() - start < 5, len(message)
        assert len(section) < PROMPT_BUDGET
    assert "Uses PG" in build_learning_context(MACHINE, store, ANN, "Acme " * (MB // 5))


def test_tool_errors_about_huge_arguments_stay_short() -> None:
    """An error that quotes the model's argument must not send 1 MB back into the prompt."""
    store = InMemoryStore()
    huge = "x" * MB
    calls = [
        tool_call("add_fact", {"entity": huge, "fact": "f"}),
        tool_call("delete_user_memory", {"memory_id": huge}),
        tool_call("save_user_memory", {"text": 12345}),
        tool_call("link_entities", {"entity": huge, "relation": "r", "other_entity": "y"}),
    ]
    replies = run_tools(store, *calls)
    for call in calls:
        reply = replies[str(call["id"])]
        assert reply.status == "error", reply
        assert len(str(reply.content)) < PROMPT_BUDGET, (call["name"], len(str(reply.content)))


def test_a_one_megabyte_edit_in_a_resume_is_refused_before_anything_is_applied() -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from agno_learn_langgraph.approval import create_approval_node, create_propose_tools

    machine = LearningMachine(learned_knowledge=LearningMode.PROPOSE)
    tools = create_propose_tools(machine)
    proposal = tool_call(
        "propose_learning", {"learning": "Retry 429", "title": "Rate limits", "rationale": "r"}
    )
    bound = ScriptedChatModel([ai_tool_calls(proposal), "Done."]).bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review", create_approval_node(machine))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges(
        "agent", lambda s: "tools" if s["messages"][-1].tool_calls else "__end__"
    )
    builder.add_edge("tools", "review")
    builder.add_edge("review", "agent")
    store = InMemoryStore()
    graph: Any = builder.compile(store=store, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t1"}}
    out = graph.invoke({"messages": [HumanMessage("go")]}, config, context={"user_id": "ann"})
    (pending,) = out["__interrupt__"]
    (asked,) = pending.value["proposals"]
    before = sorted((it.key, str(it.value)) for it in store.search(("learning",), limit=100))
    edit = {"proposal_id": asked["id"], "type": "edit", "content": {"learning": "x" * MB}}
    out = graph.invoke(Command(resume={"decisions": [edit]}), config, context={"user_id": "ann"})
    error = out["__interrupt__"][0].value["error"]  # asked again, with the problem
    assert "MAX_TEXT_CHARS" in error and len(error) < PROMPT_BUDGET
    assert graph.get_state(config).next == ("review",)
    after = sorted((it.key, str(it.value)) for it in store.search(("learning",), limit=100))
    assert after == before
