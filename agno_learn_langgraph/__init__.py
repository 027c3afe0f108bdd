"""Agno's Learning Machine for LangGraph.

The public surface is this module's ``__all__``; ``agno_learn_langgraph.testing`` holds the
scripted chat model and offline embeddings for tests. Modules that import LangGraph's graph
machinery load on first use, so ``import agno_learn_langgraph`` (and the CLI) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.config import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    SessionContextConfig,
    UserMemoryConfig,
    UserProfileConfig,
)
from agno_learn_langgraph.errors import (
    InvalidReviewError,
    LearningError,
    LearningInputError,
    MissingScopeError,
    StoreUnavailableError,
    UnsupportedModeError,
)
from agno_learn_langgraph.records import (
    Decision,
    Entity,
    LearnedKnowledge,
    Memory,
    Proposal,
    Provenance,
    SessionContext,
    UserProfile,
)
from agno_learn_langgraph.scope import Scope, resolve_scope

if TYPE_CHECKING:
    from agno_learn_langgraph.backends import Backend, aopen_store, describe_url, open_store
    from agno_learn_langgraph.nodes import (
        LearningState,
        create_recall_node,
        with_learning_context,
    )
    from agno_learn_langgraph.recall import abuild_learning_context, build_learning_context
    from agno_learn_langgraph.tools import create_learning_tools

_LAZY: dict[str, str] = {
    "Backend": "backends",
    "aopen_store": "backends",
    "describe_url": "backends",
    "open_store": "backends",
    "LearningState": "nodes",
    "create_recall_node": "nodes",
    "with_learning_context": "nodes",
    "abuild_learning_context": "recall",
    "build_learning_context": "recall",
    "create_learning_tools": "tools",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agno_learn_langgraph' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agno_learn_langgraph.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Backend",
    "Decision",
    "DecisionLogConfig",
    "Entity",
    "EntityMemoryConfig",
    "InvalidReviewError",
    "LearnedKnowledge",
    "LearnedKnowledgeConfig",
    "LearningError",
    "LearningInputError",
    "LearningMachine",
    "LearningMode",
    "LearningState",
    "Memory",
    "MissingScopeError",
    "Proposal",
    "Provenance",
    "Scope",
    "SessionContext",
    "SessionContextConfig",
    "StoreUnavailableError",
    "UnsupportedModeError",
    "UserMemoryConfig",
    "UserProfile",
    "UserProfileConfig",
    "abuild_learning_context",
    "aopen_store",
    "build_learning_context",
    "create_learning_tools",
    "create_recall_node",
    "describe_url",
    "open_store",
    "resolve_scope",
    "with_learning_context",
]
