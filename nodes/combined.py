"""The seeds' "Combining Modes" example: profile and memory ALWAYS, learned knowledge AGENTIC."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from agno_learn_langgraph import (
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    UserMemoryConfig,
    UserProfileConfig,
)
from nodes._wiring import build_learning_graph, offline_model, resolve_chat_model

MACHINE = LearningMachine(
    user_profile=UserProfileConfig(mode=LearningMode.ALWAYS),  # Automatic
    user_memory=UserMemoryConfig(mode=LearningMode.ALWAYS),  # Automatic
    learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.AGENTIC),  # Agent-driven
)


def build_graph(
    model: BaseChatModel | None = None,
    *,
    extraction_model: BaseChatModel | None = None,
    machine: LearningMachine = MACHINE,
) -> StateGraph:
    """recall -> agent <-> tools; answer -> learn."""
    chat = model or resolve_chat_model() or offline_model()
    return build_learning_graph(machine, chat, extraction_model=extraction_model or chat)


graph: Any = build_graph().compile()
