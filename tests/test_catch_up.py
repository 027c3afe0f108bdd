"""A cached index catches up with another process's writes on PostgreSQL without a rescan.

Two store handles on one database stand for two worker processes: each has its own cached
indexes (the cache is keyed by store), only the version stamps and rows are shared.
"""

from __future__ import annotations

from typing import Any

import pytest

from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.index import ranked
from agno_learn_langgraph.recall import arecall, recall
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import user_memory
from tests.loop_stall import held_loop

USER = "carol"
SCOPE = Scope(user_id=USER, thread_id="t-1", agent_id="support")
PROV = Provenance(mode="api", thread_id="t-1")


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Namespaces the ranked index scanned in full (a rebuild)."""
    seen: list[tuple[str, ...]] = []
    real = ranked.search_all

    def counting(namespace: tuple[str, ...], **kw: Any) -> Any:
        if kw.get("query") is None:
            seen.append(namespace)
        return real(namespace, **kw)

    def counting_scan(namespace: tuple[str, ...], *args: Any) -> Any:
        seen.append(namespace)  # PostgreSQL's own scan (decoded in chunks)
        return real_scan(namespace, *args)

    real_scan = ranked.ScanOp
    monkeypatch.setattr(ranked, "search_all", counting)
    monkeypatch.setattr(ranked, "ScanOp", counting_scan)
    return seen


def _texts(machine: LearningMachine, store: Any, query: str) -> list[str]:
    return [m.text for m in recall(machine, store, SCOPE, query).memories]


def test_foreign_adds_and_updates_are_applied_without_a_rescan(
    pg_database: Any, scans: list[tuple[str, ...]]
) -> None:
    pg_database.reset()
    machine = LearningMachine(user_memory=True)
    with open_store(pg_database.url) as reader, open_store(pg_database.url) as writer:
        for i in range(30):
            run_plan(writer.store, user_memory.add_memory(USER, f"Background note {i}", PROV))
        run_plan(writer.store, user_memory.add_memory(USER, "Likes green tea", PROV))
        assert _texts(machine, reader.store, "tea") == ["Likes green tea"]
        assert len(scans) == 1  # the first read builds the index
        added, _ = run_plan(writer.store, user_memory.add_memory(USER, "Drinks tea daily", PROV))
        assert set(_texts(machine, reader.store, "tea")) == {"Likes green tea", "Drinks tea daily"}
        run_plan(
            writer.store,
            user_memory.update_memory(USER, added.id, "Gave up tea for cocoa", PROV),
        )
        assert _texts(machine, reader.store, "cocoa") == ["Gave up tea for cocoa"]
        assert "Drinks tea daily" not in _texts(machine, reader.store, "tea")
        assert len(scans) == 1  # caught up from the changed rows only


def test_a_foreign_delete_is_applied_from_its_tombstone(
    pg_database: Any, scans: list[tuple[str, ...]]
) -> None:
    pg_database.reset()
    machine = LearningMachine(user_memory=True)
    with open_store(pg_database.url) as reader, open_store(pg_database.url) as writer:
        doomed, _ = run_plan(writer.store, user_memory.add_memory(USER, "Hates coffee", PROV))
        run_plan(writer.store, user_memory.add_memory(USER, "Drinks oat-milk coffee", PROV))
        assert "Hates coffee" in _texts(machine, reader.store, "coffee")
        run_plan(writer.store, user_memory.delete_memory(USER, doomed.id))
        assert _texts(machine, reader.store, "coffee") == ["Drinks oat-milk coffee"]
        assert len(scans) == 1  # the tombstone was read with the changed rows: no rescan


async def test_the_async_store_catches_up_too(
    pg_database: Any, scans: list[tuple[str, ...]]
) -> None:
    pg_database.reset()
    machine = LearningMachine(user_memory=True)
    async with aopen_store(pg_database.url) as reader, aopen_store(pg_database.url) as writer:
        from agno_learn_langgraph.core import arun_plan

        await arun_plan(writer.store, user_memory.add_memory(USER, "Keeps bees", PROV))
        first = await arecall(machine, reader.store, SCOPE, "bees")
        assert [m.text for m in first.memories] == ["Keeps bees"]
        await arun_plan(writer.store, user_memory.add_memory(USER, "Sells bees honey", PROV))
        second = await arecall(machine, reader.store, SCOPE, "bees honey")
        assert next(m.text for m in second.memories) == "Sells bees honey"
        assert len(scans) == 1


def test_tombstones_are_written_on_postgres_only(pg_database: Any) -> None:
    from langgraph.store.memory import InMemoryStore

    from agno_learn_langgraph.index.changes import TOMBSTONES

    pg_database.reset()
    memory = InMemoryStore()
    with open_store(pg_database.url) as pg:
        for store in (memory, pg.store):
            added, _ = run_plan(store, user_memory.add_memory(USER, "Short-lived", PROV))
            run_plan(store, user_memory.delete_memory(USER, added.id))
        assert pg.store.list_namespaces(prefix=TOMBSTONES) == [
            (*TOMBSTONES, *user_memory.memory_namespace(USER))
        ]
    assert memory.list_namespaces(prefix=TOMBSTONES) == []


def test_a_namespace_at_the_scan_limit_is_not_rescanned_on_every_foreign_write(
    pg_database: Any, scans: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_database.reset()
    monkeypatch.setattr(ranked, "INDEX_SCAN_LIMIT", 20)  # an index is built from 20 rows
    machine = LearningMachine(user_memory=True)
    with open_store(pg_database.url) as reader, open_store(pg_database.url) as writer:
        for i in range(20):
            run_plan(writer.store, user_memory.add_memory(USER, f"Background note {i}", PROV))
        assert _texts(machine, reader.store, "note")
        assert len(scans) == 1
        for i in range(2):  # up to 10% past the limit: caught up
            run_plan(writer.store, user_memory.add_memory(USER, f"Drinks tea {i}", PROV))
            assert f"Drinks tea {i}" in _texts(machine, reader.store, "tea")
        assert len(scans) == 1
        run_plan(writer.store, user_memory.add_memory(USER, "Drinks tea 2", PROV))
        assert "Drinks tea 2" in _texts(machine, reader.store, "tea")
        assert len(scans) == 2  # well past it: rebuilt from the newest 20


async def test_a_cold_read_of_a_large_namespace_lets_the_event_loop_run(
    pg_database: Any, scans: list[tuple[str, ...]]
) -> None:
    """AsyncPostgresStore: the rows of a cold index build are decoded a chunk at a time."""
    from agno_learn_langgraph.core import put
    from agno_learn_langgraph.records import Memory, fingerprint

    pg_database.reset()
    ns = user_memory.memory_namespace(USER)
    with open_store(pg_database.url) as loader:
        texts = [f"Note {i} about bees, tea and jazz piano lessons" for i in range(8_000)]
        memories = [Memory(text=t, fingerprint=fingerprint(t), provenance=PROV) for t in texts]
        for start in range(0, len(memories), 2_000):
            chunk = memories[start : start + 2_000]
            ops = [put(ns, m.id, m.model_dump(mode="json"), search_text=m.text) for m in chunk]
            loader.store.batch(ops)
    async with aopen_store(pg_database.url) as reader:
        recalled = arecall(LearningMachine(user_memory=True), reader.store, SCOPE, "Note 7")
        found, took, held = await held_loop(recalled)
    assert scans == [ns] and found.memories
    # decoded in one go, the 8,000 rows would hold the loop for most of the recall
    assert held < took / 6, f"loop stalled {held:.3f} s of {took:.3f} s"
