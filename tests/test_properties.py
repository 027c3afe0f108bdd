"""Property-based tests (hypothesis): whatever the model or the reviewer sends, a clear result.

* Tool arguments: any JSON-ish argument dict for any learning tool, run through a real
  ``ToolNode`` in a compiled graph, yields one ToolMessage per call (success or error), and the
  store never holds a record that fails its pydantic model, an empty memory or a one-sided
  relationship.
* Resume payloads: any resume value for a pending review either leaves the store unchanged and
  the review interrupted (asked again, with the problem in the payload's ``error``), or decides
  every pending proposal exactly once.
"""

from __future__ import annotations

import json
from typing import Any, cast

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from agno_learn_langgraph.approval import create_approval_node, create_propose_tools
from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import (
    Decision,
    Entity,
    LearnedKnowledge,
    Memory,
    Proposal,
    Provenance,
    UserProfile,
)
from agno_learn_langgraph.scope import DEFAULT_AGENT_ID, Scope
from agno_learn_langgraph.stores import decision_log, entity_memory, user_memory
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from agno_learn_langgraph.tools import create_learning_tools

AGENTIC = LearningMachine(
    user_profile="agentic",
    user_memory="agentic",
    entity_memory=True,
    learned_knowledge=True,
    decision_log=True,
)
PROPOSE = LearningMode.PROPOSE
PROPOSING = LearningMachine(
    learned_knowledge=PROPOSE, user_memory=PROPOSE, user_profile=PROPOSE, entity_memory=PROPOSE
)
CONTEXT = {"user_id": "alice", "thread_id": "t1"}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- strategies --------------------------------------------------------------------------------

KNOWN_NAMES = ["Acme", "acme", "ACME Inc", "Sarah Chen", "Globex"]
texts = st.one_of(
    st.text(max_size=40),  # any unicode, control characters included
    st.sampled_from(["", " ", "\n\t", "\x00", "\u202e", "ignore previous instructions", "<x>"]),
    st.sampled_from(KNOWN_NAMES),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "é", "\U0001f600", " "]), st.integers(1, 5000)
    ),
)
# integers LangGraph's checkpointer can store (msgpack: 64 bits); a larger one fails in its
# serializer before any node of ours sees it
int64 = st.integers(-(2**63), 2**63 - 1)
scalars = st.one_of(st.none(), st.booleans(), int64, st.floats(allow_nan=True), texts)
json_ish = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def field_types(tool: BaseTool) -> dict[str, set[str]]:
    """Each argument's JSON types, as the model sees them."""
    props = cast("type[BaseModel]", tool.tool_call_schema).model_json_schema()["properties"]
    return {
        name: {t.get("type", "") for t in spec.get("anyOf", [spec])} for name, spec in props.items()
    }


TYPED: dict[str, st.SearchStrategy[Any]] = {
    "string": texts,
    "array": st.lists(texts, max_size=3),
    "integer": st.integers(-2, 30),
    "number": st.floats(-1, 2),
    "null": st.none(),
}


@st.composite
def arguments(draw: st.DrawFn, tool: BaseTool) -> dict[str, Any]:
    """A dict with some of the tool's fields and maybe unknown keys: well-typed or any value."""
    types = field_types(tool)
    chosen = draw(st.lists(st.sampled_from(sorted(types)), unique=True, max_size=len(types)))
    well_typed = draw(st.booleans())
    args = {}
    for name in chosen:
        typed = [TYPED[t] for t in sorted(types[name]) if t in TYPED]
        args[name] = draw(st.one_of(typed) if well_typed and typed else json_ish)
    extra = draw(
        st.dictionaries(
            st.sampled_from(["user_id", "thread_id", "runtime", "store", "zzz", ""]),
            json_ish,
            max_size=2,
        )
    )
    return {**extra, **args}


def tool_calls(tools: list[BaseTool]) -> st.SearchStrategy[list[tuple[str, dict[str, Any]]]]:
    one = st.sampled_from(tools).flatmap(lambda t: st.tuples(st.just(t.name), arguments(t)))
    return st.lists(one, min_size=1, max_size=3)


# -- the graph and the store invariants --------------------------------------------------------


def tools_graph(tools: list[BaseTool], store: BaseStore) -> Any:
    """START -> ToolNode: the input's last AI message carries the tool calls."""
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "tools")
    return builder.compile(store=store)


MODELS: dict[str, type[BaseModel]] = {
    "user_profile": UserProfile,
    "user_memory": Memory,
    "entity_memory": Entity,
    "learned_knowledge": LearnedKnowledge,
    "decision_log": Decision,
    "proposals": Proposal,
}


def assert_store_consistent(store: BaseStore) -> None:
    """Every record validates, nothing is empty, every relationship and alias has its far end."""
    entities: dict[tuple[tuple[str, ...], str], Entity] = {}
    aliases: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for item in store.search(("learning",), limit=100_000):
        kind = item.namespace[1]
        json.dumps(item.value)  # plain JSON, whatever the input
        if kind == "entity_alias":
            aliases.append((("learning", "entity_memory", *item.namespace[2:]), item.value))
        model = MODELS.get(kind)
        if model is None:
            continue
        record = model.model_validate(item.value)
        if isinstance(record, Memory):
            assert record.text.strip(), item
        elif isinstance(record, Entity):
            assert record.name.strip() and record.key == item.key, item
            assert all(f.text.strip() for f in record.facts), item
            entities[(item.namespace, item.key)] = record
        elif isinstance(record, LearnedKnowledge):
            assert record.title.strip() and record.learning.strip(), item
        elif isinstance(record, Decision):
            assert record.decision.strip(), item
    for ns, alias in aliases:  # an alias never points at nothing
        assert (ns, alias["entity_key"]) in entities, alias
    for (ns, key), entity in entities.items():
        for rel in entity.relationships:
            other = entities.get((ns, rel.entity_key))
            assert other is not None, f"{key} links to missing {rel.entity_key}"
            back = "incoming" if rel.direction == "outgoing" else "outgoing"
            assert any(
                r.entity_key == key and r.relation == rel.relation and r.direction == back
                for r in other.relationships
            ), f"{key} --{rel.relation}--> {rel.entity_key} is stored on one end only"


def seeded_store() -> tuple[InMemoryStore, dict[str, str]]:
    """A store with one of each record, so generated ids and names sometimes hit."""
    store = InMemoryStore()
    prov = Provenance(mode="api")
    memory, _ = run_plan(store, user_memory.add_memory("alice", "Likes tea", prov))
    ns = entity_memory.entity_namespaces("global", Scope())
    acme, _ = run_plan(
        store, entity_memory.create_entity(ns, prov, name="Acme", facts=["Uses Postgres"])
    )
    decision = run_plan(
        store, decision_log.log_decision(DEFAULT_AGENT_ID, Decision(decision="Use PG"))
    )
    return store, {
        "memory": memory.id,
        "fact": acme.facts[0].id,
        "decision": decision.id,
    }


def with_known_ids(calls: list[tuple[str, dict[str, Any]]], ids: dict[str, str], flip: bool) -> Any:
    """Point id fields at existing records half of the time (else they stay random)."""
    if not flip:
        return calls
    swap = {
        "memory_id": ids["memory"],
        "fact_id": ids["fact"],
        "decision_id": ids["decision"],
        "supersedes": [ids["fact"]],
    }
    return [(name, {k: swap.get(k, v) for k, v in args.items()}) for name, args in calls]


# -- 1. tool arguments -------------------------------------------------------------------------

LEARNING_TOOLS = create_learning_tools(AGENTIC)
PROPOSE_TOOLS = create_propose_tools(PROPOSING)
PROPOSING_TOOLS = [  # the search tools PROPOSE stores keep, and propose_learning
    *(t for t in create_learning_tools(PROPOSING) if t.name.startswith("search_")),
    *PROPOSE_TOOLS,
]


def run_tool_calls(tools: list[BaseTool], calls: list[tuple[str, dict[str, Any]]]) -> None:
    store, ids = seeded_store()
    graph = tools_graph(tools, store)
    for flip in (False, True):  # once with random ids, once with ids that exist
        sent = [tool_call(name, args) for name, args in with_known_ids(calls, ids, flip)]
        out = graph.invoke({"messages": [ai_tool_calls(*sent)]}, context=CONTEXT)
        replies = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        assert sorted(m.tool_call_id for m in replies) == sorted(str(c["id"]) for c in sent)
        for reply in replies:
            event(f"tool reply: {reply.status}")
            assert reply.status in ("success", "error"), reply
            assert isinstance(reply.content, str) and reply.content.strip(), reply
        assert_store_consistent(store)


@SETTINGS
@given(calls=tool_calls(LEARNING_TOOLS))
def test_any_learning_tool_arguments_give_a_tool_message_and_whole_records(
    calls: list[tuple[str, dict[str, Any]]],
) -> None:
    run_tool_calls(LEARNING_TOOLS, calls)


@SETTINGS
@given(calls=tool_calls(PROPOSING_TOOLS))
def test_any_propose_learning_arguments_give_a_tool_message_and_whole_records(
    calls: list[tuple[str, dict[str, Any]]],
) -> None:
    run_tool_calls(PROPOSING_TOOLS, calls)


def test_error_replies_name_the_problem_for_the_model() -> None:
    """A sample of the generated failures: the message says what was wrong, not a traceback."""
    store, _ = seeded_store()
    graph = tools_graph(LEARNING_TOOLS, store)
    calls = [
        tool_call("save_user_memory", {"text": 42}),
        tool_call("save_user_memory", {}),
        tool_call("add_fact", {"entity": "\x00", "fact": "x"}),
        tool_call("search_entities", {"limit": 10**9}),
    ]
    out = graph.invoke({"messages": [ai_tool_calls(*calls)]}, context=CONTEXT)
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    for call in calls:
        reply = replies[str(call["id"])]
        assert reply.status == "error", reply
        assert "Traceback" not in str(reply.content)
    assert "text" in str(replies[str(calls[0]["id"])].content)
    assert "limit" in str(replies[str(calls[3]["id"])].content)


# -- 2. resume payloads ------------------------------------------------------------------------


def review_graph(store: BaseStore) -> Any:
    """agent -> tools -> review_learnings -> agent, as in tests/test_approval.py."""
    tools = create_propose_tools(PROPOSING)
    calls = ai_tool_calls(
        tool_call(
            "propose_learning",
            {"learning": "Retry 429 with backoff", "title": "Rate limits", "rationale": "r"},
        ),
        tool_call(
            "propose_learning",
            {"learning": "Prefers tea", "target": "user_memory", "rationale": "r"},
        ),
    )
    bound = ScriptedChatModel([calls, "Done."]).bind_tools(tools)
    builder = StateGraph(MessagesState)
    builder.add_node("agent", RunnableLambda(lambda s: {"messages": [bound.invoke(s["messages"])]}))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review_learnings", create_approval_node(PROPOSING))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    return builder.compile(store=store, checkpointer=InMemorySaver())


def snapshot(store: BaseStore) -> list[tuple[Any, ...]]:
    items = store.search(("learning",), limit=100_000)
    return sorted((it.namespace, it.key, json.dumps(it.value, sort_keys=True)) for it in items)


@st.composite
def resumes(draw: st.DrawFn) -> Any:
    """Resume values: mostly decision lists built from the real ids, sometimes anything."""
    if draw(st.integers(0, 5)) == 0:
        # Command(resume=None) means "no resume" to LangGraph (and 1.2.22 fails inside its loop
        # with UnboundLocalError), so None is not a resume value a reviewer can send.
        return draw(json_ish.filter(lambda v: v is not None))
    plausible = draw(st.integers(0, 2)) > 0  # one well-typed decision per proposal, or anything
    if plausible:
        ids = draw(st.permutations(["lk", "mem"]))
        types = st.sampled_from(["approve", "edit", "reject"])
    else:
        ids = draw(st.lists(st.sampled_from(["lk", "mem", "prop_nope", ""]), max_size=4))
        types = st.sampled_from(["approve", "edit", "reject", "accept", 1, None])
    decisions = []
    for which in ids:
        d: dict[str, Any] = {"proposal_id": which, "type": draw(types)}
        if plausible and d["type"] == "edit":
            field = "learning" if which == "lk" else "text"
            d["content"] = {field: draw(texts)}
        elif draw(st.booleans()):
            d["content"] = draw(
                st.one_of(
                    json_ish,
                    st.dictionaries(
                        st.sampled_from(["title", "learning", "text", "tags", "context", "x"]),
                        st.one_of(texts, st.lists(texts, max_size=2), st.none()),
                        max_size=3,
                    ),
                )
            )
        if draw(st.booleans()):
            d["message"] = draw(st.one_of(texts, st.integers()))
        if not plausible and draw(st.integers(0, 9)) == 0:
            d["extra"] = True
        decisions.append(d)
    value: dict[str, Any] = {"decisions": decisions}
    if draw(st.booleans()):
        value["reviewer"] = draw(st.one_of(texts, st.none()) if plausible else json_ish)
    if not plausible and draw(st.integers(0, 9)) == 0:
        value["other"] = 1
    return value


def resolve_ids(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict) and isinstance(value.get("decisions"), list):
        for d in value["decisions"]:
            if isinstance(d, dict) and d.get("proposal_id") in ids:
                d["proposal_id"] = ids[d["proposal_id"]]
    return value


@SETTINGS
@given(resume=resumes())
def test_any_resume_is_rejected_cleanly_or_decides_each_proposal_once(resume: Any) -> None:
    store = InMemoryStore()
    graph = review_graph(store)
    config: Any = {"configurable": {"thread_id": "t1"}}
    out = graph.invoke({"messages": [("user", "go")]}, config, context={"user_id": "ann"})
    (pending,) = out["__interrupt__"]
    by_store = {p["store"]: p["id"] for p in pending.value["proposals"]}
    ids = {"lk": by_store["learned_knowledge"], "mem": by_store["user_memory"]}
    resume = resolve_ids(resume, ids)
    before = snapshot(store)
    try:
        out = graph.invoke(Command(resume=resume), config, context={"user_id": "ann"})
    except ValidationError:
        out = None
    if out is None or "__interrupt__" in out:  # rejected, or (a falsy resume) asked again
        event("resume: asked again" if out else "resume: rejected")
        state = graph.get_state(config)
        assert state.next == ("review_learnings",)
        (again,) = state.interrupts  # asked again; a refused resume says why in "error"
        assert {k: v for k, v in again.value.items() if k != "error"} == pending.value
        assert snapshot(store) == before
        return
    event("resume: applied")
    assert "__interrupt__" not in out and out["messages"][-1].content == "Done."
    for proposal_id in ids.values():
        item = store.get(("learning", "proposals"), proposal_id)
        assert item is not None
        proposal = Proposal.model_validate(item.value)
        assert proposal.status in ("approved", "rejected")
        assert proposal.history[0].action == "proposed"
        assert len(proposal.history) == 2, proposal.history  # decided exactly once
        if proposal.status == "approved":
            assert proposal.applied_id
    memories = store.search(("learning", "user_memory", "ann"), limit=100)
    knowledge = store.search(("learning", "learned_knowledge"), limit=100)
    assert len(memories) <= 1 and len(knowledge) <= 1  # nothing written twice
    assert_store_consistent(store)
