"""LangGraph node factories: recall before the model, extraction after it, approval after tools.

Each factory returns a node that ``builder.add_node(...)`` accepts and that runs under both
``invoke`` and ``ainvoke``. Ids come from the run context or ``config["configurable"]``; the store
comes from ``compile(store=...)``.

A typical graph::

    builder = StateGraph(LearningState, context_schema=Ctx)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", call_model)      # uses with_learning_context(state)
    builder.add_node("tools", ToolNode(tools + create_learning_tools(machine)))
    builder.add_node("review_learnings", create_approval_node(machine))   # PROPOSE
    builder.add_node("learn", create_extraction_node(machine))              # ALWAYS

The extraction and approval factories live with their modes (``extraction.py``,
``approval.py``) and are re-exported here, the module of node factories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import MessagesState

from agno_learn_langgraph.approval import create_approval_node
from agno_learn_langgraph.config import LearningMachine
from agno_learn_langgraph.extraction import create_extraction_node
from agno_learn_langgraph.recall import (
    abuild_learning_context,
    build_learning_context,
    last_user_text,
)
from agno_learn_langgraph.runtime import current_run

__all__ = [
    "LearningState",
    "create_approval_node",
    "create_extraction_node",
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


def create_recall_node(machine: LearningMachine, *, name: str = "recall") -> RunnableLambda:
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
        if machine.wait_for_extraction_s > 0 and scope.thread_id and machine._runner is not None:
            machine._runner.wait_for(scope.thread_id, machine.wait_for_extraction_s)
        query = last_user_text(state.get("messages", []))
        return {"learning_context": build_learning_context(machine, store, scope, query)}

    async def arecall(state: dict[str, Any], config: RunnableConfig) -> dict[str, str]:
        store, scope = current_run(name, config)
        if machine.wait_for_extraction_s > 0 and scope.thread_id and machine._runner is not None:
            await machine._runner.await_for(scope.thread_id, machine.wait_for_extraction_s)
        query = last_user_text(state.get("messages", []))
        return {"learning_context": await abuild_learning_context(machine, store, scope, query)}

    return RunnableLambda(recall, afunc=arecall, name=name)
