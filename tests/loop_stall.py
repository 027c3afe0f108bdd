"""How long an awaitable holds the event loop: the lateness of a 1 ms ticker beside it."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def held_loop(awaitable: Awaitable[T]) -> tuple[T, float, float]:
    """Await ``awaitable`` beside a 1 ms ticker: its result, the seconds it took, and the longest
    a tick came late (what another request on this loop waited at most)."""
    lateness: list[float] = []

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            lateness.append(loop.time() - before - 0.001)

    gc.collect()  # a collection's pause is not the awaitable's
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    result = await awaitable
    took = time.perf_counter() - start
    await asyncio.sleep(0.01)  # the ticker notes how late its last tick came
    task.cancel()
    return result, took, max(lateness)
