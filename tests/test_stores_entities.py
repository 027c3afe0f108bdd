"""Entity memory plans on every backend: resolution, supersession, links and search."""

from __future__ import annotations

import pytest
from langgraph.store.base import BaseStore

from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.errors import LearningInputError, MissingScopeError
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import entity_memory as em

NS = em.entity_namespaces("global", Scope())
PROV = Provenance(mode="api")


def _create(store: BaseStore, name: str, entity_type: str, **kw: object) -> em.Entity:
    entity, _ = run_plan(
        store,
        em.create_entity(NS, PROV, name=name, entity_type=entity_type, **kw),  # type: ignore[arg-type]
    )
    return entity


def test_names_resolve_case_accent_and_alias_insensitively(store: BaseStore) -> None:
    _create(store, "Acme", "Companies", aliases=["Acme Inc."])
    for name in ("Acme", "ACME", "acme", "ácme", "acme inc", "ACME INC."):
        found = run_plan(store, em.resolve_entity(NS, name))
        assert found is not None and found.key == "acme", name
    assert found.entity_type == "company"
    again, created = run_plan(store, em.create_entity(NS, PROV, name="ACME", entity_type="company"))
    assert not created and again.key == "acme"
    assert len(run_plan(store, em.list_entities(NS))) == 1


def test_facts_are_timestamped_and_superseded_not_deleted(store: BaseStore) -> None:
    acme = _create(store, "Acme", "company", facts=["Uses Postgres 15", "Based in Paris"])
    old = acme.live_facts()[0]
    assert old.created_at.tzinfo is not None
    _, new, retired = run_plan(
        store, em.add_fact(NS, PROV, name="acme", fact="Uses Postgres 16", supersedes=[old.id])
    )
    assert new is not None and [f.id for f in retired] == [old.id]
    stored = run_plan(store, em.resolve_entity(NS, "Acme"))
    assert stored is not None
    assert [f.text for f in stored.live_facts()] == ["Based in Paris", "Uses Postgres 16"]
    gone = next(f for f in stored.facts if f.id == old.id)
    assert gone.superseded_at is not None and gone.superseded_by == new.id

    paris = stored.live_facts()[0]
    _, retired_fact = run_plan(store, em.retire_fact(NS, PROV, name="ACME", fact_id=paris.id))
    stored = run_plan(store, em.resolve_entity(NS, "acme"))
    assert stored is not None and [f.text for f in stored.live_facts()] == ["Uses Postgres 16"]
    assert retired_fact.id == paris.id
    assert next(f for f in stored.facts if f.id == paris.id).superseded_by == "retired"
    assert len(stored.facts) == 3


def test_fact_errors_are_model_fixable(store: BaseStore) -> None:
    _create(store, "Acme", "company")
    with pytest.raises(LearningInputError, match="No entity named 'Globex'"):
        run_plan(store, em.add_fact(NS, PROV, name="Globex", fact="x"))
    with pytest.raises(LearningInputError, match="no live fact with id 'fact_nope'"):
        run_plan(store, em.add_fact(NS, PROV, name="Acme", fact="x", supersedes=["fact_nope"]))
    with pytest.raises(LearningInputError, match="empty"):
        run_plan(store, em.add_fact(NS, PROV, name="Acme", fact="  "))
    with pytest.raises(LearningInputError, match="itself"):
        run_plan(store, em.link_entities(NS, PROV, name="Acme", relation="owns", other="ACME"))


def test_links_are_stored_on_both_ends(store: BaseStore) -> None:
    _create(store, "Sarah Chen", "person")
    run_plan(
        store, em.link_entities(NS, PROV, name="sarah chen", relation="Works at", other="Acme")
    )
    sarah = run_plan(store, em.resolve_entity(NS, "Sarah Chen"))
    acme = run_plan(store, em.resolve_entity(NS, "acme"))
    assert sarah is not None and acme is not None
    assert [(r.relation, r.entity_key, r.direction) for r in sarah.relationships] == [
        ("works_at", "acme", "outgoing")
    ]
    assert [(r.relation, r.entity_key, r.direction) for r in acme.relationships] == [
        ("works_at", "sarah_chen", "incoming")
    ]
    assert acme.entity_type == "unknown"
    updated = run_plan(store, em.update_entity(NS, PROV, name="Acme", entity_type="company"))
    assert updated.entity_type == "company" and updated.relationships


def test_search_by_name_type_and_fact_text(store: BaseStore) -> None:
    _create(store, "Acme", "company", facts=["Runs its billing on Postgres"])
    _create(store, "Globex", "company", facts=["Moved to Kubernetes"])
    _create(store, "Sarah Chen", "person", facts=["Leads the platform team"])

    def names(query: str | None, entity_type: str | None = None) -> list[str]:
        found = run_plan(store, em.search_entities(NS, query, entity_type=entity_type))
        return [e.name for e in found]

    assert names("acme")[0] == "Acme"
    assert names("Kubernetes") == ["Globex"]
    assert names("platform team") == ["Sarah Chen"]
    assert sorted(names(None, "Companies")) == ["Acme", "Globex"]
    assert names("postgres", "person") == []


def test_user_namespace_needs_a_user_id() -> None:
    with pytest.raises(MissingScopeError, match="user_id"):
        em.entity_namespaces("user", Scope())
    ns = em.entity_namespaces("user", Scope(user_id="a.b@example.com"))
    assert ns[0] == ("learning", "entity_memory", "user", "a%2Eb@example%2Ecom")
