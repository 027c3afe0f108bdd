"""The bounded background runner: coalescing, backpressure, errors, flush/close, no leaks."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

import pytest

from agno_learn_langgraph.background import BackgroundRunner, RunnerClosedError


def test_submit_runs_and_flush_waits() -> None:
    runner = BackgroundRunner()
    done = threading.Event()
    runner.submit("t1", lambda: (time.sleep(0.05), done.set()))
    assert not done.is_set()  # submit returned before the job finished
    runner.flush(timeout=5)
    assert done.is_set()
    assert runner.stats.completed == 1 and runner.stats.pending == 0


def test_idle_key_starts_after_the_start_delay_and_a_burst_meanwhile_runs_once() -> None:
    # The job must not compete with the end of the turn that submitted it; a newer job for
    # the same key submitted during the delay replaces it (it reads every new message anyway).
    runner = BackgroundRunner(start_delay_s=0.2)
    ran: list[tuple[int, float]] = []
    submitted = time.monotonic()
    for i in range(3):
        runner.submit("t", lambda i=i: ran.append((i, time.monotonic())))
    runner.flush(timeout=5)
    assert [i for i, _ in ran] == [2]
    assert ran[0][1] - submitted >= 0.2
    assert runner.stats.coalesced == 2


async def test_async_idle_key_waits_the_start_delay() -> None:
    runner = BackgroundRunner(start_delay_s=0.2)
    ran: list[float] = []

    async def job() -> None:
        ran.append(time.monotonic())

    submitted = time.monotonic()
    await runner.asubmit("t", job)
    await runner.asubmit("t", job)
    await runner.aflush(timeout=5)
    assert len(ran) == 1 and ran[0] - submitted >= 0.2


def test_coalesces_queued_job_per_key() -> None:
    runner = BackgroundRunner()
    gate, started = threading.Event(), threading.Event()
    ran: list[int] = []
    runner.submit("t", lambda: (started.set(), gate.wait(5), ran.append(0)))
    assert started.wait(5)
    for i in range(1, 6):  # queued behind the running job: each replaces the previous
        runner.submit("t", lambda i=i: ran.append(i))
    assert runner.stats.pending == 2  # one running + one queued, whatever the burst
    gate.set()
    runner.flush(timeout=5)
    assert ran == [0, 5]
    stats = runner.stats
    assert (stats.submitted, stats.coalesced, stats.completed) == (6, 4, 2)


def test_different_keys_run_in_parallel() -> None:
    runner = BackgroundRunner(max_workers=4)
    barrier = threading.Barrier(3, timeout=5)
    for key in "abc":
        runner.submit(key, barrier.wait)  # deadlocks unless three keys run at once
    runner.flush(timeout=10)
    assert runner.stats.failed == 0


def test_errors_are_logged_and_counted_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    runner = BackgroundRunner()

    def boom() -> None:
        raise ValueError("model exploded")

    with caplog.at_level(logging.ERROR, logger="agno_learn_langgraph.background"):
        runner.submit("t", boom)
        runner.flush(timeout=5)
    assert runner.stats.failed == 1
    assert "model exploded" in caplog.text


def test_backpressure_blocks_submit_beyond_max_pending() -> None:
    runner = BackgroundRunner(max_pending=2, max_workers=2)
    gate = threading.Event()
    runner.submit("a", lambda: gate.wait(5))
    runner.submit("b", lambda: gate.wait(5))
    entered = threading.Event()

    def third() -> None:
        runner.submit("c", lambda: None)
        entered.set()

    threading.Thread(target=third, daemon=True).start()
    assert not entered.wait(0.2)  # blocked: two keys already have unfinished work
    runner.submit("a", lambda: None)  # a key that is already pending is coalesced, never blocks
    gate.set()
    assert entered.wait(5)
    runner.flush(timeout=5)


def test_wait_for_one_key_and_timeouts() -> None:
    runner = BackgroundRunner()
    gate = threading.Event()
    runner.submit("slow", lambda: gate.wait(5))
    runner.submit("fast", lambda: None)
    assert runner.wait_for("fast", timeout=5) is True
    assert runner.wait_for("slow", timeout=0.05) is False
    with pytest.raises(TimeoutError, match="did not finish"):
        runner.flush(timeout=0.05)
    gate.set()
    runner.flush(timeout=5)


def test_close_finishes_pending_then_refuses() -> None:
    runner = BackgroundRunner()
    ran: list[int] = []
    runner.submit("t", lambda: (time.sleep(0.05), ran.append(1)))
    runner.close(timeout=5)
    assert ran == [1]
    with pytest.raises(RunnerClosedError, match="closed"):
        runner.submit("t", lambda: None)
    assert runner.active_threads() == 0


def test_burst_of_1000_over_50_keys_leaves_nothing_behind() -> None:
    runner = BackgroundRunner(max_pending=64, max_workers=4, idle_s=0.2)
    count = [0]
    lock = threading.Lock()

    def job() -> None:
        with lock:
            count[0] += 1

    for i in range(1000):
        runner.submit(f"thread-{i % 50}", job)
        assert runner.stats.pending <= 2 * 50  # at most one running + one queued per key
    runner.flush(timeout=30)
    stats = runner.stats
    assert stats.pending == 0 and not runner._slots
    assert stats.submitted == 1000 and stats.completed == count[0]
    assert stats.completed + stats.coalesced == 1000
    assert runner.active_threads() <= 4
    deadline = time.monotonic() + 5
    while runner.active_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.active_threads() == 0  # idle workers exit: no leaked threads


async def test_asubmit_runs_as_task_and_aflush() -> None:
    runner = BackgroundRunner()
    ran: list[str] = []

    async def job() -> None:
        await asyncio.sleep(0.05)
        ran.append("x")

    await runner.asubmit("t", job)
    assert ran == [] and runner.active_tasks() == 1
    assert await runner.await_for("t", timeout=5) is True
    await runner.aflush(timeout=5)
    assert ran == ["x"]


async def test_async_burst_coalesces_and_leaves_no_tasks() -> None:
    runner = BackgroundRunner(max_pending=16)
    done = [0]

    async def job() -> None:
        await asyncio.sleep(0.001)
        done[0] += 1

    for i in range(1000):  # 50 keys over max_pending=16: asubmit awaits (backpressure)
        await runner.asubmit(f"thread-{i % 50}", job)
        assert len(runner._slots) <= 16
    await runner.aflush(timeout=30)
    await asyncio.sleep(0)
    gc.collect()
    stats = runner.stats
    assert stats.pending == 0 and runner.active_tasks() == 0
    assert stats.completed == done[0] and stats.completed + stats.coalesced == 1000


async def test_async_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    runner = BackgroundRunner()

    async def boom() -> None:
        raise RuntimeError("async boom")

    with caplog.at_level(logging.ERROR, logger="agno_learn_langgraph.background"):
        await runner.asubmit("t", boom)
        await runner.aflush(timeout=5)
    assert runner.stats.failed == 1 and "async boom" in caplog.text


async def test_sync_flush_on_the_loop_running_jobs_refuses() -> None:
    runner = BackgroundRunner()
    gate = asyncio.Event()
    await runner.asubmit("t", gate.wait)
    with pytest.raises(RuntimeError, match="aflush"):
        runner.flush(timeout=1)
    gate.set()
    await runner.aflush(timeout=5)


def test_cancelled_async_job_is_logged_not_hung(caplog: pytest.LogCaptureFixture) -> None:
    runner = BackgroundRunner()

    async def main() -> None:
        await runner.asubmit("t", lambda: asyncio.sleep(10))

    with caplog.at_level(logging.WARNING, logger="agno_learn_langgraph.background"):
        asyncio.run(main())  # asyncio.run cancels the pending task on exit
    assert "cancelled before they finished" in caplog.text
    assert runner.stats.pending == 0
    runner.flush(timeout=1)  # nothing left to wait for


async def test_aclose_refuses_new_work() -> None:
    runner = BackgroundRunner()
    await runner.asubmit("t", lambda: asyncio.sleep(0.01))
    await runner.aclose(timeout=5)
    with pytest.raises(RunnerClosedError):
        await runner.asubmit("t", lambda: asyncio.sleep(0))
