"""Strict structured output: every extraction schema fits OpenAI's strict json_schema subset.

The checker here is written from OpenAI's documented rules, independently of the generator
(agno_learn_langgraph/extraction/strict.py), and runs over the whole matrix: each store alone,
all together, every mode combination that extracts, planning on and off, and custom profiles.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

import httpx
import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel, Field

from agno_learn_langgraph import LearningMachine, LearningMiddleware
from agno_learn_langgraph.config import SessionContextConfig, UserProfileConfig
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.extraction import (
    build_calls,
    build_output_schema,
    create_extraction_node,
    extract_learnings,
    extraction_stores,
)
from agno_learn_langgraph.extraction.prepare import Prepared
from agno_learn_langgraph.extraction.strict import StrictSchemaError
from agno_learn_langgraph.kinds import KINDS, LearningMode
from agno_learn_langgraph.records import UserProfile
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import user_profile
from agno_learn_langgraph.testing import ScriptedChatModel

# -- the strict rules ------------------------------------------------------------------------

TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
NODE_KEYS = {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum"}
NODE_KEYS |= {"$ref", "description"}
UNSUPPORTED = {  # OpenAI's list of keywords strict mode rejects (the older, stricter rule set)
    "default", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "patternProperties",
    "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties",
    "unevaluatedItems", "contains", "minContains", "maxContains", "minItems", "maxItems",
    "uniqueItems", "prefixItems", "allOf", "oneOf", "not", "if", "then", "else", "const",
}  # fmt: skip
MAX_DEPTH = 10
MAX_PROPERTIES = 5000


def strict_violations(schema: dict[str, Any]) -> list[str]:
    """Every way ``schema`` breaks the strict rules (empty when it fits)."""
    problems: list[str] = []
    defs = schema.get("$defs", {})
    counted = [0]
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("root: must be an object, not anyOf")

    def walk(node: Any, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            problems.append(f"{path}: not a schema object")
            return
        for key in node:
            if key in UNSUPPORTED:
                problems.append(f"{path}: unsupported keyword {key!r}")
            elif key not in NODE_KEYS and not (key == "$defs" and path == "$"):
                problems.append(f"{path}: unknown keyword {key!r}")
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/$defs/")
            if name not in defs or len(node) > 1:
                problems.append(f"{path}: $ref {node['$ref']!r} unresolved or with siblings")
            return
        if "anyOf" in node:
            if path == "$":
                problems.append("root: anyOf")
            for i, branch in enumerate(node["anyOf"]):
                walk(branch, f"{path}|{i}", depth)
            return
        kinds = node.get("type")
        if kinds is None and "enum" not in node:
            problems.append(f"{path}: no type (accepts anything)")
        for kind in [kinds] if isinstance(kinds, str) else kinds or []:
            if kind not in TYPES:
                problems.append(f"{path}: unknown type {kind!r}")
        if kinds == "object":
            props = node.get("properties")
            if not isinstance(props, dict):
                problems.append(f"{path}: object without properties")
                return
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties must be false")
            if sorted(node.get("required", [])) != sorted(props):
                problems.append(f"{path}: every property must be required")
            if depth + 1 > MAX_DEPTH:
                problems.append(f"{path}: nested deeper than {MAX_DEPTH}")
            counted[0] += len(props)
            for key, value in props.items():
                walk(value, f"{path}.{key}", depth + 1)
        elif kinds == "array":
            if "items" not in node:
                problems.append(f"{path}: array without items")
            else:
                walk(node["items"], f"{path}[]", depth)

    walk(schema, "$", 0)
    for name, body in defs.items():
        walk(body, f"$defs.{name}", 0)
    if counted[0] > MAX_PROPERTIES:
        problems.append(f"more than {MAX_PROPERTIES} properties")
    return problems


def test_the_checker_catches_what_pydantic_emits_by_default() -> None:
    class Loose(BaseModel):
        kind: str = "unknown"
        tags: dict[str, str] = Field(default_factory=dict)
        code: str = Field(pattern="^[a-z]+$")

    problems = "\n".join(strict_violations(Loose.model_json_schema()))
    for expected in ("'default'", "'pattern'", "additionalProperties", "required"):
        assert expected in problems


# -- the matrix -------------------------------------------------------------------------------

EXTRACTABLE = tuple(k.name for k in KINDS if k.extractable)


class Address(BaseModel):
    city: str
    postcode: str | None = Field(default=None, pattern=r"^\d+$")
    labels: dict[str, str] = Field(default_factory=dict)


class Team(BaseModel):
    name: str
    lead: Team | None = None  # recursive


class CustomProfile(UserProfile):
    company: str | None = Field(default=None, description="Where the user works")
    preferences: dict[str, str] | None = Field(default=None, description="Named preferences")
    scores: dict[str, int] | None = None
    languages: list[str] | None = Field(default=None, min_length=1)
    tone: Literal["formal", "casual"] | None = None
    address: Address | None = None
    team: Team | None = None
    email: str | None = Field(default=None, json_schema_extra={"format": "email"})


def assert_strict(schema: dict[str, Any]) -> None:
    problems = strict_violations(schema)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", [UserProfile, CustomProfile], ids=["profile", "custom"])
@pytest.mark.parametrize("planning", [False, True], ids=["plain", "planning"])
def test_every_store_subset_fits_the_strict_rules(
    profile: type[UserProfile], planning: bool
) -> None:
    subsets = [
        c for n in range(1, len(EXTRACTABLE) + 1) for c in itertools.combinations(EXTRACTABLE, n)
    ]
    assert len(subsets) == 31
    for stores in subsets:
        schema = build_output_schema(stores, profile, planning).model_json_schema()
        assert_strict(schema)
        assert "$defs" not in schema or set(schema["$defs"]) == {"Team"}  # only the recursive one


MODES = (None, LearningMode.ALWAYS, LearningMode.AGENTIC, LearningMode.PROPOSE)


def test_every_mode_combination_that_extracts_sends_strict_schemas() -> None:
    """All mode combinations of the five stores (session context: off or ALWAYS)."""
    seen = 0
    per_store = [
        [m for m in MODES if m is None or m in k.supported_modes] for k in KINDS if k.extractable
    ]
    prepared = Prepared(transcript=[("user", "hi")], last_id=None, cursor=None)
    for combo in itertools.product(*per_store):
        stores = {s: m for s, m in zip(EXTRACTABLE, combo, strict=True) if m is not None}
        if "user_profile" in stores:
            stores["user_profile"] = UserProfileConfig(
                mode=stores["user_profile"], schema=CustomProfile
            )  # type: ignore[assignment]
        if "session_context" in stores:
            stores["session_context"] = SessionContextConfig(enable_planning=True)  # type: ignore[assignment]
        machine = LearningMachine(model=ScriptedChatModel(), **stores)  # type: ignore[arg-type]
        extracting = extraction_stores(machine)
        if not extracting:
            continue
        models = {s: machine.model for s in extracting}
        for call in build_calls(machine, prepared, models):  # type: ignore[arg-type]
            assert_strict(call.schema.model_json_schema())
            seen += 1
    assert seen == 4 * 4 * 2 * 4 * 4 - 2 * 2 * 1 * 2 * 2  # all but those with nothing extracting


def test_chat_openai_sends_the_strict_schema_without_unused_defs() -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        profile = {"set": {"preferences": [{"key": "tea", "value": "green"}]}, "clear": []}
        content = json.dumps({"profile": profile, "memories": None})
        reply = {"role": "assistant", "content": content}
        body = {
            "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "message": reply}],
        }  # fmt: skip
        return httpx.Response(200, json=body)

    llm = ChatOpenAI(
        model="gpt-4o-mini",
        api_key="sk-test",  # type: ignore[arg-type]
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )
    schema = build_output_schema(("user_profile", "user_memory"), CustomProfile)
    result = llm.with_structured_output(schema).invoke("hi")
    assert isinstance(result, schema)
    assert result.profile.set.preferences == {"tea": "green"}  # type: ignore[attr-defined]
    response_format = sent[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    sent_schema = response_format["json_schema"]["schema"]
    assert_strict(sent_schema)
    assert "ProfileFields" not in json.dumps(sent_schema)


# -- dicts travel as key/value pairs and come back as dicts ------------------------------------


def test_a_strict_reply_with_pairs_updates_a_custom_profile() -> None:
    reply = {
        "profile": {
            "set": {
                "name": "Ann Lee",
                "preferred_name": None,
                "company": "",  # strict models fill every field: empty means no change
                "preferences": [{"key": "tea", "value": "green"}, {"key": "tone", "value": "dry"}],
                "scores": [],
                "languages": None,
                "tone": "casual",
                "address": {
                    "city": "Oslo",
                    "postcode": None,
                    "labels": [{"key": "a", "value": "b"}],
                },
                "team": None,
                "email": None,
            },
            "clear": [],
        }
    }
    extractor = ScriptedChatModel(structured_responses=[reply])
    machine = LearningMachine(model=extractor, user_profile=UserProfileConfig(schema=CustomProfile))
    store = InMemoryStore()
    report = extract_learnings(machine, store, Scope("ann", "t1"), [HumanMessage("hi", id="1")])
    assert report.status == "applied", report
    profile = run_plan(store, user_profile.get_profile("ann", CustomProfile))
    assert isinstance(profile, CustomProfile)
    assert profile.preferences == {"tea": "green", "tone": "dry"}
    assert profile.address is not None and profile.address.labels == {"a": "b"}
    assert (profile.name, profile.tone, profile.company, profile.scores) == (
        "Ann Lee", "casual", None, None,
    )  # fmt: skip


# -- a schema strict mode cannot express is refused when the door is built --------------------


class AnyValues(UserProfile):
    settings: dict[str, Any] | None = None


class Pair(UserProfile):
    location: tuple[float, float] | None = None


class Untyped(UserProfile):
    blob: Any = None


@pytest.mark.parametrize(
    ("schema", "field"), [(AnyValues, "settings"), (Pair, "location"), (Untyped, "blob")]
)
def test_an_inexpressible_profile_field_is_refused_at_construction(
    schema: type[UserProfile], field: str
) -> None:
    machine = LearningMachine(
        model=ScriptedChatModel(), user_profile=UserProfileConfig(schema=schema)
    )
    pattern = rf"field '{field}' of the profile schema {schema.__name__}.*Fix: give it a concrete"
    with pytest.raises(StrictSchemaError, match=pattern):
        create_extraction_node(machine)
    with pytest.raises(StrictSchemaError, match=pattern):
        LearningMiddleware(machine)
    assert isinstance(StrictSchemaError("x"), ValueError)
