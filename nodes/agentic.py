"""AGENTIC mode: the agent saves entities, learned knowledge and decisions with tools."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from agno_learn_langgraph import LearningMachine
from nodes._wiring import build_learning_graph, offline_model, resolve_chat_model

MACHINE = LearningMachine(
    user_profile="agentic",
    user_memory="agentic",
    entity_memory=True,
    learned_knowledge=True,
    decision_log=True,
)


def build_graph(
    model: BaseChatModel | None = None,
    *,
    extraction_model: BaseChatModel | None = None,
    machine: LearningMachine = MACHINE,
) -> StateGraph:
    """recall -> agent <-> tools (ToolNode with every learning tool)."""
    chat = model or resolve_chat_model() or offline_model()
    return build_learning_graph(machine, chat, extraction_model=extraction_model)


graph: Any = build_graph().compile()
