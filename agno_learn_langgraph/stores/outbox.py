"""The extraction outbox: each thread's pending ALWAYS extraction, recorded durably in the store.

When a turn schedules its extraction, :func:`record_turn` puts one record per thread
(``("learning", "outbox")``, key = the thread) holding the scope ids, the messages the extraction
will read (serialised with ``messages_to_dict``), the time and a lease: the worker that wrote it,
and ``due``, the epoch second after which any worker may take the work over. A newer turn of the
thread replaces the record (its messages include the older turn's). The job that runs the
extraction deletes the record once the extraction's writes are applied (:func:`complete_record`,
which leaves a newer turn's record alone); a worker killed before that leaves it, and
:func:`claim_record` lets another worker take it over once ``due`` passed, with a fresh lease.

Claims and completions are read-modify-writes: run them inside
``write_lock(outbox_lock_key(thread))``, so the read and the write are one step for every process
(see ``core.locks``). Recording is one unlocked ``PutOp``: it only ever adds the newest turn.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, messages_from_dict
from langgraph.store.base import PutOp
from pydantic import BaseModel, Field

from agno_learn_langgraph.core import ROOT
from agno_learn_langgraph.core.plans import Plan, as_items, get_one, search_all
from agno_learn_langgraph.scope import DEFAULT_AGENT_ID, Scope

__all__ = [
    "OUTBOX_NAMESPACE",
    "OutboxRecord",
    "claim_record",
    "complete_record",
    "due_records",
    "get_record",
    "new_record",
    "outbox_lock_key",
    "record_turn",
    "thread_key",
    "worker_id",
]

OUTBOX_NAMESPACE = (ROOT, "outbox")

_WORKER: dict[int, str] = {}


def worker_id() -> str:
    """This process's id in leases: host, pid and a random part (new after a fork)."""
    pid = os.getpid()
    if pid not in _WORKER:
        _WORKER[pid] = f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"
    return _WORKER[pid]


def thread_key(scope: Scope) -> str:
    """The outbox key of a scope's work (and the background runner's key): its thread, or
    ``user:<id>`` for a run without a thread."""
    return scope.thread_id or f"user:{scope.user_id or ''}"


def outbox_lock_key(key: str) -> tuple[str, str]:
    """The write lock that claims and completions of ``key``'s record run in."""
    return ("extraction_outbox", key)


class OutboxRecord(BaseModel):
    """One thread's pending extraction."""

    key: str
    machine: str = ""
    """Which extraction set-up the work is for (see ``extraction.recovery.machine_signature``)."""
    user_id: str | None = None
    thread_id: str | None = None
    agent_id: str = DEFAULT_AGENT_ID
    turn: str = Field(default_factory=lambda: uuid.uuid4().hex)
    """Unique per recorded turn: a completion deletes the record only while it is its turn's."""
    messages: list[dict[str, Any]] = Field(default_factory=list)
    created: float = 0.0
    owner: str = ""
    due: float = 0.0
    """Epoch seconds after which another worker may take the work over."""
    attempts: int = 0
    """Takeovers so far (a record failing every time is dropped after the machine's retries)."""

    @property
    def scope(self) -> Scope:
        """The scope the extraction runs in."""
        return Scope(user_id=self.user_id, thread_id=self.thread_id, agent_id=self.agent_id)

    def _ids(self) -> list[str]:
        return [str(i) for m in self.messages if (i := m.get("data", {}).get("id"))]

    def last_id(self) -> str | None:
        """The id of the last stored message (the turn's reply, as a rule)."""
        ids = self._ids()
        return ids[-1] if ids else None

    def extracted(self, cursor: str | None) -> bool:
        """Whether a thread cursor at ``cursor`` covers the stored messages: at the last of them
        or past them (an id the record does not hold); a cursor among the earlier ones, or none,
        means some are unread (e.g. still claimed by an extraction that died)."""
        ids = self._ids()
        if cursor is None:
            return not ids
        return cursor not in ids[:-1]

    def thread_messages(self) -> list[BaseMessage]:
        """The stored messages, deserialised."""
        return messages_from_dict(self.messages)


def _has_nul(message: dict[str, Any]) -> bool:
    return "\x00" in str(message.get("data", {}).get("content", ""))


def _clean(value: Any) -> Any:
    """``value`` with NUL characters replaced (PostgreSQL's jsonb cannot hold them)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def new_record(
    scope: Scope,
    messages: Sequence[dict[str, Any]],
    *,
    machine: str,
    grace_s: float,
    now: float | None = None,
) -> OutboxRecord:
    """The record of a turn whose extraction this worker is about to run.

    ``messages`` is what the extraction reads, as ``messages_to_dict`` gives it.
    """
    now = time.time() if now is None else now
    return OutboxRecord.model_construct(  # the hot path: the fields are right by construction
        key=thread_key(scope),
        machine=machine,
        user_id=scope.user_id,
        thread_id=scope.thread_id,
        agent_id=scope.agent_id,
        turn=uuid.uuid4().hex,
        messages=_clean(messages) if any(_has_nul(m) for m in messages) else list(messages),
        created=now,
        owner=worker_id(),
        due=now + grace_s,
        attempts=0,
    )


def _put(record: OutboxRecord) -> PutOp:
    value = {name: getattr(record, name) for name in OutboxRecord.model_fields}
    return PutOp(OUTBOX_NAMESPACE, record.key, value, index=False)


def record_turn(record: OutboxRecord) -> Plan[None]:
    """Put ``record`` (one ``PutOp``), replacing the thread's older pending turn."""
    yield [_put(record)]


def get_record(key: str) -> Plan[OutboxRecord | None]:
    """The pending record of ``key`` (a thread), or ``None``."""
    item = yield from get_one(OUTBOX_NAMESPACE, key)
    return OutboxRecord.model_validate(item.value) if item else None


def due_records(
    machine: str, *, now: float | None = None, limit: int = 20
) -> Plan[list[OutboxRecord]]:
    """Up to ``limit`` records of ``machine`` whose lease ran out (one search of the outbox)."""
    now = time.time() if now is None else now
    where = {"machine": machine, "due": {"$lt": now}}
    (found,) = yield [search_all(OUTBOX_NAMESPACE, filter=where, limit=limit)]
    records = [OutboxRecord.model_validate(item.value) for item in as_items(found)]
    return sorted(records, key=lambda r: r.due)


def claim_record(
    key: str, *, lease_s: float, owner: str | None = None, now: float | None = None
) -> Plan[OutboxRecord | None]:
    """Take ``key``'s record over when its lease ran out: a new lease for ``owner``.

    Returns the claimed record, or ``None`` when it is gone or another worker's lease holds.
    """
    now = time.time() if now is None else now
    record = yield from get_record(key)
    if record is None or record.due > now:
        return None
    claimed = record.model_copy(
        update={
            "owner": owner or worker_id(),
            "due": now + lease_s,
            "attempts": record.attempts + 1,
        }
    )
    yield [_put(claimed)]
    return claimed


def complete_record(key: str, turn: str) -> Plan[bool]:
    """Delete ``key``'s record if it is still ``turn``'s (a newer turn's record stays).

    Returns whether a record was deleted.
    """
    record = yield from get_record(key)
    if record is None or record.turn != turn:
        return False
    yield [PutOp(OUTBOX_NAMESPACE, key, None)]
    return True
