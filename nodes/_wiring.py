"""How the recipes wire a learning agent: recall -> agent <-> tools (-> review) -> learn."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    LearningState,
    LearningToolNode,
    create_approval_node,
    create_extraction_node,
    create_learning_tools,
    create_recall_node,
    route_after_agent,
    with_learning_context,
)
from agno_learn_langgraph.testing import ScriptedChatModel

logger = logging.getLogger("agno_learn_langgraph.recipes")

SYSTEM_PROMPT = "You are a helpful assistant that remembers what matters to the user."


@dataclass
class Context:
    """Run context of the recipes: who the turn belongs to.

    ``user_id`` has a default so that a run without one (e.g. from a LangGraph server client)
    reaches the stores, whose ``MissingScopeError`` names the fix, instead of failing on the
    context class with a bare ``TypeError``.
    """

    user_id: str | None = None
    agent_id: str = "demo-agent"


def resolve_chat_model(spec: str | None = None) -> BaseChatModel | None:
    """A real chat model from ``provider:name`` or ``OPENAI_API_KEY``; ``None`` when offline."""
    if spec:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec)
    if os.environ.get("OPENAI_API_KEY"):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=os.environ.get("AGNO_LEARN_MODEL", "gpt-4o-mini"))
    return None


def offline_model() -> ScriptedChatModel:
    """The stand-in when no real model is configured: it answers 'OK' and extracts nothing.

    It says so in the log (a served graph must not look like it learns when it cannot).
    """
    logger.warning(
        "No chat model configured (set OPENAI_API_KEY, or pass model=): this graph uses the "
        "offline scripted model, which answers 'OK' and learns nothing."
    )
    return ScriptedChatModel(
        default_response="OK (scripted model: set OPENAI_API_KEY for a real one)",
        structured_responses=[lambda messages: {}],
        cycle=True,
    )


def _agent_node(model: BaseChatModel, tools: Sequence[BaseTool]) -> RunnableLambda:
    bound: Any = model.bind_tools(list(tools)) if tools else model

    def messages(state: LearningState) -> list[Any]:
        return with_learning_context(state, [SystemMessage(SYSTEM_PROMPT), *state["messages"]])

    def agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [bound.invoke(messages(state))]}

    async def aagent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(messages(state))]}

    return RunnableLambda(agent, afunc=aagent, name="agent")


def build_learning_graph(
    machine: LearningMachine,
    model: BaseChatModel,
    *,
    extraction_model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] = (),
) -> StateGraph:
    """An uncompiled graph with the nodes this machine's modes need.

    recall -> agent; agent -> tools when it calls tools (invalid calls included: the tools node
    answers them with an error), else -> learn (ALWAYS/PROPOSE extraction) or END;
    tools -> review_learnings (PROPOSE) -> agent.
    """
    learning_tools = create_learning_tools(machine)
    all_tools = [*tools, *learning_tools]
    extracting = bool(
        machine.stores_in_mode(LearningMode.ALWAYS) or machine.stores_in_mode(LearningMode.PROPOSE)
    )
    proposing = bool(machine.stores_in_mode(LearningMode.PROPOSE))

    builder = StateGraph(LearningState, context_schema=Context)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", _agent_node(model, all_tools))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    after_answer = "learn" if extracting else END
    if extracting:
        builder.add_node("learn", create_extraction_node(machine, model=extraction_model))
        builder.add_edge("learn", END)
    if all_tools:
        builder.add_node("tools", LearningToolNode(all_tools))  # also answers invalid tool calls
        back = "review_learnings" if proposing else "agent"
        if proposing:
            builder.add_node("review_learnings", create_approval_node(machine))
            builder.add_edge("review_learnings", "agent")
        builder.add_edge("tools", back)

        builder.add_conditional_edges(
            "agent", route_after_agent(after_answer), ["tools", after_answer]
        )
    else:
        builder.add_edge("agent", after_answer)
    return builder


def recipe(default_machine: LearningMachine) -> Callable[..., StateGraph]:
    """The ``build_graph(model=None, *, extraction_model=None, machine=None)`` of a recipe.

    Without ``model`` it uses :func:`resolve_chat_model`, else the offline stand-in; the chat
    model also extracts unless ``extraction_model`` is given; ``machine`` replaces the recipe's.
    """

    def build_graph(
        model: BaseChatModel | None = None,
        *,
        extraction_model: BaseChatModel | None = None,
        machine: LearningMachine | None = None,
    ) -> StateGraph:
        chat = model or resolve_chat_model() or offline_model()
        return build_learning_graph(
            machine or default_machine, chat, extraction_model=extraction_model or chat
        )

    return build_graph
