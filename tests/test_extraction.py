"""ALWAYS extraction: the node in compiled graphs, over every backend, sync and async."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, PutOp
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.config import LearningMode, SessionContextConfig
from agno_learn_langgraph.core import arun_plan, put, run_plan, search_all
from agno_learn_langgraph.core.guard import is_guarded
from agno_learn_langgraph.errors import MissingScopeError, StoreUnavailableError
from agno_learn_langgraph.extraction import create_extraction_node
from agno_learn_langgraph.graph import LearningState, create_recall_node, with_learning_context
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import session_context, user_memory, user_profile
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.testing import ScriptedChatModel

USER = "ann@example.com"


def build_graph(
    machine: LearningMachine,
    agent: ScriptedChatModel,
    store: BaseStore | None,
    **learn: Any,
) -> Any:
    """recall -> agent -> learn, compiled with ``store`` and an in-memory checkpointer."""

    def call_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [agent.invoke(with_learning_context(state))]}

    async def acall_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await agent.ainvoke(with_learning_context(state))]}

    from langchain_core.runnables import RunnableLambda

    builder = StateGraph(LearningState)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", RunnableLambda(call_agent, afunc=acall_agent))
    builder.add_node("learn", create_extraction_node(machine, **learn))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    builder.add_edge("agent", "learn")
    builder.add_edge("learn", END)
    return builder.compile(store=store, checkpointer=InMemorySaver())


def cfg(thread: str = "t1", user: str | None = USER) -> dict[str, Any]:
    configurable = {"thread_id": thread}
    if user:
        configurable["user_id"] = user
    return {"configurable": configurable}


def three_store_machine(extractor: ScriptedChatModel, **kwargs: Any) -> LearningMachine:
    return LearningMachine(
        model=extractor,
        user_profile=LearningMode.ALWAYS,
        user_memory=LearningMode.ALWAYS,
        session_context=True,
        **kwargs,
    )


INTRO = {
    "profile": {"set": {"name": "Ann Lee"}},
    "memories": {"add": ["Works at Acme as a data engineer"]},
    "session": {"summary": "Ann introduced herself; she wants help with Airflow."},
}


def prompt_of(call: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in call)


# -- 1. off the critical path, visible next turn ----------------------------------------------


def test_reply_returns_before_extraction_and_next_turn_recalls_it(store: BaseStore) -> None:
    delay = 1.0
    extractor = ScriptedChatModel(structured_responses=[INTRO, {}], structured_delay_s=delay)
    agent = ScriptedChatModel(["Nice to meet you, Ann!", "You work at Acme."])
    machine = three_store_machine(extractor)
    graph = build_graph(machine, agent, store)

    start = time.perf_counter()
    out = graph.invoke({"messages": [("user", "Hi, I'm Ann Lee, a data engineer at Acme")]}, cfg())
    elapsed = time.perf_counter() - start
    assert out["messages"][-1].content == "Nice to meet you, Ann!"
    assert elapsed < delay * 0.8, f"the reply waited for extraction ({elapsed:.2f} s)"
    assert run_plan(store, user_profile.get_profile(USER)) is None  # not learned yet

    machine.flush(timeout=30)
    profile = run_plan(store, user_profile.get_profile(USER))
    assert profile is not None and profile.name == "Ann Lee"
    assert profile.provenance is not None and profile.provenance.mode == "always"
    memories = run_plan(store, user_memory.list_memories(USER))
    assert [m.text for m in memories] == ["Works at Acme as a data engineer"]
    context = run_plan(store, session_context.get_session_context("t1"))
    assert context is not None and "Airflow" in context.summary

    # the extractor saw the agent's reply: it runs after the response
    assert "Nice to meet you, Ann!" in prompt_of(extractor.structured_calls[0])
    assert extractor.structured_call_count == 1  # one call for three stores

    out = graph.invoke({"messages": [("user", "Where do I work?")]}, cfg())
    section = out["learning_context"]
    assert "Ann Lee" in section and "data engineer" in section and "Airflow" in section
    machine.flush(timeout=30)


def test_wait_for_extraction_lets_the_next_turn_see_it() -> None:
    extractor = ScriptedChatModel(
        structured_responses=[INTRO, {}], structured_delay_s=0.3, cycle=True
    )
    agent = ScriptedChatModel(["Hi!", "Acme."])
    machine = three_store_machine(extractor, wait_for_extraction_s=10)
    graph = build_graph(machine, agent, InMemoryStore())
    graph.invoke({"messages": [("user", "I'm Ann Lee from Acme")]}, cfg())
    out = graph.invoke({"messages": [("user", "Where do I work?")]}, cfg())  # no flush
    assert "Ann Lee" in out["learning_context"]
    machine.flush(timeout=30)


# -- 2. what the extractor reads ---------------------------------------------------------------


def test_extractor_never_sees_tool_or_system_messages() -> None:
    from langchain_core.messages import SystemMessage, ToolMessage

    from agno_learn_langgraph.extraction import extract_learnings

    extractor = ScriptedChatModel(structured_responses=[{}])
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    messages = [
        SystemMessage("SYSTEM-SECRET prompt", id="s"),
        HumanMessage("What is the weather in Paris?", id="h"),
        AIMessage(
            "",
            id="a1",
            tool_calls=[{"name": "weather", "args": {"city": "TOOLARG"}, "id": "c1"}],
        ),
        ToolMessage("TOOL-RESULT 21C", tool_call_id="c1", id="tm"),
        AIMessage("It is sunny in Paris, 21 degrees.", id="a2"),
    ]
    report = extract_learnings(machine, InMemoryStore(), Scope(USER, "t1"), messages)
    assert report.status == "applied" and report.messages == 2
    prompt = prompt_of(extractor.structured_calls[0])
    assert "What is the weather in Paris?" in prompt
    assert "It is sunny in Paris, 21 degrees." in prompt
    for hidden in ("SYSTEM-SECRET", "TOOLARG", "TOOL-RESULT"):
        assert hidden not in prompt


def test_incremental_reads_only_messages_since_cursor_with_cap() -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = LearningMachine(
        model=extractor, user_memory=LearningMode.ALWAYS, max_messages_per_extraction=3
    )
    store, scope = InMemoryStore(), Scope(USER, "t1")
    turn1 = [HumanMessage("first question", id="1"), AIMessage("first answer", id="2")]
    extract_learnings(machine, store, scope, turn1)
    assert run_plan(store, get_cursor("t1")) == "2"
    turn2 = [
        *turn1,
        HumanMessage("second question", id="3"),
        AIMessage("second answer", id="4"),
        HumanMessage("third question", id="5"),
        AIMessage("third answer", id="6"),
    ]
    extract_learnings(machine, store, scope, turn2)
    prompt = prompt_of(extractor.structured_calls[1])
    assert "first" not in prompt  # already extracted
    assert "second question" not in prompt  # beyond the cap of 3
    assert all(t in prompt for t in ("second answer", "third question", "third answer"))
    assert run_plan(store, get_cursor("t1")) == "6"
    report = extract_learnings(machine, store, scope, turn2)  # nothing new: no model call
    assert report.status == "nothing_new" and extractor.structured_call_count == 2


def test_prompt_size_stays_flat_over_30_turns() -> None:
    def extract(messages: list[BaseMessage]) -> dict[str, Any]:
        return {"session": {"summary": "Ann is planning a trip; discussed flights and hotels."}}

    extractor = ScriptedChatModel(structured_responses=[extract], cycle=True)
    agent = ScriptedChatModel([lambda m: f"Answer number {len(m)} about the trip."], cycle=True)
    machine = three_store_machine(extractor)
    graph = build_graph(machine, agent, InMemoryStore(), background=False)
    for turn in range(30):
        graph.invoke({"messages": [("user", f"Question {turn:02d} about my trip")]}, cfg())
    sizes = [len(prompt_of(call)) for call in extractor.structured_calls]
    assert len(sizes) == 30  # one call per turn
    assert max(sizes) - min(sizes[1:]) < 100, sizes  # flat: no growth with the conversation
    total_history = sum(len(str(m.content)) for m in agent.calls[-1])
    assert sizes[-1] < total_history + 3000


# -- 3. consolidation --------------------------------------------------------------------------


def test_consolidation_updates_deletes_dedups_and_ignores_unknown_ids(
    store: BaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    prov = Provenance(mode="api")
    old, _ = run_plan(store, user_memory.add_memory(USER, "Works at Initech", prov))
    stale, _ = run_plan(store, user_memory.add_memory(USER, "Has a cat named Tom", prov))
    keep, _ = run_plan(store, user_memory.add_memory(USER, "Prefers short answers", prov))
    run_plan(store, user_profile.update_profile(USER, prov, set_fields={"preferred_name": "Annie"}))

    def consolidate(messages: list[BaseMessage]) -> dict[str, Any]:
        prompt = prompt_of(messages)
        assert old.id in prompt and stale.id in prompt  # existing memories shown with ids
        return {
            "profile": {"clear": ["preferred_name"]},
            "memories": {
                "update": [
                    {"id": old.id, "text": "Works at Acme since May"},
                    {"id": "mem_doesnotexist", "text": "ghost"},
                ],
                "delete": [stale.id, "mem_unknown"],
                "add": ["Prefers short answers", "Lives in Lyon"],
            },
        }

    extractor = ScriptedChatModel(structured_responses=[consolidate])
    machine = LearningMachine(
        model=extractor, user_profile=LearningMode.ALWAYS, user_memory=LearningMode.ALWAYS
    )
    messages = [
        HumanMessage("I moved to Acme in May, the cat passed away. Call me Ann.", id="1"),
        AIMessage("Sorry to hear that. Noted.", id="2"),
    ]
    with caplog.at_level("INFO", logger="agno_learn_langgraph.extraction"):
        report = extract_learnings(machine, store, Scope(USER, "t1"), messages)
    assert report.status == "applied"
    texts = sorted(m.text for m in run_plan(store, user_memory.list_memories(USER)))
    assert texts == ["Lives in Lyon", "Prefers short answers", "Works at Acme since May"]
    by_text = {m.text: m for m in run_plan(store, user_memory.list_memories(USER))}
    assert by_text["Works at Acme since May"].id == old.id  # updated in place
    assert by_text["Prefers short answers"].id == keep.id  # the duplicate was not stored again
    assert "mem_doesnotexist" in caplog.text and "mem_unknown" in caplog.text
    profile = run_plan(store, user_profile.get_profile(USER))
    assert profile is not None and profile.preferred_name is None


def test_contradicting_entity_fact_supersedes_the_old_one() -> None:
    from agno_learn_langgraph.extraction import extract_learnings
    from agno_learn_langgraph.stores import entity_memory

    store, scope = InMemoryStore(), Scope(USER, "t1")
    ns = entity_memory.entity_namespaces("global", scope)
    entity, _ = run_plan(
        store,
        entity_memory.create_entity(
            ns, Provenance(mode="api"), name="Acme", entity_type="company", facts=["CEO is Bob"]
        ),
    )
    old_fact = entity.live_facts()[0]

    def extract(messages: list[BaseMessage]) -> dict[str, Any]:
        assert old_fact.id in prompt_of(messages)  # named entities come with live fact ids
        return {
            "entities": [
                {
                    "entity": "ACME",
                    "entity_type": "company",
                    "facts": ["CEO is Carol", "Based in Berlin"],
                    "supersedes": [old_fact.id, "fact_bogus"],
                }
            ]
        }

    extractor = ScriptedChatModel(structured_responses=[extract])
    machine = LearningMachine(model=extractor, entity_memory=LearningMode.ALWAYS)
    messages = [HumanMessage("Acme's new CEO is Carol; they're in Berlin.", id="1")]
    assert extract_learnings(machine, store, scope, messages).status == "applied"
    (acme,) = run_plan(store, entity_memory.list_entities(ns))
    assert sorted(f.text for f in acme.live_facts()) == ["Based in Berlin", "CEO is Carol"]
    retired = next(f for f in acme.facts if f.id == old_fact.id)
    assert retired.superseded_at is not None and retired.superseded_by != "superseded"


# -- 4. faults ----------------------------------------------------------------------------------


def test_failing_extractor_loses_nothing(store: BaseStore) -> None:
    def extract(messages: list[BaseMessage]) -> dict[str, Any]:
        prompt = prompt_of(messages)
        assert "I use Postgres" in prompt  # the turn the failed extraction missed
        return {"memories": {"add": ["Uses Postgres", "Deploys on Fridays"]}}

    extractor = ScriptedChatModel(
        structured_responses=[RuntimeError("rate limited"), TimeoutError("slow"), extract]
    )
    agent = ScriptedChatModel(["Noted.", "Good luck."])
    machine = LearningMachine(
        model=extractor, user_memory=LearningMode.ALWAYS, max_retries=1, retry_backoff_s=0.01
    )
    graph = build_graph(machine, agent, store)
    out = graph.invoke({"messages": [("user", "I use Postgres")]}, cfg())
    assert out["messages"][-1].content == "Noted."  # the turn itself is unaffected
    machine.flush(timeout=30)
    assert machine.runner.stats.failed == 1
    assert run_plan(store, user_memory.list_memories(USER)) == []
    assert run_plan(store, get_cursor("t1")) is None  # the cursor did not move

    graph.invoke({"messages": [("user", "We deploy on Fridays")]}, cfg())
    machine.flush(timeout=30)
    texts = sorted(m.text for m in run_plan(store, user_memory.list_memories(USER)))
    assert texts == ["Deploys on Fridays", "Uses Postgres"]
    assert extractor.structured_call_count == 3


def test_timeout_is_retried_with_backoff() -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    def slow(messages: list[BaseMessage]) -> dict[str, Any]:
        time.sleep(1.0)
        return {"memories": {"add": ["from the slow call"]}}

    extractor = ScriptedChatModel(
        structured_responses=[slow, {"memories": {"add": ["from the retry"]}}]
    )
    machine = LearningMachine(
        model=extractor,
        user_memory=LearningMode.ALWAYS,
        extraction_timeout_s=0.1,
        max_retries=2,
        retry_backoff_s=0.01,
    )
    store = InMemoryStore()
    report = extract_learnings(machine, store, Scope(USER, "t1"), [HumanMessage("x", id="1")])
    assert report.status == "applied" and report.calls == 2
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["from the retry"]


def test_malformed_output_leaves_records_unchanged(store: BaseStore) -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    prov = Provenance(mode="api")
    run_plan(store, user_memory.add_memory(USER, "Likes tea", prov))
    run_plan(store, user_profile.update_profile(USER, prov, set_fields={"name": "Ann"}))
    before = (
        run_plan(store, user_memory.list_memories(USER)),
        run_plan(store, user_profile.get_profile(USER)),
    )
    malformed = [
        {"memories": {"add": "not a list"}},
        {"profile": {"set": {"shoe_size": 42}}},  # not a profile field
    ]
    extractor = ScriptedChatModel(structured_responses=malformed)
    machine = LearningMachine(
        model=extractor,
        user_profile=LearningMode.ALWAYS,
        user_memory=LearningMode.ALWAYS,
        max_retries=1,
        retry_backoff_s=0.01,
    )
    report = extract_learnings(machine, store, Scope(USER, "t1"), [HumanMessage("hi", id="1")])
    assert report.status == "failed" and "ValidationError" in (report.error or "")
    after = (
        run_plan(store, user_memory.list_memories(USER)),
        run_plan(store, user_profile.get_profile(USER)),
    )
    assert after == before
    assert run_plan(store, get_cursor("t1")) is None


def test_concurrent_turns_for_one_user_keep_every_memory(store: BaseStore) -> None:
    def remember(messages: list[BaseMessage]) -> dict[str, Any]:
        text = prompt_of(messages)
        fact = next(f"Fact {i}" for i in range(8) if f"fact {i}" in text)
        return {"memories": {"add": [fact]}, "profile": {"set": {"name": "Ann"}}}

    extractor = ScriptedChatModel(
        structured_responses=[remember], structured_delay_s=0.2, cycle=True
    )
    agent = ScriptedChatModel(["ok"], cycle=True)
    machine = LearningMachine(
        model=extractor, user_profile=LearningMode.ALWAYS, user_memory=LearningMode.ALWAYS
    )
    graph = build_graph(machine, agent, store)
    errors: list[BaseException] = []

    def turn(i: int) -> None:
        try:
            graph.invoke({"messages": [("user", f"remember fact {i}")]}, cfg(thread=f"t{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=turn, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    machine.flush(timeout=60)
    assert not errors
    texts = sorted(m.text for m in run_plan(store, user_memory.list_memories(USER)))
    assert texts == [f"Fact {i}" for i in range(8)]


# -- 5. async graphs -----------------------------------------------------------------------------


async def test_async_graph_learns_in_the_background(astore: BaseStore) -> None:
    delay = 1.0
    extractor = ScriptedChatModel(structured_responses=[INTRO, {}], structured_delay_s=delay)
    agent = ScriptedChatModel(["Hello Ann!", "At Acme."])
    machine = three_store_machine(extractor)
    graph = build_graph(machine, agent, astore)
    start = time.perf_counter()
    await graph.ainvoke({"messages": [("user", "I'm Ann Lee from Acme")]}, cfg())
    assert time.perf_counter() - start < delay * 0.8
    assert await arun_plan(astore, user_profile.get_profile(USER)) is None
    await machine.aflush(timeout=30)
    profile = await arun_plan(astore, user_profile.get_profile(USER))
    assert profile is not None and profile.name == "Ann Lee"
    out = await graph.ainvoke({"messages": [("user", "Where do I work?")]}, cfg())
    assert "data engineer" in out["learning_context"]
    await machine.aflush(timeout=30)
    assert machine.runner.active_tasks() == 0


async def test_async_inline_and_failures_do_not_fail_the_turn() -> None:
    extractor = ScriptedChatModel(structured_responses=[ValueError("boom")] * 2)
    agent = ScriptedChatModel(["Sure."])
    machine = LearningMachine(
        model=extractor, user_memory=LearningMode.ALWAYS, max_retries=1, retry_backoff_s=0.01
    )
    graph = build_graph(machine, agent, InMemoryStore(), background=False)
    out = await graph.ainvoke({"messages": [("user", "hi")]}, cfg())
    assert out["messages"][-1].content == "Sure." and extractor.structured_call_count == 2


async def test_sync_and_async_paths_store_the_same_records() -> None:
    from agno_learn_langgraph.extraction import aextract_learnings, extract_learnings

    def script() -> ScriptedChatModel:
        return ScriptedChatModel(
            structured_responses=[
                {
                    **INTRO,
                    "entities": [
                        {"entity": "Acme", "entity_type": "company", "facts": ["HQ Oslo"]}
                    ],
                    "learnings": [{"title": "Airflow retries", "learning": "Set retries=3."}],
                }
            ]
        )

    def machine(model: ScriptedChatModel) -> LearningMachine:
        return LearningMachine(
            model=model,
            user_profile=True,
            user_memory=True,
            session_context=True,
            entity_memory=LearningMode.ALWAYS,
            learned_knowledge=LearningMode.ALWAYS,
        )

    messages = [HumanMessage("I'm Ann", id="1"), AIMessage("Hi Ann", id="2")]
    scope = Scope(USER, "t1")
    sync_store, async_store = InMemoryStore(), InMemoryStore()
    extract_learnings(machine(script()), sync_store, scope, messages)
    await aextract_learnings(machine(script()), async_store, scope, messages)

    def dump(store: InMemoryStore) -> list[tuple[tuple[str, ...], str, Any]]:
        volatile = {"created_at", "updated_at", "written_at", "id", "provenance", "facts"}
        rows = []
        for ns in store.list_namespaces():
            if ns == ("learning", "versions"):  # random stamps, bookkeeping only
                continue
            for item in store.search(ns, limit=100):
                value = {k: v for k, v in item.value.items() if k not in volatile}
                value["n_facts"] = len(item.value.get("facts", []))
                rows.append((ns, item.key if not item.key.startswith("mem_") else "mem", value))
        return sorted(rows, key=repr)

    assert dump(sync_store) == dump(async_store)
    assert len(dump(sync_store)) == 6  # profile, memory, session, entity, learning, cursor


# -- 6. models without structured output, per-store models, overrides ---------------------------


def test_json_fallback_for_models_without_structured_output() -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    reply = '```json\n{"memories": {"add": ["Uses Kafka"]}}\n```'
    extractor = ScriptedChatModel([reply], supports_structured_output=False)
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    store = InMemoryStore()
    messages = [HumanMessage("We run Kafka", id="1")]
    report = extract_learnings(machine, store, Scope(USER, "t1"), messages)
    assert report.status == "applied"
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Uses Kafka"]
    system = str(extractor.calls[0][0].content)
    assert "JSON schema" in system and '"memories"' in system


def test_each_distinct_model_gets_one_call_with_its_stores_only() -> None:
    from agno_learn_langgraph.config import UserMemoryConfig
    from agno_learn_langgraph.extraction import extract_learnings

    main = ScriptedChatModel(structured_responses=[{"profile": {"set": {"name": "Ann"}}}])
    cheap = ScriptedChatModel(structured_responses=[{"memories": {"add": ["Likes tea"]}}])
    machine = LearningMachine(
        model=main,
        user_profile=LearningMode.ALWAYS,
        session_context=SessionContextConfig(model=main),
        user_memory=UserMemoryConfig(model=cheap),
    )
    store = InMemoryStore()
    report = extract_learnings(machine, store, Scope(USER, "t1"), [HumanMessage("hi", id="1")])
    assert report.calls == 2
    assert main.structured_call_count == 1 and cheap.structured_call_count == 1
    assert "User memories" in prompt_of(cheap.structured_calls[0])
    assert "User memories" not in prompt_of(main.structured_calls[0])
    assert [m.text for m in run_plan(store, user_memory.list_memories(USER))] == ["Likes tea"]


def test_prompt_overrides_per_store() -> None:
    from agno_learn_langgraph.config import UserMemoryConfig, UserProfileConfig
    from agno_learn_langgraph.extraction import extract_learnings

    extractor = ScriptedChatModel(structured_responses=[{}, {}])
    machine = LearningMachine(
        model=extractor,
        user_profile=UserProfileConfig(instructions="ONLY SAVE NICKNAMES."),
        user_memory=UserMemoryConfig(additional_instructions="ALSO NOTE TIMEZONES."),
    )
    extract_learnings(machine, InMemoryStore(), Scope(USER, "t1"), [HumanMessage("a", id="1")])
    system = str(extractor.structured_calls[0][0].content)
    assert "ONLY SAVE NICKNAMES." in system and "explicitly about themselves" not in system
    assert "ALSO NOTE TIMEZONES." in system and "Consolidate, do not accumulate" in system

    solo = LearningMachine(
        model=extractor, user_memory=UserMemoryConfig(system_message="You are MEMO.")
    )
    extract_learnings(solo, InMemoryStore(), Scope(USER, "t2"), [HumanMessage("b", id="1")])
    call = extractor.structured_calls[1]
    assert call[0].content == "You are MEMO."
    assert '"b"' in str(call[1].content)  # the records and messages still reach the model


# -- 7. PROPOSE stores get proposals -------------------------------------------------------------


def test_propose_stores_get_proposals_not_records() -> None:
    from agno_learn_langgraph.extraction import extract_learnings
    from agno_learn_langgraph.stores import proposals

    extractor = ScriptedChatModel(
        structured_responses=[
            {
                "memories": {"add": ["Likes tea"]},
                "learnings": [{"title": "Cache", "learning": "Cache the token.", "tags": ["x"]}],
            }
        ]
    )
    machine = LearningMachine(
        model=extractor,
        user_memory=LearningMode.PROPOSE,
        learned_knowledge=LearningMode.PROPOSE,
    )
    store = InMemoryStore()
    try:
        report = extract_learnings(machine, store, Scope(USER, "t1"), [HumanMessage("x", id="1")])
    except NotImplementedError:  # pragma: no cover - approval.plan_propose not landed yet
        pytest.skip("approval.plan_propose is not implemented yet")
    assert report.status == "applied"
    assert run_plan(store, user_memory.list_memories(USER)) == []
    pending = run_plan(store, proposals.list_proposals())
    assert sorted(p.store for p in pending) == ["learned_knowledge", "user_memory"]
    assert all(p.proposed_by == "always" and p.status == "proposed" for p in pending)
    assert "reviewed by a human" in str(extractor.structured_calls[0][0].content)


# -- 8. developer errors surface at once ----------------------------------------------------------


def test_missing_model_raises_at_factory_time() -> None:
    machine = LearningMachine(user_memory=LearningMode.ALWAYS)
    with pytest.raises(
        ValueError,
        match=r"LearningMachine\(model=\.\.\.\).*create_extraction_node\(machine, model=",
    ):
        create_extraction_node(machine)


def test_missing_store_or_user_raise_in_the_node() -> None:
    extractor = ScriptedChatModel(structured_responses=[{}])
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    agent = ScriptedChatModel(["hi"], cycle=True)
    builder = StateGraph(LearningState)
    builder.add_node("learn", create_extraction_node(machine))
    builder.add_edge(START, "learn")
    no_store = builder.compile(checkpointer=InMemorySaver())
    with pytest.raises(StoreUnavailableError, match="compile"):
        no_store.invoke({"messages": [("user", "x")]}, cfg())
    graph = build_graph(machine, agent, InMemoryStore())
    with pytest.raises(MissingScopeError, match="user_id"):
        graph.invoke({"messages": [("user", "x")]}, cfg(user=None))
    assert machine._runner is None or machine.runner.stats.submitted == 0


def test_planning_session_fields_are_extracted() -> None:
    from agno_learn_langgraph.extraction import extract_learnings

    extractor = ScriptedChatModel(
        structured_responses=[
            {"session": {"summary": "Migrating DB", "goal": "Move to PG", "plan": ["dump", "load"]}}
        ]
    )
    machine = LearningMachine(
        model=extractor, session_context=SessionContextConfig(enable_planning=True)
    )
    store = InMemoryStore()
    extract_learnings(machine, store, Scope(USER, "t1"), [HumanMessage("x", id="1")])
    context = run_plan(store, session_context.get_session_context("t1"))
    assert context is not None and context.goal == "Move to PG" and context.plan == ["dump", "load"]
    assert "goal" in str(extractor.structured_calls[0][0].content)


def test_in_memory_store_is_guarded_against_background_writes() -> None:
    extractor = ScriptedChatModel(structured_responses=[{}], cycle=True)
    machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
    store = InMemoryStore()
    graph = build_graph(machine, ScriptedChatModel(["ok"], cycle=True), store)
    graph.invoke({"messages": [("user", "hi")]}, cfg())
    machine.flush(timeout=30)
    assert type(store) is InMemoryStore  # the user's object is not changed
    assert is_guarded(store)

    # a background writer's plans adding keys while this thread's plans search the namespace
    assert not race_plans(store, seconds=1.5)


def race_plans(store: BaseStore, seconds: float) -> list[RuntimeError]:
    """Run put plans on a thread and search plans here on one big namespace; the errors seen."""
    ns = ("learning", "stress", "x")
    store.batch([PutOp(ns, f"p{i}", {"text": "x"}) for i in range(20_000)])
    stop, errors = threading.Event(), []

    def write() -> None:
        i = 0
        while not stop.is_set():
            run_plan(store, put_plan(ns, f"k{i}"))
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                run_plan(store, search_plan(ns))
            except RuntimeError as exc:  # "dictionary changed size during iteration"
                errors.append(exc)
    finally:
        stop.set()
        writer.join()
    return errors


def put_plan(ns: tuple[str, ...], key: str) -> Any:
    yield [put(ns, key, {"text": "x"})]


def search_plan(ns: tuple[str, ...]) -> Any:
    (found,) = yield [search_all(ns, limit=5)]
    return found
