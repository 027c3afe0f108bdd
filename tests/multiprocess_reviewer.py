"""One worker process of ``test_multiprocess_reviews``: decides every round's proposal at once.

Run as ``python tests/multiprocess_reviewer.py <store url> <worker> <proposal ids file>``. Each
worker is one door deciding the same proposal of a round, at the same time as the others:

* 0: ``approve_proposal`` (the sync review API);
* 1: ``areject_proposal`` (the async review API);
* 2: ``agno-learn edit`` (the CLI, run in this process);
* 3: the approval node of an async graph, resumed with an approval (its interrupts are raised
  before ``ready``).

Prints ``ready``, then per ``go`` on stdin decides the next round's proposal (the API and node
doors after a random pause of up to :data:`JITTER_S`, so each door wins some rounds) and prints
one JSON line: ``{"won": bool, "error": str | null}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import sys
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    approve_proposal,
    areject_proposal,
    create_approval_node,
)
from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.cli import main as cli_main
from agno_learn_langgraph.core import arun_plan
from agno_learn_langgraph.errors import InvalidReviewError
from agno_learn_langgraph.stores import proposals as proposal_store

USER = "ann"
REVIEWERS = ["api-approver", "api-rejecter", "cli-editor", "node-approver"]
DECISIONS = ["approve", "reject", "edit", "approve"]
"""What each worker's door decides (``ReviewEvent.action`` of its decision)."""
MACHINE = LearningMachine(user_memory=LearningMode.PROPOSE)
CLI = 2
JITTER_S = 0.25
"""The other doors wait up to this long (about what the CLI takes to open its store)."""
SYNC_STORE: list[Any] = []
"""Worker 0's sync store (a ``PostgresStore``), as a reviewer's script opens it."""


def thread(round_: int) -> str:
    return f"review-{round_}"


def original_text(round_: int) -> str:
    return f"Round {round_} proposed memory"


def edited_text(round_: int) -> str:
    return f"Round {round_} edited memory"


def config(round_: int) -> Any:
    return {"configurable": {"thread_id": thread(round_), "user_id": USER}}


async def decide(worker: int, store: Any, graph: Any, url: str, round_: int, pid: str) -> Any:
    """This worker's decision of ``pid``: ``(won, error message)``."""
    reviewer = REVIEWERS[worker]
    if worker != CLI:  # the CLI opens its store first: give every door rounds it can win
        await asyncio.sleep(random.Random(f"{round_}/{worker}").uniform(0, JITTER_S))
    try:
        if worker == 0:  # the sync API, as a script would call it
            await asyncio.to_thread(approve_proposal, SYNC_STORE[0], pid, reviewer=reviewer)
        elif worker == 1:
            await areject_proposal(store, pid, reviewer=reviewer, reason="not true")
        elif worker == CLI:
            code, err = await asyncio.to_thread(cli_edit, url, pid, reviewer, edited_text(round_))
            if code:
                return False, err
        else:
            resume = {"decisions": [{"proposal_id": pid, "type": "approve"}], "reviewer": reviewer}
            await graph.ainvoke(Command(resume=resume), config(round_))
            decided = await arun_plan(store, proposal_store.get_proposal(pid))
            return decided is not None and decided.reviewer == reviewer, None
    except InvalidReviewError as exc:
        return False, str(exc)
    return True, None


def cli_edit(url: str, pid: str, reviewer: str, text: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(
            ["edit", pid, "--set", f"text={text}", "--store", url, "--reviewer", reviewer]
        )
    return code, err.getvalue()


async def main(url: str, worker: int, ids_file: str) -> None:
    with open(ids_file) as f:
        ids: list[str] = json.load(f)
    with contextlib.ExitStack() as stack:
        if worker == 0:
            SYNC_STORE.append(stack.enter_context(open_store(url)).store)
        async with aopen_store(url) as backend:
            graph = None
            if worker == 3:
                builder = StateGraph(MessagesState)
                builder.add_node("review_learnings", create_approval_node(MACHINE))
                builder.add_edge(START, "review_learnings")
                graph = builder.compile(store=backend.store, checkpointer=InMemorySaver())
                for round_ in range(len(ids)):  # each thread waits on its round's proposal
                    out = await graph.ainvoke({"messages": []}, config(round_))
                    assert "__interrupt__" in out, out
            print("ready", flush=True)
            for round_, pid in enumerate(ids):
                await asyncio.to_thread(sys.stdin.readline)  # "go": every worker at once
                won, error = await decide(worker, backend.store, graph, url, round_, pid)
                print(json.dumps({"won": won, "error": error}), flush=True)
            await asyncio.to_thread(sys.stdin.readline)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
