"""Writers in separate OS processes on one database lose nothing (issue 13, item 1).

Four worker processes (``tests/multiprocess_writer.py``) start together and, per round, send one
model turn through a LangGraph ``ToolNode`` whose calls run at once: each sets its own profile
field of one user, adds its own fact to one ``"global"`` entity, and saves the memory text every
worker saves that round. Threads cannot show these races: each process has its own locks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import entity_memory, user_memory, user_profile

sys.path.insert(0, str(Path(__file__).parent))
import multiprocess_writer as writer
from multiprocess import start_workers, stop_workers

ROUNDS = 12
WORKER = Path(__file__).with_name("multiprocess_writer.py")


def run_workers(url: str) -> None:
    with open_store(url):  # set up once, as a deployment migrates before its workers start
        pass  # (LangGraph's SQLite migrations race when several processes run them at once)
    argvs = [[url, str(w), str(ROUNDS)] for w in range(writer.WORKERS)]
    outputs = stop_workers(start_workers(WORKER, argvs), send_go=True)
    for _, err in outputs:
        assert "tool error" not in err, err


@pytest.mark.parametrize("backend_name", ["postgres", "sqlite"], indirect=True)
def test_writers_in_four_processes_lose_no_field_fact_or_memory(backend_url: str) -> None:
    run_workers(backend_url)
    schema = writer.profile_schema(ROUNDS)
    with open_store(backend_url) as backend:
        store = backend.store
        profile = run_plan(store, user_profile.get_profile(writer.USER, schema))
        entity = run_plan(
            store,
            entity_memory.resolve_entity(
                entity_memory.entity_namespaces("global", Scope(user_id=writer.USER)), "acme"
            ),
        )
        memories = run_plan(store, user_memory.list_memories(writer.USER))
    expected_fields = {
        writer.field_name(w, r) for w in range(writer.WORKERS) for r in range(ROUNDS)
    }
    expected_facts = {writer.fact_text(w, r) for w in range(writer.WORKERS) for r in range(ROUNDS)}
    assert profile is not None and entity is not None
    facts = [f.text for f in entity.live_facts()]
    texts = [m.text for m in memories]
    losses = {
        "lost profile fields": len(expected_fields - set(profile.filled())),
        "lost entity facts": len(expected_facts - set(facts)),
        "duplicate memories": len(texts) - len(set(texts)),
    }
    assert losses == dict.fromkeys(losses, 0), (
        f"{losses} (of {len(expected_fields)} fields, {len(expected_facts)} facts, "
        f"{ROUNDS} memories)"
    )
    assert sorted(facts) == sorted(expected_facts)
    assert set(texts) == {writer.memory_text(r) for r in range(ROUNDS)}
