"""One extraction part per store: what it reads for the prompt, its output field, how it writes.

This is the only module of the extraction package that names stores: the schema, the prepare
plan and the apply loop iterate over :data:`PARTS` (in the canonical store order of
:data:`~agno_learn_langgraph.kinds.KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.config import EntityMemoryConfig, SessionContextConfig, UserProfileConfig
from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.extraction.outputs import (
    EntityChanges,
    LearningItem,
    MemoryChanges,
    PlanningSessionUpdate,
    SessionUpdate,
    profile_changes_model,
)
from agno_learn_langgraph.kinds import KINDS, StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import UserProfile
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import (
    entity_memory,
    learned_knowledge,
    session_context,
    user_memory,
    user_profile,
)

if TYPE_CHECKING:
    from agno_learn_langgraph.extraction.apply import ApplyStep

__all__ = [
    "PARTS",
    "ExtractionPart",
    "OutputOptions",
    "ReadRequest",
    "output_options",
    "part",
]

MEMORIES_IN_PROMPT = 30
ENTITIES_IN_PROMPT = 10
LEARNINGS_IN_PROMPT = 5


@dataclass(frozen=True)
class OutputOptions:
    """What shapes the output schema and the prompt beyond the list of stores."""

    profile_schema: type[UserProfile] = UserProfile
    planning: bool = False
    max_facts_per_entity: int = 10


def output_options(machine: LearningMachine) -> OutputOptions:
    """The options ``machine``'s store configs set."""
    profile = machine.config(user_profile.NAME)
    session = machine.config(session_context.NAME)
    entity = machine.config(entity_memory.NAME)
    return OutputOptions(
        profile_schema=profile.schema if isinstance(profile, UserProfileConfig) else UserProfile,
        planning=isinstance(session, SessionContextConfig) and session.enable_planning,
        max_facts_per_entity=(
            entity.max_facts_per_entity if isinstance(entity, EntityMemoryConfig) else 10
        ),
    )


@dataclass(frozen=True)
class ReadRequest:
    """What a part's read plan gets: the run, the new messages' text and the index flag."""

    machine: LearningMachine
    scope: Scope
    query: str
    indexed: bool

    def namespace(self, store: StoreName) -> str:
        """The configured namespace of ``store``."""
        return self.machine.namespace_for(store)


@dataclass(frozen=True)
class ExtractionPart:
    """How extraction serves one store.

    Attributes:
        store: the store.
        output: the field of the output schema (and of the merged model outputs) it fills.
        loaded: the attribute of ``Prepared`` (and the ``ExtractionData`` argument) its read fills.
        read: the plan loading what the prompt shows the model for this store.
        output_type: the annotation and default of its output field.
        apply: writes (or proposes) its validated output value.
    """

    store: StoreName
    output: str
    loaded: str
    read: Callable[[ReadRequest], Plan[Any]]
    output_type: Callable[[OutputOptions], tuple[Any, Any]]
    apply: Callable[[ApplyStep, Any], Plan[None]]


# -- user profile ---------------------------------------------------------------------------------


def _read_profile(req: ReadRequest) -> Plan[Any]:
    schema = output_options(req.machine).profile_schema
    return user_profile.get_profile(req.scope.require_user(user_profile.NAME), schema)


_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _apply_profile(step: ApplyStep, changes: Any) -> Plan[None]:
    # strict output fills every field: null, "" or an empty list/dict there means "no change"
    values = {k: v for k, v in changes.set.model_dump().items() if v not in _EMPTY}
    if step.proposing:
        for name, value in values.items():
            yield from step.propose({"field": name, "value": value})
        return
    if not (values or changes.clear):
        return
    plan = user_profile.update_profile(
        step.owner_id(),
        step.provenance,
        set_fields=values,
        clear=changes.clear,
        schema=output_options(step.machine).profile_schema,
    )
    changed = yield from step.attempt(plan, "profile update")
    step.changes.extend(f"profile {k} = {v!r}" for k, v in (changed or {}).items())


# -- user memory ---------------------------------------------------------------------------------


def _read_memories(req: ReadRequest) -> Plan[Any]:
    user_id = req.scope.require_user(user_memory.NAME)
    return user_memory.relevant_memories(
        user_id, req.query, limit=MEMORIES_IN_PROMPT, indexed=req.indexed
    )


def _apply_memories(step: ApplyStep, changes: MemoryChanges) -> Plan[None]:
    if step.proposing:
        for text in changes.add:
            yield from step.propose({"text": text})
        return
    user_id = step.owner_id()
    for edit in changes.update:
        plan = user_memory.update_memory(user_id, edit.id, edit.text, step.provenance)
        if (yield from step.attempt(plan, f"memory update {edit.id!r}")) is not None:
            step.changes.append(f"updated memory {edit.id}")
    for memory_id in changes.delete:
        plan = user_memory.delete_memory(user_id, memory_id)
        if (yield from step.attempt(plan, f"memory delete {memory_id!r}")) is not None:
            step.changes.append(f"deleted memory {memory_id}")
    for text in changes.add:
        added = yield from step.attempt(user_memory.add_memory(user_id, text, step.provenance), "")
        if added is not None and added[1]:
            step.changes.append(f"added memory {added[0].id}")


# -- session context ------------------------------------------------------------------------------


def _read_session(req: ReadRequest) -> Plan[Any]:
    return session_context.get_session_context(req.scope.require_thread(session_context.NAME))


def _apply_session(step: ApplyStep, update: SessionUpdate) -> Plan[None]:
    if not update.summary.strip():
        return
    yield from session_context.save_session_context(
        step.owner_id(),
        step.provenance,
        summary=update.summary,
        goal=getattr(update, "goal", None),
        plan=getattr(update, "plan", None),
        progress=getattr(update, "progress", None),
    )
    step.changes.append("session context saved")


# -- entity memory --------------------------------------------------------------------------------


def _read_entities(req: ReadRequest) -> Plan[Any]:
    ns = entity_memory.entity_namespaces(req.namespace(entity_memory.NAME), req.scope)
    return entity_memory.relevant_entities(
        ns, req.query, limit=ENTITIES_IN_PROMPT, indexed=req.indexed
    )


def _apply_entities(step: ApplyStep, items: list[EntityChanges]) -> Plan[None]:
    ns = entity_memory.entity_namespaces(step.namespace(), step.scope)
    for item in items:
        facts = [f.strip() for f in item.facts if f.strip()]
        if step.proposing:
            for fact in facts:
                content = {"entity": item.entity, "entity_type": item.entity_type, "fact": fact}
                yield from step.propose(content)
            continue
        yield from _apply_entity(step, ns, item, facts)


def _apply_entity(step: ApplyStep, ns: Any, item: EntityChanges, facts: list[str]) -> Plan[None]:
    first, rest = (facts[0], facts[1:]) if item.supersedes and facts else (None, facts)
    plan = entity_memory.create_entity(
        ns, step.provenance, name=item.entity, entity_type=item.entity_type, facts=rest
    )
    created = yield from step.attempt(plan, f"entity {item.entity!r}")
    if created is None:
        return
    entity = created[0]
    step.changes.append(f"entity {entity.key}: {len(rest)} fact(s)")
    live = {f.id for f in entity.live_facts()}
    step.ignore_unknown_ids([i for i in item.supersedes if i not in live], entity.name)
    supersedes = [i for i in item.supersedes if i in live]
    if first is not None:
        add = entity_memory.add_fact(
            ns, step.provenance, name=entity.name, fact=first, supersedes=supersedes
        )
        if (yield from step.attempt(add, f"fact about {entity.name!r}")) is not None:
            step.changes.append(f"fact on {entity.key} superseding {supersedes}")
        return
    for fact_id in supersedes:
        retire = entity_memory.retire_fact(ns, step.provenance, name=entity.name, fact_id=fact_id)
        yield from step.attempt(retire, f"retire {fact_id!r}")


# -- learned knowledge ---------------------------------------------------------------------------


def _read_knowledge(req: ReadRequest) -> Plan[Any]:
    ns = learned_knowledge.knowledge_namespace(req.namespace(learned_knowledge.NAME), req.scope)
    return learned_knowledge.search_learnings(
        ns, req.query, limit=LEARNINGS_IN_PROMPT, indexed=req.indexed
    )


def _apply_knowledge(step: ApplyStep, items: list[LearningItem]) -> Plan[None]:
    ns = learned_knowledge.knowledge_namespace(step.namespace(), step.scope)
    for item in items:
        content: dict[str, Any] = {
            "title": item.title,
            "learning": item.learning,
            "context": item.context,
            "tags": item.tags,
        }
        if step.proposing:
            yield from step.propose(content)
            continue
        plan = learned_knowledge.save_learning(ns, step.provenance, **content)
        saved = yield from step.attempt(plan, "learning")
        if saved is not None:
            step.changes.append(f"learning {saved[0].id} {saved[1]}")


# -- the table ---------------------------------------------------------------------------------


def _optional(model: Any) -> tuple[Any, Any]:
    return (model | None, None)


_PARTS_BY_STORE: dict[str, ExtractionPart] = {
    p.store: p
    for p in (
        ExtractionPart(
            store=user_profile.NAME,
            output="profile",
            loaded="profile",
            read=_read_profile,
            output_type=lambda o: _optional(profile_changes_model(o.profile_schema)),
            apply=_apply_profile,
        ),
        ExtractionPart(
            store=user_memory.NAME,
            output="memories",
            loaded="memories",
            read=_read_memories,
            output_type=lambda o: _optional(MemoryChanges),
            apply=_apply_memories,
        ),
        ExtractionPart(
            store=session_context.NAME,
            output="session",
            loaded="session",
            read=_read_session,
            output_type=lambda o: _optional(PlanningSessionUpdate if o.planning else SessionUpdate),
            apply=_apply_session,
        ),
        ExtractionPart(
            store=entity_memory.NAME,
            output="entities",
            loaded="entities",
            read=_read_entities,
            output_type=lambda o: (list[EntityChanges], []),
            apply=_apply_entities,
        ),
        ExtractionPart(
            store=learned_knowledge.NAME,
            output="learnings",
            loaded="knowledge",
            read=_read_knowledge,
            output_type=lambda o: (list[LearningItem], []),
            apply=_apply_knowledge,
        ),
    )
}

PARTS: tuple[ExtractionPart, ...] = tuple(_PARTS_BY_STORE[k.name] for k in KINDS if k.extractable)
"""The extraction part of every extractable store, in canonical store order."""


def part(store: StoreName) -> ExtractionPart:
    """The extraction part of ``store``.

    Raises:
        ValueError: ``store`` has no extraction part (it is not extractable).
    """
    try:
        return _PARTS_BY_STORE[store]
    except KeyError:
        names = ", ".join(p.store for p in PARTS)
        raise ValueError(f"{store!r} does not extract; expected one of {names}.") from None
