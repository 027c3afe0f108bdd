"""The pydantic models the extraction model fills in: the changes it proposes per store."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agno_learn_langgraph.records import UserProfile

__all__ = [
    "EntityChanges",
    "LearningItem",
    "MemoryChanges",
    "MemoryEdit",
    "PlanningSessionUpdate",
    "SessionUpdate",
    "profile_changes_model",
]


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


def profile_changes_model(profile_schema: type[UserProfile]) -> type[BaseModel]:
    """``{"set": {<field>: value | null, ...}, "clear": [<field>, ...]}`` for ``profile_schema``."""
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
    changes: type[BaseModel] = create_model(
        "ProfileChanges",
        set=(field_model, Field(default_factory=field_model, description="Fields to set")),
        clear=(clear_type, Field(default_factory=list, description="Fields to empty")),
    )
    return changes
