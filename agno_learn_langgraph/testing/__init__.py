"""Offline test doubles: a scripted chat model and deterministic hash embeddings.

They let tests, notebooks and demos run a real LangGraph graph with no network and no API key::

    model = ScriptedChatModel([ai_tool_calls(tool_call("search", {"q": "tea"})), "Found it."])
    reply = model.bind_tools([search]).invoke("Find tea")  # search: any @tool
    assert reply.tool_calls[0]["name"] == "search"
    assert model.invoke("Thanks").content == "Found it."
    assert model.call_count == 2  # bound copies share the script and the call log

The script can also fail the way real models do, so you can test your graph for it::

    model = ScriptedChatModel(
        [invalid_tool_call("search", '{"q": "te'), refusal(), truncated(), api_error(429)],
        structured_responses=[refusal(), truncated(), api_error(500), {"text": "ok"}],
    )

* :func:`invalid_tool_call`: a tool call with malformed JSON arguments (``invalid_tool_calls``).
* :func:`refusal`: ``additional_kwargs["refusal"]``; structured output raises
  ``ModelRefusalError``.
* :func:`truncated`: ``finish_reason: length``, text or a tool call cut short; structured output
  raises ``OutputParserException``.
* :func:`api_error`: raises LangChain's error for an HTTP status (429, 5xx, 400, 401, ...), with
  ``status_code`` and ``is_retryable``.
"""

from agno_learn_langgraph.testing import replies
from agno_learn_langgraph.testing.chat import ScriptedChatModel
from agno_learn_langgraph.testing.embeddings import HashEmbeddings
from agno_learn_langgraph.testing.replies import *  # noqa: F403 (the reply builders, see replies.__all__)

__all__ = ["HashEmbeddings", "ScriptedChatModel", *replies.__all__]
