"""Recall: read what every enabled store knows for a turn and render the system-prompt section.

>>> from langgraph.store.memory import InMemoryStore
>>> from agno_learn_langgraph import LearningMachine, Scope, build_learning_context
>>> machine = LearningMachine(user_memory=True)
>>> build_learning_context(machine, InMemoryStore(), Scope(user_id="ann"), query="hi")
''
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langgraph.store.base import BaseStore

from agno_learn_langgraph.config import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMode,
    UserMemoryConfig,
    UserProfileConfig,
)
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.prompts import RecallData, render_learning_context, render_tool_guidance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import (
    decision_log,
    entity_memory,
    learned_knowledge,
    proposals,
    session_context,
    user_memory,
    user_profile,
)
from agno_learn_langgraph.stores.base import (
    Plan,
    arun_plan,
    gather_plans,
    has_vector_index,
    run_plan,
)

__all__ = [
    "abuild_learning_context",
    "arecall",
    "build_learning_context",
    "last_user_text",
    "plan_recall",
    "recall",
]


def last_user_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the latest human message (what recall ranks relevance against)."""
    for item in reversed(messages):
        # a Send's input may hold ("user", "...") tuples or dicts, not yet messages
        message = item if isinstance(item, BaseMessage) else convert_to_messages([item])[0]
        if message.type == "human":
            return message.text if isinstance(message.text, str) else message.text()
    return ""


def _nothing() -> Plan[Any]:
    return None
    yield  # pragma: no cover - makes this a generator


def plan_recall(
    machine: LearningMachine, scope: Scope, query: str, *, indexed: bool
) -> Plan[RecallData]:
    """Read every enabled store for one turn in a single batch round trip (two with aliases).

    Raises:
        MissingScopeError: a store needs a user or thread id that ``scope`` lacks.
    """
    cfg = machine.stores
    plans: dict[str, Plan[Any]] = {}
    if isinstance(up := cfg.get("user_profile"), UserProfileConfig):
        plans["profile"] = user_profile.get_profile(scope.require_user("user_profile"), up.schema)
    if isinstance(um := cfg.get("user_memory"), UserMemoryConfig):
        plans["memories"] = user_memory.relevant_memories(
            scope.require_user("user_memory"),
            query,
            limit=um.max_memories_in_context,
            indexed=indexed,
        )
    if "session_context" in cfg:
        plans["session"] = session_context.get_session_context(
            scope.require_thread("session_context")
        )
    if isinstance(em := cfg.get("entity_memory"), EntityMemoryConfig):
        ns = entity_memory.entity_namespaces(machine.namespace_for("entity_memory"), scope)
        plans["entities"] = entity_memory.relevant_entities(
            ns, query, limit=em.max_entities_in_context, indexed=indexed
        )
    if isinstance(lk := cfg.get("learned_knowledge"), LearnedKnowledgeConfig):
        kns = learned_knowledge.knowledge_namespace(
            machine.namespace_for("learned_knowledge"), scope
        )
        plans["knowledge"] = (
            learned_knowledge.search_learnings(
                kns, query, limit=lk.max_learnings_in_context, indexed=indexed
            )
            if query.strip()
            else _nothing()
        )
    if isinstance(dl := cfg.get("decision_log"), DecisionLogConfig):
        plans["decisions"] = decision_log.recent_decisions(
            scope.agent_id, limit=dl.max_decisions_in_context
        )
    if machine.stores_in_mode(LearningMode.PROPOSE) and (scope.thread_id or scope.user_id):
        plans["pending"] = proposals.list_proposals(
            thread_id=scope.thread_id, user_id=None if scope.thread_id else scope.user_id
        )
    results = yield from gather_plans(*plans.values())
    found = dict(zip(plans, results, strict=True))
    profile = found.get("profile")
    with_tools = [s for s in machine.stores_in_mode(LearningMode.AGENTIC) if s != "session_context"]
    return RecallData(
        profile=profile.filled() if profile else None,
        memories=found.get("memories") or (),
        session=found.get("session"),
        entities=found.get("entities") or (),
        knowledge=found.get("knowledge") or (),
        decisions=found.get("decisions") or (),
        pending=found.get("pending") or (),
        guidance=render_tool_guidance(with_tools, machine.stores_in_mode(LearningMode.PROPOSE)),
        max_facts_per_entity=em.max_facts_per_entity if isinstance(em, EntityMemoryConfig) else 10,
        max_events_per_entity=(
            em.max_events_per_entity if isinstance(em, EntityMemoryConfig) else 5
        ),
    )


def recall(machine: LearningMachine, store: BaseStore, scope: Scope, query: str = "") -> RecallData:
    """What the enabled stores know for this turn (see :func:`plan_recall`)."""
    return run_plan(store, plan_recall(machine, scope, query, indexed=has_vector_index(store)))


async def arecall(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: str = ""
) -> RecallData:
    """Async twin of :func:`recall`."""
    plan = plan_recall(machine, scope, query, indexed=has_vector_index(store))
    return await arun_plan(store, plan)


def build_learning_context(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: str = ""
) -> str:
    """The learning section of the system prompt for one turn ('' when there is nothing).

    Args:
        query: the latest user message; memories, entities and learned knowledge are ranked
            by relevance to it.

    Raises:
        MissingScopeError: a store needs a user or thread id that ``scope`` lacks.
    """
    return render_learning_context(recall(machine, store, scope, query))


async def abuild_learning_context(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: str = ""
) -> str:
    """Async twin of :func:`build_learning_context`."""
    return render_learning_context(await arecall(machine, store, scope, query))
