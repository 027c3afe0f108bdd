"""A fake OpenAI-compatible HTTP server: it validates requests as the API does and answers from a
script, so the real ``langchain-openai`` client (``ChatOpenAI``, ``OpenAIEmbeddings``) can be
tested offline, including the ways real models fail.

Fixtures (registered in ``tests/conftest.py``):

* ``fake_openai_server`` (session): the server, on ``127.0.0.1`` and a free port, in a thread.
* ``fake_openai``: the same server with its script, faults and request log cleared for this test;
  at teardown the test fails if a scripted structured reply did not fit its request's schema.

Use::

    def test_it(fake_openai):
        fake_openai.script("Hello!", tool_calls(("search", {"q": "tea"})), http_error(429))
        fake_openai.script_structured({"name": "Ali"}, refusal())
        chat = fake_openai.chat_model()  # ChatOpenAI(base_url=..., api_key="test", max_retries=0)
        ...
        assert fake_openai.chat_requests[0]["messages"][0]["role"] == "system"

What it checks (a 400 with OpenAI's error JSON ``{"error": {"message", "type", "param",
"code"}}``, before any script item is used): tool and function names against
``^[a-zA-Z0-9_-]{1,64}$``; a strict ``json_schema`` response format or strict function against
the strict subset (:func:`strict_schema_problem`); ``tool_choice``/``parallel_tool_calls``
without tools; an assistant message with ``tool_calls`` not followed by tool messages answering
every id; a tool message answering no open call; ``json_object`` without "json" in the messages;
the bearer key (401).

Chat requests take the next item of the chat script; requests with a ``json_schema`` response
format take the next item of the structured script. An item is a ``str`` (text), a
``tool_calls(...)``/``refusal(...)``/``truncated(...)``/``invalid_tool_call(...)``/
``http_error(...)`` reply, a ``dict`` (structured: its JSON is the content; missing required
keys are filled with their empty value), or a callable taking the request body and returning
one of those. Without a script item, chat answers ``"OK"`` and structured requests the schema's
empty instance. Embeddings are deterministic (``HashEmbeddings``), in float or base64 encoding;
``fail_embeddings`` queues errors. Every response has ``usage`` (about 4 characters a token).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agno_learn_langgraph.testing import HashEmbeddings

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_NAME_LENGTH = 64
SUPPORTED_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
# Keywords the strict subset does not accept. Some were later admitted by OpenAI itself
# (pattern, format, minimum, ...), but OpenAI-compatible endpoints still refuse them, and so do
# we, like `default`.
UNSUPPORTED_KEYWORDS = (
    "default",
    # strings
    "minLength",
    "maxLength",
    "pattern",
    "format",
    # numbers
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    # objects
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    # arrays
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "minItems",
    "maxItems",
    "uniqueItems",
    # composition
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
)


# -- script items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer (built by the helpers below)."""

    content: str | None = None
    tool_calls: tuple[tuple[str, str, str], ...] = ()  # (id, name, raw JSON arguments)
    refusal: str | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class HttpError:
    """A scripted error response, repeated for ``times`` requests (the SDK retries)."""

    status: int
    message: str
    retry_after: float | None = None
    times: int = 1


def tool_calls(*calls: tuple[Any, ...], content: str | None = None) -> Reply:
    """A reply calling tools: each call is ``(name, args)`` or ``(name, args, id)``."""
    built = []
    for call in calls:
        name, args, *rest = call
        call_id = rest[0] if rest else f"call_{uuid.uuid4().hex[:20]}"
        built.append((call_id, name, json.dumps(args)))
    return Reply(content=content, tool_calls=tuple(built), finish_reason="tool_calls")


def invalid_tool_call(name: str, arguments: str = '{"q": "te', *, id: str | None = None) -> Reply:
    """A tool call whose arguments are not valid JSON (``finish_reason: tool_calls``)."""
    call_id = id or f"call_{uuid.uuid4().hex[:20]}"
    return Reply(tool_calls=((call_id, name, arguments),), finish_reason="tool_calls")


def refusal(text: str = "I'm sorry, I can't help with that.") -> Reply:
    """The model refuses: ``message.refusal`` set, no content."""
    return Reply(refusal=text, finish_reason="stop")


def truncated(
    content: str = "The answer was cut off at max_tokens becau",
    *,
    tool_call: tuple[str, dict[str, Any]] | None = None,
) -> Reply:
    """``finish_reason: length``: the content, a tool call's arguments or (for a structured
    request) the JSON is cut in the middle."""
    if tool_call is not None:
        name, args = tool_call
        raw = json.dumps(args)
        call_id = f"call_{uuid.uuid4().hex[:20]}"
        return Reply(tool_calls=((call_id, name, raw[: len(raw) // 2]),), finish_reason="length")
    return Reply(content=content, finish_reason="length")


def http_error(
    status: int, message: str | None = None, *, retry_after: float | None = None, times: int = 1
) -> HttpError:
    """An error status (429, 500, 503, 401, 400, ...) for the next ``times`` requests."""
    default = {
        400: "Invalid request.",
        401: "Incorrect API key provided: test. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        403: "You are not allowed to sample from this model",
        429: "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min "
        "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20ms.",
        500: "The server had an error while processing your request. Sorry about that!",
        503: "The engine is currently overloaded, please try again later.",
    }
    return HttpError(status, message or default.get(status, f"HTTP {status}"), retry_after, times)


# -- validation --------------------------------------------------------------------------------


@dataclass
class ApiError(Exception):
    """An error answer in OpenAI's shape."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    type: str = "invalid_request_error"
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def check_name(name: Any, param: str) -> None:
    """Raise the API's 400 when ``name`` is not a valid tool, function or schema name."""
    if not isinstance(name, str) or not name:
        raise ApiError(400, f"Missing required parameter: '{param}'.", param, "missing_required")
    if len(name) > MAX_NAME_LENGTH:
        raise ApiError(
            400,
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{MAX_NAME_LENGTH}, but got a string with length {len(name)} instead.",
            param,
            "string_above_max_length",
        )
    if not NAME_PATTERN.match(name):
        raise ApiError(
            400,
            f"Invalid '{param}': string does not match pattern. Expected a string that matches "
            f"the pattern '{NAME_PATTERN.pattern}'.",
            param,
            "invalid_value",
        )


def strict_schema_problem(schema: Any) -> str | None:
    """The first way ``schema`` breaks the strict subset, in the API's words, or ``None``.

    Every object needs ``additionalProperties: false`` and all its properties in ``required``;
    every schema a ``type`` (or ``anyOf``/``enum``/``const``/``$ref``); ``$ref`` must resolve
    inside the schema (``$defs`` are fine); the root is an object; no ``UNSUPPORTED_KEYWORDS``.
    """
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        got = schema.get("type") if isinstance(schema, dict) else None
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{got}\"'."
    return _node_problem(schema, schema, ())


def _node_problem(node: Any, root: dict[str, Any], path: tuple[str, ...]) -> str | None:
    where = f"In context={path!r}, "
    if not isinstance(node, dict):
        return f"{where}schema must be an object."
    for defs_key in ("$defs", "definitions"):
        for name, sub in (node.get(defs_key) or {}).items():
            if problem := _node_problem(sub, root, (*path, defs_key, name)):
                return problem
    for keyword in UNSUPPORTED_KEYWORDS:
        if keyword in node:
            return f"{where}'{keyword}' is not permitted."
    if "$ref" in node:
        if _resolves(node["$ref"], root):
            return None
        return f"{where}reference {node['$ref']!r} can't be resolved."
    if not any(k in node for k in ("type", "anyOf", "enum", "const")):
        return f"{where}schema must have a 'type' key."
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    for t in types:
        if t not in SUPPORTED_TYPES:
            return f"{where}type {t!r} is not supported."
    if "object" in types or "properties" in node:
        if node.get("additionalProperties", None) is not False:
            return f"{where}'additionalProperties' is required to be supplied and to be false."
        props = node.get("properties") or {}
        required = node.get("required") or []
        missing = [k for k in props if k not in required]
        if missing:
            return (
                f"{where}'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
        extra = [k for k in required if k not in props]
        if extra:
            return f"{where}Extra required key '{extra[0]}' supplied."
        for key, sub in props.items():
            if problem := _node_problem(sub, root, (*path, "properties", key)):
                return problem
    if "array" in types:
        if "items" not in node:
            return f"{where}array schema missing items."
        if problem := _node_problem(node["items"], root, (*path, "items")):
            return problem
    for i, sub in enumerate(node.get("anyOf") or []):
        if problem := _node_problem(sub, root, (*path, "anyOf", str(i))):
            return problem
    return None


def _resolves(ref: Any, root: dict[str, Any]) -> bool:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return False
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        if not isinstance(target, dict) or part not in target:
            return False
        target = target[part]
    return isinstance(target, dict)


def check_chat_request(body: dict[str, Any]) -> None:
    """Raise the :class:`ApiError` the API would answer ``body`` with; return if it is valid."""
    if not body.get("model"):
        raise ApiError(400, "you must provide a model parameter", None, None)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "Invalid 'messages': empty array.", "messages", "empty_array")
    tools = body.get("tools") or []
    names = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise ApiError(400, f"Invalid value: '{tool.get('type')}'.", f"tools[{i}].type")
        function = tool.get("function") or {}
        check_name(function.get("name"), f"tools[{i}].function.name")
        names.append(function["name"])
        if function.get("strict") and (problem := strict_schema_problem(function["parameters"])):
            raise ApiError(
                400,
                f"Invalid schema for function '{function['name']}': {problem}",
                f"tools[{i}].function.parameters",
                "invalid_function_parameters",
            )
    for i, function in enumerate(body.get("functions") or []):
        check_name(function.get("name"), f"functions[{i}].name")
    for key in ("tool_choice", "parallel_tool_calls"):
        if key in body and not tools:
            raise ApiError(
                400,
                f"Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified.",
                key,
            )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("function", {}).get("name") not in names:
        wanted = choice.get("function", {}).get("name")
        raise ApiError(
            400, f"Tool choice '{wanted}' not found in 'tools' parameter.", "tool_choice"
        )
    _check_response_format(body)
    _check_tool_messages(messages)


def _check_response_format(body: dict[str, Any]) -> None:
    fmt = body.get("response_format")
    if not fmt:
        return
    kind = fmt.get("type")
    if kind == "json_object":
        if "json" not in json.dumps(body["messages"]).lower():
            raise ApiError(
                400,
                "'messages' must contain the word 'json' in some form, to use 'response_format' "
                "of type 'json_object'.",
                "messages",
            )
    elif kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        check_name(spec.get("name"), "response_format.json_schema.name")
        if spec.get("strict") and (problem := strict_schema_problem(spec.get("schema"))):
            raise ApiError(
                400,
                f"Invalid schema for response_format '{spec['name']}': {problem}",
                "response_format",
            )
    elif kind != "text":
        raise ApiError(400, f"Invalid value: '{kind}'.", "response_format.type", "invalid_value")


def _check_tool_messages(messages: list[dict[str, Any]]) -> None:
    open_ids: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_ids:
                raise ApiError(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            open_ids.discard(message["tool_call_id"])
            continue
        if open_ids:
            raise _unanswered(open_ids, i)
        if role == "assistant" and message.get("tool_calls"):
            open_ids = {call["id"] for call in message["tool_calls"]}
    if open_ids:
        raise _unanswered(open_ids, len(messages))


def _unanswered(open_ids: set[str], index: int) -> ApiError:
    return ApiError(
        400,
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(sorted(open_ids)),
        f"messages.[{index}].role",
    )


# -- structured values -------------------------------------------------------------------------


def empty_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The emptiest value ``schema`` accepts: null, [], "", 0, false, or required keys filled."""
    root = root or schema
    if "$ref" in schema:
        return empty_instance(_deref(schema["$ref"], root), root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    variants = schema.get("anyOf") or []
    if any(v.get("type") == "null" for v in variants):
        return None
    if variants:
        return empty_instance(variants[0], root)
    types = schema.get("type", "object")
    types = [types] if isinstance(types, str) else list(types)
    if "null" in types:
        return None
    kind = types[0]
    empty: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False}
    if kind == "array":
        return []
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: empty_instance(props[k], root) for k in schema.get("required", []) if k in props}
    return empty[kind]


def complete(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """``value`` with the required keys it lacks filled by :func:`empty_instance`."""
    root = root or schema
    if "$ref" in schema:
        return complete(value, _deref(schema["$ref"], root), root)
    if isinstance(value, dict):
        objects = [schema, *(schema.get("anyOf") or [])]
        for candidate in objects:
            candidate = _deref(candidate["$ref"], root) if "$ref" in candidate else candidate
            props = candidate.get("properties")
            if props is None:
                continue
            out = {k: complete(v, props[k], root) if k in props else v for k, v in value.items()}
            for key in candidate.get("required", []):
                if key not in out and key in props:
                    out[key] = empty_instance(props[key], root)
            return out
    if isinstance(value, list):
        items = schema.get("items")
        if items is None:
            items = next((v.get("items") for v in schema.get("anyOf") or [] if "items" in v), None)
        if items is not None:
            return [complete(v, items, root) for v in value]
    return value


def fits(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> str | None:
    """Why ``value`` does not fit the (strict-subset) ``schema``, or ``None`` when it does."""
    root = root or schema
    if "$ref" in schema:
        return fits(value, _deref(schema["$ref"], root), root)
    if "anyOf" in schema:
        reasons = [fits(value, v, root) for v in schema["anyOf"]]
        return None if None in reasons else f"no anyOf variant matches: {reasons}"
    if "const" in schema and value != schema["const"]:
        return f"{value!r} is not {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {schema['enum']!r}"
    types = schema.get("type")
    if types is None:
        return None
    types = [types] if isinstance(types, str) else list(types)
    checks: dict[str, Callable[[Any], bool]] = {
        "null": lambda v: v is None,
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not any(checks[t](value) for t in types if t in checks):
        return f"{value!r} is not of type {types}"
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in value.items():
            if key not in props:
                if schema.get("additionalProperties") is False:
                    return f"unexpected key {key!r}"
                continue
            if reason := fits(sub, props[key], root):
                return f"{key}: {reason}"
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"missing required {missing}"
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            if reason := fits(item, schema["items"], root):
                return f"[{i}]: {reason}"
    return None


def _deref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        target = target[part]
    return dict(target)


# -- the server --------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received, and the status it answered."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    error: str = ""


class FakeOpenAI:
    """The server's state: scripts, faults and the request log (thread-safe)."""

    def __init__(self, api_key: str = "test", dims: int = 64) -> None:
        self.api_key = api_key
        self.embeddings = HashEmbeddings(dims)
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self._chat: dict[str | None, deque[Any]] = {}
        self._structured: dict[str | None, deque[Any]] = {}
        self._embedding_faults: deque[HttpError] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- scripting

    def script(self, *items: Any, model: str | None = None) -> None:
        """Queue replies for chat requests (to ``model`` only, when given)."""
        with self._lock:
            self._chat.setdefault(model, deque()).extend(_expand(items))

    def script_structured(self, *items: Any, model: str | None = None) -> None:
        """Queue replies for ``json_schema`` requests (to ``model`` only, when given)."""
        with self._lock:
            self._structured.setdefault(model, deque()).extend(_expand(items))

    def fail_embeddings(
        self, status: int = 500, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` embedding requests with ``status``."""
        fault = http_error(status, retry_after=retry_after, times=times)
        with self._lock:
            self._embedding_faults.extend(_expand([fault]))

    def reset(self) -> None:
        """Forget every script item, fault, problem and recorded request."""
        with self._lock:
            self._chat.clear()
            self._structured.clear()
            self._embedding_faults.clear()
            self.requests.clear()
            self.problems.clear()

    # -- clients

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "the server is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def env(self) -> dict[str, str]:
        """Environment variables that point ``ChatOpenAI()``/``OpenAIEmbeddings()`` here."""
        return {"OPENAI_API_KEY": self.api_key, "OPENAI_BASE_URL": self.base_url}

    def chat_model(self, model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
        """``ChatOpenAI`` talking to this server (no SDK retries unless ``max_retries``)."""
        from langchain_openai import ChatOpenAI

        kwargs.setdefault("max_retries", 0)
        return ChatOpenAI(model=model, base_url=self.base_url, api_key=self.api_key, **kwargs)

    def embeddings_model(self, **kwargs: Any) -> Any:
        """``OpenAIEmbeddings`` talking to this server."""
        from langchain_openai import OpenAIEmbeddings

        kwargs.setdefault("max_retries", 0)
        return OpenAIEmbeddings(
            model="text-embedding-3-small",
            base_url=self.base_url,
            api_key=self.api_key,
            check_embedding_ctx_length=False,
            **kwargs,
        )

    # -- the log

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completion requests, in arrival order."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/embeddings")]

    def statuses(self, path_suffix: str = "/chat/completions") -> list[int]:
        """The statuses answered to requests on ``path_suffix``, in order."""
        with self._lock:
            return [r.status for r in self.requests if r.path.endswith(path_suffix)]

    # -- serving

    def start(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, dict]:
        """Answer one request: ``(status, JSON body, extra headers)``."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        record = RecordedRequest(path, body, headers)
        with self._lock:
            self.requests.append(record)
        try:
            if headers.get("authorization") != f"Bearer {self.api_key}":
                raise http_error_as_api(http_error(401))
            if path.endswith("/chat/completions"):
                answer = self._chat_completion(body)
            elif path.endswith("/embeddings"):
                answer = self._embeddings(body)
            else:
                raise ApiError(404, f"Invalid URL (POST {path})", None, None)
            record.status = 200
            return 200, answer, {}
        except ApiError as error:
            record.status, record.error = error.status, error.message
            return error.status, error.body(), error.headers
        except Exception as exc:  # a bug in the fake or in a scripted callable: fail the test
            problem = f"fake server could not answer {path}: {type(exc).__name__}: {exc}"
            with self._lock:
                self.problems.append(problem)
            error = ApiError(500, problem, None, None, "server_error")
            record.status, record.error = 500, problem
            return 500, error.body(), {}

    def _chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        check_chat_request(body)
        fmt = body.get("response_format") or {}
        spec = fmt.get("json_schema") if fmt.get("type") == "json_schema" else None
        queues = self._structured if spec is not None else self._chat
        item = self._next(queues, body.get("model"))
        if callable(item):
            item = item(body)
        if isinstance(item, HttpError):
            raise http_error_as_api(item)
        if spec is not None:
            reply = self._structured_reply(item, spec)
        elif isinstance(item, Reply):
            reply = item
        else:
            reply = Reply(content="OK" if item is None else str(item), finish_reason="stop")
        return _completion(body, reply)

    def _structured_reply(self, item: Any, spec: dict[str, Any]) -> Reply:
        schema = spec.get("schema") or {}
        if isinstance(item, Reply):
            if item.finish_reason == "length" and item.content and not item.tool_calls:
                full = json.dumps(complete({}, schema))  # truncated JSON of the empty answer
                return Reply(content=full[: max(1, len(full) // 2)], finish_reason="length")
            return item
        value = empty_instance(schema) if item is None else complete(item, schema)
        if spec.get("strict") and (reason := fits(value, schema)):
            problem = f"scripted structured reply does not fit {spec.get('name')!r}: {reason}"
            with self._lock:
                self.problems.append(problem)
            raise ApiError(500, f"fake server: {problem}", None, None, "server_error")
        return Reply(content=json.dumps(value), finish_reason="stop")

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            fault = self._embedding_faults.popleft() if self._embedding_faults else None
        if fault is not None:
            raise http_error_as_api(fault)
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, "'input' : input must be a string or an array of strings", "input")
        dims = int(body.get("dimensions") or self.embeddings.dims)
        embedder = self.embeddings if dims == self.embeddings.dims else HashEmbeddings(dims)
        data = []
        for i, vector in enumerate(embedder.embed_documents(texts)):
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _next(self, queues: dict[str | None, deque[Any]], model: str | None) -> Any:
        with self._lock:
            for key in (model, None):
                queue = queues.get(key)
                if queue:
                    return queue.popleft()
        return None


def http_error_as_api(error: HttpError) -> ApiError:
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "unsupported_country_region_territory"),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(error.status, ("server_error", None))
    headers = {}
    if error.retry_after is not None:
        headers["retry-after-ms"] = str(int(error.retry_after * 1000))
        headers["retry-after"] = str(max(1, round(error.retry_after)))
    return ApiError(error.status, error.message, None, code, kind, headers)


def _expand(items: Any) -> Iterator[Any]:
    for item in items:
        if isinstance(item, HttpError) and item.times > 1:
            yield from [HttpError(item.status, item.message, item.retry_after, 1)] * item.times
        else:
            yield item


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": reply.refusal,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in reply.tool_calls
        ]
    prompt = _tokens(json.dumps([body.get(k) for k in ("messages", "tools", "response_format")]))
    completion = _tokens(json.dumps(message))
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer, extra = fake.handle(self.path, headers, raw)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """The fake server, started once per session on 127.0.0.1 and a free port."""
    fake = FakeOpenAI()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake server, emptied for this test; fails the test on a misfit scripted reply."""
    fake_openai_server.reset()
    yield fake_openai_server
    problems = list(fake_openai_server.problems)
    fake_openai_server.reset()
    assert not problems, "; ".join(problems)
