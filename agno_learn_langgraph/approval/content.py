"""What a proposal carries: each store's content fields (from the kinds table), checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agno_learn_langgraph.approval.writers import check_content
from agno_learn_langgraph.core import check_storable
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.kinds import KINDS, kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import fingerprint

__all__ = [
    "PROPOSABLE_STORES",
    "content_fields",
    "content_fingerprint",
    "format_when",
    "main_field",
    "normalize_content",
]

PROPOSABLE_STORES: tuple[str, ...] = tuple(k.name for k in KINDS if k.proposable)
"""Stores that support PROPOSE mode (session context and the decision log do not)."""


def content_fields(target: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The required, then optional content fields of a proposal for ``target``.

    Raises:
        LearningInputError: ``target`` is no store, or one that cannot be proposed.
    """
    fields = kind(target).proposal_fields if target in _NAMES else None
    if fields is None:
        raise LearningInputError(
            f"{target!r} cannot be proposed; proposable stores: {', '.join(PROPOSABLE_STORES)}."
        )
    return fields


_NAMES = frozenset(k.name for k in KINDS)


def main_field(target: str) -> str:
    """The field holding the learning itself (the last required one: text, fact, value...)."""
    return content_fields(target)[0][-1]


def _clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise LearningInputError(f"tags must be a list of strings, got {value!r}.")
    return [str(t).strip() for t in value if t is not None and str(t).strip()]


def normalize_content(
    target: str, content: Mapping[str, Any], machine: LearningMachine | None = None
) -> dict[str, Any]:
    """Check a proposal's content against its store's shape and return it cleaned.

    Shapes (``kinds.StoreKind.proposal_fields``): learned_knowledge ``{"title", "learning",
    "context"?, "tags"?}``, user_memory ``{"text"}``, user_profile ``{"field", "value"}``,
    entity_memory ``{"entity", "fact", "entity_type"?}``.

    >>> normalize_content("user_memory", {"text": "  Likes tea "})
    {'text': 'Likes tea'}

    Raises:
        LearningInputError: not a proposable store, an unknown or missing field, an empty value,
            a profile field/value the profile schema refuses, or a text that cannot be stored.
    """
    required, optional = content_fields(target)
    if not isinstance(content, Mapping):
        raise LearningInputError(f"A {target} proposal's content must be a dict, got {content!r}.")
    unknown = sorted(set(content) - {*required, *optional})
    if unknown:
        raise LearningInputError(
            f"Unknown field(s) {', '.join(map(repr, unknown))} for a {target} proposal; "
            f"fields: {', '.join((*required, *optional))}."
        )
    out: dict[str, Any] = {}
    for name in required:
        value = content.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            raise LearningInputError(
                f"A {target} proposal needs a non-empty {name!r}; "
                f"required fields: {', '.join(required)}."
            )
        out[name] = value
    for name in optional:
        value = content.get(name)
        if name == "tags":
            out[name] = _clean_tags(value)
        else:
            out[name] = value.strip() or None if isinstance(value, str) else value
    check_content(target, out, machine)
    check_storable(out)  # refused here, so a resume is rejected before anything is applied
    return out


def content_fingerprint(target: str, content: Mapping[str, Any]) -> str:
    """What makes two proposals for ``target`` the same learning."""
    required, optional = content_fields(target)
    parts = [
        ",".join(v) if isinstance(v := content.get(name), list) else str(v or "")
        for name in (*required, *optional)
    ]
    return fingerprint(target, *parts)


def format_when(moment: datetime | None) -> str:
    """A decision time as the model and the reviewer read it."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown date"
