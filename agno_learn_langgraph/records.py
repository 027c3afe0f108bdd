"""Pydantic records: what each store keeps, with provenance and, where proposable, a status.

Records are the values written to the LangGraph store (``record.model_dump(mode="json")``) and read
back with ``Model.model_validate(item.value)``; unknown keys are ignored so that a newer version's
data still loads.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Decision",
    "Entity",
    "EntityEvent",
    "Fact",
    "LearnedKnowledge",
    "Memory",
    "Proposal",
    "Provenance",
    "Record",
    "Relationship",
    "ReviewEvent",
    "SessionContext",
    "Status",
    "UserProfile",
    "WriterMode",
    "fingerprint",
    "new_id",
    "normalize_text",
    "utcnow",
]

Status = Literal["proposed", "approved", "rejected"]
"""Lifecycle of a proposable learning: only ``approved`` ones reach recall and search."""

WriterMode = Literal["always", "agentic", "propose", "review", "api"]
"""Which door wrote a record: ALWAYS extraction, an AGENTIC tool, an approved PROPOSE proposal,
a reviewer's edit, or direct API use."""


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def new_id(prefix: str) -> str:
    """A short random id such as ``mem_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_text(text: str) -> str:
    """Case-, accent-, punctuation- and whitespace-insensitive form used to spot duplicates."""
    if text.isascii():  # nothing to fold: skip the (slow) Unicode decomposition
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", folded)).strip()


def fingerprint(*parts: str) -> str:
    """A stable hash of normalized text parts (duplicate and re-proposal detection)."""
    joined = "\x1f".join(normalize_text(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:24]


class Provenance(BaseModel):
    """Who wrote a record: which thread, which mode, when, and for which agent/user."""

    model_config = ConfigDict(extra="ignore")

    mode: WriterMode
    thread_id: str | None = None
    agent_id: str | None = None
    user_id: str | None = None
    written_at: datetime = Field(default_factory=utcnow)
    proposal_id: str | None = None


class Record(BaseModel):
    """Base of stored records: timestamps and provenance of the last write."""

    model_config = ConfigDict(extra="ignore")

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    provenance: Provenance | None = None


class UserProfile(Record):
    """A user's profile. Subclass to add fields; each field's description is shown to the model.

    >>> class MyProfile(UserProfile):
    ...     company: str | None = Field(default=None, description="Where the user works")
    >>> sorted(MyProfile.profile_fields())
    ['company', 'name', 'preferred_name']
    """

    name: str | None = Field(default=None, description="The user's full name")
    preferred_name: str | None = Field(
        default=None, description="What the user wants to be called, if different from the name"
    )

    @classmethod
    def profile_fields(cls) -> dict[str, str]:
        """Updateable fields and their descriptions (everything but timestamps and provenance)."""
        base = set(Record.model_fields)
        return {
            name: (info.description or name.replace("_", " "))
            for name, info in cls.model_fields.items()
            if name not in base
        }

    def filled(self) -> dict[str, Any]:
        """The profile fields that have a value."""
        return {
            k: v for k in self.profile_fields() if (v := getattr(self, k)) not in (None, "", [])
        }


class Memory(Record):
    """One observation about a user (``mem_...`` id)."""

    id: str = Field(default_factory=lambda: new_id("mem"))
    text: str
    status: Status = "approved"
    fingerprint: str = ""


class SessionContext(Record):
    """The running state of one thread: a summary and, with planning, goal/plan/progress."""

    thread_id: str
    summary: str = ""
    goal: str | None = None
    plan: list[str] | None = None
    progress: list[str] | None = None


class Fact(BaseModel):
    """A fact about an entity. A superseded fact is retired (kept, timestamped), not deleted."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: new_id("fact"))
    text: str
    created_at: datetime = Field(default_factory=utcnow)
    status: Status = "approved"
    superseded_at: datetime | None = None
    superseded_by: str | None = None
    provenance: Provenance | None = None

    @property
    def live(self) -> bool:
        """An approved fact that has not been retired."""
        return self.superseded_at is None and self.status == "approved"


class EntityEvent(BaseModel):
    """Something that happened to an entity, optionally dated."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: new_id("evt"))
    text: str
    date: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Relationship(BaseModel):
    """An edge to another entity, stored on both ends (``outgoing`` here, ``incoming`` there)."""

    model_config = ConfigDict(extra="ignore")

    relation: str
    entity_key: str
    entity_name: str
    direction: Literal["outgoing", "incoming"] = "outgoing"
    created_at: datetime = Field(default_factory=utcnow)


class Entity(Record):
    """A person, company, project, system... with facts, events and relationships."""

    key: str
    name: str
    entity_type: str = "unknown"
    description: str | None = None
    aliases: list[str] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    events: list[EntityEvent] = Field(default_factory=list)
    relationships: list[Relationship] = Field(default_factory=list)
    status: Status = "approved"

    def live_facts(self) -> list[Fact]:
        """Facts that are approved and not retired, oldest first."""
        return [f for f in self.facts if f.live]


class LearnedKnowledge(Record):
    """A reusable insight shared by everyone in a namespace (``lk_...`` id)."""

    id: str = Field(default_factory=lambda: new_id("lk"))
    title: str
    learning: str
    context: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: Status = "approved"


class Decision(Record):
    """A significant decision of the agent, its reasoning and, later, its outcome (``dec_...``)."""

    id: str = Field(default_factory=lambda: new_id("dec"))
    decision: str
    reasoning: str | None = None
    decision_type: str | None = None
    context: str | None = None
    alternatives: list[str] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    outcome: str | None = None
    outcome_quality: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_ts: float = 0.0
    """``created_at`` as epoch seconds, so stores can filter decisions by age."""


class ReviewEvent(BaseModel):
    """One step in a proposal's audit trail."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["proposed", "approve", "edit", "reject"]
    by: str
    at: datetime = Field(default_factory=utcnow)
    reason: str | None = None
    changes: dict[str, Any] | None = None


class Proposal(BaseModel):
    """A learning that waits for a human: stored with ``status="proposed"`` until reviewed.

    ``content`` holds the learning in the target store's shape (e.g. ``{"title", "learning",
    "context", "tags"}`` for learned knowledge, ``{"text"}`` for a memory). Approval writes it to
    the target store; rejection keeps it here for audit.
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: new_id("prop"))
    store: str
    content: dict[str, Any]
    rationale: str = ""
    status: Status = "proposed"
    proposed_by: WriterMode = "propose"
    user_id: str | None = None
    thread_id: str | None = None
    agent_id: str | None = None
    namespace: str | None = None
    fingerprint: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    reviewer: str | None = None
    reason: str | None = None
    applied_id: str | None = None
    history: list[ReviewEvent] = Field(default_factory=list)
