"""The entity-memory store: entities with facts, events and two-way relationships.

Names resolve case-, accent- and punctuation-insensitively (``"Acme"``, ``"ACME"``, ``"acme!"``
are one entity) and through aliases (``"Acme Inc"`` once aliased). A fact that is contradicted
is retired with a timestamp and the id of the fact that replaced it; it is never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Literal

from langgraph.store.base import GetOp, Item, PutOp
from typing_extensions import Unpack

from agno_learn_langgraph.core import ROOT, Plan, as_item, namespace_scope, put
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.index import ranked_namespace
from agno_learn_langgraph.index.fusion import RankBy, rank_namespace
from agno_learn_langgraph.index.lexical import Query, TextQuery
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import (
    Entity,
    EntityEvent,
    Fact,
    Provenance,
    Relationship,
    fingerprint,
    normalize_text,
    utcnow,
)
from agno_learn_langgraph.scope import Scope

__all__ = [
    "NAME",
    "add_event",
    "add_fact",
    "create_entity",
    "entity_key",
    "entity_namespaces",
    "entity_text",
    "link_entities",
    "list_entities",
    "normalize_type",
    "relevant_entities",
    "resolve_entity",
    "retire_fact",
    "search_entities",
    "update_entity",
]

NAME: StoreName = "entity_memory"
"""The store this module holds (its config key and namespace label)."""

Direction = Literal["outgoing", "incoming"]
_PLURALS = {"people": "person", "persons": "person", "companies": "company"}


def entity_namespaces(namespace: str, scope: Scope) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(entities, aliases)``: ``("learning", "entity_memory"|"entity_alias", *<ns>)``."""
    labels = namespace_scope(namespace, scope, NAME)
    return (ROOT, NAME, *labels), (ROOT, "entity_alias", *labels)


def entity_key(name: str) -> str:
    """The case/accent/punctuation-insensitive key of a name.

    >>> entity_key("Café  Ñandú, Inc.")
    'cafe_nandu_inc'
    """
    key = "_".join(normalize_text(name or "").split())
    if not key:
        raise LearningInputError(f"The entity name {name!r} is empty; pass the entity's name.")
    return key


def normalize_type(entity_type: str | None) -> str:
    """``"Companies"`` -> ``"company"``; empty -> ``"unknown"``."""
    t = "_".join(normalize_text(entity_type or "").split()) or "unknown"
    t = _PLURALS.get(t, t)
    return t[:-1] if len(t) > 4 and t.endswith("s") and not t.endswith("ss") else t


def entity_text(e: Entity) -> str:
    """The text that search ranks an entity by."""
    facts = " ".join(f.text for f in e.live_facts())
    return " ".join(
        filter(None, [e.name, " ".join(e.aliases), e.entity_type, e.description, facts])
    )


def _load(item: Item | None) -> Entity | None:
    return Entity.model_validate(item.value) if item else None


def _save(ns: tuple[str, ...], entity: Entity) -> PutOp:
    entity.updated_at = utcnow()
    return put(ns, entity.key, entity.model_dump(mode="json"), search_text=entity_text(entity))


def resolve_entity(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]], name: str
) -> Plan[Entity | None]:
    """Find an entity by name or alias (one round trip, two when found through an alias)."""
    ens, ans = namespaces
    key = entity_key(name)
    item, alias = yield [GetOp(ens, key), GetOp(ans, key)]
    if item is not None:
        return _load(as_item(item))
    if (found := as_item(alias)) is not None:
        (item,) = yield [GetOp(ens, found.value["entity_key"])]
        return _load(as_item(item))
    return None


def _require(namespaces: tuple[tuple[str, ...], tuple[str, ...]], name: str) -> Plan[Entity]:
    entity = yield from resolve_entity(namespaces, name)
    if entity is None:
        raise LearningInputError(
            f"No entity named {name!r}; create it with create_entity or check the name "
            "with search_entities."
        )
    return entity


def _alias_ops(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]], entity: Entity, aliases: Iterable[str]
) -> list[PutOp]:
    ops: list[PutOp] = []
    for alias in aliases:
        alias = alias.strip()
        if not alias or entity_key(alias) == entity.key:
            continue
        if normalize_text(alias) not in {normalize_text(a) for a in entity.aliases}:
            entity.aliases.append(alias)
        ops.append(put(namespaces[1], entity_key(alias), {"entity_key": entity.key}))
    return ops


def _new_facts(entity: Entity, texts: Iterable[str], provenance: Provenance) -> list[Fact]:
    known = {fingerprint(f.text) for f in entity.live_facts()}
    added = []
    for text in texts:
        text = (text or "").strip()
        if text and fingerprint(text) not in known:
            known.add(fingerprint(text))
            fact = Fact(text=text, provenance=provenance)
            entity.facts.append(fact)
            added.append(fact)
    return added


def create_entity(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    entity_type: str | None = None,
    description: str | None = None,
    aliases: Sequence[str] = (),
    facts: Sequence[str] = (),
) -> Plan[tuple[Entity, bool]]:
    """Create an entity, or add to the existing one of that name; returns ``(entity, created)``."""
    name = (name or "").strip()
    existing = yield from resolve_entity(namespaces, name)
    created = existing is None
    entity = existing or Entity(
        key=entity_key(name),
        name=name,
        entity_type=normalize_type(entity_type),
        provenance=provenance,
    )
    if not created:
        if entity_type and entity.entity_type == "unknown":
            entity.entity_type = normalize_type(entity_type)
        if name != entity.name and entity_key(name) != entity.key:
            aliases = [*aliases, name]
    if description and description.strip():
        entity.description = description.strip()
    _new_facts(entity, facts, provenance)
    entity.provenance = provenance
    ops = _alias_ops(namespaces, entity, aliases)
    yield [_save(namespaces[0], entity), *ops]
    return entity, created


def update_entity(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    description: str | None = None,
    entity_type: str | None = None,
    aliases: Sequence[str] = (),
) -> Plan[Entity]:
    """Change an entity's description or type, or add aliases.

    Raises:
        LearningInputError: unknown entity, or nothing to change.
    """
    if not (description or entity_type or aliases):
        raise LearningInputError(
            "Nothing to update; pass a description, an entity_type or aliases."
        )
    entity = yield from _require(namespaces, name)
    if description and description.strip():
        entity.description = description.strip()
    if entity_type:
        entity.entity_type = normalize_type(entity_type)
    entity.provenance = provenance
    ops = _alias_ops(namespaces, entity, aliases)
    yield [_save(namespaces[0], entity), *ops]
    return entity


def add_fact(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    fact: str,
    supersedes: Sequence[str] = (),
) -> Plan[tuple[Entity, Fact | None, list[Fact]]]:
    """Add a fact; retire the live facts listed in ``supersedes`` (by id) in its favour.

    Returns ``(entity, new fact or None if it was already recorded, retired facts)``.

    Raises:
        LearningInputError: unknown entity, empty fact, or an unknown/retired fact id.
    """
    if not (fact or "").strip():
        raise LearningInputError("The fact is empty; pass the fact to record.")
    entity = yield from _require(namespaces, name)
    live = {f.id: f for f in entity.live_facts()}
    unknown = [i for i in supersedes if i not in live]
    if unknown:
        raise LearningInputError(
            f"{entity.name} has no live fact with id {', '.join(map(repr, unknown))}; "
            f"live facts: {', '.join(f'{f.id}: {f.text}' for f in live.values()) or 'none'}."
        )
    added = _new_facts(entity, [fact], provenance)
    new = added[0] if added else None
    retired = []
    for fact_id in supersedes:
        old = live[fact_id]
        old.superseded_at = utcnow()
        old.superseded_by = new.id if new else "superseded"
        retired.append(old)
    if not added and not retired:
        return entity, None, []
    entity.provenance = provenance
    yield [_save(namespaces[0], entity)]
    return entity, new, retired


def retire_fact(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    fact_id: str,
) -> Plan[tuple[Entity, Fact]]:
    """Retire a live fact without a replacement (kept with ``superseded_by="retired"``)."""
    entity = yield from _require(namespaces, name)
    fact = next((f for f in entity.live_facts() if f.id == fact_id), None)
    if fact is None:
        raise LearningInputError(
            f"{entity.name} has no live fact with id {fact_id!r}; live facts: "
            f"{', '.join(f'{f.id}: {f.text}' for f in entity.live_facts()) or 'none'}."
        )
    fact.superseded_at, fact.superseded_by = utcnow(), "retired"
    entity.provenance = provenance
    yield [_save(namespaces[0], entity)]
    return entity, fact


def add_event(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    event: str,
    date: str | None = None,
) -> Plan[tuple[Entity, EntityEvent | None]]:
    """Record an event; the same text on the same date is recorded once."""
    if not (event or "").strip():
        raise LearningInputError("The event is empty; describe what happened.")
    entity = yield from _require(namespaces, name)
    fp = fingerprint(event, date or "")
    if any(fingerprint(e.text, e.date or "") == fp for e in entity.events):
        return entity, None
    new = EntityEvent(text=event.strip(), date=(date or None))
    entity.events.append(new)
    entity.provenance = provenance
    yield [_save(namespaces[0], entity)]
    return entity, new


def link_entities(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    provenance: Provenance,
    *,
    name: str,
    relation: str,
    other: str,
) -> Plan[tuple[Entity, Entity]]:
    """Relate two entities; the edge is stored on both ends. An unknown far end is created.

    Raises:
        LearningInputError: unknown source entity, empty relation, or a self link.
    """
    relation = "_".join(normalize_text(relation or "").split())
    if not relation:
        raise LearningInputError("The relation is empty; e.g. 'works_at' or 'depends_on'.")
    source = yield from _require(namespaces, name)
    target = yield from resolve_entity(namespaces, other)
    if target is None:
        target = Entity(key=entity_key(other), name=other.strip(), provenance=provenance)
    if target.key == source.key:
        raise LearningInputError(f"Cannot link {source.name!r} to itself.")
    ends: tuple[tuple[Entity, Entity, Direction], ...] = (
        (source, target, "outgoing"),
        (target, source, "incoming"),
    )
    for here, there, direction in ends:
        if not any(
            r.relation == relation and r.entity_key == there.key and r.direction == direction
            for r in here.relationships
        ):
            here.relationships.append(
                Relationship(
                    relation=relation,
                    entity_key=there.key,
                    entity_name=there.name,
                    direction=direction,
                )
            )
        here.provenance = provenance
    yield [_save(namespaces[0], source), _save(namespaces[0], target)]
    return source, target


def _filter(entity_type: str | None) -> dict[str, str]:
    filt = {"status": "approved"}
    if entity_type and entity_type.strip():
        filt["entity_type"] = normalize_type(entity_type)
    return filt


def list_entities(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    *,
    entity_type: str | None = None,
    limit: int = 50,
) -> Plan[list[Entity]]:
    """Approved entities, newest first, optionally of one type."""
    index = yield from ranked_namespace(namespaces[0], filter=_filter(entity_type))
    return [Entity.model_validate(value) for value in islice(index.newest(), limit)]


def _named_in(normalized: str, entity: Entity) -> bool:
    haystack = f" {normalized} "
    return any(
        f" {n} " in haystack
        for n in (normalize_text(x) for x in [entity.name, *entity.aliases])
        if n
    )


def search_entities(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    query: TextQuery | None = None,
    *,
    entity_type: str | None = None,
    limit: int = 10,
    **how: Unpack[RankBy],
) -> Plan[list[Entity]]:
    """Entities matching ``query`` by name, alias, type, description or fact text.

    Entities the message names (by name or alias) come first, then the most relevant (see
    ``index.fusion``); without a query, the newest entities.
    """
    filt = _filter(entity_type)
    if query is None or not query.strip():
        index = yield from ranked_namespace(
            namespaces[0], filter=filt, language=how.get("language", "english")
        )
        return [Entity.model_validate(value) for value in islice(index.newest(), limit)]
    ranked = yield from rank_namespace(
        namespaces[0],
        query,
        limit=limit,
        key_of=lambda value: str(value["key"]),
        filter=filt,
        **how,
    )
    message = query.text if isinstance(query, Query) else query
    # an entity named in the message shares its terms, so it is among the lexical candidates
    candidates = ranked.index.rank(message, limit=max(limit * 10, 50))
    normalized = normalize_text(message)  # once: a long message is not re-normalized per entity
    exact = [
        e
        for e in (Entity.model_validate(value) for value in candidates)
        if _named_in(normalized, e) or normalized in {normalize_text(a) for a in e.aliases}
    ]
    unique: dict[str, Entity] = {}
    for e in [*exact, *(Entity.model_validate(value) for value in ranked.values)]:
        unique.setdefault(e.key, e)
    return list(unique.values())[:limit]


_WORD = re.compile(r"\w+")


def relevant_entities(
    namespaces: tuple[tuple[str, ...], tuple[str, ...]],
    message: TextQuery,
    *,
    limit: int,
    **how: Unpack[RankBy],
) -> Plan[list[Entity]]:
    """Entities the message names (by name or alias), then the most relevant to it."""
    if limit <= 0 or not message.strip():
        return []
    return (yield from search_entities(namespaces, message, limit=limit, **how))
