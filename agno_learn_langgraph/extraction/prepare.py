"""Prepare: read the thread's cursor, pick the new messages, load what the prompt shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agno_learn_langgraph.core import Plan, gather_plans
from agno_learn_langgraph.extraction.parts import PARTS, ReadRequest
from agno_learn_langgraph.extraction.select import select_claimed_messages, select_new_messages
from agno_learn_langgraph.index.fusion import rank_by
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import (
    Entity,
    LearnedKnowledge,
    Memory,
    SessionContext,
    UserProfile,
)
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.cursors import Claim, claim_messages

__all__ = ["Prepared", "plan_claim", "plan_prepare", "plan_read"]

_QUERY_CHARS = 2000


@dataclass
class Prepared:
    """What one extraction read from the store and the thread (input of ``build_calls``)."""

    transcript: list[tuple[str, str]]
    last_id: str | None
    cursor: str | None
    claim: Claim | None = None
    """The thread's messages this extraction reads (``None``: no thread, or ids, to track)."""
    ids: list[str | None] = field(default_factory=list)
    """The ids of the thread's messages as given, in order (where the cursor may move)."""
    profile: UserProfile | None = None
    memories: list[Memory] = field(default_factory=list)
    session: SessionContext | None = None
    entities: list[Entity] = field(default_factory=list)
    learnings: list[LearnedKnowledge] = field(default_factory=list)


def plan_prepare(
    machine: LearningMachine,
    scope: Scope,
    messages: Sequence[BaseMessage],
    stores: Sequence[StoreName],
    *,
    indexed: bool,
) -> Plan[Prepared]:
    """:func:`plan_claim`, then :func:`plan_read` (run it inside the claim's lock)."""
    prepared = yield from plan_claim(machine, scope, messages)
    return (yield from plan_read(machine, scope, prepared, stores, indexed=indexed))


def plan_claim(
    machine: LearningMachine, scope: Scope, messages: Sequence[BaseMessage]
) -> Plan[Prepared]:
    """Claim the thread's new messages: what the extraction reads (no records loaded yet).

    Messages no other extraction of the thread read or reads now are claimed (see
    ``stores.cursors``): run it inside ``write_lock(cursor_lock_key(thread_id))``. Without a
    thread id (or message ids) every message is new.
    """
    cap = machine.max_messages_per_extraction
    ids = [None if m.id is None else str(m.id) for m in messages]
    if scope.thread_id and any(ids):
        claim = yield from claim_messages(scope.thread_id, ids)
        transcript = select_claimed_messages(messages, claim.ids if claim else (), cap)
        last_id = claim.ids[-1] if claim else None
        prepared = Prepared(transcript, last_id, None, claim=claim, ids=ids)
    else:
        transcript, last_id = select_new_messages(messages, None, cap)
        prepared = Prepared(transcript=transcript, last_id=last_id, cursor=None, ids=ids)
    return prepared


def plan_read(
    machine: LearningMachine,
    scope: Scope,
    prepared: Prepared,
    stores: Sequence[StoreName],
    *,
    indexed: bool,
) -> Plan[Prepared]:
    """Load the records relevant to the claimed messages into ``prepared``, in one batch per
    step for all stores (nothing when there is nothing new). It needs no lock: the claim is
    held, and the writes lock their data when they are applied."""
    transcript = prepared.transcript
    if not transcript:
        return prepared
    request = ReadRequest(
        machine,
        scope,
        " ".join(text for _, text in transcript)[-_QUERY_CHARS:],
        rank_by(indexed, machine.recall_ranking, machine.recall_language),
    )
    parts = [p for p in PARTS if p.store in stores]
    results: list[Any] = yield from gather_plans(*(p.read(request) for p in parts))
    for part, found in zip(parts, results, strict=True):
        if found is not None:
            many = isinstance(getattr(prepared, part.output), list)
            setattr(prepared, part.output, list(found) if many else found)
    return prepared
