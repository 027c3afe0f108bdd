"""The decision log's tools: ``log_decision``, ``record_outcome`` and ``search_decisions``."""

from __future__ import annotations

from pydantic import Field

from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.prompts import decision_lines, quote
from agno_learn_langgraph.records import Decision
from agno_learn_langgraph.stores import decision_log
from agno_learn_langgraph.tools.spec import Args, Call, ToolSpec, kind_of, plural

__all__ = ["DECISION_TOOLS"]

DECISIONS = kind_of(decision_log)


class _LogDecisionArgs(Args):
    decision: str = Field(description="What was decided, in one sentence.")
    reasoning: str | None = Field(default=None, description="Why this option was chosen.")
    decision_type: str | None = Field(
        default=None, description="A category, e.g. 'tool_selection', 'approach', 'escalation'."
    )
    context: str | None = Field(default=None, description="The situation that called for it.")
    alternatives: list[str] = Field(default_factory=list, description="Options not chosen.")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How sure you are, from 0 to 1."
    )


def _log_decision(call: Call, a: _LogDecisionArgs) -> Plan[str]:
    decision = Decision(**a.model_dump(), provenance=call.provenance)
    saved = yield from decision_log.log_decision(call.scope.agent_id, decision)
    return f"Logged decision {saved.id}: {quote(saved.decision)}"


class _RecordOutcomeArgs(Args):
    decision_id: str = Field(
        description=f"Id ({DECISIONS.id_prefix}...) that log_decision returned."
    )
    outcome: str = Field(description="What happened as a result.")
    outcome_quality: str | None = Field(
        default=None, description="How it turned out: 'good', 'bad' or 'mixed'."
    )


def _record_outcome(call: Call, a: _RecordOutcomeArgs) -> Plan[str]:
    d = yield from decision_log.record_outcome(
        call.scope.agent_id,
        a.decision_id,
        a.outcome,
        call.provenance,
        outcome_quality=a.outcome_quality,
    )
    quality = f" ({d.outcome_quality})" if d.outcome_quality else ""
    return f"Recorded the outcome of {d.id}{quality}: {quote(d.outcome)}"


class _SearchDecisionsArgs(Args):
    query: str | None = Field(default=None, description="Words to look for; omit for the newest.")
    decision_type: str | None = Field(default=None, description="Only decisions of this type.")
    days: float | None = Field(
        default=None, ge=0, description="Only decisions from the last this many days."
    )
    limit: int = Field(default=5, ge=1, le=20, description="How many decisions to return.")


def _search_decisions(call: Call, a: _SearchDecisionsArgs) -> Plan[str]:
    found = yield from decision_log.search_decisions(
        call.scope.agent_id, **a.model_dump(), **call.rank
    )
    if not found:
        return "No matching decisions found."
    return "\n".join(
        [f"Found {plural(len(found), 'decision')}:", *decision_lines(found, dated=True)]
    )


DECISION_TOOLS = (
    ToolSpec(
        "log_decision",
        DECISIONS.name,
        "Log a significant decision with its reasoning and the alternatives considered. "
        "Returns the decision id for record_outcome.",
        _LogDecisionArgs,
        _log_decision,
    ),
    ToolSpec(
        "record_outcome",
        DECISIONS.name,
        "Record how a logged decision turned out, by its id.",
        _RecordOutcomeArgs,
        _record_outcome,
    ),
    ToolSpec(
        "search_decisions",
        DECISIONS.name,
        "Search past decisions and their outcomes by text, type and age, newest first.",
        _SearchDecisionsArgs,
        _search_decisions,
        read_only=True,
    ),
)
