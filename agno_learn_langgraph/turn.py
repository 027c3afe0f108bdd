"""A turn's learning steps, the same whichever door runs them (node factories or middleware).

The doors (``graph.py``, ``middleware.py``) only find the store and scope of the run and call
these, so a behaviour such as ``wait_for_extraction_s`` holds for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.store.base import BaseStore

from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.recall import (
    abuild_learning_context,
    build_learning_context,
    recall_query,
)
from agno_learn_langgraph.scope import Scope

__all__ = ["arecall_for_turn", "recall_for_turn"]


def recall_for_turn(
    machine: LearningMachine, store: BaseStore, scope: Scope, messages: Sequence[Any]
) -> str:
    """The learning section for the model call that answers ``messages``.

    Waits first (at most ``machine.wait_for_extraction_s``) for this process's unfinished
    extraction of the thread, so the turn sees what the previous one taught.
    """
    machine.wait_for_extraction(scope.thread_id)
    return build_learning_context(machine, store, scope, recall_query(messages))


async def arecall_for_turn(
    machine: LearningMachine, store: BaseStore, scope: Scope, messages: Sequence[Any]
) -> str:
    """Async twin of :func:`recall_for_turn`."""
    await machine.await_extraction(scope.thread_id)
    return await abuild_learning_context(machine, store, scope, recall_query(messages))
