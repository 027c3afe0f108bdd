"""Run one extraction (sync and async shells), schedule it off the critical path, and the node."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.compat import has_vector_index
from agno_learn_langgraph.core import data_key
from agno_learn_langgraph.core.guard import guard_store
from agno_learn_langgraph.core.steps import (
    Steps,
    arun_steps,
    locked,
    plan_step,
    run_steps,
    step,
)
from agno_learn_langgraph.extraction.apply import ExtractionReport, plan_apply, plan_skip
from agno_learn_langgraph.extraction.calls import (
    ExtractionFailedError,
    ainvoke_call,
    build_calls,
    invoke_call,
    resolve_models,
)
from agno_learn_langgraph.extraction.prepare import Prepared, plan_claim, plan_read
from agno_learn_langgraph.extraction.recovery import (
    Job,
    current_checkpointer,
    raise_if_failed,
    record_pending_steps,
    recorded_steps,
    submitted,
    sweep_steps,
)
from agno_learn_langgraph.extraction.select import check_scope, extraction_stores
from agno_learn_langgraph.graph_node import GraphNode, current_run
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.cursors import cursor_lock_key, release_claim
from agno_learn_langgraph.stores.outbox import thread_key

__all__ = [
    "aextract_learnings",
    "aschedule_extraction",
    "create_extraction_node",
    "extract_learnings",
    "extraction_steps",
    "schedule_extraction",
]

logger = logging.getLogger(__name__)


def _data_keys(
    machine: LearningMachine, stores: Sequence[StoreName], scope: Scope
) -> list[Hashable]:
    """The write locks an apply takes: the same keys as the tools writing those stores."""
    return [data_key(s, scope, machine.namespace_for(s)) for s in stores]


def _failed(
    transcript: Sequence[object], calls: int, exc: ExtractionFailedError
) -> ExtractionReport:
    return ExtractionReport(
        "failed", len(transcript), calls, error=str(exc), permanent=exc.permanent
    )


def _cursor_keys(scope: Scope) -> list[Hashable]:
    """The lock of the thread's cursor (none without a thread)."""
    return [cursor_lock_key(scope.thread_id)] if scope.thread_id else []


def _release(store: BaseStore, scope: Scope, prepared: Prepared) -> Steps[None]:
    """Give a failed extraction's messages back (its lease frees them if this fails too)."""
    if scope.thread_id and prepared.claim:
        try:
            yield locked(store, _cursor_keys(scope), release_claim(scope.thread_id, prepared.claim))
        except Exception:
            logger.warning("Releasing the extraction's claim failed.", exc_info=True)


def _start(
    machine: LearningMachine, scope: Scope, model: BaseChatModel | None
) -> tuple[tuple[StoreName, ...], dict[StoreName, BaseChatModel]]:
    stores = extraction_stores(machine)
    check_scope(machine, stores, scope)
    return stores, resolve_models(machine, stores, model)


def extraction_steps(job: Job) -> Steps[ExtractionReport]:
    """One extraction of ``job.messages`` (see :func:`extract_learnings`)."""
    machine, store, scope = job.machine, job.store, job.scope
    stores, models = _start(machine, scope, job.model)
    if not stores:
        return ExtractionReport("nothing_new")
    claim = plan_claim(machine, scope, job.messages)
    prepared = yield locked(store, _cursor_keys(scope), claim)  # claims the new messages
    if not prepared.transcript:
        if prepared.claim is None:
            return ExtractionReport("nothing_new")
        return (yield locked(store, _cursor_keys(scope), plan_skip(scope, prepared)))
    # the records for the prompt are read outside the lock (with an index: an embedding call)
    read = plan_read(machine, scope, prepared, stores, indexed=has_vector_index(store))
    prepared = yield plan_step(store, read)
    counter = [0]
    try:
        outputs = []
        for call in build_calls(machine, prepared, models):
            outputs.append((yield step(invoke_call, ainvoke_call, machine, call, counter)))
        keys = [*_data_keys(machine, stores, scope), *_cursor_keys(scope)]
        report = yield locked(store, keys, plan_apply(machine, scope, prepared, outputs))
    except ExtractionFailedError as exc:
        yield from _release(store, scope, prepared)
        return _failed(prepared.transcript, counter[0], exc)
    except Exception:
        yield from _release(store, scope, prepared)
        raise
    report.calls = counter[0]
    return cast(ExtractionReport, report)


def extract_learnings(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
) -> ExtractionReport:
    """Extract what the messages since the thread's cursor teach, for every extracting store.

    Model failures are retried, logged and reported (``status="failed"``), never raised; the
    cursor then stays, so the next extraction reads these messages again. Extractions of one
    thread running at once, in any processes, each read other messages (see
    ``stores.cursors``): a message is learned once, and the cursor only moves forward.

    Args:
        messages: the thread's messages (ids as given by ``add_messages``), reply included.
        model: replaces the machine's model (a store config's own model still wins).

    Raises:
        MissingScopeError: a store needs a user or thread id ``scope`` lacks.
        ValueError: no extraction model is configured.
    """
    return run_steps(extraction_steps(Job(machine, store, scope, messages, model)))


async def aextract_learnings(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
) -> ExtractionReport:
    """Async twin of :func:`extract_learnings`."""
    return await arun_steps(extraction_steps(Job(machine, store, scope, messages, model)))


# -- scheduling ---------------------------------------------------------------------------------


def _guard(store: BaseStore) -> None:
    """A sync run's job runs on a worker thread: guard a plain ``InMemoryStore`` first."""
    if isinstance(store, InMemoryStore):
        guard_store(store)


async def _aguard(store: BaseStore) -> None:
    """An async run's job is a task on the same loop: nothing to guard."""


def _schedule_steps(job: Job, background: bool | None) -> Steps[None]:
    """Check the ids now, then extract in the background (``machine.runner``) or inline."""
    machine = job.machine
    stores, _ = _start(machine, job.scope, job.model)
    if not stores:
        return
    if not (machine.background if background is None else background):
        try:
            raise_if_failed((yield from extraction_steps(job)))
        except Exception:
            logger.exception("Extraction failed; the next turn's extraction retries it.")
        return
    yield step(_guard, _aguard, job.store)
    record = yield from record_pending_steps(job)
    # how the job checks its turn was saved, taken now (the job runs after the run is over)
    recorded = replace(
        job, record=record, checkpointer=current_checkpointer(), wait_s=machine.recovery_grace() / 2
    )
    yield submitted(machine, thread_key(job.scope), lambda: recorded_steps(recorded))
    yield from sweep_steps(machine, job.store, job.model)


def schedule_extraction(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
) -> None:
    """Check the ids now, then extract in the background (``machine.runner``) or inline.

    The shared door of the extraction node and the ``create_agent`` middleware: ``messages``
    is snapshotted; failures are logged, never raised (inline ones included). Background work is
    first recorded in the store's outbox (one write), so another worker completes it if this one
    dies (see :mod:`agno_learn_langgraph.extraction.recovery`); it learns from the turn only once
    the thread's checkpoint holds it. A plain
    ``InMemoryStore`` handed to a worker thread is guarded first (see
    :mod:`agno_learn_langgraph.core.guard`): this package's batches on it then take one lock,
    and the store object is left as it is.

    Raises:
        MissingScopeError: a store needs a user or thread id ``scope`` lacks.
        ValueError: no extraction model is configured.
    """
    run_steps(_schedule_steps(Job(machine, store, scope, list(messages), model), background))


async def aschedule_extraction(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
) -> None:
    """Async twin of :func:`schedule_extraction`: a task on the running loop, or inline."""
    await arun_steps(_schedule_steps(Job(machine, store, scope, list(messages), model), background))


def create_extraction_node(
    machine: LearningMachine,
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
    name: str = "learn",
) -> GraphNode:
    """A node that learns from the finished turn; place it after the agent's final response.

    It reads ``state["messages"]`` (the reply included), checks the store and the ids at once,
    and by default schedules the extraction on ``machine.runner`` keyed by thread and returns
    ``{}`` immediately, so the turn's latency does not change. Sync graphs run the job on a
    worker thread (sync store calls); async graphs as a task on their loop (``abatch``). The job
    never touches the LangGraph run, which is over by then; it writes only to the store. This
    package's batches on a plain ``InMemoryStore`` of a sync graph then take a lock, as it is
    not thread-safe (your own calls to it do not: use ``open_store(":memory:")``'s store, which
    locks every call).

    When the next turn of the same thread starts before the extraction finished, recall proceeds
    without it by default (``LearningMachine(wait_for_extraction_s=0)``); with
    ``wait_for_extraction_s > 0`` recall first waits up to that long for this process's pending
    job of the thread. Call ``machine.flush()`` / ``await machine.aflush()`` in tests and before
    exit (an ``atexit`` hook also flushes sync jobs, bounded).

    Args:
        model: the extraction model, instead of the machine's (a store's own model still wins).
        background: ``False`` extracts inside the node (tests, scripts); ``machine.background``
            when omitted. Failures are logged either way, never raised into the turn.
        name: the node name used in error messages.

    Raises:
        ValueError: no extraction model (pass ``model=`` or ``LearningMachine(model=...)``).
        StoreUnavailableError: (at run time) the graph was compiled without a store.
        MissingScopeError: (at run time) a store needs a user or thread id the run lacks.
    """
    stores = extraction_stores(machine)
    if stores:
        resolve_models(machine, stores, model)
    else:
        logger.warning(
            "%s: no store is in ALWAYS or PROPOSE mode, so this extraction node does nothing.", name
        )

    def learn(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        if stores:
            store, scope = current_run(name, config)
            messages = state.get("messages") or []
            schedule_extraction(machine, store, scope, messages, model=model, background=background)
        return {}

    async def alearn(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        if stores:
            store, scope = current_run(name, config)
            messages = state.get("messages") or []
            await aschedule_extraction(
                machine, store, scope, messages, model=model, background=background
            )
        return {}

    return GraphNode(learn, alearn, name)
