"""Run plans against a store: ``run_plan`` with ``store.batch``, ``arun_plan`` with ``abatch``.

Each step of a plan goes through the installed :class:`BatchExecutor`. The default one sends the
ops to the store as they are; ``index`` installs one that also stamps writes to ranked
namespaces, keeps this process's index cache current and runs the plans' side ops (query
embeddings, stored vectors). Importing any module of the package installs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from langgraph.store.base import BaseStore, Op

from agno_learn_langgraph.core.locks import aheld_in_store, held_in_store
from agno_learn_langgraph.core.plans import Plan, PlanOp, SideOp

__all__ = ["BatchExecutor", "arun_plan", "current_store", "install_executor", "run_plan"]

T = TypeVar("T")


class BatchExecutor:
    """Runs one step of a plan: the ops go to ``store.batch`` / ``store.abatch`` unchanged."""

    def batch(self, store: BaseStore, ops: list[PlanOp]) -> list[Any]:
        return store.batch(_store_ops(ops))

    async def abatch(self, store: BaseStore, ops: list[PlanOp]) -> list[Any]:
        return await store.abatch(_store_ops(ops))


def _store_ops(ops: Sequence[PlanOp]) -> list[Op]:
    side = [type(op).__name__ for op in ops if isinstance(op, SideOp)]
    if side:
        raise TypeError(f"No batch executor for {', '.join(side)} is installed (see core.runner).")
    return cast(list[Op], list(ops))


_EXECUTOR: list[BatchExecutor] = [BatchExecutor()]
_CURRENT_STORE: ContextVar[BaseStore | None] = ContextVar("agno_learn_store", default=None)


def install_executor(executor: BatchExecutor) -> None:
    """Run every plan step through ``executor`` from now on (``index`` installs its own)."""
    _EXECUTOR[0] = executor


def current_executor() -> BatchExecutor:
    """The executor plan steps run through."""
    return _EXECUTOR[0]


def current_store() -> BaseStore | None:
    """The store the running plan executes against (``None`` outside a runner)."""
    return _CURRENT_STORE.get()


def run_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``store.batch`` (one call per step).

    Inside :func:`~agno_learn_langgraph.core.locks.write_lock`, the plan holds the lock's keys
    in the store's database while it runs (see ``core.store_locks``).
    """
    executor = _EXECUTOR[0]
    token = _CURRENT_STORE.set(store)
    try:
        with held_in_store(store):
            ops = next(plan)
            while True:
                ops = plan.send(executor.batch(store, ops) if ops else [])
    except StopIteration as done:
        return cast(T, done.value)
    finally:
        _CURRENT_STORE.reset(token)


async def arun_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``await store.abatch`` (one call per step)."""
    executor = _EXECUTOR[0]
    token = _CURRENT_STORE.set(store)
    try:
        async with aheld_in_store(store):
            ops = next(plan)
            while True:
                ops = plan.send(await executor.abatch(store, ops) if ops else [])
    except StopIteration as done:
        return cast(T, done.value)
    finally:
        _CURRENT_STORE.reset(token)
