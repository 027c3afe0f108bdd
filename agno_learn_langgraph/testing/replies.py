"""What a scripted model can reply: tool calls, and the ways real models fail.

A fault is an ordinary script step: :func:`invalid_tool_call`, :func:`refusal` and
:func:`truncated` build the ``AIMessage`` a provider returns (so a graph sees exactly what
``ChatOpenAI`` gives it), :func:`api_error` the exception a provider raises for an HTTP status.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall
from pydantic import BaseModel

__all__ = [
    "ScriptedReply",
    "ScriptedStructuredReply",
    "ai_tool_calls",
    "api_error",
    "invalid_tool_call",
    "refusal",
    "tool_call",
    "truncated",
]

ScriptedReply: TypeAlias = (
    str | AIMessage | Callable[[list[BaseMessage]], AIMessage | str] | Exception
)
"""One step of a chat script: text, a message, a function of the conversation, or an error."""

ScriptedStructuredReply: TypeAlias = (
    dict[str, Any]
    | BaseModel
    | AIMessage
    | Callable[[list[BaseMessage]], dict[str, Any] | BaseModel]
    | Exception
)
"""One step of a structured-output script: a value to validate, a :func:`refusal` or
:func:`truncated` message, a function of the conversation, or an error."""

LENGTH_ERROR = "finish_reason 'length': the model stopped at its output token limit"


def tool_call(name: str, args: dict[str, Any] | None = None, id: str | None = None) -> ToolCall:
    """Build a tool call for a scripted reply; a missing ``id`` gets a fresh ``call_…`` id.

    >>> tool_call("search", {"q": "tea"}, id="call_1")
    {'name': 'search', 'args': {'q': 'tea'}, 'id': 'call_1', 'type': 'tool_call'}
    """
    return ToolCall(
        name=name, args=dict(args or {}), id=id or f"call_{uuid.uuid4().hex[:12]}", type="tool_call"
    )


def ai_tool_calls(*calls: ToolCall, content: str = "") -> AIMessage:
    """Build an AI message that requests the given tool calls.

    >>> msg = ai_tool_calls(tool_call("search", {"q": "tea"}, id="call_1"))
    >>> [c["name"] for c in msg.tool_calls]
    ['search']
    """
    return AIMessage(content=content, tool_calls=list(calls))


def invalid_tool_call(
    name: str, args: str = '{"q": "te', *, id: str | None = None, error: str | None = None
) -> AIMessage:
    """A reply whose one tool call has arguments that are not valid JSON.

    It lands in ``invalid_tool_calls``, not ``tool_calls``, as LangChain parses it; an assistant
    message with a tool call that no tool message answers makes the next OpenAI request fail.

    >>> msg = invalid_tool_call("search", '{"q": "te', id="call_1")
    >>> msg.tool_calls, msg.invalid_tool_calls[0]["args"]
    ([], '{"q": "te')
    """
    call_id = id or f"call_{uuid.uuid4().hex[:12]}"
    bad = InvalidToolCall(
        type="invalid_tool_call",
        name=name,
        args=args,
        id=call_id,
        error=error or f"Function {name} arguments:\n\n{args}\n\nare not valid JSON.",
    )
    return AIMessage(
        content="", invalid_tool_calls=[bad], response_metadata={"finish_reason": "tool_calls"}
    )


def refusal(text: str = "I'm sorry, I can't help with that.") -> AIMessage:
    """A refusal, shaped as ``ChatOpenAI`` returns it (``additional_kwargs["refusal"]``).

    On the chat path it is the reply; in ``structured_responses`` it raises
    ``ModelRefusalError``, as ``with_structured_output`` does.

    >>> refusal("No.").content_blocks
    [{'type': 'refusal', 'refusal': 'No.'}]
    """
    return AIMessage(
        content="",
        additional_kwargs={"refusal": text},
        response_metadata={"finish_reason": "stop", "model_provider": "openai"},
    )


def truncated(
    content: str = "The answer was cut off at the token lim",
    *,
    tool_call: tuple[str, dict[str, Any]] | None = None,
) -> AIMessage:
    """A reply cut at the output limit (``finish_reason: length``).

    With ``tool_call=(name, args)`` the call's JSON is cut in half, so it is an invalid tool
    call; in ``structured_responses`` it raises ``OutputParserException``.

    >>> cut = truncated(tool_call=("search", {"q": "green tea"}))
    >>> cut.response_metadata["finish_reason"], cut.invalid_tool_calls[0]["args"]
    ('length', '{"q": "gr')
    """
    if tool_call is None:
        return AIMessage(content=content, response_metadata={"finish_reason": "length"})
    name, args = tool_call
    raw = json.dumps(args)
    message = invalid_tool_call(name, raw[: len(raw) // 2], error=f"{LENGTH_ERROR}.")
    message.response_metadata["finish_reason"] = "length"
    return message


_STATUS_ERRORS: dict[int, type[ModelError]] = {
    400: ModelInvalidRequestError,
    401: ModelAuthenticationError,
    403: ModelPermissionDeniedError,
    404: ModelNotFoundError,
    429: ModelRateLimitError,
}


def api_error(status: int, message: str | None = None) -> ModelError:
    """The error a provider raises for an HTTP ``status``, to put in a script.

    It is LangChain's class for that status (``ModelRateLimitError`` for 429, ``ModelAPIError``
    for 5xx, ``ModelInvalidRequestError`` for 400, ...; ``is_retryable`` says whether a retry can
    succeed) with a ``status_code`` attribute, as the provider SDKs' errors have.

    >>> err = api_error(429)
    >>> type(err).__name__, err.status_code, err.is_retryable
    ('ModelRateLimitError', 429, True)
    """
    cls = _STATUS_ERRORS.get(status) or (ModelAPIError if status >= 500 else ModelError)
    error = cls(f"Error code: {status} - {message or 'scripted error'}")
    error.status_code = status  # type: ignore[attr-defined]
    return error
