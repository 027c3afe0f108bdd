"""The benchmarks still run: each module's smoke mode (tiny sizes, a few repetitions).

No timing is asserted; this only proves the bench code works against the current package.
Results go to a temporary directory, never to ``bench/results``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
MODULES = {
    "bench_recall.py": "recall",
    "bench_overhead.py": "overhead",
    "bench_concurrency.py": "concurrency",
    "bench_quality.py": "quality",
    "bench_tokens.py": "tokens",
    "bench_workers.py": "workers",
}


@pytest.mark.postgres
@pytest.mark.pgvector
@pytest.mark.parametrize("module", sorted(MODULES))
def test_benchmark_module_runs_in_smoke_mode(module: str, tmp_path: Path) -> None:
    env = {**os.environ, "AGNO_BENCH_SMOKE": "1", "AGNO_BENCH_RESULTS_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(BENCH / module), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = (tmp_path / f"{MODULES[module]}.md").read_text("utf-8")
    assert result.startswith("## ")
    assert "|---|" in result
    for problem in ("failed:", "failed mid-run", "could not start", "not reachable"):
        assert problem not in result, result


def test_bench_run_lists_every_module() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import run
    finally:
        sys.path.remove(str(BENCH))
    listed = {name for name, _ in run.MODULES}
    assert set(MODULES) <= listed
    assert "bench_always.py" in listed
