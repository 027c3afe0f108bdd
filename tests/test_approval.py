"""PROPOSE mode, reviewing side: the approval node, its interrupt and resume, and the review API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.config import get_config
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.base import BaseStore, Op, PutOp, Result
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from agno_learn_langgraph import (
    InvalidReviewError,
    LearningMachine,
    LearningMode,
    aapprove_proposal,
    aget_proposal,
    alist_pending_proposals,
    approve_proposal,
    aproposal_history,
    areject_proposal,
    get_proposal,
    list_pending_proposals,
    proposal_history,
    reject_proposal,
)
from agno_learn_langgraph.approval import (
    areview_pending,
    create_approval_node,
    create_propose_tools,
    plan_propose,
    plan_review_request,
    review_pending,
)
from agno_learn_langgraph.backends import Backend
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.recall import build_learning_context
from agno_learn_langgraph.records import Proposal
from agno_learn_langgraph.scope import Scope, resolve_scope
from agno_learn_langgraph.stores import entity_memory, learned_knowledge, user_memory, user_profile
from agno_learn_langgraph.stores.proposals import PROPOSALS_NAMESPACE
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

PROPOSE = LearningMode.PROPOSE
MACHINE = LearningMachine(
    learned_knowledge=PROPOSE, user_memory=PROPOSE, user_profile=PROPOSE, entity_memory=PROPOSE
)
ANN = Scope(user_id="ann", thread_id="t1")
CONFIG: Any = {"configurable": {"thread_id": "t1"}}
KNOWLEDGE_CALL = {
    "learning": "Retry HTTP 429 with exponential backoff",
    "title": "Rate limits",
    "rationale": "the API failed twice",
}
MEMORY_CALL = {"learning": "Prefers tea", "target": "user_memory", "rationale": "said so"}


@dataclass
class Ctx:
    user_id: str


CTX = Ctx(user_id="ann")


def build_graph(model: ScriptedChatModel, backend: Backend | None = None) -> Any:
    """agent -> tools -> review_learnings -> agent, the shape the approval node is made for."""
    tools = create_propose_tools(MACHINE)
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("agent", RunnableLambda(agent, afunc=aagent))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review_learnings", create_approval_node(MACHINE))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    if backend is None:
        return builder
    return builder.compile(store=backend.store, checkpointer=backend.checkpointer)


def two_proposals_model() -> ScriptedChatModel:
    calls = ai_tool_calls(
        tool_call("propose_learning", KNOWLEDGE_CALL), tool_call("propose_learning", MEMORY_CALL)
    )
    return ScriptedChatModel([calls, "Both await your review."])


def snapshot(store: BaseStore) -> list[tuple[Any, ...]]:
    """Every item the package wrote, for before/after comparisons."""
    items = store.search(("learning",), limit=10_000)
    return sorted((it.namespace, it.key, json.dumps(it.value, sort_keys=True)) for it in items)


async def asnapshot(store: BaseStore) -> list[tuple[Any, ...]]:
    items = await store.asearch(("learning",), limit=10_000)
    return sorted((it.namespace, it.key, json.dumps(it.value, sort_keys=True)) for it in items)


def ids_by_store(request: dict[str, Any]) -> dict[str, str]:
    return {p["store"]: p["id"] for p in request["proposals"]}


# -- the approval node in a StateGraph -------------------------------------------------------


def test_interrupt_lists_every_pending_proposal(backend: Backend) -> None:
    graph = build_graph(two_proposals_model(), backend)
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    (pending,) = out["__interrupt__"]
    request = pending.value
    assert request["type"] == "learning_review"
    assert request["allowed_decisions"] == ["approve", "edit", "reject"]
    assert "Command(resume=" in request["instructions"]
    # ToolNode runs the two calls concurrently: the payload lists them oldest first
    assert sorted(p["store"] for p in request["proposals"]) == ["learned_knowledge", "user_memory"]
    first = next(p for p in request["proposals"] if p["store"] == "learned_knowledge")
    assert set(first) == {"id", "store", "content", "rationale", "proposed_by", "created_at"}
    assert first["content"]["learning"] == KNOWLEDGE_CALL["learning"]
    assert (first["rationale"], first["proposed_by"]) == ("the API failed twice", "propose")
    json.dumps(request)  # the payload is plain JSON
    enum = pending.response_schema["$defs"]["ApproveDecision"]["properties"]["proposal_id"]["enum"]
    assert sorted(enum) == sorted(p["id"] for p in request["proposals"])
    # the model was told the learnings await review; recall shows them as pending, not facts
    tool_replies = [m.content for m in out["messages"] if m.type == "tool"]
    assert all("awaits human review" in text for text in tool_replies)
    section = build_learning_context(MACHINE, backend.store, ANN, "429 rate limits")
    assert "<relevant_learnings>" not in section and "<user_memory>" not in section
    assert "NOT facts" in section and first["id"] in section


def test_bad_resumes_change_nothing_and_a_good_one_applies(backend: Backend) -> None:
    graph = build_graph(two_proposals_model(), backend)
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    interrupt_id = out["__interrupt__"][0].id
    ids = ids_by_store(out["__interrupt__"][0].value)
    lk, mem = ids["learned_knowledge"], ids["user_memory"]
    before = snapshot(backend.store)
    bad_resumes = [
        (
            {
                "decisions": [
                    {"proposal_id": "prop_nope", "type": "approve"},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "prop_nope",
        ),
        ({"decisions": [{"proposal_id": lk, "type": "approve"}]}, f"No decision for .*{mem}"),
        (
            {
                "decisions": [
                    {"proposal_id": lk, "type": "accept"},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "'accept'.*'approve', 'edit'",
        ),
        (
            {
                "decisions": [
                    {"proposal_id": lk, "type": "edit", "content": {}},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "empty content",
        ),
        (
            {
                "decisions": [
                    {"proposal_id": lk, "type": "edit", "content": {"learning": " "}},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "non-empty 'learning'",
        ),
        (
            {
                "decisions": [
                    {"proposal_id": lk, "type": "approve"},
                    {"proposal_id": lk, "type": "reject"},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "More than one decision",
        ),
        (
            {
                "decisions": [
                    {"proposal_id": lk, "type": "approve", "content": {"title": "x"}},
                    {"proposal_id": mem, "type": "approve"},
                ]
            },
            "content",
        ),
    ]
    asked = out["__interrupt__"][0].value
    for resume, problem in bad_resumes:
        # LangGraph's validation loop: the node asks again, with the problem, instead of raising
        out = graph.invoke(Command(resume=resume), CONFIG, context=CTX)
        (again,) = out["__interrupt__"]
        assert re.search(problem, again.value["error"]), (problem, again.value["error"])
        assert again.value["error"].startswith("Resume refused, nothing applied")
        assert {k: v for k, v in again.value.items() if k != "error"} == asked
        state = graph.get_state(CONFIG)
        assert state.next == ("review_learnings",)
        assert [i.id for i in state.interrupts] == [again.id] != [interrupt_id]
        assert state.interrupts[0].value["error"] == again.value["error"]
        assert snapshot(backend.store) == before
    out = graph.invoke(
        Command(
            resume={
                "decisions": [
                    {"proposal_id": lk, "type": "edit", "content": {"tags": ["http", "retry"]}},
                    {"proposal_id": mem, "type": "reject", "message": "she said coffee"},
                ],
                "reviewer": "rita",
            }
        ),
        CONFIG,
        context=CTX,
    )
    assert "__interrupt__" not in out and out["messages"][-1].content == "Both await your review."
    approved, rejected = get_proposal(backend.store, lk), get_proposal(backend.store, mem)
    assert approved is not None and rejected is not None
    assert (approved.status, approved.reviewer) == ("approved", "rita")
    assert [e.action for e in approved.history] == ["proposed", "edit"]
    assert approved.history[-1].changes == {"tags": {"from": [], "to": ["http", "retry"]}}
    assert approved.content["tags"] == ["http", "retry"]
    assert (rejected.status, rejected.reviewer, rejected.reason) == (
        "rejected",
        "rita",
        "she said coffee",
    )
    assert rejected.decided_at is not None and [e.action for e in rejected.history] == [
        "proposed",
        "reject",
    ]
    # only the approved learning is a fact now, for anyone in the namespace
    other = Scope(user_id="bob", thread_id="t2")
    section = build_learning_context(MACHINE, backend.store, other, "429 rate limits")
    assert "exponential backoff" in section and "<pending_proposals>" not in section
    ann = build_learning_context(MACHINE, backend.store, ANN, "tea")
    assert "Prefers tea" not in ann
    (record,) = run_plan(
        backend.store,
        learned_knowledge.search_learnings(
            learned_knowledge.knowledge_namespace("global", other), "", limit=10, indexed=False
        ),
    )
    assert record.provenance is not None
    assert (record.provenance.mode, record.provenance.proposal_id) == ("propose", lk)
    assert record.tags == ["http", "retry"] and record.id == approved.applied_id
    assert run_plan(backend.store, user_memory.list_memories("ann")) == []


def test_thread_decided_outside_the_graph_continues_without_asking(backend: Backend) -> None:
    graph = build_graph(two_proposals_model(), backend)
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    for p in list_pending_proposals(backend.store, thread_id="t1"):
        approve_proposal(backend.store, p.id, reviewer="ops")
    out = graph.invoke(None, CONFIG, context=CTX)
    assert "__interrupt__" not in out and out["messages"][-1].content == "Both await your review."
    assert not graph.get_state(CONFIG).next
    history = proposal_history(backend.store, thread_id="t1")
    assert [[e.action for e in p.history] for p in history] == [["proposed", "approve"]] * 2
    assert [m.text for m in run_plan(backend.store, user_memory.list_memories("ann"))] == [
        "Prefers tea"
    ]


def test_partly_decided_outside_the_graph_skips_what_was_decided(backend: Backend) -> None:
    graph = build_graph(two_proposals_model(), backend)
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    ids = ids_by_store(out["__interrupt__"][0].value)
    approve_proposal(backend.store, ids["user_memory"], reviewer="ops")
    out = graph.invoke(
        Command(
            resume={
                "decisions": [
                    {"proposal_id": ids["learned_knowledge"], "type": "approve"},
                    {"proposal_id": ids["user_memory"], "type": "reject"},
                ],
                "reviewer": "rita",
            }
        ),
        CONFIG,
        context=CTX,
    )
    assert "__interrupt__" not in out
    lk, mem = (get_proposal(backend.store, ids[s]) for s in ("learned_knowledge", "user_memory"))
    assert lk is not None and mem is not None
    assert (lk.status, lk.reviewer) == ("approved", "rita")
    assert (mem.status, mem.reviewer) == ("approved", "ops")  # decided first, left as it was
    assert [e.action for e in mem.history] == ["proposed", "approve"]


class FailingStore(InMemoryStore):
    """Fails once when a given proposal is written: a crash in the middle of applying decisions."""

    fail_on: str | None = None

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        for op in ops:
            if (
                isinstance(op, PutOp)
                and op.namespace == PROPOSALS_NAMESPACE
                and (op.key == self.fail_on)
            ):
                self.fail_on = None
                raise ConnectionError("store connection lost")
        return super().batch(ops)


def test_a_crash_while_applying_is_healed_exactly_once() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    store = FailingStore()
    graph = build_graph(two_proposals_model()).compile(store=store, checkpointer=InMemorySaver())
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    ids = ids_by_store(out["__interrupt__"][0].value)
    store.fail_on = ids["user_memory"]  # the memory is written, its proposal is not marked
    resume = {
        "decisions": [
            {"proposal_id": ids["learned_knowledge"], "type": "approve"},
            {"proposal_id": ids["user_memory"], "type": "approve"},
        ]
    }
    with pytest.raises(ConnectionError):
        graph.invoke(Command(resume=resume), CONFIG, context=CTX)
    # LangGraph kept the resume value; running the thread again re-runs the node and replays it
    out = graph.invoke(None, CONFIG, context=CTX)
    assert "__interrupt__" not in out
    history = proposal_history(store, thread_id="t1")
    assert [(p.status, [e.action for e in p.history]) for p in history] == [
        ("approved", ["proposed", "approve"]),
        ("approved", ["proposed", "approve"]),
    ]
    assert [m.text for m in run_plan(store, user_memory.list_memories("ann"))] == ["Prefers tea"]
    assert len(store.search(("learning", "learned_knowledge"), limit=100)) == 1


async def test_async_run_interrupts_and_resumes(abackend: Backend) -> None:
    graph = build_graph(two_proposals_model(), abackend)
    out = await graph.ainvoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX)
    ids = ids_by_store(out["__interrupt__"][0].value)
    before = await asnapshot(abackend.store)
    out = await graph.ainvoke(Command(resume={"decisions": []}), CONFIG, context=CTX)
    assert "No decision" in out["__interrupt__"][0].value["error"]
    assert await asnapshot(abackend.store) == before
    out = await graph.ainvoke(
        Command(
            resume={
                "decisions": [
                    {
                        "proposal_id": ids["learned_knowledge"],
                        "type": "reject",
                        "message": "obvious",
                    },
                    {"proposal_id": ids["user_memory"], "type": "approve"},
                ]
            }
        ),
        CONFIG,
        context=CTX,
    )
    assert "__interrupt__" not in out
    history = {p.store: p for p in await aproposal_history(abackend.store, thread_id="t1")}
    assert history["learned_knowledge"].status == "rejected"
    assert history["learned_knowledge"].reviewer == "human"  # DEFAULT_REVIEWER
    assert history["user_memory"].status == "approved"
    assert await alist_pending_proposals(abackend.store) == []


# -- next to HumanInTheLoopMiddleware in create_agent -----------------------------------------


class ReviewLearnings(AgentMiddleware):
    """Stand-in for the package middleware: the approval step as an ``after_agent`` hook."""

    def after_agent(self, state: Any, runtime: Any) -> None:
        review_pending(MACHINE, runtime.store, resolve_scope(runtime.context, get_config()))

    async def aafter_agent(self, state: Any, runtime: Any) -> None:
        await areview_pending(MACHINE, runtime.store, resolve_scope(runtime.context, get_config()))


@tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
async def test_next_to_human_in_the_loop_middleware(use_async: bool) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    store = InMemoryStore()
    model = ScriptedChatModel(
        [
            ai_tool_calls(
                tool_call("propose_learning", KNOWLEDGE_CALL),
                tool_call("send_email", {"to": "ops@example.com", "body": "429s again"}),
            ),
            "Emailed ops; the learning awaits review.",
        ]
    )
    agent: Any = create_agent(
        model,
        tools=[*create_propose_tools(MACHINE), send_email],
        middleware=[
            HumanInTheLoopMiddleware(interrupt_on={"send_email": True}),
            ReviewLearnings(),
        ],
        context_schema=Ctx,
        store=store,
        checkpointer=InMemorySaver(),
    )

    async def run(value: Any) -> Any:
        if use_async:
            return await agent.ainvoke(value, CONFIG, context=CTX)
        return agent.invoke(value, CONFIG, context=CTX)

    out = await run({"messages": [("user", "The API keeps failing; tell ops")]})
    (hitl,) = out["__interrupt__"]
    assert [a["name"] for a in hitl.value["action_requests"]] == ["send_email"]
    out = await run(Command(resume={"decisions": [{"type": "approve"}]}))
    (review,) = out["__interrupt__"]
    assert review.value["type"] == "learning_review"
    (proposal,) = review.value["proposals"]
    out = await run(
        Command(
            resume={
                "decisions": [{"proposal_id": proposal["id"], "type": "approve"}],
                "reviewer": "rita",
            }
        )
    )
    assert "__interrupt__" not in out
    assert isinstance(out["messages"][-1], AIMessage)
    assert any(m.type == "tool" and m.content == "sent to ops@example.com" for m in out["messages"])
    stored = get_proposal(store, proposal["id"])
    assert stored is not None and (stored.status, stored.reviewer) == ("approved", "rita")


def test_a_proposal_arriving_while_waiting_is_asked_about_next_time(backend: Backend) -> None:
    graph = build_graph(two_proposals_model(), backend)
    out = graph.invoke({"messages": [("user", "The API keeps failing")]}, CONFIG, context=CTX)
    ids = ids_by_store(out["__interrupt__"][0].value)
    # background extraction of an earlier turn proposes something while the thread waits
    late = propose(
        backend.store, Scope(user_id="ann", thread_id="t1"), "user_memory", {"text": "Works nights"}
    )
    decisions = [{"proposal_id": i, "type": "approve"} for i in ids.values()]
    out = graph.invoke(Command(resume={"decisions": decisions}), CONFIG, context=CTX)
    assert "__interrupt__" not in out  # the late proposal was not required in this resume
    assert [p.id for p in list_pending_proposals(backend.store, thread_id="t1")] == [late.id]
    # the next review of the thread asks about it
    graph2 = build_graph(ScriptedChatModel(["Noted."]), backend)
    node_out = graph2.invoke({"messages": [("user", "ok")]}, CONFIG, context=CTX)
    assert "__interrupt__" not in node_out  # no tool ran, so no review node this turn
    found = run_plan(
        backend.store, plan_review_request(MACHINE, Scope(user_id="ann", thread_id="t1"))
    )
    assert found is not None and [p["id"] for p in found[0]["proposals"]] == [late.id]


# -- the review API --------------------------------------------------------------------------


def propose(store: BaseStore, scope: Scope, target: Any, content: dict[str, Any]) -> Proposal:
    proposal, outcome = run_plan(
        store, plan_propose(MACHINE, scope, target=target, content=content, rationale="r")
    )
    assert outcome == "created"
    return proposal


def test_review_api_lists_and_decides_across_threads_and_users(store: BaseStore) -> None:
    bob = Scope(user_id="bob", thread_id="t2")
    lk = propose(store, ANN, "learned_knowledge", {"title": "Rate limits", "learning": "Back off"})
    mem = propose(store, ANN, "user_memory", {"text": "Prefers tea"})
    prof = propose(store, bob, "user_profile", {"field": "name", "value": "Bob Stone"})
    ent = propose(store, bob, "entity_memory", {"entity": "Acme", "fact": "Runs Postgres 16"})
    assert [p.id for p in list_pending_proposals(store)] == [lk.id, mem.id, prof.id, ent.id]
    assert [p.id for p in list_pending_proposals(store, user_id="bob")] == [prof.id, ent.id]
    assert [p.id for p in list_pending_proposals(store, thread_id="t1")] == [lk.id, mem.id]
    assert [p.id for p in list_pending_proposals(store, store_name="user_memory")] == [mem.id]

    done = approve_proposal(store, lk.id, reviewer="rita", content={"learning": "Back off 2x"})
    assert (done.status, done.reviewer, done.content["learning"]) == (
        "approved",
        "rita",
        "Back off 2x",
    )
    assert done.history[-1].changes == {"learning": {"from": "Back off", "to": "Back off 2x"}}
    approve_proposal(store, prof.id, reviewer="rita")
    approved_ent = approve_proposal(store, ent.id, reviewer="rita")
    rejected = reject_proposal(store, mem.id, reviewer="rita", reason="she said coffee")
    assert (rejected.status, rejected.reason) == ("rejected", "she said coffee")
    assert list_pending_proposals(store) == []

    (knowledge,) = run_plan(
        store,
        learned_knowledge.search_learnings(
            learned_knowledge.knowledge_namespace("global", ANN), "", limit=5, indexed=False
        ),
    )
    assert knowledge.learning == "Back off 2x" and knowledge.id == done.applied_id
    profile = run_plan(store, user_profile.get_profile("bob"))
    assert profile is not None and profile.name == "Bob Stone"
    assert profile.provenance is not None and profile.provenance.proposal_id == prof.id
    acme = run_plan(
        store, entity_memory.resolve_entity(entity_memory.entity_namespaces("global", bob), "ACME")
    )
    assert acme is not None and [f.text for f in acme.live_facts()] == ["Runs Postgres 16"]
    assert approved_ent.applied_id == f"acme/{acme.live_facts()[0].id}"
    assert run_plan(store, user_memory.list_memories("ann")) == []
    audit = {p.id: p for p in proposal_history(store)}
    assert {p.status for p in audit.values()} == {"approved", "rejected"}
    assert [p.id for p in proposal_history(store, status="rejected")] == [mem.id]


def test_review_api_refuses_what_cannot_be_decided(store: BaseStore) -> None:
    mem = propose(store, ANN, "user_memory", {"text": "Prefers tea"})
    with pytest.raises(InvalidReviewError, match=r"'prop_missing'.*list_pending_proposals"):
        approve_proposal(store, "prop_missing", reviewer="rita")
    with pytest.raises(InvalidReviewError, match="empty content"):
        approve_proposal(store, mem.id, reviewer="rita", content={})
    with pytest.raises(InvalidReviewError, match=r"Unknown field.*'colour'"):
        approve_proposal(store, mem.id, reviewer="rita", content={"colour": "red"})
    reject_proposal(store, mem.id, reviewer="rita", reason="no")
    for decide in (
        lambda: approve_proposal(store, mem.id, reviewer="sam"),
        lambda: reject_proposal(store, mem.id, reviewer="sam"),
    ):
        with pytest.raises(InvalidReviewError, match=r"already rejected by rita at .*UTC"):
            decide()
    stored = get_proposal(store, mem.id)
    assert stored is not None and [e.action for e in stored.history] == ["proposed", "reject"]
    assert get_proposal(store, "prop_missing") is None


async def test_async_review_api_matches_sync(astore: BaseStore) -> None:
    from agno_learn_langgraph.core import arun_plan

    async def apropose(content: dict[str, Any]) -> Proposal:
        proposal, _ = await arun_plan(
            astore, plan_propose(MACHINE, ANN, target="user_memory", content=content, rationale="r")
        )
        return proposal

    tea, jazz = await apropose({"text": "Prefers tea"}), await apropose({"text": "Likes jazz"})
    assert [p.id for p in await alist_pending_proposals(astore, user_id="ann")] == [tea.id, jazz.id]
    approved = await aapprove_proposal(astore, tea.id, reviewer="rita")
    rejected = await areject_proposal(astore, jazz.id, reviewer="rita", reason="no")
    assert (approved.status, rejected.status) == ("approved", "rejected")
    with pytest.raises(InvalidReviewError, match="already approved by rita"):
        await aapprove_proposal(astore, tea.id, reviewer="sam")
    got = await aget_proposal(astore, tea.id)
    assert got is not None and got.applied_id is not None and got.applied_id.startswith("mem_")
    assert [p.status for p in await aproposal_history(astore)] == ["approved", "rejected"]


def test_review_api_twins_show_their_arguments_and_async_ones_are_coroutines() -> None:
    import inspect

    pairs = [
        (list_pending_proposals, alist_pending_proposals),
        (proposal_history, aproposal_history),
        (get_proposal, aget_proposal),
        (approve_proposal, aapprove_proposal),
        (reject_proposal, areject_proposal),
    ]
    for sync, twin in pairs:
        assert twin.__name__ == f"a{sync.__name__}"
        assert inspect.iscoroutinefunction(twin) and not inspect.iscoroutinefunction(sync)
        assert inspect.signature(sync) == inspect.signature(twin)
        assert next(iter(inspect.signature(sync).parameters)) == "store"
    assert list(inspect.signature(approve_proposal).parameters) == [
        "store",
        "proposal_id",
        "reviewer",
        "content",
        "machine",
    ]
    assert "store_name" in inspect.signature(list_pending_proposals).parameters
