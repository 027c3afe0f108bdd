"""The user-memory store: one item per memory, so concurrent writers never overwrite each other."""

from __future__ import annotations

from typing import Any

from langgraph.store.base import GetOp, Item, PutOp
from typing_extensions import Unpack

from agno_learn_langgraph.core import (
    ROOT,
    SCAN_LIMIT,
    Plan,
    as_item,
    as_items,
    encode_label,
    lookup_key,
    newest_first,
    put,
    search_all,
)
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.index.fusion import RankBy, rank_namespace
from agno_learn_langgraph.index.lexical import TextQuery
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import Memory, Provenance, fingerprint, utcnow

__all__ = [
    "NAME",
    "add_memory",
    "delete_memory",
    "list_memories",
    "memory_namespace",
    "relevant_memories",
    "update_memory",
]

NAME: StoreName = "user_memory"
"""The store this module holds (its config key and namespace label)."""

APPROVED = {"status": "approved"}


def memory_namespace(user_id: str) -> tuple[str, ...]:
    """``("learning", "user_memory", <user>)``."""
    return (ROOT, NAME, encode_label(user_id))


def _memories(items: list[Item]) -> list[Memory]:
    return [Memory.model_validate(it.value) for it in newest_first(items)]


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise LearningInputError("The memory text is empty; pass the observation to remember.")
    return text


def list_memories(user_id: str, *, limit: int = SCAN_LIMIT) -> Plan[list[Memory]]:
    """The user's approved memories, newest first."""
    (items,) = yield [search_all(memory_namespace(user_id), filter=APPROVED, limit=limit)]
    return _memories(list(as_items(items)))


def relevant_memories(
    user_id: str,
    query: TextQuery,
    *,
    limit: int,
    pad: bool = True,
    **how: Unpack[RankBy],
) -> Plan[list[Memory]]:
    """Up to ``limit`` approved memories relevant to ``query``, best first, then the newest.

    Ranked by BM25, by the stored vectors or both fused (``ranking``; lexical without a vector
    index), past relevance floors (see ``index.fusion``). ``pad`` fills the list up to
    ``limit`` with the newest memories (what extraction shows the model, so it can update a
    memory the new messages contradict); without it the newest are shown only when nothing is
    relevant (recall: a greeting, "what do you know about me?").
    """
    if limit <= 0:
        return []
    ranked = yield from rank_namespace(
        memory_namespace(user_id), query, limit=limit, key_of=_record_id, filter=APPROVED, **how
    )
    found = {_record_id(v): v for v in ranked.values}
    if pad or not found:
        for value in ranked.index.newest():  # newest first; stop as soon as the list is full
            if len(found) >= limit:
                break
            found.setdefault(_record_id(value), value)
    return [Memory.model_validate(value) for value in found.values()]


def _record_id(value: dict[str, Any]) -> str:
    return str(value["id"])


def add_memory(user_id: str, text: str, provenance: Provenance) -> Plan[tuple[Memory, bool]]:
    """Add a memory unless an identical one exists; returns ``(memory, created)``."""
    text = _clean(text)
    fp = fingerprint(text)
    ns = memory_namespace(user_id)
    (dupes,) = yield [search_all(ns, filter={"fingerprint": fp}, limit=1)]
    if found := as_items(dupes):
        return Memory.model_validate(found[0].value), False
    memory = Memory(text=text, fingerprint=fp, provenance=provenance)
    yield [put(ns, memory.id, memory.model_dump(mode="json"), search_text=text)]
    return memory, True


def _get(user_id: str, memory_id: str) -> Plan[Memory]:
    (result,) = yield [GetOp(memory_namespace(user_id), lookup_key(memory_id))]
    item = as_item(result)
    if item is None:
        raise LearningInputError(
            f"No memory with id {memory_id!r}; use an id shown in the memory list."
        )
    return Memory.model_validate(item.value)


def update_memory(user_id: str, memory_id: str, text: str, provenance: Provenance) -> Plan[Memory]:
    """Replace a memory's text, keeping its id and ``created_at``.

    Raises:
        LearningInputError: unknown id or empty text.
    """
    text = _clean(text)
    memory = yield from _get(user_id, memory_id)
    memory = memory.model_copy(
        update={
            "text": text,
            "fingerprint": fingerprint(text),
            "updated_at": utcnow(),
            "provenance": provenance,
        }
    )
    yield [
        put(memory_namespace(user_id), memory.id, memory.model_dump(mode="json"), search_text=text)
    ]
    return memory


def delete_memory(user_id: str, memory_id: str) -> Plan[Memory]:
    """Delete a memory; returns what was deleted.

    Raises:
        LearningInputError: unknown id.
    """
    memory = yield from _get(user_id, memory_id)
    yield [PutOp(memory_namespace(user_id), memory.id, None)]
    return memory
