"""AGENTIC mode: the agent saves entities, learned knowledge and decisions with tools."""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph import LearningMachine
from nodes._wiring import recipe

MACHINE = LearningMachine(
    user_profile="agentic",
    user_memory="agentic",
    entity_memory=True,
    learned_knowledge=True,
    decision_log=True,
)


build_graph = recipe(MACHINE)

graph: Any = build_graph().compile()
