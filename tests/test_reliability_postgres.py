"""Reliability on a real PostgreSQL: the connection dropping mid-write, and users under load.

* A connection killed while background extraction writes: the user's turn still answers, the
  cursor stays, the next turn learns what was missed, nothing stored is lost or duplicated.
* Every pooled connection killed between turns: the next turn works (the pool reconnects).
* A connection killed while a tool writes: the run fails loudly (no "saved" reply that is not
  true) and no entity holds one end of a relationship.
* Several users in parallel threads, through tools and extraction: each recalled section holds
  only its caller's markers.

The connection is dropped the way a server restart or a network cut does it:
``pg_terminate_backend`` on the store's backend, here while its write waits on a table lock the
test holds, so the kill lands inside the write.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.base import BaseStore, Op, PutOp, Result
from pydantic import BaseModel

from agno_learn_langgraph.backends import Backend
from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.core import arun_plan, run_plan
from agno_learn_langgraph.extraction import create_extraction_node
from agno_learn_langgraph.graph import LearningState, create_recall_node, with_learning_context
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.recall import abuild_learning_context
from agno_learn_langgraph.records import Entity, Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import entity_memory, user_memory
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from agno_learn_langgraph.tools import create_learning_tools

pytestmark = pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)

USER = "ann"
THREAD = "t1"


# -- dropping the store's connection --------------------------------------------------------


SPARED: set[int] = set()
"""Server pids never killed: the fixtures' own connection (it empties the tables)."""


@pytest.fixture(autouse=True)
def spare_the_fixture_connection(pg_database: Any) -> None:
    SPARED.add(pg_database._conn.info.backend_pid)


def terminate_backends(url: str, where: str = "TRUE") -> int:
    """Kill the store's server connections: every other one of this database but ``keep``,
    each waited for until it is gone (as after a server restart)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name <> 'keep' AND NOT (pid = ANY(%s)) AND " + where,
            (sorted(SPARED),),
        ).fetchall()
    return len(rows)


@contextmanager
def kill_during_write(url: str) -> Iterator[None]:
    """Hold a lock that blocks writes to the store table, then kill whoever waits on it."""
    with psycopg.connect(url, application_name="keep") as locker:
        locker.execute("LOCK TABLE store IN SHARE ROW EXCLUSIVE MODE")  # reads still pass
        killed = threading.Event()

        def kill_the_waiting_writer() -> None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not killed.is_set():
                if terminate_backends(url, "wait_event_type = 'Lock'"):
                    killed.set()
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_the_waiting_writer, daemon=True)
        killer.start()
        try:
            yield
        finally:
            killer.join(timeout=15)
            locker.rollback()
        assert killed.is_set(), "no write waited on the lock: nothing was killed"


class DropOnNthWrite(BaseStore):
    """Delegates to ``inner``; the ``n``-th batch that writes has its connection killed."""

    def __init__(self, inner: BaseStore, url: str, n: int) -> None:
        self.inner, self.url, self.n = inner, url, n
        self.writes = 0
        self.dropped = 0

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        if any(isinstance(op, PutOp) for op in ops):
            self.writes += 1
            if self.writes == self.n:
                self.dropped += 1
                with kill_during_write(self.url):
                    return self.inner.batch(ops)
        return self.inner.batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:  # pragma: no cover - sync tests
        raise NotImplementedError


# -- graphs ---------------------------------------------------------------------------------


def turn_graph(
    machine: LearningMachine,
    agent: ScriptedChatModel,
    backend: Backend,
    store: BaseStore | None = None,
    tools: Sequence[BaseTool] = (),
) -> Any:
    """recall -> agent (-> tools -> agent)* -> learn, on the backend's store and checkpointer."""
    bound = agent.bind_tools(list(tools)) if tools else agent

    def call_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [bound.invoke(with_learning_context(state))]}

    builder = StateGraph(LearningState)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", RunnableLambda(call_agent))
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    if tools:
        builder.add_node("tools", ToolNode(list(tools)))
        builder.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: "learn"})
        builder.add_edge("tools", "agent")
    else:
        builder.add_edge("agent", "learn")
    builder.add_edge("learn", END)
    return builder.compile(store=store or backend.store, checkpointer=backend.checkpointer)


def cfg(user: str = USER, thread: str = THREAD) -> Any:
    return {"configurable": {"thread_id": thread, "user_id": user}}


def prompt_of(messages: Sequence[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def memory_texts(store: BaseStore, user: str = USER) -> list[str]:
    return sorted(m.text for m in run_plan(store, user_memory.list_memories(user)))


# -- 1. the connection drops while background extraction writes -------------------------------


def test_dropped_connection_during_extraction_loses_and_duplicates_nothing(
    backend: Backend, backend_url: str
) -> None:
    prov = Provenance(mode="api")
    run_plan(backend.store, user_memory.add_memory(USER, "Likes tea", prov))

    prompts: list[str] = []

    def extract(messages: list[BaseMessage]) -> dict[str, Any]:
        prompts.append(prompt_of(messages))
        return {"memories": {"add": ["Uses Postgres", "Deploys on Fridays"]}}

    extractor = ScriptedChatModel(structured_responses=[extract], cycle=True)
    machine = LearningMachine(
        model=extractor, user_memory=LearningMode.ALWAYS, max_retries=1, retry_backoff_s=0.01
    )
    # writes of the run: the turn's outbox record, the 1st memory, then the 2nd memory, whose
    # connection drops: the 1st is stored, the 2nd is not
    flaky = DropOnNthWrite(backend.store, backend_url, n=3)
    agent = ScriptedChatModel(["Noted.", "Good luck."])
    graph = turn_graph(machine, agent, backend, store=flaky)

    out = graph.invoke({"messages": [("user", "I use Postgres")]}, cfg())
    assert out["messages"][-1].content == "Noted."  # the turn itself is unaffected
    machine.flush(timeout=30)
    # the store error is retried like a model error: the retry re-reads turn 1 and writes what
    # the dropped write missed, without duplicating what was stored
    assert flaky.dropped == 1 and machine.runner.stats.failed == 0
    assert extractor.structured_call_count == 2 and "I use Postgres" in prompts[1]
    assert memory_texts(backend.store) == ["Deploys on Fridays", "Likes tea", "Uses Postgres"]
    assert run_plan(backend.store, get_cursor(THREAD)) is not None  # the cursor moved

    out = graph.invoke({"messages": [("user", "We deploy on Fridays")]}, cfg())
    assert out["messages"][-1].content == "Good luck."  # the pool recovered
    assert "Deploys on Fridays" in out["learning_context"]  # learned last turn, recalled now
    machine.flush(timeout=30)
    assert machine.runner.stats.failed == 0
    assert "I use Postgres" not in prompts[2]  # turn 1 is not extracted again
    # nothing is lost or duplicated
    assert memory_texts(backend.store) == ["Deploys on Fridays", "Likes tea", "Uses Postgres"]
    assert extractor.structured_call_count == 3


def test_every_pooled_connection_killed_between_turns_the_next_turn_works(
    backend: Backend, backend_url: str
) -> None:
    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": ["Uses Postgres"]}}, {}], cycle=True
    )
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS, background=False)
    agent = ScriptedChatModel(["Noted.", "You use Postgres."])
    graph = turn_graph(machine, agent, backend)
    graph.invoke({"messages": [("user", "I use Postgres")]}, cfg())
    assert memory_texts(backend.store) == ["Uses Postgres"]

    assert terminate_backends(backend_url) >= 1  # a server restart, as the pool sees it
    out = graph.invoke({"messages": [("user", "What do I use?")]}, cfg())
    assert out["messages"][-1].content == "You use Postgres."
    assert "Uses Postgres" in out["learning_context"]
    assert memory_texts(backend.store) == ["Uses Postgres"]


async def test_async_pool_recovers_when_its_connections_are_killed(
    abackend: Backend, backend_url: str
) -> None:
    machine = LearningMachine(user_memory="agentic")
    memory = user_memory.add_memory(USER, "Uses Postgres", Provenance(mode="api"))
    await arun_plan(abackend.store, memory)
    assert terminate_backends(backend_url) >= 1
    section = await abuild_learning_context(machine, abackend.store, Scope(USER, THREAD), "pg")
    assert "Uses Postgres" in section


# -- 2. the connection drops while a tool writes ----------------------------------------------

AGENTIC = LearningMachine(user_memory="agentic", entity_memory="agentic")


def entities(store: BaseStore) -> dict[str, Entity]:
    ns = entity_memory.entity_namespaces("global", Scope())
    return {e.key: e for e in run_plan(store, entity_memory.list_entities(ns, limit=100))}


def test_dropped_connection_during_a_tool_write_is_an_error_and_writes_nothing_half(
    backend: Backend, backend_url: str
) -> None:
    ns = entity_memory.entity_namespaces("global", Scope())
    prov = Provenance(mode="api")
    run_plan(
        backend.store, entity_memory.create_entity(ns, prov, name="Sarah", entity_type="person")
    )
    run_plan(
        backend.store, entity_memory.create_entity(ns, prov, name="Acme", entity_type="company")
    )
    before = entities(backend.store)
    tools = create_learning_tools(AGENTIC)
    link = tool_call(
        "link_entities", {"entity": "Sarah", "relation": "works_at", "other_entity": "Acme"}
    )
    agent = ScriptedChatModel([ai_tool_calls(link), ai_tool_calls(link), "Linked."])  # 1st run dies
    flaky = DropOnNthWrite(backend.store, backend_url, n=1)
    graph = turn_graph(AGENTIC, agent, backend, store=flaky, tools=tools)

    with pytest.raises(psycopg.OperationalError):
        graph.invoke({"messages": [("user", "Sarah works at Acme")]}, cfg(thread="t-drop"))
    assert flaky.dropped == 1
    after = entities(backend.store)
    assert after == before  # both ends or neither: here neither
    assert all(not e.relationships for e in after.values())

    # the retry (a new run) succeeds on a fresh connection and stores both ends
    out = graph.invoke({"messages": [("user", "Sarah works at Acme")]}, cfg(thread="t-retry"))
    (reply,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert reply.status == "success" and "stored on both" in str(reply.content)
    linked = entities(backend.store)
    assert [(r.relation, r.entity_key, r.direction) for r in linked["sarah"].relationships] == [
        ("works_at", "acme", "outgoing")
    ]
    assert [(r.relation, r.entity_key, r.direction) for r in linked["acme"].relationships] == [
        ("works_at", "sarah", "incoming")
    ]


def test_dropped_connection_during_save_user_memory_is_not_reported_as_saved(
    backend: Backend, backend_url: str
) -> None:
    tools = create_learning_tools(AGENTIC)
    save = tool_call("save_user_memory", {"text": "Prefers window seats"})
    agent = ScriptedChatModel([ai_tool_calls(save), ai_tool_calls(save), "Saved."])
    flaky = DropOnNthWrite(backend.store, backend_url, n=1)
    graph = turn_graph(AGENTIC, agent, backend, store=flaky, tools=tools)
    with pytest.raises(psycopg.OperationalError):
        graph.invoke({"messages": [("user", "I like window seats")]}, cfg(thread="t-a"))
    assert memory_texts(backend.store) == []
    graph.invoke({"messages": [("user", "I like window seats")]}, cfg(thread="t-b"))
    assert memory_texts(backend.store) == ["Prefers window seats"]


# -- 3. isolation under load ------------------------------------------------------------------

USERS = [f"user{i}" for i in range(6)]
TURNS = 3
MARKER = re.compile(r"mark-(user\d+)-")


def test_parallel_users_through_tools_and_extraction_never_see_each_other(
    backend: Backend,
) -> None:
    def agent_reply(messages: list[BaseMessage]) -> AIMessage | str:
        human = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        if isinstance(messages[-1], ToolMessage):
            return "Noted."
        (user, n) = re.findall(r"I am (user\d+), turn (\d+)", str(human.content))[0]
        text = f"Tool note mark-{user}-{n}"
        return ai_tool_calls(tool_call("save_user_memory", {"text": text, "user_id": "user0"}))

    def extract(messages: list[BaseMessage]) -> dict[str, Any]:
        turns = re.findall(r"I am (user\d+), turn (\d+)", prompt_of(messages))
        user = turns[-1][0]
        return {
            "profile": {"set": {"name": f"Name mark-{user}-profile"}},
            "entities": [
                {"entity": f"Project mark-{user}-{n}", "entity_type": "project", "facts": []}
                for _, n in turns
            ],
        }

    extractor = ScriptedChatModel(structured_responses=[extract], cycle=True)
    machine = LearningMachine(
        model=extractor,
        user_profile=LearningMode.ALWAYS,
        user_memory=LearningMode.AGENTIC,
        entity_memory=LearningMode.ALWAYS,
        namespace="user",
    )
    agent = ScriptedChatModel([agent_reply], cycle=True)
    graph = turn_graph(machine, agent, backend, tools=create_learning_tools(machine))
    sections: dict[str, list[str]] = {u: [] for u in USERS}
    errors: list[BaseException] = []

    def run_user(user: str) -> None:
        try:
            for n in range(TURNS):
                out = graph.invoke(
                    {"messages": [("user", f"I am {user}, turn {n}")]},
                    {"configurable": {"thread_id": f"th-{user}"}},
                    context={"user_id": user},
                )
                sections[user].append(out["learning_context"])
            machine.flush(timeout=30)
            final = graph.invoke(
                {"messages": [("user", f"I am {user}, turn {TURNS}")]},
                {"configurable": {"thread_id": f"th-{user}"}},
                context={"user_id": user},
            )
            sections[user].append(final["learning_context"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    start = time.perf_counter()
    threads = [threading.Thread(target=run_user, args=(u,)) for u in USERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    machine.flush(timeout=30)
    assert not errors, errors
    assert time.perf_counter() - start < 120

    leaks = [
        (user, other)
        for user, texts in sections.items()
        for text in texts
        for other in MARKER.findall(text)
        if other != user
    ]
    assert leaks == []
    for user in USERS:  # and the check had something to look at
        last = sections[user][-1]
        assert f"Tool note mark-{user}-0" in last, last
        assert f"Name mark-{user}-profile" in last, last
        assert f"Project mark-{user}-0" in last, last
    for user in USERS:  # in the store too: every memory belongs to its user
        texts = memory_texts(backend.store, user)
        assert texts == sorted(f"Tool note mark-{user}-{n}" for n in range(TURNS + 1))


# -- 4. text PostgreSQL cannot store ------------------------------------------------------------

EVERY_TOOL = LearningMachine(
    user_profile="agentic",
    user_memory="agentic",
    entity_memory=True,
    learned_knowledge=True,
    decision_log=True,
)


def test_nul_characters_in_any_tool_argument_give_tool_messages_not_a_crash(
    backend: Backend,
) -> None:
    """PostgreSQL refuses ``\\x00`` in text: on every backend a tool error, not a failed run."""
    tools = create_learning_tools(EVERY_TOOL)
    run_plan(backend.store, user_memory.add_memory(USER, "Likes tea", Provenance(mode="api")))
    ns = entity_memory.entity_namespaces("global", Scope())
    run_plan(backend.store, entity_memory.create_entity(ns, Provenance(mode="api"), name="Acme"))
    calls = []
    for t in tools:
        props = cast("type[BaseModel]", t.tool_call_schema).model_json_schema()["properties"]
        for field, spec in props.items():
            types = {s.get("type") for s in spec.get("anyOf", [spec])}
            value: Any = ["a\x00b"] if "array" in types else "a\x00b"
            if "string" not in types and "array" not in types:
                continue
            args = {"entity": "Acme", "text": "x", "fact": "x", "event": "x", "title": "x"}
            args |= {"learning": "x", "decision": "x", "relation": "r", "other_entity": "Bob"}
            calls.append(tool_call(t.name, {**args, field: value}))
    builder = StateGraph(LearningState)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "tools")
    graph: Any = builder.compile(store=backend.store)
    for call in calls:  # one at a time: a failure names its call
        out = graph.invoke({"messages": [ai_tool_calls(call)]}, cfg())
        (reply,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        assert reply.status in ("success", "error"), (call, reply)
    for item in backend.store.search(("learning",), limit=1000):
        assert "\x00" not in str(item.value)
