"""ALWAYS mode: profile, memories and session context extracted in the background after answers."""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph import LearningMachine, LearningMode, SessionContextConfig
from nodes._wiring import recipe

MACHINE = LearningMachine(
    user_profile=LearningMode.ALWAYS,
    user_memory=LearningMode.ALWAYS,
    session_context=SessionContextConfig(enable_planning=True),
)


build_graph = recipe(MACHINE)

graph: Any = build_graph().compile()
