"""The output schema of one extraction call: a field per store it serves, sent in strict form.

The pydantic model :func:`build_output_schema` returns validates the reply leniently (defaults
for what the model left out), while its ``model_json_schema()``, which LangChain and the OpenAI
SDK send as the structured-output schema, is the strict form (:mod:`.strict`). A reply in the
strict form (dicts as ``{"key", "value"}`` pairs) is converted back before validation.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, create_model, model_validator

from agno_learn_langgraph.extraction.parts import PARTS, OutputOptions
from agno_learn_langgraph.extraction.strict import pairs_to_dicts, to_strict_schema
from agno_learn_langgraph.kinds import StoreName
from agno_learn_langgraph.records import UserProfile

__all__ = ["StrictOutput", "build_output_schema", "check_profile_schema"]


class StrictOutput(BaseModel):
    """Base of the extraction output models: a strict JSON schema out, dict pairs converted in."""

    @classmethod
    def lenient_json_schema(cls) -> dict[str, Any]:
        """Pydantic's own JSON schema of the model (defaults, optional fields, maps)."""
        return _lenient(cls)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The strict structured-output form of the schema (a fresh copy: callers mutate it)."""
        return copy.deepcopy(_strict(cls))

    @model_validator(mode="before")
    @classmethod
    def _pairs_back(cls, data: Any) -> Any:
        return pairs_to_dicts(data, _lenient(cls))


@lru_cache(maxsize=64)
def _lenient(model: type[StrictOutput]) -> dict[str, Any]:
    return super(StrictOutput, model).model_json_schema()


@lru_cache(maxsize=64)
def _strict(model: type[StrictOutput]) -> dict[str, Any]:
    return to_strict_schema(_lenient(model), name="the extraction output schema")


@lru_cache(maxsize=64)
def build_output_schema(
    stores: tuple[StoreName, ...],
    profile_schema: type[UserProfile] = UserProfile,
    planning: bool = False,
) -> type[StrictOutput]:
    """The pydantic model one extraction call returns, with a field per store in ``stores``.

    >>> from agno_learn_langgraph.kinds import STORE_NAMES
    >>> schema = build_output_schema(STORE_NAMES[:2])  # the user profile and user memory
    >>> sorted(schema.model_fields)
    ['memories', 'profile']
    >>> schema.model_validate({"profile": {"set": {"name": "Ann"}}}).profile.set.name
    'Ann'
    >>> sorted(schema.model_json_schema()["required"])  # strict: every field, nullable
    ['memories', 'profile']

    Raises:
        StrictSchemaError: a field of ``profile_schema`` has a type strict structured output
            cannot express (see :func:`check_profile_schema`).
    """
    check_profile_schema(profile_schema)
    options = OutputOptions(profile_schema=profile_schema, planning=planning)
    fields: dict[str, Any] = {p.output: p.output_type(options) for p in PARTS if p.store in stores}
    model: type[StrictOutput] = create_model(
        "LearningUpdates",
        __base__=StrictOutput,
        __doc__="Changes to the learning stores.",
        **fields,
    )
    return model


@lru_cache(maxsize=64)
def check_profile_schema(profile_schema: type[UserProfile]) -> None:
    """Check that every field of a custom profile schema can be sent in strict form.

    Raises:
        StrictSchemaError: names the field, what strict mode lacks, and the fix.
    """
    for name in profile_schema.profile_fields():
        annotation = profile_schema.model_fields[name].annotation
        field_schema = TypeAdapter(Any if annotation is None else annotation).json_schema()
        defs = field_schema.pop("$defs", {})
        wrapper = {"type": "object", "properties": {name: field_schema}, "$defs": defs}
        to_strict_schema(wrapper, name=f"the profile schema {profile_schema.__name__}")
