"""Ranking a namespace: BM25 without a vector index, the stored vectors with one.

:func:`ranked_namespace` and :func:`semantic_search` are plans. Each keeps one index per
namespace in this process (``index.cache``), reused while the namespace's version stamp
(``index.batches``) is unchanged: a warm turn reads one small stamp instead of the namespace.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, cast

from langgraph.store.base import GetOp, Item

from agno_learn_langgraph.core.plans import Plan, PlanOp, as_items, newest_first, search_all
from agno_learn_langgraph.core.runner import current_store
from agno_learn_langgraph.index.batches import VERSIONS_NAMESPACE, BuildOp, version_key
from agno_learn_langgraph.index.cache import _CACHE, _Cached, _matches, _TooBig
from agno_learn_langgraph.index.changes import (
    Changes,
    ChangesOp,
    ScanOp,
    change_reader,
    since,
)
from agno_learn_langgraph.index.lexical import tokenizer
from agno_learn_langgraph.index.segments import NamespaceIndex
from agno_learn_langgraph.index.vectors import (
    MAX_VECTOR_BYTES,
    EmbedQueryOp,
    VectorIndex,
    VectorsOp,
    vector_source,
)

__all__ = [
    "INDEX_SCAN_LIMIT",
    "OFF_LOOP_CHARS",
    "VECTOR_SCAN_LIMIT",
    "ranked_namespace",
    "search_text",
    "semantic_scored",
    "semantic_search",
]

logger = logging.getLogger(__name__)

INDEX_SCAN_LIMIT = 100_000
"""Most items one ranked namespace index is built from (the newest). Other processes' writes
caught up with may take it 10% past that before it is rebuilt, so a namespace at the limit is
not rebuilt on every foreign write."""
_CATCH_UP_SLACK = 10
VECTOR_SCAN_LIMIT = 250_000
"""Most items a namespace's vector index holds; a larger namespace is left to the store."""
OFF_LOOP_CHARS = 20_000
"""A BM25 index over more text than this (a few milliseconds of tokenizing: some 300 short
memories) is built in a worker thread under ``arun_plan`` (:class:`~.batches.BuildOp`), so
the event loop keeps serving other requests; a smaller one is built in place."""


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
    large: Callable[[list[Item]], bool] = lambda items: False,
) -> Plan[tuple[Any, list[Any]]]:
    """The cached index of ``kind`` over ``namespace``, or ``build`` (newest-first items) anew.

    The namespace's version stamp is read with ``also`` (their results are returned too) in one
    round trip; a second one scans the namespace when the cached index is missing or stale. A
    build of ``large`` items is a plan step of its own (:class:`~.batches.BuildOp`). An
    index built from a scan is cached only if this process did not write the namespace
    meanwhile (see :meth:`_IndexCache.generation`). On PostgreSQL a stale cached index is
    caught up with the rows written since instead (``index.changes``): one small read.
    """
    store = current_store()
    key = (json.dumps(filter, sort_keys=True), kind)
    stamp, *answers = yield [GetOp(VERSIONS_NAMESPACE, version_key(namespace)), *also]
    version = stamp.value.get("v") if isinstance(stamp, Item) else None
    cached = _CACHE.get(store, namespace, key, version) if store is not None else None
    if cached is not None:
        return cached.index, answers
    stale = _CACHE.stale(store, namespace, key) if store is not None else None
    if stale is not None and (
        yield from _catch_up(store, namespace, key, stale, version, filter, scan_limit)
    ):
        return stale.index, answers
    generation = _CACHE.generation(store, namespace) if store is not None else 0
    if store is not None and change_reader(store) is not None:  # PostgreSQL: decoded in chunks
        (items,) = yield [ScanOp(namespace, tuple(sorted((filter or {}).items())), scan_limit)]
    else:
        (items,) = yield [search_all(namespace, filter=filter, limit=scan_limit)]
    ordered = newest_first(as_items(items))
    if large(ordered):
        (index,) = yield [BuildOp(functools.partial(build, ordered))]
    else:
        index = build(ordered)
    if store is not None:
        entry = _Cached(version, time.monotonic(), filter, index)
        if ordered:
            entry.newest = ordered[0].updated_at
            cut = since(entry.newest)
            entry.recent = {it.key: it.updated_at for it in ordered if it.updated_at >= cut}
        _CACHE.put(store, namespace, key, entry, generation)
    return index, answers


def _catch_up(
    store: Any,
    namespace: tuple[str, ...],
    key: Hashable,
    entry: _Cached,
    version: str | None,
    filter: dict[str, Any] | None,
    scan_limit: int,
) -> Plan[bool]:
    """Apply the rows written to ``namespace`` since ``entry`` was current (PostgreSQL only);
    whether ``entry`` is now current (else the caller rebuilds)."""
    generation = _CACHE.generation(store, namespace)
    if isinstance(entry.index, _TooBig):  # nothing kept: the store searches that namespace
        return _CACHE.caught_up(store, namespace, key, entry, version, generation, 0)
    if entry.newest is None or change_reader(store) is None:
        _CACHE.drop(store, namespace, key)
        return False
    (changes,) = yield [ChangesOp(namespace, since(entry.newest))]
    applied = 0
    for row_key, value, updated_at in cast(Changes, changes).rows:
        seen = row_key if value is not None else f"\0{row_key}"  # a tombstone
        if entry.recent.get(seen) == updated_at:
            continue  # read before, unchanged
        keep = value is not None and _matches(value, filter)
        entry.index.apply(row_key, dict(value) if keep and value is not None else None)
        entry.recent[seen] = updated_at
        applied += 1
        entry.newest = max(entry.newest, updated_at)
    cut = since(entry.newest)
    entry.recent = {k: t for k, t in entry.recent.items() if t >= cut}
    held = entry.index.held if isinstance(entry.index, NamespaceIndex) else len(entry.index)
    if held > scan_limit + scan_limit // _CATCH_UP_SLACK:
        _CACHE.drop(store, namespace, key)  # well past the rows an index keeps: rebuild
        return False
    return _CACHE.caught_up(store, namespace, key, entry, version, generation, applied)


def ranked_namespace(
    namespace: tuple[str, ...],
    text_of: Callable[[dict[str, Any]], str] = search_text,
    *,
    filter: dict[str, Any] | None = None,
    language: str | None = "english",
) -> Plan[NamespaceIndex]:
    """A BM25 index over a namespace's item values (newest first), cached while unchanged.

    One round trip (the version stamp) when the cached index is current; two otherwise, and a
    build off the event loop for more than :data:`OFF_LOOP_CHARS` of text.
    ``language`` is the stemmer's (see :class:`~.lexical.Tokenizer`).
    """
    tokens = tokenizer(language)

    def build(items: list[Item]) -> NamespaceIndex:
        keys, values = [it.key for it in items], [it.value for it in items]
        return NamespaceIndex(keys, values, text_of, tokens)

    def large(items: list[Item]) -> bool:
        chars = 0
        for it in items:
            chars += len(text_of(it.value))
            if chars > OFF_LOOP_CHARS:
                return True
        return False

    index, _ = yield from _cached_namespace(
        namespace,
        filter,
        (text_of, language),
        build,
        scan_limit=INDEX_SCAN_LIMIT,
        large=large,
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

    Exact search over the namespace's stored vectors kept in process (see ``index.vectors``):
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
    store = current_store()
    source = vector_source(store) if store is not None else None
    if source is None or store is None:
        return (yield from _store_search(namespace, query, filter, limit))
    dims = int(source.store.index_config.get("dims") or 0)

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
