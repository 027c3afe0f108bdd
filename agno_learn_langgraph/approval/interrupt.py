"""The review interrupt: its payload (:class:`LearningReviewRequest`) and the resumes it accepts.

The payload lists the pending proposals twice: in this package's shape (``proposals``) and in
LangChain's human-in-the-loop shape (``action_requests`` + ``review_configs``, one action per
proposal), so chat UIs built for ``HumanInTheLoopMiddleware`` can review learnings too. A resume
names each proposal (``{"decisions": [{"proposal_id": ..., "type": ...}]}``) or, as LangChain's
convention does, answers every action in order (``{"decisions": [{"type": "approve"}, ...]}``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain.agents.middleware.human_in_the_loop import ActionRequest, ReviewConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

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
    "describe_resume_error",
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


class _LearningReviewRequestBase(TypedDict):
    type: Literal["learning_review"]
    proposals: list[ProposalForReview]
    allowed_decisions: list[DecisionType]
    instructions: str
    action_requests: list[ActionRequest]
    """LangChain's HITL shape: one action per proposal (name: its store, args: its content,
    description: its rationale), in the order of ``proposals``."""
    review_configs: list[ReviewConfig]


class LearningReviewRequest(_LearningReviewRequestBase, total=False):
    """The value of the approval node's ``interrupt()``: every pending proposal of the thread."""

    error: str
    """Why the previous resume was refused (nothing was applied); answer again."""


class _DecisionBase(TypedDict, total=False):
    proposal_id: str
    """Which proposal; leave it out of every decision to answer the proposals in order."""


class ApproveDecision(_DecisionBase):
    """Approve the proposal as it is."""

    type: Literal["approve"]


class EditedAction(TypedDict):
    """LangChain's edit: the action with its full, edited args (the proposal's content)."""

    name: str
    args: dict[str, Any]


class EditDecision(_DecisionBase, total=False):
    """Approve with changed content: ``content`` holds only the changed fields (e.g.
    ``{"learning": "..."}``), or LangChain's ``edited_action`` the whole edited content."""

    type: Literal["edit"]
    content: dict[str, Any]
    edited_action: EditedAction


class RejectDecision(_DecisionBase, total=False):
    """Reject the proposal (kept for audit), optionally saying why."""

    type: Literal["reject"]
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
    "{'proposal_id': '<id>', 'type': 'reject', 'message': 'why'}], 'reviewer': '<your name>'}), "
    "or answer the action_requests in order, as LangChain's human-in-the-loop does. "
    "Approved learnings are remembered; rejected ones are kept for audit only."
)


def review_request(
    pending: Sequence[Proposal], *, error: str | None = None
) -> LearningReviewRequest:
    """The interrupt payload for ``pending`` proposals (pure; same input, same payload)."""
    request: LearningReviewRequest = {
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
        "action_requests": [
            {"name": p.store, "args": dict(p.content), "description": p.rationale} for p in pending
        ],
        "review_configs": [
            {"action_name": name, "allowed_decisions": [*ALLOWED_DECISIONS]}
            for name in dict.fromkeys(p.store for p in pending)
        ],
    }
    if error:
        request["error"] = error
    return request


def describe_resume_error(exc: ValidationError) -> str:
    """A refused resume's problems, one per line, short enough for any payload."""
    lines = []
    for e in exc.errors():
        where = ".".join(map(str, e["loc"]))
        got = "" if e["type"] == "value_error" else f" (got {e.get('input')!r:.80})"
        lines.append(f"{where + ': ' if where else ''}{e['msg']}{got}")
    return "Resume refused, nothing applied: " + "; ".join(lines)


_FORBID = ConfigDict(extra="forbid")


def _in_order(
    decisions: Sequence[Any], asked: Sequence[str], pending: Sequence[str]
) -> Sequence[str]:
    """The proposal ids that decisions without ids answer, by position (LangChain's HITL)."""
    if any(d.proposal_id is not None for d in decisions):
        raise ValueError(
            "Give proposal_id in every decision, or in none to answer the actions in order."
        )
    for order in (pending, asked):
        if len(decisions) == len(order):
            return order
    raise ValueError(
        f"{len(decisions)} decision(s) for {len(pending)} action(s); give one decision per "
        "action, in the order of action_requests."
    )


def review_response_schema(
    proposals: Sequence[Proposal],
    machine: LearningMachine | None = None,
    *,
    asked: Sequence[str] | None = None,
) -> type[BaseModel]:
    """The pydantic model a resume must fit, built from the thread's proposals.

    Every id of ``proposals`` is accepted (decisions about proposals decided meanwhile, e.g.
    through the review API, are skipped); every one still ``proposed`` needs exactly one
    decision (only those in ``asked``, when given), and an edit must leave valid, non-empty
    content. Decisions without ids answer the asked proposals in order (the still-pending
    ones, or all of ``asked``); validation fills in their ids. Being a pure function of the
    stored proposals, it is rebuilt identically when LangGraph re-runs the node on resume.
    """
    asked = list(asked) if asked is not None else [p.id for p in proposals]
    by_id = {p.id: p for p in proposals}
    pending = {i: by_id[i] for i in asked if i in by_id and by_id[i].status == "proposed"}
    proposal_id: Any = Literal.__getitem__(tuple(by_id) or ("",))

    def decision(name: str, kind: DecisionType, **extra: Any) -> type[BaseModel]:
        fields: dict[str, Any] = {"proposal_id": (proposal_id, None), "type": (Literal[kind], ...)}
        return create_model(name, __config__=_FORBID, **fields, **extra)

    edited_action = create_model(
        "EditedAction", __config__=_FORBID, name=(str, ...), args=(dict[str, Any], ...)
    )
    approve = decision("ApproveDecision", "approve")
    edit = decision(
        "EditDecision",
        "edit",
        content=(dict[str, Any] | None, Field(None, description="Only the changed fields.")),
        edited_action=(edited_action | None, Field(None, description="LangChain's edit.")),
    )
    reject = decision("RejectDecision", "reject", message=(str | None, None))

    def check(response: Any) -> Any:
        decisions = response.decisions
        if any(d.proposal_id is None for d in decisions):
            for d, i in zip(decisions, _in_order(decisions, asked, list(pending)), strict=True):
                d.proposal_id = i
        counts = Counter(d.proposal_id for d in decisions)
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
        for d in decisions:
            if d.type == "edit":
                _check_edit(d, by_id[d.proposal_id], pending, machine)
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


def _check_edit(
    d: Any, proposal: Proposal, pending: dict[str, Proposal], machine: LearningMachine | None
) -> None:
    """Turn an ``edited_action`` into ``content`` and check the edit of a pending proposal."""
    if d.edited_action is not None:
        if d.content is not None:
            raise ValueError(f"Give content or edited_action for {proposal.id}, not both.")
        if d.edited_action.name != proposal.store:
            raise ValueError(
                f"The edit of {proposal.id} names action {d.edited_action.name!r}; an edit "
                f"cannot change where a learning goes (keep {proposal.store!r})."
            )
        d.content = d.edited_action.args
        d.edited_action = None
    if proposal.id in pending:
        try:
            edited_content(proposal, d.content, machine)
        except InvalidReviewError as exc:
            raise ValueError(str(exc)) from None
