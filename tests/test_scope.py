"""Ids come from the run context or configurable, and namespace labels survive dots."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import MissingScopeError
from agno_learn_langgraph.core import decode_label, encode_label
from agno_learn_langgraph.scope import Scope, resolve_scope


@dataclass
class Ctx:
    user_id: str
    agent_id: str = "support"


def test_context_wins_over_configurable() -> None:
    scope = resolve_scope(Ctx("ann"), {"configurable": {"user_id": "bob", "thread_id": "t"}})
    assert scope == Scope(user_id="ann", thread_id="t", agent_id="support")


def test_configurable_only_and_defaults() -> None:
    assert resolve_scope(None, {"configurable": {"user_id": "u"}}) == Scope(user_id="u")
    assert resolve_scope({"session_id": "s"}, None).thread_id == "s"


def test_missing_user_names_the_store_and_fix() -> None:
    with pytest.raises(MissingScopeError, match=r"user_memory needs a user_id.*context="):
        Scope().require_user("user_memory")


@pytest.mark.parametrize("user", ["alice@example.com", "a.b.c", "100%.sure", "x"])
def test_ids_with_dots_round_trip_through_a_real_store(user: str) -> None:
    label = encode_label(user)
    assert "." not in label and decode_label(label) == user
    store = InMemoryStore()
    store.put(("learning", "user_memory", label), "k", {"v": 1})
    assert store.get(("learning", "user_memory", label), "k") is not None


def test_empty_id_is_refused() -> None:
    with pytest.raises(MissingScopeError):
        encode_label("")
