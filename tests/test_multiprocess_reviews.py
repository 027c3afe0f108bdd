"""Reviewers in separate OS processes decide one proposal at once: one wins (issue 13, item 2).

Four worker processes (``tests/multiprocess_reviewer.py``), each a different door (the sync and
async review API, the CLI, the approval node's resume), decide the same proposal of a round at
the same moment, for 20 rounds. Per round exactly one says it decided; the others get
``InvalidReviewError`` naming the winner (the node leaves a decided proposal as it is); the
stored proposal holds the winner's status, content and one audit event; an approved memory is
written once and a rejected one never. Threads cannot show these races: each process has its
own locks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agno_learn_langgraph import LearningMachine, LearningMode
from agno_learn_langgraph.approval import plan_propose
from agno_learn_langgraph.approval.decide import decision_keys, review_keys
from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core import data_key, run_plan
from agno_learn_langgraph.records import Proposal
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import proposals as proposal_store
from agno_learn_langgraph.stores import user_memory

sys.path.insert(0, str(Path(__file__).parent))
import multiprocess_reviewer as reviewer
from multiprocess import go, start_workers, stop_workers

ROUNDS = 20
WORKER = Path(__file__).with_name("multiprocess_reviewer.py")
NODE = 3
"""The approval node's worker: a decided proposal is left as it is, without an error."""


def propose_rounds(url: str) -> list[str]:
    """One pending user-memory proposal per round, each in its own thread."""
    ids = []
    with open_store(url) as backend:
        for r in range(ROUNDS):
            scope = Scope(user_id=reviewer.USER, thread_id=reviewer.thread(r))
            plan = plan_propose(
                reviewer.MACHINE,
                scope,
                target="user_memory",
                content={"text": reviewer.original_text(r)},
                rationale="The user said so.",
            )
            proposal, outcome = run_plan(backend.store, plan)
            assert outcome == "created"
            ids.append(proposal.id)
    return ids


def decide_in_four_processes(url: str, ids: list[str], ids_file: Path) -> list[list[Any]]:
    ids_file.write_text(json.dumps(ids))
    procs = start_workers(WORKER, [[url, str(w), str(ids_file)] for w in range(4)])
    try:
        rounds = [[json.loads(line) for line in go(procs)] for _ in ids]
    except BaseException:
        for p in procs:
            p.kill()
        raise
    stop_workers(procs, send_go=True)
    return rounds


def test_four_doors_deciding_one_proposal_at_once_exactly_one_wins(
    pg_database: Any, tmp_path: Path
) -> None:
    pg_database.reset()
    url = str(pg_database.url)
    ids = propose_rounds(url)
    rounds = decide_in_four_processes(url, ids, tmp_path / "ids.json")

    with open_store(url) as backend:
        memories = run_plan(backend.store, user_memory.list_memories(reviewer.USER))
        stored = [run_plan(backend.store, proposal_store.get_proposal(pid)) for pid in ids]
    wins = [0, 0, 0, 0]
    for r, (pid, results, proposal) in enumerate(zip(ids, rounds, stored, strict=True)):
        winners = [w for w, res in enumerate(results) if res["won"]]
        assert len(winners) == 1, f"round {r}: {results}"
        w = winners[0]
        wins[w] += 1
        assert proposal is not None
        assert proposal.reviewer == reviewer.REVIEWERS[w], (r, results, proposal)
        status = "rejected" if reviewer.DECISIONS[w] == "reject" else "approved"
        assert proposal.status == status
        # one audit event per decision, none lost, none for the losers
        assert [e.action for e in proposal.history] == ["proposed", reviewer.DECISIONS[w]]
        assert proposal.history[1].by == reviewer.REVIEWERS[w]
        named = f"already {status} by {reviewer.REVIEWERS[w]}"
        for loser, res in enumerate(results):
            if loser not in (w, NODE):
                assert res["error"] and named in res["error"], (r, loser, res)
        # applied once, as decided: the edited text for an edit, nothing for a rejection
        applied = [m for m in memories if m.provenance.proposal_id == pid]
        if status == "rejected":
            assert applied == [], (r, applied)
            assert proposal.content["text"] == reviewer.original_text(r)
        else:
            edited = reviewer.DECISIONS[w] == "edit"
            text = reviewer.edited_text(r) if edited else reviewer.original_text(r)
            assert [m.text for m in applied] == [text], (r, applied)
            assert proposal.content["text"] == text
            assert proposal.applied_id == applied[0].id
    assert sum(wins) == ROUNDS
    print("wins per door (api approve, api reject, cli edit, node):", wins)


def test_an_approval_locks_the_same_data_as_the_tools_writing_that_store() -> None:
    machine = LearningMachine(
        namespace="team", user_memory=LearningMode.PROPOSE, learned_knowledge=LearningMode.PROPOSE
    )
    scope = Scope(user_id="ann", thread_id="t1")
    memory = Proposal(store="user_memory", content={"text": "x"}, user_id="ann", thread_id="t1")
    tool_key = data_key("user_memory", scope, machine.namespace_for("user_memory"))
    assert tool_key in decision_keys(memory)  # a reviewer's script passes no machine
    assert tool_key in review_keys(machine, scope)
    knowledge = Proposal(
        store="learned_knowledge", content={}, thread_id="t1", namespace="team", user_id="ann"
    )
    team_key = data_key("learned_knowledge", scope, "team")
    assert team_key in decision_keys(knowledge) and team_key in review_keys(machine, scope)
    # deciders of one thread's proposals, whatever the door, share one lock
    assert decision_keys(memory)[0] == review_keys(machine, scope)[0] == ("proposals", "t1")
