"""Who a turn belongs to: user, thread (session) and agent ids, read from the run.

Ids come from ``runtime.context`` (a dataclass, pydantic model, TypedDict or dict with
``user_id``, ``thread_id``/``session_id``, ``agent_id``) and fall back to
``config["configurable"]``. They never come from tool arguments, so no prompt can make a
tool act for another user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agno_learn_langgraph.errors import MissingScopeError

__all__ = ["DEFAULT_AGENT_ID", "Scope", "resolve_scope"]

DEFAULT_AGENT_ID = "default"

_ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": ("user_id", "langgraph_user_id"),
    "thread_id": ("thread_id", "session_id"),
    "agent_id": ("agent_id", "assistant_id"),
}


@dataclass(frozen=True)
class Scope:
    """The ids a turn is scoped by. ``agent_id`` defaults to ``"default"``."""

    user_id: str | None = None
    thread_id: str | None = None
    agent_id: str = DEFAULT_AGENT_ID

    def require_user(self, store: str) -> str:
        """Return the user id or raise :class:`MissingScopeError` naming the store and the fix."""
        return self._require("user_id", store)

    def require_thread(self, store: str) -> str:
        """Return the thread id or raise :class:`MissingScopeError` naming the store and the fix."""
        return self._require("thread_id", store)

    def _require(self, name: str, store: str) -> str:
        value: str | None = getattr(self, name)
        if not value:
            raise MissingScopeError(
                f"{store} needs a {name}, but this run has none. {_HOW_TO_PASS[name]}"
            )
        return value


_HOW_TO_PASS = {
    "user_id": "Pass it in the run context (graph.invoke(..., context={'user_id': "
    "'alice@example.com'})) or in config={'configurable': {'user_id': ...}}.",
    "thread_id": "Pass config={'configurable': {'thread_id': ...}} (a checkpointer needs it "
    "anyway) or context={'thread_id': ...}.",
}


def _read(source: Any, name: str) -> str | None:
    if source is None:
        return None
    value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
    if value is None or value == "":
        return None
    return str(value)


def resolve_scope(context: Any = None, config: Mapping[str, Any] | None = None) -> Scope:
    """Build a :class:`Scope` from a runtime context and/or a ``RunnableConfig``.

    The context wins over ``config["configurable"]``; missing ids stay ``None``.

    >>> resolve_scope({"user_id": "ann"}, {"configurable": {"thread_id": "t1"}})
    Scope(user_id='ann', thread_id='t1', agent_id='default')
    """
    configurable = (config or {}).get("configurable") or {}
    found: dict[str, str | None] = {}
    for field, names in _ALIASES.items():
        found[field] = next(
            (v for src in (context, configurable) for n in names if (v := _read(src, n))), None
        )
    return Scope(
        user_id=found["user_id"],
        thread_id=found["thread_id"],
        agent_id=found["agent_id"] or DEFAULT_AGENT_ID,
    )
