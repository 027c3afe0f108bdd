"""Agno's Learning Machine for LangGraph.

The public surface is this module's ``__all__``; ``agno_learn_langgraph.testing`` holds the
scripted chat model and offline embeddings for tests.
"""

from agno_learn_langgraph.backends import Backend, aopen_store, describe_url, open_store
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
from agno_learn_langgraph.nodes import LearningState, create_recall_node, with_learning_context
from agno_learn_langgraph.recall import abuild_learning_context, build_learning_context
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
    "create_recall_node",
    "describe_url",
    "open_store",
    "resolve_scope",
    "with_learning_context",
]
