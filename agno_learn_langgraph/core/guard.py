"""Store guards: one lock per store that is not thread-safe, taken by every batch of this package.

LangGraph's ``InMemoryStore`` is not thread-safe: a background extraction writing from a worker
thread while the next turn's recall searches the same namespace raises "dictionary changed size
during iteration". A store registered here with :func:`guard_store` gets one re-entrant lock,
and :func:`~agno_learn_langgraph.core.run_plan` / ``arun_plan`` hold it around each of
their batches (the store's own ops and the vector reads beside them). The store object itself is
never changed. ``open_store(":memory:")`` builds a store that registers its own lock.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from langgraph.store.base import BaseStore

__all__ = ["aguarded", "guard_store", "guarded", "is_guarded"]

_LOCKS: weakref.WeakKeyDictionary[BaseStore, threading.RLock] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
_POLL_S = 0.001


def guard_store(store: BaseStore, lock: threading.RLock | None = None) -> threading.RLock:
    """Serialise this package's batches on ``store`` across threads; return its lock.

    Idempotent: a store already guarded keeps its lock (``lock`` is then ignored).
    """
    with _REGISTRY_LOCK:
        found = _LOCKS.get(store)
        if found is None:
            found = _LOCKS[store] = lock or threading.RLock()
        return found


def is_guarded(store: BaseStore) -> bool:
    """Whether ``store``'s batches take a guard lock."""
    return _lock_of(store) is not None


def _lock_of(store: BaseStore) -> threading.RLock | None:
    if not _LOCKS:
        return None
    try:
        return _LOCKS.get(store)
    except TypeError:  # not weak-referenceable, so never registered
        return None


@contextmanager
def guarded(store: BaseStore) -> Iterator[None]:
    """Hold ``store``'s guard lock, if it has one."""
    lock = _lock_of(store)
    if lock is None:
        yield
        return
    with lock:
        yield


@asynccontextmanager
async def aguarded(store: BaseStore) -> AsyncIterator[None]:
    """Hold ``store``'s guard lock without blocking the event loop while another thread has it.

    The lock is re-entrant, so coroutines of one loop never wait for each other (their store
    calls do not interleave inside a batch's synchronous part).
    """
    lock = _lock_of(store)
    if lock is None:
        yield
        return
    while not lock.acquire(blocking=False):
        await asyncio.sleep(_POLL_S)
    try:
        yield
    finally:
        lock.release()
