"""Proposals: learnings stored with ``status="proposed"`` until a human approves or rejects them.

All proposals live in one namespace, ``("learning", "proposals")``, so a reviewer can list the
pending ones across threads and users with a single filtered search. Rejected proposals stay
there for audit.
"""

from __future__ import annotations

from typing import Any

from langgraph.store.base import GetOp

from agno_learn_langgraph.core import ROOT, SCAN_LIMIT, Plan, lookup_key, put, search_all
from agno_learn_langgraph.kinds import kind
from agno_learn_langgraph.records import Proposal, Status

__all__ = [
    "PROPOSALS_NAMESPACE",
    "find_same_proposal",
    "get_proposal",
    "list_proposals",
    "proposal_target",
    "save_proposal",
]

PROPOSALS_NAMESPACE: tuple[str, ...] = (ROOT, "proposals")


def _filter(**fields: Any) -> dict[str, Any] | None:
    found = {k: v for k, v in fields.items() if v is not None}
    return found or None


def list_proposals(
    *,
    status: Status | None = "proposed",
    thread_id: str | None = None,
    user_id: str | None = None,
    target: str | None = None,
    limit: int = SCAN_LIMIT,
) -> Plan[list[Proposal]]:
    """Proposals matching every given filter (``status=None``: any status), oldest first.

    ``target`` is the learning store the proposals are for.
    """
    filt = _filter(status=status, thread_id=thread_id, user_id=user_id, store=target)
    (items,) = yield [search_all(PROPOSALS_NAMESPACE, filter=filt, limit=limit)]
    proposals = [Proposal.model_validate(it.value) for it in items]
    return sorted(proposals, key=lambda p: (p.created_at, p.id))


def get_proposal(proposal_id: str) -> Plan[Proposal | None]:
    """One proposal by id."""
    (item,) = yield [GetOp(PROPOSALS_NAMESPACE, lookup_key(proposal_id))]
    return Proposal.model_validate(item.value) if item else None


def proposal_target(proposal: Proposal) -> tuple[str, str | None, str | None]:
    """Where an approved proposal would land: ``(store name, namespace, user or None)``."""
    per_user = kind(proposal.store).per_user(proposal.namespace)
    return proposal.store, proposal.namespace, proposal.user_id if per_user else None


def find_same_proposal(proposal: Proposal) -> Plan[Proposal | None]:
    """An earlier pending (preferred) or rejected proposal with the same target and content."""
    filt = _filter(fingerprint=proposal.fingerprint, store=proposal.store)
    (items,) = yield [search_all(PROPOSALS_NAMESPACE, filter=filt)]
    target = proposal_target(proposal)
    same = [
        other
        for other in (Proposal.model_validate(it.value) for it in items)
        if other.id != proposal.id
        and proposal_target(other) == target
        and other.status in ("proposed", "rejected")
    ]
    same.sort(key=lambda p: (p.status != "proposed", p.created_at))
    return same[0] if same else None


def save_proposal(proposal: Proposal) -> Plan[Proposal]:
    """Write (or overwrite) a proposal."""
    yield [put(PROPOSALS_NAMESPACE, proposal.id, proposal.model_dump(mode="json"))]
    return proposal
