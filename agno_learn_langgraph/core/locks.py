"""Write locks: read-modify-write plans of the same data run one at a time.

One model turn may run several tool calls at once, a background extraction may write while the
next turn's tools do, and several worker processes may serve one user. Writers of the same key
(see ``core.layout.data_key``) serialise in this process on one of a fixed set of striped locks,
so memory stays bounded whatever the number of users; the plan run inside the lock
(``run_plan`` / ``arun_plan``) also holds the keys' lock in the store's database, so writers in
other processes wait too (see ``core.store_locks``)::

    with write_lock(data_key("user_profile", scope)):
        run_plan(store, update_profile(...))  # atomic across threads and processes
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Hashable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from agno_learn_langgraph.core.store_locks import alocker_for, lock_ids, locker_for

__all__ = ["aheld_in_store", "async_write_lock", "held_in_store", "write_lock"]

_STRIPES = 64
_THREAD_LOCKS = [threading.Lock() for _ in range(_STRIPES)]
_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOOP_GUARD = threading.Lock()
_PENDING: ContextVar[tuple[Hashable, ...]] = ContextVar("agno_learn_write_keys", default=())
"""Keys of the write locks around the running code, not yet held in the store's database."""


def _stripes(keys: Iterable[Hashable]) -> list[int]:
    return sorted({hash(k) % _STRIPES for k in keys})  # one order for everyone: no deadlock


@contextmanager
def _held(keys: tuple[Hashable, ...], locks: Sequence[Any], stripes: list[int]) -> Iterator[None]:
    """Run the body with ``locks[i]`` of ``stripes`` acquired, then release them (last first).

    Inside, ``keys`` are pending: the plans run there also hold them in the store's database.
    """
    try:
        token = _PENDING.set(_PENDING.get() + keys)
        try:
            yield
        finally:
            _PENDING.reset(token)
    finally:
        for i in reversed(stripes):
            locks[i].release()


@contextmanager
def write_lock(*keys: Hashable) -> Iterator[None]:
    """Serialise sync writers of any of ``keys`` (in the store, for the plan run inside)."""
    stripes = _stripes(keys)
    for i in stripes:
        _THREAD_LOCKS[i].acquire()
    with _held(keys, _THREAD_LOCKS, stripes):
        yield


@asynccontextmanager
async def async_write_lock(*keys: Hashable) -> AsyncIterator[None]:
    """Serialise async writers of any of ``keys`` on the running event loop (and in the store,
    for the plan run inside)."""
    loop = asyncio.get_running_loop()
    with _LOOP_GUARD:
        locks = _LOOP_LOCKS.get(loop)
        if locks is None:
            locks = _LOOP_LOCKS[loop] = [asyncio.Lock() for _ in range(_STRIPES)]
    stripes = _stripes(keys)
    for n, i in enumerate(stripes):
        try:
            await locks[i].acquire()
        except BaseException:
            for j in reversed(stripes[:n]):
                locks[j].release()
            raise
    with _held(keys, locks, stripes):
        yield


@contextmanager
def held_in_store(store: Any) -> Iterator[None]:
    """Hold the pending write locks' keys in ``store``'s database (``run_plan`` does this)."""
    keys = _PENDING.get()
    if not keys:
        yield
        return
    token = _PENDING.set(())  # plans run inside this one do not lock again
    try:
        locker = locker_for(store)
        if locker is None:
            yield
            return
        ids = lock_ids(keys)
        locker.acquire(ids)
        try:
            yield
        finally:
            locker.unlock(ids)
    finally:
        _PENDING.reset(token)


@asynccontextmanager
async def aheld_in_store(store: Any) -> AsyncIterator[None]:
    """Async twin of :func:`held_in_store` (``arun_plan`` does this)."""
    keys = _PENDING.get()
    if not keys:
        yield
        return
    token = _PENDING.set(())
    try:
        locker = await alocker_for(store)
        if locker is None:
            yield
            return
        ids = lock_ids(keys)
        await locker.aacquire(ids)
        try:
            yield
        finally:
            await locker.aunlock(ids)
    finally:
        _PENDING.reset(token)
