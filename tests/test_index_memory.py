"""The in-process BM25 index: compact per memory, values kept intact, built off the event loop."""

from __future__ import annotations

import asyncio
import json
import random
import tracemalloc
from collections.abc import Iterable
from typing import Any

from langgraph.store.base import Op, PutOp, Result
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import LearningMachine, Scope
from agno_learn_langgraph.index import NamespaceIndex
from agno_learn_langgraph.index.ranked import search_text
from agno_learn_langgraph.recall import arecall
from agno_learn_langgraph.records import Memory, Provenance, fingerprint
from agno_learn_langgraph.stores.user_memory import memory_namespace
from tests.loop_stall import held_loop

WORDS = [f"{a}{b}" for a in ("tea", "bike", "jazz", "code", "sail", "cook") for b in "aeiouy"]


def _sentences(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"Note {i}: " + " ".join(rng.choices(WORDS, k=9)) for i in range(n)]


def _decoded_rows(texts: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Memories as PostgreSQL returns them: each row's JSON decoded on its own."""
    prov = Provenance(mode="api", thread_id="t-1")
    keys, rows = [], []
    for text in texts:
        memory = Memory(text=text, fingerprint=fingerprint(text), provenance=prov)
        keys.append(memory.id)
        rows.append(json.dumps({**memory.model_dump(mode="json"), "search_text": text}))
    return keys, [json.loads(row) for row in rows]


def test_an_index_of_decoded_rows_costs_well_under_the_rows_themselves() -> None:
    texts = _sentences(2_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keys, values = _decoded_rows(texts)
        expected = json.dumps(values)  # what recall must return
        index = NamespaceIndex(keys, values, search_text)
        del values  # the scan's rows are dropped once the index is built
        per_memory = (tracemalloc.get_traced_memory()[0] - before - len(expected)) / len(keys)
    finally:
        tracemalloc.stop()
    # per-term arrays and every row's own copy of every key and string cost 2.8 KB a memory
    assert per_memory < 1_600, f"{per_memory:.0f} bytes per memory"
    assert index.items == json.loads(expected)  # values equal to the rows read, nested too
    assert index.items[0]["id"] is keys[0]  # kept once, as the key
    top = index.rank_scored("teaa", limit=3)
    assert top and all("teaa" in value["text"] for _, value in top)


def test_an_in_memory_stores_values_are_kept_as_they_are() -> None:
    values = [{"search_text": text, "tags": ("a", 1)} for text in _sentences(5)]
    index = NamespaceIndex([str(i) for i in range(5)], values, search_text)
    assert all(a is b for a, b in zip(index.items, values, strict=True))


class ThreadedStore(InMemoryStore):
    """An async store whose reads leave the event loop free (as PostgreSQL's I/O does)."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, ops)


async def test_a_large_build_does_not_stall_the_event_loop() -> None:
    store = ThreadedStore()
    user = "bulk-user"
    namespace = memory_namespace(user)
    ops = []
    for text in _sentences(20_000):
        memory = Memory(text=text, fingerprint=fingerprint(text))
        value = {**memory.model_dump(mode="json"), "search_text": text}
        ops.append(PutOp(namespace, memory.id, value, index=False))
    store.batch(ops)
    recalled = arecall(LearningMachine(user_memory=True), store, Scope(user_id=user), "teaa")
    found, took, held = await held_loop(recalled)
    assert found.memories and "teaa" in found.memories[0].text
    # built on the loop, the ticker would wait for the whole build: most of the recall
    assert held < took / 4, f"loop stalled {held:.3f} s of {took:.3f} s"


def test_a_large_build_ranks_alike_in_sync_and_async_runs() -> None:
    from agno_learn_langgraph.recall import recall

    def store_of_notes() -> InMemoryStore:
        store = InMemoryStore()
        for text in _sentences(1_000):  # past OFF_LOOP_CHARS: a build step of its own
            memory = Memory(text=text, fingerprint=fingerprint(text))
            value = {**memory.model_dump(mode="json"), "search_text": text}
            store.put(memory_namespace("u"), memory.id, value, index=False)
        return store

    machine, scope = LearningMachine(user_memory=True), Scope(user_id="u")
    sync = recall(machine, store_of_notes(), scope, "jazza sailo")
    async_ = asyncio.run(arecall(machine, store_of_notes(), scope, "jazza sailo"))
    texts = [m.text for m in sync.memories]
    assert texts and texts == [m.text for m in async_.memories]
    assert all("jazza" in t or "sailo" in t for t in texts)


def test_the_index_cache_is_bounded_by_bytes_whatever_the_item_count() -> None:
    from agno_learn_langgraph.index.cache import _Cached, _IndexCache

    def entry(chars: int) -> _Cached:  # 100 records read from a JSON store, `chars` long each
        keys, values = _decoded_rows([f"{text} " + "x" * chars for text in _sentences(100)])
        return _Cached("v1", 1e18, None, NamespaceIndex(keys, values, search_text))

    short, long = entry(50).index.nbytes, entry(5_000).index.nbytes
    assert long > 100 * 5_000 and long > 4 * short  # the long texts are counted, once each
    cache = _IndexCache(max_items=10**6, max_vector_bytes=1 << 30, max_index_bytes=long * 5 // 2)
    store = InMemoryStore()
    a, b, c, d = (("learning", "user_memory", u) for u in "abcd")
    for ns in (a, b):
        cache.put(store, ns, "k", entry(5_000), cache.generation(store, ns))
    assert cache.get(store, a, "k", "v1") and cache.get(store, b, "k", "v1")
    cache.put(store, c, "k", entry(5_000), cache.generation(store, c))  # 300 items, 3 x long
    assert cache.get(store, a, "k", "v1") is None  # the least recently used went
    assert cache.get(store, b, "k", "v1") and cache.get(store, c, "k", "v1")
    cache.put(store, d, "k", entry(20_000), cache.generation(store, d))  # over the bound alone
    assert [cache.get(store, ns, "k", "v1") is not None for ns in (b, c, d)] == [False, False, True]


def test_a_segment_merge_runs_off_the_writer_and_keeps_the_writes_made_meanwhile(
    monkeypatch: Any,
) -> None:
    from agno_learn_langgraph.index import segments

    merges: list[Any] = []
    monkeypatch.setattr(segments, "_start_merge", merges.append)  # the test runs it, later
    keys, rows = _decoded_rows(_sentences(300))
    index = NamespaceIndex(keys, rows, search_text)
    writes = {f"w{i}": {"search_text": f"quokka note {i}"} for i in range(segments._MIN_MERGE + 1)}
    for key, value in writes.items():
        index.apply(key, value)
    assert len(merges) == 1  # due: handed to a thread, the writer went on
    index.apply("w1", {"search_text": "quokka note one again"})
    assert len(merges) == 1  # one merge at a time
    build = index._segment

    def build_while_writing(*args: Any) -> Any:  # writes land while the new base is built
        index.apply("late", {"search_text": "quokka note late"})
        index.apply(keys[0], None)  # a delete of a base row
        index.apply("w0", None)  # a delete of a write the merge takes in
        return build(*args)

    monkeypatch.setattr(index, "_segment", build_while_writing)
    merges[0]()  # the merge thread runs

    texts = [v["search_text"] for _, v in index.rank_scored("quokka", limit=1000)]
    assert "quokka note late" in texts and "quokka note one again" in texts
    assert "quokka note 0" not in texts and "quokka note 1" not in texts
    assert len(texts) == len(writes) - 1 + 1
    assert len(index) == 300 - 1 + len(writes) - 1 + 1
    assert rows[0]["search_text"] not in {v["search_text"] for v in index.items}
    assert index.items[0]["search_text"] == "quokka note late"  # newest first still
    assert list(index._delta) == ["late", keys[0], "w0"]  # only what came during the merge
    assert len(index._keys) == 300 + len(writes)  # the merged base


def test_newest_yields_the_items_in_order_without_building_them() -> None:
    keys, rows = _decoded_rows(_sentences(50))
    index = NamespaceIndex(keys, rows, search_text)
    index.apply("new", {"search_text": "quokka new"})
    index.apply(keys[3], None)
    index.apply(keys[5], {"search_text": "quokka rewritten"})
    assert list(index.newest()) == index.items
    assert [v["search_text"] for v in index.newest()][:2] == ["quokka rewritten", "quokka new"]
    assert index.held == 50 + 3 and len(index) == 50
