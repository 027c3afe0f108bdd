"""Recall latency vs store size, on every backend.

``recall(machine, store, scope, query)`` with ``LearningMachine(user_memory=True)`` for one user
holding 1k, 10k and 100k memories, and for 100 users holding 1k each, on InMemoryStore,
InMemoryStore with a vector index, SqliteStore, PostgresStore (no pgvector) and PostgresStore +
pgvector (HNSW). The baseline of each row is a plain ``store.search(ns, limit=20)`` of the same
namespace on the same store. Embedding time is excluded: query vectors are cached before timing.

Run alone: ``.venv/bin/python bench/bench_recall.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MEM_HEADER,
    SMOKE,
    TextGenerator,
    Timing,
    WordVectorEmbeddings,
    fmt_ms,
    fmt_ratio,
    machine_line,
    measure,
    mem_cell,
    pg_version,
    pgvector_server,
    postgres_available,
    table,
    throwaway_pg_database,
    write_result,
)
from langgraph.store.base import BaseStore

from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core import put, run_plan
from agno_learn_langgraph.index import VERSIONS_NAMESPACE
from agno_learn_langgraph.recall import recall
from agno_learn_langgraph.records import Memory, Provenance, fingerprint
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.stores.user_memory import memory_namespace

DIMS = 128
LIMIT = 20  # LearningMachine's default max_memories_in_context
TARGETS_MS = {1_000: 2.0, 10_000: 10.0, 100_000: 25.0}
N_QUERIES = 40


@dataclass
class Row:
    backend: str
    case: str
    size: int
    recall: Timing | None = None
    baseline: Timing | None = None
    load_s: float = float("nan")
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- backends ------------------------------------------------------------------------------------


def _index(embed: WordVectorEmbeddings, *, hnsw: bool) -> dict[str, Any]:
    index: dict[str, Any] = {"dims": DIMS, "embed": embed, "fields": ["search_text"]}
    if hnsw:
        index["ann_index_config"] = {"kind": "hnsw"}
        index["distance_type"] = "cosine"
    return index


@contextlib.contextmanager
def open_backend(name: str, embed: WordVectorEmbeddings) -> Iterator[tuple[BaseStore, str]]:
    """Yield ``(store, description)`` for one backend name."""
    if name == "memory":
        from langgraph.store.memory import InMemoryStore

        yield InMemoryStore(), "InMemoryStore"
    elif name == "memory+index":
        from langgraph.store.memory import InMemoryStore

        yield InMemoryStore(index=_index(embed, hnsw=False)), "InMemoryStore(index=, numpy cosine)"
    elif name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp, open_store(str(Path(tmp) / "b.db")) as b:
            yield b.store, "SqliteStore (file, WAL off)"
    elif name == "postgres":
        with throwaway_pg_database() as url, open_store(url) as b:
            yield b.store, f"PostgresStore on {pg_version(url)} (lexical)"
    elif name == "pgvector":
        with pgvector_server() as url, open_store(url, index=_index(embed, hnsw=True)) as b:
            b.store.bench_url = url  # type: ignore[attr-defined]
            yield (
                b.store,
                f"PostgresStore on {pg_version(url)}, HNSW cosine (m=16, ef_construction=64)",
            )
    else:  # pragma: no cover
        raise ValueError(name)


@contextlib.contextmanager
def hnsw_bulk_build(store: BaseStore) -> Iterator[None]:
    """On pgvector: drop the store's HNSW index for a bulk load and rebuild it afterwards.

    Building HNSW once over the loaded rows is several times faster than inserting into it row
    by row (~250-400 rows/s here); the index definition is the store's own (read back from
    ``pg_indexes``), so queries afterwards see exactly the index ``setup()`` made.
    """
    url = getattr(store, "bench_url", None)
    if url is None:
        yield
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'store_vectors' "
            "AND indexdef ILIKE '%hnsw%'"
        ).fetchall()
        for name, _ in rows:
            conn.execute(f'DROP INDEX "{name}"')
        try:
            yield
        finally:
            conn.execute("SET maintenance_work_mem = '512MB'")
            for _, indexdef in rows:
                conn.execute(indexdef)
            conn.execute("ANALYZE store")
            conn.execute("ANALYZE store_vectors")
            # flush the load's WAL now, not as a checkpoint in the middle of the timed calls
            conn.execute("CHECKPOINT")


def load(store: BaseStore, user: str, texts: list[str], chunk: int = 1000) -> float:
    """Put ``texts`` as approved memories of ``user`` via ``store.batch``; seconds taken.

    On pgvector the time includes rebuilding the HNSW index (see :func:`hnsw_bulk_build`).
    """
    with hnsw_bulk_build(store):
        start = time.perf_counter()
        _load(store, user, texts, chunk)
    return time.perf_counter() - start


def _load(store: BaseStore, user: str, texts: list[str], chunk: int) -> None:
    """Write through a plan, as the package does: the namespace's version stamp is bumped, so
    the next recall rebuilds its cached index (a raw ``store.batch`` would leave it stale)."""
    ns = memory_namespace(user)

    def put_chunks() -> Generator[list[Any], Any, None]:
        for i in range(0, len(texts), chunk):
            ops = []
            for text in texts[i : i + chunk]:
                m = Memory(text=text, fingerprint=fingerprint(text))
                ops.append(put(ns, m.id, m.model_dump(mode="json"), search_text=text))
            yield ops

    run_plan(store, put_chunks())


PROV = Provenance(mode="api")

# -- measurements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much to run: sizes, repetitions, time budgets."""

    sizes: tuple[int, ...]
    reps: int
    budget_s: float
    min_samples: int
    many_users: bool
    load_budget_s: float  # skip a step whose projected load time exceeds this


def plan_for(quick: bool, backend: str) -> Plan:
    if SMOKE:
        return Plan((200,), 5, 0.2, 3, False, 5.0)
    if quick:
        # pgvector's HNSW inserts ~250 items/s here: 10k would take ~40 s, so quick stops at 1k.
        sizes = (1_000,) if backend == "pgvector" else (1_000, 10_000)
        return Plan(sizes, 60, 1.0, 5, False, 30.0)
    return Plan((1_000, 10_000, 100_000), 300, 3.0, 6, True, 120.0)


def _recall_ms(store: BaseStore, machine: LearningMachine, user: str, query: str) -> float:
    start = time.perf_counter()
    recall(machine, store, Scope(user_id=user, thread_id=f"t-{user}"), query)
    return (time.perf_counter() - start) * 1000


def after_write_ms(
    store: BaseStore, machine: LearningMachine, user: str, query: str
) -> tuple[float, float]:
    """Recall right after one new memory written by this process (applied to the cached index),
    then right after a write by another process (the stamp changes: the index is rebuilt)."""
    _recall_ms(store, machine, user, query)  # make sure the namespace is cached
    run_plan(store, user_memory.add_memory(user, "one more memory written this turn", PROV))
    own = _recall_ms(store, machine, user, query)
    ns = memory_namespace(user)
    store.put(VERSIONS_NAMESPACE, "/".join(ns), {"v": "written-by-another-process"})
    return own, _recall_ms(store, machine, user, query)


def time_recall(
    store: BaseStore, machine: LearningMachine, users_queries: list[tuple[str, str]], plan: Plan
) -> Timing:
    scopes = [(Scope(user_id=u, thread_id=f"t-{u}"), q) for u, q in users_queries]

    def call(i: int) -> None:
        scope, query = scopes[i % len(scopes)]
        recall(machine, store, scope, query)

    return measure(
        call,
        reps=plan.reps,
        warmup=min(max(20, len(scopes)), plan.reps),  # warm: every scope's index built once
        budget_s=plan.budget_s,
        min_samples=plan.min_samples,
    )


def time_baseline(store: BaseStore, users: list[str], plan: Plan) -> Timing:
    namespaces = [memory_namespace(u) for u in users]

    def call(i: int) -> None:
        store.search(namespaces[i % len(namespaces)], limit=LIMIT)

    return measure(
        call,
        reps=plan.reps,
        warmup=min(max(20, len(namespaces)), plan.reps),
        budget_s=plan.budget_s / 2,
        min_samples=plan.min_samples,
    )


def recall_at_10(
    embed: WordVectorEmbeddings,
    texts: list[str],
    queries: list[str],
    rankers: dict[str, Callable[[str], list[str]]],
) -> dict[str, float]:
    """Per ranker, the mean overlap of its top 10 (texts) with the exact cosine top 10."""
    matrix = np.stack([embed.vector(t) for t in texts])  # once for every ranker: 100k take seconds
    by_text: dict[str, int] = {t: i for i, t in enumerate(texts)}
    hits = dict.fromkeys(rankers, 0)
    for q in queries:
        exact = set(np.argsort(-(matrix @ embed.vector(q)))[:10].tolist())
        for label, top10 in rankers.items():
            hits[label] += len(exact & {by_text.get(t, -1) for t in top10(q)})
    return {
        label: h / (10 * len(queries)) if queries else float("nan") for label, h in hits.items()
    }


def package_top10(store: BaseStore, user: str) -> Callable[[str], list[str]]:
    """The package's semantic ranking (what recall uses): exact search over stored vectors."""

    def top10(q: str) -> list[str]:
        plan = user_memory.relevant_memories(user, q, limit=10, indexed=True, ranking="semantic")
        found = run_plan(store, plan)
        return [m.text for m in found]

    return top10


def hnsw_top10(store: BaseStore, user: str) -> Callable[[str], list[str]]:
    """The store's own ranking (pgvector HNSW), for reference."""

    def top10(q: str) -> list[str]:
        hits = store.search(
            memory_namespace(user), query=q, filter={"status": "approved"}, limit=10
        )
        return [str(it.value.get("text", "")) for it in hits]

    return top10


def add_recall_at_10(
    row: Row,
    name: str,
    store: BaseStore,
    embed: WordVectorEmbeddings,
    asked: dict[str, tuple[list[str], list[str]]],
) -> None:
    """``asked``: user -> (that user's texts, queries)."""
    if name not in ("memory+index", "pgvector"):
        return
    makers = {"recall@10": package_top10}
    if name == "pgvector":
        makers["hnsw@10"] = hnsw_top10
    overlaps = [
        recall_at_10(embed, texts, queries, {k: make(store, u) for k, make in makers.items()})
        for u, (texts, queries) in asked.items()
    ]
    for label in makers:
        row.extra[label] = float(np.mean([o[label] for o in overlaps]))


# -- the run -------------------------------------------------------------------------------------


_T0 = time.perf_counter()


def _progress(message: str) -> None:
    print(
        f"[bench_recall +{time.perf_counter() - _T0:.0f}s] {message}", file=sys.stderr, flush=True
    )


def run_backend(name: str, quick: bool, rows: list[Row], notes: list[str]) -> None:
    gen = TextGenerator(seed=11)
    embed = WordVectorEmbeddings(dims=DIMS)
    plan = plan_for(quick, name)
    machine = LearningMachine(user_memory=True)
    full_machine = LearningMachine(
        user_profile=True,
        user_memory=True,
        session_context=True,
        entity_memory=True,
        learned_knowledge=True,
        decision_log=True,
    )
    try:
        ctx = open_backend(name, embed)
        store, desc = ctx.__enter__()
    except Exception as exc:  # a backend that cannot start is reported, not fatal
        notes.append(f"**{name}** could not start: {type(exc).__name__}: {exc}")
        return
    try:
        notes.append(f"**{name}** = {desc}")
        solo: list[str] = []
        rate = 0.0  # seconds per item loaded so far
        for size in plan.sizes:
            todo = size - len(solo)
            if rate and rate * todo > plan.load_budget_s:
                notes.append(
                    f"**{name}** {size // 1000}k skipped: loading {todo:,} more items was "
                    f"projected at {rate * todo:.0f} s ({1 / rate:.0f} items/s measured), over "
                    f"this run's {plan.load_budget_s:.0f} s load budget"
                )
                break
            new = [gen.sentence() for _ in range(todo)]
            load_s = load(store, "solo", new)
            _progress(f"{name}: loaded {size:,} in {load_s:.1f} s")
            rate = load_s / todo
            solo += new
            queries = [gen.query_from(gen.rng.choice(solo)) for _ in range(N_QUERIES)]
            for q in queries:
                embed.embed_query(q)
            row = Row(name, f"1 user × {size:,}", size, load_s=load_s)
            row.extra["own"], row.extra["cold"] = after_write_ms(store, machine, "solo", queries[0])
            row.recall = time_recall(store, machine, [("solo", q) for q in queries], plan)
            row.baseline = time_baseline(store, ["solo"], plan)
            add_recall_at_10(row, name, store, embed, {"solo": (solo, queries)})
            rows.append(row)
            _progress(f"{name}: {size:,} measured (recall p50 {row.recall.p50:.1f} ms)")
            if size == plan.sizes[0]:
                full = Row(name, f"1 user × {size:,}, all six stores", size)
                full.recall = time_recall(store, full_machine, [("solo", q) for q in queries], plan)
                full.baseline = row.baseline
                rows.append(full)
        if plan.many_users:
            users = [f"u{i:03d}" for i in range(100)]
            if rate * 100_000 > plan.load_budget_s:
                notes.append(
                    f"**{name}** 100 users × 1k skipped: loading 100,000 items was projected at "
                    f"{rate * 100_000:.0f} s, over this run's {plan.load_budget_s:.0f} s budget"
                )
                return
            texts_of: dict[str, list[str]] = {}
            start = time.perf_counter()
            with hnsw_bulk_build(store):
                for user in users:
                    texts_of[user] = [gen.sentence() for _ in range(1_000)]
                    _load(store, user, texts_of[user], 1000)
            many_load = time.perf_counter() - start
            _progress(f"{name}: loaded 100 users in {many_load:.1f} s")
            pairs = [(u, gen.query_from(gen.rng.choice(texts_of[u]))) for u in users[:N_QUERIES]]
            for _, q in pairs:
                embed.embed_query(q)
            row = Row(
                name,
                f"100 users × 1,000 (store holds {100_000 + len(solo):,})",
                1_000,
                load_s=many_load,
            )
            row.recall = time_recall(store, machine, pairs, plan)
            row.baseline = time_baseline(store, users[:N_QUERIES], plan)
            asked = {u: (texts_of[u], [q]) for u, q in pairs[:20]}
            add_recall_at_10(row, name, store, embed, asked)
            rows.append(row)
    except Exception as exc:
        notes.append(f"**{name}** failed mid-run: {type(exc).__name__}: {exc}")
    finally:
        ctx.__exit__(None, None, None)
        gc.collect()


def verdict(row: Row) -> str:
    if row.recall is None:
        return ""
    target = TARGETS_MS.get(row.size) if not SMOKE else None
    if target is None:
        return ""
    ok = row.recall.p95 < target
    if "recall@10" in row.extra and row.size >= 100_000:
        ok = ok and row.extra["recall@10"] >= 0.95
    return f"{'met' if ok else 'MISSED'} (< {target:g} ms)"


def render(rows: list[Row], notes: list[str], quick: bool, elapsed: float) -> str:
    out = [
        "## Recall latency vs store size",
        "",
        f"Machine: {machine_line()}. "
        f"Mode: {'smoke' if SMOKE else 'quick (1k/10k)' if quick else 'full'}; "
        f"module wall time {elapsed:.0f} s.",
        "",
        "`recall(LearningMachine(user_memory=True), store, scope, query)` (the same read + rank "
        "the recall node runs, without rendering); baseline = `store.search(ns, limit=20)` of "
        "the same namespace on the same store; ratio = recall p50 / baseline p50. Query "
        "embeddings are cached before timing (embedding excluded); documents use "
        f"`WordVectorEmbeddings` ({DIMS} dims, bench/common.py). Target column is on p95. "
        f"Memory: {MEM_HEADER} = `ru_maxrss` high-water mark / psutil current RSS of the "
        "backend's own benchmark process (one per backend) after the row.",
        "",
    ]
    headers = [
        "backend",
        "case",
        "after own write ms",
        "after other process's write ms (rebuild)",
        "recall p50 ms",
        "recall p95 ms",
        "baseline p50 ms",
        "baseline p95 ms",
        "ratio p50",
        "n",
        "target (p95)",
        "recall@10",
        "store's HNSW recall@10",
        "load s",
        MEM_HEADER,
    ]
    body = []
    for r in rows:
        assert r.recall is not None and r.baseline is not None
        rat = r.recall.p50 / r.baseline.p50 if r.baseline.p50 else float("nan")
        body.append(
            [
                r.backend,
                r.case,
                fmt_ms(r.extra["own"]) if "own" in r.extra else "",
                fmt_ms(r.extra["cold"]) if "cold" in r.extra else "",
                fmt_ms(r.recall.p50),
                fmt_ms(r.recall.p95),
                fmt_ms(r.baseline.p50),
                fmt_ms(r.baseline.p95),
                fmt_ratio(rat),
                r.recall.n,
                verdict(r) if "six" not in r.case and "100 users" not in r.case else "",
                f"{r.extra['recall@10']:.3f}" if "recall@10" in r.extra else "",
                f"{r.extra['hnsw@10']:.3f}" if "hnsw@10" in r.extra else "",
                f"{r.load_s:.1f}" if r.load_s == r.load_s else "",
                mem_cell(r.recall),
            ]
        )
    out.append(table(headers, body))
    out += ["", "Backends:", ""] + [f"- {n}" for n in notes]
    out += [
        "",
        "Notes: `load s` is the time to put that step's new memories with `store.batch` in "
        "chunks of 1,000 (for the 1k/10k/100k rows the user grows cumulatively). The 100-user "
        "row runs in the same store after the 100k user, so the store holds 200k items. "
        "Without a vector index, recall ranks with a BM25 index of the namespace kept in process "
        "and reused while the namespace's version stamp is unchanged (one small read per turn); "
        "this process's own writes update that index in place (`after own write`: one memory "
        "added through the package, then a recall), while another process's write changes the "
        "stamp and the next recall rebuilds the index from a full scan (`after other process's "
        "write`, up to 100,000 items). With a vector index (memory+index, pgvector) the same "
        "cache holds the namespace's stored vectors as one numpy matrix searched exactly "
        "(`recall@10` = overlap of the package's top 10 with an exact cosine top 10; the "
        "store's own HNSW search is shown for reference). Recall timings are warm: every "
        "queried user's index is built once before timing (the cold cost is the rebuild "
        "column). "
        "`n` = timed calls (a row stops after its time budget once it has its minimum).",
    ]
    return "\n".join(out)


def main(quick: bool = False) -> str:
    start = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    backends = ["memory", "memory+index", "sqlite", "postgres", "pgvector"]
    if only := os.environ.get("BENCH_RECALL_BACKENDS"):  # e.g. "pgvector,memory+index"
        backends = [b for b in backends if b in only.split(",")]
    if (why := postgres_available()) is not None:
        backends.remove("postgres")
        notes.append(f"**postgres** skipped: server not reachable ({why})")
    # One process per backend: a backend's heap (200k items in an InMemoryStore) must not slow
    # the next one's timings through garbage collection, and each row's peak RSS is its own.
    spawn = multiprocessing.get_context("spawn")
    for name in backends:
        print(f"[bench_recall] {name} ...", file=sys.stderr, flush=True)
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            try:
                got_rows, got_notes = pool.submit(_run_backend_alone, name, quick).result()
            except Exception as exc:  # a crashed backend is reported, not fatal
                got_rows, got_notes = [], [f"**{name}** crashed: {type(exc).__name__}: {exc}"]
        rows += got_rows
        notes += got_notes
    return write_result("recall", render(rows, notes, quick, time.perf_counter() - start))


def _run_backend_alone(name: str, quick: bool) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    run_backend(name, quick, rows, notes)
    return rows, notes


def _cli(argv: list[str], fn: Callable[[bool], str]) -> None:
    fn("--quick" in argv)


if __name__ == "__main__":
    _cli(sys.argv[1:], main)
