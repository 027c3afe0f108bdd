"""The AGENTIC search tools and the extraction's reads rank as recall does, by the machine's
recall_ranking and language."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.extraction.prepare import plan_prepare
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from agno_learn_langgraph.tools import create_learning_tools
from tests.test_recall import SCOPE, ConceptEmbeddings, concept_store
from tests.test_tools import build_graph, tool_results

CONTEXT = {"user_id": SCOPE.user_id, "thread_id": SCOPE.thread_id, "agent_id": SCOPE.agent_id}
FOUND = {  # tool: (the record matching "order" by its word, the one near "pup" in meaning)
    "search_learnings": ("ZX42 orders", "Beagles"),
    "search_entities": ("ZX42", "Milo"),
    "search_decisions": ("Refunded order ZX42", "Recommended a beagle trainer"),
}


def search(tool: str, query: str, **machine: Any) -> str:
    """The reply of ``tool`` to ``query``, called by a scripted model through a ToolNode."""
    learning = LearningMachine(
        entity_memory="agentic", learned_knowledge="agentic", decision_log="agentic", **machine
    )
    script = [ai_tool_calls(tool_call(tool, {"query": query})), "ok"]
    store = concept_store(ConceptEmbeddings())
    graph = build_graph(create_learning_tools(learning), ScriptedChatModel(script), store)
    out = graph.invoke({"messages": [HumanMessage(query)]}, context=CONTEXT)
    (reply,) = tool_results(out["messages"])[tool]
    assert reply.status != "error", reply.content
    return str(reply.content)


@pytest.mark.parametrize("tool", FOUND)
@pytest.mark.parametrize(
    ("ranking", "by_word", "by_meaning"),
    [("lexical", True, False), ("semantic", False, True), ("hybrid", True, True)],
)
def test_search_tools_rank_by_the_machines_recall_ranking(
    tool: str, ranking: str, by_word: bool, by_meaning: bool
) -> None:
    reply = search(tool, "an order for my pup", recall_ranking=ranking)
    word, meaning = FOUND[tool]
    assert (word in reply, meaning in reply) == (by_word, by_meaning), reply


@pytest.mark.parametrize("tool", FOUND)
def test_search_tools_stem_in_the_machines_recall_language(tool: str) -> None:
    word, _ = FOUND[tool]
    stemmed = search(tool, "ordering", recall_ranking="lexical")
    assert word in stemmed  # "ordering" and "order(s)" share the English stem
    assert word not in search(tool, "ordering", recall_ranking="lexical", recall_language=None)


@pytest.mark.parametrize(
    ("ranking", "by_word", "by_meaning"),
    [("lexical", True, False), ("semantic", False, True), ("hybrid", True, True)],
)
def test_extraction_shows_the_model_records_ranked_by_the_machines_recall_ranking(
    ranking: str, by_word: bool, by_meaning: bool
) -> None:
    """What the extraction prompt shows as existing entities and learnings is ranked as recall
    ranks (memories are padded with the newest, so the model sees near duplicates anyway)."""
    machine = LearningMachine(
        user_memory=True, entity_memory=True, learned_knowledge=True, recall_ranking=ranking
    )
    stores = ["user_memory", "entity_memory", "learned_knowledge"]
    plan = plan_prepare(machine, SCOPE, [HumanMessage("an order for my pup")], stores, indexed=True)
    prepared = run_plan(concept_store(ConceptEmbeddings()), plan)
    shown = {
        "entities": " ".join(e.name for e in prepared.entities),
        "learnings": " ".join(k.title for k in prepared.learnings),
    }
    for part, (word, meaning) in {
        "entities": ("ZX42", "Milo"),
        "learnings": ("ZX42 orders", "Beagles"),
    }.items():
        assert (word in shown[part], meaning in shown[part]) == (by_word, by_meaning), shown
