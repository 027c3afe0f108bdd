"""The seeds' "Combining Modes" example: profile and memory ALWAYS, learned knowledge AGENTIC."""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph import (
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    UserMemoryConfig,
    UserProfileConfig,
)
from nodes._wiring import recipe

MACHINE = LearningMachine(
    user_profile=UserProfileConfig(mode=LearningMode.ALWAYS),  # Automatic
    user_memory=UserMemoryConfig(mode=LearningMode.ALWAYS),  # Automatic
    learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.AGENTIC),  # Agent-driven
)


build_graph = recipe(MACHINE)

graph: Any = build_graph().compile()
