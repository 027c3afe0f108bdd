"""PROPOSE mode: the agent proposes learnings; a human approves them through an interrupt."""

from __future__ import annotations

from typing import Any

from agno_learn_langgraph import LearnedKnowledgeConfig, LearningMachine, LearningMode
from nodes._wiring import recipe

MACHINE = LearningMachine(learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.PROPOSE))


build_graph = recipe(MACHINE)

graph: Any = build_graph().compile()
