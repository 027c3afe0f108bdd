"""The store core and the ranking index wired together: every plan step goes through the index."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.core import Plan, put, run_plan
from agno_learn_langgraph.core.runner import BatchExecutor, current_executor
from agno_learn_langgraph.index import VERSIONS_NAMESPACE, EmbedQueryOp, IndexingExecutor

NS = ("learning", "user_memory", "ann")


def _write() -> Plan[None]:
    yield [put(NS, "m1", {"text": "green tea"}, search_text="green tea")]


def test_importing_the_package_installs_the_index_executor() -> None:
    assert isinstance(current_executor(), IndexingExecutor)


def test_a_write_to_a_ranked_namespace_stamps_its_version() -> None:
    store = InMemoryStore()
    run_plan(store, _write())
    stamp = store.get(VERSIONS_NAMESPACE, "/".join(NS))
    assert stamp is not None and stamp.value["v"]


def test_a_side_op_needs_the_index_executor() -> None:
    with pytest.raises(TypeError, match="EmbedQueryOp"):
        BatchExecutor().batch(InMemoryStore(), [EmbedQueryOp("tea")])
