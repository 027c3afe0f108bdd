"""Write locks held where the data lives, so writers in other OS processes wait too.

``core.locks.write_lock`` serialises the writers of a key in this process. The plan run inside
it (``core.runner``) also holds the key's lock in the store's database, for as long as it runs:

* PostgreSQL (``PostgresStore`` / ``AsyncPostgresStore``, pooled or not): a session advisory
  lock per key (``pg_try_advisory_lock``) on one extra connection per database and process,
  opened with the store's own connection parameters (``application_name`` ``agno-learn-locks``).
  The store's batches run on its own connections; a process that dies loses its locks with its
  session.
* a SQLite file: an ``fcntl`` lock on one byte per key of a sidecar file next to the database
  (``<db>.agno-learn-lock``); the system releases it when the process dies.
* anything else (``InMemoryStore``, an in-memory SQLite database): nothing more, one process.

Stores behind a wrapper (``compat.unwrap_store``) are locked like the store they wrap.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Hashable, Sequence
from typing import Any

from agno_learn_langgraph import compat
from agno_learn_langgraph.errors import StoreUnavailableError

__all__ = ["LOCK_TIMEOUT_S", "StoreLocker", "alocker_for", "lock_ids", "locker_for"]

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 60.0
"""Longest a writer waits for another process's write of the same data before giving up."""
_FIRST_WAIT_S = 0.002
_MAX_WAIT_S = 0.05
_APPLICATION_NAME = "agno-learn-locks"
_LOCK_FILE_SUFFIX = ".agno-learn-lock"


def lock_ids(keys: Sequence[Hashable]) -> list[int]:
    """The 64-bit lock ids of ``keys`` (data keys), the same in every process, sorted."""
    ids = set()
    for key in keys:
        digest = hashlib.blake2b(repr(key).encode(), digest_size=8, person=b"agno-learn").digest()
        ids.add(int.from_bytes(digest, "big", signed=True))
    return sorted(ids)


class StoreLocker:
    """Takes keys' locks in one database for this process (all of them or none).

    Backends implement :meth:`_try_one` and :meth:`_release_one`; this class keeps the locks
    held by this process's writers, since the database grants a lock its holder again.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._guard = threading.Lock()  # one caller of the connection or file at a time
        self._held: set[int] = set()

    def _slot(self, lock_id: int) -> int:
        return lock_id

    def _try_one(self, slot: int) -> bool:
        raise NotImplementedError

    def _release_one(self, slot: int) -> None:
        raise NotImplementedError

    def try_lock(self, ids: Sequence[int]) -> bool:
        """Take every lock of ``ids`` now, or none of them."""
        slots = sorted({self._slot(i) for i in ids})
        with self._guard:
            taken: list[int] = []
            try:
                for slot in slots:
                    if slot in self._held or not self._try_one(slot):
                        break
                    taken.append(slot)
                    self._held.add(slot)
                else:
                    return True
            except BaseException:
                self._unlock_slots(taken)
                raise
            self._unlock_slots(taken)
            return False

    def unlock(self, ids: Sequence[int]) -> None:
        """Release the locks of ``ids`` taken by :meth:`try_lock`."""
        with self._guard:
            self._unlock_slots(sorted({self._slot(i) for i in ids}))

    def _unlock_slots(self, slots: Sequence[int]) -> None:
        for slot in slots:
            self._held.discard(slot)
            try:
                self._release_one(slot)
            except Exception:  # the session is gone, and its locks with it
                logger.warning("Releasing a write lock in %s failed.", self.where, exc_info=True)

    def _timeout(self) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"Another writer has held the write lock of this data in {self.where} for over "
            f"{LOCK_TIMEOUT_S:.0f} s; is a process stuck in a write? (LOCK_TIMEOUT_S)"
        )

    def acquire(self, ids: Sequence[int]) -> None:
        """Wait until :meth:`try_lock` takes ``ids``.

        Raises:
            StoreUnavailableError: after :data:`LOCK_TIMEOUT_S`.
        """
        deadline, wait = time.monotonic() + LOCK_TIMEOUT_S, _FIRST_WAIT_S
        while not self.try_lock(ids):
            if time.monotonic() > deadline:
                raise self._timeout()
            time.sleep(wait * (0.5 + random.random()))
            wait = min(2 * wait, _MAX_WAIT_S)

    async def aacquire(self, ids: Sequence[int]) -> None:
        """Async twin of :meth:`acquire` (the database is asked from a worker thread)."""
        deadline, wait = time.monotonic() + LOCK_TIMEOUT_S, _FIRST_WAIT_S
        while not await self._atry_lock(ids):
            if time.monotonic() > deadline:
                raise self._timeout()
            await asyncio.sleep(wait * (0.5 + random.random()))
            wait = min(2 * wait, _MAX_WAIT_S)

    async def _atry_lock(self, ids: Sequence[int]) -> bool:
        attempt = asyncio.ensure_future(asyncio.to_thread(self.try_lock, ids))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:  # the attempt goes on: release what it takes
            loop = asyncio.get_running_loop()

            def undo(done: asyncio.Future[bool]) -> None:
                if not done.cancelled() and done.exception() is None and done.result():
                    loop.run_in_executor(None, self.unlock, ids)

            attempt.add_done_callback(undo)
            raise

    async def aunlock(self, ids: Sequence[int]) -> None:
        """Async twin of :meth:`unlock`; finishes even when the caller is cancelled."""
        await asyncio.shield(asyncio.to_thread(self.unlock, ids))


class _PostgresLocker(StoreLocker):
    """Session advisory locks on a connection of this locker's own."""

    def __init__(self, conninfo: str) -> None:
        super().__init__("PostgreSQL")
        self._conninfo = conninfo
        self._conn: Any = None

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                application_name=_APPLICATION_NAME,
                connect_timeout=10,
            )
        return self._conn

    def _query(self, sql: str, lock_id: int) -> bool:
        import psycopg

        for attempt in (1, 2):  # a connection the server dropped is opened again, once
            try:
                row = self._connection().execute(sql, (lock_id,)).fetchone()
                return bool(row and row[0])
            except psycopg.OperationalError as exc:
                self.close()
                if attempt == 2:
                    raise StoreUnavailableError(
                        f"Cannot take a write lock in PostgreSQL: {exc}".strip()
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _try_one(self, slot: int) -> bool:
        return self._query("SELECT pg_try_advisory_lock(%s)", slot)

    def _release_one(self, slot: int) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (slot,))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class _FileLocker(StoreLocker):
    """``fcntl`` locks on single bytes of a sidecar file (one byte per key, by its id)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the SQLite file {path[: -len(_LOCK_FILE_SUFFIX)]}")
        # kept open for the process's life: closing any descriptor of the file would drop
        # every lock this process holds on it
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def _slot(self, lock_id: int) -> int:
        return lock_id % (1 << 40)

    def _try_one(self, slot: int) -> bool:
        import fcntl

        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
        except OSError:  # EAGAIN / EACCES: another process holds it
            return False
        return True

    def _release_one(self, slot: int) -> None:
        import fcntl

        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)


# -- which locker a store gets -----------------------------------------------------------------

_LOCKERS: weakref.WeakKeyDictionary[Any, StoreLocker | None] = weakref.WeakKeyDictionary()
_SHARED: dict[str, StoreLocker] = {}
"""One locker per database (connection parameters) or SQLite file, for the process's life."""
_GUARD = threading.Lock()


def _pg_conninfo(conn: Any) -> str:
    """Connection parameters of a psycopg connection or pool (password included)."""
    from psycopg.conninfo import make_conninfo

    if hasattr(conn, "conninfo") and hasattr(conn, "kwargs"):  # ConnectionPool / Async...
        extra = {k: v for k, v in (conn.kwargs or {}).items() if k == "password"}
        return make_conninfo(conn.conninfo, **extra)
    password = conn.info.password
    return make_conninfo(conn.info.dsn, **({"password": password} if password else {}))


def _postgres_store(store: Any) -> bool:
    try:
        from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
    except ImportError:  # pragma: no cover - langgraph-checkpoint-postgres is a dependency
        return False
    return isinstance(store, PostgresStore | AsyncPostgresStore)


def _shared(where: str, make: Any) -> StoreLocker:
    with _GUARD:
        if where not in _SHARED:
            _SHARED[where] = make(where)
        return _SHARED[where]


def _file_locker(db_path: str) -> StoreLocker | None:
    if not db_path or os.name != "posix":
        return None
    return _shared(os.path.realpath(db_path) + _LOCK_FILE_SUFFIX, _FileLocker)


def _main_file(rows: Sequence[Any]) -> str:
    return next((str(row[2] or "") for row in rows if row[1] == "main"), "")


def _remember(store: Any, locker: StoreLocker | None) -> StoreLocker | None:
    with _GUARD:
        _LOCKERS[store] = locker
    return locker


def locker_for(store: Any) -> StoreLocker | None:
    """The locker of ``store``'s database, or ``None`` when one process is all there is."""
    store = compat.unwrap_store(store)
    with _GUARD:
        if store in _LOCKERS:
            return _LOCKERS[store]
    locker: StoreLocker | None = None
    if _postgres_store(store):
        locker = _shared(_pg_conninfo(store.conn), _PostgresLocker)
    elif _is_sqlite_store(store, aio=False):
        with store.lock:
            rows = store.conn.execute("PRAGMA database_list").fetchall()
        locker = _file_locker(_main_file(rows))
    elif _is_sqlite_store(store, aio=True):  # sync code on an async store: ask on its loop
        rows = asyncio.run_coroutine_threadsafe(_async_sqlite_files(store), store.loop).result()
        locker = _file_locker(_main_file(rows))
    return _remember(store, locker)


async def _async_sqlite_files(store: Any) -> list[Any]:
    async with store.lock:
        cursor = await store.conn.execute("PRAGMA database_list")
        return list(await cursor.fetchall())


async def alocker_for(store: Any) -> StoreLocker | None:
    """Async twin of :func:`locker_for` (reads an ``AsyncSqliteStore``'s file name)."""
    inner = compat.unwrap_store(store)
    if not _is_sqlite_store(inner, aio=True):
        return locker_for(inner)
    with _GUARD:
        if inner in _LOCKERS:
            return _LOCKERS[inner]
    return _remember(inner, _file_locker(_main_file(await _async_sqlite_files(inner))))


def _is_sqlite_store(store: Any, *, aio: bool) -> bool:
    try:
        from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore
    except ImportError:  # pragma: no cover - langgraph-checkpoint-sqlite is a dependency
        return False
    return isinstance(store, AsyncSqliteStore if aio else SqliteStore)
