"""Extraction cursors: the id of the last message ALWAYS extraction has read, per thread.

The cursor lives in the store (``("learning", "cursors", <thread>)``, key ``"extraction"``), so it
survives restarts and is shared by every process serving the thread. It only moves after a
successful extraction, so messages a failed extraction missed are read by the next one.
"""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph.records import utcnow
from agno_learn_langgraph.stores.base import ROOT, Plan, encode_label, get_one, put

__all__ = ["CURSOR_KEY", "cursor_namespace", "get_cursor", "set_cursor"]

CURSOR_KEY = "extraction"


def cursor_namespace(thread_id: str) -> tuple[str, ...]:
    """``("learning", "cursors", <thread>)``."""
    return (ROOT, "cursors", encode_label(thread_id))


def get_cursor(thread_id: str) -> Plan[str | None]:
    """The id of the last message extracted on the thread, or ``None``."""
    item = yield from get_one(cursor_namespace(thread_id), CURSOR_KEY)
    value: Any = item.value.get("message_id") if item else None
    return str(value) if value else None


def set_cursor(thread_id: str, message_id: str) -> Plan[None]:
    """Move the thread's cursor to ``message_id``."""
    value = {"message_id": message_id, "updated_at": utcnow().isoformat()}
    yield [put(cursor_namespace(thread_id), CURSOR_KEY, value)]
