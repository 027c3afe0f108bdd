"""One extraction part per store: what it reads for the prompt, its output field, how it writes.

This is the only module of the extraction package that names stores: the schema, the prepare
plan and the apply loop iterate over :data:`PARTS` (in the canonical store order of
:data:`~agno_learn_langgraph.kinds.KINDS`). Each store's part holds only what is its own: the
stores whose prompt shows their most relevant records share one read (``_RANKED`` says how
many), and every part proposes (PROPOSE mode) or writes through :meth:`ExtractionPart.apply`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

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
from agno_learn_langgraph.index.fusion import RankBy
from agno_learn_langgraph.kinds import KINDS, StoreName, kind
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
    """What a part's read plan gets: the run, the new messages' text and how to rank them."""

    machine: LearningMachine
    scope: Scope
    query: str
    rank: RankBy
    """How the reads rank: as recall does (the store's index, the machine's ranking and
    language)."""


class _Run(Protocol):
    """A read request or an apply step: the run a part reads or writes for."""

    @property
    def machine(self) -> LearningMachine: ...

    @property
    def scope(self) -> Scope: ...


class _Ranked(NamedTuple):
    """How the prompt shows a store's records: the ``limit`` most relevant to the new messages."""

    search: Callable[..., Plan[list[Any]]]
    limit: int


_RANKED: dict[str, _Ranked] = {
    user_memory.NAME: _Ranked(user_memory.relevant_memories, MEMORIES_IN_PROMPT),
    entity_memory.NAME: _Ranked(entity_memory.relevant_entities, ENTITIES_IN_PROMPT),
    learned_knowledge.NAME: _Ranked(learned_knowledge.search_learnings, LEARNINGS_IN_PROMPT),
}


@dataclass(frozen=True)
class ExtractionPart(ABC):
    """How extraction serves one store: one subclass per extractable store.

    Attributes:
        store: the store.
        output: the field of the output schema (and of the merged model outputs) it fills, and
            the attribute of ``Prepared`` its read fills.
        locate: where a namespaced store's records are, from its configured namespace and the
            run's ids (``None``: the store's owner id, a user or thread id).
    """

    store: StoreName
    output: str
    locate: Callable[[str, Scope], Any] | None = None

    def where(self, run: _Run) -> Any:
        """Where the store's records are for ``run``: the first argument of its plans.

        Raises:
            MissingScopeError: the run lacks the user or thread id the store needs.
        """
        namespace = run.machine.namespace_for(self.store)
        if self.locate is not None:
            return self.locate(namespace, run.scope)
        return kind(self.store).owner_id(run.scope, namespace)

    def read(self, req: ReadRequest) -> Plan[Any]:
        """The plan loading what the prompt shows the model for this store (by default its
        records most relevant to the new messages)."""
        search, limit = _RANKED[self.store]
        return search(self.where(req), req.query, limit=limit, **req.rank)

    @abstractmethod
    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        """The annotation and default of its output field."""

    def proposals(self, value: Any) -> list[dict[str, Any]]:
        """What the store proposes of its output ``value`` in PROPOSE mode: one content each."""
        return []

    @abstractmethod
    def write(self, step: ApplyStep, value: Any) -> Plan[None]:
        """Write its validated output ``value``."""

    def apply(self, step: ApplyStep, value: Any) -> Plan[None]:
        """Write ``value``, or propose it when the store is in PROPOSE mode."""
        if not step.proposing:
            return (yield from self.write(step, value))
        for content in self.proposals(value):
            yield from step.propose(content)


def _optional(model: Any) -> tuple[Any, Any]:
    return (model | None, None)


_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _set_values(changes: Any) -> dict[str, Any]:
    """The profile fields to set: strict output fills every field, and null, "" or an empty
    list/dict there means "no change"."""
    return {k: v for k, v in changes.set.model_dump().items() if v not in _EMPTY}


class _Profile(ExtractionPart):
    def read(self, req: ReadRequest) -> Plan[Any]:
        schema = output_options(req.machine).profile_schema
        return user_profile.get_profile(self.where(req), schema)

    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        return _optional(profile_changes_model(options.profile_schema))

    def proposals(self, changes: Any) -> list[dict[str, Any]]:
        return [{"field": name, "value": value} for name, value in _set_values(changes).items()]

    def write(self, step: ApplyStep, changes: Any) -> Plan[None]:
        values = _set_values(changes)
        if not (values or changes.clear):
            return
        plan = user_profile.update_profile(
            self.where(step),
            step.provenance,
            set_fields=values,
            clear=changes.clear,
            schema=output_options(step.machine).profile_schema,
        )
        changed = yield from step.attempt(plan, "profile update")
        step.changes.extend(f"profile {k} = {v!r}" for k, v in (changed or {}).items())


class _Memories(ExtractionPart):
    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        return _optional(MemoryChanges)

    def proposals(self, changes: MemoryChanges) -> list[dict[str, Any]]:
        return [{"text": text} for text in changes.add]

    def write(self, step: ApplyStep, changes: MemoryChanges) -> Plan[None]:
        user_id = self.where(step)
        for edit in changes.update:
            plan = user_memory.update_memory(user_id, edit.id, edit.text, step.provenance)
            if (yield from step.attempt(plan, f"memory update {edit.id!r}")) is not None:
                step.changes.append(f"updated memory {edit.id}")
        for memory_id in changes.delete:
            plan = user_memory.delete_memory(user_id, memory_id)
            if (yield from step.attempt(plan, f"memory delete {memory_id!r}")) is not None:
                step.changes.append(f"deleted memory {memory_id}")
        for text in changes.add:
            added = yield from step.attempt(
                user_memory.add_memory(user_id, text, step.provenance), ""
            )
            if added is not None and added[1]:
                step.changes.append(f"added memory {added[0].id}")


class _Session(ExtractionPart):
    def read(self, req: ReadRequest) -> Plan[Any]:
        return session_context.get_session_context(self.where(req))

    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        return _optional(PlanningSessionUpdate if options.planning else SessionUpdate)

    def write(self, step: ApplyStep, update: SessionUpdate) -> Plan[None]:
        if not update.summary.strip():
            return
        yield from session_context.save_session_context(
            self.where(step),
            step.provenance,
            summary=update.summary,
            goal=getattr(update, "goal", None),
            plan=getattr(update, "plan", None),
            progress=getattr(update, "progress", None),
        )
        step.changes.append("session context saved")


def _facts(item: EntityChanges) -> list[str]:
    return [f.strip() for f in item.facts if f.strip()]


class _Entities(ExtractionPart):
    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        return (list[EntityChanges], [])

    def proposals(self, items: list[EntityChanges]) -> list[dict[str, Any]]:
        return [
            {"entity": item.entity, "entity_type": item.entity_type, "fact": fact}
            for item in items
            for fact in _facts(item)
        ]

    def write(self, step: ApplyStep, items: list[EntityChanges]) -> Plan[None]:
        ns = self.where(step)
        for item in items:
            yield from _write_entity(step, ns, item, _facts(item))


def _write_entity(step: ApplyStep, ns: Any, item: EntityChanges, facts: list[str]) -> Plan[None]:
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


def _learning(item: LearningItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "learning": item.learning,
        "context": item.context,
        "tags": item.tags,
    }


class _Knowledge(ExtractionPart):
    def output_type(self, options: OutputOptions) -> tuple[Any, Any]:
        return (list[LearningItem], [])

    def proposals(self, items: list[LearningItem]) -> list[dict[str, Any]]:
        return [_learning(item) for item in items]

    def write(self, step: ApplyStep, items: list[LearningItem]) -> Plan[None]:
        ns = self.where(step)
        for item in items:
            plan = learned_knowledge.save_learning(ns, step.provenance, **_learning(item))
            saved = yield from step.attempt(plan, "learning")
            if saved is not None:
                step.changes.append(f"learning {saved[0].id} {saved[1]}")


# -- the table ---------------------------------------------------------------------------------

_PARTS_BY_STORE: dict[str, ExtractionPart] = {
    p.store: p
    for p in (
        _Profile(user_profile.NAME, "profile"),
        _Memories(user_memory.NAME, "memories"),
        _Session(session_context.NAME, "session"),
        _Entities(entity_memory.NAME, "entities", entity_memory.entity_namespaces),
        _Knowledge(learned_knowledge.NAME, "learnings", learned_knowledge.knowledge_namespace),
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
