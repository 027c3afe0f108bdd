"""PROPOSE mode: the agent proposes learnings; a human approves them through an interrupt."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from agno_learn_langgraph import LearnedKnowledgeConfig, LearningMachine, LearningMode
from nodes._wiring import build_learning_graph, offline_model, resolve_chat_model

MACHINE = LearningMachine(learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.PROPOSE))


def build_graph(
    model: BaseChatModel | None = None,
    *,
    extraction_model: BaseChatModel | None = None,
    machine: LearningMachine = MACHINE,
) -> StateGraph:
    """recall -> agent <-> tools -> review_learnings (interrupt) -> agent; answer -> learn."""
    chat = model or resolve_chat_model() or offline_model()
    return build_learning_graph(machine, chat, extraction_model=extraction_model or chat)


graph: Any = build_graph().compile()
