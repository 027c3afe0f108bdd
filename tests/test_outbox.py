"""The extraction outbox: a pending extraction survives its worker (memory, SQLite, Postgres)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver as InMemorySaverBase
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, Op, Result

from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.core import run_plan, search_all, write_lock
from agno_learn_langgraph.extraction.recovery import (
    machine_signature,
    pending_window,
    record_pending,
    recover_pending_extractions,
)
from agno_learn_langgraph.extraction.select import select_new_messages
from agno_learn_langgraph.graph import LearningState
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.stores.outbox import (
    OUTBOX_NAMESPACE,
    claim_record,
    complete_record,
    due_records,
    get_record,
    new_record,
    outbox_lock_key,
    record_turn,
    worker_id,
)
from agno_learn_langgraph.testing import ScriptedChatModel
from tests.test_extraction import build_graph, cfg

USER = "ann@example.com"
SCOPE = Scope(user_id=USER, thread_id="t1")
MSGS = [{"type": "human", "data": {"content": "hi", "id": "h1"}}]


def outbox(store: BaseStore) -> list[Any]:
    return run_plan(store, _search())


def _search() -> Any:
    (found,) = yield [search_all(OUTBOX_NAMESPACE)]
    return found


def memory_machine(model: ScriptedChatModel, **kwargs: Any) -> LearningMachine:
    return LearningMachine(model=model, user_memory=LearningMode.ALWAYS, **kwargs)


# -- the plans ------------------------------------------------------------------------------


def test_a_newer_turn_replaces_the_record_and_completing_the_older_leaves_it(
    store: BaseStore,
) -> None:
    old = new_record(SCOPE, MSGS, machine="m", grace_s=60)
    new = new_record(SCOPE, [*MSGS, MSGS[0]], machine="m", grace_s=60)
    run_plan(store, record_turn(old))
    run_plan(store, record_turn(new))
    assert len(outbox(store)) == 1  # one record per thread

    assert run_plan(store, complete_record("t1", old.turn)) is False
    kept = run_plan(store, get_record("t1"))
    assert kept is not None and kept.turn == new.turn and len(kept.messages) == 2

    assert run_plan(store, complete_record("t1", new.turn)) is True
    assert run_plan(store, get_record("t1")) is None
    assert outbox(store) == []


def test_a_claim_waits_for_the_lease_and_is_exclusive_until_it_runs_out(store: BaseStore) -> None:
    now = 1_000_000.0
    record = new_record(SCOPE, MSGS, machine="m", grace_s=30, now=now)
    run_plan(store, record_turn(record))

    assert run_plan(store, due_records("m", now=now + 10)) == []
    assert run_plan(store, claim_record("t1", lease_s=30, owner="b", now=now + 10)) is None

    assert [r.key for r in run_plan(store, due_records("m", now=now + 31))] == ["t1"]
    assert run_plan(store, due_records("other-machine", now=now + 31)) == []
    claimed = run_plan(store, claim_record("t1", lease_s=30, owner="b", now=now + 31))
    assert claimed is not None and claimed.owner == "b" and claimed.attempts == 1
    assert claimed.due == now + 61 and claimed.turn == record.turn
    # another worker within b's lease gets nothing; after it, the record is taken over again
    assert run_plan(store, claim_record("t1", lease_s=30, owner="c", now=now + 40)) is None
    assert run_plan(store, due_records("m", now=now + 40)) == []
    again = run_plan(store, claim_record("t1", lease_s=30, owner="c", now=now + 62))
    assert again is not None and again.owner == "c" and again.attempts == 2


def test_concurrent_claims_under_the_write_lock_have_one_winner(store: BaseStore) -> None:
    record = new_record(SCOPE, MSGS, machine="m", grace_s=0.01, now=time.time() - 1)
    run_plan(store, record_turn(record))
    wins: list[str] = []
    start = threading.Barrier(8)

    def claim(owner: str) -> None:
        start.wait()
        with write_lock(outbox_lock_key("t1")):
            if run_plan(store, claim_record("t1", lease_s=60, owner=owner)) is not None:
                wins.append(owner)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    stored = run_plan(store, get_record("t1"))
    assert stored is not None and stored.owner == wins[0]


def test_nul_characters_in_a_message_are_recorded_on_every_backend(store: BaseStore) -> None:
    machine = memory_machine(ScriptedChatModel())
    record = record_pending(machine, store, SCOPE, [HumanMessage("a\x00b", id="h1")])
    assert record is not None
    stored = run_plan(store, get_record("t1"))
    assert stored is not None and stored.thread_messages()[0].content == "a\ufffdb"


# -- what a record holds ---------------------------------------------------------------------


def thread(n: int) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for i in range(n):
        out.append(HumanMessage(f"question {i}", id=f"h{i}"))
        call = {"name": "lookup", "args": {}, "id": f"c{i}"}
        out.append(AIMessage("", tool_calls=[call], id=f"a{i}"))
        out.append(ToolMessage("x" * 500, tool_call_id=f"c{i}", id=f"t{i}"))
        out.append(AIMessage(f"answer {i}", id=f"r{i}"))
    return out


@pytest.mark.parametrize("cap", [0, 1, 3, 40])
@pytest.mark.parametrize("cursor", [None, "h0", "t2", "r3", "r9", "gone"])
def test_the_window_reads_like_the_whole_thread_whatever_the_cursor(
    cap: int, cursor: str | None
) -> None:
    messages = thread(10)
    window = pending_window(messages, cap)
    assert select_new_messages(window, cursor, cap) == select_new_messages(messages, cursor, cap)
    assert all("x" * 500 not in str(m.content) for m in window)  # tool results are dropped


def test_the_window_is_bounded_by_max_messages_per_extraction() -> None:
    window = pending_window(thread(100), 4)
    assert [m.id for m in window] == ["h98", "a98", "t98", "r98", "h99", "a99", "t99", "r99"]


# -- the schedule path and recovery ---------------------------------------------------------


def test_a_turn_records_its_extraction_until_the_job_applied_it(store: BaseStore) -> None:
    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": ["Likes green tea"]}}], structured_delay_s=0.5
    )
    machine = memory_machine(extractor)
    graph = build_graph(machine, ScriptedChatModel(["Noted."]), store)
    graph.invoke({"messages": [("user", "I like green tea")]}, cfg())
    pending = run_plan(store, get_record("t1"))
    assert pending is not None and pending.owner == worker_id()
    assert [m.content for m in pending.thread_messages()] == ["I like green tea", "Noted."]
    assert pending.user_id == USER and pending.machine == machine_signature(machine)

    machine.flush(timeout=30)
    assert run_plan(store, get_record("t1")) is None
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Likes green tea"]


def test_a_dead_workers_turn_is_recovered_without_a_new_turn(store: BaseStore) -> None:
    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.2)
    turn = [HumanMessage("I like green tea", id="h1"), AIMessage("Noted.", id="r1")]
    assert record_pending(dead, store, SCOPE, turn) is not None  # its job never ran

    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    live = memory_machine(extractor, recovery_grace_s=0.2)
    assert recover_pending_extractions(live, store) == 0  # the lease still holds
    time.sleep(0.3)
    assert live.recover_pending_extractions(store) == 1
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Likes tea"]
    assert run_plan(store, get_cursor("t1")) == "r1"
    assert outbox(store) == []
    assert live.recover_pending_extractions(store) == 0
    assert extractor.structured_call_count == 1


def test_another_machines_records_are_left_alone(store: BaseStore) -> None:
    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.01)
    record_pending(dead, store, SCOPE, [HumanMessage("hi", id="h1")])
    time.sleep(0.05)
    other = LearningMachine(model=ScriptedChatModel(), user_profile=True, recovery_grace_s=0.01)
    assert other.recover_pending_extractions(store) == 0
    assert len(outbox(store)) == 1


def test_a_failed_extraction_keeps_its_record_and_a_later_sweep_completes_it(
    store: BaseStore,
) -> None:
    broken = ScriptedChatModel(structured_responses=[ValueError("down")], cycle=True)
    machine = memory_machine(broken, max_retries=0, recovery_grace_s=0.2)
    graph = build_graph(machine, ScriptedChatModel(["Noted."]), store)
    graph.invoke({"messages": [("user", "I like green tea")]}, cfg())
    machine.flush(timeout=30)
    assert run_plan(store, get_record("t1")) is not None  # not lost

    time.sleep(0.3)
    fixed = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    assert machine.recover_pending_extractions(store, model=fixed) == 1
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Likes tea"]
    assert outbox(store) == []


class FailingWrites(BaseStore):
    """Fails the first ``n`` batches that write a user memory."""

    def __init__(self, inner: BaseStore, n: int) -> None:
        self.inner, self.left = inner, n

    def batch(self, ops: Any) -> list[Result]:
        ops = list(ops)
        if self.left and any(_writes_memory(op) for op in ops):
            self.left -= 1
            raise ConnectionError("connection lost during the write")
        return self.inner.batch(ops)

    async def abatch(self, ops: Any) -> list[Result]:  # pragma: no cover - sync test
        return self.batch(ops)


def _writes_memory(op: Op) -> bool:
    return getattr(op, "value", None) is not None and "user_memory" in getattr(op, "namespace", ())


def test_store_errors_during_the_write_are_retried_like_model_errors(store: BaseStore) -> None:
    flaky = FailingWrites(store, n=2)
    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": ["Likes tea"]}}], cycle=True
    )
    machine = memory_machine(extractor, max_retries=2, retry_backoff_s=0.01)
    graph = build_graph(machine, ScriptedChatModel(["Noted."]), flaky)
    graph.invoke({"messages": [("user", "I like green tea")]}, cfg())
    machine.flush(timeout=30)
    assert flaky.left == 0
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Likes tea"]
    assert outbox(store) == []
    assert machine.runner.stats.failed == 0


async def test_async_turns_record_and_recover_too(astore: BaseStore) -> None:
    from agno_learn_langgraph.core import arun_plan
    from agno_learn_langgraph.extraction.recovery import arecord_pending

    store = astore

    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.01)
    turn = [HumanMessage("I like green tea", id="h1"), AIMessage("Noted.", id="r1")]
    assert await arecord_pending(dead, store, SCOPE, turn) is not None
    await _sleep(0.05)
    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    live = memory_machine(extractor)
    assert await live.arecover_pending_extractions(store) == 1
    memories = await arun_plan(store, user_memory.list_memories(USER))
    assert [m.text for m in memories] == ["Likes tea"]
    assert await arun_plan(store, _search()) == []


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


def test_a_machine_in_use_sweeps_what_a_dead_worker_left(store: BaseStore) -> None:
    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.01)
    turn = [HumanMessage("I like green tea", id="h1"), AIMessage("Noted.", id="r1")]
    record_pending(dead, store, Scope(user_id=USER, thread_id="dead"), turn)
    time.sleep(0.05)

    extractor = ScriptedChatModel(
        structured_responses=[{"memories": {"add": ["Likes tea"]}}, {}], cycle=True
    )
    live = memory_machine(extractor, recovery_grace_s=30, recovery_interval_s=0)
    graph = build_graph(live, ScriptedChatModel(["Hello."]), store)
    graph.update_state(cfg(thread="dead"), {"messages": turn})  # the dead worker's saved turn
    graph.invoke({"messages": [("user", "Hello")]}, cfg(thread="other"))  # another thread
    live.flush(timeout=30)
    assert "Likes tea" in [m.text for m in run_plan(store, user_memory.list_memories(USER))]
    assert run_plan(store, get_record("dead")) is None
    assert run_plan(store, get_cursor("dead")) == "r1"


def test_a_turn_whose_checkpoint_was_never_saved_is_not_learned(store: BaseStore) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.01)
    turn = [HumanMessage("I like green tea", id="h1"), AIMessage("Noted.", id="r1")]
    record_pending(dead, store, SCOPE, turn)  # the worker died before the checkpoint was saved
    time.sleep(0.05)
    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    live = memory_machine(extractor)
    assert live.recover_pending_extractions(store, checkpointer=InMemorySaver()) == 0
    assert run_plan(store, user_memory.list_memories(USER)) == []
    assert extractor.structured_call_count == 0
    assert outbox(store) == []  # dropped: it never will be saved


class FailingSaver(InMemorySaverBase):
    """Saves nothing after the first ``n`` checkpoints of a run: the write fails."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def put(self, *args: Any, **kwargs: Any) -> Any:
        if self.left <= 0:
            raise ConnectionError("checkpoint write failed")
        self.left -= 1
        return super().put(*args, **kwargs)


def test_the_job_does_not_learn_from_a_turn_whose_checkpoint_write_failed(
    store: BaseStore,
) -> None:
    from agno_learn_langgraph.graph import create_learning_agent_node

    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    machine = memory_machine(extractor, recovery_grace_s=1.0)

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [AIMessage("Noted.")]}

    builder = StateGraph(LearningState)
    builder.add_node("agent", create_learning_agent_node(machine, agent))
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    graph = builder.compile(store=store, checkpointer=FailingSaver(n=2))  # not the agent step
    with pytest.raises(ConnectionError):
        graph.invoke({"messages": [("user", "I like green tea")]}, cfg(), durability="sync")
    assert machine.runner.stats.submitted == 1  # the agent ran and scheduled its extraction
    machine.flush(timeout=30)
    assert run_plan(store, user_memory.list_memories(USER)) == []
    assert extractor.structured_call_count == 0
    assert outbox(store) == []


async def test_the_server_lifespan_sweeps_at_startup(
    astore: BaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from agno_learn_langgraph import server
    from agno_learn_langgraph.core import arun_plan
    from agno_learn_langgraph.extraction.recovery import arecord_pending

    monkeypatch.setattr(server, "STARTUP_SWEEP_DELAY_S", 0.0)
    dead = memory_machine(ScriptedChatModel(), recovery_grace_s=0.01)
    turn = [HumanMessage("I like green tea", id="h1"), AIMessage("Noted.", id="r1")]
    await arecord_pending(dead, astore, SCOPE, turn)
    await asyncio.sleep(0.05)
    extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    live = memory_machine(extractor, recovery_interval_s=0.1)
    async with server.learning_lifespan(None, store=astore, machines=[live]):
        for _ in range(100):
            if await arun_plan(astore, get_record("t1")) is None:
                break
            await asyncio.sleep(0.1)
    memories = await arun_plan(astore, user_memory.list_memories(USER))
    assert [m.text for m in memories] == ["Likes tea"]
    assert extractor.structured_call_count == 1


def test_a_record_counts_as_extracted_only_when_the_cursor_covers_its_messages() -> None:
    messages = [
        {"type": "human", "data": {"content": "hi", "id": "h1"}},
        {"type": "ai", "data": {"content": "hello", "id": "r1"}},
        {"type": "human", "data": {"content": "no id"}},
    ]
    record = new_record(SCOPE, messages, machine="m", grace_s=1)
    assert record.extracted("r1") and record.extracted("a-newer-message")
    assert not record.extracted("h1") and not record.extracted(None)
    assert new_record(SCOPE, [], machine="m", grace_s=1).extracted(None)


def test_compat_finds_the_root_graphs_checkpointer_only() -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.config import get_config

    from agno_learn_langgraph.compat import run_checkpointer

    seen: list[Any] = []

    def node(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(run_checkpointer(get_config()))
        return {}

    inner = StateGraph(LearningState)
    inner.add_node("n", node)
    inner.add_edge(START, "n")
    inner.add_edge("n", END)
    saver = InMemorySaver()
    inner.compile(checkpointer=saver).invoke({"messages": []}, cfg())
    outer = StateGraph(LearningState)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    outer.add_edge("sub", END)
    outer.compile(checkpointer=saver).invoke({"messages": []}, cfg(thread="t2"))
    inner.compile().invoke({"messages": []})
    assert seen == [saver, None, None]
