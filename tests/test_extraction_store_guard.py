"""Background extraction on an in-memory store: the user's plain store, and open_store's own."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.backends import ThreadSafeInMemoryStore, open_store
from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.core.guard import is_guarded
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.testing import ScriptedChatModel
from tests.test_extraction import USER, build_graph, cfg

TURNS = 12


def remember_each_turn(messages: list[BaseMessage]) -> dict[str, Any]:
    """The extractor: one new memory naming the turn's user message."""
    said = re.findall(r"fact number \d+", str(messages[-1].content))
    return {"memories": {"add": [f"Said: {said[-1]}"]}}


def test_plain_user_store_under_background_extraction_learns_every_turn() -> None:
    extractor = ScriptedChatModel(structured_responses=[remember_each_turn], cycle=True)
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    store = InMemoryStore()
    graph = build_graph(machine, ScriptedChatModel(["ok"], cycle=True), store)
    for turn in range(TURNS):  # each turn's recall reads while earlier turns' jobs write
        graph.invoke({"messages": [("user", f"fact number {turn}")]}, cfg(thread=f"t{turn}"))
    machine.flush(timeout=60)

    assert type(store) is InMemoryStore  # never swapped to another class
    assert is_guarded(store)
    stats = machine.runner.stats
    assert (stats.failed, stats.pending) == (0, 0)
    texts = {m.text for m in run_plan(store, user_memory.list_memories(USER))}
    assert {f"Said: fact number {turn}" for turn in range(TURNS)} <= texts


def test_open_store_memory_locks_every_call_of_every_thread() -> None:
    with open_store(":memory:") as backend:
        store = backend.store
        assert isinstance(store, ThreadSafeInMemoryStore) and isinstance(store, InMemoryStore)
        assert is_guarded(store)
        ns = ("notes", "stress")
        for i in range(20_000):
            store.put(ns, f"p{i}", {"text": "x"})
        stop, errors = threading.Event(), []

        def write() -> None:
            i = 0
            while not stop.is_set():
                store.put(ns, f"k{i}", {"text": "x"})
                i += 1

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 1.5
        try:
            while time.monotonic() < deadline:
                try:
                    store.search(ns, limit=5)
                except RuntimeError as exc:  # "dictionary changed size during iteration"
                    errors.append(exc)
        finally:
            stop.set()
            writer.join()
        assert not errors


async def test_thread_safe_store_async_calls_wait_for_a_writer_thread() -> None:
    store = ThreadSafeInMemoryStore()
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store._lock:  # a writer thread in the middle of a batch
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    threading.Timer(0.2, release.set).start()
    started = time.monotonic()
    await store.aput(("notes",), "a", {"text": "x"})
    waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.15  # it waited for the lock instead of writing beside the other thread
    assert (await store.aget(("notes",), "a")) is not None
