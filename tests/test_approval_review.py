"""The review interrupt under real use: users who type on, the outcome reaching the model,
resumes that do not fit, and LangChain's human-in-the-loop shape (payload and resume)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    aget_proposal,
    alist_pending_proposals,
    get_proposal,
    list_pending_proposals,
    reject_proposal,
)
from agno_learn_langgraph.approval import (
    create_approval_node,
    create_propose_tools,
)
from agno_learn_langgraph.backends import Backend
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

PROPOSE = LearningMode.PROPOSE
MACHINE = LearningMachine(learned_knowledge=PROPOSE, user_memory=PROPOSE)
CONFIG: Any = {"configurable": {"thread_id": "t1"}}
KNOWLEDGE = {"learning": "Retry 429 with backoff", "title": "Rate limits", "rationale": "twice"}
TEA = {"learning": "Prefers tea", "target": "user_memory", "rationale": "said so"}
JAZZ = {"learning": "Likes jazz", "target": "user_memory", "rationale": "said so"}
NIGHTS = {"learning": "Works nights", "target": "user_memory", "rationale": "said so"}


@dataclass
class Ctx:
    user_id: str


CTX = Ctx(user_id="ann")


def build(model: ScriptedChatModel, backend: Backend) -> Any:
    """agent -> tools -> review_learnings -> agent."""
    tools = create_propose_tools(MACHINE)
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("agent", RunnableLambda(agent, afunc=aagent))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review_learnings", create_approval_node(MACHINE))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    return builder.compile(store=backend.store, checkpointer=backend.checkpointer)


def proposing(*calls: dict[str, Any]) -> Any:
    return ai_tool_calls(*(tool_call("propose_learning", c) for c in calls))


def asked(out: dict[str, Any]) -> dict[str, str]:
    """``{learning: proposal id}`` of the interrupt in ``out``."""
    (pending,) = out["__interrupt__"]
    return {
        p["content"].get("learning") or p["content"]["text"]: p["id"]
        for p in pending.value["proposals"]
    }


# -- the user types on instead of resuming -----------------------------------------------------


def test_a_review_left_unanswered_does_not_hide_later_proposals(backend: Backend) -> None:
    model = ScriptedChatModel(
        [proposing(KNOWLEDGE, TEA), proposing(JAZZ), proposing(NIGHTS), "Noted."]
    )
    graph = build(model, backend)
    first = asked(graph.invoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX))
    assert sorted(first) == ["Prefers tea", "Retry 429 with backoff"]
    # the user sends a message instead of resuming; the agent proposes again
    out = graph.invoke({"messages": [("user", "also, I like jazz")]}, CONFIG, context=CTX)
    second = asked(out)
    assert sorted(second) == ["Likes jazz", "Prefers tea", "Retry 429 with backoff"]
    # meanwhile a reviewer rejects one through the API; the user types on once more
    reject_proposal(backend.store, first["Prefers tea"], reviewer="rita", reason="coffee")
    out = graph.invoke({"messages": [("user", "and I work nights")]}, CONFIG, context=CTX)
    third = asked(out)
    assert sorted(third) == ["Likes jazz", "Retry 429 with backoff", "Works nights"]
    out = graph.invoke(
        Command(
            resume={"decisions": [{"proposal_id": i, "type": "approve"} for i in third.values()]}
        ),
        CONFIG,
        context=CTX,
    )
    assert "__interrupt__" not in out and out["messages"][-1].content == "Noted."
    assert list_pending_proposals(backend.store, thread_id="t1") == []


# -- the outcome reaches the model ---------------------------------------------------------------


def _review_messages(messages: list[BaseMessage]) -> list[str]:
    return [m.text for m in messages if isinstance(m, HumanMessage) and m.name == "learning_review"]


def test_the_next_model_call_knows_what_was_decided(backend: Backend) -> None:
    model = ScriptedChatModel([proposing(KNOWLEDGE, TEA, JAZZ), "Thanks.", "Sure."])
    graph = build(model, backend)
    ids = asked(graph.invoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX))
    decisions = [
        {"proposal_id": ids["Retry 429 with backoff"], "type": "approve"},
        {"proposal_id": ids["Prefers tea"], "type": "reject", "message": "she said coffee"},
        {"proposal_id": ids["Likes jazz"], "type": "edit", "content": {"text": "Likes cool jazz"}},
    ]
    graph.invoke(Command(resume={"decisions": decisions, "reviewer": "rita"}), CONFIG, context=CTX)
    (told,) = _review_messages(model.calls[-1])  # the agent's call right after the review
    assert "Learning review by rita" in told
    assert f"[{ids['Retry 429 with backoff']}] approved" in told
    assert f'[{ids["Prefers tea"]}] rejected because "she said coffee"' in told
    assert f"[{ids['Likes jazz']}] edited and approved" in told and "Likes cool jazz" in told
    # told once: the next turn's call carries the same single message, not a new one
    graph.invoke({"messages": [("user", "ok")]}, CONFIG, context=CTX)
    assert len(_review_messages(model.calls[-1])) == 1


# -- a resume that does not fit ------------------------------------------------------------------


async def test_a_bad_async_resume_keeps_the_thread_interrupted(abackend: Backend) -> None:
    graph = build(ScriptedChatModel([proposing(KNOWLEDGE), "Done."]), abackend)
    out = await graph.ainvoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX)
    (lk,) = asked(out).values()
    out = await graph.ainvoke(
        Command(resume={"decisions": [{"proposal_id": lk, "type": "maybe"}]}), CONFIG, context=CTX
    )
    (again,) = out["__interrupt__"]
    assert "'maybe'" in again.value["error"]
    state = await graph.aget_state(CONFIG)
    assert state.next == ("review_learnings",) and state.interrupts[0].value == again.value
    assert [p.id for p in await alist_pending_proposals(abackend.store)] == [lk]
    out = await graph.ainvoke(
        Command(resume={"decisions": [{"proposal_id": lk, "type": "approve"}]}), CONFIG, context=CTX
    )
    assert "__interrupt__" not in out
    stored = await aget_proposal(abackend.store, lk)
    assert stored is not None and stored.status == "approved"


# -- LangChain's human-in-the-loop shape ---------------------------------------------------------


def test_the_interrupt_carries_langchains_hitl_request(backend: Backend) -> None:
    from langchain.agents.middleware.human_in_the_loop import HITLRequest

    graph = build(ScriptedChatModel([proposing(KNOWLEDGE, TEA)]), backend)
    out = graph.invoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX)
    request = out["__interrupt__"][0].value
    assert set(HITLRequest.__annotations__) <= set(request)
    actions = request["action_requests"]
    assert [a["name"] for a in actions] == [p["store"] for p in request["proposals"]]
    assert [a["args"] for a in actions] == [p["content"] for p in request["proposals"]]
    assert [a["description"] for a in actions] == [p["rationale"] for p in request["proposals"]]
    assert sorted(c["action_name"] for c in request["review_configs"]) == [
        "learned_knowledge",
        "user_memory",
    ]
    assert all(
        c["allowed_decisions"] == ["approve", "edit", "reject"] for c in request["review_configs"]
    )


def test_langchains_hitl_resume_decides_the_actions_in_order(backend: Backend) -> None:
    graph = build(ScriptedChatModel([proposing(KNOWLEDGE, TEA, JAZZ), "Thanks."]), backend)
    out = graph.invoke({"messages": [("user", "API fails")]}, CONFIG, context=CTX)
    actions = out["__interrupt__"][0].value["action_requests"]
    ids = [p["id"] for p in out["__interrupt__"][0].value["proposals"]]

    def answer(action: dict[str, Any]) -> dict[str, Any]:
        if action["name"] == "learned_knowledge":
            edited = {**action["args"], "learning": "Retry 429 with jittered backoff"}
            return {"type": "edit", "edited_action": {"name": action["name"], "args": edited}}
        if action["args"]["text"] == "Prefers tea":
            return {"type": "reject", "message": "she said coffee"}
        return {"type": "approve"}

    decisions = [answer(a) for a in actions]
    # bad HITL resumes: too few decisions, an edit that moves the learning elsewhere
    for bad, problem in [
        (decisions[:-1], "2 decision(s) for 3 action(s)"),
        (
            [
                {"type": "edit", "edited_action": {"name": "user_memory", "args": {"text": "x"}}}
                if d["type"] == "edit"
                else d
                for d in decisions
            ],
            "cannot change where a learning goes",
        ),
        ([*decisions[:-1], {"type": "respond", "message": "hi"}], "'respond'"),
    ]:
        out = graph.invoke(Command(resume={"decisions": bad}), CONFIG, context=CTX)
        assert problem in out["__interrupt__"][0].value["error"]
    assert len(list_pending_proposals(backend.store, thread_id="t1")) == 3
    out = graph.invoke(Command(resume={"decisions": decisions}), CONFIG, context=CTX)
    assert "__interrupt__" not in out
    decided = {p.id: p for p in (get_proposal(backend.store, i) for i in ids) if p}
    by_text = {p.content.get("learning") or p.content["text"]: p for p in decided.values()}
    lk = by_text["Retry 429 with jittered backoff"]
    assert (lk.status, lk.history[-1].action) == ("approved", "edit")
    assert lk.history[-1].changes == {
        "learning": {"from": "Retry 429 with backoff", "to": "Retry 429 with jittered backoff"}
    }
    assert (by_text["Prefers tea"].status, by_text["Prefers tea"].reason) == (
        "rejected",
        "she said coffee",
    )
    assert by_text["Likes jazz"].status == "approved"


def test_the_middleware_tells_the_next_model_call_too() -> None:
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from agno_learn_langgraph import LearningMiddleware
    from agno_learn_langgraph.extraction import conversation_entry

    machine = LearningMachine(user_memory=PROPOSE)
    quiet = ScriptedChatModel(structured_responses=[{}], cycle=True)  # extracts nothing
    model = ScriptedChatModel([proposing(TEA), "It awaits review.", "Tea it is."])
    agent: Any = create_agent(
        model,
        middleware=[LearningMiddleware(machine, extraction_model=quiet, background=False)],
        context_schema=Ctx,
        store=InMemoryStore(),
        checkpointer=InMemorySaver(),
    )
    out = agent.invoke({"messages": [("user", "I like tea")]}, CONFIG, context=CTX)
    (proposal,) = out["__interrupt__"][0].value["proposals"]
    resume = {"decisions": [{"type": "approve"}], "reviewer": "rita"}  # LangChain's shape
    out = agent.invoke(Command(resume=resume), CONFIG, context=CTX)
    (told,) = _review_messages(out["messages"])
    assert f"[{proposal['id']}] approved" in told
    agent.invoke({"messages": [("user", "What do I drink?")]}, CONFIG, context=CTX)
    assert _review_messages(model.calls[-1]) == [told]
    # extraction never reads the review's outcome as the user's words
    (message,) = [m for m in out["messages"] if m.name == "learning_review"]
    assert conversation_entry(message) is None
