"""The BM25 tokenizer and index: Snowball stems, names kept, stable ties, weighted context."""

from __future__ import annotations

import pytest

from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.index.lexical import (
    LexicalIndex,
    Query,
    Tokenizer,
    lexical_rank,
    tokenize,
)


def test_inflections_match_their_stem() -> None:
    memories = ["Went running along the river every morning", "Bakes sourdough bread"]
    assert lexical_rank("Do I still run?", memories, str, limit=5) == [memories[0]]
    assert lexical_rank("baking", memories, str, limit=5) == [memories[1]]
    assert lexical_rank("allergies", ["Has a peanut allergy"], str, limit=5)


def test_unrelated_words_stay_apart_and_names_stay_intact() -> None:
    assert tokenize("news") != tokenize("new")  # the old "drop a final s" merged them
    assert "james" in tokenize("I met James at the station")
    assert "jame" not in tokenize("the jam session")
    # a lowercase mention of a name still finds it (through the stem)
    assert lexical_rank("postgres upgrade", ["Acme uses Postgres 15"], str, limit=5)
    assert tokenize("Two APIs and an API") == ["two", "api", "api"]


def test_language_is_configurable_and_unknown_ones_are_refused() -> None:
    french = Tokenizer("french")
    assert french("chanteuses") == french("chanteuse")
    assert Tokenizer(None)("running dogs") == ["running", "dogs"]  # no stemming
    with pytest.raises(ValueError, match=r"Unknown recall_language .klingon.*english"):
        Tokenizer("klingon")
    with pytest.raises(ValueError, match=r"recall_language .klingon.*french"):
        LearningMachine(user_memory=True, recall_language="klingon")


@pytest.mark.parametrize("limit", [1, 3, 7, 10])
def test_ties_are_newest_first_whatever_the_limit(limit: int) -> None:
    items = [f"note {i}: tea" for i in range(10)]  # newest first, all tied for "tea"
    index = LexicalIndex(items, str)
    assert index.rank("tea", limit=limit) == items[:limit]
    scored = index.rank_scored("tea", limit=10)
    assert [i for _, i in scored] == list(range(10))


def test_the_top_k_is_a_prefix_of_a_deeper_ranking() -> None:
    words = ["tea", "coffee", "green", "black", "milk"]
    items = [" ".join(words[(i * j) % 5] for j in range(1, 4)) for i in range(200)]
    index = LexicalIndex(items, str)
    deep = index.rank("green tea with milk", limit=50)
    for k in (1, 5, 10, 20):
        assert index.rank("green tea with milk", limit=k) == deep[:k]


def test_context_terms_weigh_less_than_the_message() -> None:
    items = ["Flew to Lisbon in March", "Adopted a beagle called Milo"]
    index = LexicalIndex(items, str)
    # the message names the dog; the previous turn (context) talked about Lisbon
    ranked = index.rank(Query("my beagle's name?", context="trip to Lisbon"), limit=2)
    assert ranked == ["Adopted a beagle called Milo", "Flew to Lisbon in March"]
    # a follow-up without words of its own is ranked by the context
    assert index.rank(Query("When was that?", context="trip to Lisbon"), limit=1) == [items[0]]
    assert str(Query("When was that?", context="trip to Lisbon")) == (
        "When was that?\ntrip to Lisbon"
    )


def test_stems_are_cached_per_word() -> None:
    tokenizer = Tokenizer("english")
    text = " ".join(f"running{i % 500} jumped" for i in range(20_000))
    assert tokenizer(text) == tokenizer(text)
    assert len(tokenizer._stems) == 501  # 500 distinct words and "jumped", each stemmed once


def test_recall_uses_the_machines_language() -> None:
    from langgraph.store.memory import InMemoryStore

    from agno_learn_langgraph import Scope
    from agno_learn_langgraph.core import run_plan
    from agno_learn_langgraph.recall import recall
    from agno_learn_langgraph.records import Provenance
    from agno_learn_langgraph.stores import user_memory

    store = InMemoryStore()
    run_plan(
        store, user_memory.add_memory("ann", "Goes running on Sundays", Provenance(mode="api"))
    )
    run_plan(store, user_memory.add_memory("ann", "Likes tea", Provenance(mode="api")))
    scope = Scope(user_id="ann")

    def found(language: str | None) -> list[str]:
        machine = LearningMachine(user_memory=True, recall_language=language)
        return [m.text for m in recall(machine, store, scope, "Do I still run?").memories]

    assert found("english") == ["Goes running on Sundays"]
    # without stemming "run" matches nothing, so recall shows the newest memories instead
    assert found(None) == ["Likes tea", "Goes running on Sundays"]
