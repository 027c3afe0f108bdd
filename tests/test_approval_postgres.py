"""Acceptance test of PROPOSE mode on PostgreSQL: a review that outlives the process that asked.

A graph whose scripted model proposes two learnings runs in a child process, stops with one
interrupt listing both, and the process is killed while it waits. Nothing proposed is recalled;
a bad resume changes nothing; a fresh process resumes with one approve and one reject; only the
approved learning is recalled, in a new thread, for another user of the same namespace; the
rejected one stays in the audit trail. Each decision is applied exactly once.

This file is also the child processes' script: ``python test_approval_postgres.py start|resume``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableLambda
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    list_pending_proposals,
    proposal_history,
)
from agno_learn_langgraph.approval import (
    create_approval_node,
    create_propose_tools,
)
from agno_learn_langgraph.backends import Backend, open_store
from agno_learn_langgraph.recall import build_learning_context
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

MACHINE = LearningMachine(learned_knowledge=LearningMode.PROPOSE, namespace="acme-support")
THREAD = "support-42"
CONFIG: Any = {"configurable": {"thread_id": THREAD}}
RATE_LIMITS = {
    "title": "Rate limits",
    "learning": "Retry HTTP 429 responses with exponential backoff",
    "rationale": "the billing API failed twice today",
}
TIMEOUTS = {
    "title": "Timeouts",
    "learning": "Raise every client timeout to 90 seconds",
    "rationale": "one slow request",
}


@dataclass
class Ctx:
    user_id: str


ANN = Ctx(user_id="ann")


def build_graph(backend: Backend, replies: list[Any]) -> Any:
    """agent -> tools -> review_learnings -> agent, compiled on ``backend``."""
    tools = create_propose_tools(MACHINE)
    model = ScriptedChatModel(replies).bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("agent", RunnableLambda(agent))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review_learnings", create_approval_node(MACHINE))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    return builder.compile(store=backend.store, checkpointer=backend.checkpointer)


PROPOSING = [
    ai_tool_calls(
        tool_call("propose_learning", RATE_LIMITS), tool_call("propose_learning", TIMEOUTS)
    )
]


def main(argv: list[str]) -> None:
    """Child process: ``start URL`` runs until the interrupt, prints it and waits to be killed;
    ``resume URL JSON`` resumes the thread with ``Command(resume=JSON)`` and prints the outcome."""
    mode, url = argv[0], argv[1]
    with open_store(url) as backend:
        if mode == "start":
            graph = build_graph(backend, PROPOSING)
            out = graph.invoke(
                {"messages": [("user", "Billing keeps failing")]}, CONFIG, context=ANN
            )
            (pending,) = out["__interrupt__"]
            print(json.dumps({"id": pending.id, "value": pending.value}), flush=True)
            threading.Event().wait()  # a process waiting for a human, until it is killed
        graph = build_graph(backend, ["Thanks, the review is done."])
        out = graph.invoke(Command(resume=json.loads(argv[2])), CONFIG, context=ANN)
        print(
            json.dumps(
                {"interrupted": "__interrupt__" in out, "last": out["messages"][-1].content}
            ),
            flush=True,
        )


# -- the test ---------------------------------------------------------------------------------

CHILD_TIMEOUT_S = 60


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )


def first_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    timer = threading.Timer(CHILD_TIMEOUT_S, proc.kill)
    timer.start()
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        timer.cancel()
    if not line:
        proc.kill()
        raise AssertionError(f"child printed nothing; stderr:\n{proc.communicate()[1]}")
    found: dict[str, Any] = json.loads(line)
    return found


def store_snapshot(backend: Backend) -> list[tuple[Any, ...]]:
    items = backend.store.search(("learning",), limit=10_000)
    return sorted((it.namespace, it.key, json.dumps(it.value, sort_keys=True)) for it in items)


def test_review_survives_the_process_and_applies_each_decision_once(pg_database: Any) -> None:
    pg_database.reset()
    url = pg_database.url

    # 1. a process runs the graph until it stops for review, then dies while it waits
    starter = child("start", url)
    try:
        asked = first_line(starter)
    finally:
        starter.kill()
        starter.wait(CHILD_TIMEOUT_S)
    proposals = asked["value"]["proposals"]
    assert asked["value"]["type"] == "learning_review"
    assert sorted(p["content"]["title"] for p in proposals) == ["Rate limits", "Timeouts"]
    ids = {p["content"]["title"]: p["id"] for p in proposals}

    with open_store(url) as backend:
        store = backend.store
        # 2. nothing proposed is recalled as knowledge: the thread sees them as pending only
        ann = Scope(user_id="ann", thread_id=THREAD)
        section = build_learning_context(MACHINE, store, ann, "429 rate limits timeouts")
        assert "<relevant_learnings>" not in section and "NOT facts" in section
        bob = Scope(user_id="bob", thread_id="bob-1")
        assert "429" not in build_learning_context(MACHINE, store, bob, "429 rate limits")
        assert {p.id for p in list_pending_proposals(store)} == set(ids.values())

        # 3. a bad resume (here, from a third process) changes nothing and stays pending
        graph = build_graph(backend, [])
        before = store_snapshot(backend)
        for bad in (
            {"decisions": [{"proposal_id": "prop_unknown", "type": "approve"}]},
            {"decisions": [{"proposal_id": ids["Rate limits"], "type": "approve"}]},
        ):
            out = graph.invoke(Command(resume=bad), CONFIG, context=ANN)
            (again,) = graph.get_state(CONFIG).interrupts
            assert again.value["error"] == out["__interrupt__"][0].value["error"]
            assert again.value["proposals"] == asked["value"]["proposals"]
            assert store_snapshot(backend) == before

    # 4. a fresh process resumes with one approve and one reject
    decisions = {
        "decisions": [
            {"proposal_id": ids["Rate limits"], "type": "approve"},
            {"proposal_id": ids["Timeouts"], "type": "reject", "message": "one request is noise"},
        ],
        "reviewer": "rita",
    }
    resumer = child("resume", url, json.dumps(decisions))
    out, err = resumer.communicate(timeout=CHILD_TIMEOUT_S)
    assert resumer.returncode == 0, err
    assert json.loads(out) == {"interrupted": False, "last": "Thanks, the review is done."}

    with open_store(url) as backend:
        store = backend.store
        # 5. only the approved learning is recalled, for another user in a new thread
        bob = Scope(user_id="bob", thread_id="bob-2")
        section = build_learning_context(MACHINE, store, bob, "429 rate limits client timeouts")
        assert "exponential backoff" in section and "90 seconds" not in section
        # 6. the rejected one is in the audit trail; each decision was applied exactly once
        audit = {p.content["title"]: p for p in proposal_history(store, thread_id=THREAD)}
        rejected = audit["Timeouts"]
        assert (rejected.status, rejected.reviewer, rejected.reason) == (
            "rejected",
            "rita",
            "one request is noise",
        )
        assert rejected.decided_at is not None
        assert [e.action for e in rejected.history] == ["proposed", "reject"]
        assert [e.action for e in audit["Rate limits"].history] == ["proposed", "approve"]
        learnings = store.search(("learning", "learned_knowledge"), limit=100)
        assert [it.value["title"] for it in learnings] == ["Rate limits"]
        assert learnings[0].value["provenance"]["proposal_id"] == ids["Rate limits"]
        assert list_pending_proposals(store) == []
        assert not build_graph(backend, []).get_state(CONFIG).next


if __name__ == "__main__":
    main(sys.argv[1:])
