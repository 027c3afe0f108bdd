"""AGENTIC tools in real graphs: a scripted model calls every tool (ToolNode, create_agent)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.core import Plan, arun_plan, gather_plans, run_plan
from agno_learn_langgraph.errors import MissingScopeError, StoreUnavailableError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.recall import build_learning_context
from agno_learn_langgraph.records import LearnedKnowledge, Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import (
    decision_log,
    entity_memory,
    learned_knowledge,
    user_memory,
    user_profile,
)
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from agno_learn_langgraph.tools import create_learning_tools

ALL_AGENTIC = {
    "user_profile": "agentic",
    "user_memory": "agentic",
    "entity_memory": "agentic",
    "learned_knowledge": "agentic",
    "decision_log": "agentic",
}
ALL_TOOLS = [
    "update_user_profile",
    "save_user_memory",
    "delete_user_memory",
    "search_entities",
    "create_entity",
    "update_entity",
    "add_fact",
    "add_event",
    "link_entities",
    "retire_fact",
    "search_learnings",
    "save_learning",
    "log_decision",
    "record_outcome",
    "search_decisions",
]
ALICE = {"user_id": "alice", "thread_id": "t1"}


def machine() -> LearningMachine:
    return LearningMachine(**ALL_AGENTIC)  # type: ignore[arg-type]


def build_graph(tools: list[BaseTool], model: ScriptedChatModel, store: BaseStore | None) -> Any:
    """MessagesState + a scripted agent node + ToolNode, the way a user wires it."""
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    from langchain_core.runnables import RunnableLambda

    builder = StateGraph(MessagesState)
    builder.add_node("agent", RunnableLambda(agent, afunc=aagent))
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(store=store)


# -- a script that calls every tool, reading ids from earlier tool results ---------------------


def found(messages: Sequence[BaseMessage], pattern: str, *, after: str = "") -> str:
    """The first match of ``pattern`` in the newest tool message that contains ``after``."""
    for m in reversed(messages):
        content = str(m.content)
        if isinstance(m, ToolMessage) and after in content and (hit := re.search(pattern, content)):
            return hit.group(1) if hit.groups() else hit.group(0)
    raise AssertionError(f"no tool message matches {pattern!r} after {after!r}")


def step(*calls: Callable[[Sequence[BaseMessage]], tuple[str, dict[str, Any]]]) -> Any:
    """A scripted reply whose tool calls are computed from the conversation so far."""
    return lambda msgs: ai_tool_calls(*(tool_call(*c(msgs)) for c in calls))


def every_tool_script() -> list[Any]:
    fact = r"(fact_[0-9a-f]{12})"
    return [
        ai_tool_calls(
            tool_call("update_user_profile", {"name": "Alice Liddell", "preferred_name": "Al"}),
            tool_call("save_user_memory", {"text": "Works as a data engineer at Acme"}),
            tool_call(
                "create_entity",
                {
                    "name": "Acme Corp",
                    "entity_type": "Company",
                    "aliases": ["Acme", "ACME Inc"],
                    "facts": ["Uses Postgres 15"],
                },
            ),
            tool_call(
                "save_learning",
                {"title": "Postgres upgrades", "learning": "Use pg_upgrade with --link."},
            ),
            tool_call(
                "log_decision",
                {
                    "decision": "Use Postgres for the learning store",
                    "decision_type": "Tool Selection",
                    "alternatives": ["SQLite"],
                    "confidence": 0.8,
                },
            ),
        ),
        step(
            lambda m: (
                "add_fact",
                {
                    "entity": "ACME inc",
                    "fact": "Uses Postgres 16",
                    "supersedes": [found(m, fact, after="Created company")],
                },
            ),
            lambda m: (
                "record_outcome",
                {
                    "decision_id": found(m, r"dec_[0-9a-f]{12}"),
                    "outcome": "Migration went smoothly",
                    "outcome_quality": "good",
                },
            ),
            lambda m: ("save_user_memory", {"text": "Prefers concise answers"}),
            lambda m: ("search_learnings", {"query": "how to upgrade postgres"}),
        ),
        step(
            lambda m: (
                "add_event",
                {"entity": "acme", "event": "Signed the enterprise plan", "date": "2026-01-10"},
            ),
            lambda m: (
                "delete_user_memory",
                {"memory_id": found(m, r"(mem_[0-9a-f]{12})", after="concise")},
            ),
            lambda m: (
                "save_learning",
                {"title": "postgres upgrades", "learning": "Test pg_upgrade on a copy first."},
            ),
            lambda m: (
                "create_entity",
                {
                    "name": "Sarah Chen",
                    "entity_type": "person",
                    "facts": ["Is the CTO of Acme", "Lives in Berlin"],
                },
            ),
        ),
        step(
            lambda m: (
                "link_entities",
                {"entity": "sarah chen", "relation": "works at", "other_entity": "Acme"},
            ),
        ),
        step(
            lambda m: (
                "retire_fact",
                {
                    "entity": "Sarah Chen",
                    "fact_id": found(m, rf", {fact}", after="Created person"),
                },
            ),
            lambda m: ("update_entity", {"entity": "Acme", "description": "A billing SaaS."}),
        ),
        ai_tool_calls(
            tool_call("search_entities", {"query": "postgres"}),
            tool_call(
                "search_decisions",
                {"query": "postgres", "decision_type": "tool selection", "days": 1},
            ),
        ),
        "All done.",
    ]


def snapshot(store_scope: Scope) -> Plan[dict[str, Any]]:
    """What the stores hold for alice, without ids and timestamps."""
    ens = entity_memory.entity_namespaces("global", store_scope)
    kns = learned_knowledge.knowledge_namespace("global", store_scope)
    profile, memories, entities, knowledge, decisions = yield from gather_plans(
        user_profile.get_profile("alice"),
        user_memory.list_memories("alice"),
        entity_memory.list_entities(ens),
        learned_knowledge.search_learnings(kns, "", limit=10, indexed=False),
        decision_log.recent_decisions("default", limit=10),
    )
    return {
        "profile": profile.filled() if profile else None,
        "memories": sorted(m.text for m in memories),
        "entities": {
            e.key: {
                "name": e.name,
                "type": e.entity_type,
                "aliases": sorted(e.aliases),
                "description": e.description,
                "live": [f.text for f in e.live_facts()],
                "retired": [(f.text, f.superseded_by is not None) for f in e.facts if not f.live],
                "events": [(ev.text, ev.date) for ev in e.events],
                "links": sorted((r.relation, r.entity_key, r.direction) for r in e.relationships),
            }
            for e in entities
        },
        "knowledge": sorted((k.title, k.learning) for k in knowledge),
        "decisions": [
            (d.decision, d.decision_type, d.alternatives, d.outcome, d.outcome_quality)
            for d in decisions
        ],
    }


EXPECTED = {
    "profile": {"name": "Alice Liddell", "preferred_name": "Al"},
    "memories": ["Works as a data engineer at Acme"],
    "entities": {
        "acme_corp": {
            "name": "Acme Corp",
            "type": "company",
            "aliases": ["ACME Inc", "Acme"],
            "description": "A billing SaaS.",
            "live": ["Uses Postgres 16"],
            "retired": [("Uses Postgres 15", True)],
            "events": [("Signed the enterprise plan", "2026-01-10")],
            "links": [("works_at", "sarah_chen", "incoming")],
        },
        "sarah_chen": {
            "name": "Sarah Chen",
            "type": "person",
            "aliases": [],
            "description": None,
            "live": ["Is the CTO of Acme"],
            "retired": [("Lives in Berlin", True)],
            "events": [],
            "links": [("works_at", "acme_corp", "outgoing")],
        },
    },
    "knowledge": [("Postgres upgrades", "Test pg_upgrade on a copy first.")],
    "decisions": [
        (
            "Use Postgres for the learning store",
            "tool_selection",
            ["SQLite"],
            "Migration went smoothly",
            "good",
        )
    ],
}


def tool_results(messages: Sequence[BaseMessage]) -> dict[str, list[ToolMessage]]:
    out: dict[str, list[ToolMessage]] = {}
    for m in messages:
        if isinstance(m, ToolMessage):
            out.setdefault(str(m.name), []).append(m)
    return out


def check_run(messages: Sequence[BaseMessage]) -> None:
    results = tool_results(messages)
    assert sorted(results) == sorted(ALL_TOOLS)
    errors = [m.content for ms in results.values() for m in ms if m.status == "error"]
    assert errors == []
    assert messages[-1].content == "All done."
    text = {name: "\n".join(str(m.content) for m in ms) for name, ms in results.items()}
    assert text["update_user_profile"].startswith('Profile updated: name="Alice Liddell"')
    assert re.search(r"Saved memory mem_\w+: \"Works as", text["save_user_memory"])
    assert re.search(r"Created company acme_corp .*facts: fact_\w+", text["create_entity"])
    assert re.search(
        r"Updated company acme_corp: recorded 1 fact \(fact_\w+\); retired fact_\w+",
        text["add_fact"],
    )
    assert 'Updated the existing learning "Postgres upgrades"' in text["save_learning"]
    assert re.search(r"Logged decision dec_\w+", text["log_decision"])
    assert "Recorded the outcome of dec_" in text["record_outcome"]
    assert "Found 1 relevant learning:" in text["search_learnings"]
    assert "Linked person sarah_chen --[works_at]--> company acme_corp" in text["link_entities"]
    assert re.search(
        r"Retired fact_\w+ of person sarah_chen: \"Lives in Berlin\"", text["retire_fact"]
    )
    assert '"Acme Corp" (company) [key: acme_corp]' in text["search_entities"]
    assert "fact [fact_" in text["search_entities"]
    assert "Uses Postgres 15" not in text["search_entities"]
    assert re.search(r"\[dec_\w+\] .*\(tool_selection\) \"Use Postgres", text["search_decisions"])
    assert "outcome (good)" in text["search_decisions"]


def test_scripted_graph_calls_every_tool(store: BaseStore) -> None:
    m = machine()
    tools = create_learning_tools(m)
    assert [t.name for t in tools] == ALL_TOOLS
    graph = build_graph(tools, ScriptedChatModel(every_tool_script()), store)
    out = graph.invoke({"messages": [HumanMessage("Remember all this.")]}, context=ALICE)
    check_run(out["messages"])
    assert run_plan(store, snapshot(Scope(**ALICE))) == EXPECTED

    context = build_learning_context(m, store, Scope(**ALICE), query="What does Acme use?")
    assert '"Alice Liddell"' in context
    assert '"Works as a data engineer at Acme"' in context
    assert '"Uses Postgres 16"' in context and "Postgres 15" not in context
    assert 'works_at <- "Sarah Chen"' in context
    assert "[dec_" in context and "outcome (good)" in context
    assert "<learning_tools>" in context and "save_learning" in context


async def test_async_graph_calls_every_tool(astore: BaseStore) -> None:
    graph = build_graph(
        create_learning_tools(machine()), ScriptedChatModel(every_tool_script()), astore
    )
    out = await graph.ainvoke({"messages": [HumanMessage("Remember all this.")]}, context=ALICE)
    check_run(out["messages"])
    assert await arun_plan(astore, snapshot(Scope(**ALICE))) == EXPECTED


async def test_invoke_and_ainvoke_store_equal_records() -> None:
    sync_store, async_store = InMemoryStore(), InMemoryStore()
    tools = create_learning_tools(machine())
    build_graph(tools, ScriptedChatModel(every_tool_script()), sync_store).invoke(
        {"messages": [HumanMessage("go")]}, context=ALICE
    )
    await build_graph(tools, ScriptedChatModel(every_tool_script()), async_store).ainvoke(
        {"messages": [HumanMessage("go")]}, context=ALICE
    )
    assert run_plan(sync_store, snapshot(Scope(**ALICE))) == await arun_plan(
        async_store, snapshot(Scope(**ALICE))
    )


@dataclass
class Ctx:
    user_id: str
    thread_id: str = "t1"


def test_the_same_tools_work_in_create_agent(store: BaseStore) -> None:
    from langchain.agents import create_agent

    agent = create_agent(
        ScriptedChatModel(every_tool_script()),
        tools=create_learning_tools(machine()),
        store=store,
        context_schema=Ctx,
    )
    out = agent.invoke({"messages": [HumanMessage("Remember all this.")]}, context=Ctx("alice"))
    check_run(out["messages"])
    assert run_plan(store, snapshot(Scope(**ALICE))) == EXPECTED


# -- scoping --------------------------------------------------------------------------------


def test_model_cannot_reach_another_users_data(store: BaseStore) -> None:
    prov = Provenance(mode="api")
    bob_memory, _ = run_plan(store, user_memory.add_memory("bob", "Bob likes tea", prov))
    run_plan(store, user_profile.update_profile("bob", prov, set_fields={"name": "Bob"}))
    tools = create_learning_tools(machine())
    for t in tools:
        props = t.tool_call_schema.model_json_schema()["properties"]
        assert not {"user_id", "thread_id", "agent_id", "runtime"} & set(props), t.name
    script = [
        ai_tool_calls(
            tool_call("save_user_memory", {"text": "Likes coffee", "user_id": "bob"}),
            tool_call("update_user_profile", {"name": "Mallory", "user_id": "bob"}),
        ),
        ai_tool_calls(
            tool_call("delete_user_memory", {"memory_id": bob_memory.id, "user_id": "bob"})
        ),
        "Done.",
    ]
    out = build_graph(tools, ScriptedChatModel(script), store).invoke(
        {"messages": [HumanMessage("I am bob")]},
        context={"user_id": "alice"},
        config={"configurable": {"user_id": "bob"}},  # the context wins over configurable
    )
    results = tool_results(out["messages"])
    assert results["save_user_memory"][0].status == "success"  # the extra arg is ignored
    assert results["delete_user_memory"][0].status == "error"  # bob's id is not alice's
    assert "No memory with id" in str(results["delete_user_memory"][0].content)

    assert [m.text for m in run_plan(store, user_memory.list_memories("bob"))] == ["Bob likes tea"]
    assert [m.text for m in run_plan(store, user_memory.list_memories("alice"))] == ["Likes coffee"]
    bob = run_plan(store, user_profile.get_profile("bob"))
    alice = run_plan(store, user_profile.get_profile("alice"))
    assert bob is not None and bob.name == "Bob"
    assert alice is not None and alice.name == "Mallory"


# -- errors ---------------------------------------------------------------------------------

FIXABLE = [
    ("record_outcome", {"decision_id": "dec_nope", "outcome": "x"}, "No decision with id"),
    ("add_fact", {"entity": "Globex", "fact": "x"}, "No entity named 'Globex'"),
    ("add_fact", {"entity": "Acme", "fact": "x", "supersedes": ["fact_x"]}, "no live fact"),
    ("retire_fact", {"entity": "Acme", "fact_id": "fact_x"}, "no live fact with id 'fact_x'"),
    ("update_entity", {"entity": "Acme"}, "Nothing to update"),
    ("link_entities", {"entity": "Acme", "relation": "owns", "other_entity": "ACME"}, "itself"),
    ("add_event", {"entity": "Acme", "event": " "}, "event is empty"),
    ("save_user_memory", {"text": "   "}, "memory text is empty"),
    ("delete_user_memory", {"memory_id": "mem_nope"}, "No memory with id 'mem_nope'"),
    ("update_user_profile", {}, "No profile field given"),
    ("save_learning", {"title": "T", "learning": ""}, "learning is empty"),
    ("log_decision", {"decision": ""}, "decision is empty"),
    ("log_decision", {"reasoning": "no decision"}, "decision: Field required"),
    ("log_decision", {"decision": "x", "confidence": 2}, "confidence"),
    ("search_decisions", {"days": -1}, "days"),
]


@pytest.mark.parametrize("backend_name", ["memory", "sqlite"], indirect=True)
def test_model_fixable_errors_come_back_as_tool_errors(store: BaseStore) -> None:
    ns = entity_memory.entity_namespaces("global", Scope())
    run_plan(store, entity_memory.create_entity(ns, Provenance(mode="api"), name="Acme"))
    script = [ai_tool_calls(tool_call(name, args)) for name, args, _ in FIXABLE] + ["Sorry."]
    graph = build_graph(create_learning_tools(machine()), ScriptedChatModel(script), store)
    out = graph.invoke({"messages": [HumanMessage("go")]}, context=ALICE)
    replies = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(replies) == len(FIXABLE)
    for reply, (name, _, expected) in zip(replies, FIXABLE, strict=True):
        assert reply.status == "error", (name, reply.content)
        assert expected in str(reply.content), (name, reply.content)
    assert out["messages"][-1].content == "Sorry."


def test_missing_store_and_missing_user_are_raised() -> None:
    tools = create_learning_tools(machine())
    one_call = [ai_tool_calls(tool_call("save_user_memory", {"text": "Likes tea"})), "Done."]
    no_store = build_graph(tools, ScriptedChatModel(one_call), None)
    with pytest.raises(StoreUnavailableError, match="compile"):
        no_store.invoke({"messages": [HumanMessage("hi")]}, context=ALICE)
    no_user = build_graph(tools, ScriptedChatModel(one_call), InMemoryStore())
    with pytest.raises(MissingScopeError, match="user_memory needs a user_id"):
        no_user.invoke({"messages": [HumanMessage("hi")]}, context={"thread_id": "t1"})


def test_missing_user_is_raised_in_create_agent() -> None:
    from langchain.agents import create_agent

    user_ns = LearningMachine(entity_memory={"namespace": "user"})  # type: ignore[arg-type]
    script = [ai_tool_calls(tool_call("search_entities", {"query": "acme"})), "Done."]
    agent = create_agent(
        ScriptedChatModel(script), tools=create_learning_tools(user_ns), store=InMemoryStore()
    )
    with pytest.raises(MissingScopeError, match="namespace='user'"):
        agent.invoke({"messages": [HumanMessage("hi")]})


def test_user_namespace_keeps_entities_per_user() -> None:
    user_ns = LearningMachine(entity_memory={"namespace": "user"})  # type: ignore[arg-type]
    tools = create_learning_tools(user_ns)
    store = InMemoryStore()
    create = [
        ai_tool_calls(tool_call("create_entity", {"name": "Acme", "entity_type": "co"})),
        "ok",
    ]
    build_graph(tools, ScriptedChatModel(create), store).invoke(
        {"messages": [HumanMessage("hi")]}, context={"user_id": "alice"}
    )
    search = [ai_tool_calls(tool_call("search_entities", {"query": "acme"})), "ok"]
    out = build_graph(tools, ScriptedChatModel(search), store).invoke(
        {"messages": [HumanMessage("hi")]}, context={"user_id": "bob"}
    )
    assert (
        tool_results(out["messages"])["search_entities"][0].content
        == 'No entities matching "acme".'
    )


# -- modes ----------------------------------------------------------------------------------


def test_only_agentic_stores_get_tools() -> None:
    always = LearningMachine(user_profile=True, user_memory=True, session_context=True)
    assert create_learning_tools(always) == []
    mixed = LearningMachine(user_memory=True, learned_knowledge=True, decision_log=True)
    assert [t.name for t in create_learning_tools(mixed)] == [
        "search_learnings",
        "save_learning",
        "log_decision",
        "record_outcome",
        "search_decisions",
    ]


def test_every_tool_is_described_for_the_model() -> None:
    for t in create_learning_tools(machine()):
        assert len(t.description) > 40, t.name
        schema = t.tool_call_schema.model_json_schema()
        for arg, spec in schema["properties"].items():
            assert spec.get("description"), f"{t.name}.{arg}"
        assert t.metadata and t.metadata["learning_store"] in ALL_AGENTIC


def propose_machine() -> LearningMachine:
    return LearningMachine(
        user_memory="agentic", entity_memory="propose", learned_knowledge="propose"
    )


def test_propose_stores_keep_search_tools_and_get_propose_learning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_core.tools import StructuredTool

    from agno_learn_langgraph import approval

    fake = StructuredTool.from_function(lambda: "ok", name="propose_learning", description="x")
    monkeypatch.setattr(approval, "create_propose_tools", lambda m: [fake], raising=False)
    names = [t.name for t in create_learning_tools(propose_machine())]
    assert names == [
        "save_user_memory",
        "delete_user_memory",
        "search_entities",
        "search_learnings",
        "propose_learning",
    ]


def test_search_learnings_returns_approved_learnings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from agno_learn_langgraph import approval

    monkeypatch.setattr(approval, "create_propose_tools", lambda m: [], raising=False)
    store = InMemoryStore()
    ns = learned_knowledge.knowledge_namespace("global", Scope())
    prov = Provenance(mode="api")
    run_plan(store, learned_knowledge.save_learning(ns, prov, title="Tea", learning="Brew at 80C"))
    pending = LearnedKnowledge(title="Teas", learning="Brew tea hot", status="proposed")
    store.put(ns, pending.id, {**pending.model_dump(mode="json"), "search_text": "tea"})
    script = [ai_tool_calls(tool_call("search_learnings", {"query": "tea"})), "ok"]
    tools = create_learning_tools(propose_machine())
    out = build_graph(tools, ScriptedChatModel(script), store).invoke(
        {"messages": [HumanMessage("tea?")]}, context=ALICE
    )
    reply = str(tool_results(out["messages"])["search_learnings"][0].content)
    assert "Brew at 80C" in reply and "Brew tea hot" not in reply
