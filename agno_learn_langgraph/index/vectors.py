"""Semantic ranking kept in process: a namespace's stored vectors as one numpy matrix.

LangGraph's stores rank a ``query`` on every call: ``InMemoryStore`` scores every item of the
namespace in Python (about 15 ms at 1,000 items, 200 ms at 10,000), ``PostgresStore`` runs an
approximate HNSW scan (recall@10 of 0.90 at 100,000 items with the default index). For the
namespaces this package ranks, a reader instead keeps the namespace's vectors, as the store
computed them (nothing is re-embedded), in a :class:`VectorIndex`, validated by the same version
stamp as the lexical index (see ``index.ranked.ranked_namespace``). A warm search is that stamp
read, one query embedding and one matrix product: exact (recall@10 = 1.0) and a few milliseconds
at 100,000 items.

Stores are read through a :class:`VectorSource`: ``InMemoryStore`` (its vector table, in
process) and ``PostgresStore`` / ``AsyncPostgresStore`` (``store_vectors``, pgvector's binary
format), each through ``compat``. Any other store, or a namespace too large for
:data:`MAX_VECTOR_BYTES`, is searched by the store itself as before. Plans ask for vectors
and query embeddings with two operations of their own, :class:`EmbedQueryOp` and
:class:`VectorsOp`, executed next to the store's ops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from agno_learn_langgraph import compat
from agno_learn_langgraph.core.plans import SideOp

__all__ = [
    "MAX_VECTOR_BYTES",
    "EmbedQueryOp",
    "OwnOp",
    "QueryEmbeddingError",
    "VectorIndex",
    "VectorSource",
    "VectorsOp",
    "vector_source",
]

FIELD = "search_text"
"""The one field this package indexes (``core.plans.put`` writes it)."""
MAX_VECTOR_BYTES = 512 * 1024 * 1024
"""Largest matrix one namespace may keep in process; bigger namespaces use the store's search."""
_DECODE_ON_LOOP = 1_000
"""Most vectors an async read converts on the event loop (more go to a worker thread)."""

Metric = Literal["cosine", "inner_product", "l2"]


@dataclass(frozen=True)
class EmbedQueryOp(SideOp):
    """Embed ``text`` with the store's embeddings (result: a 1-D float32 array)."""

    text: str


@dataclass(frozen=True)
class VectorsOp(SideOp):
    """The stored vectors of a namespace, or of some of its keys (result: key -> array)."""

    namespace: tuple[str, ...]
    keys: tuple[str, ...] | None = None


OwnOp = EmbedQueryOp | VectorsOp


class QueryEmbeddingError(RuntimeError):
    """The store's embeddings failed to embed a query (the cause is chained)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"Embedding the query failed: {type(cause).__name__}: {cause}")


class VectorSource:
    """Reads a store's query embeddings and stored vectors (subclassed per store type)."""

    metric: Metric = "cosine"

    def __init__(self, store: Any) -> None:
        self.store = store

    def embed(self, text: str) -> np.ndarray:
        return np.asarray(self.store.embeddings.embed_query(text), dtype=np.float32)

    async def aembed(self, text: str) -> np.ndarray:
        return np.asarray(await self.store.embeddings.aembed_query(text), dtype=np.float32)

    def vectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        raise NotImplementedError

    async def avectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        return await asyncio.to_thread(self.vectors, op)

    def run(self, op: OwnOp) -> Any:
        if not isinstance(op, EmbedQueryOp):
            return self.vectors(op)
        try:
            return self.embed(op.text)
        except Exception as exc:
            raise QueryEmbeddingError(exc) from exc

    async def arun(self, op: OwnOp) -> Any:
        if not isinstance(op, EmbedQueryOp):
            return await self.avectors(op)
        try:
            return await self.aembed(op.text)
        except Exception as exc:
            raise QueryEmbeddingError(exc) from exc


class _MemorySource(VectorSource):
    """``InMemoryStore``: its ``_vectors`` table (namespace -> key -> field -> vector)."""

    def vectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        rows = compat.in_memory_vectors(self.store, op.namespace)
        keys = op.keys if op.keys is not None else list(rows)
        found = {}
        for key in keys:
            vector = (rows.get(key) or {}).get(FIELD)
            if vector is not None:
                found[key] = np.asarray(vector, dtype=np.float32)
        return found

    async def avectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        if op.keys is not None and len(op.keys) <= _DECODE_ON_LOOP:
            return self.vectors(op)  # a few keys, in process: no need for a thread
        return await asyncio.to_thread(self.vectors, op)


def _pg_sql(op: VectorsOp) -> tuple[str, tuple[Any, ...]]:
    return compat.store_vectors_sql(op.namespace, FIELD, op.keys)


class _PostgresSource(VectorSource):
    """``PostgresStore``: ``store_vectors`` rows, in pgvector's binary format."""

    def __init__(self, store: Any, dtype: str) -> None:
        super().__init__(store)
        self.metric = store.index_config.get("distance_type", "cosine")
        self._dtype = dtype

    def _decode(self, rows: Sequence[Any]) -> dict[str, np.ndarray]:
        found = {}
        for row in rows:
            vector = compat.decode_pgvector(row["embedding"], self._dtype)
            if vector is not None:
                found[row["key"]] = vector
        return found

    def vectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        if op.keys == ():
            return {}
        with compat.pg_cursor(self.store) as cur:
            cur.execute(*_pg_sql(op))
            rows = cur.fetchall()
        return self._decode(rows)


class _AsyncPostgresSource(_PostgresSource):
    """``AsyncPostgresStore``: the same query on its async connection."""

    def _on_loop(self, coro: Any) -> Any:
        # like AsyncPostgresStore.batch: only from a thread other than the store's loop
        return asyncio.run_coroutine_threadsafe(coro, compat.async_store_loop(self.store)).result()

    def embed(self, text: str) -> np.ndarray:
        # the store's sync batch embeds through abatch, so async-only embeddings work there too
        return cast(np.ndarray, self._on_loop(self.aembed(text)))

    def vectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        return cast(dict[str, np.ndarray], self._on_loop(self.avectors(op)))

    async def avectors(self, op: VectorsOp) -> dict[str, np.ndarray]:
        if op.keys == ():
            return {}
        async with compat.pg_acursor(self.store) as cur:
            await cur.execute(*_pg_sql(op))
            rows = await cur.fetchall()
        if len(rows) > _DECODE_ON_LOOP:  # a whole namespace: decode off the event loop
            return await asyncio.to_thread(self._decode, rows)
        return self._decode(rows)


def vector_source(store: Any) -> VectorSource | None:
    """How to read ``store``'s vectors (behind its wrappers), or ``None`` (it searches itself)."""
    store = compat.unwrap_store(store)
    if not getattr(store, "index_config", None) or getattr(store, "embeddings", None) is None:
        return None
    from langgraph.store.memory import InMemoryStore

    if isinstance(store, InMemoryStore):
        return _MemorySource(store)
    try:
        from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
    except ImportError:  # pragma: no cover - langgraph-checkpoint-postgres is a dependency
        return None
    dtype = compat.pgvector_dtype(store.index_config)
    if dtype is None or store.index_config.get("distance_type", "cosine") not in (
        "cosine",
        "inner_product",
        "l2",
    ):
        return None
    if isinstance(store, AsyncPostgresStore):
        return _AsyncPostgresSource(store, dtype)
    if isinstance(store, PostgresStore):
        return _PostgresSource(store, dtype)
    return None


def _grown(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` with room for ``rows`` rows (the new ones zero)."""
    out = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


class VectorIndex:
    """A ranked namespace's values and their stored vectors, searched exactly with numpy.

    Rows are appended in place as this process writes; a written row's vector is read before the
    next search (:meth:`missing`, then :meth:`set_vectors`, which ignores a vector read for an
    older write of the row). Deletes mask their row.

    >>> index = VectorIndex(["a", "b"], [{"t": "a"}, {"t": "b"}], metric="cosine")
    >>> index.set_vectors({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}, index.missing())
    >>> index.rank(np.array([0.1, 0.9]), limit=1)
    [{'t': 'b'}]
    """

    def __init__(
        self, keys: Sequence[str], values: Sequence[dict[str, Any]], *, metric: Metric
    ) -> None:
        """``keys``/``values`` newest first; every row starts without a vector (missing)."""
        self.metric = metric
        self._lock = threading.RLock()
        n = len(keys)
        self._keys = list(keys)  # row -> key; the arrays below have room for more rows
        self._values: list[dict[str, Any] | None] = list(values)
        self._row = {k: i for i, k in enumerate(self._keys)}
        self._seq = np.arange(n, 0, -1, dtype=np.int64)  # the row's write number; larger = newer
        self._next_seq = n + 1
        self._alive = np.ones(n, dtype=bool)
        self._has = np.zeros(n, dtype=bool)
        self._matrix: np.ndarray | None = None  # (capacity, dims), allocated with the first vector
        self._missing: dict[str, int] = {k: int(self._seq[i]) for i, k in enumerate(self._keys)}

    def __len__(self) -> int:
        return int(self._alive[: len(self._keys)].sum())

    @property
    def nbytes(self) -> int:
        """Bytes held by the vector matrix."""
        return 0 if self._matrix is None else int(self._matrix.nbytes)

    def missing(self) -> dict[str, int]:
        """Keys whose vector is not read yet, with the write number it must belong to."""
        with self._lock:
            return dict(self._missing)

    def apply(self, key: str, value: dict[str, Any] | None) -> None:
        """Record this process's write (``None``: a delete or a value the filter drops)."""
        with self._lock:
            i = self._row.get(key)
            if value is None:
                if i is not None:
                    self._alive[i] = False
                    self._values[i] = None
                self._missing.pop(key, None)
                return
            if i is None:
                i = self._append(key)
            self._values[i] = value
            self._alive[i] = True
            self._has[i] = False
            self._seq[i] = self._next_seq
            self._missing[key] = self._next_seq
            self._next_seq += 1

    def _append(self, key: str) -> int:
        i = len(self._keys)
        if i >= len(self._seq):  # full: double every per-row array (amortized O(1) appends)
            size = max(16, 2 * i)
            self._seq, self._alive, self._has = (
                _grown(self._seq, size),
                _grown(self._alive, size),
                _grown(self._has, size),
            )
            if self._matrix is not None:
                self._matrix = _grown(self._matrix, size)
        self._keys.append(key)
        self._values.append(None)
        self._row[key] = i
        self._alive[i] = self._has[i] = False
        return i

    def set_vectors(self, vectors: dict[str, np.ndarray], asked: dict[str, int]) -> None:
        """Store the vectors read for ``asked`` (from :meth:`missing`).

        A key written again since it was asked for stays missing (its vector read may be the
        old one); a key the store had no vector for stays unranked.
        """
        with self._lock:
            for key, seq in asked.items():
                if self._missing.get(key) != seq:
                    continue
                del self._missing[key]
                vector = vectors.get(key)
                if vector is None:
                    continue
                if self._matrix is None:
                    self._matrix = np.zeros((len(self._seq), len(vector)), np.float32)
                if len(vector) != self._matrix.shape[1]:
                    continue  # an embedding of another model/size: leave it unranked
                if self.metric == "cosine":
                    norm = float(np.linalg.norm(vector))
                    vector = vector / norm if norm else vector
                i = self._row[key]
                self._matrix[i] = vector
                self._has[i] = True

    def rank(self, query: np.ndarray, *, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` values, most similar first (ties: newest first).

        Raises:
            ValueError: the query has another number of dimensions than the stored vectors.
        """
        return [value for _, value in self.rank_scored(query, limit=limit)]

    def rank_scored(self, query: np.ndarray, *, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """Up to ``limit`` ``(similarity, value)``, most similar first (ties: newest first).

        The similarity is the cosine, the inner product or minus the squared L2 distance.

        Raises:
            ValueError: the query has another number of dimensions than the stored vectors.
        """
        with self._lock:
            if limit <= 0 or self._matrix is None:
                return []
            n = len(self._keys)
            matrix = self._matrix[:n]
            q = np.asarray(query, dtype=np.float32)
            if q.shape != (matrix.shape[1],):
                raise ValueError(
                    f"The query embedding has {q.size} dimensions but the stored vectors have "
                    f"{matrix.shape[1]}; the store's embeddings changed since these were stored."
                )
            if self.metric == "l2":  # -|m - q|^2 without an n x dims temporary
                scores = 2 * (matrix @ q) - np.einsum("ij,ij->i", matrix, matrix) - q @ q
            else:
                if self.metric == "cosine":
                    norm = float(np.linalg.norm(q))
                    q = q / norm if norm else q
                scores = matrix @ q
            mask = self._alive[:n] & self._has[:n]
            if not mask.all():
                scores[~mask] = -np.inf
            usable = min(limit, int(mask.sum()))
            if usable == 0:
                return []
            kth = np.partition(scores, n - usable)[n - usable]
            above = np.flatnonzero(scores > kth)
            tied = np.flatnonzero(scores == kth)  # rows tied at the cut: the newest win
            need = usable - len(above)
            seq = self._seq[:n]
            if len(tied) > need:
                tied = tied[np.argpartition(-seq[tied], need - 1)[:need]]
            picked = np.concatenate((above, tied))
            order = np.lexsort((-seq[picked], -scores[picked]))  # score, then newest
            rows = picked[order].tolist()
            return [(float(scores[i]), v) for i in rows if (v := self._values[i]) is not None]
