"""The tool table: which tools each store offers, and ``create_learning_tools`` that reads it."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.tools import BaseTool

from agno_learn_langgraph import approval
from agno_learn_langgraph.kinds import LearningMode, StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.tools import decisions, entities, knowledge, user
from agno_learn_langgraph.tools.spec import ToolSpec, build_tool

__all__ = ["TOOL_TABLE", "create_learning_tools"]

TOOL_TABLE: dict[StoreName, Callable[[LearningMachine], tuple[ToolSpec, ...]]] = {
    user.PROFILE.name: user.profile_tools,
    user.MEMORY.name: lambda _: user.MEMORY_TOOLS,
    entities.ENTITIES.name: lambda _: entities.ENTITY_TOOLS,
    knowledge.KNOWLEDGE.name: lambda _: knowledge.KNOWLEDGE_TOOLS,
    decisions.DECISIONS.name: lambda _: decisions.DECISION_TOOLS,
}
"""The tools of each store that has tools, given the machine (the profile tool reads its schema)."""


def create_learning_tools(machine: LearningMachine) -> list[BaseTool]:
    """The tools of every AGENTIC store, plus ``propose_learning`` when a store is in PROPOSE.

    PROPOSE stores keep their search tools (``search_entities``, ``search_learnings``), which
    only return approved records, but not their save tools.
    """
    specs = [
        s for store in machine.stores_in_mode(LearningMode.AGENTIC) for s in _specs(machine, store)
    ]
    proposing = machine.stores_in_mode(LearningMode.PROPOSE)
    specs += [s for store in proposing for s in _specs(machine, store) if s.read_only]
    tools: list[BaseTool] = [build_tool(machine, spec) for spec in specs]
    if proposing:
        tools += approval.create_propose_tools(machine)
    return tools


def _specs(machine: LearningMachine, store: StoreName) -> tuple[ToolSpec, ...]:
    tools_of = TOOL_TABLE.get(store)
    return tools_of(machine) if tools_of else ()
