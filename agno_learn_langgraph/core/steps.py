"""Steps: work that waits, locks or calls a model, as data, so sync and async share one body.

Plans (``core.plans``) cover store operations; a *steps* body covers a whole job around them. It
is a generator that yields :class:`Step` values (an effect with a sync and an async way to run
it) and receives their results: :func:`run_steps` runs each step's sync call in this thread,
:func:`arun_steps` awaits its async one. An error a step raises goes back into the body at its
``yield``, so the body's ``try``/``except`` handles it as if it had made the call itself::

    def job(store) -> Steps[int]:
        try:
            return (yield plan_step(store, count_items()))
        except StoreUnavailableError:
            yield sleep(1.0)
            return 0


    run_steps(job(store))  # sync: store.batch, time.sleep
    await arun_steps(job(store))  # async: await store.abatch, await asyncio.sleep
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from langgraph.store.base import BaseStore

from agno_learn_langgraph.core.locks import async_write_lock, write_lock
from agno_learn_langgraph.core.plans import Plan
from agno_learn_langgraph.core.runner import arun_plan, run_plan

__all__ = [
    "Step",
    "Steps",
    "arun_steps",
    "locked",
    "name_twins",
    "plan_step",
    "run_steps",
    "shells",
    "sleep",
    "step",
]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Outcome:
    """What a step gave back: its value, or the error it raised."""

    value: Any = None
    error: Exception | None = None

    def resume(self, steps: Steps[Any]) -> Step:
        """Hand the outcome back to ``steps``; their next step (``StopIteration``: done)."""
        return steps.send(self.value) if self.error is None else steps.throw(self.error)


@dataclass(frozen=True)
class Step:
    """One effect: ``sync(*args, **kwargs)`` in a sync run, ``await async_(...)`` in an async."""

    sync: Callable[..., Any]
    async_: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def run(self) -> _Outcome:
        try:
            return _Outcome(self.sync(*self.args, **self.kwargs))
        except Exception as exc:
            return _Outcome(error=exc)

    async def arun(self) -> _Outcome:
        try:
            return _Outcome(await self.async_(*self.args, **self.kwargs))
        except Exception as exc:
            return _Outcome(error=exc)


Steps = Generator[Step, Any, T]
"""A steps body: yields steps, receives their results, returns a value."""


def step(
    sync: Callable[..., Any], async_: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any
) -> Step:
    """The step calling ``sync(*args, **kwargs)`` or awaiting ``async_(*args, **kwargs)``."""
    return Step(sync, async_, args, kwargs)


def sleep(seconds: float) -> Step:
    """``time.sleep(seconds)`` or ``await asyncio.sleep(seconds)``."""
    return step(time.sleep, asyncio.sleep, seconds)


def plan_step(store: BaseStore, plan: Plan[T]) -> Step:
    """Run ``plan`` against ``store`` (``run_plan`` or ``arun_plan``)."""
    return step(run_plan, arun_plan, store, plan)


def _run_locked(store: BaseStore, keys: Sequence[Hashable], plan: Plan[T]) -> T:
    with write_lock(*keys):
        return run_plan(store, plan)


async def _arun_locked(store: BaseStore, keys: Sequence[Hashable], plan: Plan[T]) -> T:
    async with async_write_lock(*keys):
        return await arun_plan(store, plan)


def locked(store: BaseStore, keys: Sequence[Hashable], plan: Plan[T]) -> Step:
    """Run ``plan`` against ``store`` inside the write locks of ``keys`` (see ``core.locks``)."""
    return step(_run_locked, _arun_locked, store, keys, plan)


def run_steps(steps: Steps[T]) -> T:
    """Run ``steps`` in this thread: each step's sync call, in order."""
    outcome = _Outcome()
    try:
        while True:
            outcome = outcome.resume(steps).run()
    except StopIteration as done:
        return cast(T, done.value)


async def arun_steps(steps: Steps[T]) -> T:
    """Run ``steps`` on the running event loop: each step's async call, awaited in order."""
    outcome = _Outcome()
    try:
        while True:
            outcome = await outcome.resume(steps).arun()
    except StopIteration as done:
        return cast(T, done.value)


def shells(
    body: Callable[P, Steps[T]], name: str
) -> tuple[Callable[P, T], Callable[P, Coroutine[Any, Any, T]]]:
    """``name(...)`` running ``body(...)`` with :func:`run_steps` and its twin ``aname(...)``
    with :func:`arun_steps`: one signature and one docstring (``body``'s) for both."""

    def sync(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_steps(body(*args, **kwargs))

    async def async_(*args: P.args, **kwargs: P.kwargs) -> T:
        return await arun_steps(body(*args, **kwargs))

    name_twins(sync, async_, name, body.__doc__, inspect.signature(body), body.__module__)
    return sync, async_


def name_twins(
    sync: Callable[..., Any],
    async_: Callable[..., Any],
    name: str,
    doc: str | None,
    signature: inspect.Signature,
    module: str,
) -> None:
    """Make generated twins look written: ``name`` with ``doc`` and ``a<name>``, both in
    ``module`` with ``signature`` (its ``Steps[X]`` or ``Plan[X]`` return shown as ``X``)."""
    result = str(signature.return_annotation)
    for wrapper in ("Steps[", "Plan["):
        if result.startswith(wrapper):
            result = result.removeprefix(wrapper).removesuffix("]")
    shown = signature.replace(return_annotation=result)
    for shell, shell_name, shell_doc in (
        (sync, name, doc),
        (async_, f"a{name}", f"Async twin of :func:`{name}`."),
    ):
        shell.__name__ = shell.__qualname__ = shell_name
        shell.__doc__ = shell_doc
        shell.__module__ = module
        setattr(shell, "__signature__", shown)  # noqa: B010  (help() shows the real arguments)
