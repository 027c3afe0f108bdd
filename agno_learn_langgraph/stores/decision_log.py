"""The decision-log store: one item per decision of an agent, found by id however many there are."""

from __future__ import annotations

import heapq
from datetime import timedelta
from typing import Any

from langgraph.store.base import GetOp
from typing_extensions import Unpack

from agno_learn_langgraph.core import ROOT, Plan, as_item, encode_label, lookup_key, put
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.index import INDEX_SCAN_LIMIT, ranked_namespace
from agno_learn_langgraph.index.fusion import RankBy, rank_namespace
from agno_learn_langgraph.index.lexical import TextQuery
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import Decision, Provenance, normalize_text, utcnow

__all__ = [
    "NAME",
    "decision_namespace",
    "decision_text",
    "decision_type_key",
    "log_decision",
    "recent_decisions",
    "record_outcome",
    "relevant_decisions",
    "search_decisions",
]

NAME: StoreName = "decision_log"
"""The store this module holds (its config key and namespace label)."""


def decision_namespace(agent_id: str) -> tuple[str, ...]:
    """``("learning", "decision_log", <agent>)``."""
    return (ROOT, NAME, encode_label(agent_id))


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
    (item,) = yield [GetOp(ns, lookup_key(decision_id))]
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
    index = yield from ranked_namespace(decision_namespace(agent_id))
    newest = heapq.nlargest(limit, index.newest(), key=lambda v: v.get("created_ts") or 0.0)
    return [Decision.model_validate(value) for value in newest]


def relevant_decisions(
    agent_id: str,
    query: TextQuery,
    *,
    limit: int,
    **how: Unpack[RankBy],
) -> Plan[list[Decision]]:
    """The agent's decisions relevant to ``query`` (see ``index.fusion``), then its newest, up
    to ``limit``: the recent decisions stay in view whatever the message."""
    if limit <= 0:
        return []
    ranked = yield from rank_namespace(
        decision_namespace(agent_id),
        query,
        limit=limit,
        key_of=lambda value: str(value["id"]),
        **how,
    )
    found = {str(v["id"]): v for v in ranked.values}
    for value in heapq.nlargest(limit, ranked.index.newest(), key=_created):
        if len(found) >= limit:
            break
        found.setdefault(str(value["id"]), value)
    return [Decision.model_validate(value) for value in found.values()]


def _created(value: dict[str, Any]) -> float:
    return float(value.get("created_ts") or 0.0)


def search_decisions(
    agent_id: str,
    *,
    query: str | None = None,
    decision_type: str | None = None,
    days: float | None = None,
    limit: int = 5,
    **how: Unpack[RankBy],
) -> Plan[list[Decision]]:
    """Decisions filtered by type and age (days back from now), the most relevant to ``query``
    first (ranked as recall ranks, see ``index.fusion``), else the newest.

    Raises:
        LearningInputError: ``days`` is negative.
    """
    if days is not None and days < 0:
        raise LearningInputError(f"days must be 0 or more, got {days!r}.")
    kind = decision_type_key(decision_type)
    since = (utcnow() - timedelta(days=days)).timestamp() if days is not None else None

    def wanted(value: dict[str, Any]) -> bool:
        if kind and value.get("decision_type") != kind:
            return False
        return since is None or (value.get("created_ts") or 0.0) >= since

    ns = decision_namespace(agent_id)
    if query and query.strip():
        filtered = kind is not None or since is not None  # then rank all, keep the wanted
        ranked = yield from rank_namespace(
            ns,
            query,
            limit=INDEX_SCAN_LIMIT if filtered else limit,
            key_of=lambda value: str(value["id"]),
            **how,
        )
        found = [v for v in ranked.values if wanted(v)][:limit]
    else:
        index = yield from ranked_namespace(ns, language=how.get("language", "english"))
        found = heapq.nlargest(limit, filter(wanted, index.newest()), key=_created)
    return [Decision.model_validate(value) for value in found]
