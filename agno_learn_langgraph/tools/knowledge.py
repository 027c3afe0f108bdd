"""Learned knowledge's tools: ``search_learnings`` and ``save_learning``."""

from __future__ import annotations

from pydantic import Field

from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.prompts import knowledge_lines, quote
from agno_learn_langgraph.stores import learned_knowledge
from agno_learn_langgraph.tools.spec import Args, Call, ToolSpec, kind_of, plural

__all__ = ["KNOWLEDGE_TOOLS"]

KNOWLEDGE = kind_of(learned_knowledge)


def _namespace(call: Call) -> tuple[str, ...]:
    return learned_knowledge.knowledge_namespace(call.namespace, call.scope)


class _SearchLearningsArgs(Args):
    query: str = Field(description="What you need to know, in a few words.")
    limit: int = Field(default=5, ge=1, le=20, description="How many learnings to return.")


def _search_learnings(call: Call, a: _SearchLearningsArgs) -> Plan[str]:
    found = yield from learned_knowledge.search_learnings(
        _namespace(call), a.query, limit=a.limit, **call.rank
    )
    if not found:
        return "No relevant learnings found."
    return "\n".join([f"Found {plural(len(found), 'relevant learning')}:", *knowledge_lines(found)])


class _SaveLearningArgs(Args):
    title: str = Field(description="A short, specific title; saving an existing title updates it.")
    learning: str = Field(description="The insight itself: reusable, non-obvious, actionable.")
    context: str | None = Field(default=None, description="When it applies or where it came from.")
    tags: list[str] = Field(default_factory=list, description="A few keywords for search.")


def _save_learning(call: Call, a: _SaveLearningArgs) -> Plan[str]:
    record, outcome = yield from learned_knowledge.save_learning(
        _namespace(call), call.provenance, **a.model_dump()
    )
    if outcome == "updated":
        return f"Updated the existing learning {quote(record.title)} ({record.id})."
    if outcome == "unchanged":
        return f"Unchanged: the learning {quote(record.title)} ({record.id}) already says this."
    return f"Saved learning {quote(record.title)} ({record.id})."


KNOWLEDGE_TOOLS = (
    ToolSpec(
        "search_learnings",
        KNOWLEDGE.name,
        "Search the shared knowledge base of learnings, most relevant first. Use it before "
        "answering how-to or policy questions and before saving a learning.",
        _SearchLearningsArgs,
        _search_learnings,
        read_only=True,
    ),
    ToolSpec(
        "save_learning",
        KNOWLEDGE.name,
        "Save a reusable, non-obvious insight to the shared knowledge base, or anything the "
        "user asks you to remember for everyone. Search first; an existing title is updated.",
        _SaveLearningArgs,
        _save_learning,
    ),
)
