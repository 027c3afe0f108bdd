"""Deciding one proposal: approve, edit (approve changed content) or reject, at most once.

A decision is a compare-and-set: :func:`plan_decide` reads the proposal, checks it is still
``proposed``, writes the approved content and the decided proposal (its audit event appended to
``history``). Every door runs it inside ``core.locks.write_lock(*keys)`` with the keys of
:func:`decision_keys` (the API, the CLI) or :func:`review_keys` (the approval node): the lock of
the thread's proposals and of the data the approval writes, held in the store's database too, so
of two deciders in any processes exactly one succeeds and the other finds it decided.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from contextlib import suppress
from typing import Any, Literal

from agno_learn_langgraph.approval.content import format_when, main_field, normalize_content
from agno_learn_langgraph.approval.writers import Write, plan_write
from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.errors import InvalidReviewError, LearningInputError, MissingScopeError
from agno_learn_langgraph.kinds import kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal, Provenance, ReviewEvent, utcnow
from agno_learn_langgraph.scope import DEFAULT_AGENT_ID, Scope
from agno_learn_langgraph.stores import proposals as proposal_store

__all__ = [
    "ALLOWED_DECISIONS",
    "DEFAULT_REVIEWER",
    "DecisionType",
    "decision_keys",
    "edited_content",
    "plan_decide",
    "plan_decision_keys",
    "proposals_lock_key",
    "review_keys",
]

DecisionType = Literal["approve", "edit", "reject"]
ALLOWED_DECISIONS: list[DecisionType] = ["approve", "edit", "reject"]
DEFAULT_REVIEWER = "human"
"""Recorded as the reviewer when a resume names none."""


def proposals_lock_key(thread_id: str | None) -> tuple[str, str | None]:
    """The lock every decider of the thread's proposals holds (``None``: proposals of no thread)."""
    return ("proposals", thread_id)


def _target(machine: LearningMachine | None, proposal: Proposal) -> tuple[Scope, str]:
    """The scope and namespace an approved proposal is written with."""
    scope = Scope(
        user_id=proposal.user_id,
        thread_id=proposal.thread_id,
        agent_id=proposal.agent_id or DEFAULT_AGENT_ID,
    )
    return scope, proposal.namespace or (machine.namespace if machine else "global")


def decision_keys(proposal: Proposal, machine: LearningMachine | None = None) -> list[Hashable]:
    """The write locks deciding ``proposal`` holds: its thread's proposals and the target data."""
    scope, namespace = _target(machine, proposal)
    keys: list[Hashable] = [proposals_lock_key(proposal.thread_id)]
    with suppress(MissingScopeError):  # such a proposal cannot be approved; deciding says why
        keys.append(kind(proposal.store).data_key(scope, namespace))
    return keys


def plan_decision_keys(
    proposal_id: str, machine: LearningMachine | None = None
) -> Plan[list[Hashable]]:
    """Read the proposal (unlocked) and return its :func:`decision_keys` (``[]`` if unknown)."""
    proposal = yield from proposal_store.get_proposal(proposal_id)
    return decision_keys(proposal, machine) if proposal else []


def review_keys(machine: LearningMachine | None, scope: Scope) -> list[Hashable]:
    """The write locks of a review of the thread's proposals: the thread's proposals and the
    data of every proposable store of ``machine`` for ``scope`` (what an approval may write)."""
    keys: list[Hashable] = [proposals_lock_key(scope.thread_id)]
    if machine is None:
        return keys
    for name in machine.stores:
        store_kind = kind(name)
        if store_kind.proposable:
            with suppress(MissingScopeError):
                keys.append(store_kind.data_key(scope, machine.namespace_for(name)))
    return keys


def _apply(
    machine: LearningMachine | None, proposal: Proposal, content: Mapping[str, Any]
) -> Plan[str]:
    """Write an approved proposal's content to its store (idempotently); returns the record id."""
    provenance = Provenance(
        mode="propose",
        proposal_id=proposal.id,
        thread_id=proposal.thread_id,
        agent_id=proposal.agent_id,
        user_id=proposal.user_id,
    )
    scope, namespace = _target(machine, proposal)
    write = Write(proposal.store, content, provenance, scope, namespace, machine)
    return (yield from plan_write(write))


def _decided_message(proposal: Proposal) -> str:
    return (
        f"Proposal {proposal.id!r} was already {proposal.status} by "
        f"{proposal.reviewer or 'an unknown reviewer'} at {format_when(proposal.decided_at)}; "
        "only proposals with status 'proposed' can be decided."
    )


def plan_decide(
    proposal_id: str,
    decision: DecisionType,
    *,
    reviewer: str,
    content: Mapping[str, Any] | None = None,
    reason: str | None = None,
    machine: LearningMachine | None = None,
    strict: bool = True,
) -> Plan[tuple[Proposal, bool]]:
    """Approve, edit (approve with ``content`` changes merged in) or reject one proposal.

    Returns ``(proposal, decided)``; ``decided`` is ``False`` when ``strict=False`` and the
    proposal was decided already (left as it is). Approval writes the (edited) content to its
    store before marking the proposal, so a crash in between is healed by deciding again. Run it
    inside ``write_lock(*decision_keys(...))`` (see the module docstring): the read, the check
    and the writes are then one step for every other decider.

    Raises:
        InvalidReviewError: unknown id, an empty or invalid edit, or (``strict``) a proposal
            that was decided already.
    """
    reviewer = (reviewer or "").strip() or DEFAULT_REVIEWER
    proposal = yield from proposal_store.get_proposal(proposal_id)
    if proposal is None:
        raise InvalidReviewError(
            f"No proposal with id {proposal_id!r}; list them with list_pending_proposals()."
        )
    if proposal.status != "proposed":
        if strict:
            raise InvalidReviewError(_decided_message(proposal))
        return proposal, False
    now = utcnow()
    if decision == "reject":
        event = ReviewEvent(action="reject", by=reviewer, at=now, reason=reason or None)
        update: dict[str, Any] = {"status": "rejected", "reason": reason or None}
    else:
        new_content, changes = proposal.content, None
        if decision == "edit":
            new_content, changes = edited_content(proposal, content, machine)
        applied_id = yield from _apply(machine, proposal, new_content)
        event = ReviewEvent(action=decision, by=reviewer, at=now, changes=changes)
        update = {"status": "approved", "content": new_content, "applied_id": applied_id}
    decided = proposal.model_copy(
        update={
            **update,
            "reviewer": reviewer,
            "decided_at": now,
            "history": [*proposal.history, event],
        }
    )
    yield from proposal_store.save_proposal(decided)
    return decided, True


def edited_content(
    proposal: Proposal, changes: Mapping[str, Any] | None, machine: LearningMachine | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The edited content and ``{field: {"from": old, "to": new}}`` for what changed.

    Raises:
        InvalidReviewError: empty changes, or content the store refuses.
    """
    if not changes:
        raise InvalidReviewError(
            f"The edit of proposal {proposal.id!r} has empty content; pass the changed fields, "
            f"e.g. {{{main_field(proposal.store)!r}: '...'}}, or approve it unchanged."
        )
    try:
        new = normalize_content(proposal.store, {**proposal.content, **changes}, machine)
    except LearningInputError as exc:
        raise InvalidReviewError(
            f"The edit of proposal {proposal.id!r} is invalid: {exc}"
        ) from None
    diff = {
        k: {"from": proposal.content.get(k), "to": v}
        for k, v in new.items()
        if proposal.content.get(k) != v
    }
    return new, diff
