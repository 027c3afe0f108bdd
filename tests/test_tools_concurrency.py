"""One model turn may call several write tools at once: none of their writes may be lost."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.base import BaseStore

from agno_learn_langgraph import LearningMachine, Scope, create_learning_tools
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.stores import entity_memory

N = 12


def turn() -> dict[str, Any]:
    calls = [
        {"name": "create_entity", "args": {"name": "Acme", "entity_type": "company"}, "id": "c0"}
    ]
    first = AIMessage("", tool_calls=calls)
    facts = [
        {"name": "add_fact", "args": {"entity": "Acme", "fact": f"fact number {i}"}, "id": f"f{i}"}
        for i in range(N)
    ]
    return {"first": first, "facts": AIMessage("", tool_calls=facts)}


def graph(store: BaseStore) -> Any:
    tools = create_learning_tools(LearningMachine(entity_memory=True))
    builder = StateGraph(MessagesState).add_node("tools", ToolNode(tools))
    return builder.add_edge(START, "tools").compile(store=store)


def stored_facts(store: BaseStore) -> set[str]:
    ns = entity_memory.entity_namespaces("global", Scope(user_id="u"))
    entity = run_plan(store, entity_memory.resolve_entity(ns, "acme"))
    assert entity is not None
    return {f.text for f in entity.live_facts()}


def test_parallel_fact_writes_in_one_turn_are_all_kept(store: BaseStore) -> None:
    g, msgs = graph(store), turn()
    cfg = {"configurable": {"user_id": "u"}}
    g.invoke({"messages": [msgs["first"]]}, cfg)
    out = g.invoke({"messages": [msgs["facts"]]}, cfg)
    assert all(m.status == "success" for m in out["messages"][1:])
    assert stored_facts(store) == {f"fact number {i}" for i in range(N)}


async def test_parallel_fact_writes_async(astore: BaseStore) -> None:
    g, msgs = graph(astore), turn()
    cfg = {"configurable": {"user_id": "u"}}
    await g.ainvoke({"messages": [msgs["first"]]}, cfg)
    await g.ainvoke({"messages": [msgs["facts"]]}, cfg)
    ns = entity_memory.entity_namespaces("global", Scope(user_id="u"))
    from agno_learn_langgraph.core import arun_plan

    entity = await arun_plan(astore, entity_memory.resolve_entity(ns, "acme"))
    assert entity is not None
    assert {f.text for f in entity.live_facts()} == {f"fact number {i}" for i in range(N)}
