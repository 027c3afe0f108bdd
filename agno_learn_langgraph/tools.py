"""AGENTIC mode: the learning tools, ready for ``ToolNode``, ``create_agent`` or ``bind_tools``.

>>> from agno_learn_langgraph import LearningMachine
>>> tools = create_learning_tools(LearningMachine(learned_knowledge=True, decision_log=True))
>>> [t.name for t in tools]
['search_learnings', 'save_learning', 'log_decision', 'record_outcome', 'search_decisions']

Each tool body is a store plan run with ``run_plan`` (sync) or ``arun_plan`` (async). The store
comes from the graph (``ToolRuntime``); user, thread and agent ids come from the run context or
``config["configurable"]``, never from tool arguments (extra arguments are ignored). Input the
model can fix comes back as an error tool message; a missing store or user id is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Union

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, Field, create_model

from agno_learn_langgraph.config import LearningMode, StoreName, UserProfileConfig
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.prompts import knowledge_lines, quote
from agno_learn_langgraph.records import (
    Decision,
    Entity,
    Fact,
    Provenance,
    fingerprint,
    normalize_text,
)
from agno_learn_langgraph.runtime import require_store
from agno_learn_langgraph.scope import Scope, resolve_scope
from agno_learn_langgraph.stores import (
    decision_log,
    entity_memory,
    learned_knowledge,
    user_memory,
    user_profile,
)
from agno_learn_langgraph.stores.base import (
    Plan,
    arun_plan,
    async_write_lock,
    data_key,
    has_vector_index,
    run_plan,
    write_lock,
)

__all__ = ["create_learning_tools"]


def create_learning_tools(machine: LearningMachine) -> list[BaseTool]:
    """The tools of every AGENTIC store, plus ``propose_learning`` when a store is in PROPOSE.

    PROPOSE stores keep their search tools (``search_entities``, ``search_learnings``), which
    only return approved records, but not their save tools.

    Raises:
        ImportError: a store is in PROPOSE mode and ``approval.create_propose_tools`` is missing.
    """
    specs: list[_Spec] = []
    for store in machine.stores_in_mode(LearningMode.AGENTIC):
        if store == "user_profile":
            specs.append(_profile_spec(machine))
        specs += _SPECS.get(store, ())
    proposing = machine.stores_in_mode(LearningMode.PROPOSE)
    for store in proposing:
        specs += [s for s in _SPECS.get(store, ()) if s.name in _SEARCH_TOOLS]
    tools: list[BaseTool] = [_build(machine, spec) for spec in specs]
    if proposing:
        tools += _propose_tools(machine, proposing)
    return tools


def _propose_tools(machine: LearningMachine, proposing: Sequence[str]) -> list[BaseTool]:
    try:
        from agno_learn_langgraph.approval import create_propose_tools
    except ImportError as exc:
        raise ImportError(
            f"{', '.join(proposing)} {'is' if len(proposing) == 1 else 'are'} in PROPOSE mode, "
            "whose propose_learning tool comes from "
            "agno_learn_langgraph.approval.create_propose_tools, which is missing from this "
            "installation. Upgrade agno-learn-langgraph, or use LearningMode.AGENTIC."
        ) from exc
    return list(create_propose_tools(machine))


# -- building a tool from one plan-making function ------------------------------------------


class _Args(BaseModel):
    """Base of the argument models the model sees; unknown arguments are ignored."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class _Call:
    """What a tool body may use besides its arguments: the scope of the run, never the model's."""

    machine: LearningMachine
    scope: Scope
    indexed: bool

    @property
    def provenance(self) -> Provenance:
        s = self.scope
        return Provenance(
            mode="agentic", thread_id=s.thread_id, agent_id=s.agent_id, user_id=s.user_id
        )

    def entities(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        ns = self.machine.namespace_for("entity_memory")
        return entity_memory.entity_namespaces(ns, self.scope)

    def knowledge(self) -> tuple[str, ...]:
        ns = self.machine.namespace_for("learned_knowledge")
        return learned_knowledge.knowledge_namespace(ns, self.scope)


@dataclass(frozen=True)
class _Spec:
    name: str
    store: StoreName
    description: str
    args: type[_Args]
    plan: Callable[[_Call, Any], Plan[str]]


@contextmanager
def _model_fixable() -> Iterator[None]:
    """Turn input the model can fix into a ``ToolException`` (an error tool message)."""
    try:
        yield
    except LearningInputError as exc:
        raise ToolException(str(exc)) from exc


def _build(machine: LearningMachine, spec: _Spec) -> StructuredTool:
    """One ``StructuredTool`` whose sync and async bodies run the same plan."""
    schema = create_model(  # the runtime field is injected by LangGraph, hidden from the model
        f"{spec.args.__name__}WithRuntime", __base__=spec.args, runtime=(ToolRuntime[Any, Any], ...)
    )

    def start(
        runtime: ToolRuntime[Any, Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Scope, Plan[str]]:
        store = require_store(runtime.store, f"The {spec.name} tool")
        scope = resolve_scope(runtime.context, runtime.config)
        call = _Call(machine, scope, has_vector_index(store))
        return store, scope, spec.plan(call, spec.args.model_validate(kwargs))

    def func(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        store, scope, plan = start(runtime, kwargs)
        key = data_key(spec.store, scope, machine.namespace_for(spec.store))
        with _model_fixable(), write_lock(key):
            return run_plan(store, plan)

    async def coroutine(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        store, scope, plan = start(runtime, kwargs)
        key = data_key(spec.store, scope, machine.namespace_for(spec.store))
        with _model_fixable():
            async with async_write_lock(key):
                return await arun_plan(store, plan)

    return StructuredTool(
        name=spec.name,
        description=spec.description,
        args_schema=schema,
        func=func,
        coroutine=coroutine,
        handle_tool_error=True,
        metadata={"learning_store": spec.store},
    )


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def _ids(items: Sequence[Any]) -> str:
    return ", ".join(i.id for i in items)


# -- user profile ---------------------------------------------------------------------------


def _profile_spec(machine: LearningMachine) -> _Spec:
    config = machine.config("user_profile")
    schema = config.schema if isinstance(config, UserProfileConfig) else None
    assert schema is not None
    fields: dict[str, Any] = {
        name: (Union[info.annotation, None], Field(default=None, description=info.description))  # noqa: UP007
        for name, info in schema.model_fields.items()
        if name in schema.profile_fields()
    }
    allowed = ", ".join(schema.profile_fields())
    args = create_model(
        "UpdateUserProfileArgs",
        __base__=_Args,
        **fields,
        clear=(
            list[str],
            Field(default_factory=list, description=f"Fields to erase, among: {allowed}."),
        ),
    )

    def plan(call: _Call, a: _Args) -> Plan[str]:
        given = a.model_dump(exclude={"clear"}, exclude_none=True)
        clear = list(getattr(a, "clear", []))
        if not given and not clear:
            raise LearningInputError(f"No profile field given; set one of: {allowed}.")
        user = call.scope.require_user("user_profile")
        changed = yield from user_profile.update_profile(
            user, call.provenance, set_fields=given, clear=clear, schema=schema
        )
        if not changed:
            return "Profile unchanged: it already says that."
        shown = ", ".join(
            f"{k}={'(cleared)' if v is None else quote(v)}" for k, v in changed.items()
        )
        return f"Profile updated: {shown}"

    return _Spec(
        "update_user_profile",
        "user_profile",
        "Update the user's profile when they state (or withdraw) one of its fields: "
        f"{allowed}. Pass only the fields that changed.",
        args,
        plan,
    )


# -- user memory ----------------------------------------------------------------------------


class _SaveMemoryArgs(_Args):
    text: str = Field(
        description="One durable observation about the user as a short third-person statement, "
        "e.g. 'Works as a data engineer at Stripe'."
    )
    memory_id: str | None = Field(
        default=None, description="Id (mem_...) of a memory to replace; omit to add a new one."
    )


def _save_user_memory(call: _Call, a: _SaveMemoryArgs) -> Plan[str]:
    user = call.scope.require_user("user_memory")
    if a.memory_id:
        memory = yield from user_memory.update_memory(user, a.memory_id, a.text, call.provenance)
        return f"Updated memory {memory.id}: {quote(memory.text)}"
    memory, created = yield from user_memory.add_memory(user, a.text, call.provenance)
    if not created:
        return f"Already remembered as {memory.id}: {quote(memory.text)}; nothing changed."
    return f"Saved memory {memory.id}: {quote(memory.text)}"


class _DeleteMemoryArgs(_Args):
    memory_id: str = Field(description="Id (mem_...) of the memory to delete.")


def _delete_user_memory(call: _Call, a: _DeleteMemoryArgs) -> Plan[str]:
    user = call.scope.require_user("user_memory")
    memory = yield from user_memory.delete_memory(user, a.memory_id)
    return f"Deleted memory {memory.id}: {quote(memory.text)}"


# -- entity memory --------------------------------------------------------------------------

_ENTITY = Field(description="The entity's name, an alias or its key, e.g. 'Acme' or 'acme'.")


def _label(e: Entity) -> str:
    return f"{e.entity_type} {e.key}"


def _describe(e: Entity) -> list[str]:
    lines = [f"{quote(e.name)} ({e.entity_type}) [key: {e.key}]"]
    if e.aliases:
        lines.append(f"   aliases: {', '.join(quote(a) for a in e.aliases)}")
    if e.description:
        lines.append(f"   description: {quote(e.description)}")
    lines += [
        f"   fact [{f.id}] {quote(f.text)} (as of {f.created_at.date().isoformat()})"
        for f in e.live_facts()[-10:]
    ]
    lines += [
        f"   event [{ev.id}] {quote(ev.text)}" + (f" ({ev.date})" if ev.date else "")
        for ev in e.events[-5:]
    ]
    for r in e.relationships:
        arrow = "->" if r.direction == "outgoing" else "<-"
        lines.append(f"   {r.relation} {arrow} {quote(r.entity_name)} [key: {r.entity_key}]")
    return lines


class _SearchEntitiesArgs(_Args):
    query: str | None = Field(
        default=None,
        description="Words to match against names, aliases, descriptions and facts; omit to "
        "list the most recently updated entities.",
    )
    entity_type: str | None = Field(
        default=None, description="Only entities of this type, e.g. 'person' or 'company'."
    )
    limit: int = Field(default=5, ge=1, le=20, description="How many entities to return.")


def _search_entities(call: _Call, a: _SearchEntitiesArgs) -> Plan[str]:
    found = yield from entity_memory.search_entities(
        call.entities(), a.query, entity_type=a.entity_type, limit=a.limit, indexed=call.indexed
    )
    what = f" matching {quote(a.query)}" if a.query and a.query.strip() else ""
    kind = f" of type {entity_memory.normalize_type(a.entity_type)}" if a.entity_type else ""
    if not found:
        return f"No entities{what}{kind}."
    lines = [f"Found {_plural(len(found), 'entity', 'entities')}{what}{kind}:"]
    for i, e in enumerate(found, 1):
        first, *rest = _describe(e)
        lines += [f"{i}. {first}", *rest]
    return "\n".join(lines)


class _CreateEntityArgs(_Args):
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


def _create_entity(call: _Call, a: _CreateEntityArgs) -> Plan[str]:
    entity, created = yield from entity_memory.create_entity(
        call.entities(),
        call.provenance,
        name=a.name,
        entity_type=a.entity_type,
        description=a.description,
        aliases=a.aliases,
        facts=a.facts,
    )
    new = [f for f in entity.live_facts() if any(f.text == t.strip() for t in a.facts)]
    recorded = f"; facts: {_ids(new)}" if new else ""
    if created:
        return f"Created {_label(entity)} ({quote(entity.name)}){recorded}"
    return f"{quote(entity.name)} already exists as {_label(entity)}; updated it{recorded}"


class _UpdateEntityArgs(_Args):
    entity: str = _ENTITY
    description: str | None = Field(default=None, description="A new one-line description.")
    entity_type: str | None = Field(default=None, description="A corrected entity type.")
    aliases: list[str] = Field(default_factory=list, description="Other names to add.")


def _update_entity(call: _Call, a: _UpdateEntityArgs) -> Plan[str]:
    entity = yield from entity_memory.update_entity(
        call.entities(),
        call.provenance,
        name=a.entity,
        description=a.description,
        entity_type=a.entity_type,
        aliases=a.aliases,
    )
    changed = [k for k in ("description", "entity_type", "aliases") if getattr(a, k)]
    return f"Updated {_label(entity)}: {', '.join(changed)}"


class _AddFactArgs(_Args):
    entity: str = _ENTITY
    fact: str = Field(description="One fact as a short statement, e.g. 'Uses Postgres 16'.")
    supersedes: list[str] = Field(
        default_factory=list,
        description="Ids (fact_...) of live facts this one corrects or replaces; they are retired.",
    )


def _same_fact(entity: Entity, text: str) -> Fact | None:
    return next((f for f in entity.live_facts() if fingerprint(f.text) == fingerprint(text)), None)


def _add_fact(call: _Call, a: _AddFactArgs) -> Plan[str]:
    entity, new, retired = yield from entity_memory.add_fact(
        call.entities(), call.provenance, name=a.entity, fact=a.fact, supersedes=a.supersedes
    )
    if new is None and not retired:
        known = _same_fact(entity, a.fact)
        return f"{_label(entity)} already has this fact ({known.id if known else '?'}); unchanged."
    parts = [f"recorded 1 fact ({new.id})" if new else "the fact was already recorded"]
    if retired:
        parts.append(f"retired {_ids(retired)}")
    return f"Updated {_label(entity)}: {'; '.join(parts)}"


class _RetireFactArgs(_Args):
    entity: str = _ENTITY
    fact_id: str = Field(description="Id (fact_...) of the fact that is no longer true.")


def _retire_fact(call: _Call, a: _RetireFactArgs) -> Plan[str]:
    entity, fact = yield from entity_memory.retire_fact(
        call.entities(), call.provenance, name=a.entity, fact_id=a.fact_id
    )
    return f"Retired {fact.id} of {_label(entity)}: {quote(fact.text)}"


class _AddEventArgs(_Args):
    entity: str = _ENTITY
    event: str = Field(description="What happened, e.g. 'Closed a Series B round'.")
    date: str | None = Field(default=None, description="When, e.g. '2024-03-01' or 'March 2024'.")


def _add_event(call: _Call, a: _AddEventArgs) -> Plan[str]:
    entity, event = yield from entity_memory.add_event(
        call.entities(), call.provenance, name=a.entity, event=a.event, date=a.date
    )
    if event is None:
        return f"{_label(entity)} already has this event; unchanged."
    return f"Recorded event {event.id} for {_label(entity)}"


class _LinkEntitiesArgs(_Args):
    entity: str = _ENTITY
    relation: str = Field(description="How it relates, e.g. 'works_at', 'depends_on', 'owns'.")
    other_entity: str = Field(
        description="The related entity's name or key; created if unknown (then create_entity "
        "or update_entity can give it a type)."
    )


def _link_entities(call: _Call, a: _LinkEntitiesArgs) -> Plan[str]:
    source, target = yield from entity_memory.link_entities(
        call.entities(), call.provenance, name=a.entity, relation=a.relation, other=a.other_entity
    )
    relation = "_".join(normalize_text(a.relation).split())
    return f"Linked {_label(source)} --[{relation}]--> {_label(target)} (stored on both)"


# -- learned knowledge ----------------------------------------------------------------------


class _SearchLearningsArgs(_Args):
    query: str = Field(description="What you need to know, in a few words.")
    limit: int = Field(default=5, ge=1, le=20, description="How many learnings to return.")


def _search_learnings(call: _Call, a: _SearchLearningsArgs) -> Plan[str]:
    found = yield from learned_knowledge.search_learnings(
        call.knowledge(), a.query, limit=a.limit, indexed=call.indexed
    )
    if not found:
        return "No relevant learnings found."
    return "\n".join(
        [f"Found {_plural(len(found), 'relevant learning')}:", *knowledge_lines(found)]
    )


class _SaveLearningArgs(_Args):
    title: str = Field(description="A short, specific title; saving an existing title updates it.")
    learning: str = Field(description="The insight itself: reusable, non-obvious, actionable.")
    context: str | None = Field(default=None, description="When it applies or where it came from.")
    tags: list[str] = Field(default_factory=list, description="A few keywords for search.")


def _save_learning(call: _Call, a: _SaveLearningArgs) -> Plan[str]:
    record, outcome = yield from learned_knowledge.save_learning(
        call.knowledge(),
        call.provenance,
        title=a.title,
        learning=a.learning,
        context=a.context,
        tags=a.tags,
    )
    if outcome == "updated":
        return f"Updated the existing learning {quote(record.title)} ({record.id})."
    if outcome == "unchanged":
        return f"Unchanged: the learning {quote(record.title)} ({record.id}) already says this."
    return f"Saved learning {quote(record.title)} ({record.id})."


# -- decision log ---------------------------------------------------------------------------


class _LogDecisionArgs(_Args):
    decision: str = Field(description="What was decided, in one sentence.")
    reasoning: str | None = Field(default=None, description="Why this option was chosen.")
    decision_type: str | None = Field(
        default=None, description="A category, e.g. 'tool_selection', 'approach', 'escalation'."
    )
    context: str | None = Field(default=None, description="The situation that called for it.")
    alternatives: list[str] = Field(default_factory=list, description="Options not chosen.")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How sure you are, from 0 to 1."
    )


def _log_decision(call: _Call, a: _LogDecisionArgs) -> Plan[str]:
    decision = Decision(**a.model_dump(), provenance=call.provenance)
    saved = yield from decision_log.log_decision(call.scope.agent_id, decision)
    return f"Logged decision {saved.id}: {quote(saved.decision)}"


class _RecordOutcomeArgs(_Args):
    decision_id: str = Field(description="Id (dec_...) that log_decision returned.")
    outcome: str = Field(description="What happened as a result.")
    outcome_quality: str | None = Field(
        default=None, description="How it turned out: 'good', 'bad' or 'mixed'."
    )


def _record_outcome(call: _Call, a: _RecordOutcomeArgs) -> Plan[str]:
    d = yield from decision_log.record_outcome(
        call.scope.agent_id,
        a.decision_id,
        a.outcome,
        call.provenance,
        outcome_quality=a.outcome_quality,
    )
    quality = f" ({d.outcome_quality})" if d.outcome_quality else ""
    return f"Recorded the outcome of {d.id}{quality}: {quote(d.outcome)}"


class _SearchDecisionsArgs(_Args):
    query: str | None = Field(default=None, description="Words to look for; omit for the newest.")
    decision_type: str | None = Field(default=None, description="Only decisions of this type.")
    days: float | None = Field(
        default=None, ge=0, description="Only decisions from the last this many days."
    )
    limit: int = Field(default=5, ge=1, le=20, description="How many decisions to return.")


def _search_decisions(call: _Call, a: _SearchDecisionsArgs) -> Plan[str]:
    found = yield from decision_log.search_decisions(
        call.scope.agent_id,
        query=a.query,
        decision_type=a.decision_type,
        days=a.days,
        limit=a.limit,
    )
    if not found:
        return "No matching decisions found."
    lines = [f"Found {_plural(len(found), 'decision')}:"]
    for d in found:
        kind = f" ({d.decision_type})" if d.decision_type else ""
        lines.append(f"- [{d.id}] {d.created_at.date().isoformat()}{kind} {quote(d.decision)}")
        if d.reasoning:
            lines.append(f"  reasoning: {quote(d.reasoning)}")
        if d.outcome:
            quality = f" ({d.outcome_quality})" if d.outcome_quality else ""
            lines.append(f"  outcome{quality}: {quote(d.outcome)}")
    return "\n".join(lines)


# -- the table ------------------------------------------------------------------------------

_SEARCH_TOOLS = frozenset({"search_entities", "search_learnings"})

_SPECS: dict[StoreName, tuple[_Spec, ...]] = {
    "user_memory": (
        _Spec(
            "save_user_memory",
            "user_memory",
            "Remember a durable fact about the user (role, preferences, ongoing work) for future "
            "conversations. To correct a memory, pass its id to replace it.",
            _SaveMemoryArgs,
            _save_user_memory,
        ),
        _Spec(
            "delete_user_memory",
            "user_memory",
            "Forget a memory about the user, by its id, when they retract it or ask you to.",
            _DeleteMemoryArgs,
            _delete_user_memory,
        ),
    ),
    "entity_memory": (
        _Spec(
            "search_entities",
            "entity_memory",
            "Search what is known about people, companies, projects and other entities, by "
            "name, alias, type or fact text. Shows entity keys and fact ids for the other tools.",
            _SearchEntitiesArgs,
            _search_entities,
        ),
        _Spec(
            "create_entity",
            "entity_memory",
            "Start remembering an entity (a person, company, project, ...) with its type, "
            "aliases and first facts. Search first: a known name only adds to the existing one.",
            _CreateEntityArgs,
            _create_entity,
        ),
        _Spec(
            "update_entity",
            "entity_memory",
            "Change an entity's description or type, or add other names (aliases) it goes by.",
            _UpdateEntityArgs,
            _update_entity,
        ),
        _Spec(
            "add_fact",
            "entity_memory",
            "Record a fact about a known entity. When it corrects or replaces older facts, pass "
            "their ids in supersedes: they are retired, not deleted.",
            _AddFactArgs,
            _add_fact,
        ),
        _Spec(
            "add_event",
            "entity_memory",
            "Record something that happened to a known entity, with its date when known.",
            _AddEventArgs,
            _add_event,
        ),
        _Spec(
            "link_entities",
            "entity_memory",
            "Record a relationship between two entities (e.g. Sarah works_at Acme); it is "
            "stored on both.",
            _LinkEntitiesArgs,
            _link_entities,
        ),
        _Spec(
            "retire_fact",
            "entity_memory",
            "Mark a fact of an entity as no longer true, by its id, when nothing replaces it.",
            _RetireFactArgs,
            _retire_fact,
        ),
    ),
    "learned_knowledge": (
        _Spec(
            "search_learnings",
            "learned_knowledge",
            "Search the shared knowledge base of learnings, most relevant first. Use it before "
            "answering how-to or policy questions and before saving a learning.",
            _SearchLearningsArgs,
            _search_learnings,
        ),
        _Spec(
            "save_learning",
            "learned_knowledge",
            "Save a reusable, non-obvious insight to the shared knowledge base, or anything the "
            "user asks you to remember for everyone. Search first; an existing title is updated.",
            _SaveLearningArgs,
            _save_learning,
        ),
    ),
    "decision_log": (
        _Spec(
            "log_decision",
            "decision_log",
            "Log a significant decision with its reasoning and the alternatives considered. "
            "Returns the decision id for record_outcome.",
            _LogDecisionArgs,
            _log_decision,
        ),
        _Spec(
            "record_outcome",
            "decision_log",
            "Record how a logged decision turned out, by its id.",
            _RecordOutcomeArgs,
            _record_outcome,
        ),
        _Spec(
            "search_decisions",
            "decision_log",
            "Search past decisions and their outcomes by text, type and age, newest first.",
            _SearchDecisionsArgs,
            _search_decisions,
        ),
    ),
}
