"""The extraction cursor only moves forward and each message is extracted once (issue 13, item 3).

First the claim plans of ``stores.cursors`` one step at a time (a later turn's extraction
finishing first, a lease running out, a failed extraction), then four worker processes
(``tests/multiprocess_extractor.py``) extracting the turns of one thread at once, 20 rounds,
while this process watches the stored cursor.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.stores.cursors import (
    claim_messages,
    finish_claim,
    get_cursor,
    get_cursor_state,
    release_claim,
    take_over_claims,
)

sys.path.insert(0, str(Path(__file__).parent))
import multiprocess_extractor as extractor
from multiprocess import go, start_workers, stop_workers

ROUNDS = 20
WORKER = Path(__file__).with_name("multiprocess_extractor.py")
IDS = ["h1", "a1", "h2", "a2", "h3", "a3"]


def turn(n: int) -> list[str | None]:
    """The thread's message ids after turn ``n``."""
    return list(IDS[: 2 * n])


# -- the claim plans, step by step -------------------------------------------------------------


def test_a_later_turn_claims_only_its_messages_and_finishing_first_keeps_the_cursor() -> None:
    store = InMemoryStore()
    first = run_plan(store, claim_messages("t", turn(1)))
    second = run_plan(store, claim_messages("t", turn(2)))  # turn 2 while turn 1 still runs
    assert first is not None and first.ids == ["h1", "a1"]
    assert second is not None and second.ids == ["h2", "a2"]
    assert run_plan(store, claim_messages("t", turn(2))) is None  # everything is taken
    assert run_plan(store, finish_claim("t", second, turn(2)))
    assert run_plan(store, get_cursor("t")) is None  # turn 1's messages are not done yet
    assert run_plan(store, finish_claim("t", first, turn(1)))
    assert run_plan(store, get_cursor("t")) == "a2"  # over both, with turn 1's shorter view
    assert run_plan(store, claim_messages("t", turn(2))) is None
    third = run_plan(store, claim_messages("t", turn(3)))
    assert third is not None and third.ids == ["h3", "a3"]


def test_an_older_turn_finishing_last_never_moves_the_cursor_back() -> None:
    store = InMemoryStore()
    later = run_plan(store, claim_messages("t", turn(2)))
    assert later is not None and later.ids == ["h1", "a1", "h2", "a2"]
    assert run_plan(store, claim_messages("t", turn(1))) is None  # turn 1: all read already
    assert run_plan(store, finish_claim("t", later, turn(2)))
    assert run_plan(store, get_cursor("t")) == "a2"
    assert run_plan(store, claim_messages("t", turn(1))) is None
    assert run_plan(store, get_cursor("t")) == "a2"


def test_a_claim_whose_lease_ended_is_taken_over_and_its_holder_writes_nothing() -> None:
    store = InMemoryStore()
    stale = run_plan(store, claim_messages("t", turn(1), lease_s=10, now=1000.0))
    fresh = run_plan(store, claim_messages("t", turn(1), now=1011.0))  # the holder died
    assert stale is not None and fresh is not None and fresh.ids == stale.ids
    state = run_plan(store, get_cursor_state("t"))
    assert not state.holds(stale) and state.holds(fresh)
    assert not run_plan(store, finish_claim("t", stale, turn(1)))  # too late: changes nothing
    assert run_plan(store, get_cursor("t")) is None
    assert run_plan(store, finish_claim("t", fresh, turn(1)))
    assert run_plan(store, get_cursor("t")) == "a1"


def test_recovering_a_dead_workers_turn_ends_its_claim_before_the_lease() -> None:
    """The outbox knows the worker died (its record's lease ran out): the recovery takes the
    messages over at once instead of waiting for the cursor claim's own, longer lease."""
    store = InMemoryStore()
    dead = run_plan(store, claim_messages("t", turn(1)))
    assert run_plan(store, claim_messages("t", turn(1))) is None  # still claimed
    assert run_plan(store, take_over_claims("t", turn(1))) == 1
    recovering = run_plan(store, claim_messages("t", turn(1)))
    assert dead is not None and recovering is not None and recovering.ids == dead.ids
    assert not run_plan(store, finish_claim("t", dead, turn(1)))  # a late holder writes nothing
    assert run_plan(store, finish_claim("t", recovering, turn(1)))


def test_a_failed_extraction_gives_its_messages_to_the_next_one() -> None:
    store = InMemoryStore()
    failed = run_plan(store, claim_messages("t", turn(1)))
    second = run_plan(store, claim_messages("t", turn(2)))
    assert failed is not None and second is not None
    run_plan(store, release_claim("t", failed))
    assert run_plan(store, finish_claim("t", second, turn(2)))
    assert run_plan(store, get_cursor("t")) is None  # turn 1 was not learned
    retry = run_plan(store, claim_messages("t", turn(3)))
    assert retry is not None and retry.ids == ["h1", "a1", "h3", "a3"]
    assert run_plan(store, finish_claim("t", retry, turn(3)))
    assert run_plan(store, get_cursor("t")) == "a3"
    state = run_plan(store, get_cursor_state("t"))
    assert state.claims == [] and state.done == [] and state.ahead == []


# -- four processes, one thread ---------------------------------------------------------------


class CursorWatch:
    """Reads a thread's cursor in a loop and keeps every value it saw, in order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[str, list[str | None]] = {}
        self.thread_id = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with open_store(self.url) as backend:
            while not self._stop.is_set():
                thread_id = self.thread_id
                if thread_id:
                    value = run_plan(backend.store, get_cursor(thread_id))
                    self.seen.setdefault(thread_id, []).append(value)
                self._stop.wait(0.003)

    def __enter__(self) -> CursorWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_four_processes_extracting_one_thread_read_each_message_once(pg_database: Any) -> None:
    pg_database.reset()
    url = str(pg_database.url)
    argvs = [[url, str(w), str(ROUNDS)] for w in range(extractor.WORKERS)]
    procs = start_workers(WORKER, argvs)
    try:
        with CursorWatch(url) as watch:
            rounds = []
            for r in range(ROUNDS):
                watch.thread_id = extractor.thread(r)
                rounds.append([json.loads(line) for line in go(procs)])
    except BaseException:
        for p in procs:
            p.kill()
        raise
    stop_workers(procs, send_go=True)

    with open_store(url) as backend:
        memories = run_plan(backend.store, user_memory.list_memories(extractor.USER))
        states = [
            run_plan(backend.store, get_cursor_state(extractor.thread(r))) for r in range(ROUNDS)
        ]
    notes = Counter(m.text for m in memories)
    for r, (results, state) in enumerate(zip(rounds, states, strict=True)):
        ids = extractor.message_ids(r)
        # each message was shown to the model exactly once, across the four processes
        shown = Counter(t for res in results for extraction in res for t in extraction["seen"])
        assert shown == Counter(extractor.tokens(r)), f"round {r}: {results}"
        statuses = Counter(e["status"] for res in results for e in res)
        assert set(statuses) <= {"applied", "nothing_new"}, (r, statuses)
        # the cursor only moved forward, and ends on the last message with nothing in flight
        positions = [-1 if v is None else ids.index(v) for v in watch.seen.get(state_key(r), [])]
        assert positions == sorted(positions), f"round {r}: the cursor moved back: {positions}"
        assert state.message_id == ids[-1], (r, state)
        assert state.claims == [] and state.done == [] and state.ahead == []
        questions = [t for t in extractor.tokens(r) if "question" in t]
        assert all(notes[f"Asked: {q}"] == 1 for q in questions), (r, notes)
    assert sum(len(v) for v in watch.seen.values()) > ROUNDS  # the watch did read the cursor


def state_key(round_: int) -> str:
    return extractor.thread(round_)
