"""Concurrent users on PostgreSQL: throughput, p95, errors and cross-user leaks.

1, 4, 16 and 32 simulated users, each running turns of ``recall -> agent -> learn`` (recall
node, zero-latency scripted model, ALWAYS extraction node in background mode) on one
PostgresStore + PostgresSaver pool, as threads calling ``invoke`` and as asyncio tasks calling
``ainvoke`` on AsyncPostgresStore + AsyncPostgresSaver. Each user is seeded with 30 memories that
carry a marker unique to that user; after every turn the ``learning_context`` must contain only
the caller's markers (a foreign marker is a leak).

Run alone: ``.venv/bin/python bench/bench_concurrency.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MEM_HEADER,
    SMOKE,
    fmt_ms,
    machine_line,
    peak_rss_mib,
    percentile,
    pg_version,
    postgres_available,
    rss_mib,
    table,
    throwaway_pg_database,
    write_result,
)
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from agno_learn_langgraph import LearningMachine, LearningMode
from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.core import put
from agno_learn_langgraph.graph import (
    LearningState,
    create_recall_node,
    with_learning_context,
)
from agno_learn_langgraph.records import Memory, fingerprint
from agno_learn_langgraph.stores.user_memory import memory_namespace
from agno_learn_langgraph.testing import ScriptedChatModel

MARKER = re.compile(r"zmark(\d{3})q")
SEEDED = 30


@dataclass
class Run:
    mode: str
    users: int
    turns: int = 0
    errors: int = 0
    leaks: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    peak: float = 0.0
    rss: float = 0.0
    pending: str = ""


def user_id(i: int) -> str:
    return f"user-{i:03d}"


def seed(store: Any, users: int) -> None:
    ops = []
    for i in range(users):
        for j in range(SEEDED):
            text = f"User likes hiking trail {j} near lake zmark{i:03d}q."
            m = Memory(text=text, fingerprint=fingerprint(text))
            ops.append(
                put(memory_namespace(user_id(i)), m.id, m.model_dump(mode="json"), search_text=text)
            )
    for k in range(0, len(ops), 1000):
        store.batch(ops[k : k + 1000])


def build(backend: Any) -> tuple[Any, LearningMachine, str]:
    model = ScriptedChatModel(cycle=True)
    note = ""
    nodes: list[tuple[str, Any]] = []
    try:
        from agno_learn_langgraph.extraction import create_extraction_node

        extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": []}}], cycle=True)
        machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
        nodes.append(("learn", create_extraction_node(machine, background=True)))
    except ImportError:
        machine = LearningMachine(user_memory=True)
        note = "background extraction pending (no extraction module)"

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [model.invoke(with_learning_context(state))]}

    builder = StateGraph(LearningState)
    builder.add_node("recall", create_recall_node(machine))
    builder.add_node("agent", agent)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    last = "agent"
    for name, node in nodes:
        builder.add_node(name, node)
        builder.add_edge(last, name)
        last = name
    builder.add_edge(last, END)
    graph = builder.compile(store=backend.store, checkpointer=backend.checkpointer)
    return graph, machine, note


def check(run: Run, i: int, out: dict[str, Any], lock: threading.Lock | None) -> None:
    found = {int(m) for m in MARKER.findall(out.get("learning_context", ""))}
    leaked = len(found - {i})
    missing = 0 if i in found else 1
    if lock:
        with lock:
            run.leaks += leaked
            run.errors += missing
            if missing and len(run.error_samples) < 3:
                run.error_samples.append(f"user {i}: own memories missing from recall")
    else:
        run.leaks += leaked
        run.errors += missing


def run_threads(url: str, users: int, turns: int) -> Run:
    run = Run("threads (invoke, PostgresStore)", users)
    lock = threading.Lock()
    with open_store(url, max_pool_size=max(4, min(users, 32))) as backend:
        seed(backend.store, users)
        graph, machine, run.pending = build(backend)

        def user(i: int) -> None:
            for t in range(turns):
                cfg = {"configurable": {"thread_id": f"th-{i}-{t % 3}", "user_id": user_id(i)}}
                start = time.perf_counter()
                try:
                    out = graph.invoke({"messages": [HumanMessage(f"Hiking plans {t}?")]}, cfg)
                except Exception as exc:
                    with lock:
                        run.errors += 1
                        if len(run.error_samples) < 3:
                            run.error_samples.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                took = (time.perf_counter() - start) * 1000
                with lock:
                    run.latencies_ms.append(took)
                    run.turns += 1
                check(run, i, out, lock)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=users) as pool:
            list(pool.map(user, range(users)))
        run.wall_s = time.perf_counter() - start
        machine.flush(timeout=300)
        machine.close()
    run.peak, run.rss = peak_rss_mib(), rss_mib()
    return run


async def run_async(url: str, users: int, turns: int) -> Run:
    run = Run("asyncio (ainvoke, AsyncPostgresStore)", users)
    async with aopen_store(url, max_pool_size=max(4, min(users, 32))) as backend:
        graph, machine, run.pending = build(backend)

        async def user(i: int) -> None:
            for t in range(turns):
                cfg = {"configurable": {"thread_id": f"ath-{i}-{t % 3}", "user_id": user_id(i)}}
                start = time.perf_counter()
                try:
                    out = await graph.ainvoke(
                        {"messages": [HumanMessage(f"Hiking plans {t}?")]}, cfg
                    )
                except Exception as exc:
                    run.errors += 1
                    if len(run.error_samples) < 3:
                        run.error_samples.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                run.latencies_ms.append((time.perf_counter() - start) * 1000)
                run.turns += 1
                check(run, i, out, None)

        start = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        run.wall_s = time.perf_counter() - start
        await machine.aflush(timeout=300)
        await machine.aclose()
    run.peak, run.rss = peak_rss_mib(), rss_mib()
    return run


def main(quick: bool = False) -> str:
    started = time.perf_counter()
    levels = (1, 4) if SMOKE else (1, 4, 16, 32)
    turns = 2 if SMOKE else 4 if quick else 12
    runs: list[Run] = []
    notes: list[str] = []
    if (why := postgres_available()) is not None:
        notes.append(f"PostgreSQL not reachable, nothing measured: {why}")
    else:
        with throwaway_pg_database() as url:
            notes.append(f"Server: {pg_version(url)} on 127.0.0.1 (throwaway database).")
            for users in levels:
                print(f"[bench_concurrency] threads × {users}", file=sys.stderr, flush=True)
                runs.append(run_threads(url, users, turns))
            for users in levels:
                print(f"[bench_concurrency] asyncio × {users}", file=sys.stderr, flush=True)
                runs.append(asyncio.run(run_async(url, users, turns)))
    headers = [
        "mode",
        "users",
        "turns",
        "turns/s",
        "turn p50 ms",
        "turn p95 ms",
        "errors",
        "leaks",
        MEM_HEADER,
    ]
    body = [
        [
            r.mode,
            r.users,
            r.turns,
            f"{r.turns / r.wall_s:.1f}" if r.wall_s else "n/a",
            fmt_ms(percentile(r.latencies_ms, 50)),
            fmt_ms(percentile(r.latencies_ms, 95)),
            r.errors,
            r.leaks,
            f"{r.peak:.0f} / {r.rss:.0f}",
        ]
        for r in runs
    ]
    problems = [f"- {r.mode} × {r.users}: {s}" for r in runs for s in r.error_samples]
    pending = sorted({r.pending for r in runs if r.pending})
    out = [
        "## Concurrent users on PostgreSQL",
        "",
        f"Machine: {machine_line()}. Mode: {'smoke' if SMOKE else 'quick' if quick else 'full'};"
        f" {turns} turns per user; module wall time {time.perf_counter() - started:.0f} s.",
        "",
        "Each user runs `recall -> agent -> learn` turns (scripted zero-latency model, ALWAYS "
        "extraction scheduled in the background) over 3 threads of its own. turns/s = "
        "completed turns / wall time of the level; errors = failed turns + turns whose recall "
        "missed the caller's own seeded memories (target 0); leaks = other users' markers seen "
        f"in a caller's learning_context (target 0). {MEM_HEADER} after the level. Background "
        "extraction is flushed after each level (not timed).",
        "",
        table(headers, body),
        "",
        *[f"- {n}" for n in notes + pending],
        *(["", "Errors seen:", *problems] if problems else []),
    ]
    return write_result("concurrency", "\n".join(out))


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
