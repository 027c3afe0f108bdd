"""What each node of this package is made of: :class:`GraphNode` (its Runnable), and the store and
scope of the run it serves (public LangGraph APIs only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langgraph.config import get_config
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore

from agno_learn_langgraph.errors import StoreUnavailableError
from agno_learn_langgraph.scope import Scope, resolve_scope

__all__ = ["GraphNode", "current_run", "require_store"]


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


class GraphNode(Runnable[Any, Any]):
    """A graph node with a sync and an async body, and no tracing layer of its own.

    What LangGraph makes of a plain function node: LangGraph already traces the node (and sets
    its config as the current one), so unlike ``RunnableLambda`` this adds no child run, which
    costs a callback-manager set-up per call (about 0.3 ms on the benchmark machine).
    """

    def __init__(
        self,
        func: Callable[[Any, RunnableConfig], Any],
        afunc: Callable[[Any, RunnableConfig], Awaitable[Any]],
        name: str,
    ) -> None:
        self.func, self.afunc, self.name = func, afunc, name

    def __repr__(self) -> str:
        return f"GraphNode({self.name!r})"

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the sync body with the node's config."""
        return self.func(input, ensure_config(config))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the async body with the node's config."""
        return await self.afunc(input, ensure_config(config))
