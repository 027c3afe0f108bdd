"""One worker process of ``test_multiprocess_writes``: tool writes through a LangGraph graph.

Run as ``python tests/multiprocess_writer.py <store url> <worker number> <rounds>``. It opens
the store (async, as a deployed graph does), prints ``ready``, waits for ``go`` on stdin, then
per round sends one model turn whose tool calls run at once: set this worker's own profile
field, add this worker's fact to the shared ``"global"`` entity Acme, and save the memory text
every worker saves that round. The first turn only creates Acme, in every worker at once.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import Field, create_model

from agno_learn_langgraph import (
    EntityMemoryConfig,
    LearningMachine,
    LearningMode,
    UserMemoryConfig,
    UserProfile,
    UserProfileConfig,
    create_learning_tools,
)
from agno_learn_langgraph.backends import aopen_store

WORKERS = 4
USER = "ann"


def field_name(worker: int, round_: int) -> str:
    return f"w{worker}_r{round_}"


def profile_schema(rounds: int) -> type[UserProfile]:
    """A profile with one field per worker and round."""
    fields: dict[str, Any] = {
        field_name(w, r): (str | None, Field(default=None))
        for w in range(WORKERS)
        for r in range(rounds)
    }
    return create_model("ManyFieldsProfile", __base__=UserProfile, **fields)


def machine(rounds: int) -> LearningMachine:
    agentic = LearningMode.AGENTIC
    return LearningMachine(
        user_profile=UserProfileConfig(mode=agentic, schema=profile_schema(rounds)),
        user_memory=UserMemoryConfig(mode=agentic),
        entity_memory=EntityMemoryConfig(mode=agentic),
    )


def memory_text(round_: int) -> str:
    return f"Shares memory number {round_} with every worker"


def fact_text(worker: int, round_: int) -> str:
    return f"Worker {worker} fact number {round_}"


def turn(worker: int, round_: int) -> AIMessage:
    """Round ``-1`` creates the shared entity (every worker at once); then three writes."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("update_user_profile", {field_name(worker, round_): f"value {worker}.{round_}"}),
        ("add_fact", {"entity": "Acme", "fact": fact_text(worker, round_)}),
        ("save_user_memory", {"text": memory_text(round_)}),
    ]
    if round_ < 0:
        calls = [("create_entity", {"name": "Acme", "entity_type": "company"})]
    return AIMessage(
        "",
        tool_calls=[
            {"name": name, "args": args, "id": f"w{worker}r{round_}c{i}"}
            for i, (name, args) in enumerate(calls)
        ],
    )


async def main(url: str, worker: int, rounds: int) -> None:
    async with aopen_store(url) as backend:
        tools = create_learning_tools(machine(rounds))
        builder = StateGraph(MessagesState).add_node("tools", ToolNode(tools))
        graph = builder.add_edge(START, "tools").compile(store=backend.store)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": every worker starts at once
        for round_ in range(-1, rounds):
            config: Any = {"configurable": {"user_id": USER, "thread_id": f"w{worker}"}}
            out = await graph.ainvoke({"messages": [turn(worker, round_)]}, config)
            failed = [m.content for m in out["messages"][1:] if m.status != "success"]
            if failed:
                print(f"tool error: {failed}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
