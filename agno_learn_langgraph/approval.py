"""PROPOSE mode: proposals, the approval node and the review API (being implemented)."""

from __future__ import annotations

from typing import Any, Literal

from agno_learn_langgraph.config import LearningMachine, StoreName
from agno_learn_langgraph.records import Proposal, WriterMode
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.base import Plan

ProposeOutcome = Literal["created", "duplicate_pending", "previously_rejected"]


def plan_propose(
    machine: LearningMachine,
    scope: Scope,
    *,
    store: StoreName,
    content: dict[str, Any],
    rationale: str,
    proposed_by: WriterMode = "propose",
) -> Plan[tuple[Proposal, ProposeOutcome]]:
    """Store a learning for ``store`` with ``status="proposed"`` (stub: see issue 5)."""
    raise NotImplementedError
    yield  # pragma: no cover
