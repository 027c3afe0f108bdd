"""The output schema of one extraction call: a field per store it serves."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, create_model

from agno_learn_langgraph.extraction.parts import PARTS, OutputOptions
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import UserProfile

__all__ = ["build_output_schema"]


@lru_cache(maxsize=64)
def build_output_schema(
    stores: tuple[StoreName, ...],
    profile_schema: type[UserProfile] = UserProfile,
    planning: bool = False,
) -> type[BaseModel]:
    """The pydantic model one extraction call returns, with a field per store in ``stores``.

    >>> from agno_learn_langgraph.kinds import STORE_NAMES
    >>> schema = build_output_schema(STORE_NAMES[:2])  # the user profile and user memory
    >>> sorted(schema.model_fields)
    ['memories', 'profile']
    >>> schema.model_validate({"profile": {"set": {"name": "Ann"}}}).profile.set.name
    'Ann'
    """
    options = OutputOptions(profile_schema=profile_schema, planning=planning)
    fields: dict[str, Any] = {p.output: p.output_type(options) for p in PARTS if p.store in stores}
    model: type[BaseModel] = create_model(
        "LearningUpdates", __doc__="Changes to the learning stores.", **fields
    )
    return model
