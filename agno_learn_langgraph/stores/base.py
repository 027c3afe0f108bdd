"""What the six stores share: the namespace layout, plans (store operations as data) and ranking.

Every store function is a *plan*: a generator that yields lists of LangGraph store operations
(``GetOp``, ``PutOp``, ``SearchOp``) and receives their results. :func:`run_plan` executes a plan
with ``store.batch`` and :func:`arun_plan` with ``await store.abatch``, so sync and async share one
core and each step is one round trip, whatever the backend.

Namespace layout (labels containing ``.`` or ``%`` are percent-encoded: ``alice@example%2Ecom``)::

    ("learning", "user_profile", <user>)              key "profile"
    ("learning", "user_memory", <user>)               key "mem_..."
    ("learning", "session_context", <thread>)         key "context"
    ("learning", "entity_memory", *<ns>)              key <entity key>, e.g. "acme"
    ("learning", "entity_alias", *<ns>)               key <alias key> -> {"entity_key": ...}
    ("learning", "learned_knowledge", *<ns>)          key "lk_<title hash>"
    ("learning", "decision_log", <agent>)             key "dec_..."
    ("learning", "proposals")                         key "prop_..."
    ("learning", "cursors", <thread>)                 key "extraction"

where ``*<ns>`` is ``("global",)``, ``("user", <user>)`` or ``("ns", <custom name>)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import (
    AsyncIterator,
    Callable,
    Generator,
    Hashable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from langgraph.store.base import BaseStore, GetOp, Item, Op, PutOp, Result, SearchItem, SearchOp

from agno_learn_langgraph.errors import LearningInputError, MissingScopeError
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.lexical import (
    LexicalIndex,
    QueryLike,
    Tokenizer,
    bm25_idf,
    lexical_rank,
    tokenize,
    tokenizer,
)
from agno_learn_langgraph.stores.vectors import (
    MAX_VECTOR_BYTES,
    EmbedQueryOp,
    OwnOp,
    VectorIndex,
    VectorsOp,
    VectorSource,
    vector_source,
)

__all__ = [
    "MAX_TEXT_CHARS",
    "ROOT",
    "SCAN_LIMIT",
    "Plan",
    "arun_plan",
    "as_item",
    "as_items",
    "async_write_lock",
    "check_storable",
    "data_key",
    "decode_label",
    "delete_items",
    "encode_label",
    "gather_plans",
    "get_one",
    "has_vector_index",
    "lexical_rank",
    "lookup_key",
    "namespace_scope",
    "put",
    "ranked_namespace",
    "run_plan",
    "search_all",
    "search_text",
    "semantic_scored",
    "semantic_search",
    "tokenize",
    "write_lock",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
PlanOp = Op | EmbedQueryOp | VectorsOp
Plan = Generator[list[PlanOp], list[Any], T]
"""A store plan: yields batches of ops, receives their results, returns a value.

Besides LangGraph's ops a plan may yield :class:`~.vectors.EmbedQueryOp` and
:class:`~.vectors.VectorsOp` (see :func:`semantic_search`), run beside the store's batch."""

ROOT = "learning"
SCAN_LIMIT = 10_000
"""Most items a lexical (index-less) search reads from one namespace."""


_CURRENT_STORE: ContextVar[BaseStore | None] = ContextVar("agno_learn_store", default=None)


def run_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``store.batch`` (one call per step).

    Writes to ranked namespaces also bump their version stamp (see :func:`ranked_namespace`).
    """
    token = _CURRENT_STORE.set(store)
    try:
        ops = next(plan)
        while True:
            ops = plan.send(_batch(store, ops) if ops else [])
    except StopIteration as done:
        return done.value
    finally:
        _CURRENT_STORE.reset(token)


async def arun_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``await store.abatch`` (one call per step)."""
    token = _CURRENT_STORE.set(store)
    try:
        ops = next(plan)
        while True:
            ops = plan.send(await _abatch(store, ops) if ops else [])
    except StopIteration as done:
        return done.value
    finally:
        _CURRENT_STORE.reset(token)


def encode_label(value: str) -> str:
    """Make an id usable as a namespace label (LangGraph rejects ``.``): percent-encode ``.``/``%``.

    >>> encode_label("alice@example.com")
    'alice@example%2Ecom'
    """
    if not isinstance(value, str) or not value:
        raise MissingScopeError(f"Namespace ids must be non-empty strings, got {value!r}.")
    return value.replace("%", "%25").replace(".", "%2E")


def decode_label(label: str) -> str:
    """Inverse of :func:`encode_label`."""
    return label.replace("%2E", ".").replace("%25", "%")


def namespace_scope(namespace: str, scope: Scope, store: str) -> tuple[str, ...]:
    """The namespace labels of a ``global``/``user``/custom namespace (see the module layout)."""
    if namespace == "global":
        return ("global",)
    if namespace == "user":
        return ("user", encode_label(scope.require_user(f"{store} (namespace='user')")))
    return ("ns", encode_label(namespace))


def has_vector_index(store: BaseStore) -> bool:
    """Whether ``store`` was built with ``index=`` (otherwise ``query=`` is silently ignored)."""
    return bool(getattr(store, "index_config", None))


MAX_TEXT_CHARS = 20_000
"""Longest text one field of a stored record may hold: a learning is a statement, not a document."""


def check_storable(value: Any, field: str = "value") -> None:
    """Refuse a text no store should keep: over :data:`MAX_TEXT_CHARS`, or holding a NUL.

    >>> check_storable({"text": "x" * 20_001})
    Traceback (most recent call last):
    ...
    agno_learn_langgraph.errors.LearningInputError: The text is 20,001 characters long; ...

    Raises:
        LearningInputError: naming the field, the limit and the fix.
    """
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise LearningInputError(
                f"The {field} is {len(value):,} characters long; the limit is "
                f"{MAX_TEXT_CHARS:,} per stored text (MAX_TEXT_CHARS). Store a short statement "
                "or a summary instead."
            )
        if "\x00" in value:  # PostgreSQL cannot store it: refused on every backend alike
            raise LearningInputError(f"The {field} contains a NUL character (\\x00); remove it.")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_storable(v, str(k) if field == "value" else f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_storable(v, f"{field}[{i}]")


def put(
    namespace: tuple[str, ...], key: str, value: dict[str, Any], *, search_text: str | None = None
) -> PutOp:
    """A ``PutOp``; with ``search_text`` the item is embedded (when the store has an index).

    Raises:
        LearningInputError: a text of ``value`` or ``key`` cannot be stored (see
            :func:`check_storable`); nothing of the batch is written.
    """
    check_storable(value)
    check_storable(key, "key")
    if search_text is None:
        return PutOp(namespace, key, value, index=False)
    return PutOp(namespace, key, {**value, "search_text": search_text}, index=["search_text"])


def delete_items(items: Iterable[tuple[tuple[str, ...], str]]) -> Plan[int]:
    """Delete ``(namespace, key)`` pairs in one batch (bumping ranked namespaces' stamps)."""
    ops: list[PlanOp] = [PutOp(ns, key, None) for ns, key in items]
    if ops:
        yield ops
    return len(ops)


def lookup_key(value: object) -> str:
    """The key to look up a caller-supplied id with: a NUL (which PostgreSQL refuses in a query)
    becomes U+FFFD, so the id matches nothing on every backend instead of failing the query.

    >>> lookup_key("mem_\\x00")
    'mem_\ufffd'
    """
    return str(value).replace("\x00", "\ufffd")


def get_one(namespace: tuple[str, ...], key: str) -> Plan[Item | None]:
    """Read one item."""
    (item,) = yield [GetOp(namespace, key)]
    return cast("Item | None", item)


def search_all(
    namespace: tuple[str, ...],
    *,
    filter: dict[str, Any] | None = None,
    query: str | None = None,
    limit: int = SCAN_LIMIT,
) -> SearchOp:
    """A ``SearchOp`` that lists (or, with ``query`` on an indexed store, ranks) a namespace."""
    return SearchOp(namespace, filter=filter, limit=limit, offset=0, query=query)


def newest_first(items: Iterable[Item]) -> list[Item]:
    """Items ordered by ``updated_at`` descending (backends differ in their default order)."""
    return sorted(items, key=lambda it: it.updated_at, reverse=True)


def as_items(result: Result) -> list[SearchItem]:
    """Narrow the result of a ``SearchOp`` to its list of items."""
    return cast("list[SearchItem]", result or [])


def as_item(result: Result) -> Item | None:
    """Narrow the result of a ``GetOp`` to its item (or ``None``)."""
    return cast("Item | None", result)


def gather_plans(*plans: Plan[Any]) -> Plan[list[Any]]:
    """Run independent read plans side by side: each step of all of them is one batch.

    Only for plans that do not write (InMemoryStore runs a batch's reads before its writes).
    """
    results: list[Any] = [None] * len(plans)
    pending: dict[int, list[PlanOp]] = {}
    for i, plan in enumerate(plans):
        try:
            pending[i] = next(plan)
        except StopIteration as done:
            results[i] = done.value
    while pending:
        order = list(pending)
        batch = [op for i in order for op in pending[i]]
        answers = yield batch
        offset = 0
        for i in order:
            n = len(pending[i])
            try:
                pending[i] = plans[i].send(list(answers[offset : offset + n]))
            except StopIteration as done:
                results[i] = done.value
                del pending[i]
            offset += n
    return results


# -- in-process write locks ----------------------------------------------------------------------
# Read-modify-write plans (an entity, a profile) can race when one model turn runs several tool
# calls at once. Writers of the same key serialise on one of a fixed set of striped locks, so
# memory stays bounded whatever the number of users. Separate processes are not serialised.

_STRIPES = 64
_THREAD_LOCKS = [threading.Lock() for _ in range(_STRIPES)]
_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOOP_GUARD = threading.Lock()


def data_key(store: str, scope: Scope, namespace: str | None = None) -> Hashable:
    """Identity of the data a write to ``store`` touches: what write locks are keyed by."""
    if store in ("user_profile", "user_memory"):
        return (store, scope.user_id)
    if store == "session_context":
        return (store, scope.thread_id)
    if store == "decision_log":
        return (store, scope.agent_id)
    return (store, namespace, scope.user_id if namespace == "user" else None)


def _stripes(keys: Iterable[Hashable]) -> list[int]:
    return sorted({hash(k) % _STRIPES for k in keys})  # one order for everyone: no deadlock


@contextmanager
def write_lock(*keys: Hashable) -> Iterator[None]:
    """Serialise sync writers of any of ``keys`` within this process."""
    stripes = _stripes(keys)
    for i in stripes:
        _THREAD_LOCKS[i].acquire()
    try:
        yield
    finally:
        for i in reversed(stripes):
            _THREAD_LOCKS[i].release()


@asynccontextmanager
async def async_write_lock(*keys: Hashable) -> AsyncIterator[None]:
    """Serialise async writers of any of ``keys`` on the running event loop."""
    loop = asyncio.get_running_loop()
    with _LOOP_GUARD:
        locks = _LOOP_LOCKS.get(loop)
        if locks is None:
            locks = _LOOP_LOCKS[loop] = [asyncio.Lock() for _ in range(_STRIPES)]
    stripes = _stripes(keys)
    for n, i in enumerate(stripes):
        try:
            await locks[i].acquire()
        except BaseException:
            for j in reversed(stripes[:n]):
                locks[j].release()
            raise
    try:
        yield
    finally:
        for i in reversed(stripes):
            locks[i].release()


# -- ranked namespaces: an in-process BM25 index per namespace, reused while its stamp holds ---
# Every write a plan makes to a ranked namespace (memories, learned knowledge, entities, decisions)
# also writes a fresh version stamp to ("learning", "versions"). A reader fetches the stamp (one
# small GetOp, batched with the turn's other reads) and reuses its index while the stamp is the
# same, so a turn neither re-reads nor re-tokenizes the namespace. This process's own writes
# update its cached indexes in place (a small delta segment, merged into the base as it grows);
# another process's write changes the stamp and the next reader rebuilds. Writes that bypass the
# plans are picked up after CACHE_TTL_S at the latest.

VERSIONS_NAMESPACE: tuple[str, ...] = (ROOT, "versions")
RANKED_STORES = frozenset({"user_memory", "learned_knowledge", "entity_memory", "decision_log"})
INDEX_SCAN_LIMIT = 100_000
"""Most items one ranked namespace index holds (the newest)."""
VECTOR_SCAN_LIMIT = 250_000
"""Most items a namespace's vector index holds; a larger namespace is left to the store."""
CACHE_MAX_ITEMS = 250_000
"""Most items all cached indexes of a process hold together (least recently used go first)."""
CACHE_MAX_VECTOR_BYTES = 1024 * 1024 * 1024
"""Most bytes all cached vector matrices of a process hold together (least recently used go)."""
CACHE_TTL_S = 300.0
_MIN_MERGE = 256
_BULK_WRITE = 64


def _version_key(namespace: tuple[str, ...]) -> str:
    return "/".join(namespace)


_Stamps = dict[tuple[str, ...], str]


def _stamped(ops: list[Op]) -> tuple[list[Op], _Stamps]:
    touched = {
        op.namespace
        for op in ops
        if isinstance(op, PutOp)
        and len(op.namespace) > 2
        and op.namespace[1] in RANKED_STORES
        and op.namespace[0] == ROOT
    }
    if not touched:
        return ops, {}
    stamps = {ns: uuid.uuid4().hex for ns in sorted(touched)}
    puts = [
        PutOp(VERSIONS_NAMESPACE, _version_key(ns), {"v": v}, index=False)
        for ns, v in stamps.items()
    ]
    return [*ops, *puts], stamps


def _split(ops: list[PlanOp]) -> tuple[list[int], list[Op], list[int], list[OwnOp]]:
    """Positions and ops for the store, positions and this package's own ops (see vectors)."""
    store_at = [i for i, op in enumerate(ops) if not isinstance(op, EmbedQueryOp | VectorsOp)]
    own_at = [i for i, op in enumerate(ops) if isinstance(op, EmbedQueryOp | VectorsOp)]
    return (
        store_at,
        [cast(Op, ops[i]) for i in store_at],
        own_at,
        [cast(OwnOp, ops[i]) for i in own_at],
    )


def _merge(n: int, *parts: tuple[list[int], list[Any]]) -> list[Any]:
    results: list[Any] = [None] * n
    for at, values in parts:
        for i, value in zip(at, values, strict=True):
            results[i] = value
    return results


def _own_source(store: BaseStore) -> VectorSource:
    source = vector_source(store)
    if source is None:  # semantic_search only yields these ops when a source exists
        raise TypeError(f"{type(store).__name__} has no vector source for this package's ops.")
    return source


def _committed(
    store: BaseStore, ops: list[Op], stamped: list[Result], stamps: _Stamps
) -> list[Result]:
    """The results of ``ops`` (without their stamps); this process's caches see the writes."""
    if stamps:
        _CACHE.write_through(store, ops, stamps)
    return stamped[: len(ops)]


def _batch(store: BaseStore, plan_ops: list[PlanOp]) -> list[Any]:
    store_at, ops, own_at, own = _split(plan_ops)
    results: list[Result] = []
    if ops:
        stamped_ops, stamps = _stamped(ops)
        results = _committed(store, ops, store.batch(stamped_ops), stamps)
    if not own:
        return results
    source = _own_source(store)
    done = {op: source.run(op) for op in dict.fromkeys(own)}  # one embedding per query text
    return _merge(len(plan_ops), (store_at, results), (own_at, [done[op] for op in own]))


async def _abatch(store: BaseStore, plan_ops: list[PlanOp]) -> list[Any]:
    store_at, ops, own_at, own = _split(plan_ops)

    async def store_part() -> list[Result]:
        if not ops:
            return []
        stamped_ops, stamps = _stamped(ops)
        return _committed(store, ops, await store.abatch(stamped_ops), stamps)

    if not own:
        return await store_part()
    source = _own_source(store)
    unique = list(dict.fromkeys(own))  # one embedding per query text
    results, *answers = await asyncio.gather(store_part(), *(source.arun(op) for op in unique))
    done = dict(zip(unique, answers, strict=True))
    return _merge(len(plan_ops), (store_at, results), (own_at, [done[op] for op in own]))


class NamespaceIndex:
    """A ranked namespace as of one version: a base :class:`LexicalIndex` plus recent writes."""

    def __init__(
        self,
        keys: list[str],
        values: list[dict[str, Any]],
        text_of: Callable[[dict[str, Any]], str],
        tokenize: Tokenizer | None = None,
    ) -> None:
        self.text_of = text_of
        self.tokenize = tokenize or tokenizer()
        self._lock = threading.RLock()  # readers rank while this process's writes apply
        self._build(keys, values)

    def _build(self, keys: list[str], values: list[dict[str, Any]]) -> None:
        self._keys = keys
        self._base = LexicalIndex(values, self.text_of, tokenize=self.tokenize)
        self._where = {k: i for i, k in enumerate(keys)}
        self._delta: dict[str, dict[str, Any] | None] = {}  # oldest write first
        self._delta_index: LexicalIndex[dict[str, Any]] | None = None
        self._items: list[dict[str, Any]] | None = None

    def apply(self, key: str, value: dict[str, Any] | None) -> None:
        """Record a write (``None``: a delete) made after the base was built."""
        with self._lock:
            self._delta.pop(key, None)
            self._delta[key] = value
            self._delta_index, self._items = None, None
            if len(self._delta) > max(_MIN_MERGE, len(self._keys) // 10):  # merge the segments
                values = self.items
                self._build([*self._live_delta_keys(), *self._base_keys_kept()], values)

    def _live_delta_keys(self) -> list[str]:
        return [k for k, v in reversed(self._delta.items()) if v is not None]

    def _base_keys_kept(self) -> list[str]:
        return [k for k in self._keys if k not in self._delta]

    @property
    def items(self) -> list[dict[str, Any]]:
        """The namespace's values, newest first."""
        with self._lock:
            if self._items is None:
                recent = [v for v in reversed(self._delta.values()) if v is not None]
                base = self._base.items
                self._items = recent + [base[self._where[k]] for k in self._base_keys_kept()]
            return self._items

    def __len__(self) -> int:
        return len(self.items)

    def rank_scored(self, query: QueryLike, *, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """Up to ``limit`` ``(BM25 score, value)`` of matching values, best first, newest first
        among ties."""
        if limit <= 0:
            return []
        with self._lock:
            hits = self._hits(self._base.terms(query), limit)
        return [(h[0], h[3]) for h in hits[:limit]]

    def rank(
        self, query: QueryLike, *, limit: int, keep_unmatched: bool = False
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` values, best BM25 match first (recent writes win ties)."""
        picked = [value for _, value in self.rank_scored(query, limit=limit)]
        if keep_unmatched and len(picked) < limit:
            chosen = {id(v) for v in picked}
            for v in self.items:  # newest first; stop as soon as the list is full
                if len(picked) >= limit:
                    break
                if id(v) not in chosen:
                    picked.append(v)
        return picked

    def _hits(
        self, query: dict[str, float], limit: int
    ) -> list[tuple[float, int, int, dict[str, Any]]]:
        hits: list[tuple[float, int, int, dict[str, Any]]] = []
        if self._delta and self._delta_index is None:
            recent = [self._delta[k] for k in self._live_delta_keys()]
            self._delta_index = LexicalIndex(
                [v for v in recent if v], self.text_of, tokenize=self.tokenize
            )
        delta = self._delta_index
        n = len(self._base) + (len(delta) if delta else 0)

        def idf(term: str) -> float:  # one set of statistics for both segments
            return bm25_idf(n, self._base.df(term) + (delta.df(term) if delta else 0))

        if delta is not None:
            for score, i in delta.rank_scored(query, limit=limit, idf=idf):
                hits.append((score, 0, i, delta.items[i]))
        for score, i in self._base.rank_scored(query, limit=limit + len(self._delta), idf=idf):
            if self._keys[i] not in self._delta:
                hits.append((score, 1, i, self._base.items[i]))
        return sorted(hits, key=lambda h: (-h[0], h[1], h[2]))


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

    def measure(self) -> None:
        self.nbytes = self.index.nbytes if isinstance(self.index, VectorIndex) else 0


_Group = dict[Hashable, _Cached]
"""The cached indexes of one namespace (by filter and kind)."""
_WRITE_SLOTS = 4096


class _IndexCache:
    """Per-store LRU of namespaces' indexes, bounded by their items and their vector bytes.

    Entries are grouped by namespace, so a write touches only its namespaces' indexes, and the
    totals are kept as entries come and go, so neither a write nor a put walks the whole cache.
    """

    def __init__(self, max_items: int, max_vector_bytes: int) -> None:
        self.max_items = max_items
        self.max_vector_bytes = max_vector_bytes
        self._entries: weakref.WeakKeyDictionary[
            BaseStore, OrderedDict[tuple[str, ...], _Group]
        ] = weakref.WeakKeyDictionary()
        # per store: this process's write batches, counted in slots by namespace hash (bounded;
        # a shared slot only makes a put skip caching once), see generation
        self._writes: weakref.WeakKeyDictionary[BaseStore, list[int]] = weakref.WeakKeyDictionary()
        self._items = 0
        self._nbytes = 0
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

    def get(
        self, store: BaseStore, namespace: tuple[str, ...], key: Hashable, version: str | None
    ) -> _Cached | None:
        with self._lock:
            entries = self._entries.get(store)
            group = entries.get(namespace) if entries is not None else None
            hit = group.get(key) if group is not None else None
            if hit is None or entries is None or group is None:
                return None
            if hit.version != version or time.monotonic() - hit.built_at > CACHE_TTL_S:
                self._drop(group, key)
                return None
            entries.move_to_end(namespace)
            return hit

    def put(
        self,
        store: BaseStore,
        namespace: tuple[str, ...],
        key: Hashable,
        entry: _Cached,
        generation: int,
    ) -> None:
        """Cache ``entry`` unless this process wrote its namespace since ``generation``."""
        entry.items = len(entry.index)
        entry.measure()
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
            entries.move_to_end(namespace)
            for es in list(self._entries.values()):  # least recently used namespaces first
                while es and (self._items > self.max_items or self._nbytes > self.max_vector_bytes):
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
                    self._nbytes -= entry.nbytes
                    entry.items += len(writes[namespace])
                    entry.measure()
                    self._items += len(writes[namespace])
                    self._nbytes += entry.nbytes
                    entry.version = stamps[namespace]


_CACHE = _IndexCache(CACHE_MAX_ITEMS, CACHE_MAX_VECTOR_BYTES)


def search_text(value: dict[str, Any]) -> str:
    """The text a stored record is ranked by (written by :func:`put` as ``search_text``)."""
    return str(value.get("search_text") or "")


def _cached_namespace(
    namespace: tuple[str, ...],
    filter: dict[str, Any] | None,
    kind: Hashable,
    build: Callable[[list[Item]], Any],
    *,
    scan_limit: int,
    also: Sequence[PlanOp] = (),
) -> Plan[tuple[Any, list[Any]]]:
    """The cached index of ``kind`` over ``namespace``, or ``build`` (newest-first items) anew.

    The namespace's version stamp is read with ``also`` (their results are returned too) in one
    round trip; a second one scans the namespace when the cached index is missing or stale. An
    index built from a scan is cached only if this process did not write the namespace
    meanwhile (see :meth:`_IndexCache.generation`).
    """
    store = _CURRENT_STORE.get()
    key = (json.dumps(filter, sort_keys=True), kind)
    stamp, *answers = yield [GetOp(VERSIONS_NAMESPACE, _version_key(namespace)), *also]
    version = stamp.value.get("v") if isinstance(stamp, Item) else None
    cached = _CACHE.get(store, namespace, key, version) if store is not None else None
    if cached is not None:
        return cached.index, answers
    generation = _CACHE.generation(store, namespace) if store is not None else 0
    (items,) = yield [search_all(namespace, filter=filter, limit=scan_limit)]
    index = build(newest_first(as_items(items)))
    if store is not None:
        entry = _Cached(version, time.monotonic(), filter, index)
        _CACHE.put(store, namespace, key, entry, generation)
    return index, answers


def ranked_namespace(
    namespace: tuple[str, ...],
    text_of: Callable[[dict[str, Any]], str] = search_text,
    *,
    filter: dict[str, Any] | None = None,
    language: str | None = "english",
) -> Plan[NamespaceIndex]:
    """A BM25 index over a namespace's item values (newest first), cached while unchanged.

    One round trip (the version stamp) when the cached index is current; two otherwise.
    ``language`` is the stemmer's (see :class:`~.lexical.Tokenizer`).
    """
    tokens = tokenizer(language)

    def build(items: list[Item]) -> NamespaceIndex:
        keys, values = [it.key for it in items], [it.value for it in items]
        return NamespaceIndex(keys, values, text_of, tokens)

    index, _ = yield from _cached_namespace(
        namespace, filter, (text_of, language), build, scan_limit=INDEX_SCAN_LIMIT
    )
    return cast(NamespaceIndex, index)


def _store_search(
    namespace: tuple[str, ...], query: str, filter: dict[str, Any] | None, limit: int
) -> Plan[list[tuple[float, dict[str, Any]]]]:
    (hits,) = yield [search_all(namespace, filter=filter, query=query, limit=limit)]
    return [(it.score if it.score is not None else 0.0, it.value) for it in as_items(hits)]


def semantic_search(
    namespace: tuple[str, ...],
    query: str,
    *,
    filter: dict[str, Any] | None = None,
    limit: int,
) -> Plan[list[dict[str, Any]]]:
    """Up to ``limit`` values of ``namespace`` most similar to ``query`` (store with an index).

    Exact search over the namespace's stored vectors kept in process (see ``stores.vectors``):
    one round trip (version stamp + query embedding) when the cached matrix is current, one more
    to read the vectors of this process's new writes, two to load the namespace after another
    process wrote. The store searches by itself when it has no
    :func:`~.vectors.vector_source`, when the namespace is too large to keep (more than
    ``VECTOR_SCAN_LIMIT`` items or ``MAX_VECTOR_BYTES`` of vectors), or when the stored vectors
    do not fit the query embedding (the embeddings changed).

    Raises:
        QueryEmbeddingError: the store's embeddings failed (through a vector source).
    """
    scored = yield from semantic_scored(namespace, query, filter=filter, limit=limit)
    return [value for _, value in scored]


def semantic_scored(
    namespace: tuple[str, ...],
    query: str,
    *,
    filter: dict[str, Any] | None = None,
    limit: int,
) -> Plan[list[tuple[float, dict[str, Any]]]]:
    """:func:`semantic_search` with each value's similarity: ``[(score, value), ...]``."""
    store = _CURRENT_STORE.get()
    source = vector_source(store) if store is not None else None
    if source is None or store is None:
        return (yield from _store_search(namespace, query, filter, limit))
    dims = int(getattr(store, "index_config", {}).get("dims") or 0)

    def build(items: list[Item]) -> VectorIndex | _TooBig:
        if len(items) > VECTOR_SCAN_LIMIT or len(items) * dims * 4 > MAX_VECTOR_BYTES:
            return _TooBig()
        keys, values = [it.key for it in items], [it.value for it in items]
        return VectorIndex(keys, values, metric=source.metric)

    index, (query_vector,) = yield from _cached_namespace(
        namespace,
        filter,
        VectorIndex,
        build,
        scan_limit=VECTOR_SCAN_LIMIT + 1,
        also=[EmbedQueryOp(query)],
    )
    if isinstance(index, _TooBig):
        return (yield from _store_search(namespace, query, filter, limit))
    if missing := index.missing():
        whole = len(missing) == len(index)  # a new index: read the namespace in one query
        (vectors,) = yield [VectorsOp(namespace, None if whole else tuple(missing))]
        index.set_vectors(vectors, missing)
    try:
        return index.rank_scored(query_vector, limit=limit)
    except ValueError as exc:  # stored vectors of another size: the store's search still works
        logger.warning("%s Searching %s with the store instead.", exc, "/".join(namespace))
        return (yield from _store_search(namespace, query, filter, limit))
