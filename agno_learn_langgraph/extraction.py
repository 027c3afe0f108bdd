"""ALWAYS mode: learn from each finished turn with one structured model call, off the critical path.

The core is LangGraph-free and shared by a sync and an async shell:

1. :func:`plan_prepare` (a store plan) reads the thread's extraction cursor, keeps the user and
   assistant messages after it (tool messages, tool-call-only AI messages and system messages
   never reach the model; at most ``machine.max_messages_per_extraction``), and loads the records
   the model needs to choose update versus add: the profile, the session context, the memories
   most relevant to the new messages (with ids), the entities they name (with live fact ids)
   and related learnings. The prompt is bounded whatever the conversation's length.
2. :func:`build_calls` (pure) turns that into one call per distinct extraction model: one
   prompt and one pydantic output schema built from the stores that model serves. By default
   every store uses the machine's model, so a turn costs ONE call for all stores; a store with
   its own ``model`` gets a separate call for the stores sharing that model.
3. The shells call the model (``with_structured_output``; a model without it gets a JSON prompt
   whose reply is parsed and validated), retried with exponential backoff on errors, timeouts
   and invalid output.
4. :func:`plan_apply` writes the validated changes through the store plans, with
   ``Provenance(mode="always")``; stores in PROPOSE mode get proposals instead. The cursor only
   moves after a successful apply, so messages a failed extraction missed are read next time.

:func:`create_extraction_node` is the LangGraph node; :func:`extract_learnings` /
:func:`aextract_learnings` run one extraction directly.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel, ConfigDict, Field, create_model

from agno_learn_langgraph.config import (
    EntityMemoryConfig,
    LearningMode,
    SessionContextConfig,
    StoreName,
    UserProfileConfig,
)
from agno_learn_langgraph.errors import LearningError, LearningInputError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.prompts import (
    ExtractionData,
    render_extraction_system,
    render_extraction_user,
    render_json_instructions,
)
from agno_learn_langgraph.records import (
    Entity,
    LearnedKnowledge,
    Memory,
    Provenance,
    SessionContext,
    UserProfile,
)
from agno_learn_langgraph.runtime import GraphNode, current_run
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import (
    entity_memory,
    learned_knowledge,
    session_context,
    user_memory,
    user_profile,
)
from agno_learn_langgraph.stores.base import (
    Plan,
    arun_plan,
    async_write_lock,
    data_key,
    gather_plans,
    has_vector_index,
    run_plan,
    write_lock,
)
from agno_learn_langgraph.stores.cursors import get_cursor, set_cursor

__all__ = [
    "ExtractionCall",
    "ExtractionFailedError",
    "ExtractionReport",
    "Prepared",
    "aextract_learnings",
    "aschedule_extraction",
    "build_calls",
    "build_output_schema",
    "create_extraction_node",
    "extract_learnings",
    "extraction_stores",
    "plan_apply",
    "plan_prepare",
    "resolve_models",
    "schedule_extraction",
    "select_new_messages",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXTRACTABLE: tuple[StoreName, ...] = (
    "user_profile",
    "user_memory",
    "session_context",
    "entity_memory",
    "learned_knowledge",
)
"""Stores with an extraction path (decision_log never extracts)."""

MEMORIES_IN_PROMPT = 30
ENTITIES_IN_PROMPT = 10
LEARNINGS_IN_PROMPT = 5
_QUERY_CHARS = 2000
_CALL_CONFIG: RunnableConfig = {
    "run_name": "learning_extraction",
    # "nostream": LangGraph's stream_mode="messages" must not show the extractor's tokens.
    "tags": ["nostream", "agno_learn:extraction"],
}


class ExtractionFailedError(LearningError):
    """Every attempt of an extraction model call failed (raised inside background jobs only)."""


# -- which stores, which messages ---------------------------------------------------------------


def extraction_stores(machine: LearningMachine) -> tuple[StoreName, ...]:
    """The stores extraction serves: those in ALWAYS or PROPOSE mode, in canonical order."""
    modes = (LearningMode.ALWAYS, LearningMode.PROPOSE)
    return tuple(s for s, c in machine.stores.items() if c.mode in modes and s in EXTRACTABLE)


def check_scope(machine: LearningMachine, stores: Sequence[StoreName], scope: Scope) -> None:
    """Raise :class:`MissingScopeError` now for an id a store will need (not in the background)."""
    for store in stores:
        if store in ("user_profile", "user_memory"):
            scope.require_user(store)
        elif store == "session_context":
            scope.require_thread(store)
        elif machine.namespace_for(store) == "user":
            scope.require_user(f"{store} (namespace='user')")


def _text(message: BaseMessage) -> str:
    text: Any = message.text
    return str(text if isinstance(text, str) else text()).strip()


def conversation_entry(message: BaseMessage) -> tuple[str, str] | None:
    """``("user"|"assistant", text)`` for a message extraction may read, else ``None``.

    Tool messages, system messages, AI messages that only call tools and the approval step's
    review outcome are dropped.
    """
    if isinstance(message, HumanMessage):
        if message.name == "learning_review":  # approval.REVIEW_MESSAGE_NAME: not user's words
            return None
        role = "user"
    elif isinstance(message, AIMessage):
        role = "assistant"
    else:
        return None
    text = _text(message)
    return (role, text) if text else None


def select_new_messages(
    messages: Sequence[BaseMessage], cursor: str | None, cap: int
) -> tuple[list[tuple[str, str]], str | None]:
    """The conversation entries after the message with id ``cursor``, and the new cursor.

    A cursor not found among ``messages`` (e.g. trimmed history) means all of them are new.
    Only the newest ``cap`` entries are kept (``cap <= 0``: no cap). The new cursor is the id of
    the last message that has one, tool messages included.
    """
    start = 0
    if cursor is not None:
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].id == cursor:
                start = i + 1
                break
    entries = [e for m in messages[start:] if (e := conversation_entry(m)) is not None]
    if cap > 0:
        entries = entries[-cap:]
    last_id = next((str(m.id) for m in reversed(messages) if m.id), None)
    return entries, last_id


# -- the output schema ---------------------------------------------------------------------------


class MemoryEdit(BaseModel):
    """A new full text for the memory with this id."""

    id: str = Field(description="The id of an existing memory, e.g. mem_1a2b3c4d5e6f")
    text: str = Field(description="The memory's complete new text")


class MemoryChanges(BaseModel):
    """Changes to the user's memories."""

    add: list[str] = Field(default_factory=list, description="New, distinct memories")
    update: list[MemoryEdit] = Field(default_factory=list, description="Memories to rewrite")
    delete: list[str] = Field(default_factory=list, description="Ids of memories to delete")


class SessionUpdate(BaseModel):
    """The thread's new summary."""

    summary: str = Field(description="The updated summary of the whole thread")


class PlanningSessionUpdate(SessionUpdate):
    """The thread's new summary, goal, plan and progress."""

    goal: str | None = Field(default=None, description="The session goal (null: unchanged)")
    plan: list[str] | None = Field(default=None, description="Ordered steps (null: unchanged)")
    progress: list[str] | None = Field(
        default=None, description="Completed steps (null: unchanged)"
    )


class EntityChanges(BaseModel):
    """New facts about one entity."""

    entity: str = Field(description="The entity's name")
    entity_type: str = Field(default="unknown", description="person, company, project, ...")
    facts: list[str] = Field(default_factory=list, description="New short factual statements")
    supersedes: list[str] = Field(
        default_factory=list, description="Ids of live facts the new facts contradict"
    )


class LearningItem(BaseModel):
    """A reusable insight."""

    title: str
    learning: str
    context: str | None = Field(default=None, description="When it applies")
    tags: list[str] = Field(default_factory=list)


@lru_cache(maxsize=64)
def build_output_schema(
    stores: tuple[StoreName, ...],
    profile_schema: type[UserProfile] = UserProfile,
    planning: bool = False,
) -> type[BaseModel]:
    """The pydantic model one extraction call returns, with a field per store in ``stores``.

    >>> schema = build_output_schema(("user_profile", "user_memory"))
    >>> sorted(schema.model_fields)
    ['memories', 'profile']
    >>> schema.model_validate({"profile": {"set": {"name": "Ann"}}}).profile.set.name
    'Ann'
    """
    fields: dict[str, Any] = {}
    if "user_profile" in stores:
        names = profile_schema.profile_fields()
        values = {
            name: (
                profile_schema.model_fields[name].annotation | None,  # type: ignore[operator]
                Field(default=None, description=desc),
            )
            for name, desc in names.items()
        }
        field_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "ProfileFields", __config__=ConfigDict(extra="forbid"), **values
        )
        clear_type: Any = list[Literal[tuple(names)]]  # type: ignore[misc]
        profile_model = create_model(
            "ProfileChanges",
            set=(field_model, Field(default_factory=field_model, description="Fields to set")),
            clear=(clear_type, Field(default_factory=list, description="Fields to empty")),
        )
        fields["profile"] = (profile_model | None, None)
    if "user_memory" in stores:
        fields["memories"] = (MemoryChanges | None, None)
    if "session_context" in stores:
        fields["session"] = ((PlanningSessionUpdate if planning else SessionUpdate) | None, None)
    if "entity_memory" in stores:
        fields["entities"] = (list[EntityChanges], Field(default_factory=list))
    if "learned_knowledge" in stores:
        fields["learnings"] = (list[LearningItem], Field(default_factory=list))
    model: type[BaseModel] = create_model(
        "LearningUpdates", __doc__="Changes to the learning stores.", **fields
    )
    return model


# -- prepare: cursor, new messages and the records the model needs ------------------------------


@dataclass
class Prepared:
    """What one extraction read from the store and the thread (input of :func:`build_calls`)."""

    transcript: list[tuple[str, str]]
    last_id: str | None
    cursor: str | None
    profile: UserProfile | None = None
    memories: list[Memory] = field(default_factory=list)
    session: SessionContext | None = None
    entities: list[Entity] = field(default_factory=list)
    knowledge: list[LearnedKnowledge] = field(default_factory=list)


def _nothing() -> Plan[Any]:
    return None
    yield  # pragma: no cover - makes this a generator


def _profile_schema(machine: LearningMachine) -> type[UserProfile]:
    config = machine.config("user_profile")
    return config.schema if isinstance(config, UserProfileConfig) else UserProfile


def plan_prepare(
    machine: LearningMachine,
    scope: Scope,
    messages: Sequence[BaseMessage],
    stores: Sequence[StoreName],
    *,
    indexed: bool,
) -> Plan[Prepared]:
    """Read the cursor, pick the new messages, then load the records relevant to them."""
    cursor = (yield from get_cursor(scope.thread_id)) if scope.thread_id else None
    transcript, last_id = select_new_messages(messages, cursor, machine.max_messages_per_extraction)
    prepared = Prepared(transcript=transcript, last_id=last_id, cursor=cursor)
    if not transcript:
        return prepared
    query = " ".join(text for _, text in transcript)[-_QUERY_CHARS:]
    plans: dict[str, Plan[Any]] = {}
    if "user_profile" in stores:
        plans["profile"] = user_profile.get_profile(
            scope.require_user("user_profile"), _profile_schema(machine)
        )
    if "user_memory" in stores:
        plans["memories"] = user_memory.relevant_memories(
            scope.require_user("user_memory"), query, limit=MEMORIES_IN_PROMPT, indexed=indexed
        )
    if "session_context" in stores:
        plans["session"] = session_context.get_session_context(
            scope.require_thread("session_context")
        )
    if "entity_memory" in stores:
        ns = entity_memory.entity_namespaces(machine.namespace_for("entity_memory"), scope)
        plans["entities"] = entity_memory.relevant_entities(
            ns, query, limit=ENTITIES_IN_PROMPT, indexed=indexed
        )
    if "learned_knowledge" in stores:
        kns = learned_knowledge.knowledge_namespace(
            machine.namespace_for("learned_knowledge"), scope
        )
        plans["knowledge"] = learned_knowledge.search_learnings(
            kns, query, limit=LEARNINGS_IN_PROMPT, indexed=indexed
        )
    results = yield from gather_plans(*plans.values())
    found = dict(zip(plans, results, strict=True))
    prepared.profile = found.get("profile")
    prepared.memories = list(found.get("memories") or [])
    prepared.session = found.get("session")
    prepared.entities = list(found.get("entities") or [])
    prepared.knowledge = list(found.get("knowledge") or [])
    return prepared


# -- build: one call per distinct model -------------------------------------------------------


@dataclass
class ExtractionCall:
    """One model call: the stores it serves, its model, output schema and prompt."""

    stores: tuple[StoreName, ...]
    model: BaseChatModel
    schema: type[BaseModel]
    system: str
    user: str

    def messages(self, *, json_mode: bool = False) -> list[BaseMessage]:
        """The messages to send (with JSON instructions for models without structured output)."""
        system = self.system
        if json_mode:
            schema = json.dumps(self.schema.model_json_schema(), separators=(",", ":"))
            system = f"{system}\n\n{render_json_instructions(schema)}"
        return [SystemMessage(system), HumanMessage(self.user)]


def resolve_models(
    machine: LearningMachine, stores: Sequence[StoreName], model: BaseChatModel | None = None
) -> dict[StoreName, BaseChatModel]:
    """The model of each store: its config's, else ``model``, else the machine's.

    Raises:
        ValueError: a store has no model at all.
    """
    out: dict[StoreName, BaseChatModel] = {}
    for store in stores:
        config = machine.config(store)
        found = (config.model if config else None) or model or machine.model
        if found is None:
            raise ValueError(
                f"ALWAYS/PROPOSE extraction for {store} needs a chat model, and none is set. "
                "Pass one: LearningMachine(model=...), a store config's model=, "
                "create_extraction_node(machine, model=...), or extraction_model= of "
                "create_learning_agent_node / LearningMiddleware."
            )
        out[store] = found
    return out


def build_calls(
    machine: LearningMachine,
    prepared: Prepared,
    models: Mapping[StoreName, BaseChatModel],
) -> list[ExtractionCall]:
    """Group the stores by model and render one prompt and schema per group (pure)."""
    groups: dict[int, list[StoreName]] = {}
    for store, model in models.items():
        groups.setdefault(id(model), []).append(store)
    proposing = machine.stores_in_mode(LearningMode.PROPOSE)
    session_cfg = machine.config("session_context")
    planning = isinstance(session_cfg, SessionContextConfig) and session_cfg.enable_planning
    entity_cfg = machine.config("entity_memory")
    profile_schema = _profile_schema(machine)
    calls = []
    for group in groups.values():
        stores = tuple(group)
        configs = {s: machine.stores[s] for s in stores}
        only = configs[stores[0]] if len(stores) == 1 else None
        data = ExtractionData(
            stores=stores,
            transcript=prepared.transcript,
            profile_fields=profile_schema.profile_fields(),
            profile=prepared.profile.filled() if prepared.profile else None,
            memories=prepared.memories,
            session=prepared.session,
            planning=planning,
            entities=prepared.entities,
            knowledge=prepared.knowledge,
            proposing=[s for s in stores if s in proposing],
            instructions={s: c.instructions for s, c in configs.items() if c.instructions},
            additional_instructions={
                s: c.additional_instructions
                for s, c in configs.items()
                if c.additional_instructions
            },
            system_message=only.system_message if only else None,
            max_facts_per_entity=(
                entity_cfg.max_facts_per_entity
                if isinstance(entity_cfg, EntityMemoryConfig)
                else 10
            ),
        )
        calls.append(
            ExtractionCall(
                stores=stores,
                model=models[stores[0]],
                schema=build_output_schema(stores, profile_schema, planning),
                system=render_extraction_system(data),
                user=render_extraction_user(data),
            )
        )
    return calls


# -- parse ------------------------------------------------------------------------------------

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_json_reply(schema: type[BaseModel], reply: BaseMessage) -> BaseModel:
    """Validate a JSON reply (code fences and surrounding prose tolerated) against ``schema``.

    Raises:
        ValueError: no JSON object in the reply, or one that does not fit (``ValidationError``).
    """
    text = _FENCE.sub("", _text(reply))
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"The extraction model's reply holds no JSON object: {text[:200]!r}")
    return schema.model_validate_json(text[start : end + 1])


def _validated(schema: type[BaseModel], value: Any) -> BaseModel:
    if isinstance(value, schema):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if value is None:
        raise ValueError("The extraction model returned no structured output.")
    return schema.model_validate(value)


# -- apply: validated changes -> store plans ------------------------------------------------------


@dataclass
class ExtractionReport:
    """What one extraction did.

    Attributes:
        status: ``applied``, ``nothing_new`` (no user/assistant message since the cursor) or
            ``failed`` (every model attempt failed; nothing was written, the cursor did not move).
        messages: conversation messages read.
        calls: model calls made, retries included.
        changes: one line per change written (or proposed).
        error: the last error, when failed.
    """

    status: Literal["applied", "nothing_new", "failed"]
    messages: int = 0
    calls: int = 0
    changes: list[str] = field(default_factory=list)
    error: str | None = None


def _try(plan: Plan[T], what: str, changes: list[str]) -> Plan[T | None]:
    """Run ``plan``; a :class:`LearningInputError` (bad item from the model) is logged, skipped."""
    try:
        return (yield from plan)
    except LearningInputError as exc:
        logger.info("Extraction skipped %s: %s", what, exc)
        changes.append(f"skipped {what}: {exc}")
        return None


def _propose(
    machine: LearningMachine,
    scope: Scope,
    store: StoreName,
    content: dict[str, Any],
    changes: list[str],
) -> Plan[None]:
    """Store ``content`` as a proposal for ``store`` (PROPOSE mode), noting the outcome."""
    from agno_learn_langgraph.approval import plan_propose

    plan = plan_propose(
        machine,
        scope,
        store=store,
        content=content,
        rationale="Extracted from the conversation after the agent's reply.",
        proposed_by="always",
    )
    result = yield from _try(plan, f"{store} proposal", changes)
    if result is not None:
        proposal, outcome = result
        changes.append(f"proposal {proposal.id} for {store}: {outcome}")


def plan_apply(
    machine: LearningMachine,
    scope: Scope,
    prepared: Prepared,
    outputs: Sequence[BaseModel],
) -> Plan[ExtractionReport]:
    """Write validated extraction outputs through the store plans, then move the cursor.

    Unknown memory or fact ids and empty items are logged and skipped; store errors propagate
    (and the cursor stays, so the next extraction retries these messages).
    """
    prov = Provenance(
        mode="always", thread_id=scope.thread_id, agent_id=scope.agent_id, user_id=scope.user_id
    )
    proposing = set(machine.stores_in_mode(LearningMode.PROPOSE))
    changes: list[str] = []
    out: dict[str, Any] = {}
    for output in outputs:
        out.update({k: getattr(output, k) for k in type(output).model_fields})

    profile = out.get("profile")
    if profile is not None:
        values = profile.set.model_dump(exclude_none=True)
        if "user_profile" in proposing:
            for name, value in values.items():
                content = {"field": name, "value": value}
                yield from _propose(machine, scope, "user_profile", content, changes)
        elif values or profile.clear:
            changed = yield from _try(
                user_profile.update_profile(
                    scope.require_user("user_profile"),
                    prov,
                    set_fields=values,
                    clear=profile.clear,
                    schema=_profile_schema(machine),
                ),
                "profile update",
                changes,
            )
            changes += [f"profile {k} = {v!r}" for k, v in (changed or {}).items()]

    memories = out.get("memories")
    if memories is not None:
        if "user_memory" in proposing:
            for text in memories.add:
                yield from _propose(machine, scope, "user_memory", {"text": text}, changes)
        else:
            user_id = scope.require_user("user_memory")
            for edit in memories.update:
                memory = yield from _try(
                    user_memory.update_memory(user_id, edit.id, edit.text, prov),
                    f"memory update {edit.id!r}",
                    changes,
                )
                if memory is not None:
                    changes.append(f"updated memory {edit.id}")
            for memory_id in memories.delete:
                gone = yield from _try(
                    user_memory.delete_memory(user_id, memory_id),
                    f"memory delete {memory_id!r}",
                    changes,
                )
                if gone is not None:
                    changes.append(f"deleted memory {memory_id}")
            for text in memories.add:
                added = yield from _try(user_memory.add_memory(user_id, text, prov), "", changes)
                if added is not None and added[1]:
                    changes.append(f"added memory {added[0].id}")

    session = out.get("session")
    if session is not None and session.summary.strip():
        yield from session_context.save_session_context(
            scope.require_thread("session_context"),
            prov,
            summary=session.summary,
            goal=getattr(session, "goal", None),
            plan=getattr(session, "plan", None),
            progress=getattr(session, "progress", None),
        )
        changes.append("session context saved")

    for item in out.get("entities") or []:
        facts = [f.strip() for f in item.facts if f.strip()]
        if "entity_memory" in proposing:
            for fact in facts:
                content = {"entity": item.entity, "entity_type": item.entity_type, "fact": fact}
                yield from _propose(machine, scope, "entity_memory", content, changes)
            continue
        ns = entity_memory.entity_namespaces(machine.namespace_for("entity_memory"), scope)
        first, rest = (facts[0], facts[1:]) if item.supersedes and facts else (None, facts)
        created = yield from _try(
            entity_memory.create_entity(
                ns, prov, name=item.entity, entity_type=item.entity_type, facts=rest
            ),
            f"entity {item.entity!r}",
            changes,
        )
        if created is None:
            continue
        entity = created[0]
        changes.append(f"entity {entity.key}: {len(rest)} fact(s)")
        live = {f.id for f in entity.live_facts()}
        unknown = [i for i in item.supersedes if i not in live]
        if unknown:
            logger.info("Extraction ignored unknown fact id(s) %s of %s.", unknown, entity.name)
        supersedes = [i for i in item.supersedes if i in live]
        if first is not None:
            fact_added = yield from _try(
                entity_memory.add_fact(
                    ns, prov, name=entity.name, fact=first, supersedes=supersedes
                ),
                f"fact about {entity.name!r}",
                changes,
            )
            if fact_added is not None:
                changes.append(f"fact on {entity.key} superseding {supersedes}")
        else:
            for fact_id in supersedes:
                yield from _try(
                    entity_memory.retire_fact(ns, prov, name=entity.name, fact_id=fact_id),
                    f"retire {fact_id!r}",
                    changes,
                )

    for item in out.get("learnings") or []:
        content = {
            "title": item.title,
            "learning": item.learning,
            "context": item.context,
            "tags": item.tags,
        }
        if "learned_knowledge" in proposing:
            yield from _propose(machine, scope, "learned_knowledge", content, changes)
            continue
        kns = learned_knowledge.knowledge_namespace(
            machine.namespace_for("learned_knowledge"), scope
        )
        saved = yield from _try(
            learned_knowledge.save_learning(kns, prov, **content), "learning", changes
        )
        if saved is not None:
            changes.append(f"learning {saved[0].id} {saved[1]}")

    if scope.thread_id and prepared.last_id and prepared.last_id != prepared.cursor:
        yield from set_cursor(scope.thread_id, prepared.last_id)
    return ExtractionReport("applied", messages=len(prepared.transcript), changes=changes)


def plan_skip(scope: Scope, prepared: Prepared) -> Plan[ExtractionReport]:
    """Nothing to read: move the cursor past tool messages so they are not scanned again."""
    if scope.thread_id and prepared.last_id and prepared.last_id != prepared.cursor:
        yield from set_cursor(scope.thread_id, prepared.last_id)
    return ExtractionReport("nothing_new")


# -- the sync and async shells ------------------------------------------------------------------


def _with_timeout(fn: Callable[[], T], timeout: float) -> T:
    """Run ``fn`` in a helper thread (same contextvars) and give up after ``timeout`` seconds.

    A sync model call cannot be interrupted: on timeout the helper thread is left to finish on
    its own and its result is discarded.
    """
    if timeout <= 0:
        return fn()
    box: dict[str, Any] = {}
    done = threading.Event()
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="agno-learn-llm-call", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"The extraction model call took longer than {timeout} s.")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _structured(call: ExtractionCall) -> Any:
    try:
        return call.model.with_structured_output(call.schema)
    except NotImplementedError:
        logger.debug("%s has no structured output; using the JSON prompt.", type(call.model))
        return None


def _retry_delay(
    machine: LearningMachine, call: ExtractionCall, attempt: int, exc: BaseException
) -> float:
    """Log a failed attempt (0-based) and return the backoff before the next one.

    Raises:
        ExtractionFailedError: that was the last attempt.
    """
    total = machine.max_retries + 1
    logger.warning(
        "Extraction call for %s failed (attempt %d of %d): %s: %s",
        ", ".join(call.stores),
        attempt + 1,
        total,
        type(exc).__name__,
        exc,
    )
    if attempt + 1 == total:
        raise ExtractionFailedError(
            f"Extraction for {', '.join(call.stores)} failed after {total} attempt(s): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return machine.retry_backoff_s * 2**attempt


def _invoke(machine: LearningMachine, call: ExtractionCall, counter: list[int]) -> BaseModel:
    runnable = _structured(call)
    total = machine.max_retries + 1
    for attempt in range(total):
        counter[0] += 1
        try:
            if runnable is not None:
                try:
                    value = _with_timeout(
                        functools.partial(runnable.invoke, call.messages(), _CALL_CONFIG),
                        machine.extraction_timeout_s,
                    )
                    return _validated(call.schema, value)
                except NotImplementedError:
                    runnable = None
            reply = _with_timeout(
                lambda: call.model.invoke(call.messages(json_mode=True), _CALL_CONFIG),
                machine.extraction_timeout_s,
            )
            return parse_json_reply(call.schema, reply)
        except Exception as exc:
            time.sleep(_retry_delay(machine, call, attempt, exc))
    raise AssertionError("unreachable")  # pragma: no cover


async def _ainvoke(machine: LearningMachine, call: ExtractionCall, counter: list[int]) -> BaseModel:
    runnable = _structured(call)
    total = machine.max_retries + 1
    timeout = machine.extraction_timeout_s if machine.extraction_timeout_s > 0 else None
    for attempt in range(total):
        counter[0] += 1
        try:
            if runnable is not None:
                try:
                    value = await asyncio.wait_for(
                        runnable.ainvoke(call.messages(), _CALL_CONFIG), timeout
                    )
                    return _validated(call.schema, value)
                except NotImplementedError:
                    runnable = None
            reply = await asyncio.wait_for(
                call.model.ainvoke(call.messages(json_mode=True), _CALL_CONFIG), timeout
            )
            return parse_json_reply(call.schema, reply)
        except Exception as exc:
            await asyncio.sleep(_retry_delay(machine, call, attempt, exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _data_keys(
    machine: LearningMachine, stores: Sequence[StoreName], scope: Scope
) -> list[Hashable]:
    """The write locks an apply takes: the same keys as the tools writing those stores."""
    return [data_key(s, scope, machine.namespace_for(s)) for s in stores]


def _start(
    machine: LearningMachine, scope: Scope, model: BaseChatModel | None
) -> tuple[tuple[StoreName, ...], dict[StoreName, BaseChatModel]]:
    stores = extraction_stores(machine)
    check_scope(machine, stores, scope)
    return stores, resolve_models(machine, stores, model)


def extract_learnings(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
) -> ExtractionReport:
    """Extract what the messages since the thread's cursor teach, for every extracting store.

    Model failures are retried, logged and reported (``status="failed"``), never raised; the
    cursor then stays, so the next extraction reads these messages again.

    Args:
        messages: the thread's messages (ids as given by ``add_messages``), reply included.
        model: replaces the machine's model (a store config's own model still wins).

    Raises:
        MissingScopeError: a store needs a user or thread id ``scope`` lacks.
        ValueError: no extraction model is configured.
    """
    stores, models = _start(machine, scope, model)
    if not stores:
        return ExtractionReport("nothing_new")
    indexed = has_vector_index(store)
    prepared = run_plan(store, plan_prepare(machine, scope, messages, stores, indexed=indexed))
    if not prepared.transcript:
        return run_plan(store, plan_skip(scope, prepared))
    counter = [0]
    try:
        outputs = [_invoke(machine, c, counter) for c in build_calls(machine, prepared, models)]
    except ExtractionFailedError as exc:
        return ExtractionReport("failed", len(prepared.transcript), counter[0], error=str(exc))
    with write_lock(*_data_keys(machine, stores, scope)):
        report = run_plan(store, plan_apply(machine, scope, prepared, outputs))
    report.calls = counter[0]
    return report


async def aextract_learnings(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
) -> ExtractionReport:
    """Async twin of :func:`extract_learnings`."""
    stores, models = _start(machine, scope, model)
    if not stores:
        return ExtractionReport("nothing_new")
    indexed = has_vector_index(store)
    plan = plan_prepare(machine, scope, messages, stores, indexed=indexed)
    prepared = await arun_plan(store, plan)
    if not prepared.transcript:
        return await arun_plan(store, plan_skip(scope, prepared))
    counter = [0]
    try:
        outputs = [
            await _ainvoke(machine, c, counter) for c in build_calls(machine, prepared, models)
        ]
    except ExtractionFailedError as exc:
        return ExtractionReport("failed", len(prepared.transcript), counter[0], error=str(exc))
    async with async_write_lock(*_data_keys(machine, stores, scope)):
        report = await arun_plan(store, plan_apply(machine, scope, prepared, outputs))
    report.calls = counter[0]
    return report


# -- the LangGraph node ---------------------------------------------------------------------------


_STORE_LOCKS: weakref.WeakKeyDictionary[BaseStore, threading.RLock] = weakref.WeakKeyDictionary()


class _LockedInMemoryStore(InMemoryStore):
    """An ``InMemoryStore`` whose ``batch`` holds a per-instance lock."""

    __slots__ = ()

    def batch(self, ops: Any) -> list[Any]:
        with _STORE_LOCKS[self]:
            return super().batch(ops)


def guard_in_memory_store(store: BaseStore) -> None:
    """Make an ``InMemoryStore``'s sync ``batch`` hold a lock (once per instance).

    ``InMemoryStore`` is not thread-safe: a background extraction writing from a worker thread
    while the next turn's recall searches the same namespace raises "dictionary changed size
    during iteration". The instance's class is switched to a subclass whose ``batch`` takes a
    per-instance lock (``isinstance(store, InMemoryStore)`` still holds; ``InMemoryStore`` has
    ``__slots__``, so its method cannot be replaced on the instance). Database stores and
    subclasses of ``InMemoryStore`` are left alone.
    """
    if type(store) is InMemoryStore:
        _STORE_LOCKS.setdefault(store, threading.RLock())
        store.__class__ = _LockedInMemoryStore


def _raise_if_failed(report: ExtractionReport) -> ExtractionReport:
    if report.status == "failed":
        raise ExtractionFailedError(report.error or "extraction failed")
    return report


def _key(scope: Scope) -> str:
    return scope.thread_id or f"user:{scope.user_id or ''}"


def schedule_extraction(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
) -> None:
    """Check the ids now, then extract in the background (``machine.runner``) or inline.

    The shared door of the extraction node and the ``create_agent`` middleware: ``messages``
    is snapshotted; failures are logged, never raised (inline ones included).

    Raises:
        MissingScopeError: a store needs a user or thread id ``scope`` lacks.
        ValueError: no extraction model is configured.
    """
    stores, _ = _start(machine, scope, model)
    if not stores:
        return
    snapshot = list(messages)

    def job() -> None:
        _raise_if_failed(extract_learnings(machine, store, scope, snapshot, model=model))

    if machine.background if background is None else background:
        guard_in_memory_store(store)
        machine.runner.submit(_key(scope), job)
        return
    try:
        job()
    except Exception:
        logger.exception("Extraction failed; the next turn's extraction retries it.")


async def aschedule_extraction(
    machine: LearningMachine,
    store: BaseStore,
    scope: Scope,
    messages: Sequence[BaseMessage],
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
) -> None:
    """Async twin of :func:`schedule_extraction`: a task on the running loop, or inline."""
    stores, _ = _start(machine, scope, model)
    if not stores:
        return
    snapshot = list(messages)

    async def job() -> None:
        _raise_if_failed(await aextract_learnings(machine, store, scope, snapshot, model=model))

    if machine.background if background is None else background:
        await machine.runner.asubmit(_key(scope), job)
        return
    try:
        await job()
    except Exception:
        logger.exception("Extraction failed; the next turn's extraction retries it.")


def create_extraction_node(
    machine: LearningMachine,
    *,
    model: BaseChatModel | None = None,
    background: bool | None = None,
    name: str = "learn",
) -> GraphNode:
    """A node that learns from the finished turn; place it after the agent's final response.

    It reads ``state["messages"]`` (the reply included), checks the store and the ids at once,
    and by default schedules the extraction on ``machine.runner`` keyed by thread and returns
    ``{}`` immediately, so the turn's latency does not change. Sync graphs run the job on a
    worker thread (sync store calls); async graphs as a task on their loop (``abatch``). The job
    never touches the LangGraph run, which is over by then; it writes only to the store. An
    ``InMemoryStore`` of a sync graph gets a lock around its ``batch`` (see
    :func:`guard_in_memory_store`), as it is not thread-safe.

    When the next turn of the same thread starts before the extraction finished, recall proceeds
    without it by default (``LearningMachine(wait_for_extraction_s=0)``); with
    ``wait_for_extraction_s > 0`` recall first waits up to that long for this process's pending
    job of the thread. Call ``machine.flush()`` / ``await machine.aflush()`` in tests and before
    exit (an ``atexit`` hook also flushes sync jobs, bounded).

    Args:
        model: the extraction model, instead of the machine's (a store's own model still wins).
        background: ``False`` extracts inside the node (tests, scripts); ``machine.background``
            when omitted. Failures are logged either way, never raised into the turn.
        name: the node name used in error messages.

    Raises:
        ValueError: no extraction model (pass ``model=`` or ``LearningMachine(model=...)``).
        StoreUnavailableError: (at run time) the graph was compiled without a store.
        MissingScopeError: (at run time) a store needs a user or thread id the run lacks.
    """
    stores = extraction_stores(machine)
    if stores:
        resolve_models(machine, stores, model)
    else:
        logger.warning(
            "%s: no store is in ALWAYS or PROPOSE mode, so this extraction node does nothing.", name
        )

    def learn(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        if stores:
            store, scope = current_run(name, config)
            messages = state.get("messages") or []
            schedule_extraction(machine, store, scope, messages, model=model, background=background)
        return {}

    async def alearn(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        if stores:
            store, scope = current_run(name, config)
            messages = state.get("messages") or []
            await aschedule_extraction(
                machine, store, scope, messages, model=model, background=background
            )
        return {}

    return GraphNode(learn, alearn, name)
