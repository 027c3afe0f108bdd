"""open_store / aopen_store on all three backends, their errors, and the shared fixtures."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any

import psycopg
import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict

from agno_learn_langgraph import backends
from agno_learn_langgraph.backends import Backend, aopen_store, describe_url, open_store
from agno_learn_langgraph.errors import StoreUnavailableError

NS = ("users", "alice", "memories")


class CounterState(TypedDict):
    log: Annotated[list[str], operator.add]
    count: int


def _bump(state: CounterState) -> dict[str, Any]:
    return {"count": state.get("count", 0) + 1}


def _counter_graph() -> StateGraph[Any, Any, Any, Any]:
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(CounterState)
    builder.add_node("bump", _bump)
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    return builder


def _tiny_index() -> Any:
    return {"dims": 4, "embed": lambda texts: [[1.0, 0.0, 0.0, 0.0] for _ in texts]}


# -- round trips -----------------------------------------------------------------------------


def test_open_store_round_trip(backend_url: str) -> None:
    with open_store(backend_url) as opened:
        store = opened.store
        store.put(NS, "m1", {"text": "likes tea"})
        store.put(NS, "m2", {"text": "lives in Lyon"})
        item = store.get(NS, "m1")
        assert item is not None and item.value == {"text": "likes tea"}
        found = store.search(("users", "alice"), filter={"text": "lives in Lyon"})
        assert [i.key for i in found] == ["m2"]

        graph = _counter_graph().compile(store=store, checkpointer=opened.checkpointer)
        config: Any = {"configurable": {"thread_id": "t1"}}
        graph.invoke({"log": ["a"]}, config)
        result = graph.invoke({"log": ["b"]}, config)
        assert result == {"log": ["a", "b"], "count": 2}
        other = graph.invoke({"log": ["c"]}, {"configurable": {"thread_id": "t2"}})
        assert other == {"log": ["c"], "count": 1}


async def test_aopen_store_round_trip(backend_url: str) -> None:
    async with aopen_store(backend_url) as opened:
        store = opened.store
        await store.aput(NS, "m1", {"text": "likes tea"})
        item = await store.aget(NS, "m1")
        assert item is not None and item.value == {"text": "likes tea"}
        assert [i.key for i in await store.asearch(("users",))] == ["m1"]

        graph = _counter_graph().compile(store=store, checkpointer=opened.checkpointer)
        config: Any = {"configurable": {"thread_id": "t1"}}
        await graph.ainvoke({"log": ["a"]}, config)
        result = await graph.ainvoke({"log": ["b"]}, config)
        assert result == {"log": ["a", "b"], "count": 2}


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_data_outlives_the_context_manager(backend_url: str) -> None:
    with open_store(backend_url) as opened:
        opened.store.put(NS, "m1", {"text": "kept"})
        graph = _counter_graph().compile(checkpointer=opened.checkpointer)
        graph.invoke({"log": ["a"]}, {"configurable": {"thread_id": "t1"}})
    with open_store(backend_url) as reopened:
        item = reopened.store.get(NS, "m1")
        assert item is not None and item.value == {"text": "kept"}
        graph = _counter_graph().compile(checkpointer=reopened.checkpointer)
        result = graph.invoke({"log": ["b"]}, {"configurable": {"thread_id": "t1"}})
        assert result["count"] == 2


def test_postgres_store_and_saver_share_one_pool(pg_url: str) -> None:
    from psycopg_pool import ConnectionPool

    with open_store(pg_url, max_pool_size=3) as opened:
        pool = opened.store.conn  # type: ignore[attr-defined]
        assert isinstance(pool, ConnectionPool)
        assert opened.checkpointer.conn is pool  # type: ignore[attr-defined]
        assert pool.max_size == 3
    assert pool.closed


def test_postgresql_psycopg_scheme_is_normalised(pg_url: str) -> None:
    sqlalchemy_style = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    assert describe_url(sqlalchemy_style) == describe_url(pg_url)
    with open_store(sqlalchemy_style) as opened:
        opened.store.put(NS, "m1", {"text": "x"})


def test_sqlite_url_forms_and_parent_dir(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "learn.sqlite"
    with open_store(f"sqlite:///{nested}") as opened:
        opened.store.put(NS, "m1", {"text": "x"})
    assert nested.exists()
    with open_store(str(nested)) as opened:
        item = opened.store.get(NS, "m1")
        assert item is not None


# -- the fixtures themselves -----------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2])
def test_store_fixture_starts_empty(store: BaseStore, attempt: int) -> None:
    assert store.search(("users",), limit=100) == []
    store.put(NS, "m1", {"text": f"attempt {attempt}"})


@pytest.mark.parametrize("attempt", [1, 2])
async def test_astore_fixture_starts_empty(astore: BaseStore, attempt: int) -> None:
    assert await astore.asearch(("users",), limit=100) == []
    await astore.aput(NS, "m1", {"text": f"attempt {attempt}"})


def test_store_fixture_types(backend_name: str, store: BaseStore, backend: Backend) -> None:
    expected = {
        "memory": "ThreadSafeInMemoryStore",
        "sqlite": "SqliteStore",
        "postgres": "PostgresStore",
    }
    assert type(store).__name__ == expected[backend_name]
    assert backend.store is not None and backend.checkpointer is not None


async def test_astore_fixture_types(backend_name: str, astore: BaseStore) -> None:
    expected = {
        "memory": "ThreadSafeInMemoryStore",
        "sqlite": "AsyncSqliteStore",
        "postgres": "AsyncPostgresStore",
    }
    assert type(astore).__name__ == expected[backend_name]


def test_backend_fixtures_get_markers(request: pytest.FixtureRequest, backend_name: str) -> None:
    marked = request.node.get_closest_marker("postgres") is not None
    assert marked is (backend_name == "postgres")


# -- semantic search -------------------------------------------------------------------------


def test_vector_store_ranks_the_semantically_closer_item_first(vector_store: BaseStore) -> None:
    vector_store.put(NS, "tea", {"search_text": "prefers green tea in the morning"})
    vector_store.put(NS, "editor", {"search_text": "uses dark mode in the code editor"})
    vector_store.put(NS, "city", {"search_text": "moved to Lyon last spring"})
    hits = vector_store.search(("users",), query="dark mode for the code editor", limit=3)
    assert hits[0].key == "editor"
    assert hits[0].score is not None and hits[0].score > (hits[1].score or 0.0)
    hits = vector_store.search(("users",), query="green tea", limit=3)
    assert hits[0].key == "tea"


def test_vector_store_is_emptied_between_tests(vector_store: BaseStore) -> None:
    assert vector_store.search(("users",), limit=100) == []
    vector_store.put(NS, "x", {"search_text": "left behind"})


def test_vector_store_fixture_marks(request: pytest.FixtureRequest, vector_backend: str) -> None:
    marked = request.node.get_closest_marker("pgvector") is not None
    assert marked is (vector_backend == "postgres-vector")


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["mysql://u@h/db", "learn.txt", "", "sqlite:///", "postgresql://"])
def test_unrecognised_url_names_url_and_accepted_forms(url: str) -> None:
    with pytest.raises(ValueError, match="Unrecognised store URL") as info, open_store(url):
        pass
    assert repr(url) in str(info.value)


def test_unrecognised_url_lists_the_accepted_forms() -> None:
    with pytest.raises(ValueError) as info, open_store("redis://localhost"):
        pass
    for form in (":memory:", ".db", "sqlite:///", "postgresql://"):
        assert form in str(info.value)


async def test_aopen_store_rejects_unrecognised_url() -> None:
    with pytest.raises(ValueError, match="redis://localhost"):
        async with aopen_store("redis://localhost"):
            pass


UNREACHABLE = "postgresql://bob:s3cr3t-pw@127.0.0.1:1/learn"


def _assert_unreachable_message(message: str) -> None:
    assert "s3cr3t-pw" not in message
    assert "postgresql://bob:***@127.0.0.1:1/learn" in message
    assert "pg_isready -h 127.0.0.1 -p 1" in message
    assert "Does the database exist" in message


def test_unreachable_postgres_is_redacted_and_names_the_fix() -> None:
    with pytest.raises(StoreUnavailableError) as info, open_store(UNREACHABLE):
        pass
    _assert_unreachable_message(str(info.value))


async def test_aopen_store_unreachable_postgres() -> None:
    with pytest.raises(StoreUnavailableError) as info:
        async with aopen_store(UNREACHABLE):
            pass
    _assert_unreachable_message(str(info.value))


def test_unknown_database_names_createdb(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/agno_learn_no_such_db"
    with pytest.raises(StoreUnavailableError) as info, open_store(missing):
        pass
    assert "agno_learn_no_such_db" in str(info.value)
    assert "createdb" in str(info.value)


def _has_pgvector(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return row.fetchone() is not None


def test_postgres_index_without_pgvector_explains(pg_url: str) -> None:
    if _has_pgvector(pg_url):
        with open_store(pg_url, index=_tiny_index()):
            return
    with (
        pytest.raises(StoreUnavailableError, match="pgvector") as info,
        open_store(pg_url, index=_tiny_index()),
    ):
        pass
    assert "pgserver" in str(info.value)
    assert not isinstance(info.value.__cause__, psycopg.Error)


async def test_aopen_store_index_without_pgvector_explains(pg_url: str) -> None:
    if _has_pgvector(pg_url):
        async with aopen_store(pg_url, index=_tiny_index()):
            return
    with pytest.raises(StoreUnavailableError, match="pgvector"):
        async with aopen_store(pg_url, index=_tiny_index()):
            pass


def test_sqlite_index_without_extension_loading_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "_sqlite_can_load_extensions", lambda: False)
    with (
        pytest.raises(StoreUnavailableError) as info,
        open_store(str(tmp_path / "x.db"), index=_tiny_index()),
    ):
        pass
    assert "pysqlite3-binary" in str(info.value)
    assert "drop index=" in str(info.value)


async def test_aopen_store_sqlite_index_without_extension_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "_sqlite_can_load_extensions", lambda: False)
    with pytest.raises(StoreUnavailableError, match="pysqlite3-binary"):
        async with aopen_store(str(tmp_path / "x.db"), index=_tiny_index()):
            pass


# -- describe_url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (":memory:", "in-memory (InMemoryStore + InMemorySaver; nothing is persisted)"),
        ("learn.db", "SQLite file learn.db"),
        ("sqlite:///data/x.sqlite", "SQLite file data/x.sqlite"),
        ("postgres://bob:pw@db:5432/app", "PostgreSQL postgresql://bob:***@db:5432/app"),
        ("postgresql://bob@db/app", "PostgreSQL postgresql://bob@db/app"),
        (
            "postgresql://db/app?user=bob&password=pw&sslmode=require",
            "PostgreSQL postgresql://db/app?user=bob&password=***&sslmode=require",
        ),
    ],
)
def test_describe_url(url: str, expected: str) -> None:
    assert describe_url(url) == expected


def test_describe_url_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="Unrecognised"):
        describe_url("ftp://x")


@pytest.mark.pgvector
def test_vector_store_connections_search_more_hnsw_candidates(
    pgvector_url: str, vector_index: Any
) -> None:
    """pgvector's default ef_search (40) loses recall at 100k items; open_store raises it."""
    from agno_learn_langgraph.backends import HNSW_EF_SEARCH

    with open_store(pgvector_url, index=vector_index) as backend:
        pool = backend.store.conn  # type: ignore[attr-defined]
        with pool.connection() as conn:
            row = conn.execute("SHOW hnsw.ef_search").fetchone()
    assert int(next(iter(row.values()))) == HNSW_EF_SEARCH


def test_the_pool_checks_a_connection_with_a_round_trip_only_after_the_server_spoke(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from psycopg_pool import ConnectionPool

    checked: list[Any] = []
    real = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", lambda c: (checked.append(c), real(c)))
    with psycopg.connect(pg_url, autocommit=True) as conn, psycopg.connect(pg_url) as admin:
        conn.execute("SELECT 1")
        backends._pool_check(conn)  # healthy and idle: lent as it is
        assert checked == []
        pid = conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))  # what a restart does
        deadline = time.monotonic() + 5
        while not backends._heard_from_server(conn) and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(psycopg.OperationalError):  # the pool replaces it
            backends._pool_check(conn)
        assert checked == [conn]
