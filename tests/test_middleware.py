"""One conversation through every mode: the create_agent middleware and the hand-built graph
store and recall the same records (they are two doors over one core)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

from agno_learn_langgraph import (
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMiddleware,
    LearningMode,
    LearningState,
    create_approval_node,
    create_extraction_node,
    create_learning_tools,
    create_recall_node,
    with_learning_context,
)
from agno_learn_langgraph.backends import Backend, open_store
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call


@dataclass
class Ctx:
    user_id: str
    agent_id: str = "support"


CTX = Ctx("ann@example.com")
CFG = {"configurable": {"thread_id": "thread-1"}}

TOOL_TURN = ai_tool_calls(
    tool_call(
        "create_entity",
        {"name": "Acme", "entity_type": "company", "facts": ["Biggest customer"]},
        id="c1",
    ),
    tool_call(
        "log_decision",
        {"decision": "Prioritise Acme tickets", "reasoning": "Largest account"},
        id="c2",
    ),
    tool_call(
        "propose_learning",
        {
            "title": "Escalations",
            "learning": "Page on-call for Acme",
            "rationale": "Agreed with the user",
        },
        id="c3",
    ),
)
EXTRACTION = {
    "profile": {"set": {"name": "Ann", "preferred_name": "Annie"}, "clear": []},
    "memories": {"add": ["Manages the Acme account"], "update": [], "delete": []},
    "session": {"summary": "Set up Acme escalation handling"},
}


def machine(extractor: BaseChatModel) -> LearningMachine:
    return LearningMachine(
        model=extractor,
        user_profile=True,
        user_memory=True,
        session_context=True,
        entity_memory=True,
        learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.PROPOSE),
        decision_log=True,
        background=False,
    )


def models() -> tuple[ScriptedChatModel, ScriptedChatModel]:
    chat = ScriptedChatModel([TOOL_TURN, "Noted, Annie.", "Hello again."])
    extractor = ScriptedChatModel(structured_responses=[EXTRACTION, {}])
    return chat, extractor


def hand_built(m: LearningMachine, chat: ScriptedChatModel, backend: Backend) -> Any:
    tools = create_learning_tools(m)
    bound = chat.bind_tools(tools)

    def agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [bound.invoke(with_learning_context(state))]}

    async def aagent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(with_learning_context(state))]}

    def route(state: LearningState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "learn"

    b = StateGraph(LearningState, context_schema=Ctx)
    b.add_node("recall", create_recall_node(m))
    b.add_node("agent", RunnableLambda(agent, afunc=aagent))
    b.add_node("tools", ToolNode(tools))
    b.add_node("review_learnings", create_approval_node(m))
    b.add_node("learn", create_extraction_node(m))
    b.add_edge(START, "recall")
    b.add_edge("recall", "agent")
    b.add_conditional_edges("agent", route, ["tools", "learn"])
    b.add_edge("tools", "review_learnings")
    b.add_edge("review_learnings", "agent")
    b.add_edge("learn", END)
    return b.compile(store=backend.store, checkpointer=backend.checkpointer)


def with_middleware(m: LearningMachine, chat: ScriptedChatModel, backend: Backend) -> Any:
    return create_agent(
        chat,
        middleware=[LearningMiddleware(m)],
        store=backend.store,
        checkpointer=backend.checkpointer,
        context_schema=Ctx,
    )


RANDOM_KEYS = {
    "id",
    "created_at",
    "updated_at",
    "provenance",
    "written_at",
    "created_ts",
    "decided_at",
    "at",
    "applied_id",
    "proposal_id",
    "superseded_by",
    "search_text",
    "history",
    "thread_id",
}
RANDOM_ID = re.compile(r"\b(mem|dec|prop|fact|evt)_[0-9a-f]{12}\b")


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in RANDOM_KEYS}
    if isinstance(value, list):
        return sorted((normalise(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str):
        return RANDOM_ID.sub(r"\1_*", value)
    return value


def stored(backend: Backend) -> list[str]:
    items = backend.store.search(("learning",), limit=10_000)
    keep = [it for it in items if it.namespace[1] not in {"cursors", "reviews", "versions"}]
    return sorted(
        json.dumps([it.namespace[:2], normalise(it.value)], sort_keys=True) for it in keep
    )


async def astored(backend: Backend) -> list[str]:
    items = await backend.store.asearch(("learning",), limit=10_000)
    keep = [it for it in items if it.namespace[1] not in {"cursors", "reviews", "versions"}]
    return sorted(
        json.dumps([it.namespace[:2], normalise(it.value)], sort_keys=True) for it in keep
    )


def approve_all(out: dict[str, Any]) -> Command:
    (pending,) = out["__interrupt__"]
    decisions = [{"proposal_id": p["id"], "type": "approve"} for p in pending.value["proposals"]]
    return Command(resume={"decisions": decisions, "reviewer": "rita"})


def system_text(chat: ScriptedChatModel) -> str:
    return "\n".join(m.text for m in chat.calls[-1] if isinstance(m, SystemMessage))


def run_sync(build: Any, backend: Backend) -> tuple[list[str], str]:
    chat, extractor = models()
    graph = build(machine(extractor), chat, backend)
    out = graph.invoke(
        {"messages": [("user", "I'm Ann, call me Annie. Acme matters.")]}, CFG, context=CTX
    )
    out = graph.invoke(approve_all(out), CFG, context=CTX)
    assert "__interrupt__" not in out
    graph.invoke(
        {"messages": [("user", "What do you know about Acme escalations?")]}, CFG, context=CTX
    )
    return stored(backend), system_text(chat)


async def run_async(build: Any, backend: Backend) -> tuple[list[str], str]:
    chat, extractor = models()
    graph = build(machine(extractor), chat, backend)
    out = await graph.ainvoke(
        {"messages": [("user", "I'm Ann, call me Annie. Acme matters.")]}, CFG, context=CTX
    )
    out = await graph.ainvoke(approve_all(out), CFG, context=CTX)
    assert "__interrupt__" not in out
    await graph.ainvoke(
        {"messages": [("user", "What do you know about Acme escalations?")]}, CFG, context=CTX
    )
    return await astored(backend), system_text(chat)


EXPECTED_IN_RECALL = [
    '"Ann"',
    '"Annie"',
    "Manages the Acme account",
    "Set up Acme escalation handling",
    '"Acme" (company)',
    "Biggest customer",
    "Page on-call for Acme",
    "Prioritise Acme tickets",
]


def test_middleware_and_graph_store_and_recall_the_same(
    backend: Backend, backend_name: str, tmp_path: Any
) -> None:
    from agno_learn_langgraph.backends import open_store

    graph_records, graph_prompt = run_sync(hand_built, backend)
    if backend_name == "postgres":  # same database: empty it between the two doors
        for it in backend.store.search(("learning",), limit=10_000):
            backend.store.delete(it.namespace, it.key)
        mw_records, mw_prompt = run_sync(with_middleware, backend)
    else:
        url = ":memory:" if backend_name == "memory" else str(tmp_path / "mw.db")
        with open_store(url) as other:
            mw_records, mw_prompt = run_sync(with_middleware, other)
    assert graph_records == mw_records
    for expected in EXPECTED_IN_RECALL:
        assert expected in graph_prompt and expected in mw_prompt, expected


async def test_async_middleware_and_graph_match(
    abackend: Backend, backend_name: str, tmp_path: Any
) -> None:
    from agno_learn_langgraph.backends import aopen_store

    graph_records, graph_prompt = await run_async(hand_built, abackend)
    if backend_name == "postgres":
        for it in await abackend.store.asearch(("learning",), limit=10_000):
            await abackend.store.adelete(it.namespace, it.key)
        mw_records, mw_prompt = await run_async(with_middleware, abackend)
    else:
        url = ":memory:" if backend_name == "memory" else str(tmp_path / "mw.db")
        async with aopen_store(url) as other:
            mw_records, mw_prompt = await run_async(with_middleware, other)
    assert graph_records == mw_records
    for expected in EXPECTED_IN_RECALL:
        assert expected in graph_prompt and expected in mw_prompt, expected


# -- the same case through both doors -------------------------------------------------------------


@pytest.mark.parametrize("build", [hand_built, with_middleware], ids=["graph", "middleware"])
@pytest.mark.parametrize("run_async_path", [False, True], ids=["sync", "async"])
async def test_both_doors_wait_for_the_previous_turns_extraction(
    build: Any, run_async_path: bool
) -> None:
    """With ``wait_for_extraction_s`` the next turn recalls what the slow extraction learned."""
    chat = ScriptedChatModel(["Hi Ann!", "You work at Acme."])
    intro = {"memories": {"add": ["Works at Acme as a data engineer"], "update": [], "delete": []}}
    extractor = ScriptedChatModel(structured_responses=[intro, {}], structured_delay_s=0.4)
    m = LearningMachine(model=extractor, user_memory=True, wait_for_extraction_s=10)
    with open_store(":memory:") as backend:
        graph = build(m, chat, backend)
        for text in ["I'm Ann, a data engineer at Acme", "Where do I work?"]:
            if run_async_path:
                await graph.ainvoke({"messages": [("user", text)]}, CFG, context=CTX)
            else:
                graph.invoke({"messages": [("user", text)]}, CFG, context=CTX)
        assert "Works at Acme as a data engineer" in system_text(chat)  # no flush in between


@pytest.mark.parametrize("build", [hand_built, with_middleware], ids=["graph", "middleware"])
def test_both_doors_do_not_wait_by_default(build: Any) -> None:
    """``wait_for_extraction_s=0`` never delays a turn: the slow extraction is not seen yet."""
    chat = ScriptedChatModel(["Hi Ann!", "I don't know yet."])
    intro = {"memories": {"add": ["Works at Acme as a data engineer"], "update": [], "delete": []}}
    extractor = ScriptedChatModel(structured_responses=[intro, {}], structured_delay_s=0.5)
    m = LearningMachine(model=extractor, user_memory=True)
    with open_store(":memory:") as backend:
        graph = build(m, chat, backend)
        for text in ["I'm Ann, a data engineer at Acme", "Where do I work?"]:
            graph.invoke({"messages": [("user", text)]}, CFG, context=CTX)
        assert "Works at Acme" not in system_text(chat)
