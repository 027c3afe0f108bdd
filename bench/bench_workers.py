"""Many workers on one PostgreSQL (issue 13): lost writes, double decisions, a killed worker's
extraction, recall after another worker's write, event-loop stalls and RSS per worker.

    .venv/bin/python bench/bench_workers.py [--quick]

Real OS processes on the machine's PostgreSQL (``AGNO_LEARN_TEST_PG`` or the local server), a
throwaway database per part. The write, review and recovery parts run the multi-process test
workers (``tests/multiprocess_writer.py``, ``tests/multiprocess_reviewer.py``,
``tests/outbox_worker.py``) with more rounds.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from common import (  # noqa: E402
    MEM_HEADER,
    SMOKE,
    TextGenerator,
    fmt_ms,
    fmt_ratio,
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

from agno_learn_langgraph import LearningMachine  # noqa: E402
from agno_learn_langgraph.backends import aopen_store, open_store  # noqa: E402
from agno_learn_langgraph.core import arun_plan, put, run_plan  # noqa: E402
from agno_learn_langgraph.index import ranked  # noqa: E402
from agno_learn_langgraph.recall import arecall  # noqa: E402
from agno_learn_langgraph.records import Memory, Provenance, fingerprint  # noqa: E402
from agno_learn_langgraph.scope import Scope  # noqa: E402
from agno_learn_langgraph.stores import user_memory  # noqa: E402
from agno_learn_langgraph.stores.user_memory import memory_namespace  # noqa: E402

PROV = Provenance(mode="api")


def _progress(message: str) -> None:
    print(f"[bench_workers] {message}", file=sys.stderr, flush=True)


def _mem() -> str:
    return f"{peak_rss_mib():.0f} / {rss_mib():.0f}"


@contextmanager
def _database() -> Iterator[str]:
    with throwaway_pg_database("agno_bench_workers") as url:
        with open_store(url):  # migrations
            pass
        yield url


# -- lost writes: 4 writer processes starting together ---------------------------------------------


def lost_writes(rounds: int) -> list[Any]:
    import multiprocess_writer as writer
    from multiprocess import start_workers, stop_workers

    from agno_learn_langgraph.stores import entity_memory, user_profile

    with _database() as url:
        script = ROOT / "tests" / "multiprocess_writer.py"
        argvs = [[url, str(w), str(rounds)] for w in range(writer.WORKERS)]
        start = time.perf_counter()
        outputs = stop_workers(start_workers(script, argvs), send_go=True, timeout=1200)
        took = time.perf_counter() - start
        errors = sum(err.count("tool error") for _, err in outputs)
        with open_store(url) as backend:
            store = backend.store
            profile = run_plan(
                store, user_profile.get_profile(writer.USER, writer.profile_schema(rounds))
            )
            entity = run_plan(
                store,
                entity_memory.resolve_entity(
                    entity_memory.entity_namespaces("global", Scope(user_id=writer.USER)), "acme"
                ),
            )
            memories = run_plan(store, user_memory.list_memories(writer.USER))
    fields = {writer.field_name(w, r) for w in range(writer.WORKERS) for r in range(rounds)}
    facts = {writer.fact_text(w, r) for w in range(writer.WORKERS) for r in range(rounds)}
    filled = set(profile.filled()) if profile else set()
    live = {f.text for f in entity.live_facts()} if entity else set()
    texts = [m.text for m in memories]
    return [
        f"{writer.WORKERS} processes × {rounds} rounds",
        f"{len(fields - filled)} of {len(fields)}",
        f"{len(facts - live)} of {len(facts)}",
        f"{len(texts) - len(set(texts))} of {rounds}",
        errors,
        f"{took:.1f}",
        _mem(),
    ]


# -- concurrent deciders ---------------------------------------------------------------------------


def decisions(rounds: int) -> list[Any]:
    import multiprocess_reviewer as reviewer
    import test_multiprocess_reviews as reviews

    from agno_learn_langgraph.stores import proposals as proposal_store

    reviews.ROUNDS = rounds
    with _database() as url, tempfile.TemporaryDirectory() as tmp:
        ids = reviews.propose_rounds(url)
        start = time.perf_counter()
        results = reviews.decide_in_four_processes(url, ids, Path(tmp) / "ids.json")
        took = time.perf_counter() - start
        with open_store(url) as backend:
            memories = run_plan(backend.store, user_memory.list_memories(reviewer.USER))
            stored = [run_plan(backend.store, proposal_store.get_proposal(p)) for p in ids]
    one_winner = sum(1 for res in results if sum(1 for r in res if r["won"]) == 1)
    double = sum(1 for res in results if sum(1 for r in res if r["won"]) > 1)
    lost_audit = sum(
        1
        for p in stored
        if p is None or [e.action for e in p.history][:1] != ["proposed"] or len(p.history) != 2
    )
    twice = sum(1 for pid in ids if sum(1 for m in memories if m.provenance.proposal_id == pid) > 1)
    return [
        f"4 processes × {rounds} proposals",
        f"{one_winner} of {rounds}",
        double,
        lost_audit,
        twice,
        f"{took:.1f}",
        _mem(),
    ]


# -- a SIGKILLed worker's extraction ---------------------------------------------------------------


def recovery(grace_s: float) -> list[Any]:
    from test_outbox_processes import kill_after_reply, read_line, worker

    from agno_learn_langgraph.stores.outbox import get_record
    from tests.outbox_worker import LEARNED

    with _database() as url:
        thread = f"killed-{os.getpid()}"
        user = f"{thread}@example.com"
        _, killed_at = kill_after_reply(url, thread, grace_s)
        b = worker("recover", url, thread, str(grace_s))
        try:
            report = json.loads(read_line(b, "{", timeout=180))
            b.wait(timeout=30)
        finally:
            if b.poll() is None:
                b.kill()
            b.communicate(timeout=10)
        took = time.monotonic() - killed_at
        with open_store(url) as backend:
            texts = [m.text for m in run_plan(backend.store, user_memory.list_memories(user))]
            left = run_plan(backend.store, get_record(thread))
    return [
        f"grace {grace_s:g} s",
        f"{took:.1f}",
        report.get("recovered"),
        texts.count(LEARNED),
        "empty" if left is None else "not empty",
        _mem(),
    ]


# -- recall after another worker's write -----------------------------------------------------------


def _load(store: Any, user: str, texts: list[str]) -> None:
    ns = memory_namespace(user)

    def chunks() -> Generator[list[Any], Any, None]:
        for i in range(0, len(texts), 1000):
            ops = []
            for text in texts[i : i + 1000]:
                m = Memory(text=text, fingerprint=fingerprint(text), provenance=PROV)
                ops.append(put(ns, m.id, m.model_dump(mode="json"), search_text=text))
            yield ops

    run_plan(store, chunks())


class LoopLag:
    """The longest lateness of a 1 ms sleeper on the running loop (a stall of other requests)."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.longest_ms = max(self.longest_ms, (loop.time() - before - 0.001) * 1000)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()


async def _timed(machine: LearningMachine, store: Any, user: str, query: str) -> float:
    start = time.perf_counter()
    await arecall(machine, store, Scope(user_id=user, thread_id=f"t-{user}"), query)
    return (time.perf_counter() - start) * 1000


async def recall_after_writes(url: str, size: int, reps: int, rebuild: bool) -> list[Any]:
    """Reader and writer are two store handles (two connections, two caches: what two worker
    processes see); the writer adds one memory through the package before each timed recall."""
    user = f"user-{size}"
    gen = TextGenerator(seed=size)
    texts = [gen.sentence() for _ in range(size)]
    with open_store(url) as loader:
        _load(loader.store, user, texts)
    time.sleep(2.5)  # past the catch-up margin: a deployment's rows arrive over time
    machine = LearningMachine(user_memory=True)
    queries = [gen.sentence() for _ in range(20)]
    saved = ranked.change_reader
    if rebuild:  # the baseline: a foreign write rebuilds the index from a full scan
        ranked.change_reader = lambda store: None  # type: ignore[assignment]
    try:
        async with aopen_store(url) as reader, aopen_store(url) as writer:
            for q in queries[:5]:
                await _timed(machine, reader.store, user, q)
            quiet = [
                await _timed(machine, reader.store, user, queries[i % 20]) for i in range(reps)
            ]
            # the writer stands for another process: its own first read of the namespace (a
            # build in its cache) is not the reader's stall
            await arun_plan(writer.store, user_memory.add_memory(user, "warm the writer", PROV))
            await _timed(machine, reader.store, user, queries[0])
            after: list[float] = []
            # a rebuild of 100k rows takes seconds: a few of them show its cost
            samples = reps // 2 if not rebuild or size < 100_000 else 5
            with LoopLag() as lag:
                for i in range(samples):
                    await arun_plan(
                        writer.store, user_memory.add_memory(user, f"{gen.sentence()} {i}", PROV)
                    )
                    after.append(await _timed(machine, reader.store, user, queries[i % 20]))
    finally:
        ranked.change_reader = saved
    q95, a95 = percentile(quiet, 95), percentile(after, 95)
    return [
        f"1 user × {size:,}",
        "rebuild (before)" if rebuild else "catch-up",
        fmt_ms(statistics.median(quiet)),
        fmt_ms(q95),
        fmt_ms(statistics.median(after)),
        fmt_ms(a95),
        fmt_ratio(a95 / q95),
        fmt_ms(lag.longest_ms),
        len(after),
        _mem(),
    ]


async def cold_read(url: str, size: int, chunked: bool) -> list[Any]:
    """A worker's first recall of a namespace (after a restart): the scan and the build."""
    user = f"cold-{size}"
    gen = TextGenerator(seed=size + 1)
    with open_store(url) as loader:
        _load(loader.store, user, [gen.sentence() for _ in range(size)])
    saved = ranked.change_reader
    if not chunked:  # the baseline: the store's own search reads the namespace
        ranked.change_reader = lambda store: None  # type: ignore[assignment]
    try:
        async with aopen_store(url) as reader:
            with LoopLag() as lag:
                await asyncio.sleep(0.01)
                took = await _timed(LearningMachine(user_memory=True), reader.store, user, "tea")
                await asyncio.sleep(0.01)
    finally:
        ranked.change_reader = saved
    return [
        f"1 user × {size:,}",
        "chunked scan" if chunked else "store search (before)",
        fmt_ms(took),
        fmt_ms(lag.longest_ms),
        _mem(),
    ]


# -- RSS per worker --------------------------------------------------------------------------------

_RSS_WORKER = """
import asyncio, json, sys
import psutil
from agno_learn_langgraph import LearningMachine
from agno_learn_langgraph.backends import aopen_store
from agno_learn_langgraph.recall import arecall
from agno_learn_langgraph.scope import Scope

async def main(url, users):
    machine = LearningMachine(user_memory=True)
    async with aopen_store(url) as b:
        await arecall(machine, b.store, Scope(user_id="nobody", thread_id="t"), "warm up")
        before = psutil.Process().memory_info().rss
        for u in range(users):
            await arecall(machine, b.store, Scope(user_id=f"rss-{u}", thread_id="t"), "tea time")
        after = psutil.Process().memory_info().rss
    print(json.dumps({"before": before / 2**20, "after": after / 2**20}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def rss_per_worker(users: int, per_user: int, workers: int) -> list[Any]:
    gen = TextGenerator(seed=11)
    with _database() as url:
        with open_store(url) as loader:
            for u in range(users):
                _load(loader.store, f"rss-{u}", [gen.sentence() for _ in range(per_user)])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _RSS_WORKER, url, str(users)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(workers)
        ]
        reports = [json.loads(p.communicate(timeout=900)[0]) for p in procs]
    growth = [r["after"] - r["before"] for r in reports]
    return [
        f"{users} users × {per_user:,} ({workers} workers)",
        f"{statistics.mean(r['before'] for r in reports):.0f}",
        f"{statistics.mean(r['after'] for r in reports):.0f}",
        f"{max(growth):.0f}",
        "met" if max(growth) <= 150 else "not met",
        _mem(),
    ]


# -- the report ------------------------------------------------------------------------------------


def main(quick: bool = False) -> str:
    started = time.perf_counter()
    mode = "smoke" if SMOKE else "quick" if quick else "full"
    rounds = 3 if SMOKE else 20 if quick else 50
    sizes = (200,) if SMOKE else (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    reps = 10 if SMOKE else 60
    users, per_user = (3, 50) if SMOKE else (20, 1_000) if quick else (100, 1_000)
    notes: list[str] = []
    out = [
        "## Many workers on one PostgreSQL",
        "",
        f"Machine: {machine_line()}. Mode: {mode}.",
        "",
    ]
    if (why := postgres_available()) is not None:
        out.append(f"PostgreSQL not reachable, nothing measured: {why}")
        return write_result("workers", "\n".join(out))
    with throwaway_pg_database("agno_bench_workers") as url:
        notes.append(f"Server: {pg_version(url)} on 127.0.0.1 (a throwaway database per part).")
    _progress("lost writes")
    writes = lost_writes(rounds)
    _progress("decisions")
    decided = decisions(min(rounds, 20) if not SMOKE else 2)
    _progress("recovery")
    recovered = recovery(1.0 if SMOKE else 3.0)
    recall_rows = []
    for size in sizes:
        for rebuild in (True, False):
            _progress(f"recall {size} rebuild={rebuild}")
            with _database() as url:
                recall_rows.append(asyncio.run(recall_after_writes(url, size, reps, rebuild)))
    cold_rows = []
    for size in sizes:
        for chunked in (False, True):
            _progress(f"cold read {size} chunked={chunked}")
            with _database() as url:
                cold_rows.append(asyncio.run(cold_read(url, size, chunked)))
    _progress("rss")
    rss = rss_per_worker(users, per_user, 2 if SMOKE else 3)
    out += [
        f"Module wall time {time.perf_counter() - started:.0f} s. {MEM_HEADER}: the benchmark "
        "process after the row (`ru_maxrss` / psutil RSS); worker processes report their own.",
        "",
        "### Concurrent writers (`tests/multiprocess_writer.py`; target 0 lost)",
        "",
        table(
            [
                "run",
                "lost profile fields",
                "lost entity facts",
                "duplicate memories",
                "tool errors",
                "wall s",
                MEM_HEADER,
            ],
            [writes],
        ),
        "",
        "### Concurrent deciders (`tests/multiprocess_reviewer.py`: 4 doors per proposal; "
        "target one winner, 0 lost)",
        "",
        table(
            [
                "run",
                "exactly one winner",
                "double decisions",
                "lost audit events",
                "applied twice",
                "wall s",
                MEM_HEADER,
            ],
            [decided],
        ),
        "",
        "### A SIGKILLed worker's extraction (`tests/outbox_worker.py`; target < 60 s)",
        "",
        table(
            [
                "recovery grace",
                "killed → recovery reported s",
                "recovered",
                "learned (times)",
                "outbox",
                MEM_HEADER,
            ],
            [recovered],
        ),
        "",
        "### Recall quiet vs right after another worker's write (target p95 within 3× of "
        "quiet at 10k, loop stall <= 50 ms)",
        "",
        table(
            [
                "namespace",
                "path",
                "quiet p50 ms",
                "quiet p95 ms",
                "after foreign write p50 ms",
                "after foreign write p95 ms",
                "after / quiet p95",
                "longest loop stall ms",
                "n",
                MEM_HEADER,
            ],
            recall_rows,
        ),
        "",
        "### A worker's first recall of a namespace (cold: scan + build; loop stall target "
        "<= 50 ms)",
        "",
        table(["namespace", "read", "recall ms", "longest loop stall ms", MEM_HEADER], cold_rows),
        "",
        "### RSS per worker (each worker recalls every user once; target growth <= 150 MiB)",
        "",
        table(
            [
                "users × memories",
                "worker RSS before MiB",
                "worker RSS after MiB",
                "largest growth MiB",
                "target",
                MEM_HEADER,
            ],
            [rss],
        ),
        "",
        "Notes:",
        "",
        "- Recall: `arecall(LearningMachine(user_memory=True))` on `AsyncPostgresStore`. "
        "Reader and writer are two store handles (own connections, own index caches), i.e. what "
        "two worker processes see; before each `after` recall the writer adds one memory "
        "through the package (its stamp changes). `rebuild (before)` is the previous path, "
        "measured in the same run with the catch-up disabled: the reader rebuilds the index "
        "from a full scan. `catch-up` reads the rows written since (`index.changes`). The loop "
        "stall is the largest lateness of a 1 ms sleeper during the `after` recalls. `n` = "
        "recalls after a write; the 100k rebuild row takes 5 (each reads 100,000 rows).",
        "- Cold read: one `arecall` on a fresh `AsyncPostgresStore` handle (an empty cache, "
        "as after a restart). `store search (before)` reads the namespace with the store's own "
        "search, which decodes every row on the event loop; `chunked scan` is this package's "
        "`ScanOp` (500 rows between two turns of the loop). The index build itself runs in a "
        "worker thread in both.",
        "- Recovery: `learned (times)` counts the killed turn's memory after recovery (target "
        "1); the time is from the SIGKILL to the recovering worker's report.",
        "- RSS: each user's memories are stored as the package writes them (text, fingerprint, "
        "provenance, `search_text`); growth = a worker's RSS after recalling every user once "
        "less its RSS after one warm-up recall, i.e. mostly the cached BM25 indexes "
        "(`index.cache`, bounded by `CACHE_MAX_ITEMS` and `CACHE_MAX_INDEX_BYTES`).",
        *[f"- {n}" for n in notes],
    ]
    return write_result("workers", "\n".join(out))


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
