"""A tool call with malformed or cut-off JSON arguments gets an error reply, and the thread lives.

A model that stops at its output limit mid tool call returns ``AIMessage.invalid_tool_calls``.
``route_after_agent`` sends such a turn to the tools node and ``LearningToolNode`` answers each
call with an error ``ToolMessage``, so the model runs again, the user gets an answer, and every
later request keeps OpenAI's ordering rule (each assistant tool call id answered by a tool
message before the next assistant or user message), which OpenAI enforces with HTTP 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import (
    LearningMachine,
    LearningState,
    LearningToolNode,
    create_extraction_node,
    create_learning_tools,
    create_recall_node,
    route_after_agent,
    with_learning_context,
)
from agno_learn_langgraph.testing import ScriptedChatModel, tool_call


@dataclass
class Context:
    user_id: str


ALICE = Context(user_id="alice")
CONFIG = {"configurable": {"thread_id": "thread-1"}}


def openai_ordering_errors(messages: Sequence[BaseMessage]) -> list[str]:
    """Where a request breaks OpenAI's rule for tool calls (empty when it is valid)."""
    errors: list[str] = []
    open_ids: set[str] = set()
    for m in messages:
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in open_ids:
                errors.append(f"tool message {m.tool_call_id} answers no open tool call")
            open_ids.discard(m.tool_call_id)
            continue
        if open_ids:
            errors.append(f"tool calls {sorted(open_ids)} unanswered before a {m.type} message")
        open_ids = set()
        if isinstance(m, AIMessage):
            calls = [*m.tool_calls, *m.invalid_tool_calls]
            open_ids = {str(c["id"]) for c in calls if c.get("id")}
    if open_ids:
        errors.append(f"tool calls {sorted(open_ids)} unanswered at the end")
    return errors


def cut_off(call_id: str = "call_cut") -> AIMessage:
    """What a model returns when its output limit cuts a tool call's JSON arguments."""
    bad = invalid_tool_call(
        name="log_decision",
        args='{"decision": "Use Postgres", "reason',
        id=call_id,
        error="Unterminated string starting at: line 1 column 30",
    )
    return AIMessage("", invalid_tool_calls=[bad], response_metadata={"finish_reason": "length"})


class Recorder:
    """A script step that records the messages sent to the model and answers ``text``."""

    def __init__(self) -> None:
        self.requests: list[list[BaseMessage]] = []

    def answer(self, text: str) -> Any:
        def step(messages: list[BaseMessage]) -> str:
            self.requests.append(list(messages))
            return text

        return step


def build(chat: ScriptedChatModel, *, fixed: bool = True) -> Any:
    """The README's Quick-start graph; ``fixed=False`` is the hand-written route it replaced."""
    machine = LearningMachine(
        model=ScriptedChatModel(structured_responses=[{}], cycle=True),
        user_memory=True,
        decision_log=True,
    )
    tools = create_learning_tools(machine)
    model = chat.bind_tools(tools)

    def agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [model.invoke(with_learning_context(state))]}

    async def aagent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(with_learning_context(state))]}

    def hand_written_route(state: LearningState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "learn"

    builder = StateGraph(LearningState, context_schema=Context)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", RunnableLambda(agent, afunc=aagent))
    builder.add_node("tools", LearningToolNode(tools) if fixed else ToolNode(tools))
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    route = route_after_agent("learn") if fixed else hand_written_route
    builder.add_conditional_edges("agent", route, ["tools", "learn"])
    builder.add_edge("tools", "agent")
    builder.add_edge("learn", END)
    return builder.compile(store=InMemoryStore(), checkpointer=InMemorySaver()), machine


async def two_turns(graph: Any, use_async: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    turns = []
    for text in ["Pick a database and log it.", "Which one did you pick?"]:
        state = {"messages": [("user", text)]}
        if use_async:
            turns.append(await graph.ainvoke(state, CONFIG, context=ALICE))
        else:
            turns.append(graph.invoke(state, CONFIG, context=ALICE))
    return turns[0], turns[1]


@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
async def test_an_invalid_tool_call_gets_an_error_and_the_thread_stays_valid(
    use_async: bool,
) -> None:
    seen = Recorder()
    chat = ScriptedChatModel(
        [cut_off(), seen.answer("Postgres: it is what the team knows."), seen.answer("Postgres.")]
    )
    graph, machine = build(chat)
    try:
        first, second = await two_turns(graph, use_async)
        await machine.aflush()
    finally:
        machine.close()

    error = next(m for m in first["messages"] if isinstance(m, ToolMessage))
    assert (error.tool_call_id, error.status, error.name) == ("call_cut", "error", "log_decision")
    assert "not valid JSON" in str(error.content) and "Unterminated string" in str(error.content)
    assert chat.call_count == 3  # the cut-off call, the retry after the error, the second turn
    assert first["messages"][-1].content == "Postgres: it is what the team knows."
    assert second["messages"][-1].content == "Postgres."
    assert len(seen.requests) == 2
    for request in seen.requests:
        assert isinstance(request[0], SystemMessage)
        assert openai_ordering_errors(request) == []
    assert openai_ordering_errors(second["messages"]) == []


def test_valid_and_invalid_calls_of_one_message_are_each_answered_once() -> None:
    both = AIMessage(
        "",
        tool_calls=[tool_call("log_decision", {"decision": "Use Postgres"}, id="call_ok")],
        invalid_tool_calls=[cut_off("call_cut").invalid_tool_calls[0]],
    )
    seen = Recorder()
    graph, machine = build(ScriptedChatModel([both, seen.answer("Logged it.")]))
    try:
        out = graph.invoke({"messages": [("user", "Log it.")]}, CONFIG, context=ALICE)
    finally:
        machine.close()
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert sorted(replies) == ["call_cut", "call_ok"]
    assert replies["call_ok"].status == "success" and "Logged decision dec_" in str(
        replies["call_ok"].content
    )
    assert replies["call_cut"].status == "error"
    assert len(out["messages"]) == 5  # user, the calls, two tool messages, the answer
    assert openai_ordering_errors(seen.requests[0]) == []
    assert out["messages"][-1].content == "Logged it."


def test_without_the_helpers_the_reply_is_empty_and_the_next_request_invalid() -> None:
    """The failure the helpers fix, reproduced with ToolNode and a route on tool_calls only."""
    seen = Recorder()
    chat = ScriptedChatModel([cut_off(), seen.answer("Postgres.")])
    graph, machine = build(chat, fixed=False)
    try:
        out = graph.invoke({"messages": [("user", "Log it.")]}, CONFIG, context=ALICE)
        graph.invoke({"messages": [("user", "Well?")]}, CONFIG, context=ALICE)
    finally:
        machine.close()
    assert out["messages"][-1].content == ""
    assert openai_ordering_errors(seen.requests[0]) == [
        "tool calls ['call_cut'] unanswered before a human message"
    ]


def test_route_after_agent_reads_dicts_objects_and_lists() -> None:
    route = route_after_agent(END, tools="act", messages_key="history")
    assert route({"history": [cut_off()]}) == "act"
    assert route({"history": [AIMessage("Hi")]}) == END
    assert route({"history": []}) == END
    assert route([AIMessage("", tool_calls=[tool_call("x", id="c1")])]) == "act"

    @dataclass
    class State:
        history: list[BaseMessage]

    assert route(State([cut_off()])) == "act"


def test_answered_invalid_calls_are_not_answered_twice() -> None:
    from agno_learn_langgraph.tools.node import invalid_tool_call_messages

    cut = cut_off()
    [error] = invalid_tool_call_messages([cut])
    assert invalid_tool_call_messages([cut, error]) == []
    no_id = AIMessage("", invalid_tool_calls=[invalid_tool_call(name="x", args="{", id=None)])
    assert invalid_tool_call_messages([no_id]) == []
