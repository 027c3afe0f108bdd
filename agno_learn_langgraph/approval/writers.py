"""Where an approved proposal goes: one writer per proposable store (the only per-store code here).

Everything else in the approval package reads a store's rules from :mod:`agno_learn_langgraph.kinds`
(content fields, owner scope); this module maps a store to the store plans that write it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agno_learn_langgraph.config import UserProfileConfig
from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.kinds import StoreName, kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Provenance, UserProfile, fingerprint
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import entity_memory, learned_knowledge, user_memory, user_profile

__all__ = ["DEFAULT_TARGET", "Write", "check_content", "plan_write", "profile_schema"]

_PROFILE: StoreName = user_profile.NAME
DEFAULT_TARGET: StoreName = learned_knowledge.NAME
"""The ``propose_learning`` tool's default target when it is in PROPOSE mode."""


def profile_schema(machine: LearningMachine | None) -> type[UserProfile]:
    """The machine's (possibly custom) user profile schema."""
    config = machine.config(_PROFILE) if machine else None
    return config.schema if isinstance(config, UserProfileConfig) else UserProfile


def check_content(target: str, content: Mapping[str, Any], machine: LearningMachine | None) -> None:
    """Store-specific checks of cleaned content: a profile field must fit the profile schema.

    Raises:
        LearningInputError: an unknown profile field or a value the schema refuses.
    """
    if target != _PROFILE:
        return
    schema = profile_schema(machine)
    user_profile.check_fields(schema, {content["field"]: content["value"]}, ())
    try:
        schema.model_validate({content["field"]: content["value"]})
    except ValidationError as exc:
        raise LearningInputError(
            f"Invalid value {content['value']!r} for profile field {content['field']!r}: "
            f"{exc.errors()[0]['msg']}."
        ) from None


@dataclass(frozen=True)
class Write:
    """What a writer needs: the approved content and where it lands."""

    target: str
    content: Mapping[str, Any]
    provenance: Provenance
    scope: Scope
    namespace: str
    machine: LearningMachine | None

    @property
    def owner(self) -> str:
        """The id owning the written data (the user, for per-user stores)."""
        owner = kind(self.target).owner_id(self.scope, self.namespace)
        assert owner is not None, f"{self.target} is not per user"
        return owner


def _knowledge(w: Write) -> Plan[str]:
    ns = learned_knowledge.knowledge_namespace(w.namespace, w.scope)
    record, _ = yield from learned_knowledge.save_learning(
        ns,
        w.provenance,
        title=w.content["title"],
        learning=w.content["learning"],
        context=w.content.get("context"),
        tags=w.content.get("tags"),
    )
    return record.id


def _memory(w: Write) -> Plan[str]:
    memory, _ = yield from user_memory.add_memory(w.owner, w.content["text"], w.provenance)
    return memory.id


def _profile(w: Write) -> Plan[str]:
    field = w.content["field"]
    yield from user_profile.update_profile(
        w.owner,
        w.provenance,
        set_fields={field: w.content["value"]},
        schema=profile_schema(w.machine),
    )
    return f"{user_profile.PROFILE_KEY}.{field}"


def _entity(w: Write) -> Plan[str]:
    entity, _ = yield from entity_memory.create_entity(
        entity_memory.entity_namespaces(w.namespace, w.scope),
        w.provenance,
        name=w.content["entity"],
        entity_type=w.content.get("entity_type"),
        facts=[w.content["fact"]],
    )
    fp = fingerprint(w.content["fact"])
    fact = next((f for f in entity.live_facts() if fingerprint(f.text) == fp), None)
    return f"{entity.key}/{fact.id}" if fact else entity.key


_WRITERS: dict[str, Callable[[Write], Plan[str]]] = {
    learned_knowledge.NAME: _knowledge,
    user_memory.NAME: _memory,
    _PROFILE: _profile,
    entity_memory.NAME: _entity,
}


def plan_write(write: Write) -> Plan[str]:
    """Write approved content to its store (idempotently); returns the record id."""
    return _WRITERS[write.target](write)
