"""How a learning tool is made: an argument model, a plan-making function and one builder.

Each store's tools (``user``, ``entities``, ``knowledge``, ``decisions``) are :class:`ToolSpec`
values; :func:`build_tool` turns one into a ``StructuredTool`` whose sync and async bodies run
the same plan, under the write lock of the data it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, create_model

from agno_learn_langgraph.compat import has_vector_index
from agno_learn_langgraph.core import (
    Plan,
    arun_plan,
    async_write_lock,
    data_key,
    run_plan,
    write_lock,
)
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.graph_node import require_store
from agno_learn_langgraph.index.fusion import RankBy, rank_by
from agno_learn_langgraph.kinds import StoreKind, StoreName, kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.scope import Scope, resolve_scope

__all__ = ["Args", "Call", "ToolSpec", "build_tool", "ids", "kind_of", "plural"]


def kind_of(store_module: ModuleType) -> StoreKind:
    """The kind of the store a ``stores/<name>.py`` module holds (the module is named after it)."""
    return kind(store_module.__name__.rpartition(".")[2])


class Args(BaseModel):
    """Base of the argument models the model sees; unknown arguments are ignored."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class Call:
    """What a tool body may use besides its arguments: the scope of the run, never the model's."""

    machine: LearningMachine
    store: StoreName
    scope: Scope
    indexed: bool

    @property
    def provenance(self) -> Provenance:
        s = self.scope
        return Provenance(
            mode="agentic", thread_id=s.thread_id, agent_id=s.agent_id, user_id=s.user_id
        )

    @property
    def rank(self) -> RankBy:
        """How the search tools rank: as recall does (the machine's ``recall_ranking`` and
        ``recall_language``; lexical without a vector index)."""
        m = self.machine
        return rank_by(self.indexed, m.recall_ranking, m.recall_language)

    @property
    def namespace(self) -> str:
        """The store's configured namespace (entity memory, learned knowledge)."""
        return self.machine.namespace_for(self.store)

    def user_id(self) -> str:
        """The user the store's data belongs to.

        Raises:
            MissingScopeError: the run has no user id.
        """
        return self.scope.require_user(self.store)


@dataclass(frozen=True)
class ToolSpec:
    """One learning tool: its name, store, description for the model, arguments and plan.

    ``read_only`` tools (the searches) stay available when their store is in PROPOSE mode.
    """

    name: str
    store: StoreName
    description: str
    args: type[Args]
    plan: Callable[[Call, Any], Plan[str]]
    read_only: bool = False


@contextmanager
def _model_fixable() -> Iterator[None]:
    """Turn input the model can fix into a ``ToolException`` (an error tool message)."""
    try:
        yield
    except LearningInputError as exc:
        raise ToolException(str(exc)) from exc


def build_tool(machine: LearningMachine, spec: ToolSpec) -> StructuredTool:
    """One ``StructuredTool`` whose sync and async bodies run the same plan."""
    schema = create_model(  # the runtime field is injected by LangGraph, hidden from the model
        f"{spec.args.__name__}WithRuntime", __base__=spec.args, runtime=(ToolRuntime[Any, Any], ...)
    )

    def start(runtime: ToolRuntime[Any, Any], kwargs: dict[str, Any]) -> tuple[Any, Any, Plan[str]]:
        store = require_store(runtime.store, f"The {spec.name} tool")
        scope = resolve_scope(runtime.context, runtime.config)
        call = Call(machine, spec.store, scope, has_vector_index(store))
        key = data_key(spec.store, scope, call.namespace)
        return store, key, spec.plan(call, spec.args.model_validate(kwargs))

    def func(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        store, key, plan = start(runtime, kwargs)
        with _model_fixable(), write_lock(key):
            return run_plan(store, plan)

    async def coroutine(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        store, key, plan = start(runtime, kwargs)
        with _model_fixable():
            async with async_write_lock(key):
                return await arun_plan(store, plan)

    return StructuredTool(
        name=spec.name,
        description=spec.description,
        args_schema=schema,
        func=func,
        coroutine=coroutine,
        handle_tool_error=True,
        metadata={"learning_store": spec.store},
    )


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 entity"``, ``"3 entities"``."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def ids(items: Sequence[Any]) -> str:
    """The ids of ``items``, comma-separated."""
    return ", ".join(i.id for i in items)
