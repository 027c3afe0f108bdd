"""A worker process of ``test_outbox_processes``: ``turn`` runs one turn and hangs in its
extraction (the test kills it); ``recover`` completes what a dead worker left, without a turn.

Run as ``python -m tests.outbox_worker <turn|recover> <postgres url> <thread> <grace s>``; the
user id is ``<thread>@example.com``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from langgraph.graph import END, START, StateGraph

from agno_learn_langgraph import LearningMachine, LearningMode, open_store
from agno_learn_langgraph.graph import LearningState, create_extraction_node
from agno_learn_langgraph.testing import ScriptedChatModel

LEARNED = "Likes green tea"


def machine(extractor: ScriptedChatModel, grace_s: float) -> LearningMachine:
    return LearningMachine(
        model=extractor, user_memory=LearningMode.ALWAYS, recovery_grace_s=grace_s
    )


def turn(url: str, thread: str, grace_s: float) -> None:
    """Reply, print ``REPLIED``, then hang: the extraction takes ten minutes."""
    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": [LEARNED]}}], structured_delay_s=600
    )
    learning = machine(extractor, grace_s)
    agent = ScriptedChatModel(["Noted: green tea."])

    def call_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [agent.invoke(state["messages"])]}

    builder = StateGraph(LearningState)
    builder.add_node("agent", call_agent)
    builder.add_node("learn", create_extraction_node(learning))
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "learn")
    builder.add_edge("learn", END)
    with open_store(url) as backend:
        graph = builder.compile(store=backend.store, checkpointer=backend.checkpointer)
        config = {"configurable": {"thread_id": thread, "user_id": f"{thread}@example.com"}}
        out = graph.invoke({"messages": [("user", "I like green tea")]}, config)
        print("REPLIED", out["messages"][-1].content, flush=True)
        time.sleep(600)


def recover(url: str, grace_s: float, deadline_s: float = 90.0) -> None:
    """Sweep the outbox every 0.2 s until one extraction was recovered; print what it took."""
    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": [LEARNED]}}])
    learning = machine(extractor, grace_s)
    start = time.monotonic()
    recovered = 0
    with open_store(url) as backend:
        print("STARTED", flush=True)
        while recovered == 0 and time.monotonic() - start < deadline_s:
            recovered += learning.recover_pending_extractions(backend.store)
            time.sleep(0.2)
        report = {
            "recovered": recovered,
            "model_calls": extractor.structured_call_count,
            "seconds": round(time.monotonic() - start, 2),
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    mode, url, thread, grace = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    if mode == "turn":
        turn(url, thread, grace)
    else:
        recover(url, grace)
