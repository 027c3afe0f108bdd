"""The review interrupt: its payload (:class:`LearningReviewRequest`) and the resume it accepts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from agno_learn_langgraph.approval.decide import ALLOWED_DECISIONS, DecisionType, edited_content
from agno_learn_langgraph.errors import InvalidReviewError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal

__all__ = [
    "REVIEW_INSTRUCTIONS",
    "ApproveDecision",
    "EditDecision",
    "LearningReviewRequest",
    "LearningReviewResponse",
    "ProposalForReview",
    "RejectDecision",
    "review_request",
    "review_response_schema",
]


class ProposalForReview(TypedDict):
    """One pending proposal as the reviewer sees it in the interrupt."""

    id: str
    store: str
    content: dict[str, Any]
    rationale: str
    proposed_by: str
    created_at: str
    """ISO 8601, UTC."""


class LearningReviewRequest(TypedDict):
    """The value of the approval node's ``interrupt()``: every pending proposal of the thread."""

    type: Literal["learning_review"]
    proposals: list[ProposalForReview]
    allowed_decisions: list[DecisionType]
    instructions: str


class ApproveDecision(TypedDict):
    """Approve the proposal as it is."""

    proposal_id: str
    type: Literal["approve"]


class EditDecision(TypedDict):
    """Approve with changed content: only the changed fields, e.g. ``{"learning": "..."}``."""

    proposal_id: str
    type: Literal["edit"]
    content: dict[str, Any]


class _RejectDecisionBase(TypedDict):
    proposal_id: str
    type: Literal["reject"]


class RejectDecision(_RejectDecisionBase, total=False):
    """Reject the proposal (kept for audit), optionally saying why."""

    message: str


class LearningReviewResponse(TypedDict, total=False):
    """The resume value: one decision per pending proposal; ``reviewer`` is recorded with each."""

    decisions: list[ApproveDecision | EditDecision | RejectDecision]
    reviewer: str


REVIEW_INSTRUCTIONS = (
    "Decide every proposal: approve it, edit it (approve with changed content: pass only the "
    "changed fields) or reject it (optionally with a message). Resume with "
    "Command(resume={'decisions': [{'proposal_id': '<id>', 'type': 'approve'}, "
    "{'proposal_id': '<id>', 'type': 'edit', 'content': {...}}, "
    "{'proposal_id': '<id>', 'type': 'reject', 'message': 'why'}], 'reviewer': '<your name>'}). "
    "Approved learnings are remembered; rejected ones are kept for audit only."
)


def review_request(pending: Sequence[Proposal]) -> LearningReviewRequest:
    """The interrupt payload for ``pending`` proposals (pure; same input, same payload)."""
    return {
        "type": "learning_review",
        "proposals": [
            {
                "id": p.id,
                "store": p.store,
                "content": dict(p.content),
                "rationale": p.rationale,
                "proposed_by": p.proposed_by,
                "created_at": p.created_at.isoformat(),
            }
            for p in pending
        ],
        "allowed_decisions": list(ALLOWED_DECISIONS),
        "instructions": REVIEW_INSTRUCTIONS,
    }


_FORBID = ConfigDict(extra="forbid")


def review_response_schema(
    proposals: Sequence[Proposal],
    machine: LearningMachine | None = None,
    *,
    asked: Collection[str] | None = None,
) -> type[BaseModel]:
    """The pydantic model a resume must fit, built from the thread's proposals.

    Every id of ``proposals`` is accepted (decisions about proposals decided meanwhile, e.g.
    through the review API, are skipped); every one still ``proposed`` needs exactly one
    decision (only those in ``asked``, when given), and an edit must leave valid, non-empty
    content. Being a pure function of the stored proposals, it is rebuilt identically when
    LangGraph re-runs the node on resume.
    """
    pending = {
        p.id: p for p in proposals if p.status == "proposed" and (asked is None or p.id in asked)
    }
    proposal_id: Any = Literal.__getitem__(tuple(p.id for p in proposals) or ("",))

    def decision(name: str, kind: DecisionType, **extra: Any) -> type[BaseModel]:
        fields: dict[str, Any] = {"proposal_id": (proposal_id, ...), "type": (Literal[kind], ...)}
        return create_model(name, __config__=_FORBID, **fields, **extra)

    approve = decision("ApproveDecision", "approve")
    edit = decision(
        "EditDecision",
        "edit",
        content=(dict[str, Any], Field(description="Only the changed fields.")),
    )
    reject = decision("RejectDecision", "reject", message=(str | None, None))

    def check(response: Any) -> Any:
        counts = Counter(d.proposal_id for d in response.decisions)
        twice = sorted(i for i, n in counts.items() if n > 1)
        if twice:
            raise ValueError(
                f"More than one decision for proposal(s) {', '.join(twice)}; "
                "give exactly one decision per proposal."
            )
        missing = [i for i in pending if i not in counts]
        if missing:
            raise ValueError(
                f"No decision for pending proposal(s) {', '.join(missing)}; give one of "
                f"{', '.join(ALLOWED_DECISIONS)} for each of {', '.join(pending)}."
            )
        for d in response.decisions:
            if d.type == "edit" and d.proposal_id in pending:
                try:
                    edited_content(pending[d.proposal_id], d.content, machine)
                except InvalidReviewError as exc:
                    raise ValueError(str(exc)) from None
        return response

    one_decision: Any = Annotated[approve | edit | reject, Field(discriminator="type")]
    validators: dict[str, Any] = {"check_decisions": model_validator(mode="after")(check)}
    fields: dict[str, Any] = {
        "decisions": (list[one_decision], ...),
        "reviewer": (str | None, None),
    }
    return create_model(
        "LearningReviewResponse", __config__=_FORBID, __validators__=validators, **fields
    )
