"""What a stored record may hold: the checks every write passes before anything is written."""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph.errors import LearningInputError

__all__ = ["MAX_TEXT_CHARS", "check_storable", "lookup_key"]

MAX_TEXT_CHARS = 20_000
"""Longest text one field of a stored record may hold: a learning is a statement, not a document."""


def check_storable(value: Any, field: str = "value") -> None:
    """Refuse a text no store should keep: over :data:`MAX_TEXT_CHARS`, or holding a NUL.

    >>> check_storable({"text": "x" * 20_001})
    Traceback (most recent call last):
    ...
    agno_learn_langgraph.errors.LearningInputError: The text is 20,001 characters long; ...

    Raises:
        LearningInputError: naming the field, the limit and the fix.
    """
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise LearningInputError(
                f"The {field} is {len(value):,} characters long; the limit is "
                f"{MAX_TEXT_CHARS:,} per stored text (MAX_TEXT_CHARS). Store a short statement "
                "or a summary instead."
            )
        if "\x00" in value:  # PostgreSQL cannot store it: refused on every backend alike
            raise LearningInputError(f"The {field} contains a NUL character (\\x00); remove it.")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_storable(v, str(k) if field == "value" else f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_storable(v, f"{field}[{i}]")


def lookup_key(value: object) -> str:
    """The key to look up a caller-supplied id with: a NUL (which PostgreSQL refuses in a query)
    becomes U+FFFD, so the id matches nothing on every backend instead of failing the query.

    >>> lookup_key("mem_\\x00")
    'mem_\ufffd'
    """
    return str(value).replace("\x00", "\ufffd")
