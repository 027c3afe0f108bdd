"""Agno's Learning Machine for LangGraph (provisional public surface; completed as modules land)."""

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
from agno_learn_langgraph.records import UserProfile

__all__ = [
    "DecisionLogConfig",
    "EntityMemoryConfig",
    "InvalidReviewError",
    "LearnedKnowledgeConfig",
    "LearningError",
    "LearningInputError",
    "LearningMachine",
    "LearningMode",
    "MissingScopeError",
    "SessionContextConfig",
    "StoreUnavailableError",
    "UnsupportedModeError",
    "UserMemoryConfig",
    "UserProfile",
    "UserProfileConfig",
]
