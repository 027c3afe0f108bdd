"""The fake OpenAI server is trustworthy: it rejects what the API rejects, accepts what
``ChatOpenAI`` sends for a valid conversation, and each fault it injects reaches the client."""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai.chat_models.base import OpenAIRefusalError
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from tests.fake_openai import (
    UNSUPPORTED_KEYWORDS,
    ApiError,
    FakeOpenAI,
    check_chat_request,
    complete,
    empty_instance,
    http_error,
    invalid_tool_call,
    refusal,
    strict_schema_problem,
    tool_calls,
    truncated,
)


class Address(BaseModel):
    city: str
    country: str | None


class Person(BaseModel):
    """A person, the way a strict schema can describe one."""

    name: str = Field(description="Full name")
    nicknames: list[str]
    home: Address | None


class Tagged(BaseModel):
    name: str
    tags: dict[str, str]


class WithDefault(BaseModel):
    name: str
    entity_type: str = "unknown"


@tool
def search(query: str) -> str:
    """Search the notes."""
    return f"found {query}"


def obj(**props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


# -- the validator, offline --------------------------------------------------------------------


def test_a_strict_schema_with_defs_refs_anyof_and_enums_is_accepted() -> None:
    schema = {
        **obj(
            kind={"type": "string", "enum": ["a", "b"]},
            when={"anyOf": [{"type": "string"}, {"type": "null"}]},
            home={"$ref": "#/$defs/Home"},
            tags={"type": "array", "items": obj(key={"type": "string"}, value={"type": "string"})},
        ),
        "$defs": {"Home": obj(city={"type": ["string", "null"]})},
    }
    assert strict_schema_problem(schema) is None
    assert strict_schema_problem(to_strict_json_schema(Person)) is None  # what the SDK sends


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "In context=(), 'additionalProperties' is required to be supplied and to be false.",
        ),
        ({**obj(a={"type": "string"}), "required": []}, "every key in properties. Missing 'a'."),
        (
            obj(tags={"type": "object", "additionalProperties": {"type": "string"}}),
            "In context=('properties', 'tags'), 'additionalProperties' is required",
        ),
        (
            obj(a={"type": "string", "default": "x"}),
            "In context=('properties', 'a'), 'default' is not permitted.",
        ),
        (obj(a={}), "In context=('properties', 'a'), schema must have a 'type' key."),
        (obj(a={"$ref": "#/$defs/Missing"}), "reference '#/$defs/Missing' can't be resolved."),
        (obj(a={"type": "array"}), "array schema missing items."),
        ({"anyOf": [obj(a={"type": "string"})]}, "must be a JSON Schema of 'type: \"object\"'"),
        (obj(a={"type": "date"}), "type 'date' is not supported."),
    ],
)
def test_the_strict_subset_is_enforced(schema: dict[str, Any], expected: str) -> None:
    problem = strict_schema_problem(schema)
    assert problem is not None and expected in problem


@pytest.mark.parametrize(
    "keyword",
    [
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "allOf",
        "oneOf",
        "patternProperties",
    ],
)
def test_unsupported_keywords_are_refused(keyword: str) -> None:
    assert keyword in UNSUPPORTED_KEYWORDS
    schema = obj(a={"type": "string", keyword: 1})
    assert (
        strict_schema_problem(schema)
        == f"In context=('properties', 'a'), '{keyword}' is not permitted."
    )


def chat_body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": messages, **extra}


def function(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": obj(), **extra}}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("search web", "invalid_value"),
        ("a.b", "invalid_value"),
        ("x" * 65, "string_above_max_length"),
        ("", "missing_required"),
    ],
)
def test_bad_tool_names_are_refused(name: str, code: str) -> None:
    with pytest.raises(ApiError) as err:
        check_chat_request(chat_body([{"role": "user", "content": "hi"}], tools=[function(name)]))
    assert (err.value.status, err.value.code, err.value.param) == (
        400,
        code,
        "tools[0].function.name",
    )


def test_good_tool_names_and_a_full_tool_round_are_accepted() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}}
    check_chat_request(
        chat_body(
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [call, {**call, "id": "call_2"}],
                },
                {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
                {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                {"role": "assistant", "content": "done"},
                {"role": "user", "content": "thanks"},
            ],
            tools=[function("a"), function("x" * 64), function("get-Weather_2")],
            parallel_tool_calls=True,
        )
    )


def test_unanswered_and_unknown_tool_call_ids_are_refused() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}}
    asked = {"role": "assistant", "content": None, "tool_calls": [call]}
    with pytest.raises(ApiError, match="did not have response messages: call_1") as err:
        check_chat_request(chat_body([asked, {"role": "user", "content": "and?"}]))
    assert err.value.param == "messages.[1].role"
    with pytest.raises(ApiError, match="did not have response messages: call_1"):
        check_chat_request(chat_body([{"role": "user", "content": "hi"}, asked]))
    with pytest.raises(ApiError, match="must be a response to a preceeding message"):
        check_chat_request(
            chat_body([asked, {"role": "tool", "tool_call_id": "call_9", "content": "?"}])
        )
    with pytest.raises(ApiError, match="must be a response to a preceeding message"):
        check_chat_request(chat_body([{"role": "tool", "tool_call_id": "call_1", "content": "?"}]))


def test_tool_options_without_tools_and_json_mode_without_json_are_refused() -> None:
    hi = [{"role": "user", "content": "hi"}]
    for key, value in (("parallel_tool_calls", False), ("tool_choice", "auto")):
        with pytest.raises(ApiError, match=f"'{key}' is only allowed when 'tools'"):
            check_chat_request(chat_body(hi, **{key: value}))
    with pytest.raises(ApiError, match="must contain the word 'json'"):
        check_chat_request(chat_body(hi, response_format={"type": "json_object"}))
    choice = {"type": "function", "function": {"name": "b"}}
    with pytest.raises(ApiError, match="Tool choice 'b' not found"):
        check_chat_request(chat_body(hi, tools=[function("a")], tool_choice=choice))


def test_empty_instance_and_complete_follow_the_schema() -> None:
    schema = to_strict_json_schema(Person)
    assert empty_instance(schema) == {"name": "", "nicknames": [], "home": None}
    assert complete({"home": {"city": "Oslo"}}, schema) == {
        "home": {"city": "Oslo", "country": None},
        "name": "",
        "nicknames": [],
    }


# -- through ChatOpenAI ------------------------------------------------------------------------


def test_a_valid_tool_conversation_from_chat_openai_is_accepted(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        tool_calls(("search", {"query": "tea"}), ("search", {"query": "cake"})), "Done."
    )
    chat = fake_openai.chat_model().bind_tools([search], parallel_tool_calls=True, strict=True)
    history: list[Any] = [HumanMessage("Find tea and cake")]
    first = chat.invoke(history)
    assert [c["args"] for c in first.tool_calls] == [{"query": "tea"}, {"query": "cake"}]
    history += [
        first,
        *(ToolMessage(search.invoke(c["args"]), tool_call_id=c["id"]) for c in first.tool_calls),
    ]
    assert chat.invoke(history).content == "Done."
    assert fake_openai.statuses() == [200, 200]
    sent = fake_openai.chat_requests[1]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool", "tool"]
    assert sent["tools"][0]["function"]["strict"] is True and sent["parallel_tool_calls"] is True


def test_structured_output_is_sent_strict_and_parsed(fake_openai: FakeOpenAI) -> None:
    fake_openai.script_structured({"name": "Ali", "home": {"city": "Oslo"}})
    person = fake_openai.chat_model().with_structured_output(Person).invoke("Who?")
    assert person == Person(name="Ali", nicknames=[], home=Address(city="Oslo", country=None))
    fmt = fake_openai.chat_requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True


@pytest.mark.filterwarnings("ignore:Invalid schema for OpenAI's structured output")
@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (Tagged, "In context=('properties', 'tags'), 'additionalProperties' is required"),
        (WithDefault, "In context=('properties', 'entity_type'), 'default' is not permitted"),
    ],
)
def test_schemas_outside_the_strict_subset_get_a_400(
    fake_openai: FakeOpenAI, schema: type[BaseModel], expected: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=re.escape(expected)) as err:
        fake_openai.chat_model().with_structured_output(schema).invoke("Extract")
    assert err.value.status_code == 400
    assert err.value.body["param"] == "response_format"  # type: ignore[index]


def test_a_bad_tool_name_and_a_missing_tool_message_get_a_400(fake_openai: FakeOpenAI) -> None:
    bad = {"type": "function", "function": {"name": "search notes", "parameters": obj()}}
    with pytest.raises(openai.BadRequestError, match="does not match pattern"):
        fake_openai.chat_model().bind_tools([bad]).invoke("hi")
    asked = AIMessage("", tool_calls=[{"name": "search", "args": {}, "id": "call_7"}])
    with pytest.raises(openai.BadRequestError, match="did not have response messages: call_7"):
        fake_openai.chat_model().bind_tools([search]).invoke(
            [HumanMessage("x"), asked, HumanMessage("y")]
        )
    assert fake_openai.statuses() == [400, 400]


def test_refusals_reach_the_client(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(refusal("I can't help with that."))
    reply = fake_openai.chat_model().invoke("hi")
    assert reply.additional_kwargs["refusal"] == "I can't help with that."
    fake_openai.script_structured(refusal("No way"))
    with pytest.raises(OpenAIRefusalError, match="No way"):
        fake_openai.chat_model().with_structured_output(Person).invoke("Who?")


def test_length_truncates_text_structured_output_and_tool_calls(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        truncated("Once upon a ti"), truncated(tool_call=("search", {"query": "green tea"}))
    )
    chat = fake_openai.chat_model().bind_tools([search])
    text = chat.invoke("story")
    assert (text.content, text.response_metadata["finish_reason"]) == ("Once upon a ti", "length")
    cut = chat.invoke("search")
    assert cut.tool_calls == [] and cut.invalid_tool_calls[0]["name"] == "search"
    assert cut.response_metadata["finish_reason"] == "length"
    fake_openai.script_structured(truncated())
    with pytest.raises(openai.LengthFinishReasonError):
        fake_openai.chat_model().with_structured_output(Person).invoke("Who?")


def test_invalid_tool_call_json_becomes_invalid_tool_calls(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(invalid_tool_call("search", '{"query": "tea', id="call_bad"))
    reply = fake_openai.chat_model().bind_tools([search]).invoke("tea?")
    assert reply.tool_calls == []
    assert reply.invalid_tool_calls[0]["id"] == "call_bad"
    assert reply.invalid_tool_calls[0]["args"] == '{"query": "tea'


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (401, openai.AuthenticationError),
        (400, openai.BadRequestError),
    ],
)
def test_error_statuses_reach_the_client(
    fake_openai: FakeOpenAI, status: int, error: type[Exception]
) -> None:
    fake_openai.script(http_error(status))
    with pytest.raises(error) as err:
        fake_openai.chat_model().invoke("hi")
    assert err.value.status_code == status  # type: ignore[attr-defined]
    assert fake_openai.chat_model().invoke("again").content == "OK"  # the fault was used up


def test_a_429_with_retry_after_is_retried_by_the_sdk(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(http_error(429, retry_after=0.01, times=2), "Finally.")
    assert fake_openai.chat_model(max_retries=2).invoke("hi").content == "Finally."
    assert fake_openai.statuses() == [429, 429, 200]


def test_a_wrong_api_key_gets_a_401(fake_openai: FakeOpenAI) -> None:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=fake_openai.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        chat.invoke("hi")


def test_usage_is_filled(fake_openai: FakeOpenAI) -> None:
    reply = fake_openai.chat_model().invoke("How many tokens is this?")
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0


def test_scripts_can_target_one_model_and_depend_on_the_request(fake_openai: FakeOpenAI) -> None:
    fake_openai.script("extractor reply", model="gpt-4.1-nano")
    fake_openai.script(lambda body: f"you said {body['messages'][-1]['content']}")
    assert fake_openai.chat_model().invoke("hi").content == "you said hi"
    assert fake_openai.chat_model("gpt-4.1-nano").invoke("hi").content == "extractor reply"


def test_embeddings_are_deterministic_in_both_encodings(fake_openai: FakeOpenAI) -> None:
    texts = ["green tea", "tax deadline"]
    as_base64 = fake_openai.embeddings_model().embed_documents(texts)  # the SDK's default
    as_float = fake_openai.embeddings_model(
        model_kwargs={"encoding_format": "float"}
    ).embed_documents(texts)
    assert [len(v) for v in as_base64] == [64, 64]
    for floats, decoded in zip(as_float, as_base64, strict=True):
        assert floats == pytest.approx(decoded, abs=1e-6)
    again = fake_openai.embeddings_model().embed_query("green tea")
    assert again == pytest.approx(as_base64[0], abs=1e-6)
    assert as_base64[0] != pytest.approx(as_base64[1], abs=0.05)
    assert len(fake_openai.embeddings_model(dimensions=32).embed_query("tea")) == 32
    assert [b["encoding_format"] for b in fake_openai.embedding_requests[:2]] == ["base64", "float"]


def test_embedding_outages_reach_the_client(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_embeddings(500, times=2, retry_after=0.01)
    with pytest.raises(openai.InternalServerError):
        fake_openai.embeddings_model(max_retries=1).embed_query("tea")
    assert fake_openai.statuses("/embeddings") == [500, 500]
    assert len(fake_openai.embeddings_model().embed_query("tea")) == 64


def test_a_misfit_scripted_structured_reply_is_reported() -> None:
    fake = FakeOpenAI()
    fake.start()
    try:
        fake.script_structured({"name": 42})
        with pytest.raises(openai.InternalServerError, match="does not fit 'Person'"):
            fake.chat_model().with_structured_output(Person).invoke("Who?")
        assert fake.problems == [
            "scripted structured reply does not fit 'Person': name: 42 is not of type ['string']"
        ]
    finally:
        fake.stop()


def test_every_request_is_recorded_with_its_body(fake_openai: FakeOpenAI) -> None:
    fake_openai.chat_model(temperature=0).invoke("hi")
    (record,) = fake_openai.requests
    assert record.path == "/v1/chat/completions" and record.status == 200
    assert record.headers["authorization"] == "Bearer test"
    assert json.loads(json.dumps(record.body))["temperature"] == 0
