"""``LearningToolNode``: a ``ToolNode`` that also answers the model's invalid tool calls.

``ToolNode`` runs ``AIMessage.tool_calls`` only. A call whose arguments are not valid JSON (cut
off by ``finish_reason="length"``, or malformed) lands in ``AIMessage.invalid_tool_calls`` and
is never answered; the model's next request then carries a tool call without a tool message,
which OpenAI rejects with HTTP 400 on every later turn of the thread. This node answers each
such call with an error ``ToolMessage``, so the model is called again and can retry or answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

from agno_learn_langgraph.prompts import render_invalid_tool_call

__all__ = ["LearningToolNode", "invalid_tool_call_messages"]


def invalid_tool_call_messages(messages: Sequence[Any]) -> list[ToolMessage]:
    """Error tool messages for the last AI message's invalid tool calls not yet answered."""
    last = next(
        (i for i in reversed(range(len(messages))) if isinstance(messages[i], AIMessage)), -1
    )
    if last < 0:
        return []
    ai: AIMessage = messages[last]
    answered = {m.tool_call_id for m in messages[last + 1 :] if isinstance(m, ToolMessage)}
    return [
        ToolMessage(
            render_invalid_tool_call(call.get("name"), call.get("error")),
            tool_call_id=call["id"],
            name=call.get("name") or "unknown",
            status="error",
        )
        for call in ai.invalid_tool_calls
        if call.get("id") and call["id"] not in answered
    ]


class LearningToolNode(ToolNode):
    """A ``ToolNode`` that also answers invalid tool calls with an error message for the model.

    Takes the same arguments as ``ToolNode``. Route to it with
    :func:`~agno_learn_langgraph.route_after_agent`, which sends invalid tool calls here too:

    >>> from agno_learn_langgraph import LearningMachine, create_learning_tools
    >>> node = LearningToolNode(create_learning_tools(LearningMachine(decision_log=True)))
    >>> sorted(node.tools_by_name)
    ['log_decision', 'record_outcome', 'search_decisions']
    """

    def __init__(self, tools: Sequence[Any], *, messages_key: str = "messages", **kwargs: Any):
        super().__init__(tools, messages_key=messages_key, **kwargs)
        self.learning_messages_key = messages_key

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._answer_invalid(input, super().invoke(input, config, **kwargs))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._answer_invalid(input, await super().ainvoke(input, config, **kwargs))

    def _answer_invalid(self, input: Any, output: Any) -> Any:
        key = self.learning_messages_key
        if isinstance(input, list):
            messages = input  # a message list (tool-call lists hold no AIMessage)
        elif isinstance(input, dict):
            messages = input.get(key, [])
        else:
            messages = getattr(input, key, [])
        errors = invalid_tool_call_messages(messages) if isinstance(messages, list) else []
        if not errors:
            return output
        if isinstance(output, dict):  # {messages_key: [ToolMessage, ...]}
            return {**output, key: [*output.get(key, []), *errors]}
        has_commands = any(isinstance(item, Command) for item in output)
        if isinstance(input, list) and not has_commands:
            return [*output, *errors]
        # a list of Commands and updates, which LangGraph applies one by one
        return [*output, errors if isinstance(input, list) else {key: errors}]
