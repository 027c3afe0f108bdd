"""No extraction is lost to a dying worker: the outbox around each background extraction.

A turn that schedules its extraction in the background first records it in the store's outbox
(:func:`record_pending`, one ``PutOp``; see :mod:`agno_learn_langgraph.stores.outbox`); the job
deletes the record once the extraction's writes are applied (:func:`recorded_steps`). A worker
killed in between (SIGKILL, a redeploy) leaves the record, and :func:`recover_pending_extractions`
(run by any live worker's periodic sweep, by ``learning_lifespan`` at server start, or by you)
claims it once its lease ran out, runs the extraction from the stored messages and deletes it;
the thread needs no new turn.

A turn is learned from only once its checkpoint is saved: the record is written when the turn
schedules its extraction, before LangGraph saves the step, so the job first waits (up to half of
``recovery_grace_s``) until the thread's latest checkpoint holds the turn's last message, and
drops the turn unlearned if it never does. The job finds the graph's checkpointer through
``compat.run_checkpointer`` (no public API offers it to a node). Limits: that check needs a root
graph (a node of a subgraph is not checked) whose state keeps the turn in ``messages``; a
recovery checks only when given the ``checkpointer`` (the runner's sweep passes the running
graph's; ``learning_lifespan`` has none, so a worker killed before its checkpoint was saved may
still be learned from there). A newer turn's record put in the instant between a completion's
read and its delete is lost with it (the newer turn's own job still runs in its worker; only that
worker's death in the same window would lose it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, messages_from_dict
from langgraph.config import get_config
from langgraph.store.base import BaseStore

from agno_learn_langgraph.compat import run_checkpointer
from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.core.steps import (
    Step,
    Steps,
    arun_steps,
    locked,
    plan_step,
    run_steps,
    shells,
    sleep,
    step,
)
from agno_learn_langgraph.extraction.apply import ExtractionReport
from agno_learn_langgraph.extraction.calls import ExtractionFailedError
from agno_learn_langgraph.extraction.select import conversation_entry, extraction_stores
from agno_learn_langgraph.machine import LearningMachine, install_recovery
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.cursors import cursor_lock_key, get_cursor, take_over_claims
from agno_learn_langgraph.stores.outbox import (
    OutboxRecord,
    claim_record,
    complete_record,
    due_records,
    new_record,
    outbox_lock_key,
    record_turn,
    worker_id,
)

__all__ = [
    "SWEEP_KEY",
    "SWEEP_LIMIT",
    "Job",
    "arecord_pending",
    "arecover_pending_extractions",
    "checkpoint_saved_steps",
    "current_checkpointer",
    "machine_signature",
    "pending_window",
    "record_pending",
    "record_pending_steps",
    "recorded_steps",
    "recover_pending_extractions",
    "submitted",
    "sweep_steps",
]

logger = logging.getLogger(__name__)

SWEEP_KEY = ("agno-learn", "outbox-sweep")
"""The background runner's key of the periodic recovery sweep."""
SWEEP_LIMIT = 20
"""Most records one sweep takes over (the rest wait for the next sweep)."""


def pending_window(messages: Sequence[BaseMessage], cap: int) -> list[BaseMessage]:
    """The newest messages holding the ``cap`` newest conversation entries (``cap <= 0``: all).

    What ``select_new_messages`` reads of them is what it reads of the whole thread, whatever the
    cursor. Messages extraction reads keep their role, content and id; the others (tool results,
    tool-call-only replies, system messages) keep only their id, so the cursor still finds them,
    and are left out without one.
    """
    return messages_from_dict(_window_dicts(messages, cap))


def _window_dicts(messages: Sequence[BaseMessage], cap: int) -> list[dict[str, Any]]:
    """:func:`pending_window` in ``messages_to_dict``'s format (what the record stores)."""
    entries: list[tuple[int, str]] = []
    for i in range(len(messages) - 1, -1, -1):
        entry = conversation_entry(messages[i])
        if entry is not None:
            entries.append((i, entry[0]))
            if cap > 0 and len(entries) == cap:
                break
    start = entries[-1][0] if cap > 0 and len(entries) == cap else 0
    roles = dict(entries)
    out: list[dict[str, Any]] = []
    for i in range(start, len(messages)):
        message = messages[i]
        if i in roles:
            data = {"content": message.content, "id": message.id}
            out.append({"type": "human" if roles[i] == "user" else "ai", "data": data})
        elif message.id:
            out.append({"type": "ai", "data": {"content": "", "id": message.id}})
    return out


def machine_signature(machine: LearningMachine) -> str:
    """What a worker must extract to take a record over: the extracting stores and their
    namespaces (graphs with other machines sharing the store leave each other's records alone)."""
    stores = extraction_stores(machine)
    return ",".join(
        f"{s}:{machine.stores[s].mode.value}@{machine.namespace_for(s)}" for s in stores
    )


def _new_record(
    machine: LearningMachine, scope: Scope, messages: Sequence[BaseMessage]
) -> OutboxRecord:
    window = _window_dicts(messages, machine.max_messages_per_extraction)
    signature = machine_signature(machine)
    return new_record(scope, window, machine=signature, grace_s=machine.recovery_grace())


@dataclass(frozen=True)
class Job:
    """One turn's extraction: what it learns from, and (background work) its outbox record.

    Attributes:
        model: replaces the machine's model (a store config's own model still wins).
        record: the turn's outbox record, deleted once the writes are applied (``None``: the
            job was not recorded, or is not background work).
        verify: (a taken-over record) delete it only when the thread's cursor covers it.
        checkpointer: the graph's; the turn is learned from only once the thread's checkpoint
            holds its last message (waiting up to ``wait_s``), else the record is dropped.
    """

    machine: LearningMachine
    store: BaseStore
    scope: Scope
    messages: Sequence[BaseMessage]
    model: BaseChatModel | None = None
    record: OutboxRecord | None = None
    verify: bool = False
    checkpointer: Any | None = None
    wait_s: float = 0.0


def record_pending_steps(job: Job) -> Steps[OutboxRecord | None]:
    """Record the job in the outbox (one ``PutOp``); ``None`` if that failed.

    A store error is logged, not raised: the turn goes on, the extraction runs in memory only.
    """
    try:
        record = _new_record(job.machine, job.scope, job.messages)
        yield plan_step(job.store, record_turn(record))
    except Exception:
        logger.warning(
            "Recording the pending extraction failed; it runs in memory only.", exc_info=True
        )
        return None
    return record


def record_pending(
    machine: LearningMachine, store: BaseStore, scope: Scope, messages: Sequence[BaseMessage]
) -> OutboxRecord | None:
    """Record the turn's pending extraction (see :func:`record_pending_steps`)."""
    return run_steps(record_pending_steps(Job(machine, store, scope, messages)))


async def arecord_pending(
    machine: LearningMachine, store: BaseStore, scope: Scope, messages: Sequence[BaseMessage]
) -> OutboxRecord | None:
    """Async twin of :func:`record_pending`."""
    return await arun_steps(record_pending_steps(Job(machine, store, scope, messages)))


def submitted(machine: LearningMachine, key: Hashable, body: Callable[[], Steps[Any]]) -> Step:
    """Hand ``body()``'s steps to ``machine.runner``: a sync run gives them to a worker thread
    (:func:`run_steps`), an async run to a task on the running loop (:func:`arun_steps`)."""
    return step(_submit, _asubmit, machine, key, body)


def _submit(machine: LearningMachine, key: Hashable, body: Callable[[], Steps[Any]]) -> None:
    machine.runner.submit(key, lambda: run_steps(body()))


async def _asubmit(machine: LearningMachine, key: Hashable, body: Callable[[], Steps[Any]]) -> None:
    await machine.runner.asubmit(key, lambda: arun_steps(body()))


# -- running a recorded extraction ------------------------------------------------------------


def _backoff(machine: LearningMachine, attempt: int, exc: BaseException) -> float:
    """Log a failed attempt (0-based) at the extraction's store work; the delay before the next.

    Raises:
        exc: that was the last attempt (the record stays for a later sweep).
    """
    total = machine.max_retries + 1
    logger.warning(
        "Extraction store work failed (attempt %d of %d): %s: %s",
        attempt + 1,
        total,
        type(exc).__name__,
        exc,
    )
    if attempt + 1 >= total:
        raise exc
    return machine.retry_backoff_s * 2**attempt


def raise_if_failed(report: ExtractionReport) -> ExtractionReport:
    """Raise for a failure the runner should log and a later sweep retry.

    A permanent one (a client error retrying cannot fix) was logged once already with its fix:
    it is returned, and its outbox record stays for a sweep after the fix.
    """
    if report.status == "failed" and not report.permanent:
        raise ExtractionFailedError(report.error or "extraction failed")
    return report


def current_checkpointer() -> Any | None:
    """The checkpointer of the running root graph (``None``: none, a subgraph, or no run)."""
    try:
        config = get_config()
    except RuntimeError:
        return None
    return run_checkpointer(config)


def _holds(found: Any, message_id: str) -> bool:
    if found is None:
        return False
    values = found.checkpoint.get("channel_values") or {}
    return any(getattr(m, "id", None) == message_id for m in values.get("messages") or [])


def _turn_to_check(record: OutboxRecord | None, checkpointer: Any) -> tuple[str, str] | None:
    """``(thread, last message id)`` when ``record``'s turn can be checked in ``checkpointer``."""
    if record is None or checkpointer is None or not record.thread_id:
        return None
    last = record.last_id()
    return (record.thread_id, last) if last else None


def checkpoint_saved_steps(
    checkpointer: Any, thread_id: str, message_id: str, timeout: float
) -> Steps[bool]:
    """Whether the thread's latest checkpoint holds ``message_id``, polling up to ``timeout`` s
    (LangGraph saves a step's checkpoint after the node returned)."""
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    deadline, delay = time.monotonic() + timeout, 0.02
    while True:
        if _holds(
            (yield step(checkpointer.get_tuple, checkpointer.aget_tuple, config)), message_id
        ):
            return True
        if time.monotonic() >= deadline:
            return False
        yield sleep(delay)
        delay = min(delay * 2, 1.0)


_UNSAVED = (
    "The checkpoint of thread %r never held the turn's last message %r: the turn was not saved, "
    "so it is not learned from."
)


def _finish(record: OutboxRecord, verify: bool) -> Plan[bool]:
    """Delete the record if it is still its turn's (and, with ``verify``, the cursor covers it)."""
    if verify and record.thread_id:
        cursor = yield from get_cursor(record.thread_id)
        if not record.extracted(cursor):
            logger.info(
                "Pending extraction of %r: messages still unread (claimed elsewhere?); kept "
                "for a later sweep.",
                record.key,
            )
            return False
    return (yield from complete_record(record.key, record.turn))


def recorded_steps(job: Job) -> Steps[tuple[ExtractionReport, bool]]:
    """Extract, retrying store errors like model errors, then delete the job's outbox record.

    Returns the report and whether the extraction ran and deleted its record (see :class:`Job`
    for ``verify``, ``checkpointer`` and ``wait_s``).

    Raises:
        ExtractionFailedError: every model attempt failed (the record stays for a later sweep).
        Exception: the store kept failing (the record stays).
    """
    from agno_learn_langgraph.extraction.node import extraction_steps

    record = job.record
    check = _turn_to_check(record, job.checkpointer)
    if check is not None and record is not None:
        try:
            saved = yield from checkpoint_saved_steps(job.checkpointer, *check, timeout=job.wait_s)
        except Exception:
            logger.warning("Reading the checkpoint failed; extracting anyway.", exc_info=True)
            saved = True
        if not saved:
            logger.warning(_UNSAVED, *check)
            done = complete_record(record.key, record.turn)
            yield locked(job.store, [outbox_lock_key(record.key)], done)
            return ExtractionReport("nothing_new", error="checkpoint not saved"), False
    attempt = 0
    while True:
        try:
            report = raise_if_failed((yield from extraction_steps(job)))
            if record is None or report.status == "failed":  # permanent: kept for a sweep
                return report, False
            finish = _finish(record, job.verify)
            return report, (yield locked(job.store, [outbox_lock_key(record.key)], finish))
        except ExtractionFailedError:
            raise
        except Exception as exc:
            yield sleep(_backoff(job.machine, attempt, exc))
            attempt += 1


# -- recovery ---------------------------------------------------------------------------------


def _mine_and_running(machine: LearningMachine, record: OutboxRecord) -> bool:
    """Whether this process's runner still has the record's job (slow, not dead)."""
    runner = machine._runner
    return record.owner == worker_id() and runner is not None and runner.is_pending(record.key)


def _exhausted(machine: LearningMachine, record: OutboxRecord) -> bool:
    if record.attempts <= machine.max_retries + 1:
        return False
    logger.error(
        "Dropping the pending extraction of %r after %d takeovers failed.",
        record.key,
        record.attempts - 1,
    )
    return True


def _takeover_keys(found: OutboxRecord) -> list[Hashable]:
    """The locks a takeover holds: the record's, and the thread cursor's (its claims)."""
    keys: list[Hashable] = [outbox_lock_key(found.key)]
    return [*keys, cursor_lock_key(found.thread_id)] if found.thread_id else keys


def _take_over(machine: LearningMachine, found: OutboxRecord) -> Plan[OutboxRecord | None]:
    """Claim a due record for this worker, and end the dead worker's claim on its messages
    (else the recovery would find them claimed); ``None`` when there is nothing to run."""
    record = yield from claim_record(found.key, lease_s=machine.recovery_grace())
    if record is None:
        return None
    if _exhausted(machine, record):
        yield from complete_record(record.key, record.turn)
        return None
    if record.thread_id:
        ids = [m.id for m in record.thread_messages()]
        yield from take_over_claims(record.thread_id, ids)
    return record


def _ready(machine: LearningMachine, model: BaseChatModel | None) -> bool:
    stores = extraction_stores(machine)
    if not stores:
        return False
    from agno_learn_langgraph.extraction.calls import resolve_models

    try:
        resolve_models(machine, stores, model or machine.recovery_model)
    except ValueError:
        logger.info("Pending extractions are not recovered yet: the machine has no model.")
        return False
    return True


def _recover_steps(
    machine: LearningMachine,
    store: BaseStore,
    *,
    model: BaseChatModel | None = None,
    limit: int = SWEEP_LIMIT,
    checkpointer: Any | None = None,
) -> Steps[int]:
    """Complete the pending extractions whose worker died (their lease ran out); how many.

    One search of the outbox; each due record is claimed under its write lock (so exactly one
    worker of any process takes it), extracted from its stored messages and deleted. Failures
    are logged and leave the record for a later sweep (dropped after the machine's retries).
    With the graph's ``checkpointer``, a turn its checkpoint does not hold is dropped unlearned.
    """
    if not _ready(machine, model):
        return 0
    model = model or machine.recovery_model
    done = 0
    for found in (yield plan_step(store, due_records(machine_signature(machine), limit=limit))):
        if _mine_and_running(machine, found):
            continue
        try:
            record = yield locked(store, _takeover_keys(found), _take_over(machine, found))
            if record is not None:
                job = Job(machine, store, record.scope, record.thread_messages(), model,
                          record=record, verify=True, checkpointer=checkpointer)  # fmt: skip
                done += (yield from recorded_steps(job))[1]
        except Exception:
            logger.exception("Recovering the pending extraction of %r failed.", found.key)
    return done


recover_pending_extractions, arecover_pending_extractions = shells(
    _recover_steps, "recover_pending_extractions"
)


# -- the periodic sweep -----------------------------------------------------------------------


def _sweep_due(machine: LearningMachine, model: BaseChatModel | None) -> bool:
    """Whether this machine's periodic sweep should run now (and note that it does)."""
    if model is not None:
        machine.recovery_model = model
    now = time.monotonic()
    with machine._runner_lock:
        if now - machine._last_sweep < machine.recovery_interval_s:
            return False
        machine._last_sweep = now
    return True


def sweep_steps(
    machine: LearningMachine, store: BaseStore, model: BaseChatModel | None
) -> Steps[None]:
    """Hand the runner a recovery sweep when the last one is ``recovery_interval_s`` old."""
    if _sweep_due(machine, model):
        saver = current_checkpointer()
        yield submitted(
            machine,
            SWEEP_KEY,
            lambda: _recover_steps(machine, store, model=model, checkpointer=saver),
        )


install_recovery(recover_pending_extractions, arecover_pending_extractions)
