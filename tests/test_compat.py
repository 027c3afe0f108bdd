"""Every LangGraph internal the package uses (``compat``) still behaves as the package expects.

Each test names the internal it checks, so a LangGraph upgrade that changes one fails here, by
name, instead of silently degrading recall or the recipes.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import numpy as np
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.store.memory import InMemoryStore
from langgraph.types import Send

from agno_learn_langgraph import compat
from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.testing import HashEmbeddings

NS = ("learning", "user_memory", "ann")


def _index(dims: int = 16) -> Any:
    return {"dims": dims, "embed": HashEmbeddings(dims=dims), "fields": ["search_text"]}


# -- "__pregel_push" ----------------------------------------------------------------------------


class _Fanout(TypedDict, total=False):
    seen: Annotated[list[tuple[str, bool]], operator.add]


def _record(name: str) -> Any:
    def node(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return {"seen": [(name, compat.started_by_send(config))]}

    return node


def test_the_send_trigger_tells_a_sent_task_from_an_edge_task() -> None:
    builder = StateGraph(_Fanout)
    builder.add_node("edge", _record("edge"))
    builder.add_node("sent", _record("sent"))
    builder.add_edge(START, "edge")
    builder.add_conditional_edges("edge", lambda _: [Send("sent", {})], ["sent"])
    out = builder.compile().invoke({})
    assert sorted(out["seen"]) == [("edge", False), ("sent", True)]


def test_the_send_trigger_is_langgraphs_push_constant() -> None:
    constants = pytest.importorskip("langgraph._internal._constants")
    assert compat.SEND_TRIGGER == constants.PUSH


# -- InMemoryStore._vectors ---------------------------------------------------------------------


def test_in_memory_vectors_are_the_stored_embeddings() -> None:
    embed = HashEmbeddings(dims=16)
    store = InMemoryStore(index={"dims": 16, "embed": embed, "fields": ["search_text"]})
    store.put(NS, "m1", {"search_text": "green tea"}, index=["search_text"])
    rows = compat.in_memory_vectors(store, NS)
    assert set(rows) == {"m1"}
    np.testing.assert_allclose(rows["m1"]["search_text"], embed.embed_query("green tea"))
    store.delete(NS, "m1")
    assert compat.in_memory_vectors(store, NS) == {}


def test_reading_an_unknown_namespace_does_not_create_it() -> None:
    store = InMemoryStore(index=_index())
    assert compat.in_memory_vectors(store, ("nothing", "here")) == {}
    assert store.list_namespaces() == []
    assert ("nothing", "here") not in store._vectors


# -- has_vector_index -----------------------------------------------------------------------------


def test_a_store_with_an_index_is_told_from_one_without() -> None:
    assert compat.has_vector_index(InMemoryStore(index=_index()))
    assert not compat.has_vector_index(InMemoryStore())


# -- PostgresStore._cursor, AsyncPostgresStore._cursor and .loop --------------------------------


def test_the_postgres_store_cursor_gives_dict_rows(pg_url: str) -> None:
    with open_store(pg_url) as backend, compat.pg_cursor(backend.store) as cur:
        cur.execute("SELECT 1 AS one")
        assert cur.fetchone() == {"one": 1}


async def test_the_async_postgres_store_cursor_and_loop(pg_url: str) -> None:
    async with aopen_store(pg_url) as backend:
        assert compat.async_store_loop(backend.store) is asyncio.get_running_loop()
        async with compat.pg_acursor(backend.store) as cur:
            await cur.execute("SELECT 1 AS one")
            assert await cur.fetchone() == {"one": 1}


# -- the store table: rows changed since a time, and this package's index on it ------------------


def test_store_changes_sql_reads_the_rows_written_since_in_the_given_namespaces(
    pg_database: Any,
) -> None:
    import datetime as dt

    pg_database.reset()
    ns = ("learning", "user_memory", "changes-probe")
    with open_store(pg_database.url) as backend:
        store = backend.store
        store.put(ns, "old", {"search_text": "old", "status": "active"})
        store.put((*ns, "child"), "nested", {"search_text": "not this namespace"})
        for _ in range(2):  # idempotent
            with compat.pg_cursor(store) as cur:
                cur.execute(compat.store_changes_index_sql())
        with compat.pg_cursor(store) as cur:
            cur.execute("SELECT now() AS t")
            cut = cur.fetchone()["t"]
        store.put(ns, "new", {"search_text": "new", "status": "active"})
        store.put(ns, "hidden", {"search_text": "proposed", "status": "proposed"})

        tomb = ("learning", "tombstones", *ns)
        store.put(tomb, "old", {"deleted": True})
        with compat.pg_cursor(store) as cur:
            cur.execute(*compat.store_changes_sql([ns, tomb], cut))
            rows = cur.fetchall()
        got = sorted((r["prefix"], r["key"]) for r in rows)
        assert got == [(".".join(tomb), "old"), (".".join(ns), "hidden"), (".".join(ns), "new")]
        assert all(isinstance(r["updated_at"], dt.datetime) for r in rows)
        assert {r["value"].get("search_text") for r in rows} == {"new", "proposed", None}
        with compat.pg_cursor(store) as cur:
            cur.execute(
                "SELECT 1 FROM pg_indexes WHERE indexname = %s", (compat.STORE_CHANGES_INDEX,)
            )
            assert cur.fetchone() is not None


def test_store_scan_sql_reads_a_namespaces_newest_rows_that_match_the_filter(
    pg_database: Any,
) -> None:
    pg_database.reset()
    ns = ("learning", "user_memory", "scan-probe")
    with open_store(pg_database.url) as backend:
        store = backend.store
        for i in range(4):
            store.put(ns, f"k{i}", {"search_text": f"row {i}", "status": "approved"})
        store.put(ns, "hidden", {"search_text": "proposed", "status": "proposed"})
        store.put((*ns, "child"), "nested", {"search_text": "nested", "status": "approved"})
        with compat.pg_cursor(store) as cur:
            cur.execute(*compat.store_scan_sql(ns, {"status": "approved"}, 3))
            rows = cur.fetchall()
        assert [r["key"] for r in rows] == ["k3", "k2", "k1"]  # newest first, at most 3
        assert rows[0]["value"] == store.get(ns, "k3").value  # type: ignore[union-attr]
        assert all(r["updated_at"] == store.get(ns, r["key"]).updated_at for r in rows)  # type: ignore[union-attr]
        with compat.pg_cursor(store) as cur:
            cur.execute(*compat.store_scan_sql(ns, None, 10))
            assert len(cur.fetchall()) == 5  # no filter: every row of the namespace itself


# -- the store_vectors table and pgvector's binary format ----------------------------------------


def test_store_vectors_rows_decode_to_the_stored_embeddings(pgvector_database: Any) -> None:
    pgvector_database.reset()
    index = _index(256)  # the dimensions of the server's store_vectors column (conftest)
    with open_store(pgvector_database.url, index=index) as backend:
        store = backend.store
        assert compat.pgvector_dtype(store.index_config) == ">f4"
        store.put(NS, "m1", {"search_text": "green tea"}, index=["search_text"])
        store.put(NS, "m2", {"search_text": "black coffee"}, index=["search_text"])
        with compat.pg_cursor(store) as cur:
            cur.execute(*compat.store_vectors_sql(NS, "search_text", ["m1"]))
            rows = cur.fetchall()
        assert [row["key"] for row in rows] == ["m1"]
        vector = compat.decode_pgvector(rows[0]["embedding"], ">f4")
        assert vector is not None
        expected = index["embed"].embed_query("green tea")
        np.testing.assert_allclose(vector, expected, rtol=1e-6)
        with compat.pg_cursor(store) as cur:
            cur.execute(*compat.store_vectors_sql(NS, "search_text", None))
            assert sorted(row["key"] for row in cur.fetchall()) == ["m1", "m2"]


def test_the_binary_format_of_vector_and_halfvec_columns() -> None:
    for dtype in (">f4", ">f2"):
        raw = (3).to_bytes(2, "big") + b"\x00\x00" + np.array([1, 2.5, -3], dtype).tobytes()
        decoded = compat.decode_pgvector(raw, dtype)
        assert decoded is not None and decoded.tolist() == [1.0, 2.5, -3.0]
    assert compat.pgvector_dtype({"ann_index_config": {"vector_type": "halfvec"}}) == ">f2"
    assert compat.pgvector_dtype({"ann_index_config": {"vector_type": "bit"}}) is None


# -- wrappers: BatchedStore's _store, GrpcStore's _index_config ----------------------------------


class _Forwarding(InMemoryStore):
    """A wrapper keeping its store in ``_store`` (as the LangGraph server's ``BatchedStore``)."""

    __slots__ = ("_store",)

    def __init__(self, store: Any) -> None:
        super().__init__()
        self._store = store


def test_wrappers_are_followed_to_the_indexed_store() -> None:
    inner = InMemoryStore(index=_index())
    outer = _Forwarding(_Forwarding(inner))
    assert compat.store_chain(outer)[-1] is inner
    assert compat.unwrap_store(outer) is inner and compat.unwrap_store(inner) is inner
    assert compat.has_vector_index(outer)
    assert not compat.has_vector_index(_Forwarding(InMemoryStore()))


def test_a_store_ranking_on_a_server_is_indexed() -> None:
    class ServerStore(InMemoryStore):  # the LangGraph server's GrpcStore keeps _index_config
        __slots__ = ("_index_config",)

        def __init__(self) -> None:
            super().__init__()
            self._index_config = {"dims": 16, "fields": ["$"]}

    assert compat.has_vector_index(ServerStore())
