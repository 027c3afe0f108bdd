"""Write locks: read-modify-write plans of the same data run one at a time.

One model turn may run several tool calls at once, and a background extraction may write while
the next turn's tools do. Writers of the same key (see ``core.layout.data_key``) serialise on
one of a fixed set of striped locks, so memory stays bounded whatever the number of users.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Hashable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager

__all__ = ["async_write_lock", "write_lock"]

_STRIPES = 64
_THREAD_LOCKS = [threading.Lock() for _ in range(_STRIPES)]
_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOOP_GUARD = threading.Lock()


def _stripes(keys: Iterable[Hashable]) -> list[int]:
    return sorted({hash(k) % _STRIPES for k in keys})  # one order for everyone: no deadlock


@contextmanager
def write_lock(*keys: Hashable) -> Iterator[None]:
    """Serialise sync writers of any of ``keys`` within this process."""
    stripes = _stripes(keys)
    for i in stripes:
        _THREAD_LOCKS[i].acquire()
    try:
        yield
    finally:
        for i in reversed(stripes):
            _THREAD_LOCKS[i].release()


@asynccontextmanager
async def async_write_lock(*keys: Hashable) -> AsyncIterator[None]:
    """Serialise async writers of any of ``keys`` on the running event loop."""
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
    try:
        yield
    finally:
        for i in reversed(stripes):
            locks[i].release()
