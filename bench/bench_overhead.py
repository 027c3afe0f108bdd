"""Framework overhead per turn, with a zero-latency scripted chat model.

Every variant is one ``graph.invoke`` on a fresh thread, compared with a plain LangGraph turn
(the agent node alone) on the same store and checkpointer:

* recall: ``recall -> agent`` (recall + render into the system prompt; the user holds 1,000
  memories);
* ALWAYS scheduling: ``agent -> learn`` with ``create_extraction_node`` in background mode
  (only the scheduling is on the turn's path; the job runs on the machine's worker threads);
  the inline variant (extraction inside the node, scripted extractor) is shown for reference;
  and the one-step wiring, ``create_learning_agent_node`` (recall of the 1,000 memories, the
  agent and the scheduling in the agent's step);
* approval: ``agent -> review_learnings`` on PostgreSQL with one pending proposal: the turn
  interrupts and is resumed with an approval (two invokes), vs the plain PostgreSQL turn.

Run alone: ``.venv/bin/python bench/bench_overhead.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MEM_HEADER,
    SMOKE,
    TextGenerator,
    Timing,
    fmt_ms,
    fmt_ratio,
    machine_line,
    measure,
    mem_cell,
    pg_version,
    postgres_available,
    table,
    throwaway_pg_database,
    write_result,
)
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from agno_learn_langgraph import LearningMachine, LearningMode
from agno_learn_langgraph.backends import Backend, open_store
from agno_learn_langgraph.core import put
from agno_learn_langgraph.graph import (
    LearningState,
    create_recall_node,
    with_learning_context,
)
from agno_learn_langgraph.records import Memory, fingerprint
from agno_learn_langgraph.stores.user_memory import memory_namespace
from agno_learn_langgraph.testing import ScriptedChatModel

USER = "bench-user"
NOTE = (
    "- With a zero-latency model the background extraction job of turn N runs (on a worker "
    "thread, reading the user's 1,000 memories) while turn N+1 is being timed, so on 2 cores "
    "the ALWAYS rows measure scheduling *plus* the GIL/CPU the job takes from the next turn, "
    "not scheduling alone; `always.md` measures the user-visible cost with a 200 ms model "
    "(the realistic case). Ratios below 1.00× are noise."
)
_threads = itertools.count()


@dataclass
class Result:
    backend: str
    variant: str
    timing: Timing | None
    baseline: Timing | None
    note: str = ""


def seed(store: Any, n: int) -> None:
    gen = TextGenerator(seed=5)
    ns = memory_namespace(USER)
    ops = []
    for _ in range(n):
        text = gen.sentence()
        m = Memory(text=text, fingerprint=fingerprint(text))
        ops.append(put(ns, m.id, m.model_dump(mode="json"), search_text=text))
    for i in range(0, len(ops), 1000):
        store.batch(ops[i : i + 1000])


def agent_node(model: ScriptedChatModel) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def agent(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [model.invoke(with_learning_context(state))]}

    return agent


def compile_graph(backend: Backend, nodes: list[tuple[str, Any]]) -> Any:
    builder = StateGraph(LearningState)
    prev = START
    for name, node in nodes:
        builder.add_node(name, node)
        builder.add_edge(prev, name)
        prev = name
    builder.add_edge(prev, END)
    return builder.compile(store=backend.store, checkpointer=backend.checkpointer)


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"t{next(_threads)}", "user_id": USER}}


def turn(graph: Any) -> Callable[[int], Any]:
    def call(i: int) -> Any:
        return graph.invoke({"messages": [HumanMessage(f"What about hiking {i}?")]}, config())

    return call


def reps(quick: bool) -> dict[str, Any]:
    if SMOKE:
        return {"reps": 5, "warmup": 1, "budget_s": 0.5, "min_samples": 3}
    if quick:
        return {"reps": 40, "warmup": 5, "budget_s": 2.0, "min_samples": 10}
    return {"reps": 300, "warmup": 20, "budget_s": 8.0, "min_samples": 30}


@contextlib.contextmanager
def backends(quick: bool, notes: list[str]) -> Iterator[Iterator[tuple[str, Backend]]]:
    """Yield an iterator of ``(name, backend)``: in-memory, SQLite file and PostgreSQL."""
    import tempfile

    def gen() -> Iterator[tuple[str, Backend]]:
        with open_store(":memory:") as b:
            yield "memory", b
        with tempfile.TemporaryDirectory() as tmp, open_store(f"{tmp}/o.db") as b:
            yield "sqlite", b
        if (why := postgres_available()) is not None:
            notes.append(f"postgres skipped: {why}")
            return
        with throwaway_pg_database() as url, open_store(url) as b:
            notes.append(f"postgres = {pg_version(url)} (local, TCP loopback)")
            yield "postgres", b

    yield gen()


def extraction_variants(backend: Backend, plain: Timing, kw: dict[str, Any]) -> list[Result]:
    from agno_learn_langgraph.extraction import create_extraction_node
    from agno_learn_langgraph.graph import create_learning_agent_node

    out = []
    variants = [
        ("ALWAYS extraction node, background (scheduling only)", "node", True),
        ("ALWAYS extraction node, inline (reference)", "node", False),
        ("one step: create_learning_agent_node (recall + agent + scheduling)", "one-step", True),
    ]
    for label, wiring, background in variants:
        extractor = ScriptedChatModel(structured_responses=[{"memories": {"add": []}}], cycle=True)
        machine = LearningMachine(model=extractor, user_memory=LearningMode.ALWAYS)
        model = ScriptedChatModel(cycle=True)
        if wiring == "one-step":
            nodes = [("agent", create_learning_agent_node(machine, agent_node(model)))]
        else:
            learn = create_extraction_node(machine, background=background)
            nodes = [("agent", agent_node(model)), ("learn", learn)]
        graph = compile_graph(backend, nodes)
        try:
            timing = measure(turn(graph), **kw)
            start = time.perf_counter()
            machine.flush(timeout=120)
            flushed = (time.perf_counter() - start) * 1000
            note = f"flush after timing: {flushed:.0f} ms" if background else ""
            out.append(Result("", label, timing, plain, note))
        except Exception as exc:
            out.append(Result("", label, None, plain, f"failed: {type(exc).__name__}: {exc}"))
        finally:
            with contextlib.suppress(Exception):
                machine.close()  # type: ignore[attr-defined]
    return out


def approval_variants(backend: Backend, plain: Timing, kw: dict[str, Any]) -> list[Result]:
    try:
        from langgraph.types import Command

        from agno_learn_langgraph.approval import create_approval_node, plan_propose
        from agno_learn_langgraph.core import run_plan
        from agno_learn_langgraph.scope import Scope
    except ImportError:
        return [Result("", "approval interrupt + resume", None, plain, "pending")]
    machine = LearningMachine(learned_knowledge=LearningMode.PROPOSE, namespace="bench")
    model = ScriptedChatModel(cycle=True)
    graph = compile_graph(
        backend, [("agent", agent_node(model)), ("review", create_approval_node(machine))]
    )
    results = []
    try:
        results.append(
            Result("", "approval node, nothing pending", measure(turn(graph), **kw), plain)
        )
    except Exception as exc:
        results.append(Result("", "approval node, nothing pending", None, plain, f"failed: {exc}"))

    pending: list[dict[str, Any]] = []

    def prepare(i: int) -> None:
        cfg = config()
        scope = Scope(user_id=USER, thread_id=cfg["configurable"]["thread_id"])
        proposal, _ = run_plan(
            backend.store,
            plan_propose(
                machine,
                scope,
                target="learned_knowledge",
                content={"title": f"Tip {i}", "learning": f"Retry 429 after {i} s"},
                rationale="bench",
            ),
        )
        pending.append({"cfg": cfg, "id": proposal.id})

    def interrupt_and_resume(i: int) -> None:
        job = pending.pop()
        cfg = job["cfg"]
        out = graph.invoke({"messages": [HumanMessage("Any tips?")]}, cfg)
        assert "__interrupt__" in out, "expected the review interrupt"
        decision = {"proposal_id": job["id"], "type": "approve"}
        graph.invoke(Command(resume={"decisions": [decision], "reviewer": "bench"}), cfg)

    try:
        samples = []
        for i in range(kw["warmup"] + kw["reps"]):
            prepare(i)  # untimed: the proposal a previous turn would have made
            start = time.perf_counter()
            interrupt_and_resume(i)
            if i >= kw["warmup"]:
                samples.append((time.perf_counter() - start) * 1000)
                if len(samples) >= kw["min_samples"] and sum(samples) / 1000 > kw["budget_s"]:
                    break
        from common import timing_from

        results.append(
            Result(
                "",
                "approval interrupt + resume (1 proposal)",
                timing_from(samples),
                plain,
                "two invokes: interrupt, then Command(resume=approve)",
            )
        )
    except Exception as exc:
        results.append(
            Result(
                "",
                "approval interrupt + resume (1 proposal)",
                None,
                plain,
                f"failed: {type(exc).__name__}: {exc}",
            )
        )
    return results


def main(quick: bool = False) -> str:
    started = time.perf_counter()
    kw = reps(quick)
    results: list[Result] = []
    notes: list[str] = []
    n_memories = 100 if SMOKE else 1_000
    with backends(quick, notes) as each:
        for name, backend in each:
            print(f"[bench_overhead] {name}", file=sys.stderr, flush=True)
            seed(backend.store, n_memories)
            model = ScriptedChatModel(cycle=True)
            plain_graph = compile_graph(backend, [("agent", agent_node(model))])
            plain = measure(turn(plain_graph), **kw)
            results.append(Result(name, "plain turn (agent only) = baseline", plain, plain))
            noop_graph = compile_graph(
                backend, [("agent", agent_node(model)), ("noop", lambda state: {})]
            )
            results.append(
                Result(
                    name,
                    "agent + an empty node (cost of any extra node)",
                    measure(turn(noop_graph), **kw),
                    plain,
                )
            )
            machine = LearningMachine(user_memory=True)
            recall_graph = compile_graph(
                backend, [("recall", create_recall_node(machine)), ("agent", agent_node(model))]
            )
            results.append(
                Result(
                    name,
                    f"recall node + agent ({n_memories:,} memories, lexical)",
                    measure(turn(recall_graph), **kw),
                    plain,
                )
            )
            for r in extraction_variants(backend, plain, kw):
                r.backend = name
                results.append(r)
            if name == "postgres":
                for r in approval_variants(backend, plain, kw):
                    r.backend = name
                    results.append(r)
    headers = [
        "backend",
        "variant",
        "p50 ms",
        "p95 ms",
        "added p50 ms",
        "ratio p50",
        "ratio p95",
        "n",
        MEM_HEADER,
        "note",
    ]
    body = []
    for r in results:
        if r.timing is None or r.baseline is None:
            body.append([r.backend, r.variant, "", "", "", "", "", "", "", r.note])
            continue
        t, b = r.timing, r.baseline
        body.append(
            [
                r.backend,
                r.variant,
                fmt_ms(t.p50),
                fmt_ms(t.p95),
                fmt_ms(t.p50 - b.p50),
                fmt_ratio(t.p50 / b.p50),
                fmt_ratio(t.p95 / b.p95),
                t.n,
                mem_cell(t),
                r.note,
            ]
        )
    out = [
        "## Framework overhead per turn",
        "",
        f"Machine: {machine_line()}. Mode: {'smoke' if SMOKE else 'quick' if quick else 'full'};"
        f" module wall time {time.perf_counter() - started:.0f} s.",
        "",
        "One `graph.invoke` per turn on a fresh thread (checkpointer + store of the same "
        "backend), zero-latency `ScriptedChatModel`. Ratios are against the plain turn on the "
        "same backend measured in the same run. Memory: "
        f"{MEM_HEADER} = `ru_maxrss` / psutil current RSS after the row.",
        "",
        table(headers, body),
        "",
        *[f"- {n}" for n in notes],
        NOTE,
    ]
    return write_result("overhead", "\n".join(out))


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
