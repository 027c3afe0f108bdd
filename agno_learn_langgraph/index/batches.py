"""The batch executor ``index`` installs in ``core.runner``: version stamps and side ops.

Every write a plan makes to a ranked namespace (memories, learned knowledge, entities, decisions)
also writes a fresh version stamp to ``("learning", "versions")``. A reader fetches the stamp
(one small ``GetOp``, batched with the turn's other reads) and reuses its cached index while the
stamp is the same (see ``index.ranked``), so a turn neither re-reads nor re-tokenizes the
namespace. This process's own committed writes are applied to its cached indexes in place.

The executor also runs the plans' side ops (:class:`~.vectors.EmbedQueryOp`,
:class:`~.vectors.VectorsOp`) through the store's :class:`~.vectors.VectorSource`, beside the
store's batch, and their index builds (:class:`BuildOp`): in a worker thread under
``arun_plan``, so a large build does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from langgraph.store.base import BaseStore, Op, PutOp, Result

from agno_learn_langgraph.core.guard import aguarded, guarded
from agno_learn_langgraph.core.layout import ROOT
from agno_learn_langgraph.core.plans import PlanOp, SideOp
from agno_learn_langgraph.core.runner import BatchExecutor
from agno_learn_langgraph.index.cache import _CACHE
from agno_learn_langgraph.index.changes import (
    ChangeReader,
    ChangesOp,
    ScanOp,
    change_reader,
    tombstone_namespace,
)
from agno_learn_langgraph.index.vectors import (
    EmbedQueryOp,
    OwnOp,
    VectorsOp,
    VectorSource,
    vector_source,
)
from agno_learn_langgraph.kinds import KINDS

__all__ = ["RANKED_STORES", "VERSIONS_NAMESPACE", "BuildOp", "IndexingExecutor", "version_key"]

VERSIONS_NAMESPACE: tuple[str, ...] = (ROOT, "versions")
RANKED_STORES = frozenset(k.name for k in KINDS if k.ranked)


def version_key(namespace: tuple[str, ...]) -> str:
    """The key of ``namespace``'s version stamp in :data:`VERSIONS_NAMESPACE`."""
    return "/".join(namespace)


_Stamps = dict[tuple[str, ...], str]


@dataclass(frozen=True, eq=False)
class BuildOp(SideOp):
    """Build an index from rows a plan read (result: what ``build()`` returns).

    ``arun_plan`` runs it in a worker thread (the event loop keeps serving other requests),
    ``run_plan`` in the calling thread; either way outside the store's guard, beside the batch's
    other ops.
    """

    build: Callable[[], Any]


def _builds(ops: list[PlanOp]) -> tuple[list[int], list[BuildOp], list[int], list[PlanOp]]:
    """Positions and ops of the builds, positions and ops of the rest."""
    at = [i for i, op in enumerate(ops) if isinstance(op, BuildOp)]
    rest_at = [i for i, op in enumerate(ops) if not isinstance(op, BuildOp)]
    return at, [cast(BuildOp, ops[i]) for i in at], rest_at, [ops[i] for i in rest_at]


def _ranked(op: Op) -> bool:
    return (
        isinstance(op, PutOp)
        and len(op.namespace) > 2
        and op.namespace[1] in RANKED_STORES
        and op.namespace[0] == ROOT
    )


def _stamped(store: BaseStore, ops: list[Op]) -> tuple[list[Op], _Stamps]:
    """``ops`` plus a fresh version stamp per ranked namespace they write and, on PostgreSQL,
    a tombstone per delete (other processes' cached indexes catch up with it, index.changes)."""
    written = [cast(PutOp, op) for op in ops if _ranked(op)]
    if not written:
        return ops, {}
    stamps = {ns: uuid.uuid4().hex for ns in sorted({op.namespace for op in written})}
    puts = [
        PutOp(VERSIONS_NAMESPACE, version_key(ns), {"v": v}, index=False)
        for ns, v in stamps.items()
    ]
    if any(op.value is None for op in written) and change_reader(store) is not None:
        puts += [
            PutOp(tombstone_namespace(op.namespace), op.key, {"deleted": True}, index=False)
            for op in written
            if op.value is None
        ]
    return [*ops, *puts], stamps


_OWN = (EmbedQueryOp, VectorsOp, ChangesOp, ScanOp)
_AnyOwn = OwnOp | ChangesOp | ScanOp


def _split(ops: list[PlanOp]) -> tuple[list[int], list[Op], list[int], list[_AnyOwn]]:
    """Positions and ops for the store, positions and this package's own ops (see vectors)."""
    store_at = [i for i, op in enumerate(ops) if not isinstance(op, _OWN)]
    own_at = [i for i, op in enumerate(ops) if isinstance(op, _OWN)]
    return (
        store_at,
        [cast(Op, ops[i]) for i in store_at],
        own_at,
        [cast(_AnyOwn, ops[i]) for i in own_at],
    )


def _reader(store: BaseStore) -> ChangeReader:
    reader = change_reader(store)
    if reader is None:  # ranked plans only yield these ops on PostgreSQL
        raise TypeError(f"{type(store).__name__} has no change reader.")
    return reader


def _run_own(store: BaseStore, op: _AnyOwn) -> Any:
    if isinstance(op, ChangesOp | ScanOp):
        return _reader(store).run(op)
    return _own_source(store).run(op)


async def _arun_own(store: BaseStore, op: _AnyOwn) -> Any:
    if isinstance(op, ChangesOp | ScanOp):
        return await _reader(store).arun(op)
    return await _own_source(store).arun(op)


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
    builds_at, builds, rest_at, rest = _builds(plan_ops)
    results: list[Any] = []
    if rest:
        with guarded(store):  # a store that is not thread-safe (core/guard.py)
            results = _batch_unguarded(store, rest)
    if not builds:
        return results
    built = [op.build() for op in builds]
    return _merge(len(plan_ops), (rest_at, results), (builds_at, built))


def _batch_unguarded(store: BaseStore, plan_ops: list[PlanOp]) -> list[Any]:
    store_at, ops, own_at, own = _split(plan_ops)
    results: list[Result] = []
    if ops:
        stamped_ops, stamps = _stamped(store, ops)
        results = _committed(store, ops, store.batch(stamped_ops), stamps)
    if not own:
        return results
    done = {op: _run_own(store, op) for op in dict.fromkeys(own)}  # one embedding per query text
    return _merge(len(plan_ops), (store_at, results), (own_at, [done[op] for op in own]))


async def _abatch(store: BaseStore, plan_ops: list[PlanOp]) -> list[Any]:
    builds_at, builds, rest_at, rest = _builds(plan_ops)

    async def rest_part() -> list[Any]:
        if not rest:
            return []
        async with aguarded(store):
            return await _abatch_unguarded(store, rest)

    if not builds:
        return await rest_part()
    results, *built = await asyncio.gather(
        rest_part(), *(asyncio.to_thread(op.build) for op in builds)
    )
    return _merge(len(plan_ops), (rest_at, results), (builds_at, built))


async def _abatch_unguarded(store: BaseStore, plan_ops: list[PlanOp]) -> list[Any]:
    store_at, ops, own_at, own = _split(plan_ops)

    async def store_part() -> list[Result]:
        if not ops:
            return []
        stamped_ops, stamps = _stamped(store, ops)
        return _committed(store, ops, await store.abatch(stamped_ops), stamps)

    if not own:
        return await store_part()
    unique = list(dict.fromkeys(own))  # one embedding per query text
    results, *answers = await asyncio.gather(store_part(), *(_arun_own(store, op) for op in unique))
    done = dict(zip(unique, answers, strict=True))
    return _merge(len(plan_ops), (store_at, results), (own_at, [done[op] for op in own]))


class IndexingExecutor(BatchExecutor):
    """Stamps writes to ranked namespaces, updates this process's cache, runs side ops."""

    def batch(self, store: BaseStore, ops: list[PlanOp]) -> list[Any]:
        return _batch(store, ops)

    async def abatch(self, store: BaseStore, ops: list[PlanOp]) -> list[Any]:
        return await _abatch(store, ops)
