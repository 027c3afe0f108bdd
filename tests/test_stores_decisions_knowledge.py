"""Decision log and learned knowledge plans on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from langgraph.store.base import BaseStore, PutOp

from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.records import Decision, Provenance, utcnow
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import decision_log as dl
from agno_learn_langgraph.stores import learned_knowledge as lk

PROV = Provenance(mode="api")


def _log_many(store: BaseStore, n: int, agent: str = "bot") -> list[Decision]:
    """Write ``n`` decisions in one batch, oldest first (created one minute apart)."""
    start = utcnow() - timedelta(minutes=n)
    decisions = [
        Decision(decision=f"decision {i}", created_at=start + timedelta(minutes=i))
        for i in range(n)
    ]
    ops = []
    for d in decisions:
        d.created_ts = d.created_at.timestamp()
        ops.append(PutOp(dl.decision_namespace(agent), d.id, d.model_dump(mode="json")))
    store.batch(ops)
    return decisions


def test_record_outcome_finds_any_decision_among_many(store: BaseStore) -> None:
    decisions = _log_many(store, 150)
    oldest = decisions[0]
    updated = run_plan(store, dl.record_outcome("bot", oldest.id, "Worked", PROV))
    assert updated.outcome == "Worked" and updated.decision == "decision 0"
    with pytest.raises(LearningInputError, match="No decision with id 'dec_missing'"):
        run_plan(store, dl.record_outcome("bot", "dec_missing", "x", PROV))
    with pytest.raises(LearningInputError, match="No decision"):  # other agents are not searched
        run_plan(store, dl.record_outcome("other", oldest.id, "x", PROV))


def test_recent_decisions_are_the_newest_whatever_the_backend_order(store: BaseStore) -> None:
    decisions = _log_many(store, 80)
    recent = run_plan(store, dl.recent_decisions("bot", limit=3))
    assert [d.id for d in recent] == [d.id for d in decisions[::-1][:3]]


def test_search_decisions_by_text_type_and_age(store: BaseStore) -> None:
    old = Decision(decision="Chose Redis for caching", decision_type="Tool Selection")
    old.created_at = utcnow() - timedelta(days=10)
    run_plan(store, dl.log_decision("bot", old))
    run_plan(
        store,
        dl.log_decision(
            "bot", Decision(decision="Use Postgres for the store", decision_type="tool_selection")
        ),
    )
    run_plan(
        store,
        dl.log_decision(
            "bot", Decision(decision="Escalate billing questions", decision_type="escalation")
        ),
    )

    def texts(**kw: object) -> list[str]:
        return [d.decision for d in run_plan(store, dl.search_decisions("bot", **kw))]  # type: ignore[arg-type]

    assert texts(query="postgres store") == ["Use Postgres for the store"]
    assert sorted(texts(decision_type="TOOL selection")) == [
        "Chose Redis for caching",
        "Use Postgres for the store",
    ]
    assert sorted(texts(days=1)) == ["Escalate billing questions", "Use Postgres for the store"]
    assert texts(decision_type="tool_selection", days=1) == ["Use Postgres for the store"]
    with pytest.raises(LearningInputError, match="days"):
        texts(days=-1)


def test_save_learning_reports_created_updated_unchanged(store: BaseStore) -> None:
    ns = lk.knowledge_namespace("global", Scope())
    kw = {"title": "Postgres upgrades", "learning": "Use pg_upgrade --link."}
    first, outcome = run_plan(store, lk.save_learning(ns, PROV, **kw))  # type: ignore[arg-type]
    assert outcome == "created"
    same, outcome = run_plan(store, lk.save_learning(ns, PROV, **kw))  # type: ignore[arg-type]
    assert outcome == "unchanged" and same.id == first.id
    new, outcome = run_plan(
        store, lk.save_learning(ns, PROV, title="postgres UPGRADES", learning="Test on a copy.")
    )
    assert outcome == "updated" and new.id == first.id and new.title == "Postgres upgrades"
    found = run_plan(store, lk.search_learnings(ns, "upgrade", limit=5, indexed=False))
    assert [k.learning for k in found] == ["Test on a copy."]
    with pytest.raises(LearningInputError, match="learning is empty"):
        run_plan(store, lk.save_learning(ns, PROV, title="x", learning=" "))


def test_search_learnings_ranks_lexically_without_an_index(store: BaseStore) -> None:
    ns = lk.knowledge_namespace("global", Scope())
    for title, text in [
        ("Rate limits", "The billing API allows 100 requests per minute."),
        ("Retries", "Retry billing API calls with exponential backoff on 429."),
        ("Lunch", "The team eats at noon."),
    ]:
        run_plan(store, lk.save_learning(ns, PROV, title=title, learning=text))
    found = run_plan(
        store, lk.search_learnings(ns, "billing API rate limits", limit=5, indexed=False)
    )
    assert [k.title for k in found] == ["Rate limits", "Retries"]


def test_search_learnings_is_semantic_with_an_index(vector_store: BaseStore) -> None:
    ns = lk.knowledge_namespace("global", Scope())
    for title, text in [
        ("Tea", "Green tea is brewed at 80 degrees."),
        ("Taxes", "Quarterly tax filings are due in April."),
    ]:
        run_plan(vector_store, lk.save_learning(ns, PROV, title=title, learning=text))
    found = run_plan(
        vector_store, lk.search_learnings(ns, "brewing green teas", limit=1, indexed=True)
    )
    assert [k.title for k in found] == ["Tea"]
