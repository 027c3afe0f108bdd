"""Recall finds the index behind the store wrapper the LangGraph server hands to nodes.

Under ``langgraph dev`` a node's store is ``BatchedStore(DiskBackedInMemStore(index=...))``
(``langgraph_runtime_inmem``): an ``AsyncBatchedBaseStore`` holding the indexed store in
``_store``, without an ``index_config`` of its own. The wrapper here is that class, built on
LangGraph's own ``AsyncBatchedBaseStore``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, Op, Result
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import LearningMachine, Scope, UserMemoryConfig
from agno_learn_langgraph.compat import has_vector_index, unwrap_store
from agno_learn_langgraph.core import arun_plan
from agno_learn_langgraph.index import vector_source
from agno_learn_langgraph.recall import arecall
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.testing import HashEmbeddings

SCOPE = Scope(user_id="ann", thread_id="t1")
PROV = Provenance(mode="api")
TARGET = "Has a kitty called Miso"


class BatchedStore(AsyncBatchedBaseStore):
    """``langgraph_runtime_inmem.store.BatchedStore`` (langgraph-api 0.16.7), as shipped."""

    def __init__(self, store: BaseStore) -> None:
        super().__init__()
        self._store = store

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._store.batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await self._store.abatch(ops)


class SynonymEmbeddings(Embeddings):
    """Hash embeddings that know a few synonyms: "feline" is close to "kitty", no word shared."""

    SAME: ClassVar[dict[str, str]] = {"feline": "cat", "kitty": "cat", "cats": "cat"}

    def __init__(self) -> None:
        self.inner = HashEmbeddings(dims=64)

    def _canon(self, text: str) -> str:
        return " ".join(self.SAME.get(w, w) for w in text.lower().split())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents([self._canon(t) for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(self._canon(text))


def _indexed() -> InMemoryStore:
    return InMemoryStore(
        index={"dims": 64, "embed": SynonymEmbeddings(), "fields": ["search_text"]}
    )


async def _fill(store: BaseStore) -> None:
    await arun_plan(store, user_memory.add_memory("ann", TARGET, PROV))  # the oldest memory
    for i in range(12):
        text = f"Booked flight number {i} to Lisbon for the conference"
        await arun_plan(store, user_memory.add_memory("ann", text, PROV))


async def test_the_index_behind_the_servers_wrapper_is_found() -> None:
    inner = _indexed()
    wrapped = BatchedStore(inner)
    assert not getattr(wrapped, "index_config", None)  # what the package used to look at
    assert has_vector_index(wrapped)
    assert unwrap_store(wrapped) is inner
    assert not has_vector_index(BatchedStore(InMemoryStore()))


async def test_recall_through_the_wrapper_ranks_semantically() -> None:
    wrapped = BatchedStore(_indexed())
    await _fill(wrapped)
    machine = LearningMachine(user_memory=UserMemoryConfig(max_memories_in_context=3))
    data = await arecall(machine, wrapped, SCOPE, "Any feline friends at home?")
    texts = [m.text for m in data.memories]
    assert texts[0] == TARGET  # no word in common: only the index can rank it first


async def test_the_wrapped_stores_vectors_are_read_in_process() -> None:
    inner = _indexed()
    wrapped = BatchedStore(inner)
    source = vector_source(wrapped)
    assert source is not None and source.store is inner
