"""The StateGraph door: node factories for recall before the model, extraction after it,
approval after tools, and the routing between them.

Each factory returns a node that ``builder.add_node(...)`` accepts and that runs under both
``invoke`` and ``ainvoke``. Ids come from the run context or ``config["configurable"]``; the store
comes from ``compile(store=...)``.

A typical graph::

    builder = StateGraph(LearningState, context_schema=Ctx)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", call_model)      # uses with_learning_context(state)
    builder.add_node("tools", LearningToolNode(tools + create_learning_tools(machine)))
    builder.add_node("review_learnings", create_approval_node(machine))   # PROPOSE
    builder.add_node("learn", create_extraction_node(machine))              # ALWAYS

The same graph with recall and extraction folded into the agent's step (two LangGraph steps fewer
per turn)::

    builder.add_node("agent", create_learning_agent_node(machine, call_model))
    builder.add_node("tools", LearningToolNode(tools + create_learning_tools(machine)))

Route ``agent`` with :func:`route_after_agent`, which also sends invalid tool calls to the tools
node. The extraction and approval factories live with their modes (``extraction/``,
``approval/``) and are re-exported here.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, convert_to_messages
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor
from langchain_core.runnables.utils import is_async_callable
from langgraph.graph import MessagesState
from langgraph.graph.message import add_messages
from langgraph.runtime import get_runtime
from langgraph.types import Command

from agno_learn_langgraph import compat
from agno_learn_langgraph.approval import create_approval_node
from agno_learn_langgraph.extraction import (
    aschedule_extraction,
    create_extraction_node,
    extraction_stores,
    resolve_models,
    schedule_extraction,
)
from agno_learn_langgraph.graph_node import GraphNode, current_run
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.turn import arecall_for_turn, recall_for_turn

__all__ = [
    "LearningState",
    "create_approval_node",
    "create_extraction_node",
    "create_learning_agent_node",
    "create_recall_node",
    "with_learning_context",
]


class LearningState(MessagesState):
    """``MessagesState`` plus ``learning_context``, the section the recall node writes."""

    learning_context: str


def with_learning_context(
    state: dict[str, Any] | LearningState, messages: Sequence[BaseMessage] | None = None
) -> list[BaseMessage]:
    """The messages for the model with the learning section in the leading system message.

    >>> from langchain_core.messages import HumanMessage
    >>> msgs = with_learning_context({"messages": [HumanMessage("hi")], "learning_context": "X"})
    >>> [m.type for m in msgs], msgs[0].content
    (['system', 'human'], 'X')
    """
    chat: list[BaseMessage] = list(messages if messages is not None else state.get("messages", []))
    section = state.get("learning_context") or ""
    if not section:
        return chat
    if chat and isinstance(chat[0], SystemMessage) and isinstance(chat[0].content, str):
        return [SystemMessage(f"{chat[0].content}\n\n{section}"), *chat[1:]]
    return [SystemMessage(section), *chat]


def create_recall_node(machine: LearningMachine, *, name: str = "recall") -> GraphNode:
    """A node that writes the turn's learning section to ``state["learning_context"]``.

    Place it before the model node; the model node prepends it with :func:`with_learning_context`.
    With ``machine.wait_for_extraction_s > 0`` it first waits (at most that long) for this
    process's unfinished background extraction of the same thread.

    Raises (at run time):
        StoreUnavailableError: the graph was compiled without a store.
        MissingScopeError: a store needs a user or thread id the run did not pass.
    """

    def recall(state: dict[str, Any], config: RunnableConfig) -> dict[str, str]:
        store, scope = current_run(name, config)
        return {
            "learning_context": recall_for_turn(machine, store, scope, state.get("messages", []))
        }

    async def arecall(state: dict[str, Any], config: RunnableConfig) -> dict[str, str]:
        store, scope = current_run(name, config)
        return {
            "learning_context": await arecall_for_turn(
                machine, store, scope, state.get("messages", [])
            )
        }

    return GraphNode(recall, arecall, name)


# -- recall, agent and extraction in one graph step ----------------------------------------------


def _identified(raw: Any) -> list[BaseMessage]:
    """``raw`` (a message, a tuple/dict message, or a list of them) as messages that have ids."""
    messages = convert_to_messages(raw if isinstance(raw, list) else [raw])
    for message in messages:
        if message.id is None:
            message.id = str(uuid.uuid4())
    return messages


def _with_message_ids(result: Any) -> tuple[Any, list[BaseMessage]]:
    """``result`` with its ``messages`` updates as messages that all have ids, and those messages.

    ``add_messages`` would give ids to messages that lack them when it applies the update; they
    are given here instead, so the extraction cursor names the ids the checkpoint will hold.
    Reads what a node may return: a dict, a ``Command`` (its update a dict or ``(key, value)``
    pairs) or a list of them.
    """
    if isinstance(result, Command):
        update, new = _with_message_ids(result.update)
        return (replace(result, update=update) if new else result), new
    if isinstance(result, dict):
        if result.get("messages") is None:
            return result, []
        new = _identified(result["messages"])
        return {**result, "messages": new}, new
    if isinstance(result, list | tuple):
        items: list[Any] = []
        new = []
        for item in result:
            if isinstance(item, tuple) and len(item) == 2 and item[0] == "messages":
                messages = _identified(item[1])
                item = ("messages", messages)
            else:
                item, messages = _with_message_ids(item)
            items.append(item)
            new += messages
        return (items if isinstance(result, list) else tuple(items)), new
    return result, []


def _final_turn(state: dict[str, Any], new: list[BaseMessage]) -> list[BaseMessage] | None:
    """The thread's messages with the reply, if ``new`` ends in a final answer, else ``None``."""
    if not new or not isinstance(new[-1], AIMessage) or new[-1].tool_calls:
        return None
    return cast("list[BaseMessage]", add_messages(state.get("messages") or [], cast(Any, new)))


def create_learning_agent_node(
    machine: LearningMachine,
    agent: Callable[..., Any] | Runnable[Any, Any],
    *,
    extraction_model: BaseChatModel | None = None,
    background: bool | None = None,
    name: str = "agent",
) -> GraphNode:
    """Your agent node with recall before it and ALWAYS extraction after its final answer.

    The work of ``recall -> agent -> learn`` (:func:`create_recall_node`, your node,
    :func:`create_extraction_node`) in one graph step. Every LangGraph step writes a checkpoint,
    so the three-node wiring costs two steps more per turn (about 1 ms each with
    ``InMemorySaver`` on the benchmark machine, see BENCHMARKS.md); this one adds only the recall
    reads and the scheduling call.

    ``agent`` is what you would otherwise add as the node: a function taking ``state`` (and, by
    name, the ``config``, ``runtime``, ``store``, ``writer`` or ``previous`` parameters LangGraph
    fills in for nodes), sync or async, or a ``Runnable``. It is called with the state plus
    ``learning_context`` for this call, so it builds its messages with
    :func:`with_learning_context` as before; the graph's state does not need a
    ``learning_context`` key. Recall runs on every call, so after a tool round the agent also sees
    what its learning tools just saved.

    When the call's ``messages`` update (in a dict, a ``Command`` or a list of them) ends with a
    final answer (an ``AIMessage`` without tool calls), extraction is scheduled exactly as the
    extraction node does it, over the thread's messages and that answer; messages returned
    without ids get them here, as ``add_messages`` would give them. Not from a task started by
    ``Send``, which sees the Send's input rather than the thread. The extraction is scheduled
    when the agent returns, before LangGraph saves the step: if the step then fails (a parallel
    node raises) the answer is not in the thread, yet the extraction has read it. PROPOSE review
    stays a node of its own (:func:`create_approval_node`, after the tools).

    ``add_node`` cannot read the wrapped function's type hints through this node: pass
    ``input_schema=`` (a private input state) and ``destinations=`` (``Command`` edges for
    ``get_graph``) to ``add_node`` yourself when the agent relies on them.

    Args:
        machine: the Learning Machine.
        agent: the agent node to wrap.
        extraction_model: model for ALWAYS extraction, instead of the machine's.
        background: ``False`` extracts inside the step (tests); ``machine.background`` when
            omitted.
        name: the node's name (and the name used in error messages).

    Raises:
        TypeError: ``agent`` is not callable, or (at run time) an async-only agent under ``invoke``.
        ValueError: ALWAYS/PROPOSE stores but no extraction model.
        StoreUnavailableError: (at run time) the graph was compiled without a store.
        MissingScopeError: (at run time) a store needs a user or thread id the run lacks.
    """
    call, acall = _agent_callers(agent, name)
    stores = extraction_stores(machine)
    if stores:
        resolve_models(machine, stores, extraction_model)
    extracting = bool(stores)

    def to_learn(
        state: dict[str, Any], new: list[BaseMessage], config: RunnableConfig
    ) -> list[BaseMessage] | None:
        """The turn to extract, or ``None``: nothing is extracted, or a ``Send`` started this
        task (it sees the Send's input, not the thread)."""
        if not extracting or compat.started_by_send(config):
            return None
        return _final_turn(state, new)

    def step(state: dict[str, Any], config: RunnableConfig) -> Any:
        store, scope = current_run(name, config)
        section = recall_for_turn(machine, store, scope, state.get("messages", []))
        result, new = _with_message_ids(call({**state, "learning_context": section}, config))
        if (turn := to_learn(state, new, config)) is not None:
            schedule_extraction(
                machine, store, scope, turn, model=extraction_model, background=background
            )
        return result

    async def astep(state: dict[str, Any], config: RunnableConfig) -> Any:
        store, scope = current_run(name, config)
        section = await arecall_for_turn(machine, store, scope, state.get("messages", []))
        result, new = _with_message_ids(await acall({**state, "learning_context": section}, config))
        if (turn := to_learn(state, new, config)) is not None:
            await aschedule_extraction(
                machine, store, scope, turn, model=extraction_model, background=background
            )
        return result

    return GraphNode(step, astep, name)


# The keyword parameters LangGraph fills in for node functions.
_INJECTED = frozenset({"config", "runtime", "store", "writer", "previous"})


def _agent_callers(
    agent: Callable[..., Any] | Runnable[Any, Any], name: str
) -> tuple[Callable[[Any, RunnableConfig], Any], Callable[[Any, RunnableConfig], Awaitable[Any]]]:
    """Sync and async ways to call ``agent`` with a state and the node's config."""
    if isinstance(agent, Runnable):
        return agent.invoke, agent.ainvoke
    if not callable(agent):
        raise TypeError(
            f"create_learning_agent_node(agent={agent!r}): agent must be the node to wrap, a "
            "function of (state) -> update (optionally with config=/runtime= parameters, sync or "
            "async) or a Runnable."
        )
    wanted = _INJECTED.intersection(inspect.signature(agent).parameters)

    def kwargs(config: RunnableConfig) -> dict[str, Any]:
        if not wanted:
            return {}
        runtime = get_runtime()
        values = {
            "config": config,
            "runtime": runtime,
            "store": runtime.store,
            "writer": runtime.stream_writer,
            "previous": runtime.previous,
        }
        return {key: values[key] for key in wanted}

    if is_async_callable(agent):

        def call_async_only(state: Any, config: RunnableConfig) -> Any:
            raise TypeError(
                f"Node {name!r} wraps the async function {agent!r}, which a sync run cannot "
                "call; run the graph with ainvoke/astream, or wrap a sync function."
            )

        async def acall(state: Any, config: RunnableConfig) -> Any:
            return await agent(state, **kwargs(config))

        return call_async_only, acall

    def call(state: Any, config: RunnableConfig) -> Any:
        return agent(state, **kwargs(config))

    async def acall_in_thread(state: Any, config: RunnableConfig) -> Any:
        return await run_in_executor(config, call, state, config)

    return call, acall_in_thread


def route_after_agent(
    then: str, *, tools: str = "tools", messages_key: str = "messages"
) -> Callable[[Any], str]:
    """The conditional edge after the agent: to ``tools`` while it calls tools, else to ``then``.

    Unlike LangGraph's ``tools_condition``, a call whose arguments are not valid JSON
    (``AIMessage.invalid_tool_calls``, e.g. cut off at the output limit) also goes to ``tools``,
    where :class:`~agno_learn_langgraph.LearningToolNode` answers it with an error and the model
    runs again. Sent on to ``then``, the call would stay unanswered, the user would get an empty
    reply, and OpenAI would reject every later request of the thread.

    Args:
        then: where the final answer goes: the extraction node, or ``END``.
        tools: the name of the tools node.
        messages_key: the state key of the messages.

    >>> from langchain_core.messages import AIMessage
    >>> route = route_after_agent("learn")
    >>> cut = {"name": "save_learning", "args": '{"title": "Ca', "id": "call_1", "error": None}
    >>> route({"messages": [AIMessage("", invalid_tool_calls=[cut])]})
    'tools'
    >>> route({"messages": [AIMessage("Hello!")]})
    'learn'
    """

    def route_after_agent(state: Any) -> str:
        if isinstance(state, list):
            messages = state
        elif isinstance(state, dict):
            messages = state.get(messages_key) or []
        else:
            messages = getattr(state, messages_key, None) or []
        last = messages[-1] if messages else None
        calls = isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls)
        return tools if calls else then

    return route_after_agent
