"""Retry only what can succeed: client errors are reported at once, once per cause, with the fix."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai.chat_models.base import OpenAIRefusalError
from langgraph.store.memory import InMemoryStore
from openai.types.chat import ChatCompletion

from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.extraction import create_extraction_node, extract_learnings
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.testing import ScriptedChatModel
from tests.test_extraction import build_graph, cfg

URL = "https://api.openai.com/v1/chat/completions"
RETRIES = 3  # four attempts a turn when retrying


def response(status: int) -> httpx.Response:
    body = {"error": {"message": f"status {status}", "type": "invalid_request_error"}}
    return httpx.Response(status, request=httpx.Request("POST", URL), json=body)


def api_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    return cls(f"Error code: {status}", response=response(status), body=None)


class ProviderError(Exception):
    """Another provider's SDK error: only a ``status_code`` attribute."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"provider said {status_code}")
        self.status_code = status_code


def machine_raising(error: BaseException) -> tuple[LearningMachine, ScriptedChatModel]:
    extractor = ScriptedChatModel(structured_responses=[error], cycle=True)
    machine = LearningMachine(
        model=extractor, user_memory=True, max_retries=RETRIES, retry_backoff_s=0
    )
    return machine, extractor


def one_turn(machine: LearningMachine, thread: str = "t1") -> Any:
    messages = [HumanMessage("I like tea", id=f"{thread}-1"), AIMessage("Noted", id=f"{thread}-2")]
    return extract_learnings(machine, InMemoryStore(), Scope("ann", thread), messages)


PERMANENT = [
    pytest.param(api_error(openai.BadRequestError, 400), "structured output", id="400"),
    pytest.param(api_error(openai.AuthenticationError, 401), "API key", id="401"),
    pytest.param(api_error(openai.PermissionDeniedError, 403), "permissions", id="403"),
    pytest.param(api_error(openai.NotFoundError, 404), "model's name", id="404"),
    pytest.param(ProviderError(400), "structured output", id="status_code-400"),
    pytest.param(ProviderError(422), "HTTP 422", id="status_code-422"),
]


@pytest.mark.parametrize(("error", "fix"), PERMANENT)
def test_a_client_error_is_reported_at_once_with_the_fix(error: Exception, fix: str) -> None:
    machine, extractor = machine_raising(error)
    report = one_turn(machine)
    assert extractor.structured_call_count == 1  # not retried
    assert (report.status, report.calls, report.permanent) == ("failed", 1, True)
    assert "not retried" in str(report.error) and "Fix:" in str(report.error)
    assert fix in str(report.error)


def completion(finish_reason: str) -> ChatCompletion:
    message = {"role": "assistant", "content": '{"memories": '}
    choice = {"index": 0, "finish_reason": finish_reason, "message": message}
    return ChatCompletion.model_validate(
        {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}
    )


RETRYABLE = [
    pytest.param(api_error(openai.RateLimitError, 429), id="429"),
    pytest.param(api_error(openai.InternalServerError, 500), id="500"),
    pytest.param(ProviderError(503), id="status_code-503"),
    pytest.param(ProviderError(408), id="status_code-408"),
    pytest.param(openai.APITimeoutError(request=httpx.Request("POST", URL)), id="timeout"),
    pytest.param(OpenAIRefusalError("I can't help with that."), id="refusal"),
    pytest.param(openai.LengthFinishReasonError(completion=completion("length")), id="length"),
]


@pytest.mark.parametrize("error", RETRYABLE)
def test_what_can_succeed_is_retried(error: Exception) -> None:
    machine, extractor = machine_raising(error)
    report = one_turn(machine)
    assert extractor.structured_call_count == RETRIES + 1
    assert (report.status, report.calls, report.permanent) == ("failed", RETRIES + 1, False)


def test_a_client_error_is_logged_once_per_cause_not_per_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine, _ = machine_raising(api_error(openai.AuthenticationError, 401))
    with caplog.at_level(logging.DEBUG, logger="agno_learn_langgraph"):
        reports = [one_turn(machine, thread=f"t{i}") for i in range(3)]
    assert [r.calls for r in reports] == [1, 1, 1]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "HTTP 401" in errors[0].getMessage() and "Fix:" in errors[0].getMessage()

    # another cause (another status) is logged too, once
    other, _ = machine_raising(api_error(openai.NotFoundError, 404))
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="agno_learn_langgraph"):
        one_turn(other, "u1")
        one_turn(other, "u2")
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_background_client_error_is_not_logged_again_by_the_runner(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine, extractor = machine_raising(api_error(openai.PermissionDeniedError, 403))
    store = InMemoryStore()
    graph = build_graph(machine, ScriptedChatModel(["ok"], cycle=True), store)
    with caplog.at_level(logging.DEBUG, logger="agno_learn_langgraph"):
        for turn in range(3):
            graph.invoke({"messages": [("user", f"turn {turn}")]}, cfg(thread="bg"))
            machine.flush(timeout=30)
    assert extractor.structured_call_count == 3  # one call a turn, none retried
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "HTTP 403" in loud[0], loud
    assert run_plan(store, get_cursor("bg")) is None  # nothing applied: the turns stay unread


def test_the_node_still_builds_with_an_extractor_that_will_fail() -> None:
    machine, _ = machine_raising(api_error(openai.BadRequestError, 400))
    assert create_extraction_node(machine) is not None
