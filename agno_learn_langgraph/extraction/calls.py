"""Model calls: one call per distinct extraction model, with the one retry policy.

:func:`build_calls` (pure) groups the stores by model and renders one prompt and output schema
per group; :func:`invoke_call` / :func:`ainvoke_call` run a call with ``with_structured_output``
(a model without it gets a JSON prompt whose reply is parsed and validated), each attempt bounded
by ``machine.extraction_timeout_s`` and retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel

from agno_learn_langgraph.errors import LearningError
from agno_learn_langgraph.extraction.parts import output_options
from agno_learn_langgraph.extraction.prepare import Prepared
from agno_learn_langgraph.extraction.schema import build_output_schema
from agno_learn_langgraph.extraction.select import message_text
from agno_learn_langgraph.kinds import LearningMode, StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.prompts import (
    ExtractionData,
    render_extraction_system,
    render_extraction_user,
    render_json_instructions,
)

__all__ = [
    "ExtractionCall",
    "ExtractionFailedError",
    "ainvoke_call",
    "build_calls",
    "invoke_call",
    "parse_json_reply",
    "permanent_fix",
    "resolve_models",
    "status_code",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

CALL_CONFIG: RunnableConfig = {
    "run_name": "learning_extraction",
    # "nostream": LangGraph's stream_mode="messages" must not show the extractor's tokens.
    "tags": ["nostream", "agno_learn:extraction"],
}


class ExtractionFailedError(LearningError):
    """An extraction model call failed: every attempt, or at once with an error retrying cannot
    fix (``permanent``: HTTP 400/401/403/404 and other client errors but 408, 409, 429)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class ExtractionCall:
    """One model call: the stores it serves, its model, output schema and prompt."""

    stores: tuple[StoreName, ...]
    model: BaseChatModel
    schema: type[BaseModel]
    system: str
    user: str

    def messages(self, *, json_mode: bool = False) -> list[BaseMessage]:
        """The messages to send (with JSON instructions for models without structured output)."""
        system = self.system
        if json_mode:
            schema = json.dumps(self.schema.model_json_schema(), separators=(",", ":"))
            system = f"{system}\n\n{render_json_instructions(schema)}"
        return [SystemMessage(system), HumanMessage(self.user)]


def resolve_models(
    machine: LearningMachine, stores: Sequence[StoreName], model: BaseChatModel | None = None
) -> dict[StoreName, BaseChatModel]:
    """The model of each store: its config's, else ``model``, else the machine's.

    The doors call it when they are built, so it also checks that the output schema of these
    stores can be sent in strict form (a custom profile schema may not).

    Raises:
        ValueError: a store has no model at all.
        StrictSchemaError: a custom profile field has a type strict structured output cannot
            express; the message names the field and the fix.
    """
    options = output_options(machine)
    build_output_schema(tuple(stores), options.profile_schema, options.planning)
    out: dict[StoreName, BaseChatModel] = {}
    for store in stores:
        config = machine.config(store)
        found = (config.model if config else None) or model or machine.model
        if found is None:
            raise ValueError(
                f"ALWAYS/PROPOSE extraction for {store} needs a chat model, and none is set. "
                "Pass one: LearningMachine(model=...), a store config's model=, "
                "create_extraction_node(machine, model=...), or extraction_model= of "
                "create_learning_agent_node / LearningMiddleware."
            )
        out[store] = found
    return out


def build_calls(
    machine: LearningMachine,
    prepared: Prepared,
    models: Mapping[StoreName, BaseChatModel],
) -> list[ExtractionCall]:
    """Group the stores by model and render one prompt and schema per group (pure)."""
    groups: dict[int, list[StoreName]] = {}
    for store, model in models.items():
        groups.setdefault(id(model), []).append(store)
    proposing = machine.stores_in_mode(LearningMode.PROPOSE)
    options = output_options(machine)
    calls = []
    for group in groups.values():
        stores = tuple(group)
        configs = {s: machine.stores[s] for s in stores}
        only = configs[stores[0]] if len(stores) == 1 else None
        data = ExtractionData(
            stores=stores,
            transcript=prepared.transcript,
            profile_fields=options.profile_schema.profile_fields(),
            profile=prepared.profile.filled() if prepared.profile else None,
            memories=prepared.memories,
            session=prepared.session,
            planning=options.planning,
            entities=prepared.entities,
            knowledge=prepared.learnings,
            proposing=[s for s in stores if s in proposing],
            instructions={s: c.instructions for s, c in configs.items() if c.instructions},
            additional_instructions={
                s: c.additional_instructions
                for s, c in configs.items()
                if c.additional_instructions
            },
            system_message=only.system_message if only else None,
            max_facts_per_entity=options.max_facts_per_entity,
        )
        calls.append(
            ExtractionCall(
                stores=stores,
                model=models[stores[0]],
                schema=build_output_schema(stores, options.profile_schema, options.planning),
                system=render_extraction_system(data),
                user=render_extraction_user(data),
            )
        )
    return calls


# -- parse ------------------------------------------------------------------------------------

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_json_reply(schema: type[BaseModel], reply: BaseMessage) -> BaseModel:
    """Validate a JSON reply (code fences and surrounding prose tolerated) against ``schema``.

    Raises:
        ValueError: no JSON object in the reply, or one that does not fit (``ValidationError``).
    """
    text = _FENCE.sub("", message_text(reply))
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"The extraction model's reply holds no JSON object: {text[:200]!r}")
    return schema.model_validate_json(text[start : end + 1])


def _validated(schema: type[BaseModel], value: Any) -> BaseModel:
    if isinstance(value, schema):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if value is None:
        raise ValueError("The extraction model returned no structured output.")
    return schema.model_validate(value)


# -- the sync and async shells ------------------------------------------------------------------


def _with_timeout(fn: Callable[[], T], timeout: float) -> T:
    """Run ``fn`` in a helper thread (same contextvars) and give up after ``timeout`` seconds.

    A sync model call cannot be interrupted: on timeout the helper thread is left to finish on
    its own and its result is discarded.
    """
    if timeout <= 0:
        return fn()
    box: dict[str, Any] = {}
    done = threading.Event()
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="agno-learn-llm-call", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"The extraction model call took longer than {timeout} s.")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _structured(call: ExtractionCall) -> Any:
    try:
        return call.model.with_structured_output(call.schema)
    except NotImplementedError:
        logger.debug("%s has no structured output; using the JSON prompt.", type(call.model))
        return None


_FIXES: dict[int, str] = {
    400: (
        "the provider rejected the request as invalid. If the error names the response format "
        "or schema, this model or endpoint lacks strict structured output (json_schema): use a "
        "model that has it, or one whose with_structured_output calls tools. If it names the "
        "context length, lower LearningMachine(max_messages_per_extraction=...)"
    ),
    401: (
        "the API key was rejected: give the extraction model a valid key (e.g. OPENAI_API_KEY, "
        "or api_key= of the chat model)"
    ),
    403: (
        "the key may not use this model or endpoint: check the model name and the key's "
        "project or organization permissions"
    ),
    404: (
        "the model or endpoint does not exist: check the extraction model's name (model=) and "
        "its base_url"
    ),
}
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 429})
_LOGGED_CAUSES: set[tuple[Any, ...]] = set()
_MAX_LOGGED_CAUSES = 1024


def status_code(exc: BaseException) -> int | None:
    """The HTTP status an API error carries (``status_code``, or its ``response``'s), if any."""
    for candidate in (exc, getattr(exc, "response", None), exc.__cause__):
        code = getattr(candidate, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def permanent_fix(exc: BaseException) -> str | None:
    """The fix for an error retrying cannot fix (a 4xx but 408/409/429), else ``None``."""
    status = status_code(exc)
    if status is None or not 400 <= status < 500 or status in _RETRYABLE_CLIENT_ERRORS:
        return None
    return _FIXES.get(
        status, f"the provider refused the request (HTTP {status}); fix the request or model"
    )


def _permanent_failure(call: ExtractionCall, exc: BaseException, fix: str) -> ExtractionFailedError:
    """Report an error retrying cannot fix: logged once per cause (not per turn), with the fix."""
    status = status_code(exc)
    stores = ", ".join(call.stores)
    message = (
        f"Extraction for {stores} failed with HTTP {status} ({type(exc).__name__}), which "
        f"retrying cannot fix, so it was not retried: {exc} Fix: {fix}."
    )
    cause = (id(call.model), status, type(exc).__name__, call.stores)
    if cause not in _LOGGED_CAUSES:
        if len(_LOGGED_CAUSES) >= _MAX_LOGGED_CAUSES:
            _LOGGED_CAUSES.clear()
        _LOGGED_CAUSES.add(cause)
        logger.error("%s (Logged once; later failures of this cause are logged at DEBUG.)", message)
    else:
        logger.debug(message)
    return ExtractionFailedError(message, permanent=True)


def _retry_delay(
    machine: LearningMachine, call: ExtractionCall, attempt: int, exc: BaseException
) -> float:
    """Log a failed attempt (0-based) and return the backoff before the next one.

    Raises:
        ExtractionFailedError: that was the last attempt, or ``exc`` is one retrying cannot
            fix (:func:`permanent_fix`).
    """
    fix = permanent_fix(exc)
    if fix is not None:
        raise _permanent_failure(call, exc, fix) from exc
    total = machine.max_retries + 1
    logger.warning(
        "Extraction call for %s failed (attempt %d of %d): %s: %s",
        ", ".join(call.stores),
        attempt + 1,
        total,
        type(exc).__name__,
        exc,
    )
    if attempt + 1 == total:
        raise ExtractionFailedError(
            f"Extraction for {', '.join(call.stores)} failed after {total} attempt(s): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return machine.retry_backoff_s * 2**attempt


def invoke_call(machine: LearningMachine, call: ExtractionCall, counter: list[int]) -> BaseModel:
    """Run ``call`` (sync), retried; ``counter[0]`` counts the attempts.

    Raises:
        ExtractionFailedError: every attempt failed.
    """
    runnable = _structured(call)
    total = machine.max_retries + 1
    for attempt in range(total):
        counter[0] += 1
        try:
            if runnable is not None:
                try:
                    value = _with_timeout(
                        functools.partial(runnable.invoke, call.messages(), CALL_CONFIG),
                        machine.extraction_timeout_s,
                    )
                    return _validated(call.schema, value)
                except NotImplementedError:
                    runnable = None
            reply = _with_timeout(
                lambda: call.model.invoke(call.messages(json_mode=True), CALL_CONFIG),
                machine.extraction_timeout_s,
            )
            return parse_json_reply(call.schema, reply)
        except Exception as exc:
            time.sleep(_retry_delay(machine, call, attempt, exc))
    raise AssertionError("unreachable")  # pragma: no cover


async def ainvoke_call(
    machine: LearningMachine, call: ExtractionCall, counter: list[int]
) -> BaseModel:
    """Async twin of :func:`invoke_call`."""
    runnable = _structured(call)
    total = machine.max_retries + 1
    timeout = machine.extraction_timeout_s if machine.extraction_timeout_s > 0 else None
    for attempt in range(total):
        counter[0] += 1
        try:
            if runnable is not None:
                try:
                    value = await asyncio.wait_for(
                        runnable.ainvoke(call.messages(), CALL_CONFIG), timeout
                    )
                    return _validated(call.schema, value)
                except NotImplementedError:
                    runnable = None
            reply = await asyncio.wait_for(
                call.model.ainvoke(call.messages(json_mode=True), CALL_CONFIG), timeout
            )
            return parse_json_reply(call.schema, reply)
        except Exception as exc:
            await asyncio.sleep(_retry_delay(machine, call, attempt, exc))
    raise AssertionError("unreachable")  # pragma: no cover
