"""ALWAYS mode: profile, memories and session context extracted in the background after answers."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from agno_learn_langgraph import LearningMachine, LearningMode, SessionContextConfig
from nodes._wiring import build_learning_graph, offline_model, resolve_chat_model

MACHINE = LearningMachine(
    user_profile=LearningMode.ALWAYS,
    user_memory=LearningMode.ALWAYS,
    session_context=SessionContextConfig(enable_planning=True),
)


def build_graph(
    model: BaseChatModel | None = None,
    *,
    extraction_model: BaseChatModel | None = None,
    machine: LearningMachine = MACHINE,
) -> StateGraph:
    """recall -> agent -> learn."""
    chat = model or resolve_chat_model() or offline_model()
    return build_learning_graph(machine, chat, extraction_model=extraction_model or chat)


graph: Any = build_graph().compile()
