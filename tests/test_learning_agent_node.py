"""create_learning_agent_node: recall, the agent and ALWAYS extraction in one graph step."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    create_learning_agent_node,
    create_learning_tools,
    with_learning_context,
)
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.stores import session_context, user_memory, user_profile
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

USER = "ann@example.com"
INTRO = {
    "profile": {"set": {"name": "Ann Lee"}},
    "memories": {"add": ["Works at Acme as a data engineer"]},
    "session": {"summary": "Ann introduced herself; she wants help with Airflow."},
}


def cfg(thread: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": USER}}


def machine_with(extractor: ScriptedChatModel, **kwargs: Any) -> LearningMachine:
    return LearningMachine(
        model=extractor,
        user_profile=LearningMode.ALWAYS,
        user_memory=kwargs.pop("user_memory", LearningMode.ALWAYS),
        session_context=True,
        **kwargs,
    )


def one_step_graph(node: Any, store: BaseStore, tools: list[Any] | None = None) -> Any:
    """START -> agent (-> tools -> agent) -> END, on plain MessagesState."""
    builder = StateGraph(MessagesState)
    builder.add_node("agent", node)
    builder.add_edge(START, "agent")
    if tools:
        builder.add_node("tools", ToolNode(tools))
        builder.add_edge("tools", "agent")

        def route(state: MessagesState) -> str:
            last = state["messages"][-1]
            return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

        builder.add_conditional_edges("agent", route, ["tools", END])
    else:
        builder.add_edge("agent", END)
    return builder.compile(store=store, checkpointer=InMemorySaver())


def system_text(call: list[BaseMessage]) -> str:
    return str(call[0].content) if call and call[0].type == "system" else ""


def test_one_step_recalls_answers_and_learns_off_the_critical_path(store: BaseStore) -> None:
    delay = 1.0
    extractor = ScriptedChatModel(structured_responses=[INTRO, {}], structured_delay_s=delay)
    chat = ScriptedChatModel(["Nice to meet you, Ann!", "You work at Acme."])
    machine = machine_with(extractor)

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [chat.invoke(with_learning_context(state))]}

    graph = one_step_graph(create_learning_agent_node(machine, agent), store)
    start = time.perf_counter()
    steps = list(
        graph.stream(
            {"messages": [("user", "Hi, I'm Ann Lee from Acme")]}, cfg(), stream_mode="updates"
        )
    )
    elapsed = time.perf_counter() - start
    assert [next(iter(s)) for s in steps] == ["agent"]  # one graph step for the whole turn
    assert elapsed < delay * 0.8, f"the reply waited for extraction ({elapsed:.2f} s)"
    assert run_plan(store, user_profile.get_profile(USER)) is None  # not learned yet

    machine.flush(timeout=30)
    profile = run_plan(store, user_profile.get_profile(USER))
    assert profile is not None and profile.name == "Ann Lee"
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == [
        "Works at Acme as a data engineer"
    ]
    context = run_plan(store, session_context.get_session_context("t1"))
    assert context is not None and "Airflow" in context.summary
    assert "Nice to meet you, Ann!" in str(extractor.structured_calls[0][-1].content)

    out = graph.invoke({"messages": [("user", "Where do I work?")]}, cfg())
    assert out["messages"][-1].content == "You work at Acme."
    assert "Ann Lee" in system_text(chat.calls[1]) and "data engineer" in system_text(chat.calls[1])
    machine.flush(timeout=30)
    # the second extraction read only the second turn: ids of the first reply were kept
    second = str(extractor.structured_calls[1][-1].content)
    assert "Where do I work?" in second and "Nice to meet you" not in second


def test_tool_rounds_recall_each_call_and_extract_once_after_the_final_answer() -> None:
    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = machine_with(extractor, user_memory=LearningMode.AGENTIC)
    chat = ScriptedChatModel(
        [
            ai_tool_calls(tool_call("save_user_memory", {"text": "Prefers window seats"})),
            "Noted: window seats.",
        ]
    )
    tools = create_learning_tools(machine)
    bound = chat.bind_tools(tools)

    def agent(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        assert config["configurable"]["thread_id"] == "t1"  # config= is passed through
        return {"messages": [bound.invoke(with_learning_context(state))]}

    graph = one_step_graph(create_learning_agent_node(machine, agent), InMemoryStore(), tools)
    out = graph.invoke({"messages": [("user", "I always take the window seat")]}, cfg())
    assert out["messages"][-1].content == "Noted: window seats."
    machine.flush(timeout=30)
    # the call after the tool round saw what the tool had just saved
    assert "Prefers window seats" not in system_text(chat.calls[0])
    assert "Prefers window seats" in system_text(chat.calls[1])
    # one extraction for the turn, after the final answer, without the tool traffic
    assert extractor.structured_call_count == 1
    prompt = str(extractor.structured_calls[0][-1].content)
    assert "Noted: window seats." in prompt and "save_user_memory" not in prompt


async def test_async_agent_and_command_updates_learn_in_async_graphs() -> None:
    extractor = ScriptedChatModel(structured_responses=[INTRO, {}], structured_delay_s=0.2)
    machine = machine_with(extractor)
    store = InMemoryStore()

    replies = iter(["Hello Ann!", "You're welcome."])

    async def agent(state: dict[str, Any], runtime: Runtime[Any]) -> Command[Any]:
        assert "learning_context" in state and runtime.store is store  # runtime= is passed
        return Command(update={"messages": [("assistant", next(replies))]})

    graph = one_step_graph(create_learning_agent_node(machine, agent), store)
    out = await graph.ainvoke({"messages": [("user", "I'm Ann Lee")]}, cfg())
    assert out["messages"][-1].content == "Hello Ann!"
    assert machine.runner.stats.pending == 1  # scheduled, not awaited
    await machine.aflush(timeout=30)
    profile = run_plan(store, user_profile.get_profile(USER))
    assert profile is not None and profile.name == "Ann Lee"

    await graph.ainvoke({"messages": [("user", "Thanks")]}, cfg())
    await machine.aflush(timeout=30)
    # the tuple reply got its id from the node, the same one the checkpoint holds
    second = str(extractor.structured_calls[1][-1].content)
    assert "welcome" in second and "Hello Ann!" not in second

    with pytest.raises(TypeError, match="async function"):
        graph.invoke({"messages": [("user", "hi")]}, cfg("t2"))


def test_a_sync_agent_runs_in_async_graphs_and_bad_agents_are_named() -> None:
    machine = LearningMachine(user_memory=LearningMode.AGENTIC)

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [AIMessage("sync reply")]}

    import asyncio

    graph = one_step_graph(create_learning_agent_node(machine, agent), InMemoryStore())
    out = asyncio.run(graph.ainvoke({"messages": [("user", "hi")]}, cfg()))
    assert out["messages"][-1].content == "sync reply"

    with pytest.raises(TypeError, match=r"agent='call_model'.*function of \(state\)"):
        create_learning_agent_node(machine, "call_model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"needs a chat model.*extraction_model="):
        create_learning_agent_node(LearningMachine(user_profile=LearningMode.ALWAYS), agent)


def test_nodes_add_no_run_of_their_own_and_stream_the_agents_tokens() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    from agno_learn_langgraph import create_extraction_node, create_recall_node

    class ChainStarts(BaseCallbackHandler):
        def __init__(self) -> None:
            self.names: list[str] = []

        def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            self.names.append(str(kwargs.get("name")))

    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = machine_with(extractor)
    chat = ScriptedChatModel(["Hello there"], cycle=True)

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [chat.invoke(with_learning_context(state))]}

    builder = StateGraph(MessagesState)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", create_learning_agent_node(machine, agent))
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    builder.add_edge("agent", "learn")
    builder.add_edge("learn", END)
    graph = builder.compile(store=InMemoryStore(), checkpointer=InMemorySaver())

    handler = ChainStarts()
    graph.invoke({"messages": [("user", "hi")]}, {**cfg(), "callbacks": [handler]})
    # LangGraph's own run per node, and no second one inside it (a RunnableLambda would add one)
    assert [n for n in handler.names if n in ("recall", "agent", "learn")] == [
        "recall",
        "agent",
        "learn",
    ]
    chunks = list(graph.stream({"messages": [("user", "hi")]}, cfg(), stream_mode="messages"))
    assert [(m.content, meta["langgraph_node"]) for m, meta in chunks if m.content] == [
        ("Hello there", "agent")
    ]
    machine.close()


def test_store_and_writer_parameters_and_every_command_form_are_honoured() -> None:
    from langgraph.types import StreamWriter

    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = machine_with(extractor, background=False)
    store = InMemoryStore()
    forms = iter(
        [
            lambda text: {"messages": [AIMessage(text)]},
            lambda text: Command(update={"messages": [("assistant", text)]}),
            lambda text: Command(update=[("messages", [AIMessage(text)])]),
            lambda text: [Command(update={"messages": [AIMessage(text)]})],
        ]
    )

    def agent(state: dict[str, Any], *, store: BaseStore, writer: StreamWriter) -> Any:
        assert store is graph.store  # store= and writer= are filled in, as LangGraph does
        writer({"progress": "answering"})
        return next(forms)(f"answer {len(state['messages'])}")

    graph = one_step_graph(create_learning_agent_node(machine, agent), store)
    custom = list(graph.stream({"messages": [("user", "hi")]}, cfg(), stream_mode="custom"))
    assert custom == [{"progress": "answering"}]
    for turn in range(3):
        graph.invoke({"messages": [("user", f"question {turn}")]}, cfg())
    # every form's final answer was extracted, each exactly once, none re-read
    assert extractor.structured_call_count == 4
    prompts = [str(call[-1].content) for call in extractor.structured_calls]
    for i, prompt in enumerate(prompts):
        assert f"answer {2 * i + 1}" in prompt
        assert all(f"answer {2 * j + 1}" not in prompt for j in range(i))


def test_send_tasks_do_not_extract_and_the_next_turn_reads_the_whole_thread() -> None:
    from langgraph.types import Send

    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = machine_with(extractor, background=False)

    def route(state: MessagesState) -> Any:
        if "research" in str(state["messages"][-1].content):
            # a Send's input holds tuples, not messages: recall must cope
            return [Send("agent", {"messages": [("user", f"sub-question {i}")]}) for i in (1, 2)]
        return "agent"

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        last = state["messages"][-1]
        text = last[1] if isinstance(last, tuple) else last.content
        return {"messages": [AIMessage(f"answer to {text}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", create_learning_agent_node(machine, agent))
    builder.add_conditional_edges(START, route, ["agent"])
    builder.add_edge("agent", END)
    graph = builder.compile(store=InMemoryStore(), checkpointer=InMemorySaver())

    graph.invoke({"messages": [("user", "I'm Ann; research X and Y")]}, cfg())
    assert extractor.structured_call_count == 0  # the Send tasks saw only their own input
    graph.invoke({"messages": [("user", "thanks")]}, cfg())
    assert extractor.structured_call_count == 1
    prompt = str(extractor.structured_calls[0][-1].content)
    assert "I'm Ann" in prompt and "answer to sub-question 2" in prompt and "thanks" in prompt
