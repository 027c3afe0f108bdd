"""The package's exception tree.

Errors a developer must fix are raised. Errors the model can fix (an unknown id, an empty text)
are raised as :class:`LearningInputError` inside tools, which turn them into tool messages.
"""

from __future__ import annotations

__all__ = [
    "InvalidReviewError",
    "LearningError",
    "LearningInputError",
    "MissingScopeError",
    "StoreUnavailableError",
    "UnsupportedModeError",
]


class LearningError(Exception):
    """Base class of every error raised by agno_learn_langgraph."""


class UnsupportedModeError(LearningError, ValueError):
    """A store was configured with a mode it does not support, or a mode that does not exist."""


class MissingScopeError(LearningError, ValueError):
    """A store needs an id (user, thread or agent) that the run did not provide."""


class StoreUnavailableError(LearningError, RuntimeError):
    """No LangGraph store is reachable: the graph was compiled without ``store=``."""


class LearningInputError(LearningError, ValueError):
    """Input the model (or a reviewer) can fix: an unknown id, an empty text, a bad field."""


class InvalidReviewError(LearningInputError):
    """A reviewer's decisions do not fit the pending proposals."""
