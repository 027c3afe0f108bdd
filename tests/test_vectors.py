"""Semantic search kept in process: same answers as an exact search, fresh after every write."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest
from langgraph.store.base import BaseStore, Op, Result, SearchOp
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.backends import aopen_store
from agno_learn_langgraph.core import arun_plan, run_plan
from agno_learn_langgraph.index import VERSIONS_NAMESPACE, VectorIndex, vector_source
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.testing import HashEmbeddings

PROV = Provenance(mode="api")
TOPICS = [
    "green tea",
    "dark mode editor",
    "moving to Lyon",
    "marathon training",
    "sourdough baking",
    "jazz piano",
    "postgres indexes",
    "tax forms",
    "rock climbing",
    "vegetarian recipes",
]
TEXTS = [f"Memory {i}: the user talked about {TOPICS[i % 10]} on day {i}" for i in range(120)]
QUERIES = ["green tea", "editor in dark mode", "climbing rocks", "baking bread", "taxes"]


def _exact_scores(store: BaseStore, embed: Any, user: str, query: str) -> dict[str, float]:
    """Exact cosine similarity of each of the user's memories to ``query`` (float64)."""
    memories = run_plan(store, user_memory.list_memories(user))
    matrix = np.array(embed.embed_documents([m.text for m in memories]), dtype=np.float64)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    q = np.array(embed.embed_query(query))
    return dict(zip([m.text for m in memories], matrix @ (q / np.linalg.norm(q)), strict=True))


def _assert_exact_top(found: list[str], scores: dict[str, float], k: int) -> None:
    """``found`` is an exact top ``k``: the best scores, in order (float32 ties may swap)."""
    best = sorted(scores.values(), reverse=True)[:k]
    assert [scores[t] for t in found] == pytest.approx(best, abs=1e-5)


def _relevant(store: BaseStore, user: str, query: str, k: int = 5) -> list[str]:
    plan = user_memory.relevant_memories(user, query, limit=k, indexed=True, ranking="semantic")
    found = run_plan(store, plan)
    return [m.text for m in found]


def _fill(store: BaseStore, user: str = "ann") -> None:
    for text in TEXTS:
        run_plan(store, user_memory.add_memory(user, text, PROV))


class _CountingStore(InMemoryStore):
    """Counts the store-side semantic searches (SearchOps with a query)."""

    __slots__ = ("query_searches",)

    def batch(self, ops: Any) -> list[Result]:
        ops = list(ops)
        self.query_searches += sum(isinstance(op, SearchOp) and bool(op.query) for op in ops)
        return super().batch(ops)


def test_matches_an_exact_search_on_both_vector_backends(
    vector_store: BaseStore, vector_index: dict[str, Any]
) -> None:
    _fill(vector_store)
    for query in QUERIES:
        scores = _exact_scores(vector_store, vector_index["embed"], "ann", query)
        _assert_exact_top(_relevant(vector_store, "ann", query), scores, 5)


def test_warm_searches_never_ask_the_store_to_rank(vector_index: dict[str, Any]) -> None:
    store = _CountingStore(index=vector_index)
    store.query_searches = 0
    _fill(store)
    for query in QUERIES * 3:
        _relevant(store, "ann", query)
    assert store.query_searches == 0


def test_own_writes_updates_and_deletes_show_up_at_once(vector_store: BaseStore) -> None:
    _fill(vector_store)
    assert "quantum" not in " ".join(_relevant(vector_store, "ann", "quantum computing course"))
    added, _ = run_plan(
        vector_store, user_memory.add_memory("ann", "Started a quantum computing course", PROV)
    )
    assert _relevant(vector_store, "ann", "quantum computing course", 1) == [added.text]
    run_plan(
        vector_store,
        user_memory.update_memory("ann", added.id, "Quit the quantum course; learns cello", PROV),
    )
    assert _relevant(vector_store, "ann", "cello lessons", 1) == [
        "Quit the quantum course; learns cello"
    ]
    run_plan(vector_store, user_memory.delete_memory("ann", added.id))
    assert all("cello" not in t for t in _relevant(vector_store, "ann", "cello lessons", 10))


def test_another_process_write_is_seen_after_its_stamp_changes(vector_store: BaseStore) -> None:
    _fill(vector_store)
    _relevant(vector_store, "ann", "green tea")  # cached now
    ns = user_memory.memory_namespace("ann")
    # what another process's plan writes: the item (embedded by the store) and a new stamp
    vector_store.put(
        ns,
        "mem_foreign",
        {
            **run_plan(vector_store, user_memory.list_memories("ann"))[0].model_dump(mode="json"),
            "id": "mem_foreign",
            "text": "Adopted a greyhound named Comet",
            "search_text": "Adopted a greyhound named Comet",
        },
        index=["search_text"],
    )
    vector_store.put(VERSIONS_NAMESPACE, "/".join(ns), {"v": "another-process"})
    assert _relevant(vector_store, "ann", "greyhound dog Comet", 1) == [
        "Adopted a greyhound named Comet"
    ]


def test_users_never_see_each_other(vector_store: BaseStore) -> None:
    _fill(vector_store, "ann")
    run_plan(vector_store, user_memory.add_memory("bob", "Bob keeps bees", PROV))
    assert _relevant(vector_store, "bob", "green tea", 10) == ["Bob keeps bees"]
    assert "Bob keeps bees" not in _relevant(vector_store, "ann", "bees", 10)


async def test_async_stores_give_the_same_answers(
    vector_backend: str, vector_index: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    if vector_backend == "memory-vector":
        store: BaseStore = InMemoryStore(index=vector_index)
        _fill(store)
        await _acheck(store)
        return
    db = request.getfixturevalue("pgvector_database")
    db.reset()
    async with aopen_store(db.url, index=vector_index) as opened:
        for text in TEXTS:
            await arun_plan(opened.store, user_memory.add_memory("ann", text, PROV))
        await _acheck(opened.store)


async def _acheck(store: BaseStore) -> None:
    embed = store.index_config["embed"]  # type: ignore[attr-defined]
    for query in QUERIES:
        found = await arun_plan(
            store,
            user_memory.relevant_memories("ann", query, limit=5, indexed=True, ranking="semantic"),
        )
        scores = await asyncio.to_thread(_exact_scores, store, embed, "ann", query)
        _assert_exact_top([m.text for m in found], scores, 5)
        # the sync API from another thread (what a sync graph on this store does) agrees
        assert await asyncio.to_thread(_relevant, store, "ann", query) == [m.text for m in found]
    # ... and reads the vectors of a new write through the sync path too
    assert await asyncio.to_thread(_add_then_find, store, "Learning to sail a catamaran") == [
        "Learning to sail a catamaran"
    ]


def _add_then_find(store: BaseStore, text: str) -> list[str]:
    run_plan(store, user_memory.add_memory("ann", text, PROV))
    return _relevant(store, "ann", text, 1)


class _WrappedStore(BaseStore):
    """A store this package does not know: it must rank by itself."""

    def __init__(self, inner: InMemoryStore) -> None:
        self.inner = inner
        self.index_config = inner.index_config
        self.embeddings = inner.embeddings
        self.query_searches = 0

    def batch(self, ops: Any) -> list[Result]:
        ops = list(ops)
        self.query_searches += sum(isinstance(op, SearchOp) and bool(op.query) for op in ops)
        return self.inner.batch(ops)

    async def abatch(self, ops: Any) -> list[Result]:
        return self.batch(ops)


def test_unknown_stores_rank_by_themselves(vector_index: dict[str, Any]) -> None:
    store = _WrappedStore(InMemoryStore(index=vector_index))
    assert vector_source(store) is None
    _fill(store)
    assert "green tea" in _relevant(store, "ann", "green tea", 1)[0]
    assert store.query_searches == 1


def test_vector_index_metrics_and_a_clear_dimension_error() -> None:
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([3.0, 3.0])}
    for metric, expected in (("cosine", "b"), ("inner_product", "b"), ("l2", "a")):
        index = VectorIndex(["a", "b"], [{"k": "a"}, {"k": "b"}], metric=metric)  # type: ignore[arg-type]
        index.set_vectors(vectors, index.missing())
        assert index.rank(np.array([1.0, 0.9]), limit=1) == [{"k": expected}]
    with pytest.raises(ValueError, match="3 dimensions but the stored vectors have 2"):
        index.rank(np.array([1.0, 0.0, 0.0]), limit=1)


def test_ops_the_store_does_not_know_never_reach_it(vector_index: dict[str, Any]) -> None:
    seen: list[Op] = []

    class Spy(InMemoryStore):
        __slots__ = ()

        def batch(self, ops: Any) -> list[Result]:
            ops = list(ops)
            seen.extend(ops)
            return super().batch(ops)

    store = Spy(index=vector_index)
    _fill(store)
    _relevant(store, "ann", "green tea")
    assert {type(op).__module__ for op in seen} == {"langgraph.store.base"}


def test_a_vector_read_for_an_older_write_is_not_kept() -> None:
    index = VectorIndex(["k"], [{"text": "old"}], metric="cosine")
    asked = index.missing()  # a reader asks for k's vector ...
    index.apply("k", {"text": "new"})  # ... another thread rewrites k meanwhile ...
    index.set_vectors({"k": np.array([1.0, 0.0])}, asked)  # ... and the old vector arrives
    assert "k" in index.missing()  # still to be read: the next search reads the new one
    index.set_vectors({"k": np.array([0.0, 1.0])}, index.missing())
    assert index.missing() == {}
    assert index.rank(np.array([0.0, 1.0]), limit=1) == [{"text": "new"}]


def test_ties_go_to_the_newest() -> None:
    keys = [f"k{i}" for i in range(20)]  # newest first
    index = VectorIndex(keys, [{"k": k} for k in keys], metric="cosine")
    index.set_vectors({k: np.array([1.0, 1.0]) for k in keys}, index.missing())
    assert index.rank(np.array([1.0, 1.0]), limit=3) == [{"k": "k0"}, {"k": "k1"}, {"k": "k2"}]


def test_stored_vectors_are_read_in_every_format_an_adapter_may_give() -> None:
    from agno_learn_langgraph.compat import decode_pgvector as _decode_vector

    raw = (3).to_bytes(2, "big") + b"\x00\x00" + np.array([1, 2.5, -3], ">f4").tobytes()
    assert _decode_vector(raw, ">f4").tolist() == [1.0, 2.5, -3.0]
    assert _decode_vector(memoryview(raw), ">f4").tolist() == [1.0, 2.5, -3.0]
    assert _decode_vector(raw[:-4], ">f4") is None  # header says 3, body has 2
    assert _decode_vector(np.array([1.0, 2.0]), ">f4").tolist() == [1.0, 2.0]

    class Vector:  # pgvector.psycopg's type
        def to_list(self) -> list[float]:
            return [0.5, 0.25]

    assert _decode_vector(Vector(), ">f4").tolist() == [0.5, 0.25]
    assert _decode_vector("not a vector", ">f4") is None


class _WritesDuringScan(InMemoryStore):
    """Another thread of this process adds a memory while the cold scan is in flight."""

    __slots__ = ("armed",)

    def batch(self, ops: Any) -> list[Result]:
        ops = list(ops)
        results = super().batch(ops)
        full_scan = any(isinstance(op, SearchOp) and not op.query and op.limit > 1000 for op in ops)
        if full_scan and self.armed:
            self.armed = False
            thread = threading.Thread(
                target=run_plan,
                args=(self, user_memory.add_memory("ann", "Keeps a beehive on the roof", PROV)),
            )
            thread.start()
            thread.join()
        return results  # the scan's answer, without the memory written meanwhile


@pytest.mark.parametrize("indexed", [True, False], ids=["vectors", "bm25"])
def test_a_write_racing_the_first_scan_is_not_lost(
    indexed: bool, vector_index: dict[str, Any]
) -> None:
    store = _WritesDuringScan(index=vector_index) if indexed else _WritesDuringScan()
    store.armed = False
    _fill(store)
    store.armed = True
    run_plan(store, user_memory.relevant_memories("ann", "tea", limit=5, indexed=indexed))
    # a later write of this process lands in whatever index was cached, bumping its version
    run_plan(store, user_memory.add_memory("ann", "Plays chess on Sundays", PROV))
    found = run_plan(
        store, user_memory.relevant_memories("ann", "beehive roof", limit=3, indexed=indexed)
    )
    assert "Keeps a beehive on the roof" in [m.text for m in found]


def test_a_namespace_too_large_to_keep_is_searched_by_the_store(
    vector_index: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_learn_langgraph.index import ranked

    monkeypatch.setattr(ranked, "MAX_VECTOR_BYTES", 1024)  # 120 memories x 256 dims is more
    store = _CountingStore(index=vector_index)
    store.query_searches = 0
    _fill(store)
    for query in QUERIES:
        scores = _exact_scores(store, vector_index["embed"], "ann", query)
        _assert_exact_top(_relevant(store, "ann", query), scores, 5)
    assert store.query_searches == len(QUERIES)


async def test_async_only_embeddings_work_from_sync_code_on_an_async_store(
    request: pytest.FixtureRequest,
) -> None:
    embed = HashEmbeddings(dims=256)

    async def aembed(texts: list[str]) -> list[list[float]]:
        return embed.embed_documents(texts)

    db = request.getfixturevalue("pgvector_database")
    db.reset()
    index = {"dims": 256, "embed": aembed, "fields": ["search_text"]}
    async with aopen_store(db.url, index=index) as opened:  # type: ignore[arg-type]
        for text in TEXTS[:30]:
            await arun_plan(opened.store, user_memory.add_memory("ann", text, PROV))
        found = await asyncio.to_thread(_relevant, opened.store, "ann", "green tea", 3)
    assert found and all("green tea" in t for t in found)


def test_a_namespace_over_the_item_limit_is_searched_by_the_store(
    vector_index: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_learn_langgraph.index import ranked

    store = _CountingStore(index=vector_index)
    store.query_searches = 0
    _fill(store)  # 120 memories
    monkeypatch.setattr(ranked, "VECTOR_SCAN_LIMIT", 120)  # exactly at the limit: kept
    _relevant(store, "ann", "green tea")
    assert store.query_searches == 0
    run_plan(store, user_memory.add_memory("ann", "One memory over the limit", PROV))
    store.put(VERSIONS_NAMESPACE, "/".join(user_memory.memory_namespace("ann")), {"v": "x"})
    assert "One memory over the limit" in _relevant(store, "ann", "memory over the limit", 1)
    assert store.query_searches == 1
