"""PROPOSE mode: learnings stored as proposals, reviewed through LangGraph's interrupt or an API.

Three doors share one core of store plans:

* the ``propose_learning`` tool (:func:`create_propose_tools`, ``propose.py``) stores a learning
  with ``status="proposed"``; ALWAYS extraction for a PROPOSE store calls :func:`plan_propose`;
* the approval node (:func:`create_approval_node`, ``node.py``) raises ONE ``interrupt()`` listing
  every pending proposal of the thread (a :class:`LearningReviewRequest`, ``interrupt.py``) and
  applies the decisions of ``Command(resume=`` :class:`LearningReviewResponse` ``)``;
  :func:`review_pending` is the same step for middleware;
* the review API (``review.py``: ``list_pending_proposals``, ``approve_proposal``,
  ``reject_proposal``, ``get_proposal``, ``proposal_history``, with async ``a*`` twins) decides
  proposals outside the graph; a thread still waiting on them then continues without asking
  again. It is public at the package's top level (``from agno_learn_langgraph import
  approve_proposal``), the only place that re-exports it.

``content.py`` checks a proposal's content against its store's fields (the kinds table),
``decide.py`` decides one proposal, ``writers.py`` writes an approved one to its store.

Every decision is validated before anything is written: in the graph against the interrupt's
``response_schema`` (a bad resume changes nothing; the node interrupts again with the problem in
the payload's ``error``, so the thread stays interrupted), in the API by
:class:`InvalidReviewError`. The interrupt also speaks LangChain's human-in-the-loop shape
(``action_requests``, and positional ``{"decisions": [{"type": ...}]}`` resumes), and after a
review the node tells the model what was decided (a ``learning_review`` message). A decision is
applied at most once: only proposals still ``proposed`` are decided, and the store writes are
idempotent, so a node re-run on resume (or a retry after a crash) never duplicates a record.

Resuming a waiting thread (``Runtime.context`` is not checkpointed, so pass it again)::

    graph.invoke(
        Command(resume={"decisions": [
            {"proposal_id": "prop_1a2b", "type": "approve"},
            {"proposal_id": "prop_3c4d", "type": "edit", "content": {"learning": "..."}},
            {"proposal_id": "prop_5e6f", "type": "reject", "message": "not true"},
        ], "reviewer": "ann"}),
        config={"configurable": {"thread_id": "t1"}},
        context={"user_id": "alice"},
    )
"""

from __future__ import annotations

from agno_learn_langgraph.approval.content import (
    PROPOSABLE_STORES,
    normalize_content,
)
from agno_learn_langgraph.approval.decide import (
    ALLOWED_DECISIONS,
    DEFAULT_REVIEWER,
    plan_decide,
)
from agno_learn_langgraph.approval.interrupt import (
    ApproveDecision,
    EditDecision,
    LearningReviewRequest,
    LearningReviewResponse,
    ProposalForReview,
    RejectDecision,
    review_request,
    review_response_schema,
)
from agno_learn_langgraph.approval.node import (
    REVIEW_MESSAGE_NAME,
    areview_pending,
    create_approval_node,
    plan_apply_review,
    plan_review_request,
    review_pending,
    review_update,
)
from agno_learn_langgraph.approval.propose import (
    ProposeOutcome,
    create_propose_tools,
    describe_propose_outcome,
    plan_propose,
)

__all__ = [
    "ALLOWED_DECISIONS",
    "DEFAULT_REVIEWER",
    "PROPOSABLE_STORES",
    "REVIEW_MESSAGE_NAME",
    "ApproveDecision",
    "EditDecision",
    "LearningReviewRequest",
    "LearningReviewResponse",
    "ProposalForReview",
    "ProposeOutcome",
    "RejectDecision",
    "areview_pending",
    "create_approval_node",
    "create_propose_tools",
    "describe_propose_outcome",
    "normalize_content",
    "plan_apply_review",
    "plan_decide",
    "plan_propose",
    "plan_review_request",
    "review_pending",
    "review_request",
    "review_response_schema",
    "review_update",
]
