"""ALWAYS mode: user-visible latency, LLM calls and extraction input per turn, burst memory.

All in one process with scripted models (no network): the chat call sleeps 200 ms, the
extraction call 800 ms. Measured:

1. latency of ``graph.invoke`` per turn (p50/p95 over 200 turns, in rotating blocks) for learning
   off, two empty nodes, the recall node alone, ALWAYS in the background (this package's
   default) wired as three nodes and in one step (``create_learning_agent_node``),
   ``create_agent`` with and without ``LearningMiddleware``, ALWAYS
   inline (extraction after the reply, inside the run) and an Agno-like variant (extraction in
   parallel with the chat call, awaited before the run returns, never seeing the reply);
2. LLM calls and extraction input (characters, ~tokens = chars/4) per turn over a 50-turn
   conversation, next to the length of the conversation so far;
3. a burst of 1,000 turns over 50 threads (sync graph; and 1,000 async turns): RSS before and
   after, runner counters, and worker threads / asyncio tasks left after ``flush``.

Run: ``.venv/bin/python bench/bench_always.py`` (writes ``bench/results/always.md``).
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.memory import InMemoryStore

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MEM_HEADER,
    Timing,
    fmt_ms,
    fmt_ratio,
    machine_line,
    mem_cell,
    peak_rss_mib,
    rss_mib,
    table,
    timing_from,
    write_result,
)

from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.extraction import create_extraction_node
from agno_learn_langgraph.graph import (
    LearningState,
    create_learning_agent_node,
    create_recall_node,
    with_learning_context,
)
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.testing import ScriptedChatModel

CHAT_S = 0.200
EXTRACT_S = 0.800
TURNS = 100
BLOCKING_TURNS = 30
ROUNDS = 20
CONVERSATION_TURNS = 50
BURST_TURNS = 1000
BURST_THREADS = 50
USER = "bench-user"
ANSWER = (
    "Trains are usually the better option between the two cities: about three hours door to "
    "door, with seats you can book two months ahead. Hotels near the station fill up first."
)


def extraction_output(messages: list[BaseMessage]) -> dict[str, Any]:
    """A plausible extraction: a summary each turn, a new memory every fifth user message."""
    prompt = str(messages[-1].content)
    numbers = [int(n) for n in re.findall(r"[Qq]uestion (\d+)", prompt)]
    last = numbers[-1] if numbers else 0
    out: dict[str, Any] = {
        "session": {"summary": f"The user is planning a trip; latest question: number {last}."}
    }
    if last % 5 == 0:
        out["memories"] = {"add": [f"Asked about topic {last} of the trip"]}
    return out


def make_machine(extract_s: float, **kwargs: Any) -> tuple[LearningMachine, ScriptedChatModel]:
    extractor = ScriptedChatModel(
        structured_responses=[extraction_output], structured_delay_s=extract_s, cycle=True
    )
    machine = LearningMachine(
        model=extractor,
        user_profile=LearningMode.ALWAYS,
        user_memory=LearningMode.ALWAYS,
        session_context=True,
        **kwargs,
    )
    return machine, extractor


def make_graph(variant: str, machine: LearningMachine, chat_s: float) -> Any:
    agent = ScriptedChatModel(
        [lambda m: f"Here is answer {len(m)} about your trip. " + ANSWER],
        cycle=True,
        delay_s=chat_s,
    )

    def call_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [agent.invoke(with_learning_context(state))]}

    async def acall_agent(state: LearningState) -> dict[str, Any]:
        return {"messages": [await agent.ainvoke(with_learning_context(state))]}

    if variant in ("create_agent", "middleware"):  # langchain's create_agent, with or without
        from langchain.agents import create_agent

        from agno_learn_langgraph.middleware import LearningMiddleware

        middleware = [LearningMiddleware(machine)] if variant == "middleware" else []
        return create_agent(
            agent, middleware=middleware, store=InMemoryStore(), checkpointer=InMemorySaver()
        )
    builder = StateGraph(LearningState)
    if variant == "one-step":  # recall, agent and extraction scheduling in the agent's step
        node = create_learning_agent_node(machine, RunnableLambda(call_agent, afunc=acall_agent))
        builder.add_node("agent", node)
        builder.add_edge(START, "agent")
        builder.add_edge("agent", END)
        return builder.compile(store=InMemoryStore(), checkpointer=InMemorySaver())
    builder.add_node("agent", RunnableLambda(call_agent, afunc=acall_agent))
    if variant == "off":
        builder.add_edge(START, "agent")
        builder.add_edge("agent", END)
    elif variant == "steps":  # the same graph shape as "bg" with nodes that do nothing
        builder.add_node("before", lambda state: {})
        builder.add_node("after", lambda state: {})
        builder.add_edge(START, "before")
        builder.add_edge("before", "agent")
        builder.add_edge("agent", "after")
        builder.add_edge("after", END)
    elif variant == "recall":
        builder.add_node("recall", create_recall_node(machine))
        builder.add_edge(START, "recall")
        builder.add_edge("recall", "agent")
        builder.add_edge("agent", END)
    elif variant == "agno-like":
        # Extraction starts with the model call, sees only the input, and is awaited.
        builder.add_node("recall", create_recall_node(machine))
        builder.add_node("learn", create_extraction_node(machine, background=False))
        builder.add_edge(START, "recall")
        builder.add_edge("recall", "agent")
        builder.add_edge("recall", "learn")
        builder.add_edge(["agent", "learn"], END)
    else:
        builder.add_node("recall", create_recall_node(machine))
        builder.add_node("learn", create_extraction_node(machine, background=variant == "bg"))
        builder.add_edge(START, "recall")
        builder.add_edge("recall", "agent")
        builder.add_edge("agent", "learn")
        builder.add_edge("learn", END)
    return builder.compile(store=InMemoryStore(), checkpointer=InMemorySaver())


def cfg(thread: str, user: str = USER) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": user}}


# -- 1. latency -----------------------------------------------------------------------------------


def run_latency(variants: list[str], turns: int, rounds: int) -> dict[str, tuple[Timing, int]]:
    """Time ``turns`` turns of each variant in ``rounds`` blocks, the variants' order rotating
    from round to round, so the machine's drift over the run falls on every variant alike. A
    block ends with a flush, so one variant's background work never runs in another's turns."""
    setups = {}
    for variant in variants:
        machine, extractor = make_machine(EXTRACT_S)
        graph = make_graph(variant, machine, CHAT_S)
        graph.invoke({"messages": [("user", "warm-up")]}, cfg(f"warm-{variant}"))
        machine.flush(timeout=60)
        setups[variant] = (machine, extractor, graph)
    samples: dict[str, list[float]] = {v: [] for v in variants}
    per_block = max(1, turns // rounds)
    for block in range(rounds):
        shift = block % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            machine, _, graph = setups[variant]
            for turn in range(block * per_block, (block + 1) * per_block):
                start = time.perf_counter()
                graph.invoke(
                    {"messages": [("user", f"Question {turn} about my trip")]}, cfg(variant)
                )
                samples[variant].append((time.perf_counter() - start) * 1000)
            machine.flush(timeout=120)
    results = {}
    for variant, (machine, extractor, _) in setups.items():
        machine.close()
        results[variant] = (timing_from(samples[variant]), extractor.structured_call_count)
    return results


def latency_section() -> str:
    labels = {
        "off": "learning off",
        "steps": "learning off + two empty nodes (LangGraph's cost of the two extra steps)",
        "recall": "recall node only (learning on, no ALWAYS extraction)",
        "bg": "ALWAYS, background (default): recall node + agent + extraction node",
        "one-step": "ALWAYS, background, one step: create_learning_agent_node(machine, agent)",
        "create_agent": "create_agent, no middleware",
        "middleware": "create_agent + LearningMiddleware (ALWAYS, background; added: vs the row "
        "above)",
        "inline": "ALWAYS, inline (extraction after the reply, blocking)",
        "agno-like": "Agno-like (extraction parallel to the chat call, awaited, no reply seen)",
    }
    # the fast variants interleaved (their differences are a few ms); the blocking ones apart
    results = run_latency(
        ["off", "steps", "recall", "bg", "one-step", "create_agent", "middleware"], TURNS, ROUNDS
    )
    results.update(run_latency(["inline", "agno-like"], BLOCKING_TURNS, 5))
    base = results["off"][0]
    rows = []
    for variant, label in labels.items():
        t, calls = results[variant]
        ref = results["create_agent" if variant == "middleware" else "off"][0]
        rows.append(
            [
                label,
                fmt_ms(t.p50),
                fmt_ms(t.p95),
                fmt_ms(t.p50 - ref.p50),
                fmt_ms(t.p95 - ref.p95),
                fmt_ratio(t.p50 / ref.p50),
                calls,
                mem_cell(t),
            ]
        )
    headers = [
        "variant",
        "p50 ms",
        "p95 ms",
        "added p50 ms",
        "added p95 ms",
        "p50 ratio",
        "extraction calls",
        MEM_HEADER,
    ]
    bg, steps, rec = results["bg"][0], results["steps"][0], results["recall"][0]
    one = results["one-step"][0]
    ca, mw = results["create_agent"][0], results["middleware"][0]
    verdict = (
        f"Background ALWAYS in one step (`create_learning_agent_node`: recall, the agent and "
        f"the extraction scheduling in the agent's node) adds {fmt_ms(one.p50 - base.p50)} ms "
        f"at p50 and {fmt_ms(one.p95 - base.p95)} ms at p95 over learning off (target: within "
        f"2 ms / 5 ms). Wired as three nodes (recall node, agent, extraction node) it adds "
        f"{fmt_ms(bg.p50 - base.p50)} / {fmt_ms(bg.p95 - base.p95)} ms, of which LangGraph's "
        f"two extra graph steps alone (two empty nodes) cost {fmt_ms(steps.p50 - base.p50)} / "
        f"{fmt_ms(steps.p95 - base.p95)} ms; the extraction node versus the recall-only graph "
        f"adds {fmt_ms(bg.p50 - rec.p50)} / {fmt_ms(bg.p95 - rec.p95)} ms. With "
        f"`create_agent`, `LearningMiddleware` (recall inside the model call, extraction "
        f"scheduled by its `after_agent` step) adds {fmt_ms(mw.p50 - ca.p50)} / "
        f"{fmt_ms(mw.p95 - ca.p95)} ms over the same agent without it."
    )
    return (
        f"### User-visible latency per turn (chat {CHAT_S * 1000:.0f} ms, extraction "
        f"{EXTRACT_S * 1000:.0f} ms; {TURNS} turns of each of the first seven variants "
        f"in {ROUNDS} rotating blocks; {BLOCKING_TURNS} of the blocking ones)\n\n"
        + table(headers, rows)
        + "\n\n"
        + verdict
        + " In the background variant turns arrive faster than extractions finish, so the "
        "runner coalesces per thread: fewer extraction calls than turns, each reading every "
        "message since the last successful one.\n"
    )


# -- 2. calls and input size over a conversation ----------------------------------------------


def conversation_section() -> str:
    machine, extractor = make_machine(0.0)
    graph = make_graph("inline", machine, 0.0)
    history_chars = []
    for turn in range(CONVERSATION_TURNS):
        out = graph.invoke(
            {"messages": [("user", f"Question {turn:02d}: what about the hotels and trains?")]},
            cfg("conversation"),
        )
        history_chars.append(sum(len(str(m.content)) for m in out["messages"]))
    sizes = [sum(len(str(m.content)) for m in call) for call in extractor.structured_calls]
    calls_per_turn = extractor.structured_call_count / CONVERSATION_TURNS
    rows = []
    for turn in (1, 2, 10, 20, 30, 40, 50):
        chars = sizes[turn - 1]
        rows.append([turn, chars, chars // 4, history_chars[turn - 1]])
    headers = ["turn", "extraction input chars", "~tokens", "conversation so far (chars)"]
    return (
        f"### LLM calls and extraction input per turn ({CONVERSATION_TURNS}-turn conversation, "
        "3 stores)\n\n"
        f"Extraction calls per turn: **{calls_per_turn:.2f}** (one structured call for "
        "user_profile + user_memory + session_context; Agno: one tool-calling conversation per "
        "store). Input chars min / max over the 50 turns: "
        f"{min(sizes)} / {max(sizes)} (peak RSS {peak_rss_mib():.0f} MiB).\n\n"
        + table(headers, rows)
        + "\n\nThe input holds only the new messages plus bounded records (profile, session "
        "summary, at most 30 relevant memories): it grows only with what was learned (here a "
        "memory every fifth turn, at most 30 shown), not with the conversation.\n"
    )


# -- 3. burst --------------------------------------------------------------------------------------


def burst_section() -> str:
    gc.collect()
    machine, _ = make_machine(0.002)
    graph = make_graph("bg", machine, 0.0)
    rss_before, threads_before = rss_mib(), threading.active_count()
    start = time.perf_counter()
    for turn in range(BURST_TURNS):
        thread = f"burst-{turn % BURST_THREADS}"
        graph.invoke({"messages": [("user", f"burst question {turn}")]}, cfg(thread, thread))
    submitted_s = time.perf_counter() - start
    machine.flush(timeout=300)
    flushed_s = time.perf_counter() - start
    stats = machine.runner.stats
    workers_after_flush = machine.runner.active_threads()
    machine.close()
    gc.collect()
    rss_after, threads_after = rss_mib(), threading.active_count()

    async def aburst() -> tuple[int, Any]:
        amachine, _ = make_machine(0.002)
        agraph = make_graph("bg", amachine, 0.0)
        for turn in range(BURST_TURNS):
            thread = f"aburst-{turn % BURST_THREADS}"
            await agraph.ainvoke(
                {"messages": [("user", f"burst question {turn}")]}, cfg(thread, thread)
            )
        await amachine.aflush(timeout=300)
        await asyncio.sleep(0)
        left = amachine.runner.active_tasks()
        astats = amachine.runner.stats
        await amachine.aclose()
        return left, astats

    tasks_left, astats = asyncio.run(aburst())
    gc.collect()
    rss_async = rss_mib()
    rows = [
        [
            "sync graph",
            f"{rss_before:.0f} → {rss_after:.0f}",
            stats.submitted,
            stats.coalesced,
            stats.completed,
            stats.failed,
            stats.pending,
            f"{workers_after_flush} workers alive after flush, "
            f"{threads_after - threads_before} extra threads after close",
            f"{submitted_s:.1f} / {flushed_s:.1f}",
        ],
        [
            "async graph",
            f"{rss_after:.0f} → {rss_async:.0f}",
            astats.submitted,
            astats.coalesced,
            astats.completed,
            astats.failed,
            astats.pending,
            f"{tasks_left} tasks left after aflush",
            "",
        ],
    ]
    headers = [
        "burst",
        "RSS MiB before → after",
        "submitted",
        "coalesced",
        "completed",
        "failed",
        "pending",
        "left behind",
        "turns / flushed (s)",
    ]
    return (
        f"### Burst: {BURST_TURNS} turns over {BURST_THREADS} threads, one user each "
        f"(extraction 2 ms, chat 0 ms; peak RSS {peak_rss_mib():.0f} MiB)\n\n"
        + table(headers, rows)
        + "\n\nThe RSS growth includes the InMemorySaver checkpoints and InMemoryStore records "
        "of 1,000 turns; the runner itself holds at most one running and one queued job per "
        "thread.\n"
    )


def main() -> None:
    sections = [
        "## ALWAYS mode: background extraction\n",
        f"Machine: {machine_line()}. Scripted models, InMemoryStore + InMemorySaver, sync "
        "`graph.invoke` unless noted. `bench/bench_always.py`.\n",
        latency_section(),
        conversation_section(),
        burst_section(),
    ]
    write_result("always", "\n".join(sections))


if __name__ == "__main__":
    main()
