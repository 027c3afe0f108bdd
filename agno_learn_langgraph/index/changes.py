"""Catching a cached index up with other processes' writes, on PostgreSQL, without a rebuild.

When another process writes a ranked namespace its version stamp changes (``index.batches``).
On a ``PostgresStore`` / ``AsyncPostgresStore`` the reader then reads only the rows written
since the cached index last caught up (``updated_at`` at or after its cursor less
:data:`CATCH_UP_MARGIN_S`, through ``compat``, on an index of this package's) and applies them to
the cached index in place. A delete made through this package's plans leaves a tombstone row
(:func:`tombstone_namespace`, written by ``index.batches`` on PostgreSQL only) that the same read
returns. Other stores rebuild as before. A delete that bypasses the plans (a raw
``store.delete``) is not seen by another process's cached index until it is rebuilt.

A cold build's full read of a namespace is a :class:`ScanOp` on PostgreSQL too: on an
``AsyncPostgresStore`` its rows are decoded a chunk at a time, the event loop serving other
requests in between (the store's own search decodes them all in one go, on the loop).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langgraph.store.base import Item

from agno_learn_langgraph import compat
from agno_learn_langgraph.core.layout import ROOT
from agno_learn_langgraph.core.plans import SideOp

__all__ = [
    "CATCH_UP_MARGIN_S",
    "TOMBSTONES",
    "Changes",
    "ChangesOp",
    "ScanOp",
    "change_reader",
    "tombstone_namespace",
]

TOMBSTONES = (ROOT, "tombstones")
"""Tombstones of ranked namespaces' deleted keys live under ``(*TOMBSTONES, *namespace)``."""


def tombstone_namespace(namespace: tuple[str, ...]) -> tuple[str, ...]:
    """Where deletes from ``namespace`` leave their tombstones (key: the deleted key)."""
    return (*TOMBSTONES, *namespace)


CATCH_UP_MARGIN_S = 2.0
"""Rows this much older than the newest row seen are read again: ``updated_at`` is the writing
transaction's start, so a transaction committed after a younger one is still read."""


@dataclass(frozen=True)
class ChangesOp(SideOp):
    """Rows of ``namespace`` written since ``since`` (result: :class:`Changes`)."""

    namespace: tuple[str, ...]
    since: datetime


@dataclass(frozen=True)
class ScanOp(SideOp):
    """The newest ``limit`` rows of ``namespace`` matching ``filter`` (result: ``list[Item]``,
    newest first): a cold index build's read, decoded a chunk at a time under ``arun_plan`` so
    a large namespace does not hold the event loop."""

    namespace: tuple[str, ...]
    filter: tuple[tuple[str, Any], ...]
    limit: int


@dataclass
class Changes:
    rows: list[tuple[str, dict[str, Any] | None, datetime]]
    """``(key, value, updated_at)``, oldest first; ``None``: a tombstone (deleted)."""


def since(newest: datetime) -> datetime:
    """The catch-up cursor for an index whose newest row was written at ``newest``."""
    return newest - timedelta(seconds=CATCH_UP_MARGIN_S)


def _sql(op: ChangesOp) -> tuple[str, tuple[Any, ...]]:
    return compat.store_changes_sql([op.namespace, tombstone_namespace(op.namespace)], op.since)


def _changes(op: ChangesOp, rows: list[Any]) -> Changes:
    own = ".".join(op.namespace)
    ordered = sorted(rows, key=lambda r: (r["updated_at"], r["prefix"] != own))
    return Changes(
        [(r["key"], r["value"] if r["prefix"] == own else None, r["updated_at"]) for r in ordered]
    )


_indexed: weakref.WeakSet[Any] = weakref.WeakSet()
_indexed_lock = threading.Lock()


def _needs_index(store: Any) -> bool:
    with _indexed_lock:
        if store in _indexed:
            return False
        _indexed.add(store)
        return True


_SCAN_CHUNK = 500
"""Rows a scan decodes between two turns of the event loop (about 10 ms of work)."""


def _scan_sql(op: ScanOp) -> tuple[str, tuple[Any, ...]]:
    return compat.store_scan_sql(op.namespace, dict(op.filter), op.limit)


def _items(op: ScanOp, rows: list[Any]) -> list[Item]:
    return [
        Item(
            value=r["value"],
            key=r["key"],
            namespace=op.namespace,
            created_at=r["updated_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


class ChangeReader:
    """Reads :class:`ChangesOp` and :class:`ScanOp` on a ``PostgresStore``."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def run(self, op: ChangesOp | ScanOp) -> Any:
        if _needs_index(self.store):
            with compat.pg_cursor(self.store) as cur:
                cur.execute(compat.store_changes_index_sql())
        with compat.pg_cursor(self.store) as cur:
            if isinstance(op, ScanOp):
                cur.execute(*_scan_sql(op))
                return _items(op, cur.fetchall())
            cur.execute(*_sql(op))
            return _changes(op, cur.fetchall())

    async def arun(self, op: ChangesOp | ScanOp) -> Any:
        return await asyncio.to_thread(self.run, op)


class _AsyncChangeReader(ChangeReader):
    """Reads :class:`ChangesOp` and :class:`ScanOp` on an ``AsyncPostgresStore`` (on its
    connection); a scan's rows are decoded a chunk at a time, the loop serving others between."""

    def run(self, op: ChangesOp | ScanOp) -> Any:
        loop = compat.async_store_loop(self.store)
        return asyncio.run_coroutine_threadsafe(self.arun(op), loop).result()

    async def arun(self, op: ChangesOp | ScanOp) -> Any:
        if _needs_index(self.store):
            async with compat.pg_acursor(self.store) as cur:
                await cur.execute(compat.store_changes_index_sql())
        async with compat.pg_acursor(self.store) as cur:
            if isinstance(op, ChangesOp):
                await cur.execute(*_sql(op))
                return _changes(op, await cur.fetchall())
            await cur.execute(*_scan_sql(op))
            items: list[Item] = []
            while chunk := await cur.fetchmany(_SCAN_CHUNK):
                items.extend(_items(op, chunk))
                await asyncio.sleep(0)
            return items


def change_reader(store: Any) -> ChangeReader | None:
    """How to read ``store``'s changed rows (behind its wrappers), or ``None`` (not PostgreSQL)."""
    store = compat.unwrap_store(store)
    try:
        from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
    except ImportError:  # pragma: no cover - langgraph-checkpoint-postgres is a dependency
        return None
    if isinstance(store, AsyncPostgresStore):
        return _AsyncChangeReader(store)
    if isinstance(store, PostgresStore):
        return ChangeReader(store)
    return None
