"""Worker processes for the multi-process tests: start them, let them go at once, collect them.

A worker script prints ``ready`` once it opened the store, then waits for ``go`` on stdin; the
multi-round tests send one ``go`` per round and read one line of results per worker and round.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["go", "start_workers", "stop_workers"]


def start_workers(script: Path, argvs: Sequence[Sequence[str]]) -> list[subprocess.Popen[str]]:
    """One ``python script *argv`` per argv; returns once every one printed ``ready``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for argv in argvs
    ]
    try:
        for p in procs:  # every worker has opened the store and built its graph
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", (line, p.stderr.read() if p.stderr else "")
    except BaseException:
        for p in procs:
            p.kill()
        raise
    return procs


def go(procs: Sequence[subprocess.Popen[str]], *, timeout: float = 120) -> list[str]:
    """Send ``go`` to every worker (they start together), then read one line from each.

    Raises:
        AssertionError: a worker exited, or gave no line within ``timeout`` seconds (stuck).
    """
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    deadline = time.monotonic() + timeout
    lines = []
    for w, p in enumerate(procs):
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"worker {w} gave no result within {timeout:.0f} s"
        line = p.stdout.readline()
        assert line, f"worker {w} exited: {p.stderr.read() if p.stderr else ''}"
        lines.append(line)
    return lines


def stop_workers(
    procs: Sequence[subprocess.Popen[str]], *, timeout: float = 300, send_go: bool = False
) -> list[tuple[str, str]]:
    """Close the workers' stdin (after one more ``go``), wait for them; their (stdout, stderr).

    Raises:
        AssertionError: a worker exited with an error.
    """
    try:
        if send_go:
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
        outputs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    return outputs
