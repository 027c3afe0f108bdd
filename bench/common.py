"""What the benchmark modules share: timing, memory, markdown, synthetic data and databases.

Timings are wall-clock (``time.perf_counter``) in milliseconds, reported as p50/p95 of
repeated calls after a warm-up. Memory is reported as ``peak RSS`` = ``ru_maxrss`` of the
process (monotonic: the high-water mark of this benchmark process so far) and ``RSS`` = the
current resident set (psutil). ``bench/run.py`` runs each module in its own process, so the
peak belongs to that module alone.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import platform
import random
import resource
import secrets
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from langchain_core.embeddings import Embeddings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = Path(os.environ.get("AGNO_BENCH_RESULTS_DIR") or BENCH_DIR / "results")
SMOKE = os.environ.get("AGNO_BENCH_SMOKE", "") == "1"
"""Tiny sizes, few repetitions (tests/test_bench_smoke.py): proves the code runs; no figures."""
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- timing and memory -------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Milliseconds of repeated calls plus the memory seen when they ended."""

    samples_ms: tuple[float, ...]
    peak_rss_mib: float
    rss_mib: float

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def n(self) -> int:
        return len(self.samples_ms)


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); ``nan`` for no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mib() -> float:
    """``ru_maxrss`` of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Current resident set of this process in MiB (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure(
    fn: Callable[[int], Any],
    *,
    reps: int,
    warmup: int = 10,
    budget_s: float = 5.0,
    min_samples: int = 20,
) -> Timing:
    """Call ``fn(i)`` ``warmup`` times untimed, then up to ``reps`` times timed.

    Stops early (after at least ``min_samples``) once ``budget_s`` seconds of timed calls have
    passed, so a slow path cannot stretch the run; the sample count is reported.
    """
    for i in range(warmup):
        fn(i)
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(reps):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
        if len(samples) >= min_samples and time.perf_counter() - began > budget_s:
            break
    return Timing(tuple(samples), peak_rss_mib(), rss_mib())


def timing_from(samples_ms: Sequence[float]) -> Timing:
    """A :class:`Timing` from samples measured elsewhere (memory read now)."""
    return Timing(tuple(samples_ms), peak_rss_mib(), rss_mib())


def fmt_ms(value: float) -> str:
    if value != value:  # nan
        return "n/a"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_ratio(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}×"


def mem_cell(t: Timing) -> str:
    return f"{t.peak_rss_mib:.0f} / {t.rss_mib:.0f}"


MEM_HEADER = "peak RSS / RSS (MiB)"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(name: str, markdown: str) -> str:
    """Write ``bench/results/<name>.md``, print it and return it."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = markdown.rstrip() + "\n"
    (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
    print(text, flush=True)
    return text


def machine_line() -> str:
    """CPU count, model and Python, for section headers."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


# -- synthetic memories --------------------------------------------------------------------------

_ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]


def vocabulary(size: int = 4000, seed: int = 7) -> list[str]:
    """``size`` distinct pronounceable pseudo-words (deterministic)."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        n = rng.choice((2, 2, 3))
        words.add("".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n)))
    return sorted(words)


class TextGenerator:
    """Memory-like sentences over a Zipf-distributed vocabulary (deterministic per seed)."""

    def __init__(self, seed: int = 11, vocab_size: int = 4000) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocabulary(vocab_size)
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(self.vocab))]
        total = sum(weights)
        self._cum = [float(c) for c in np.cumsum([w / total for w in weights])]

    def words(self, n: int) -> list[str]:
        picks = self.rng.random
        out = []
        for _ in range(n):
            i = bisect.bisect_left(self._cum, picks())
            out.append(self.vocab[min(i, len(self.vocab) - 1)])
        return out

    def sentence(self) -> str:
        return "User " + " ".join(self.words(self.rng.randint(6, 12))) + "."

    def query_from(self, sentence: str) -> str:
        """A question sharing some words with ``sentence`` plus a distractor word."""
        words = sentence.rstrip(".").split()[1:]
        picked = self.rng.sample(words, k=min(3, len(words)))
        return "What about " + " ".join(picked + self.words(1)) + "?"


class WordVectorEmbeddings(Embeddings):
    """Fast deterministic embeddings: the normalised sum of fixed random vectors per word.

    Used for the latency benchmarks so that loading 100k items does not spend minutes in
    :class:`~agno_learn_langgraph.testing.HashEmbeddings` (0.7 ms per text in pure Python);
    it has the same dimension and the same "shared words => similar" shape. Every query and
    document vector is cached, so timed searches never pay for embedding.
    """

    def __init__(self, dims: int = 128, seed: int = 3) -> None:
        self.dims = dims
        self._rng = np.random.default_rng(seed)
        self._word: dict[str, np.ndarray] = {}
        self._cache: dict[str, list[float]] = {}

    def _vec(self, word: str) -> np.ndarray:
        v = self._word.get(word)
        if v is None:
            v = self._word[word] = self._rng.standard_normal(self.dims).astype(np.float32)
        return v

    def vector(self, text: str) -> np.ndarray:
        words = [w.strip("?.,!").lower() for w in text.split()]
        acc = np.zeros(self.dims, dtype=np.float32)
        for w in words:
            if w:
                acc += self._vec(w)
        norm = float(np.linalg.norm(acc)) or 1.0
        return acc / norm

    def embed_query(self, text: str) -> list[float]:
        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = self.vector(text).tolist()
        return hit

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Not cached: 100k cached lists of Python floats would cost ~400 MB.
        return [self.vector(t).tolist() for t in texts]

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


# -- databases -----------------------------------------------------------------------------------


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def pg_base_url() -> str:
    return os.environ.get("AGNO_LEARN_TEST_PG") or DEFAULT_PG


def postgres_available() -> str | None:
    """``None`` if the Debian PostgreSQL answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(pg_base_url(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return " ".join(str(exc).split())[:200]


@contextlib.contextmanager
def throwaway_pg_database(prefix: str = "agno_bench") -> Iterator[str]:
    """A database created on ``AGNO_LEARN_TEST_PG`` (default local PG) and dropped on exit."""
    import psycopg

    base = pg_base_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_dbname(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def pgvector_server() -> Iterator[str]:
    """An embedded PostgreSQL 16 + pgvector (pgserver) in a temp dir, deleted on exit."""
    pgdata = Path(tempfile.mkdtemp(prefix="agno_bench_pgvector_"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        vec = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    version = str(row[0]).split()[0] if row else "?"
    return f"PostgreSQL {version}" + (f" + pgvector {vec[0]}" if vec else "")
