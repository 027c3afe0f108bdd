"""The user profile and user memory tools: update the profile, save and delete memories."""

from __future__ import annotations

from typing import Any, Union

from pydantic import Field, create_model

from agno_learn_langgraph.config import UserProfileConfig
from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.prompts import quote
from agno_learn_langgraph.stores import user_memory, user_profile
from agno_learn_langgraph.tools.spec import Args, Call, ToolSpec, kind_of

__all__ = ["MEMORY_TOOLS", "profile_tools"]

PROFILE = kind_of(user_profile)
MEMORY = kind_of(user_memory)

# -- user profile ---------------------------------------------------------------------------


def profile_tools(machine: LearningMachine) -> tuple[ToolSpec, ...]:
    """``update_user_profile``, its arguments being the fields of the configured profile schema."""
    config = machine.config(PROFILE.name)
    assert isinstance(config, UserProfileConfig) and config.schema is not None
    schema = config.schema
    fields: dict[str, Any] = {
        name: (Union[info.annotation, None], Field(default=None, description=info.description))  # noqa: UP007
        for name, info in schema.model_fields.items()
        if name in schema.profile_fields()
    }
    allowed = ", ".join(schema.profile_fields())
    args = create_model(
        "UpdateUserProfileArgs",
        __base__=Args,
        **fields,
        clear=(
            list[str],
            Field(default_factory=list, description=f"Fields to erase, among: {allowed}."),
        ),
    )

    def plan(call: Call, a: Args) -> Plan[str]:
        given = a.model_dump(exclude={"clear"}, exclude_none=True)
        clear = list(getattr(a, "clear", []))
        if not given and not clear:
            raise LearningInputError(f"No profile field given; set one of: {allowed}.")
        changed = yield from user_profile.update_profile(
            call.user_id(), call.provenance, set_fields=given, clear=clear, schema=schema
        )
        if not changed:
            return "Profile unchanged: it already says that."
        shown = ", ".join(
            f"{k}={'(cleared)' if v is None else quote(v)}" for k, v in changed.items()
        )
        return f"Profile updated: {shown}"

    return (
        ToolSpec(
            "update_user_profile",
            PROFILE.name,
            "Update the user's profile when they state (or withdraw) one of its fields: "
            f"{allowed}. Pass only the fields that changed.",
            args,
            plan,
        ),
    )


# -- user memory ----------------------------------------------------------------------------

_MEMORY_ID = f"Id ({MEMORY.id_prefix}...)"


class _SaveMemoryArgs(Args):
    text: str = Field(
        description="One durable observation about the user as a short third-person statement, "
        "e.g. 'Works as a data engineer at Stripe'."
    )
    memory_id: str | None = Field(
        default=None, description=f"{_MEMORY_ID} of a memory to replace; omit to add a new one."
    )


def _save_user_memory(call: Call, a: _SaveMemoryArgs) -> Plan[str]:
    user = call.user_id()
    if a.memory_id:
        memory = yield from user_memory.update_memory(user, a.memory_id, a.text, call.provenance)
        return f"Updated memory {memory.id}: {quote(memory.text)}"
    memory, created = yield from user_memory.add_memory(user, a.text, call.provenance)
    if not created:
        return f"Already remembered as {memory.id}: {quote(memory.text)}; nothing changed."
    return f"Saved memory {memory.id}: {quote(memory.text)}"


class _DeleteMemoryArgs(Args):
    memory_id: str = Field(description=f"{_MEMORY_ID} of the memory to delete.")


def _delete_user_memory(call: Call, a: _DeleteMemoryArgs) -> Plan[str]:
    memory = yield from user_memory.delete_memory(call.user_id(), a.memory_id)
    return f"Deleted memory {memory.id}: {quote(memory.text)}"


MEMORY_TOOLS = (
    ToolSpec(
        "save_user_memory",
        MEMORY.name,
        "Remember a durable fact about the user (role, preferences, ongoing work) for future "
        "conversations. To correct a memory, pass its id to replace it.",
        _SaveMemoryArgs,
        _save_user_memory,
    ),
    ToolSpec(
        "delete_user_memory",
        MEMORY.name,
        "Forget a memory about the user, by its id, when they retract it or ask you to.",
        _DeleteMemoryArgs,
        _delete_user_memory,
    ),
)
