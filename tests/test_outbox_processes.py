"""A worker killed after the reply does not lose the turn's extraction (real processes, Postgres).

Process A runs a turn whose extraction takes minutes and is killed with SIGKILL after the reply;
process B then starts, no turn is run on that thread, and B's recovery completes the extraction:
the learning is stored exactly once, the outbox is empty, within the 60 s target.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.stores import user_memory
from agno_learn_langgraph.stores.cursors import get_cursor
from agno_learn_langgraph.stores.outbox import get_record
from tests.outbox_worker import LEARNED

ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 3.0
TARGET_S = 60.0


def worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 120.0) -> str:
    """The first stdout line of ``proc`` starting with ``prefix`` (fails with its stderr)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    _, err = proc.communicate(timeout=10)
    raise AssertionError(f"worker printed no {prefix!r} line; stderr:\n{err[-3000:]}")


def kill_after_reply(url: str, thread: str, grace_s: float) -> tuple[str, float]:
    """Run a turn in a worker and SIGKILL it once it replied, while its extraction's model call
    runs: the reply line and when the worker died (``time.monotonic()``)."""
    a = worker("turn", url, thread, str(grace_s))
    try:
        replied = read_line(a, "REPLIED")
        time.sleep(0.5)  # the job is in its (ten-minute) model call
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
        return replied, time.monotonic()
    finally:
        if a.poll() is None:
            a.kill()
        a.communicate(timeout=10)


def test_a_killed_workers_extraction_is_completed_by_the_next_worker(pg_url: str) -> None:
    thread = f"killed-{os.getpid()}-{time.time_ns()}"
    user = f"{thread}@example.com"
    replied, killed_at = kill_after_reply(pg_url, thread, GRACE_S)
    assert replied == "REPLIED Noted: green tea."

    with open_store(pg_url) as backend:
        store = backend.store
        pending = run_plan(store, get_record(thread))
        assert pending is not None, "the turn's extraction was not recorded"
        assert [m.content for m in pending.thread_messages()] == [
            "I like green tea",
            "Noted: green tea.",
        ]
        assert run_plan(store, user_memory.list_memories(user)) == []  # A learned nothing

        b = worker("recover", pg_url, thread, str(GRACE_S))
        try:
            report: dict[str, Any] = json.loads(read_line(b, "{", timeout=TARGET_S + 60))
            b.wait(timeout=30)
        finally:
            if b.poll() is None:
                b.kill()
            b.communicate(timeout=10)
        took = time.monotonic() - killed_at

        assert report["recovered"] == 1 and report["model_calls"] == 1, report
        assert took < TARGET_S, f"recovery took {took:.1f} s"
        texts = [m.text for m in run_plan(store, user_memory.list_memories(user))]
        assert texts.count(LEARNED) == 1 and len(texts) == 1, texts
        assert run_plan(store, get_record(thread)) is None
        assert run_plan(store, get_cursor(thread)) == pending.thread_messages()[-1].id
