"""Serving learning graphs with the LangGraph server (``langgraph dev``, ``langgraph up``).

The server runs graphs on its event loop and ALWAYS extraction as background tasks of that
loop. On shutdown or hot reload the server stops the loop; :func:`learning_lifespan` awaits the
pending extractions first, so a turn's learning is not lost to a redeploy. Mount it through the
``http.app`` entry of ``langgraph.json``::

    # webapp.py
    from starlette.applications import Starlette
    from agno_learn_langgraph import learning_lifespan

    app = Starlette(lifespan=learning_lifespan)

    # langgraph.json
    {"graphs": {...}, "http": {"app": "./webapp.py:app"}}
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agno_learn_langgraph.background import (
    DRAIN_TIMEOUT_S,
    adrain_background_work,
    pending_background_jobs,
)

__all__ = ["learning_lifespan"]

logger = logging.getLogger(__name__)


@asynccontextmanager
async def learning_lifespan(
    app: Any = None, *, timeout: float = DRAIN_TIMEOUT_S
) -> AsyncIterator[None]:
    """A Starlette/FastAPI lifespan that drains background extraction when the server stops.

    Args:
        app: the web app (unused; Starlette passes it).
        timeout: longest wait per runner; pass a smaller one with ``functools.partial`` when the
            server's own shutdown deadline is shorter.
    """
    yield
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
            "Server shutdown: %d learning extraction(s) still pending after %.1f s are lost.",
            left,
            took,
        )
    else:
        logger.warning("Server shutdown: pending learning extraction finished in %.1f s.", took)
