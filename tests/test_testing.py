"""The shipped test doubles behave as their docstrings promise."""

from __future__ import annotations

import asyncio
import doctest
import math
import threading
import time
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelRefusalError,
    OutputParserException,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from agno_learn_langgraph import testing
from agno_learn_langgraph.testing import (
    HashEmbeddings,
    ScriptedChatModel,
    ai_tool_calls,
    api_error,
    invalid_tool_call,
    refusal,
    tool_call,
    truncated,
)


@tool
def lookup_weather(city: str) -> str:
    """Look up today's weather in a city."""
    return f"Sunny in {city}"


class Fact(BaseModel):
    text: str
    confidence: float


class FactDict(TypedDict):
    text: str
    confidence: float


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


def test_docstring_examples_run() -> None:
    results = [doctest.testmod(m) for m in (testing.chat, testing.replies, testing.embeddings)]
    assert all(r.attempted > 0 for r in results)
    assert sum(r.failed for r in results) == 0


# -- chat path -------------------------------------------------------------------------------


def test_replies_follow_the_script_then_the_default() -> None:
    model = ScriptedChatModel(["one", AIMessage(content="two")], default_response="(done)")
    assert [model.invoke("x").content for _ in range(4)] == ["one", "two", "(done)", "(done)"]
    assert model.call_count == 4


def test_cycle_loops_the_script() -> None:
    model = ScriptedChatModel(["a", "b"], cycle=True)
    assert [model.invoke("x").content for _ in range(5)] == ["a", "b", "a", "b", "a"]


def test_scripted_exception_is_raised_and_the_script_moves_on() -> None:
    model = ScriptedChatModel([TimeoutError("provider timed out"), "recovered"])
    with pytest.raises(TimeoutError, match="provider timed out"):
        model.invoke("x")
    assert model.invoke("x").content == "recovered"
    assert model.call_count == 2


def test_callable_reply_sees_the_messages_sent() -> None:
    seen: list[list[BaseMessage]] = []

    def echo(messages: list[BaseMessage]) -> str:
        seen.append(messages)
        return f"echo: {messages[-1].content}"

    model = ScriptedChatModel([echo])
    reply = model.invoke([SystemMessage("be brief"), HumanMessage("hello")])
    assert reply.content == "echo: hello"
    assert [m.type for m in seen[0]] == ["system", "human"]
    assert [m.content for m in model.calls[0]] == ["be brief", "hello"]


def test_callable_may_return_a_message_with_tool_calls() -> None:
    model = ScriptedChatModel(
        [lambda msgs: ai_tool_calls(tool_call("lookup_weather", {"city": "Oslo"}))]
    )
    reply = model.invoke("weather?")
    assert reply.tool_calls[0]["name"] == "lookup_weather"
    assert reply.tool_calls[0]["args"] == {"city": "Oslo"}


def test_scripted_messages_are_copied_so_graph_ids_do_not_leak() -> None:
    scripted = AIMessage(content="same")
    model = ScriptedChatModel([scripted], cycle=True)
    first, second = model.invoke("x"), model.invoke("y")
    first.id = "changed"
    assert scripted.id is None
    assert second.id != "changed"


def test_bad_script_item_names_the_allowed_kinds() -> None:
    with pytest.raises(TypeError, match=r"responses\[1\] is a int .*expected a str, an AIMessage"):
        ScriptedChatModel(["ok", 42])  # type: ignore[list-item]


def test_callable_returning_the_wrong_type_names_the_fix() -> None:
    model = ScriptedChatModel([lambda msgs: 3])  # type: ignore[list-item,return-value]
    with pytest.raises(TypeError, match="return a str or an AIMessage"):
        model.invoke("x")


def test_reset_clears_logs_and_rewinds() -> None:
    model = ScriptedChatModel(["a", "b"], structured_responses=[{"text": "t", "confidence": 1}])
    model.invoke("x")
    model.with_structured_output(Fact).invoke("x")
    model.reset()
    assert (model.call_count, model.structured_call_count) == (0, 0)
    assert model.invoke("x").content == "a"
    assert model.with_structured_output(Fact).invoke("x").text == "t"


def test_stream_and_batch_fall_back_to_the_script() -> None:
    model = ScriptedChatModel(["streamed", "b1", "b2"])
    chunks = list(model.stream("x"))
    assert "".join(str(c.content) for c in chunks) == "streamed"
    # batch runs in threads, so which input gets which item is unspecified
    assert sorted(str(m.content) for m in model.batch(["p", "q"])) == ["b1", "b2"]


async def test_ainvoke_uses_the_same_script() -> None:
    model = ScriptedChatModel(["a", "b"])
    assert (await model.ainvoke("x")).content == "a"
    assert model.invoke("x").content == "b"


async def test_async_delay_does_not_block_the_event_loop() -> None:
    model = ScriptedChatModel(["a", "b"], delay_s=0.2)
    start = time.perf_counter()
    replies = await asyncio.gather(model.ainvoke("x"), model.ainvoke("y"))
    assert time.perf_counter() - start < 0.35
    assert sorted(str(r.content) for r in replies) == ["a", "b"]


def test_twenty_threads_each_consume_one_distinct_item() -> None:
    model = ScriptedChatModel([f"item-{i}" for i in range(20)], default_response="EXHAUSTED")
    results: list[str] = []
    results_lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        content = str(model.invoke("go").content)
        with results_lock:
            results.append(content)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"item-{i}" for i in range(20))
    assert model.call_count == 20
    assert model.invoke("late").content == "EXHAUSTED"


# -- tools -----------------------------------------------------------------------------------


def test_bind_tools_shares_the_script_and_records_tool_names() -> None:
    model = ScriptedChatModel(["first", "second", "third"])
    bound = model.bind_tools([lookup_weather, Fact], tool_choice="any")
    assert bound.bound_tools == ["lookup_weather", "Fact"]
    assert bound.tool_choice == "any"
    assert model.bound_tools == []
    assert bound.invoke("x").content == "first"
    assert model.invoke("x").content == "second"
    assert model.bind_tools([]).invoke("x").content == "third"
    assert model.call_count == bound.call_count == 3
    bound.reset()
    assert model.call_count == 0


def test_tool_call_helper_fills_a_missing_id() -> None:
    call = tool_call("lookup_weather")
    assert call["args"] == {}
    assert call["id"] and call["id"].startswith("call_")


def test_scripted_tool_call_drives_a_real_tool_node_graph() -> None:
    model = ScriptedChatModel(
        [
            ai_tool_calls(tool_call("lookup_weather", {"city": "Lisbon"}, id="call_1")),
            lambda msgs: f"Forecast: {msgs[-1].content}",
        ]
    )
    bound = model.bind_tools([lookup_weather])

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([lookup_weather]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile()

    result = graph.invoke({"messages": [HumanMessage("Weather in Lisbon?")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.content for m in tool_messages] == ["Sunny in Lisbon"]
    assert tool_messages[0].tool_call_id == "call_1"
    assert result["messages"][-1].content == "Forecast: Sunny in Lisbon"
    assert model.call_count == 2


def test_scripted_tool_call_drives_create_agent_end_to_end() -> None:
    model = ScriptedChatModel(
        [
            ai_tool_calls(tool_call("lookup_weather", {"city": "Porto"}), content="Checking."),
            "It is sunny in Porto.",
        ]
    )
    agent = create_agent(model, tools=[lookup_weather], system_prompt="You are helpful.")
    result = agent.invoke({"messages": [HumanMessage("Weather in Porto?")]})
    assert [m.type for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    assert result["messages"][2].content == "Sunny in Porto"
    assert result["messages"][-1].content == "It is sunny in Porto."
    assert model.calls[0][0].type == "system"
    assert model.calls[1][-1].type == "tool"


async def test_create_agent_runs_under_ainvoke() -> None:
    model = ScriptedChatModel(
        [ai_tool_calls(tool_call("lookup_weather", {"city": "Faro"})), "Sunny."]
    )
    agent = create_agent(model, tools=[lookup_weather])
    result = await agent.ainvoke({"messages": [HumanMessage("Weather in Faro?")]})
    assert result["messages"][-1].content == "Sunny."


def test_create_agent_response_format_uses_a_scripted_tool_call() -> None:
    class Answer(BaseModel):
        city: str

    model = ScriptedChatModel([ai_tool_calls(tool_call("Answer", {"city": "Oslo"}))])
    agent = create_agent(model, tools=[lookup_weather], response_format=Answer)
    result = agent.invoke({"messages": [HumanMessage("Which city?")]})
    assert result["structured_response"] == Answer(city="Oslo")
    assert model.structured_call_count == 0  # create_agent binds a tool instead


# -- structured path -------------------------------------------------------------------------


def test_structured_output_returns_model_instances_in_order() -> None:
    model = ScriptedChatModel(
        structured_responses=[
            {"text": "Tea is hot.", "confidence": 0.9},
            Fact(text="Ice is cold.", confidence=1.0),
            lambda msgs: {"text": str(msgs[-1].content), "confidence": "0.5"},
        ]
    )
    extractor = model.with_structured_output(Fact)
    assert extractor.invoke("a") == Fact(text="Tea is hot.", confidence=0.9)
    assert extractor.invoke("b") == Fact(text="Ice is cold.", confidence=1.0)
    assert extractor.invoke("echo me") == Fact(text="echo me", confidence=0.5)
    assert model.structured_call_count == 3
    assert model.call_count == 0


def test_structured_output_rejects_malformed_values() -> None:
    model = ScriptedChatModel(
        structured_responses=[{"text": "missing confidence"}, {"text": "x", "confidence": "high"}]
    )
    extractor = model.with_structured_output(Fact)
    with pytest.raises(ValidationError, match="confidence"):
        extractor.invoke("a")
    with pytest.raises(ValidationError, match="confidence"):
        extractor.invoke("b")


def test_structured_output_with_typeddict_and_json_schema_returns_dicts() -> None:
    schema = {
        "title": "Fact",
        "type": "object",
        "properties": {"text": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["text", "confidence"],
    }
    model = ScriptedChatModel(
        structured_responses=[
            {"text": "a", "confidence": 1},
            {"text": "b", "confidence": 0.5},
            {"text": "c"},
        ]
    )
    assert model.with_structured_output(FactDict).invoke("x") == {"text": "a", "confidence": 1.0}
    as_json = model.with_structured_output(schema)
    assert as_json.invoke("x") == {"text": "b", "confidence": 0.5}
    with pytest.raises(ValidationError, match="confidence"):
        as_json.invoke("x")


def test_structured_output_include_raw_mirrors_langchain() -> None:
    model = ScriptedChatModel(
        structured_responses=[{"text": "t", "confidence": 1}, {"text": "no confidence"}]
    )
    extractor = model.with_structured_output(Fact, include_raw=True)
    ok = extractor.invoke("x")
    assert isinstance(ok["raw"], AIMessage)
    assert ok["parsed"] == Fact(text="t", confidence=1)
    assert ok["parsing_error"] is None
    bad = extractor.invoke("x")
    assert bad["parsed"] is None
    assert isinstance(bad["parsing_error"], ValidationError)


def test_structured_input_is_normalised_like_a_chat_model() -> None:
    model = ScriptedChatModel(structured_responses=[{"text": "t", "confidence": 1}], cycle=True)
    extractor = model.with_structured_output(Fact)
    prompt = ChatPromptTemplate.from_messages([("system", "Extract."), ("human", "{text}")])
    extractor.invoke("plain string")
    extractor.invoke([("human", "a tuple message")])
    (prompt | extractor).invoke({"text": "from a prompt"})
    calls = model.structured_calls
    assert [[m.type for m in call] for call in calls] == [["human"], ["human"], ["system", "human"]]
    assert calls[2][1].content == "from a prompt"


def test_structured_exception_is_raised_and_exhaustion_names_the_fix() -> None:
    model = ScriptedChatModel(structured_responses=[RuntimeError("rate limited")])
    extractor = model.with_structured_output(Fact)
    with pytest.raises(RuntimeError, match="rate limited"):
        extractor.invoke("x")
    with pytest.raises(IndexError, match="cycle=True"):
        extractor.invoke("x")


async def test_structured_ainvoke_with_delay_runs_concurrently() -> None:
    model = ScriptedChatModel(
        structured_responses=[{"text": "a", "confidence": 1}, {"text": "b", "confidence": 1}],
        structured_delay_s=0.2,
    )
    extractor = model.with_structured_output(Fact)
    start = time.perf_counter()
    facts = await asyncio.gather(extractor.ainvoke("x"), extractor.ainvoke("y"))
    assert time.perf_counter() - start < 0.35
    assert sorted(f.text for f in facts) == ["a", "b"]


def test_structured_delay_falls_back_to_delay_s() -> None:
    model = ScriptedChatModel(structured_responses=[{"text": "a", "confidence": 1}], delay_s=0.05)
    start = time.perf_counter()
    model.with_structured_output(Fact).invoke("x")
    assert time.perf_counter() - start >= 0.04


def test_without_structured_output_support_callers_fall_back_to_json_text() -> None:
    model = ScriptedChatModel(
        ['{"text": "t", "confidence": 0.7}'], supports_structured_output=False
    )
    with pytest.raises(NotImplementedError, match="supports_structured_output"):
        model.with_structured_output(Fact)
    assert Fact.model_validate_json(str(model.invoke("x").content)) == Fact(
        text="t", confidence=0.7
    )


def test_bound_copy_shares_the_structured_script() -> None:
    model = ScriptedChatModel(
        structured_responses=[{"text": "a", "confidence": 1}, {"text": "b", "confidence": 1}]
    )
    assert model.bind_tools([lookup_weather]).with_structured_output(Fact).invoke("x").text == "a"
    assert model.with_structured_output(Fact).invoke("x").text == "b"


# -- embeddings ------------------------------------------------------------------------------


def test_hash_embeddings_rank_related_texts_above_unrelated_ones() -> None:
    emb = HashEmbeddings()
    query = emb.embed_query("Which tea does the user prefer?")
    docs = [
        "Quarterly tax filing deadline is in April",
        "The user prefers green teas in the morning",
        "Python asyncio event loop internals",
    ]
    scores = [cosine(query, d) for d in emb.embed_documents(docs)]
    assert max(range(3), key=scores.__getitem__) == 1
    assert scores[1] > 0.4
    assert max(scores[0], scores[2]) < 0.2


def test_hash_embeddings_fold_case_accents_and_plurals() -> None:
    emb = HashEmbeddings()
    # Snowball folds regular plurals ("menus" stays "menus": it keeps a final "us")
    folded = cosine(emb.embed_query("Café Prices"), emb.embed_query("cafe price"))
    assert folded == pytest.approx(1.0)


def test_hash_embeddings_are_deterministic_normalised_and_sized() -> None:
    emb = HashEmbeddings(dims=32)
    first, again, empty = emb.embed_documents(["hello world", "hello world", ""])
    assert first == again
    assert len(first) == 32
    assert math.sqrt(sum(x * x for x in first)) == pytest.approx(1.0)
    assert math.sqrt(sum(x * x for x in empty)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="dims >= 8"):
        HashEmbeddings(dims=2)


async def test_hash_embeddings_async_matches_sync() -> None:
    emb = HashEmbeddings()
    assert await emb.aembed_query("green tea") == emb.embed_query("green tea")
    assert await emb.aembed_documents(["a b", "c"]) == emb.embed_documents(["a b", "c"])


def test_hash_embeddings_power_langgraph_store_search() -> None:
    store = InMemoryStore(index={"dims": 256, "embed": HashEmbeddings(), "fields": ["text"]})
    store.put(("memories",), "tea", {"text": "The user prefers green tea"})
    store.put(("memories",), "tax", {"text": "Tax filing is due in April"})
    hits = store.search(("memories",), query="what tea does the user like", limit=2)
    assert hits[0].key == "tea"


# -- faults: the ways real models fail -----------------------------------------------------------


def test_an_invalid_tool_call_is_not_a_tool_call_and_create_agent_answers_it() -> None:
    model = ScriptedChatModel([invalid_tool_call("lookup_weather", '{"city": "Par'), "Sorry."])
    agent = create_agent(model, tools=[lookup_weather])
    first = agent.invoke({"messages": [HumanMessage("Weather in Paris?")]})
    bad = first["messages"][-1]
    assert bad.tool_calls == [] and bad.invalid_tool_calls[0]["args"] == '{"city": "Par'
    agent.invoke({"messages": [*first["messages"], HumanMessage("Well?")]})
    answer = [m for m in model.calls[-1] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in answer] == [
        (bad.invalid_tool_calls[0]["id"], "error")
    ]


def test_a_refusal_is_a_reply_in_chat_and_an_error_in_structured_output() -> None:
    model = ScriptedChatModel(
        [refusal("I can't discuss that.")],
        structured_responses=[refusal("No."), refusal("Still no.")],
    )
    reply = model.invoke("hi")
    assert reply.content_blocks == [{"type": "refusal", "refusal": "I can't discuss that."}]
    with pytest.raises(ModelRefusalError, match="No"):
        model.with_structured_output(Fact).invoke("Extract")
    raw = model.with_structured_output(Fact, include_raw=True).invoke("Extract")
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], ModelRefusalError)
    assert raw["raw"].additional_kwargs["refusal"] == "Still no."


def test_truncated_replies_stop_at_length() -> None:
    model = ScriptedChatModel(
        [truncated("Once upon a ti"), truncated(tool_call=("lookup_weather", {"city": "Paris"}))],
        structured_responses=[truncated('{"text": "Tea is')],
    )
    text = model.invoke("story")
    assert (text.text, text.response_metadata["finish_reason"]) == ("Once upon a ti", "length")
    cut = model.bind_tools([lookup_weather]).invoke("weather")
    assert cut.tool_calls == [] and cut.invalid_tool_calls[0]["name"] == "lookup_weather"
    assert cut.response_metadata["finish_reason"] == "length"
    with pytest.raises(OutputParserException, match="length"):
        model.with_structured_output(Fact).invoke("Extract")


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (429, ModelRateLimitError, True),
        (500, ModelAPIError, True),
        (503, ModelAPIError, True),
        (400, ModelInvalidRequestError, False),
        (401, ModelAuthenticationError, False),
        (403, ModelPermissionDeniedError, False),
    ],
)
def test_api_errors_raise_with_their_status(
    status: int, error: type[Exception], retryable: bool
) -> None:
    model = ScriptedChatModel(
        [api_error(status), "Recovered."],
        structured_responses=[api_error(status, "bad schema"), {"text": "t", "confidence": 1}],
    )
    with pytest.raises(error) as chat_err:
        model.invoke("hi")
    assert chat_err.value.status_code == status  # type: ignore[attr-defined]
    assert chat_err.value.is_retryable is retryable  # type: ignore[attr-defined]
    assert model.invoke("again").content == "Recovered."
    structured = model.with_structured_output(Fact)
    with pytest.raises(error, match="bad schema"):
        structured.invoke("Extract")
    assert structured.invoke("Extract") == Fact(text="t", confidence=1)


def test_a_structured_ai_message_is_parsed_as_json() -> None:
    model = ScriptedChatModel(
        structured_responses=[AIMessage('{"text": "Tea", "confidence": 0.5}')]
    )
    assert model.with_structured_output(Fact).invoke("x") == Fact(text="Tea", confidence=0.5)
