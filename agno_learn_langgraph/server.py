"""Serving learning graphs with the LangGraph server (``langgraph dev``, ``langgraph up``).

The server runs graphs on its event loop and ALWAYS extraction as background tasks of that
loop. On shutdown or hot reload the server stops the loop; :func:`learning_lifespan` awaits the
pending extractions first, so a turn's learning is not lost to a redeploy. While the server
runs, it also sweeps the store's extraction outbox (at startup, then every
``recovery_interval_s``), so what a killed worker left is completed without a new turn. Mount it
through the ``http.app`` entry of ``langgraph.json``::

    # webapp.py
    from starlette.applications import Starlette
    from agno_learn_langgraph import learning_lifespan

    app = Starlette(lifespan=learning_lifespan)

    # langgraph.json
    {"graphs": {...}, "http": {"app": "./webapp.py:app"}}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.background import (
    DRAIN_TIMEOUT_S,
    adrain_background_work,
    pending_background_jobs,
)
from agno_learn_langgraph.machine import LearningMachine, live_machines

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["learning_lifespan"]

logger = logging.getLogger(__name__)


STARTUP_SWEEP_DELAY_S = 1.0
"""Seconds after startup before the first outbox sweep (the server loads the graphs first)."""


async def server_store() -> BaseStore | None:
    """The LangGraph server's store (``langgraph_api``), or ``None`` outside the server."""
    try:
        from langgraph_api.store import get_store
    except ImportError:
        return None
    try:
        return await get_store()
    except Exception:
        logger.debug("The LangGraph server's store is not available.", exc_info=True)
        return None


async def _sweep_forever(
    store: BaseStore | None, machines: Sequence[LearningMachine] | None
) -> None:
    """Recover the outbox's abandoned extractions at startup, then every ``recovery_interval_s``."""
    await asyncio.sleep(STARTUP_SWEEP_DELAY_S)
    store = store if store is not None else await server_store()
    if store is None:
        logger.info("No store found: pending extractions of dead workers are not swept.")
        return
    while True:
        interval = 60.0
        for machine in live_machines() if machines is None else machines:
            interval = min(interval, machine.recovery_interval_s)
            try:
                await machine.arecover_pending_extractions(store)
            except Exception:
                logger.warning("Sweeping the extraction outbox failed.", exc_info=True)
        await asyncio.sleep(max(interval, 0.1))


@asynccontextmanager
async def learning_lifespan(
    app: Any = None,
    *,
    timeout: float = DRAIN_TIMEOUT_S,
    store: BaseStore | None = None,
    machines: Sequence[LearningMachine] | None = None,
) -> AsyncIterator[None]:
    """A Starlette/FastAPI lifespan: sweeps the extraction outbox while the server runs, and
    drains background extraction when it stops.

    Args:
        app: the web app (unused; Starlette passes it).
        timeout: longest wait per runner; pass a smaller one with ``functools.partial`` when the
            server's own shutdown deadline is shorter.
        store: the store to sweep; the LangGraph server's own store when omitted.
        machines: the machines whose pending extractions to recover; every machine of the
            process when omitted.
    """
    sweeper = asyncio.create_task(_sweep_forever(store, machines))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sweeper
    pending = pending_background_jobs()
    if not pending:
        return
    logger.warning("Server shutdown: waiting for %d pending learning extraction(s).", pending)
    start = time.monotonic()
    await adrain_background_work(timeout)
    left = pending_background_jobs()
    took = time.monotonic() - start
    if left:
        logger.error(
            "Server shutdown: %d learning extraction(s) still pending after %.1f s; their "
            "outbox records stay, and the next worker's sweep completes them.",
            left,
            took,
        )
    else:
        logger.warning("Server shutdown: pending learning extraction finished in %.1f s.", took)
