"""The Learning Machine for ``create_agent``: one ``AgentMiddleware``, no graph surgery.

>>> from langchain.agents import create_agent
>>> from langgraph.store.memory import InMemoryStore
>>> from agno_learn_langgraph import LearningMachine, LearningMiddleware
>>> from agno_learn_langgraph.testing import ScriptedChatModel
>>> model = ScriptedChatModel(["Hi Ann!"])
>>> machine = LearningMachine(learned_knowledge=True)
>>> agent = create_agent(model, middleware=[LearningMiddleware(machine)], store=InMemoryStore())
>>> agent.invoke({"messages": [("user", "hi")]}, context={"user_id": "ann"})["messages"][-1].text
'Hi Ann!'

It is a thin door over the same cores as the StateGraph nodes: recall
(:func:`~agno_learn_langgraph.recall.build_learning_context`), the AGENTIC/PROPOSE tools
(:func:`~agno_learn_langgraph.tools.create_learning_tools`), ALWAYS extraction
(:func:`~agno_learn_langgraph.extraction.schedule_extraction`) and the approval interrupt
(:func:`~agno_learn_langgraph.approval.review_pending`), so a fix in one is a fix in both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from agno_learn_langgraph.approval import areview_pending, review_pending, review_update
from agno_learn_langgraph.config import LearningMode
from agno_learn_langgraph.extraction import (
    aschedule_extraction,
    extraction_stores,
    resolve_models,
    schedule_extraction,
)
from agno_learn_langgraph.graph_node import require_store
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.scope import Scope, resolve_scope
from agno_learn_langgraph.tools import create_learning_tools
from agno_learn_langgraph.turn import arecall_for_turn, recall_for_turn

__all__ = ["LearningMiddleware"]


def _with_section(system: SystemMessage | None, section: str) -> SystemMessage:
    if system is None:
        return SystemMessage(section)
    return SystemMessage(f"{system.text}\n\n{section}")


class LearningMiddleware(AgentMiddleware[AgentState[Any], Any]):
    """Recall, learning tools, background extraction and proposal review for ``create_agent``.

    * every model call: the learning section is appended to the system message;
    * the machine's AGENTIC and PROPOSE tools are registered with the agent;
    * after the final answer: PROPOSE proposals of the thread are reviewed through one
      ``interrupt`` (resume with ``Command(resume={"decisions": [...]})``, passing ``context=``
      again), then ALWAYS extraction is scheduled off the critical path.

    Args:
        machine: the Learning Machine.
        extraction_model: model for ALWAYS extraction, instead of the machine's.
        background: ``False`` extracts before the run ends (tests); ``machine.background``
            when omitted.

    Raises:
        ValueError: ALWAYS/PROPOSE stores but no extraction model.
    """

    def __init__(
        self,
        machine: LearningMachine,
        *,
        extraction_model: BaseChatModel | None = None,
        background: bool | None = None,
    ) -> None:
        super().__init__()
        self.machine = machine
        self.tools = create_learning_tools(machine)
        self.extraction_model = extraction_model
        self.background = background
        self._extracting = bool(extraction_stores(machine))
        self._extract: dict[str, Any] = {"model": extraction_model, "background": background}
        self._proposing = bool(machine.stores_in_mode(LearningMode.PROPOSE))
        if self._extracting:
            resolve_models(machine, extraction_stores(machine), extraction_model)

    @property
    def name(self) -> str:
        """The middleware's node-name prefix in the agent graph."""
        return "LearningMiddleware"

    def _run(self, runtime: Runtime[Any], where: str) -> tuple[BaseStore, Scope]:
        store = require_store(runtime.store, f"LearningMiddleware ({where})")
        return store, resolve_scope(runtime.context, get_config())

    # -- recall on every model call ----------------------------------------------------------

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Append the learning section to the system message, then call the model."""
        store, scope = self._run(request.runtime, "recall")
        section = recall_for_turn(self.machine, store, scope, request.messages)
        if section:
            request = request.override(
                system_message=_with_section(request.system_message, section)
            )
        return handler(request)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        """Async twin of :meth:`wrap_model_call`."""
        store, scope = self._run(request.runtime, "recall")
        section = await arecall_for_turn(self.machine, store, scope, request.messages)
        if section:
            request = request.override(
                system_message=_with_section(request.system_message, section)
            )
        return await handler(request)

    # -- after the final answer: review, then extraction ---------------------------------------

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Review pending proposals (interrupt), then schedule ALWAYS extraction."""
        store, scope = self._run(runtime, "after_agent")
        decided = review_pending(self.machine, store, scope) if self._proposing else []
        if self._extracting:
            schedule_extraction(self.machine, store, scope, state["messages"], **self._extract)
        return review_update(decided)

    async def aafter_agent(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async twin of :meth:`after_agent`."""
        store, scope = self._run(runtime, "after_agent")
        decided = await areview_pending(self.machine, store, scope) if self._proposing else []
        if self._extracting:
            await aschedule_extraction(
                self.machine, store, scope, state["messages"], **self._extract
            )
        return review_update(decided)
