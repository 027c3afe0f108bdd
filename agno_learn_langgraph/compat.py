"""Every use of a LangGraph internal, in one place.

The package otherwise uses LangGraph's public API. What it needs beyond that is reached here
only, and ``tests/test_compat.py`` checks each item against the installed LangGraph, so an
upgrade that changes one fails that test by name instead of misbehaving elsewhere:

* ``InMemoryStore._vectors``: the in-process vector table (namespace -> key -> field -> vector);
* ``PostgresStore._cursor`` / ``AsyncPostgresStore._cursor``: a cursor the store's own way (its
  lock when it shares one connection), and ``AsyncPostgresStore.loop``, the loop it runs on;
* the ``store_vectors`` table of ``langgraph-checkpoint-postgres`` and pgvector's binary format;
* the ``store`` table's ``prefix``/``key``/``value``/``updated_at`` columns, read to catch up
  with other processes' writes and to scan a namespace for a cold index build in chunks
  (``index.changes``), and given one index of this package's;
* ``"__pregel_push"``: the trigger LangGraph records for a task started by ``Send``;
* a wrapper's ``_store`` (the LangGraph server hands nodes ``BatchedStore(store)``) and
  ``_index_config`` (the server's ``GrpcStore``), to find the index behind a wrapper.
* ``langgraph.constants.CONFIG_KEY_CHECKPOINTER``: where a running node's config holds the
  graph's checkpointer (exported for langgraph-api, "to be removed in v2").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

import numpy as np

__all__ = [
    "SEND_TRIGGER",
    "STORE_CHANGES_INDEX",
    "STORE_TABLE",
    "STORE_VECTORS_TABLE",
    "async_store_loop",
    "decode_pgvector",
    "has_vector_index",
    "in_memory_vectors",
    "pg_acursor",
    "pg_cursor",
    "pgvector_dtype",
    "run_checkpointer",
    "started_by_send",
    "store_chain",
    "store_changes_index_sql",
    "store_changes_sql",
    "store_vectors_sql",
    "unwrap_store",
]

# -- graph runs ---------------------------------------------------------------------------------

SEND_TRIGGER = "__pregel_push"
"""The trigger LangGraph records for tasks started by ``Send`` (``langgraph._internal.
_constants.PUSH``; public API offers no way to tell)."""


def started_by_send(config: Mapping[str, Any]) -> bool:
    """Whether the task running with ``config`` was started by a ``Send``."""
    return SEND_TRIGGER in (config.get("metadata") or {}).get("langgraph_triggers", ())


def run_checkpointer(config: Mapping[str, Any]) -> Any | None:
    """The checkpointer of the root graph running with ``config``, or ``None`` (no checkpointer,
    or a node of a subgraph, whose messages the root checkpoint may not hold yet)."""
    from langgraph.constants import CONFIG_KEY_CHECKPOINTER

    configurable = config.get("configurable") or {}
    if "|" in str(configurable.get("checkpoint_ns") or ""):
        return None
    return configurable.get(CONFIG_KEY_CHECKPOINTER)


# -- stores -------------------------------------------------------------------------------------


_WRAPPED_STORE_ATTRS = ("_store",)
"""Where a wrapper keeps the store it forwards to: the LangGraph server's ``BatchedStore``
(``langgraph_runtime_inmem``, an ``AsyncBatchedBaseStore``) holds it in ``_store``."""
_MAX_WRAPPERS = 8


def store_chain(store: Any) -> list[Any]:
    """``store`` and, when it wraps another store, that one, and so on (outermost first)."""
    from langgraph.store.base import BaseStore

    chain = [store]
    while len(chain) < _MAX_WRAPPERS:
        inner = next(
            (
                value
                for attr in _WRAPPED_STORE_ATTRS
                if isinstance(value := getattr(chain[-1], attr, None), BaseStore)
            ),
            None,
        )
        if inner is None or any(inner is seen for seen in chain):
            break
        chain.append(inner)
    return chain


def unwrap_store(store: Any) -> Any:
    """The store that holds the data behind ``store``'s wrappers (``store`` when unwrapped)."""
    return store_chain(store)[-1]


def has_vector_index(store: Any) -> bool:
    """Whether ``store`` ranks ``query=`` searches (otherwise LangGraph silently ignores them).

    True when ``store`` or a store it wraps was built with ``index=`` (``index_config``), or
    holds an index it ranks with itself on a server (``_index_config``, the LangGraph server's
    ``GrpcStore``).
    """
    return any(
        getattr(s, "index_config", None) or getattr(s, "_index_config", None)
        for s in store_chain(store)
    )


def in_memory_vectors(store: Any, namespace: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """A copy of an ``InMemoryStore``'s vectors of ``namespace``: key -> field -> vector."""
    table = store._vectors
    # .get: a defaultdict must not grow a namespace; dict(...) copies atomically (GIL)
    return dict(table.get(namespace) or {})


def pg_cursor(store: Any) -> AbstractContextManager[Any]:
    """A dict-row cursor of a ``PostgresStore``, taken the store's way (``pipeline=True`` holds
    the store's lock when it shares one connection)."""
    return store._cursor(pipeline=True)


def pg_acursor(store: Any) -> AbstractAsyncContextManager[Any]:
    """The ``AsyncPostgresStore`` twin of :func:`pg_cursor`."""
    return store._cursor(pipeline=True)


def async_store_loop(store: Any) -> asyncio.AbstractEventLoop:
    """The event loop an ``AsyncPostgresStore`` was created on (its sync calls run there)."""
    return store.loop


# -- the store_vectors table and pgvector's binary format -----------------------------------------

STORE_VECTORS_TABLE = "store_vectors"
"""Where ``PostgresStore`` keeps embeddings: ``(prefix, key, field_name, embedding)``, the prefix
being the namespace joined by ``.``."""


def store_vectors_sql(
    namespace: tuple[str, ...], field: str, keys: Sequence[str] | None
) -> tuple[str, tuple[Any, ...]]:
    """SQL and parameters reading ``key, embedding`` rows of ``namespace``'s ``field``."""
    sql = f"SELECT key, embedding FROM {STORE_VECTORS_TABLE} WHERE prefix = %s AND field_name = %s"
    params: tuple[Any, ...] = (".".join(namespace), field)
    if keys is not None:
        sql += " AND key = ANY(%s)"
        params = (*params, list(keys))
    return sql, params


def pgvector_dtype(index_config: Mapping[str, Any]) -> str | None:
    """The numpy dtype of the stored vectors' binary elements, or ``None`` when unknown."""
    ann = index_config.get("ann_index_config") or {}
    return {"vector": ">f4", "halfvec": ">f2"}.get(ann.get("vector_type", "vector"))


def decode_pgvector(raw: Any, dtype: str) -> np.ndarray | None:
    """One ``embedding`` column value as float32, or ``None`` when it cannot be read."""
    if isinstance(raw, bytes | bytearray | memoryview):
        # pgvector's binary format: uint16 dims, uint16 unused, then big-endian floats
        data = bytes(raw)
        dims = int.from_bytes(data[:2], "big")
        vector = np.frombuffer(data, dtype=dtype, offset=4)
        return vector.astype(np.float32) if len(vector) == dims else None
    # an adapter the application registered (pgvector.psycopg): ndarray, Vector, HalfVector
    for convert in ("to_numpy", "to_list"):
        if hasattr(raw, convert):
            raw = getattr(raw, convert)()
            break
    try:
        vector = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return vector if vector.ndim == 1 else None


# -- the store table (rows changed since a time) --------------------------------------------------

STORE_TABLE = "store"
"""Where ``PostgresStore`` keeps items: ``(prefix, key, value jsonb, created_at, updated_at, ...)``,
``updated_at`` being the writing transaction's start time."""
STORE_CHANGES_INDEX = "learning_store_prefix_updated_at_idx"
"""This package's index on ``store (prefix, updated_at)``: a catch-up read touches changed rows
only."""


def store_changes_index_sql() -> str:
    """Idempotent DDL creating :data:`STORE_CHANGES_INDEX`."""
    return f"CREATE INDEX IF NOT EXISTS {STORE_CHANGES_INDEX} ON {STORE_TABLE} (prefix, updated_at)"


def store_scan_sql(
    namespace: tuple[str, ...], filter: dict[str, Any] | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """``key, value, updated_at`` of the newest ``limit`` rows of ``namespace`` (its own prefix)
    whose value holds every field of ``filter`` (top-level equality, as the store's filter)."""
    from psycopg.types.json import Jsonb

    sql = (
        f"SELECT key, value, updated_at FROM {STORE_TABLE} WHERE prefix = %s AND value @> %s "
        "ORDER BY updated_at DESC LIMIT %s"
    )
    return sql, (".".join(namespace), Jsonb(filter or {}), limit)


def store_changes_sql(
    prefixes: Sequence[tuple[str, ...]], since: Any
) -> tuple[str, tuple[Any, ...]]:
    """``prefix, key, value, updated_at`` of the rows of the namespaces ``prefixes`` (their own
    prefixes, no sub-namespaces) written at or after ``since`` (a ``datetime``)."""
    sql = (
        f"SELECT prefix, key, value, updated_at FROM {STORE_TABLE} "
        "WHERE prefix = ANY(%s) AND updated_at >= %s"
    )
    return sql, ([".".join(ns) for ns in prefixes], since)
