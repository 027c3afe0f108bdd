"""Recall: read what every enabled store knows for a turn and render the system-prompt section.

>>> from langgraph.store.memory import InMemoryStore
>>> from agno_learn_langgraph import LearningMachine, Scope, build_learning_context
>>> machine = LearningMachine(user_memory=True)
>>> build_learning_context(machine, InMemoryStore(), Scope(user_id="ann"), query="hi")
''
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langgraph.store.base import BaseStore

from agno_learn_langgraph.compat import has_vector_index
from agno_learn_langgraph.config import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMode,
    UserMemoryConfig,
    UserProfileConfig,
)
from agno_learn_langgraph.core import Plan, arun_plan, done, gather_plans, run_plan
from agno_learn_langgraph.errors import LearningError
from agno_learn_langgraph.index.fusion import rank_by
from agno_learn_langgraph.index.lexical import Query, TextQuery, tokenize
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

__all__ = [
    "QUERY_CONTEXT_CHARS",
    "abuild_learning_context",
    "arecall",
    "build_learning_context",
    "last_user_text",
    "plan_recall",
    "recall",
    "recall_query",
]

logger = logging.getLogger(__name__)

QUERY_CONTEXT_CHARS = 400
"""Most characters of earlier conversation (the previous user turn, then the last assistant
reply) a recall query carries beside the latest user message."""


def _as_message(item: Any) -> BaseMessage:
    # a Send's input may hold ("user", "...") tuples or dicts, not yet messages
    return item if isinstance(item, BaseMessage) else convert_to_messages([item])[0]


def _text(message: BaseMessage) -> str:
    return message.text if isinstance(message.text, str) else message.text()


def last_user_text(messages: Sequence[Any]) -> str:
    """The text of the latest human message."""
    for item in reversed(messages):
        message = _as_message(item)
        if message.type == "human":
            return _text(message)
    return ""


def _clip(text: str, chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    cut = text[:chars]
    return cut[: cut.rfind(" ")] if " " in cut else cut


_FOLLOW_UP_WORDS = frozenset(
    "that it this these those there then he she him her his hers they them their same".split()  # noqa: SIM905
)
_OWN_TERMS = 2


def _is_follow_up(text: str) -> bool:
    """Whether a message leans on the previous turn: few words of its own, or a pronoun."""
    if len(tokenize(text.lower())) < _OWN_TERMS:  # lowercase: a name counts once
        return True
    return any(word in _FOLLOW_UP_WORDS for word in _WORDS.findall(text.lower()))


_WORDS = re.compile(r"\w+")


def recall_query(messages: Sequence[Any], *, context_chars: int = QUERY_CONTEXT_CHARS) -> Query:
    """What recall ranks by: the latest user message and, when it looks like a follow-up
    (fewer than two words of its own, or a pronoun such as "that", "it", "there"), the
    previous user turn and the assistant's reply to it as context (at most ``context_chars``
    characters, weighted lower in BM25 and embedded after the message).

    A follow-up ("when was that?") finds the memory the previous turn was about; a message
    that stands on its own is ranked by its own words only, so an unrelated previous turn
    cannot pull in its memories. Pure: same messages, same query.

    >>> q = recall_query([("user", "Where does Ann work?"), ("ai", "At Acme."), ("user", "Since?")])
    >>> q.text, q.context
    ('Since?', 'Where does Ann work? At Acme.')
    """
    latest: str | None = None
    previous_user, reply = "", ""
    for item in reversed(messages):
        message = _as_message(item)
        if message.type == "human":
            if latest is None:
                latest = _text(message)
                continue
            previous_user = _text(message)
            break
        if latest is not None and message.type == "ai" and not reply:
            reply = _text(message)
    if latest is None:
        return Query("")
    if not _is_follow_up(latest):
        return Query(latest)
    first = _clip(previous_user, context_chars)
    rest = _clip(reply, max(context_chars - len(first) - 1, 0)) if reply else ""
    return Query(latest, " ".join(p for p in (first, rest) if p))


def plan_recall(
    machine: LearningMachine, scope: Scope, query: TextQuery, *, indexed: bool
) -> Plan[RecallData]:
    """Read every enabled store for one turn in a single batch round trip (two with aliases).

    With a vector index the query is embedded once for every store (one op in that batch).

    Raises:
        MissingScopeError: a store needs a user or thread id that ``scope`` lacks.
    """
    cfg = machine.stores
    ranking = rank_by(indexed, machine.recall_ranking, machine.recall_language)
    plans: dict[str, Plan[Any]] = {}
    if isinstance(up := cfg.get(user_profile.NAME), UserProfileConfig):
        plans["profile"] = user_profile.get_profile(
            scope.require_user(user_profile.NAME), up.schema
        )
    if isinstance(um := cfg.get(user_memory.NAME), UserMemoryConfig):
        plans["memories"] = user_memory.relevant_memories(
            scope.require_user(user_memory.NAME),
            query,
            limit=um.max_memories_in_context,
            pad=False,  # only relevant memories; the newest when none is
            **ranking,
        )
    if session_context.NAME in cfg:
        plans["session"] = session_context.get_session_context(
            scope.require_thread(session_context.NAME)
        )
    if isinstance(em := cfg.get(entity_memory.NAME), EntityMemoryConfig):
        ns = entity_memory.entity_namespaces(machine.namespace_for(entity_memory.NAME), scope)
        plans["entities"] = entity_memory.relevant_entities(
            ns, query, limit=em.max_entities_in_context, **ranking
        )
    if isinstance(lk := cfg.get(learned_knowledge.NAME), LearnedKnowledgeConfig):
        kns = learned_knowledge.knowledge_namespace(
            machine.namespace_for(learned_knowledge.NAME), scope
        )
        plans["knowledge"] = (
            learned_knowledge.search_learnings(
                kns, query, limit=lk.max_learnings_in_context, **ranking
            )
            if query.strip()
            else done(None)
        )
    if isinstance(dl := cfg.get(decision_log.NAME), DecisionLogConfig):
        plans["decisions"] = decision_log.relevant_decisions(
            scope.agent_id, query, limit=dl.max_decisions_in_context, **ranking
        )
    if machine.stores_in_mode(LearningMode.PROPOSE) and (scope.thread_id or scope.user_id):
        plans["pending"] = proposals.list_proposals(
            thread_id=scope.thread_id, user_id=None if scope.thread_id else scope.user_id
        )
    results = yield from gather_plans(*plans.values())
    found = dict(zip(plans, results, strict=True))
    profile = found.get("profile")
    return RecallData(
        profile=profile.filled() if profile else None,
        memories=found.get("memories") or (),
        session=found.get("session"),
        entities=found.get("entities") or (),
        knowledge=found.get("knowledge") or (),
        decisions=found.get("decisions") or (),
        pending=found.get("pending") or (),
        guidance=_guidance(machine),
        max_facts_per_entity=em.max_facts_per_entity if isinstance(em, EntityMemoryConfig) else 10,
        max_events_per_entity=(
            em.max_events_per_entity if isinstance(em, EntityMemoryConfig) else 5
        ),
    )


def _guidance(machine: LearningMachine) -> list[str]:
    with_tools = [
        s for s in machine.stores_in_mode(LearningMode.AGENTIC) if s != session_context.NAME
    ]
    return render_tool_guidance(with_tools, machine.stores_in_mode(LearningMode.PROPOSE))


_FAILURES_LOCK = threading.Lock()


def _failed(machine: LearningMachine, kind: str, exc: Exception) -> None:
    """Count and log a recall failure; re-raise it when the machine is strict."""
    with _FAILURES_LOCK:
        machine.recall_failures[kind] += 1
    if machine.strict_recall:
        raise exc
    then = "ranking lexically" if kind == "semantic" else "recalling nothing"
    logger.warning(
        "Recall failed (%s), %s for this turn: %s: %s",
        "embeddings or vector search" if kind == "semantic" else "store read",
        then,
        type(exc).__name__,
        exc,
        exc_info=exc,
    )


def _attempts(indexed: bool) -> list[tuple[bool, str]]:
    """(indexed, failure kind) of each try: with vectors, then lexically."""
    return [(True, "semantic"), (False, "store")] if indexed else [(False, "store")]


def recall(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: TextQuery = ""
) -> RecallData:
    """What the enabled stores know for this turn (see :func:`plan_recall`).

    Recall is an enhancement: when the embeddings or the vector search fail, the turn is
    ranked lexically; when the store cannot be read, nothing is recalled. Each failure is
    logged with its cause and counted in ``machine.recall_failures``; with
    ``LearningMachine(strict_recall=True)`` it is raised instead.
    """
    for indexed, kind in _attempts(has_vector_index(store)):
        try:
            return run_plan(store, plan_recall(machine, scope, query, indexed=indexed))
        except LearningError:
            raise
        except Exception as exc:
            _failed(machine, kind, exc)
    return RecallData(guidance=_guidance(machine))


async def arecall(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: TextQuery = ""
) -> RecallData:
    """Async twin of :func:`recall`."""
    for indexed, kind in _attempts(has_vector_index(store)):
        try:
            return await arun_plan(store, plan_recall(machine, scope, query, indexed=indexed))
        except LearningError:
            raise
        except Exception as exc:
            _failed(machine, kind, exc)
    return RecallData(guidance=_guidance(machine))


def build_learning_context(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: TextQuery = ""
) -> str:
    """The learning section of the system prompt for one turn ('' when there is nothing).

    Args:
        query: what memories, entities, learned knowledge and decisions are ranked by: the
            latest user message, or :func:`recall_query` of the conversation (what the nodes
            and the middleware pass).

    Raises:
        MissingScopeError: a store needs a user or thread id that ``scope`` lacks.
    """
    return render_learning_context(recall(machine, store, scope, query))


async def abuild_learning_context(
    machine: LearningMachine, store: BaseStore, scope: Scope, query: TextQuery = ""
) -> str:
    """Async twin of :func:`build_learning_context`."""
    return render_learning_context(await arecall(machine, store, scope, query))
