"""Offline test doubles: a scripted chat model and deterministic hash embeddings.

They let tests, notebooks and demos run a real LangGraph graph with no network and no API key::

    model = ScriptedChatModel([ai_tool_calls(tool_call("search", {"q": "tea"})), "Found it."])
    reply = model.bind_tools([search]).invoke("Find tea")  # search: any @tool
    assert reply.tool_calls[0]["name"] == "search"
    assert model.invoke("Thanks").content == "Found it."
    assert model.call_count == 2  # bound copies share the script and the call log
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from langchain_core.messages.tool import ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, create_model

from agno_learn_langgraph.stores.lexical import tokenize

__all__ = [
    "HashEmbeddings",
    "ScriptedChatModel",
    "ScriptedReply",
    "ScriptedStructuredReply",
    "ai_tool_calls",
    "tool_call",
]

ScriptedReply: TypeAlias = (
    str | AIMessage | Callable[[list[BaseMessage]], AIMessage | str] | Exception
)
"""One step of a chat script: text, a message, a function of the conversation, or an error."""

ScriptedStructuredReply: TypeAlias = (
    dict[str, Any]
    | BaseModel
    | Callable[[list[BaseMessage]], dict[str, Any] | BaseModel]
    | Exception
)
"""One step of a structured-output script: a value to validate, a function of the conversation,
or an error."""


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


class _ScriptState:
    """The cursors and call logs that a model shares with its ``bind_tools`` copies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cursor = 0
        self.structured_cursor = 0
        self.calls: list[list[BaseMessage]] = []
        self.structured_calls: list[list[BaseMessage]] = []


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script, for offline tests and demos.

    Each chat call consumes the next item of ``responses``: a ``str`` becomes an ``AIMessage``,
    an ``AIMessage`` (possibly with tool calls) is returned as a copy, a callable is called with
    the messages sent and its result returned, and an ``Exception`` is raised. Once the script
    is exhausted every call returns ``default_response``, or the script starts over if
    ``cycle=True``. ``with_structured_output`` consumes ``structured_responses`` the same way.
    Copies made by ``bind_tools`` share the script, its cursors and the call logs; all of them
    are guarded by a lock, so concurrent threads each get a distinct item.

    >>> model = ScriptedChatModel(["Hello!", lambda msgs: f"You said {msgs[-1].content!r}"])
    >>> model.invoke("hi").content
    'Hello!'
    >>> model.invoke("again").content
    "You said 'again'"
    >>> model.invoke("and now?").content  # the script is exhausted
    'OK'
    >>> model.call_count
    3
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[Any] = Field(default_factory=list)
    structured_responses: list[Any] = Field(default_factory=list)
    delay_s: float = 0.0
    structured_delay_s: float | None = None
    supports_structured_output: bool = True
    default_response: str = "OK"
    cycle: bool = False
    bound_tools: list[str] = Field(default_factory=list)
    tool_choice: Any = None
    # Never serve a scripted reply from a global LLM cache: every call must consume the script.
    cache: Any = Field(default=False, exclude=True)

    _state: _ScriptState = PrivateAttr(default_factory=_ScriptState)

    def __init__(
        self,
        responses: Sequence[ScriptedReply] | None = None,
        *,
        structured_responses: Sequence[ScriptedStructuredReply] | None = None,
        delay_s: float = 0.0,
        structured_delay_s: float | None = None,
        supports_structured_output: bool = True,
        default_response: str = "OK",
        cycle: bool = False,
        **kwargs: Any,
    ) -> None:
        replies = list(responses or [])
        structured = list(structured_responses or [])
        _check_script(replies, "responses", (str, AIMessage), "a str, an AIMessage")
        _check_script(structured, "structured_responses", (dict, BaseModel), "a dict, a BaseModel")
        if delay_s < 0 or (structured_delay_s is not None and structured_delay_s < 0):
            raise ValueError(
                f"delay_s={delay_s!r}, structured_delay_s={structured_delay_s!r}: "
                "delays are seconds and must be >= 0."
            )
        super().__init__(
            responses=replies,
            structured_responses=structured,
            delay_s=delay_s,
            structured_delay_s=structured_delay_s,
            supports_structured_output=supports_structured_output,
            default_response=default_response,
            cycle=cycle,
            **kwargs,
        )

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The message lists sent to the chat path, oldest first (a copy)."""
        with self._state.lock:
            return [list(msgs) for msgs in self._state.calls]

    @property
    def structured_calls(self) -> list[list[BaseMessage]]:
        """The message lists sent to ``with_structured_output`` runnables, oldest first."""
        with self._state.lock:
            return [list(msgs) for msgs in self._state.structured_calls]

    @property
    def call_count(self) -> int:
        """How many chat calls were made (including ones that raised)."""
        with self._state.lock:
            return len(self._state.calls)

    @property
    def structured_call_count(self) -> int:
        """How many structured-output calls were made (including ones that raised)."""
        with self._state.lock:
            return len(self._state.structured_calls)

    def reset(self) -> None:
        """Clear both call logs and rewind both scripts (for this model and its bound copies)."""
        with self._state.lock:
            self._state.cursor = self._state.structured_cursor = 0
            self._state.calls.clear()
            self._state.structured_calls.clear()

    # -- chat path -------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self._take_reply(messages)
        if self.delay_s:
            time.sleep(self.delay_s)
        return _chat_result(_render_reply(step, messages))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self._take_reply(messages)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return _chat_result(_render_reply(step, messages))

    def _take_reply(self, messages: list[BaseMessage]) -> Any:
        with self._state.lock:
            self._state.calls.append(list(messages))
            step, self._state.cursor = _next_step(self.responses, self._state.cursor, self.cycle)
        return self.default_response if step is _EXHAUSTED else step

    # -- tools -----------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> ScriptedChatModel:
        """Return a copy that records the tool names and shares this model's script and logs.

        >>> from langchain_core.tools import tool
        >>> @tool
        ... def search(q: str) -> str:
        ...     '''Search the web.'''
        ...     return q
        >>> model = ScriptedChatModel(["first", "second"])
        >>> bound = model.bind_tools([search])
        >>> bound.bound_tools, bound.invoke("hi").content, model.invoke("hi").content
        (['search'], 'first', 'second')
        """
        return self.model_copy(
            update={"bound_tools": [_tool_name(t) for t in tools], "tool_choice": tool_choice}
        )

    # -- structured path -------------------------------------------------------------------

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Return a runnable whose calls validate the next ``structured_responses`` item.

        A pydantic class yields an instance; a TypedDict or a JSON-schema dict yields a dict
        (a JSON schema is checked for its required top-level keys and their JSON types). A
        malformed scripted value raises ``pydantic.ValidationError``, unless ``include_raw=True``,
        which, like LangChain, returns ``{"raw", "parsed": None, "parsing_error"}`` instead.

        Raises:
            NotImplementedError: the model was built with ``supports_structured_output=False``.

        >>> from pydantic import BaseModel
        >>> class Fact(BaseModel):
        ...     text: str
        >>> model = ScriptedChatModel(structured_responses=[{"text": "Tea is hot."}])
        >>> model.with_structured_output(Fact).invoke("Extract facts.")
        Fact(text='Tea is hot.')
        """
        if not self.supports_structured_output:
            raise NotImplementedError(
                "This ScriptedChatModel was built with supports_structured_output=False, like a "
                "model without native structured output: script a JSON reply in responses and "
                "parse it, or build it with supports_structured_output=True."
            )
        validate = _validator_for(schema)
        delay = self.delay_s if self.structured_delay_s is None else self.structured_delay_s

        def finish(value: Any) -> Any:
            if not include_raw:
                return validate(value)
            raw = AIMessage(content=json.dumps(_jsonable(value), default=str))
            try:
                return {"raw": raw, "parsed": validate(value), "parsing_error": None}
            except Exception as exc:
                return {"raw": raw, "parsed": None, "parsing_error": exc}

        def invoke(model_input: LanguageModelInput) -> Any:
            value = self._take_structured(model_input)
            if delay:
                time.sleep(delay)
            return finish(value)

        async def ainvoke(model_input: LanguageModelInput) -> Any:
            value = self._take_structured(model_input)
            if delay:
                await asyncio.sleep(delay)
            return finish(value)

        return RunnableLambda(invoke, afunc=ainvoke, name="ScriptedStructuredOutput")

    def _take_structured(self, model_input: LanguageModelInput) -> Any:
        messages = _to_messages(model_input)
        with self._state.lock:
            self._state.structured_calls.append(messages)
            step, self._state.structured_cursor = _next_step(
                self.structured_responses, self._state.structured_cursor, self.cycle
            )
        if step is _EXHAUSTED:
            n = len(self.structured_responses)
            raise IndexError(
                f"ScriptedChatModel's structured_responses are exhausted after {n} item(s); "
                "script one more, or pass cycle=True to loop the script."
            )
        if isinstance(step, Exception):
            raise step
        return step(messages) if callable(step) and not isinstance(step, type) else step


_EXHAUSTED = object()


def _next_step(script: Sequence[Any], cursor: int, cycle: bool) -> tuple[Any, int]:
    """Return the item at ``cursor`` (or ``_EXHAUSTED``) and the next cursor."""
    if cursor < len(script):
        return script[cursor], cursor + 1
    if cycle and script:
        return script[0], 1
    return _EXHAUSTED, cursor


def _check_script(items: list[Any], field: str, kinds: tuple[type, ...], names: str) -> None:
    for i, item in enumerate(items):
        if isinstance(item, (*kinds, Exception)) or (callable(item) and not isinstance(item, type)):
            continue
        raise TypeError(
            f"{field}[{i}] is a {type(item).__name__} ({item!r}); expected {names}, "
            "a callable taking the message list, or an Exception instance to raise."
        )


def _render_reply(step: Any, messages: list[BaseMessage]) -> AIMessage:
    if isinstance(step, Exception):
        raise step
    if callable(step) and not isinstance(step, (str, AIMessage)):
        step = step(list(messages))
    if isinstance(step, str):
        return AIMessage(content=step)
    if isinstance(step, AIMessage):
        # A copy, so that LangGraph assigning an id to one reply never touches the script.
        return step.model_copy(deep=True)
    raise TypeError(
        f"A scripted callable returned a {type(step).__name__}; return a str or an AIMessage."
    )


def _chat_result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _to_messages(model_input: LanguageModelInput) -> list[BaseMessage]:
    """Normalise a str, a PromptValue or a message sequence, as chat models do."""
    if isinstance(model_input, PromptValue):
        return model_input.to_messages()
    if isinstance(model_input, str):
        return [HumanMessage(content=model_input)]
    if isinstance(model_input, Sequence):
        return convert_to_messages(model_input)
    raise TypeError(
        f"Invalid input type {type(model_input).__name__}; pass a str, a PromptValue "
        "or a list of messages."
    )


def _tool_name(tool: Any) -> str:
    if isinstance(tool, dict) and "function" not in tool and "name" not in tool:
        return str(tool.get("type", "unknown"))  # a provider built-in such as {"type": ...}
    spec = convert_to_openai_tool(tool)
    return str(spec.get("function", spec).get("name", spec.get("type", "unknown")))


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _validator_for(schema: dict[str, Any] | type) -> Callable[[Any], Any]:
    """Return a function that validates a scripted value against ``schema`` or raises."""
    if isinstance(schema, dict):
        return _json_schema_validator(schema)
    adapter: TypeAdapter[Any] = TypeAdapter(schema)
    model_class = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None

    def validate(value: Any) -> Any:
        if isinstance(value, BaseModel) and not (model_class and isinstance(value, model_class)):
            value = value.model_dump()
        return adapter.validate_python(value)

    return validate


def _json_schema_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    body = schema.get("parameters", schema) if "properties" not in schema else schema
    required = set(body.get("required", []))
    fields: dict[str, Any] = {}
    for key, prop in body.get("properties", {}).items():
        json_type = prop.get("type") if isinstance(prop, dict) else None
        py_type = _JSON_TYPES.get(json_type, Any) if isinstance(json_type, str) else Any
        fields[key] = (py_type, ...) if key in required else (py_type | None, None)
    title = str(schema.get("title") or schema.get("name") or "StructuredOutput")
    model = create_model(re.sub(r"\W", "_", title), __config__=ConfigDict(extra="allow"), **fields)

    def validate(value: Any) -> dict[str, Any]:
        if isinstance(value, BaseModel):
            value = value.model_dump()
        return cast(dict[str, Any], model.model_validate(value).model_dump(exclude_unset=True))

    return validate


# -- embeddings ----------------------------------------------------------------------------


class HashEmbeddings(Embeddings):
    """Deterministic offline embeddings by feature hashing, for tests (not for production).

    Words (lowercased, accents folded, simple plurals stripped, common stopwords dropped) and
    their character trigrams are hashed into ``dims`` signed buckets and the vector is
    L2-normalised, so texts sharing words get a high cosine similarity. Empty text maps to one
    fixed unit vector. The same text always gives the same vector, in every process.

    >>> emb = HashEmbeddings()
    >>> tea, likes_tea, tax = emb.embed_documents(
    ...     ["The user prefers green teas", "User likes green tea", "Quarterly tax deadline"]
    ... )
    >>> dot = lambda a, b: sum(x * y for x, y in zip(a, b))
    >>> dot(tea, likes_tea) > 0.5 > 0.2 > dot(tea, tax)
    True
    """

    def __init__(self, dims: int = 256, *, trigram_weight: float = 0.5) -> None:
        if dims < 8:
            raise ValueError(f"dims={dims!r} is too small to separate texts; use dims >= 8.")
        self.dims = dims
        self.trigram_weight = trigram_weight

    def __repr__(self) -> str:
        return f"HashEmbeddings(dims={self.dims})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        vector = [0.0] * self.dims
        words = _words(text)
        features = [(w, 1.0) for w in words] + [
            (g, self.trigram_weight) for w in words for g in _trigrams(w)
        ]
        for feature, weight in features or [(_EMPTY_FEATURE, 1.0)]:
            bucket, sign = self._hash(feature)
            vector[bucket] += sign * weight
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:  # every feature cancelled out; fall back to the empty-text vector
            return self.embed_query("")
        return [x / norm for x in vector]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text (pure CPU work, so no thread hop)."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one text (pure CPU work, so no thread hop)."""
        return self.embed_query(text)

    def _hash(self, feature: str) -> tuple[int, float]:
        digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
        return digest % self.dims, 1.0 if (digest >> 63) & 1 else -1.0


_EMPTY_FEATURE = "\x00empty"


def _words(text: str) -> list[str]:
    # the words BM25 ranks by, case folded (names too), plurals folded as well
    words = tokenize(text.lower())
    return [w[:-1] if len(w) > 3 and w[-1] == "s" and w[-2] != "s" else w for w in words]


def _trigrams(word: str) -> list[str]:
    padded = f"#{word}#"
    return ["#3" + padded[i : i + 3] for i in range(len(padded) - 2)]
