"""The user-profile store: one document of named fields per user."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agno_learn_langgraph.core import ROOT, Plan, encode_label, get_one, put
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import Provenance, UserProfile, utcnow

__all__ = ["NAME", "PROFILE_KEY", "get_profile", "profile_namespace", "update_profile"]

NAME: StoreName = "user_profile"
"""The store this module holds (its config key and namespace label)."""

PROFILE_KEY = "profile"


def profile_namespace(user_id: str) -> tuple[str, ...]:
    """``("learning", "user_profile", <user>)``."""
    return (ROOT, NAME, encode_label(user_id))


def get_profile(user_id: str, schema: type[UserProfile] = UserProfile) -> Plan[UserProfile | None]:
    """The user's profile, or ``None`` when nothing was saved yet."""
    item = yield from get_one(profile_namespace(user_id), PROFILE_KEY)
    return schema.model_validate(item.value) if item else None


def check_fields(
    schema: type[UserProfile], set_fields: Mapping[str, Any], clear: Iterable[str]
) -> None:
    """Raise :class:`LearningInputError` naming unknown fields and the allowed ones."""
    allowed = schema.profile_fields()
    unknown = sorted({*set_fields, *clear} - set(allowed))
    if unknown:
        raise LearningInputError(
            f"Unknown profile field(s) {', '.join(map(repr, unknown))}; "
            f"allowed fields: {', '.join(allowed)}."
        )


def update_profile(
    user_id: str,
    provenance: Provenance,
    *,
    set_fields: Mapping[str, Any] | None = None,
    clear: Iterable[str] = (),
    schema: type[UserProfile] = UserProfile,
) -> Plan[dict[str, Any]]:
    """Set and clear profile fields; returns ``{field: new value}`` for what actually changed.

    Reads the current profile right before writing, so concurrent updates of other fields
    are kept.

    Raises:
        LearningInputError: an unknown field, or a value that does not fit the field.
    """
    set_fields = {k: v for k, v in (set_fields or {}).items() if v not in (None, "")}
    clear = [c for c in clear if c not in set_fields]
    check_fields(schema, set_fields, clear)
    current = (yield from get_profile(user_id, schema)) or schema()
    data = current.model_dump()
    changed: dict[str, Any] = {}
    for name, value in set_fields.items():
        if isinstance(value, str):
            value = value.strip()
        if data.get(name) != value:
            changed[name] = data[name] = value
    for name in clear:
        if data.get(name) not in (None, ""):
            changed[name] = data[name] = None
    if not changed:
        return {}
    try:
        updated = schema.model_validate({**data, "updated_at": utcnow(), "provenance": provenance})
    except ValueError as exc:
        raise LearningInputError(f"Invalid profile value: {exc}") from None
    yield [put(profile_namespace(user_id), PROFILE_KEY, updated.model_dump(mode="json"))]
    return changed
