"""Plans: store operations as data, so sync and async share one core.

Every store function is a *plan*: a generator that yields lists of LangGraph store operations
(``GetOp``, ``PutOp``, ``SearchOp``) and receives their results. ``core.runner`` executes a plan
with ``store.batch`` or ``await store.abatch``, so each step is one round trip, whatever the
backend. This module holds the plan type and the builders of the operations plans yield.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any, TypeVar, cast

from langgraph.store.base import GetOp, Item, Op, PutOp, Result, SearchItem, SearchOp

from agno_learn_langgraph.core.checks import check_storable

__all__ = [
    "SCAN_LIMIT",
    "Plan",
    "PlanOp",
    "SideOp",
    "as_item",
    "as_items",
    "delete_items",
    "done",
    "gather_plans",
    "get_one",
    "newest_first",
    "put",
    "search_all",
]

T = TypeVar("T")


class SideOp:
    """An operation a plan yields that the store does not run itself (e.g. a query embedding).

    The runner's batch executor runs these beside the store's batch (see ``index.batches``).
    """


PlanOp = Op | SideOp
Plan = Generator[list[PlanOp], list[Any], T]
"""A store plan: yields batches of ops, receives their results, returns a value."""

SCAN_LIMIT = 10_000
"""Most items a lexical (index-less) search reads from one namespace."""


def put(
    namespace: tuple[str, ...], key: str, value: dict[str, Any], *, search_text: str | None = None
) -> PutOp:
    """A ``PutOp``; with ``search_text`` the item is embedded (when the store has an index).

    Raises:
        LearningInputError: a text of ``value`` or ``key`` cannot be stored (see
            :func:`~agno_learn_langgraph.core.checks.check_storable`); nothing of the batch is
            written.
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


def done(value: T) -> Plan[T]:
    """A plan with no store step that returns ``value`` (an empty slot in ``gather_plans``)."""
    return value
    yield  # pragma: no cover - makes this a generator


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
