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
from agno_learn_langgraph.machine import LearningMachine
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
    from agno_learn_langgraph.approval import (
        LearningReviewRequest,
        LearningReviewResponse,
        areview_pending,
        create_approval_node,
        create_propose_tools,
        review_pending,
    )
    from agno_learn_langgraph.approval.review import (
        aapprove_proposal,
        aget_proposal,
        alist_pending_proposals,
        approve_proposal,
        aproposal_history,
        areject_proposal,
        get_proposal,
        list_pending_proposals,
        proposal_history,
        reject_proposal,
    )
    from agno_learn_langgraph.backends import Backend, aopen_store, describe_url, open_store
    from agno_learn_langgraph.background import (
        BackgroundRunner,
        adrain_background_work,
        drain_background_work,
    )
    from agno_learn_langgraph.extraction import (
        ExtractionReport,
        aextract_learnings,
        create_extraction_node,
        extract_learnings,
    )
    from agno_learn_langgraph.graph import (
        LearningState,
        create_learning_agent_node,
        create_recall_node,
        route_after_agent,
        with_learning_context,
    )
    from agno_learn_langgraph.middleware import LearningMiddleware
    from agno_learn_langgraph.recall import abuild_learning_context, build_learning_context
    from agno_learn_langgraph.server import learning_lifespan
    from agno_learn_langgraph.tools import LearningToolNode, create_learning_tools

_LAZY: dict[str, str] = {
    "Backend": "backends",
    "aopen_store": "backends",
    "describe_url": "backends",
    "open_store": "backends",
    "LearningState": "graph",
    "create_learning_agent_node": "graph",
    "create_recall_node": "graph",
    "route_after_agent": "graph",
    "with_learning_context": "graph",
    "abuild_learning_context": "recall",
    "build_learning_context": "recall",
    "create_learning_tools": "tools",
    "LearningToolNode": "tools",
    "create_extraction_node": "extraction",
    "extract_learnings": "extraction",
    "aextract_learnings": "extraction",
    "ExtractionReport": "extraction",
    "BackgroundRunner": "background",
    "adrain_background_work": "background",
    "drain_background_work": "background",
    "learning_lifespan": "server",
    "create_approval_node": "approval",
    "create_propose_tools": "approval",
    "list_pending_proposals": "approval.review",
    "alist_pending_proposals": "approval.review",
    "approve_proposal": "approval.review",
    "aapprove_proposal": "approval.review",
    "reject_proposal": "approval.review",
    "areject_proposal": "approval.review",
    "get_proposal": "approval.review",
    "aget_proposal": "approval.review",
    "proposal_history": "approval.review",
    "aproposal_history": "approval.review",
    "review_pending": "approval",
    "areview_pending": "approval",
    "LearningReviewRequest": "approval",
    "LearningReviewResponse": "approval",
    "LearningMiddleware": "middleware",
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
    "BackgroundRunner",
    "Decision",
    "DecisionLogConfig",
    "Entity",
    "EntityMemoryConfig",
    "ExtractionReport",
    "InvalidReviewError",
    "LearnedKnowledge",
    "LearnedKnowledgeConfig",
    "LearningError",
    "LearningInputError",
    "LearningMachine",
    "LearningMiddleware",
    "LearningMode",
    "LearningReviewRequest",
    "LearningReviewResponse",
    "LearningState",
    "LearningToolNode",
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
    "aapprove_proposal",
    "abuild_learning_context",
    "adrain_background_work",
    "aextract_learnings",
    "aget_proposal",
    "alist_pending_proposals",
    "aopen_store",
    "approve_proposal",
    "aproposal_history",
    "areject_proposal",
    "areview_pending",
    "build_learning_context",
    "create_approval_node",
    "create_extraction_node",
    "create_learning_agent_node",
    "create_learning_tools",
    "create_propose_tools",
    "create_recall_node",
    "describe_url",
    "drain_background_work",
    "extract_learnings",
    "get_proposal",
    "learning_lifespan",
    "list_pending_proposals",
    "open_store",
    "proposal_history",
    "reject_proposal",
    "resolve_scope",
    "review_pending",
    "route_after_agent",
    "with_learning_context",
]
