"""Shared fixtures: one store parametrised over in-memory, SQLite and a real PostgreSQL.

Fixtures (function scope unless noted):

* ``backend_name``: ``"memory" | "sqlite" | "postgres"``; parametrises every fixture below.
* ``backend_url``: the URL for that backend (``":memory:"``, a tmp ``.db`` file, or the
  session's throwaway Postgres database with its tables emptied before the test).
* ``backend`` / ``abackend``: a :class:`~agno_learn_langgraph.backends.Backend` (store +
  checkpointer) from ``open_store`` / ``aopen_store`` on ``backend_url``.
* ``store`` / ``astore``: ``backend.store`` / ``abackend.store`` (sync ``InMemoryStore``,
  ``SqliteStore``, ``PostgresStore``; async ``InMemoryStore``, ``AsyncSqliteStore``,
  ``AsyncPostgresStore``).
* ``pg_url`` (session): a throwaway database ``agno_learn_test_<pid>_<hex>`` on the server named
  by ``AGNO_LEARN_TEST_PG``; dropped at session end. Data is NOT reset between tests; use
  ``backend_url``/``store`` for isolation.
* ``pgvector_url`` (session): an embedded PostgreSQL 16 + pgvector started with pgserver.
* ``vector_backend``: ``"memory-vector" | "postgres-vector"``; ``vector_index``: the shared
  ``IndexConfig`` (256-dim ``HashEmbeddings`` over ``search_text``); ``vector_store``: a sync
  store with that index, emptied before the test.

Tests that reach PostgreSQL are marked ``postgres`` (pgserver ones ``pgvector``) automatically.
When the server is down they FAIL with instructions; set ``AGNO_LEARN_SKIP_POSTGRES=1`` /
``AGNO_LEARN_SKIP_PGVECTOR=1`` to skip them instead (CI refuses skipped ones).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from agno_learn_langgraph.backends import Backend, aopen_store, describe_url, open_store
from tests.fake_openai import fake_openai, fake_openai_server  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore, IndexConfig

pytest_plugins = ["tests.langgraph_server"]  # dev_server: a real `langgraph dev`

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("memory", "sqlite", "postgres")
VECTOR_BACKENDS = ("memory-vector", "postgres-vector")
VECTOR_DIMS = 256

START_POSTGRES_HINT = (
    "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "(check with `pg_isready -h 127.0.0.1`), or point AGNO_LEARN_TEST_PG at a reachable server "
    "(postgresql://user@host:port/dbname). To skip the postgres tests instead (never in CI), set "
    "AGNO_LEARN_SKIP_POSTGRES=1."
)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


class PgDatabase:
    """A database the tests own: ``reset()`` empties every LangGraph table (keeps migrations)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)

    def reset(self) -> None:
        """Empty the tables; DELETE (~0.3 ms) beats TRUNCATE (~18 ms) on tables this small."""
        import psycopg

        tables = [
            row[0]
            for row in self._conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename NOT LIKE '%migrations'"
            ).fetchall()
        ]
        if not tables:
            return
        try:
            with self._conn.transaction():
                for table in tables:
                    self._conn.execute(f"DELETE FROM {table}")
        except psycopg.errors.ForeignKeyViolation:
            self._conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")

    def close(self) -> None:
        self._conn.close()


# -- PostgreSQL (the machine's server, one throwaway database per session) --------------------


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """The session's throwaway database on ``AGNO_LEARN_TEST_PG``, set up and migrated."""
    import psycopg

    if _env_flag("AGNO_LEARN_SKIP_POSTGRES"):
        pytest.skip("AGNO_LEARN_SKIP_POSTGRES=1: PostgreSQL tests skipped")
    base = os.environ.get("AGNO_LEARN_TEST_PG") or DEFAULT_PG
    name = f"agno_learn_test_{os.getpid()}_{secrets.token_hex(4)}"
    problem = ""
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        problem = " ".join(str(exc).split())
    if problem:  # fail outside the except block so the report is the hint, not a traceback
        pytest.fail(
            f"Cannot reach {describe_url(base)} ({problem}). " + START_POSTGRES_HINT,
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_dbname(base, name)
    try:
        with open_store(url):  # run the migrations once; tests then only truncate
            pass
        db = PgDatabase(url)
        try:
            yield db
        finally:
            db.close()
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_database: PgDatabase) -> str:
    """URL of the session's throwaway PostgreSQL database (tables are not reset per test)."""
    return pg_database.url


# -- pgvector (embedded PostgreSQL 16 via pgserver) -------------------------------------------


@pytest.fixture(scope="session")
def pgvector_database() -> Iterator[PgDatabase]:
    """An embedded PostgreSQL with pgvector, started once per session with pgserver."""
    if _env_flag("AGNO_LEARN_SKIP_PGVECTOR"):
        pytest.skip("AGNO_LEARN_SKIP_PGVECTOR=1: pgvector tests skipped")
    pgdata = Path(tempfile.mkdtemp(prefix="agno_learn_pgvector_"))
    server: Any = None
    problem = ""
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(pgdata, cleanup_mode="delete")
    except Exception as exc:
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    if server is None:
        pytest.fail(
            f"Could not start the embedded PostgreSQL + pgvector (pgserver) in {pgdata}: "
            f"{problem}. Install it with `pip install -e '.[test]'` "
            "(pgserver>=0.1.4); to skip the pgvector tests instead (never in CI), set "
            "AGNO_LEARN_SKIP_PGVECTOR=1.",
            pytrace=False,
        )
    try:
        db = PgDatabase(server.get_uri())
        try:
            yield db
        finally:
            db.close()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def pgvector_url(pgvector_database: PgDatabase) -> str:
    """URL of the embedded pgvector server (unix socket; tables are not reset per test)."""
    return pgvector_database.url


# -- the parametrised store fixtures ---------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Which backend this test runs on: memory, sqlite or postgres."""
    return str(request.param)


@pytest.fixture
def backend_url(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for ``open_store``/``aopen_store`` with no data in it yet."""
    if backend_name == "memory":
        return ":memory:"
    if backend_name == "sqlite":
        return str(tmp_path / "learn.db")
    db: PgDatabase = request.getfixturevalue("pg_database")
    db.reset()
    return db.url


@pytest.fixture
def backend(backend_url: str) -> Iterator[Backend]:
    """Store + checkpointer from ``open_store(backend_url)``, for graph tests."""
    with open_store(backend_url) as opened:
        yield opened


@pytest.fixture
async def abackend(backend_url: str) -> AsyncIterator[Backend]:
    """Async store + checkpointer from ``aopen_store(backend_url)``, for async graph tests."""
    async with aopen_store(backend_url) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> BaseStore:
    """An empty sync store: InMemoryStore, SqliteStore or PostgresStore."""
    return backend.store


@pytest.fixture
def astore(abackend: Backend) -> BaseStore:
    """An empty async store: InMemoryStore, AsyncSqliteStore or AsyncPostgresStore."""
    return abackend.store


@pytest.fixture(params=VECTOR_BACKENDS)
def vector_backend(request: pytest.FixtureRequest) -> str:
    """Which semantic-search backend this test runs on: memory-vector or postgres-vector."""
    return str(request.param)


@pytest.fixture
def vector_index() -> IndexConfig:
    """The index every vector test uses: offline 256-dim hash embeddings of ``search_text``."""
    from agno_learn_langgraph.testing import HashEmbeddings

    return {
        "dims": VECTOR_DIMS,
        "embed": HashEmbeddings(dims=VECTOR_DIMS),
        "fields": ["search_text"],
    }


@pytest.fixture
def vector_store(
    vector_backend: str, vector_index: IndexConfig, request: pytest.FixtureRequest
) -> Iterator[BaseStore]:
    """An empty sync store with ``vector_index``: InMemoryStore or PostgresStore + pgvector."""
    if vector_backend == "memory-vector":
        from langgraph.store.memory import InMemoryStore

        yield InMemoryStore(index=vector_index)
        return
    db: PgDatabase = request.getfixturevalue("pgvector_database")
    db.reset()
    with open_store(db.url, index=vector_index) as opened:
        yield opened.store


# -- markers ---------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that reach PostgreSQL (``postgres``) or pgserver (``pgvector``).

    Every test's markers are also recorded as a junit-xml property ``markers`` so ``.ci/run``
    can count them.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        params: dict[str, Any] = callspec.params if callspec is not None else {}
        fixturenames = set(getattr(item, "fixturenames", ()))
        if params.get("backend_name") == "postgres" or fixturenames & {"pg_url", "pg_database"}:
            item.add_marker(pytest.mark.postgres)
        if params.get("vector_backend") == "postgres-vector" or fixturenames & {
            "pgvector_url",
            "pgvector_database",
        }:
            item.add_marker(pytest.mark.pgvector)
        names = sorted({mark.name for mark in item.iter_markers()} - {"parametrize"})
        item.user_properties.append(("markers", ",".join(names)))
