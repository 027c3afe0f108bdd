"""Entity memory's tools: search, create and update entities, their facts, events and links."""

from __future__ import annotations

from pydantic import Field

from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.prompts import entity_lines, quote
from agno_learn_langgraph.records import Entity, Fact, fingerprint, normalize_text
from agno_learn_langgraph.stores import entity_memory
from agno_learn_langgraph.tools.spec import Args, Call, ToolSpec, ids, kind_of, plural

__all__ = ["ENTITY_TOOLS"]

ENTITIES = kind_of(entity_memory)

_ENTITY = Field(description="The entity's name, an alias or its key, e.g. 'Acme' or 'acme'.")


def _namespaces(call: Call) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return entity_memory.entity_namespaces(call.namespace, call.scope)


def _label(e: Entity) -> str:
    return f"{e.entity_type} {e.key}"


class _SearchEntitiesArgs(Args):
    query: str | None = Field(
        default=None,
        description="Words to match against names, aliases, descriptions and facts; omit to "
        "list the most recently updated entities.",
    )
    entity_type: str | None = Field(
        default=None, description="Only entities of this type, e.g. 'person' or 'company'."
    )
    limit: int = Field(default=5, ge=1, le=20, description="How many entities to return.")


def _search_entities(call: Call, a: _SearchEntitiesArgs) -> Plan[str]:
    found = yield from entity_memory.search_entities(
        _namespaces(call), a.query, entity_type=a.entity_type, limit=a.limit, **call.rank
    )
    what = f" matching {quote(a.query)}" if a.query and a.query.strip() else ""
    typed = f" of type {entity_memory.normalize_type(a.entity_type)}" if a.entity_type else ""
    if not found:
        return f"No entities{what}{typed}."
    lines = [f"Found {plural(len(found), 'entity', 'entities')}{what}{typed}:"]
    for i, e in enumerate(found, 1):
        lines += entity_lines(e, bullet=f"{i}.")
    return "\n".join(lines)


class _CreateEntityArgs(Args):
    name: str = Field(description="The entity's usual name, e.g. 'Acme Corp' or 'Sarah Chen'.")
    entity_type: str = Field(
        description="What it is: person, company, project, product, system, place, ..."
    )
    description: str | None = Field(default=None, description="One line on what it is.")
    aliases: list[str] = Field(
        default_factory=list, description="Other names it goes by, e.g. ['Acme', 'ACME Inc']."
    )
    facts: list[str] = Field(
        default_factory=list, description="Facts to record now, one short statement each."
    )


def _create_entity(call: Call, a: _CreateEntityArgs) -> Plan[str]:
    entity, created = yield from entity_memory.create_entity(
        _namespaces(call), call.provenance, **a.model_dump()
    )
    new = [f for f in entity.live_facts() if any(f.text == t.strip() for t in a.facts)]
    recorded = f"; facts: {ids(new)}" if new else ""
    if created:
        return f"Created {_label(entity)} ({quote(entity.name)}){recorded}"
    return f"{quote(entity.name)} already exists as {_label(entity)}; updated it{recorded}"


class _UpdateEntityArgs(Args):
    entity: str = _ENTITY
    description: str | None = Field(default=None, description="A new one-line description.")
    entity_type: str | None = Field(default=None, description="A corrected entity type.")
    aliases: list[str] = Field(default_factory=list, description="Other names to add.")


def _update_entity(call: Call, a: _UpdateEntityArgs) -> Plan[str]:
    changes = a.model_dump(exclude={"entity"})
    entity = yield from entity_memory.update_entity(
        _namespaces(call), call.provenance, name=a.entity, **changes
    )
    return f"Updated {_label(entity)}: {', '.join(k for k, v in changes.items() if v)}"


class _AddFactArgs(Args):
    entity: str = _ENTITY
    fact: str = Field(description="One fact as a short statement, e.g. 'Uses Postgres 16'.")
    supersedes: list[str] = Field(
        default_factory=list,
        description="Ids (fact_...) of live facts this one corrects or replaces; they are retired.",
    )


def _same_fact(entity: Entity, text: str) -> Fact | None:
    return next((f for f in entity.live_facts() if fingerprint(f.text) == fingerprint(text)), None)


def _add_fact(call: Call, a: _AddFactArgs) -> Plan[str]:
    entity, new, retired = yield from entity_memory.add_fact(
        _namespaces(call), call.provenance, name=a.entity, fact=a.fact, supersedes=a.supersedes
    )
    if new is None and not retired:
        known = _same_fact(entity, a.fact)
        return f"{_label(entity)} already has this fact ({known.id if known else '?'}); unchanged."
    parts = [f"recorded 1 fact ({new.id})" if new else "the fact was already recorded"]
    if retired:
        parts.append(f"retired {ids(retired)}")
    return f"Updated {_label(entity)}: {'; '.join(parts)}"


class _RetireFactArgs(Args):
    entity: str = _ENTITY
    fact_id: str = Field(description="Id (fact_...) of the fact that is no longer true.")


def _retire_fact(call: Call, a: _RetireFactArgs) -> Plan[str]:
    entity, fact = yield from entity_memory.retire_fact(
        _namespaces(call), call.provenance, name=a.entity, fact_id=a.fact_id
    )
    return f"Retired {fact.id} of {_label(entity)}: {quote(fact.text)}"


class _AddEventArgs(Args):
    entity: str = _ENTITY
    event: str = Field(description="What happened, e.g. 'Closed a Series B round'.")
    date: str | None = Field(default=None, description="When, e.g. '2024-03-01' or 'March 2024'.")


def _add_event(call: Call, a: _AddEventArgs) -> Plan[str]:
    entity, event = yield from entity_memory.add_event(
        _namespaces(call), call.provenance, name=a.entity, event=a.event, date=a.date
    )
    if event is None:
        return f"{_label(entity)} already has this event; unchanged."
    return f"Recorded event {event.id} for {_label(entity)}"


class _LinkEntitiesArgs(Args):
    entity: str = _ENTITY
    relation: str = Field(description="How it relates, e.g. 'works_at', 'depends_on', 'owns'.")
    other_entity: str = Field(
        description="The related entity's name or key; created if unknown (then create_entity "
        "or update_entity can give it a type)."
    )


def _link_entities(call: Call, a: _LinkEntitiesArgs) -> Plan[str]:
    source, target = yield from entity_memory.link_entities(
        _namespaces(call), call.provenance, name=a.entity, relation=a.relation, other=a.other_entity
    )
    relation = "_".join(normalize_text(a.relation).split())
    return f"Linked {_label(source)} --[{relation}]--> {_label(target)} (stored on both)"


ENTITY_TOOLS = (
    ToolSpec(
        "search_entities",
        ENTITIES.name,
        "Search what is known about people, companies, projects and other entities, by "
        "name, alias, type or fact text. Shows entity keys and fact ids for the other tools.",
        _SearchEntitiesArgs,
        _search_entities,
        read_only=True,
    ),
    ToolSpec(
        "create_entity",
        ENTITIES.name,
        "Start remembering an entity (a person, company, project, ...) with its type, "
        "aliases and first facts. Search first: a known name only adds to the existing one.",
        _CreateEntityArgs,
        _create_entity,
    ),
    ToolSpec(
        "update_entity",
        ENTITIES.name,
        "Change an entity's description or type, or add other names (aliases) it goes by.",
        _UpdateEntityArgs,
        _update_entity,
    ),
    ToolSpec(
        "add_fact",
        ENTITIES.name,
        "Record a fact about a known entity. When it corrects or replaces older facts, pass "
        "their ids in supersedes: they are retired, not deleted.",
        _AddFactArgs,
        _add_fact,
    ),
    ToolSpec(
        "add_event",
        ENTITIES.name,
        "Record something that happened to a known entity, with its date when known.",
        _AddEventArgs,
        _add_event,
    ),
    ToolSpec(
        "link_entities",
        ENTITIES.name,
        "Record a relationship between two entities (e.g. Sarah works_at Acme); it is "
        "stored on both.",
        _LinkEntitiesArgs,
        _link_entities,
    ),
    ToolSpec(
        "retire_fact",
        ENTITIES.name,
        "Mark a fact of an entity as no longer true, by its id, when nothing replaces it.",
        _RetireFactArgs,
        _retire_fact,
    ),
)
