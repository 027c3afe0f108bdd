"""This process's cache of ranked namespaces' indexes (BM25 and vectors), bounded and LRU.

An entry is valid while its namespace's version stamp is unchanged (see ``index.batches``);
this process's own writes are applied to the cached indexes in place (write-through), another
process's write changes the stamp and the next reader catches the entry up with the rows written
since (PostgreSQL, ``index.changes``) or rebuilds it (other stores). Writes that bypass the plans
are picked up after :data:`CACHE_TTL_S` at the latest.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import BaseStore, Op, PutOp

from agno_learn_langgraph.index.segments import NamespaceIndex
from agno_learn_langgraph.index.vectors import VectorIndex

__all__ = ["CACHE_MAX_INDEX_BYTES", "CACHE_MAX_ITEMS", "CACHE_MAX_VECTOR_BYTES", "CACHE_TTL_S"]

CACHE_MAX_ITEMS = 250_000
"""Most items all cached indexes of a process hold together (least recently used go first)."""
CACHE_MAX_VECTOR_BYTES = 1024 * 1024 * 1024
"""Most bytes all cached vector matrices of a process hold together (least recently used go)."""
CACHE_MAX_INDEX_BYTES = 256 * 1024 * 1024
"""Most bytes all cached BM25 indexes of a process hold together, as they estimate them
(:attr:`~.segments.NamespaceIndex.nbytes`; about 1 KB a short memory read from PostgreSQL), so
namespaces of long records do not reach :data:`CACHE_MAX_ITEMS` first."""
CACHE_TTL_S = 300.0
_BULK_WRITE = 64


def _matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    return all(value.get(k) == v for k, v in (filter or {}).items())


class _TooBig:
    """Cached in place of a vector index too large to keep: the store searches that namespace."""

    def __len__(self) -> int:
        return 0

    def apply(self, key: str, value: dict[str, Any] | None) -> None:
        pass


@dataclass
class _Cached:
    version: str | None
    built_at: float
    filter: dict[str, Any] | None
    index: NamespaceIndex | VectorIndex | _TooBig
    items: int = 0
    """Items counted against the cache bound: the index's size when cached, plus later writes."""
    nbytes: int = 0
    """Vector bytes counted against the cache bound."""
    index_bytes: int = 0
    """BM25 index bytes counted against the cache bound."""
    newest: Any = None
    """The newest ``updated_at`` of the rows read into the index (``None``: unknown)."""
    recent: dict[str, Any] = field(default_factory=dict)
    """``updated_at`` of the rows read within the catch-up margin of :attr:`newest`, by key:
    a catch-up reads them again and skips those unchanged (equal times cached as one object:
    the rows of one bulk write share theirs)."""

    def measure(self) -> None:
        self.nbytes = self.index.nbytes if isinstance(self.index, VectorIndex) else 0
        self.index_bytes = self.index.nbytes if isinstance(self.index, NamespaceIndex) else 0


_Group = dict[Hashable, _Cached]
"""The cached indexes of one namespace (by filter and kind)."""
_WRITE_SLOTS = 4096


class _IndexCache:
    """Per-store LRU of namespaces' indexes, bounded by their items, vector and BM25 bytes.

    Entries are grouped by namespace, so a write touches only its namespaces' indexes, and the
    totals are kept as entries come and go, so neither a write nor a put walks the whole cache.
    """

    def __init__(
        self, max_items: int, max_vector_bytes: int, max_index_bytes: int = CACHE_MAX_INDEX_BYTES
    ) -> None:
        self.max_items = max_items
        self.max_vector_bytes = max_vector_bytes
        self.max_index_bytes = max_index_bytes
        self._entries: weakref.WeakKeyDictionary[
            BaseStore, OrderedDict[tuple[str, ...], _Group]
        ] = weakref.WeakKeyDictionary()
        # per store: this process's write batches, counted in slots by namespace hash (bounded;
        # a shared slot only makes a put skip caching once), see generation
        self._writes: weakref.WeakKeyDictionary[BaseStore, list[int]] = weakref.WeakKeyDictionary()
        self._items = 0
        self._nbytes = 0
        self._index_bytes = 0
        self._lock = threading.Lock()

    def _slots(self, store: BaseStore) -> list[int]:
        return self._writes.setdefault(store, [0] * _WRITE_SLOTS)

    def generation(self, store: BaseStore, namespace: tuple[str, ...]) -> int:
        """A counter of this process's writes to ``namespace``: read it before a full scan and
        pass it to :meth:`put`, so an index built from a scan that a concurrent write of this
        process may have missed is not cached (its write-through found no entry to update)."""
        with self._lock:
            return self._slots(store)[hash(namespace) % _WRITE_SLOTS]

    def _drop(self, group: _Group, key: Hashable) -> None:
        dropped = group.pop(key)
        self._items -= dropped.items
        self._nbytes -= dropped.nbytes
        self._index_bytes -= dropped.index_bytes

    def _grew(self, entry: _Cached, items: int) -> None:
        """Count ``items`` more of ``entry`` and its bytes as they are now."""
        self._nbytes -= entry.nbytes
        self._index_bytes -= entry.index_bytes
        entry.items += items
        entry.measure()
        self._items += items
        self._nbytes += entry.nbytes
        self._index_bytes += entry.index_bytes

    def _over(self) -> bool:
        return (
            self._items > self.max_items
            or self._nbytes > self.max_vector_bytes
            or self._index_bytes > self.max_index_bytes
        )

    def get(
        self, store: BaseStore, namespace: tuple[str, ...], key: Hashable, version: str | None
    ) -> _Cached | None:
        with self._lock:
            entries = self._entries.get(store)
            group = entries.get(namespace) if entries is not None else None
            hit = group.get(key) if group is not None else None
            if hit is None or entries is None or group is None:
                return None
            if time.monotonic() - hit.built_at > CACHE_TTL_S:
                self._drop(group, key)
                return None
            if hit.version != version:
                return None  # kept: stale() may catch it up
            entries.move_to_end(namespace)
            return hit

    def stale(self, store: BaseStore, namespace: tuple[str, ...], key: Hashable) -> _Cached | None:
        """The cached entry of ``key`` whatever its version (for a catch-up), or ``None``."""
        with self._lock:
            entries = self._entries.get(store)
            group = entries.get(namespace) if entries is not None else None
            return group.get(key) if group is not None else None

    def caught_up(
        self,
        store: BaseStore,
        namespace: tuple[str, ...],
        key: Hashable,
        entry: _Cached,
        version: str | None,
        generation: int,
        applied: int,
    ) -> bool:
        """Mark ``entry`` current as of ``version`` after ``applied`` rows were applied to it in
        place (counted against the bound like this process's writes);
        drop it instead when this process wrote its namespace meanwhile (a row read may be
        older than that write) or it left the cache. Returns whether it was kept."""
        with self._lock:
            entries = self._entries.get(store)
            group = entries.get(namespace) if entries is not None else None
            if entries is None or group is None or group.get(key) is not entry:
                return False
            if self._slots(store)[hash(namespace) % _WRITE_SLOTS] != generation:
                self._drop(group, key)
                return False
            self._grew(entry, applied)
            entry.version = version
            entry.built_at = time.monotonic()  # every row written since was read
            entries.move_to_end(namespace)
            return True

    def drop(self, store: BaseStore, namespace: tuple[str, ...], key: Hashable) -> None:
        with self._lock:
            entries = self._entries.get(store)
            group = entries.get(namespace) if entries is not None else None
            if group is not None and key in group:
                self._drop(group, key)

    def put(
        self,
        store: BaseStore,
        namespace: tuple[str, ...],
        key: Hashable,
        entry: _Cached,
        generation: int,
    ) -> None:
        """Cache ``entry`` unless this process wrote its namespace since ``generation``.

        Least recently used namespaces make room; the one just cached stays even if it is over
        a bound on its own (rebuilding it on every read would cost more than it holds).
        """
        entry.items = len(entry.index)
        entry.measure()
        times: dict[Any, Any] = {}
        entry.recent = {k: times.setdefault(t, t) for k, t in entry.recent.items()}
        with self._lock:
            if self._slots(store)[hash(namespace) % _WRITE_SLOTS] != generation:
                return
            entries = self._entries.setdefault(store, OrderedDict())
            group = entries.setdefault(namespace, {})
            if key in group:
                self._drop(group, key)
            group[key] = entry
            self._items += entry.items
            self._nbytes += entry.nbytes
            self._index_bytes += entry.index_bytes
            entries.move_to_end(namespace)
            for es in list(self._entries.values()):  # least recently used namespaces first
                while es and self._over() and next(iter(es.values())) is not group:
                    _, oldest = es.popitem(last=False)
                    for old in list(oldest):
                        self._drop(oldest, old)

    def write_through(
        self, store: BaseStore, ops: list[Op], stamps: dict[tuple[str, ...], str]
    ) -> None:
        """Apply this process's own committed writes to its cached indexes of those namespaces.

        A bulk write (more than ``_BULK_WRITE`` items to one namespace) drops the cached index
        instead: one rebuild on the next read is cheaper than many segment merges.
        """
        with self._lock:
            slots = self._slots(store)
            for namespace in stamps:
                slots[hash(namespace) % _WRITE_SLOTS] += 1
            entries = self._entries.get(store)
            groups = {ns: g for ns in stamps if entries and (g := entries.get(ns))}
            if not groups:
                return
            writes: dict[tuple[str, ...], list[PutOp]] = {ns: [] for ns in groups}
            for op in ops:
                if isinstance(op, PutOp) and op.namespace in writes:
                    writes[op.namespace].append(op)
            for namespace, group in groups.items():
                for key, entry in list(group.items()):
                    if len(writes[namespace]) > _BULK_WRITE:
                        self._drop(group, key)
                        continue
                    for op in writes[namespace]:
                        value = dict(op.value) if op.value is not None else None
                        keep = value is not None and _matches(value, entry.filter)
                        entry.index.apply(op.key, value if keep else None)
                    self._grew(entry, len(writes[namespace]))
                    entry.version = stamps[namespace]


_CACHE = _IndexCache(CACHE_MAX_ITEMS, CACHE_MAX_VECTOR_BYTES, CACHE_MAX_INDEX_BYTES)
