"""Proposals: learnings stored with ``status="proposed"`` until a human approves or rejects them.

All proposals live in one namespace, ``("learning", "proposals")``, so a reviewer can list the
pending ones across threads and users with a single filtered search. Rejected proposals stay
there for audit.
"""

from __future__ import annotations

from typing import Any

from langgraph.store.base import GetOp

from agno_learn_langgraph.records import Proposal, Status
from agno_learn_langgraph.stores.base import ROOT, Plan, put, search_all

__all__ = [
    "PROPOSALS_NAMESPACE",
    "find_same_proposal",
    "get_proposal",
    "list_proposals",
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
    store: str | None = None,
    limit: int = 10_000,
) -> Plan[list[Proposal]]:
    """Proposals matching every given filter, oldest first."""
    filt = _filter(status=status, thread_id=thread_id, user_id=user_id, store=store)
    (items,) = yield [search_all(PROPOSALS_NAMESPACE, filter=filt, limit=limit)]
    proposals = [Proposal.model_validate(it.value) for it in items]  # type: ignore[union-attr]
    return sorted(proposals, key=lambda p: (p.created_at, p.id))


def get_proposal(proposal_id: str) -> Plan[Proposal | None]:
    """One proposal by id."""
    (item,) = yield [GetOp(PROPOSALS_NAMESPACE, str(proposal_id))]
    return Proposal.model_validate(item.value) if item else None  # type: ignore[union-attr]


def find_same_proposal(proposal: Proposal) -> Plan[Proposal | None]:
    """An earlier pending or rejected proposal with the same store, target and content."""
    filt = _filter(fingerprint=proposal.fingerprint, store=proposal.store)
    (items,) = yield [search_all(PROPOSALS_NAMESPACE, filter=filt, limit=50)]
    for item in items:  # type: ignore[union-attr]
        other = Proposal.model_validate(item.value)
        same_target = (other.namespace, other.user_id if other.namespace == "user" else None) == (
            proposal.namespace, proposal.user_id if proposal.namespace == "user" else None
        )
        if same_target and other.status in ("proposed", "rejected"):
            return other
    return None


def save_proposal(proposal: Proposal) -> Plan[Proposal]:
    """Write (or overwrite) a proposal."""
    yield [put(PROPOSALS_NAMESPACE, proposal.id, proposal.model_dump(mode="json"))]
    return proposal
