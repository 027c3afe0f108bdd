"""A bounded in-process runner for ALWAYS extraction, keyed by thread.

Sync graphs hand it a function (:meth:`BackgroundRunner.submit`), run on a few daemon worker
threads; async graphs hand it a coroutine factory (:meth:`BackgroundRunner.asubmit`), run as a
task on the caller's event loop. Per key at most one job runs and one waits: a new submit for a
key whose job has not started yet *replaces* it (extraction is incremental, so the newer job
covers the older one's messages). At most ``max_pending`` keys may have unfinished work; beyond
that ``submit`` blocks and ``asubmit`` awaits (backpressure), so memory stays bounded.

Errors inside jobs are logged (logger ``agno_learn_langgraph.background``) and counted in
:attr:`BackgroundRunner.stats`, never raised into the turn that submitted them.

Shutdown: call :meth:`~BackgroundRunner.flush` / :meth:`~BackgroundRunner.aflush` (tests) or
:meth:`~BackgroundRunner.close` / :meth:`~BackgroundRunner.aclose` (shutdown). As a safety net an
``atexit`` hook flushes sync work for at most ``exit_timeout_s`` seconds and logs what it could
not finish. Async jobs live on their event loop: ``asyncio.run`` cancels them when it returns, so
``await machine.aflush()`` before leaving it; a job cancelled that way is logged as dropped.

>>> runner = BackgroundRunner(max_pending=8)
>>> seen = []
>>> runner.submit("thread-1", lambda: seen.append(1))
>>> runner.flush(timeout=5)
>>> seen, runner.stats.completed, runner.stats.pending
([1], 1, 0)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BackgroundRunner", "RunnerClosedError", "RunnerStats"]

logger = logging.getLogger(__name__)

_SYNC = "sync"


class RunnerClosedError(RuntimeError):
    """Work was submitted to a runner after ``close()``/``aclose()``."""


@dataclass(frozen=True)
class RunnerStats:
    """Counters of a :class:`BackgroundRunner` (a snapshot).

    Attributes:
        submitted: jobs handed to ``submit``/``asubmit``.
        coalesced: jobs replaced by a newer job for the same key before they started.
        completed: jobs that returned normally.
        failed: jobs that raised (logged) or were cancelled.
        pending: jobs queued or running now.
    """

    submitted: int
    coalesced: int
    completed: int
    failed: int
    pending: int


@dataclass
class _Job:
    key: Hashable
    fn: Callable[[], Any]


@dataclass
class _Slot:
    """Work for one key on one executor (the worker threads, or one event loop)."""

    queued: _Job | None = None
    running: bool = False
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class _Counters:
    submitted: int = 0
    coalesced: int = 0
    completed: int = 0
    failed: int = 0


@dataclass
class _AsyncWaiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None] = field(repr=False)


class BackgroundRunner:
    """Runs extraction jobs off the critical path, coalesced per key and bounded overall.

    Args:
        max_pending: most keys with unfinished (queued or running) work; more submits wait.
        max_workers: worker threads for sync jobs (started on demand, stopped when idle).
        idle_s: seconds an idle worker thread waits for work before it exits.
        exit_timeout_s: how long the ``atexit`` hook waits for sync work at interpreter exit.
        start_delay_s: how long a key's work waits before it starts when that key was idle, so
            the job's CPU work (reading the store, rendering the prompt) does not compete for the
            GIL or the event loop with the end of the turn that submitted it (its checkpoint
            write and return). A job submitted meanwhile for the same key replaces it.
    """

    def __init__(
        self,
        *,
        max_pending: int = 256,
        max_workers: int = 4,
        idle_s: float = 2.0,
        exit_timeout_s: float = 30.0,
        start_delay_s: float = 0.02,
    ) -> None:
        if max_pending < 1 or max_workers < 1:
            raise ValueError(
                f"max_pending={max_pending!r} and max_workers={max_workers!r} must both be >= 1."
            )
        self.max_pending = max_pending
        self.max_workers = max_workers
        self.idle_s = idle_s
        self.exit_timeout_s = exit_timeout_s
        self.start_delay_s = start_delay_s
        self._cond = threading.Condition()
        self._slots: dict[tuple[Hashable, Any], _Slot] = {}
        self._counters = _Counters()
        self._closed = False
        self._ready: queue.SimpleQueue[tuple[Hashable, Any] | None] = queue.SimpleQueue()
        self._workers: set[threading.Thread] = set()
        self._busy = 0
        self._ready_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._async_waiters: list[_AsyncWaiter] = []
        _RUNNERS.add(self)

    # -- introspection ---------------------------------------------------------------------

    @property
    def stats(self) -> RunnerStats:
        """A snapshot of the counters."""
        with self._cond:
            c = self._counters
            pending = sum(int(s.running) + int(s.queued is not None) for s in self._slots.values())
            return RunnerStats(c.submitted, c.coalesced, c.completed, c.failed, pending)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close`/:meth:`aclose` was called."""
        return self._closed

    def active_threads(self) -> int:
        """Worker threads alive now (they exit after ``idle_s`` without work)."""
        with self._cond:
            return sum(t.is_alive() for t in self._workers)

    def active_tasks(self) -> int:
        """Asyncio tasks of this runner not finished yet."""
        with self._cond:
            return len(self._tasks)

    # -- submitting ------------------------------------------------------------------------

    def submit(self, key: Hashable, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on a worker thread; replaces a not-yet-started job for ``key``.

        Blocks while ``max_pending`` keys already have unfinished work.

        Raises:
            RunnerClosedError: the runner was closed.
        """
        slot_key = (key, _SYNC)
        with self._cond:
            if not self._coalesce(slot_key, _Job(key, fn)):
                while len(self._slots) >= self.max_pending and slot_key not in self._slots:
                    self._cond.wait()
                    self._check_open()
                if self._coalesce(slot_key, _Job(key, fn)):
                    return
                self._enqueue_sync(slot_key, _Job(key, fn))

    async def asubmit(self, key: Hashable, coro_fn: Callable[[], Awaitable[Any]]) -> None:
        """Run ``await coro_fn()`` as a task on the running loop; coalesced like :meth:`submit`.

        Awaits while ``max_pending`` keys already have unfinished work. The task starts with an
        empty ``contextvars`` context, so it never reports into the LangGraph run that submitted
        it (that run is over by the time the job runs).

        Raises:
            RunnerClosedError: the runner was closed.
        """
        loop = asyncio.get_running_loop()
        slot_key = (key, loop)
        job = _Job(key, coro_fn)
        while True:
            with self._cond:
                if self._coalesce(slot_key, job):
                    return
                if len(self._slots) < self.max_pending:
                    slot = self._slots[slot_key] = _Slot(queued=job, loop=loop)
                    self._counters.submitted += 1
                    self._start_task(slot_key, slot)
                    return
                waiter = self._add_async_waiter(loop)
            await waiter

    def _check_open(self) -> None:
        if self._closed:
            raise RunnerClosedError(
                "This BackgroundRunner is closed (machine.close()/aclose() was called), so it "
                "accepts no new extraction work. Create a new LearningMachine for new graphs, "
                "or call close() only at shutdown."
            )

    def _coalesce(self, slot_key: tuple[Hashable, Any], job: _Job) -> bool:
        """Under the lock: put ``job`` behind/instead of existing work for the key, if any."""
        self._check_open()
        slot = self._slots.get(slot_key)
        if slot is None:
            return False
        self._counters.submitted += 1
        if slot.queued is not None:
            self._counters.coalesced += 1
        slot.queued = job
        return True

    def _enqueue_sync(self, slot_key: tuple[Hashable, Any], job: _Job) -> None:
        self._slots[slot_key] = _Slot(queued=job)
        self._counters.submitted += 1
        self._ready.put(slot_key)
        self._ready_count += 1
        alive = len(self._workers)
        if self._busy + self._ready_count > alive and alive < self.max_workers:
            worker = threading.Thread(
                target=self._worker, name=f"agno-learn-extract-{alive + 1}", daemon=True
            )
            self._workers.add(worker)
            worker.start()

    def _start_task(self, slot_key: tuple[Hashable, Any], slot: _Slot) -> None:
        assert slot.loop is not None
        # An empty context: the job must not attach to the (finished) LangGraph run's callbacks.
        task = contextvars.Context().run(slot.loop.create_task, self._adrain(slot_key))
        slot.task = task
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._task_done, slot_key))

    def _task_done(self, slot_key: tuple[Hashable, Any], task: asyncio.Task[None]) -> None:
        with self._cond:
            self._tasks.discard(task)
            slot = self._slots.get(slot_key)
            if slot is None or slot.task is not task:
                return
            # The task ended without retiring its slot: it was cancelled (loop shutdown).
            dropped = int(slot.running) + int(slot.queued is not None)
            self._counters.failed += dropped
            del self._slots[slot_key]
            self._changed()
        logger.warning(
            "%d background learning job(s) for %r were cancelled before they finished (their "
            "event loop is shutting down); await machine.aflush() before leaving the loop so no "
            "extraction is dropped.",
            dropped,
            slot_key[0],
        )

    # -- running ---------------------------------------------------------------------------

    def _worker(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                slot_key = self._ready.get(timeout=self.idle_s)
            except queue.Empty:
                with self._cond:
                    if self._ready_count == 0:
                        self._workers.discard(me)
                        return
                continue
            if slot_key is None:  # close(): stop
                with self._cond:
                    self._workers.discard(me)
                return
            with self._cond:
                self._ready_count -= 1
                self._busy += 1
            try:
                self._drain(slot_key)
            finally:
                with self._cond:
                    self._busy -= 1

    def _next_job(self, slot_key: tuple[Hashable, Any], finished: bool | None) -> _Job | None:
        """Record how the last job ended; take the next one or retire the slot."""
        with self._cond:
            if finished is not None:
                if finished:
                    self._counters.completed += 1
                else:
                    self._counters.failed += 1
            slot = self._slots[slot_key]
            job, slot.queued = slot.queued, None
            slot.running = job is not None
            if job is None:
                del self._slots[slot_key]
            self._changed()
            return job

    def _drain(self, slot_key: tuple[Hashable, Any]) -> None:
        if self.start_delay_s > 0:
            time.sleep(self.start_delay_s)
        finished: bool | None = None
        while (job := self._next_job(slot_key, finished)) is not None:
            try:
                job.fn()
                finished = True
            except Exception:
                logger.exception("Background learning job for %r failed.", job.key)
                finished = False

    async def _adrain(self, slot_key: tuple[Hashable, Any]) -> None:
        if self.start_delay_s > 0:
            await asyncio.sleep(self.start_delay_s)
        finished: bool | None = None
        while (job := self._next_job(slot_key, finished)) is not None:
            try:
                await job.fn()
                finished = True
            except Exception:
                logger.exception("Background learning job for %r failed.", job.key)
                finished = False

    # -- waiting ---------------------------------------------------------------------------

    def _changed(self) -> None:
        """Under the lock: wake every sync and async waiter to re-check its condition."""
        self._cond.notify_all()
        waiters, self._async_waiters = self._async_waiters, []
        for w in waiters:
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                w.loop.call_soon_threadsafe(_resolve, w.future)

    def _add_async_waiter(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        future: asyncio.Future[None] = loop.create_future()
        self._async_waiters.append(_AsyncWaiter(loop, future))
        return future

    def _busy_for(self, key: Hashable | None) -> bool:
        if key is None:
            return bool(self._slots)
        return any(k == key for k, _ in self._slots)

    def _wait(self, key: Hashable | None, timeout: float | None) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if loop is not None and any(
                s.loop is loop for k, s in self._slots.items() if key is None or k[0] == key
            ):
                raise RuntimeError(
                    "Waiting synchronously on the event loop that runs the background jobs would "
                    "deadlock; use `await machine.aflush()` (or await runner.await_for) instead."
                )
            while self._busy_for(key):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    async def _await(self, key: Hashable | None, timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._cond:
                if not self._busy_for(key):
                    return True
                waiter = self._add_async_waiter(loop)
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                with self._cond:
                    return not self._busy_for(key)

    def is_pending(self, key: Hashable) -> bool:
        """Whether ``key`` has a queued or running job."""
        with self._cond:
            return self._busy_for(key)

    def wait_for(self, key: Hashable, timeout: float | None = None) -> bool:
        """Block until ``key`` has no queued or running job; ``False`` on timeout."""
        return self._wait(key, timeout)

    async def await_for(self, key: Hashable, timeout: float | None = None) -> bool:
        """Await until ``key`` has no queued or running job; ``False`` on timeout."""
        return await self._await(key, timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued and running job has finished.

        Raises:
            TimeoutError: work is still pending after ``timeout`` seconds.
            RuntimeError: called on the event loop that runs pending async jobs (use aflush).
        """
        if not self._wait(None, timeout):
            raise TimeoutError(
                f"Background learning did not finish within {timeout} s ({self.stats.pending} "
                "job(s) pending); pass a larger timeout or check the extraction model."
            )

    async def aflush(self, timeout: float | None = None) -> None:
        """Await every queued and running job (sync and async).

        Raises:
            TimeoutError: work is still pending after ``timeout`` seconds.
        """
        if not await self._await(None, timeout):
            raise TimeoutError(
                f"Background learning did not finish within {timeout} s ({self.stats.pending} "
                "job(s) pending); pass a larger timeout or check the extraction model."
            )

    def close(self, timeout: float | None = None) -> None:
        """Refuse new work, finish what is pending, then stop the worker threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.flush(timeout)
        self._stop_workers()

    async def aclose(self, timeout: float | None = None) -> None:
        """Async twin of :meth:`close`."""
        with self._cond:
            self._closed = True
            self._changed()
        await self.aflush(timeout)
        self._stop_workers()

    def _stop_workers(self) -> None:
        with self._cond:
            workers = list(self._workers)
        for _ in workers:
            self._ready.put(None)
        for worker in workers:
            worker.join(timeout=1.0)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_RUNNERS: weakref.WeakSet[BackgroundRunner] = weakref.WeakSet()
DRAIN_TIMEOUT_S = 60.0


def pending_background_jobs() -> int:
    """Queued and running background jobs of every runner of this process."""
    return sum(runner.stats.pending for runner in list(_RUNNERS))


def drain_background_work(timeout: float = DRAIN_TIMEOUT_S) -> None:
    """Wait (bounded) for every runner's queued and running jobs: call before a store closes.

    ``open_store`` calls it on exit, so a background extraction never writes to a closed
    connection. Work still pending after ``timeout`` is logged, not raised.
    """
    for runner in list(_RUNNERS):
        finished = False
        with contextlib.suppress(RuntimeError):  # async jobs of the running loop: see adrain
            finished = runner._wait(None, timeout)
        if not finished and runner.stats.pending:
            logger.warning(
                "Closing a store while %d background learning job(s) are pending; they may "
                "fail. Call machine.flush() before leaving open_store().",
                runner.stats.pending,
            )


async def adrain_background_work(timeout: float = DRAIN_TIMEOUT_S) -> None:
    """Async twin of :func:`drain_background_work` (``aopen_store`` calls it on exit)."""
    for runner in list(_RUNNERS):
        if not await runner._await(None, timeout) and runner.stats.pending:
            logger.warning(
                "Closing a store while %d background learning job(s) are pending; they may "
                "fail. Await machine.aflush() before leaving aopen_store().",
                runner.stats.pending,
            )


@atexit.register
def _flush_at_exit() -> None:
    """``atexit`` hook: give pending sync work ``exit_timeout_s`` to finish, log what remains."""
    for runner in list(_RUNNERS):
        _flush_one_at_exit(runner)


def _flush_one_at_exit(runner: BackgroundRunner) -> None:
    if not runner._slots:
        return
    with runner._cond:
        sync_pending = any(k[1] == _SYNC for k in runner._slots)
    if sync_pending:
        with contextlib.suppress(RuntimeError):
            runner._wait(None, runner.exit_timeout_s)
    left = runner.stats.pending
    if left:
        logger.warning(
            "Interpreter exit: %d background learning job(s) did not finish and are dropped; "
            "call machine.flush()/await machine.aflush() before exiting.",
            left,
        )
