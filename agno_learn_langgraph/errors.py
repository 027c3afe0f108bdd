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
    """Input the model (or a reviewer) can fix: an unknown id, an empty text, a bad field.

    The message goes back to the model, so one that quotes a huge argument is cut in the middle
    (keeping its start and the fix at its end):

    >>> len(str(LearningInputError(f"No entity named {'x' * 10**6!r}; create it.")))
    2003
    """

    MAX_MESSAGE_CHARS = 2000

    def __init__(self, message: str = "") -> None:
        half = self.MAX_MESSAGE_CHARS // 2
        if len(message) > self.MAX_MESSAGE_CHARS:
            message = f"{message[:half]} … {message[-half:]}"
        super().__init__(message)


class InvalidReviewError(LearningInputError):
    """A reviewer's decisions do not fit the pending proposals."""
