"""Finding the store and the scope of the current LangGraph run (public LangGraph APIs only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.config import get_config
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore

from agno_learn_langgraph.errors import StoreUnavailableError
from agno_learn_langgraph.scope import Scope, resolve_scope

__all__ = ["current_run", "require_store"]


def require_store(store: BaseStore | None, where: str) -> BaseStore:
    """``store``, or :class:`StoreUnavailableError` naming where it was needed and the fix."""
    if store is None:
        raise StoreUnavailableError(
            f"{where} needs a LangGraph store, but the graph has none. Compile with one: "
            "builder.compile(store=InMemoryStore(), checkpointer=...) or "
            "create_agent(..., store=...); agno_learn_langgraph.open_store(url) opens one."
        )
    return store


def current_run(where: str, config: Mapping[str, Any] | None = None) -> tuple[BaseStore, Scope]:
    """The store and scope of the node currently running (context first, then configurable)."""
    runtime = get_runtime()
    config = config if config is not None else get_config()
    return require_store(runtime.store, where), resolve_scope(runtime.context, config)
