"""Which stores extraction serves, and which messages of the thread it reads."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agno_learn_langgraph.approval import REVIEW_MESSAGE_NAME
from agno_learn_langgraph.kinds import KINDS, LearningMode, StoreName, kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.scope import Scope

__all__ = [
    "check_scope",
    "conversation_entry",
    "extraction_stores",
    "message_text",
    "select_claimed_messages",
    "select_new_messages",
]

_EXTRACTING_MODES = (LearningMode.ALWAYS, LearningMode.PROPOSE)


def extraction_stores(machine: LearningMachine) -> tuple[StoreName, ...]:
    """The stores extraction serves: those in ALWAYS or PROPOSE mode, in canonical order."""
    return tuple(
        k.name
        for k in KINDS
        if k.extractable and k.name in machine.stores and machine.mode(k.name) in _EXTRACTING_MODES
    )


def check_scope(machine: LearningMachine, stores: Sequence[StoreName], scope: Scope) -> None:
    """Raise :class:`MissingScopeError` now for an id a store will need (not in the background)."""
    for store in stores:
        kind(store).owner_id(scope, machine.namespace_for(store))


def message_text(message: BaseMessage) -> str:
    """The message's text content, stripped."""
    text: Any = message.text
    return str(text if isinstance(text, str) else text()).strip()


def conversation_entry(message: BaseMessage) -> tuple[str, str] | None:
    """``("user"|"assistant", text)`` for a message extraction may read, else ``None``.

    Tool messages, system messages, AI messages that only call tools and the approval step's
    review outcome are dropped.
    """
    if isinstance(message, HumanMessage):
        if message.name == REVIEW_MESSAGE_NAME:  # what the reviewer decided: not the user's words
            return None
        role = "user"
    elif isinstance(message, AIMessage):
        role = "assistant"
    else:
        return None
    text = message_text(message)
    return (role, text) if text else None


def select_new_messages(
    messages: Sequence[BaseMessage], cursor: str | None, cap: int
) -> tuple[list[tuple[str, str]], str | None]:
    """The conversation entries after the message with id ``cursor``, and the new cursor.

    A cursor not found among ``messages`` (e.g. trimmed history) means all of them are new.
    Only the newest ``cap`` entries are kept (``cap <= 0``: no cap). The new cursor is the id of
    the last message that has one, tool messages included.
    """
    start = 0
    if cursor is not None:
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].id == cursor:
                start = i + 1
                break
    entries = [e for m in messages[start:] if (e := conversation_entry(m)) is not None]
    if cap > 0:
        entries = entries[-cap:]
    last_id = next((str(m.id) for m in reversed(messages) if m.id), None)
    return entries, last_id


def select_claimed_messages(
    messages: Sequence[BaseMessage], claimed: Collection[str], cap: int
) -> list[tuple[str, str]]:
    """The conversation entries of the messages whose ids are in ``claimed`` (see
    ``stores.cursors.claim_messages``) and of id-less ones after the first of them, newest
    ``cap`` kept (``cap <= 0``: no cap)."""
    first = next((i for i, m in enumerate(messages) if m.id is not None and m.id in claimed), None)
    if first is None:
        return []
    entries = [
        e
        for m in messages[first:]
        if (m.id is None or m.id in claimed) and (e := conversation_entry(m)) is not None
    ]
    return entries[-cap:] if cap > 0 else entries
