"""PROPOSE mode, proposing side: content shapes, plan_propose and the propose_learning tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from pydantic import Field

from agno_learn_langgraph import (
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    UserProfile,
    UserProfileConfig,
    proposal_history,
    reject_proposal,
)
from agno_learn_langgraph.approval import (
    create_propose_tools,
    normalize_content,
    plan_propose,
)
from agno_learn_langgraph.core import arun_plan, run_plan
from agno_learn_langgraph.errors import LearningInputError, MissingScopeError, UnsupportedModeError
from agno_learn_langgraph.recall import build_learning_context
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.testing import ai_tool_calls, tool_call

PROPOSE = LearningMode.PROPOSE
ANN = Scope(user_id="ann", thread_id="t1", agent_id="helper")
KNOWLEDGE = {"title": "Rate limits", "learning": "Retry HTTP 429 with backoff", "tags": ["http"]}


def all_propose(**kwargs: Any) -> LearningMachine:
    return LearningMachine(
        learned_knowledge=PROPOSE,
        user_memory=PROPOSE,
        user_profile=PROPOSE,
        entity_memory=PROPOSE,
        **kwargs,
    )


# -- content shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("store", "content", "missing"),
    [
        ("learned_knowledge", {"learning": "x"}, "'title'"),
        ("learned_knowledge", {"title": "x", "learning": "  "}, "'learning'"),
        ("user_memory", {}, "'text'"),
        ("user_profile", {"field": "name"}, "'value'"),
        ("entity_memory", {"entity": "Acme"}, "'fact'"),
        ("entity_memory", {"fact": "x"}, "'entity'"),
    ],
)
def test_content_names_the_missing_field(store: str, content: dict[str, Any], missing: str) -> None:
    with pytest.raises(LearningInputError, match=missing):
        normalize_content(store, content)


def test_content_is_cleaned_and_checked() -> None:
    assert normalize_content(
        "learned_knowledge", {"title": " T ", "learning": " L ", "tags": "a, b,", "context": " "}
    ) == {"title": "T", "learning": "L", "context": None, "tags": ["a", "b"]}
    with pytest.raises(LearningInputError, match=r"Unknown field\(s\) 'colour'.*fields: text"):
        normalize_content("user_memory", {"text": "x", "colour": "red"})
    with pytest.raises(LearningInputError, match=r"proposable stores: .*learned_knowledge"):
        normalize_content("decision_log", {"decision": "x"})
    with pytest.raises(LearningInputError, match=r"Unknown profile field.*'age'"):
        normalize_content("user_profile", {"field": "age", "value": "3"})


def test_profile_content_uses_the_machines_schema() -> None:
    class TeamProfile(UserProfile):
        team: str | None = Field(default=None, description="The user's team")

    machine = LearningMachine(user_profile=UserProfileConfig(mode=PROPOSE, schema=TeamProfile))
    assert normalize_content("user_profile", {"field": "team", "value": "infra"}, machine) == {
        "field": "team",
        "value": "infra",
    }


# -- plan_propose -----------------------------------------------------------------------------


def test_propose_stores_a_proposal_with_its_scope(store: BaseStore) -> None:
    machine = all_propose(namespace="acme")
    proposal, outcome = run_plan(
        store,
        plan_propose(
            machine, ANN, target="learned_knowledge", content=KNOWLEDGE, rationale=" why "
        ),
    )
    assert outcome == "created"
    stored = proposal_history(store)
    assert [p.id for p in stored] == [proposal.id]
    got = stored[0]
    assert (got.status, got.store, got.thread_id, got.user_id, got.agent_id) == (
        "proposed",
        "learned_knowledge",
        "t1",
        "ann",
        "helper",
    )
    assert (got.namespace, got.rationale, got.proposed_by) == ("acme", "why", "propose")
    assert got.content == {**KNOWLEDGE, "context": None}
    assert got.fingerprint and [e.action for e in got.history] == ["proposed"]
    # proposed is not a fact: recall lists it as pending only, and not at all for other threads
    section = build_learning_context(machine, store, ANN, "429 rate limits")
    assert "<relevant_learnings>" not in section and f"[{proposal.id}]" in section
    other = build_learning_context(machine, store, Scope(user_id="bob", thread_id="t2"), "429")
    assert proposal.id not in other and "Retry HTTP 429" not in other


def test_identical_pending_proposal_is_returned(store: BaseStore) -> None:
    machine = all_propose()
    first, _ = run_plan(
        store,
        plan_propose(
            machine, ANN, target="user_memory", content={"text": "Likes tea"}, rationale="a"
        ),
    )
    again, outcome = run_plan(
        store,
        plan_propose(
            machine, ANN, target="user_memory", content={"text": " likes TEA! "}, rationale="b"
        ),
    )
    assert (again.id, outcome) == (first.id, "duplicate_pending")
    # a per-user store: the same text for another user is another proposal
    bob = Scope(user_id="bob", thread_id="t9")
    theirs, outcome = run_plan(
        store,
        plan_propose(
            machine, bob, target="user_memory", content={"text": "Likes tea"}, rationale="c"
        ),
    )
    assert outcome == "created" and theirs.id != first.id
    assert len(proposal_history(store)) == 2


def test_rejected_proposal_is_not_raised_again_and_says_so(store: BaseStore) -> None:
    machine = all_propose()
    first, _ = run_plan(
        store,
        plan_propose(machine, ANN, target="learned_knowledge", content=KNOWLEDGE, rationale="a"),
    )
    reject_proposal(store, first.id, reviewer="rita", reason="too obvious")
    other_thread = Scope(user_id="bob", thread_id="t2")
    again, outcome = run_plan(
        store,
        plan_propose(
            machine, other_thread, target="learned_knowledge", content=KNOWLEDGE, rationale="b"
        ),
    )
    assert (again.id, outcome) == (first.id, "previously_rejected")
    assert (again.reviewer, again.reason) == ("rita", "too obvious")
    assert len(proposal_history(store)) == 1


async def test_async_propose_matches_sync(astore: BaseStore) -> None:
    machine = all_propose()
    content = {"entity": "Acme", "entity_type": "company", "fact": "Uses Postgres 16"}
    proposal, outcome = await arun_plan(
        astore,
        plan_propose(
            machine,
            ANN,
            target="entity_memory",
            content=content,
            rationale="said",
            proposed_by="always",
        ),
    )
    assert outcome == "created" and proposal.proposed_by == "always"
    again, outcome = await arun_plan(
        astore, plan_propose(machine, ANN, target="entity_memory", content=content, rationale="x")
    )
    assert (again.id, outcome) == (proposal.id, "duplicate_pending")


def test_propose_errors_for_the_developer() -> None:
    store = InMemoryStore()
    with pytest.raises(UnsupportedModeError, match=r"'user_memory': it is off.*learned_knowledge"):
        run_plan(
            store,
            plan_propose(
                LearningMachine(learned_knowledge=PROPOSE),
                ANN,
                target="user_memory",
                content={"text": "x"},
                rationale="",
            ),
        )
    with pytest.raises(MissingScopeError, match="user_memory needs a user_id"):
        run_plan(
            store,
            plan_propose(
                all_propose(),
                Scope(thread_id="t"),
                target="user_memory",
                content={"text": "x"},
                rationale="",
            ),
        )
    per_user = LearningMachine(
        learned_knowledge=LearnedKnowledgeConfig(mode=PROPOSE, namespace="user")
    )
    with pytest.raises(MissingScopeError, match="namespace='user'"):
        run_plan(
            store,
            plan_propose(
                per_user,
                Scope(thread_id="t"),
                target="learned_knowledge",
                content=KNOWLEDGE,
                rationale="",
            ),
        )


# -- the propose_learning tool ----------------------------------------------------------------


@dataclass
class Ctx:
    user_id: str
    agent_id: str = "helper"


def tools_graph(machine: LearningMachine, store: BaseStore) -> Any:
    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("tools", ToolNode(create_propose_tools(machine)))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    return builder.compile(store=store)


def test_tool_schema_lists_propose_targets_only() -> None:
    assert create_propose_tools(LearningMachine(learned_knowledge=True, user_memory=True)) == []
    machine = LearningMachine(
        user_memory=PROPOSE, learned_knowledge=PROPOSE, user_profile=LearningMode.ALWAYS
    )
    (tool,) = create_propose_tools(machine)
    schema = tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    props = schema["properties"]
    assert props["target"]["enum"] == ["learned_knowledge", "user_memory"]
    assert props["target"]["default"] == "learned_knowledge"
    assert sorted(schema["required"]) == ["learning", "rationale"]
    assert not {"user_id", "thread_id", "agent_id", "runtime"} & set(props)
    assert "awaits review" in tool.description and "user_profile" not in tool.description


def _proposal_calls() -> list[Any]:
    return [
        tool_call(
            "propose_learning",
            {
                "learning": "Retry 429 with backoff",
                "title": "Rate limits",
                "tags": ["http"],
                "rationale": "seen twice",
            },
            id="c1",
        ),
        tool_call(
            "propose_learning",
            {"learning": "Prefers tea", "target": "user_memory", "rationale": "said so"},
            id="c2",
        ),
        tool_call(
            "propose_learning",
            {
                "learning": "Ann Smith",
                "target": "user_profile",
                "field": "name",
                "rationale": "introduced herself",
            },
            id="c3",
        ),
        tool_call(
            "propose_learning",
            {
                "learning": "Runs on Postgres",
                "target": "entity_memory",
                "entity": "Acme",
                "entity_type": "company",
                "rationale": "mentioned",
            },
            id="c4",
        ),
        tool_call("propose_learning", {"learning": "no title", "rationale": "x"}, id="c5"),
        tool_call(
            "propose_learning",
            {"learning": "x", "target": "user_profile", "field": "shoe", "rationale": "x"},
            id="c6",
        ),
    ]


@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
async def test_tool_proposes_every_target_with_ids_from_the_run(use_async: bool) -> None:
    store = InMemoryStore()
    graph = tools_graph(all_propose(), store)
    state = {"messages": [ai_tool_calls(*_proposal_calls())]}
    config = {"configurable": {"thread_id": "t1"}}
    if use_async:
        out = await graph.ainvoke(state, config, context=Ctx(user_id="ann"))
    else:
        out = graph.invoke(state, config, context=Ctx(user_id="ann"))
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    for ok in ("c1", "c2", "c3", "c4"):
        assert replies[ok].status == "success" and "awaits human review" in replies[ok].content
    assert replies["c5"].status == "error" and "'title'" in replies["c5"].content
    assert replies["c6"].status == "error" and "'shoe'" in replies["c6"].content
    stored = {p.store: p for p in proposal_history(store)}
    assert set(stored) == {"learned_knowledge", "user_memory", "user_profile", "entity_memory"}
    assert all(
        (p.user_id, p.thread_id, p.agent_id) == ("ann", "t1", "helper") for p in stored.values()
    )
    assert stored["user_profile"].content == {"field": "name", "value": "Ann Smith"}
    assert stored["entity_memory"].content == {
        "entity": "Acme",
        "entity_type": "company",
        "fact": "Runs on Postgres",
    }
    assert stored["entity_memory"].namespace == "global"
    assert stored["user_memory"].namespace is None


def test_tool_reports_duplicates_and_rejections() -> None:
    store = InMemoryStore()
    graph = tools_graph(all_propose(), store)
    config = {"configurable": {"thread_id": "t1"}}
    call = {"learning": "Prefers tea", "target": "user_memory", "rationale": "said so"}
    first = graph.invoke(
        {"messages": [ai_tool_calls(tool_call("propose_learning", call))]},
        config,
        context=Ctx(user_id="ann"),
    )
    again = graph.invoke(
        {"messages": [ai_tool_calls(tool_call("propose_learning", call))]},
        config,
        context=Ctx(user_id="ann"),
    )
    assert "already awaits human review" in again["messages"][-1].content
    (proposal,) = proposal_history(store)
    assert proposal.id in first["messages"][-1].content
    reject_proposal(store, proposal.id, reviewer="rita", reason="she said coffee")
    later = graph.invoke(
        {"messages": [ai_tool_calls(tool_call("propose_learning", call))]},
        config,
        context=Ctx(user_id="ann"),
    )
    text = later["messages"][-1].content
    assert "Not proposed" in text and "rita" in text and "she said coffee" in text
    assert proposal.id in text and len(proposal_history(store)) == 1


@pytest.mark.parametrize(
    ("stores", "extra"),
    [
        ({"learned_knowledge"}, {"title", "context", "tags"}),
        ({"user_memory"}, set()),
        ({"user_profile"}, {"field"}),
        ({"entity_memory"}, {"entity", "entity_type"}),
        ({"user_memory", "entity_memory"}, {"entity", "entity_type"}),
        (
            {"learned_knowledge", "user_memory", "user_profile", "entity_memory"},
            {"title", "context", "tags", "field", "entity", "entity_type"},
        ),
    ],
)
def test_tool_offers_only_the_fields_of_its_propose_stores(
    stores: set[str], extra: set[str]
) -> None:
    # the other proposable stores are on, in AGENTIC mode: their fields must not be offered
    modes = {
        s: PROPOSE if s in stores else LearningMode.AGENTIC
        for s in ("learned_knowledge", "user_memory", "user_profile", "entity_memory")
    }
    (tool,) = create_propose_tools(LearningMachine(**modes))
    props = tool.tool_call_schema.model_json_schema()["properties"]  # type: ignore[union-attr]
    assert set(props) == {"learning", "rationale", "target"} | extra
    if "field" in extra:
        assert "name" in props["field"]["description"]  # the profile's fields are listed
    for name in extra:
        assert props[name]["description"].split(":")[0] in tool.description


def test_entity_arguments_reach_the_proposal(store: BaseStore) -> None:
    machine = LearningMachine(entity_memory=PROPOSE, learned_knowledge=LearningMode.AGENTIC)
    graph = tools_graph(machine, store)
    args = {"learning": "Pays yearly", "entity": "Acme", "entity_type": "company", "rationale": "r"}
    graph.invoke(
        {"messages": [ai_tool_calls(tool_call("propose_learning", args))]},
        {"configurable": {"thread_id": "t1"}},
        context=Ctx(user_id="ann"),
    )
    (proposal,) = proposal_history(store)
    assert proposal.store == "entity_memory"
    assert proposal.content == {"entity": "Acme", "fact": "Pays yearly", "entity_type": "company"}
