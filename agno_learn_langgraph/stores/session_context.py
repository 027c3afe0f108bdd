"""The session-context store: one running summary (and optional goal/plan/progress) per thread."""

from __future__ import annotations

from agno_learn_langgraph.core import ROOT, Plan, encode_label, get_one, put
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import Provenance, SessionContext, utcnow

__all__ = [
    "CONTEXT_KEY",
    "NAME",
    "get_session_context",
    "save_session_context",
    "session_namespace",
]

NAME: StoreName = "session_context"
"""The store this module holds (its config key and namespace label)."""

CONTEXT_KEY = "context"


def session_namespace(thread_id: str) -> tuple[str, ...]:
    """``("learning", "session_context", <thread>)``."""
    return (ROOT, NAME, encode_label(thread_id))


def get_session_context(thread_id: str) -> Plan[SessionContext | None]:
    """The thread's context, or ``None``."""
    item = yield from get_one(session_namespace(thread_id), CONTEXT_KEY)
    return SessionContext.model_validate(item.value) if item else None


def save_session_context(
    thread_id: str,
    provenance: Provenance,
    *,
    summary: str | None = None,
    goal: str | None = None,
    plan: list[str] | None = None,
    progress: list[str] | None = None,
) -> Plan[SessionContext]:
    """Replace the summary; goal, plan and progress left as ``None`` keep their previous value."""
    previous = yield from get_session_context(thread_id)
    base = previous or SessionContext(thread_id=thread_id)
    context = base.model_copy(
        update={
            "summary": summary.strip() if summary is not None else base.summary,
            "goal": goal if goal is not None else base.goal,
            "plan": plan if plan is not None else base.plan,
            "progress": progress if progress is not None else base.progress,
            "updated_at": utcnow(),
            "provenance": provenance,
        }
    )
    yield [put(session_namespace(thread_id), CONTEXT_KEY, context.model_dump(mode="json"))]
    return context
