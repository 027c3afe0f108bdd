"""A graph for the tests that run `langgraph dev`: its scripted model proposes the user's message.

A message ``"<title>: <learning>"`` becomes a ``propose_learning`` call for learned knowledge;
the graph ends after the tool, leaving the proposal pending for a reviewer (no approval node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agno_learn_langgraph import LearningMachine, LearningMode, create_propose_tools
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

MACHINE = LearningMachine(learned_knowledge=LearningMode.PROPOSE)
TOOLS = create_propose_tools(MACHINE)


@dataclass
class Context:
    user_id: str


def _reply(messages: list[BaseMessage]) -> AIMessage | str:
    if isinstance(messages[-1], ToolMessage):
        return "Proposed; it awaits review."
    title, _, learning = str(messages[-1].content).partition(":")
    args = {"title": title.strip(), "learning": learning.strip(), "rationale": "said so"}
    return ai_tool_calls(tool_call("propose_learning", args))


MODEL = ScriptedChatModel([_reply], cycle=True).bind_tools(TOOLS)


def agent(state: MessagesState) -> dict[str, Any]:
    return {"messages": [MODEL.invoke(state["messages"])]}


builder = StateGraph(MessagesState, context_schema=Context)
builder.add_node("agent", agent)
builder.add_node("tools", ToolNode(TOOLS))
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition)
builder.add_edge("tools", "agent")
graph = builder.compile()
