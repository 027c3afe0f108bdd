"""The decision-log store: one item per decision of an agent, found by id however many there are."""

from __future__ import annotations

from datetime import timedelta

from langgraph.store.base import GetOp

from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.records import Decision, Provenance, normalize_text, utcnow
from agno_learn_langgraph.stores.base import (
    ROOT,
    Plan,
    as_item,
    as_items,
    encode_label,
    lexical_rank,
    put,
    search_all,
)

__all__ = [
    "decision_namespace",
    "decision_text",
    "decision_type_key",
    "log_decision",
    "recent_decisions",
    "record_outcome",
    "search_decisions",
]


def decision_namespace(agent_id: str) -> tuple[str, ...]:
    """``("learning", "decision_log", <agent>)``."""
    return (ROOT, "decision_log", encode_label(agent_id))


def decision_text(d: Decision) -> str:
    """The text that search ranks a decision by."""
    parts = [d.decision, d.reasoning, d.context, d.outcome, " ".join(d.alternatives)]
    return " ".join(p for p in parts if p)


def decision_type_key(decision_type: str | None) -> str | None:
    """``"Tool Selection"`` -> ``"tool_selection"``; empty -> ``None``."""
    key = "_".join(normalize_text(decision_type or "").split())
    return key or None


def log_decision(agent_id: str, decision: Decision) -> Plan[Decision]:
    """Store a new decision; returns it (with its ``dec_...`` id).

    Raises:
        LearningInputError: the decision text is empty.
    """
    if not decision.decision.strip():
        raise LearningInputError("The decision is empty; describe what was decided.")
    decision = decision.model_copy(
        update={
            "decision": decision.decision.strip(),
            "decision_type": decision_type_key(decision.decision_type),
            "alternatives": [a.strip() for a in decision.alternatives if a and a.strip()],
            "created_ts": decision.created_at.timestamp(),
        }
    )
    yield [
        put(
            decision_namespace(agent_id),
            decision.id,
            decision.model_dump(mode="json"),
            search_text=decision_text(decision),
        )
    ]
    return decision


def record_outcome(
    agent_id: str,
    decision_id: str,
    outcome: str,
    provenance: Provenance,
    *,
    outcome_quality: str | None = None,
) -> Plan[Decision]:
    """Attach an outcome to a decision, looked up directly by id.

    Raises:
        LearningInputError: unknown id or empty outcome.
    """
    if not (outcome or "").strip():
        raise LearningInputError("The outcome is empty; describe what happened.")
    ns = decision_namespace(agent_id)
    (item,) = yield [GetOp(ns, str(decision_id))]
    found = as_item(item)
    if found is None:
        raise LearningInputError(
            f"No decision with id {decision_id!r}; use the id log_decision returned "
            "or find it with search_decisions."
        )
    decision = Decision.model_validate(found.value).model_copy(
        update={
            "outcome": outcome.strip(),
            "outcome_quality": outcome_quality,
            "updated_at": utcnow(),
            "provenance": provenance,
        }
    )
    yield [
        put(ns, decision.id, decision.model_dump(mode="json"), search_text=decision_text(decision))
    ]
    return decision


def recent_decisions(agent_id: str, *, limit: int) -> Plan[list[Decision]]:
    """The agent's newest decisions (by creation time, whatever order the backend lists in)."""
    if limit <= 0:
        return []
    (items,) = yield [search_all(decision_namespace(agent_id))]
    decisions = [Decision.model_validate(it.value) for it in as_items(items)]
    return sorted(decisions, key=lambda d: d.created_ts, reverse=True)[:limit]


def search_decisions(
    agent_id: str,
    *,
    query: str | None = None,
    decision_type: str | None = None,
    days: float | None = None,
    limit: int = 5,
) -> Plan[list[Decision]]:
    """Decisions filtered by type and age (days back from now), ranked by ``query`` text.

    Raises:
        LearningInputError: ``days`` is negative.
    """
    filt: dict[str, object] = {}
    if decision_type_key(decision_type):
        filt["decision_type"] = decision_type_key(decision_type)
    if days is not None:
        if days < 0:
            raise LearningInputError(f"days must be 0 or more, got {days!r}.")
        filt["created_ts"] = {"$gte": (utcnow() - timedelta(days=days)).timestamp()}
    (items,) = yield [search_all(decision_namespace(agent_id), filter=filt or None)]
    decisions = [Decision.model_validate(it.value) for it in as_items(items)]
    decisions.sort(key=lambda d: d.created_ts, reverse=True)
    if query and query.strip():
        return lexical_rank(query, decisions, decision_text, limit=limit)
    return decisions[:limit]
