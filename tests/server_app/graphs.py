"""Graphs served by `langgraph dev` in the server tests (offline, scripted, deterministic).

The agent's replies and the extractor's output are functions of the conversation, so one
server process serves every test in any order:

* ``propose: <text>``  -> the agent calls ``propose_learning`` with <text>;
* ``save: <text>``     -> the agent calls ``save_learning`` (AGENTIC learned knowledge);
* ``My name is <X>``   -> the extractor sets the profile name (ALWAYS);
* anything else        -> the agent answers ``OK: <text>``.

``slow_always`` extracts like ``always`` but each extraction takes ``SLOW_EXTRACTION_S``.
"""

# No `from __future__ import annotations`: the server loads this file without registering it
# in sys.modules, and dataclasses then cannot resolve string annotations.
import re
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from starlette.applications import Starlette

from agno_learn_langgraph import (
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    LearningState,
    create_approval_node,
    create_extraction_node,
    create_learning_tools,
    create_recall_node,
    learning_lifespan,
    with_learning_context,
)
from agno_learn_langgraph.testing import HashEmbeddings, ScriptedChatModel, ai_tool_calls, tool_call

SLOW_EXTRACTION_S = 6.0

embeddings = HashEmbeddings(dims=64)
app = Starlette(lifespan=learning_lifespan)


@dataclass
class Context:
    """Who a turn belongs to."""

    user_id: str | None = None


def _last_human(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text if isinstance(message.text, str) else message.text()
    return ""


def agent_reply(messages: list[BaseMessage]) -> AIMessage:
    """The scripted agent: a tool call for ``propose:``/``save:``, else an echo."""
    if isinstance(messages[-1], ToolMessage):
        return AIMessage(f"Done: {messages[-1].text}")
    text = _last_human(messages)
    if text.startswith("propose: "):
        learning = text.removeprefix("propose: ")
        args = {"title": learning[:40], "learning": learning, "rationale": "the user said so"}
        return ai_tool_calls(tool_call("propose_learning", args))
    if text.startswith("save: "):
        learning = text.removeprefix("save: ")
        return ai_tool_calls(
            tool_call("save_learning", {"title": learning[:40], "learning": learning})
        )
    return AIMessage(f"OK: {text}")


def extraction(messages: list[BaseMessage]) -> dict[str, Any]:
    """The scripted extractor: a profile name from 'My name is X'."""
    text = "\n".join(str(m.content) for m in messages)
    names = re.findall(r"My name is (\w+)", text)
    return {"profile": {"set": {"name": names[-1]}}} if names else {}


def build(machine: LearningMachine, agent_model: ScriptedChatModel) -> Any:
    tools = create_learning_tools(machine)
    bound = agent_model.bind_tools(tools) if tools else agent_model

    async def agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(with_learning_context(state))]}

    def route(state: LearningState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "learn"

    builder = StateGraph(LearningState, context_schema=Context)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools) if tools else (lambda state: {}))
    builder.add_node("review_learnings", create_approval_node(machine))
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    builder.add_conditional_edges("agent", route, ["tools", "learn"])
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    builder.add_edge("learn", END)
    return builder.compile()


def _agent() -> ScriptedChatModel:
    return ScriptedChatModel([agent_reply], cycle=True)


def _extractor(delay_s: float = 0.0) -> ScriptedChatModel:
    return ScriptedChatModel(
        structured_responses=[extraction], cycle=True, structured_delay_s=delay_s
    )


always = build(LearningMachine(model=_extractor(), user_profile=True), _agent())
slow_always = build(
    LearningMachine(model=_extractor(SLOW_EXTRACTION_S), user_profile=True), _agent()
)
agentic = build(
    LearningMachine(model=_extractor(), learned_knowledge=LearningMode.AGENTIC), _agent()
)
propose = build(
    LearningMachine(
        model=_extractor(),
        learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.PROPOSE),
    ),
    _agent(),
)
