"""The learned-knowledge store: reusable insights, one item per title, shared within a namespace."""

from __future__ import annotations

from itertools import islice
from typing import Any, Literal

from langgraph.store.base import GetOp
from typing_extensions import Unpack

from agno_learn_langgraph.core import ROOT, Plan, as_item, namespace_scope, put
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.index.fusion import RankBy, rank_namespace
from agno_learn_langgraph.index.lexical import TextQuery
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import LearnedKnowledge, Provenance, fingerprint, utcnow
from agno_learn_langgraph.scope import Scope

__all__ = [
    "NAME",
    "SaveOutcome",
    "knowledge_key",
    "knowledge_namespace",
    "knowledge_text",
    "save_learning",
    "search_learnings",
]

NAME: StoreName = "learned_knowledge"
"""The store this module holds (its config key and namespace label)."""

SaveOutcome = Literal["created", "updated", "unchanged"]
APPROVED = {"status": "approved"}


def knowledge_namespace(namespace: str, scope: Scope) -> tuple[str, ...]:
    """``("learning", "learned_knowledge", *<ns>)``."""
    return (ROOT, NAME, *namespace_scope(namespace, scope, NAME))


def knowledge_key(title: str) -> str:
    """Items are keyed by their normalized title, so saving a known title updates it."""
    return "lk_" + fingerprint(title)


def knowledge_text(k: LearnedKnowledge) -> str:
    """The text that search ranks a learning by."""
    return " ".join(filter(None, [k.title, k.learning, k.context or "", " ".join(k.tags)]))


def save_learning(
    namespace: tuple[str, ...],
    provenance: Provenance,
    *,
    title: str,
    learning: str,
    context: str | None = None,
    tags: list[str] | None = None,
) -> Plan[tuple[LearnedKnowledge, SaveOutcome]]:
    """Create the learning, or update the one with the same title; says which happened.

    Titles match case-, accent- and punctuation-insensitively; an update keeps the stored title.

    Raises:
        LearningInputError: empty title or learning.
    """
    title, learning = (title or "").strip(), (learning or "").strip()
    if not title or not learning:
        missing = "title" if not title else "learning"
        raise LearningInputError(f"The {missing} is empty; a learning needs a title and a text.")
    key = knowledge_key(title)
    (result,) = yield [GetOp(namespace, key)]
    item = as_item(result)
    clean_tags = [t.strip() for t in (tags or []) if t and t.strip()]
    context = (context or "").strip() or None
    # the title is the key: an update keeps the existing title's wording
    fields: dict[str, Any] = {"learning": learning, "context": context, "tags": clean_tags}
    if item is None:
        record = LearnedKnowledge(id=key, provenance=provenance, title=title, **fields)
        outcome: SaveOutcome = "created"
    else:
        old = LearnedKnowledge.model_validate(item.value)
        if all(getattr(old, k) == v for k, v in fields.items()) and old.status == "approved":
            return old, "unchanged"
        record = old.model_copy(
            update={
                **fields,
                "status": "approved",
                "updated_at": utcnow(),
                "provenance": provenance,
            }
        )
        outcome = "updated"
    yield [put(namespace, key, record.model_dump(mode="json"), search_text=knowledge_text(record))]
    return record, outcome


def search_learnings(
    namespace: tuple[str, ...],
    query: TextQuery,
    *,
    limit: int,
    **how: Unpack[RankBy],
) -> Plan[list[LearnedKnowledge]]:
    """Approved learnings relevant to ``query``, best first (see ``index.fusion``).

    An empty query lists the newest.
    """
    if limit <= 0:
        return []
    ranked = yield from rank_namespace(
        namespace, query, limit=limit, key_of=lambda value: str(value["id"]), filter=APPROVED, **how
    )
    found = ranked.values if query.strip() else list(islice(ranked.index.newest(), limit))
    return [LearnedKnowledge.model_validate(value) for value in found]
