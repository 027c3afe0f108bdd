"""The in-process BM25 index: compact per memory, values kept intact."""

from __future__ import annotations

import json
import random
import tracemalloc
from typing import Any

from agno_learn_langgraph.index import NamespaceIndex
from agno_learn_langgraph.index.ranked import search_text
from agno_learn_langgraph.records import Memory, Provenance, fingerprint

WORDS = [f"{a}{b}" for a in ("tea", "bike", "jazz", "code", "sail", "cook") for b in "aeiouy"]


def _sentences(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"Note {i}: " + " ".join(rng.choices(WORDS, k=9)) for i in range(n)]


def _decoded_rows(texts: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Memories as PostgreSQL returns them: each row's JSON decoded on its own."""
    prov = Provenance(mode="api", thread_id="t-1")
    keys, rows = [], []
    for text in texts:
        memory = Memory(text=text, fingerprint=fingerprint(text), provenance=prov)
        keys.append(memory.id)
        rows.append(json.dumps({**memory.model_dump(mode="json"), "search_text": text}))
    return keys, [json.loads(row) for row in rows]


def test_an_index_of_decoded_rows_costs_well_under_the_rows_themselves() -> None:
    texts = _sentences(2_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keys, values = _decoded_rows(texts)
        expected = json.dumps(values)  # what recall must return
        index = NamespaceIndex(keys, values, search_text)
        del values  # the scan's rows are dropped once the index is built
        per_memory = (tracemalloc.get_traced_memory()[0] - before - len(expected)) / len(keys)
    finally:
        tracemalloc.stop()
    # per-term arrays and every row's own copy of every key and string cost 2.8 KB a memory
    assert per_memory < 1_600, f"{per_memory:.0f} bytes per memory"
    assert index.items == json.loads(expected)  # values equal to the rows read, nested too
    assert index.items[0]["id"] is keys[0]  # kept once, as the key
    top = index.rank_scored("teaa", limit=3)
    assert top and all("teaa" in value["text"] for _, value in top)


def test_an_in_memory_stores_values_are_kept_as_they_are() -> None:
    values = [{"search_text": text, "tags": ("a", 1)} for text in _sentences(5)]
    index = NamespaceIndex([str(i) for i in range(5)], values, search_text)
    assert all(a is b for a, b in zip(index.items, values, strict=True))
