"""The review step: ONE ``interrupt()`` for the thread's pending proposals, then the decisions.

:func:`plan_review` is the whole step as one plan; :func:`review_pending` (sync),
:func:`areview_pending` (async) and the node of :func:`create_approval_node` only run it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.store.base import BaseStore, GetOp, PutOp
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agno_learn_langgraph.approval.decide import DEFAULT_REVIEWER, plan_decide, review_keys
from agno_learn_langgraph.approval.interrupt import (
    LearningReviewRequest,
    describe_resume_error,
    review_request,
    review_response_schema,
)
from agno_learn_langgraph.core import (
    ROOT,
    Plan,
    arun_plan,
    as_item,
    async_write_lock,
    encode_label,
    run_plan,
    write_lock,
)
from agno_learn_langgraph.graph_node import GraphNode, current_run
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import proposals as proposal_store

__all__ = [
    "REVIEW_MESSAGE_NAME",
    "areview_pending",
    "create_approval_node",
    "current_task",
    "describe_review",
    "plan_apply_review",
    "plan_review",
    "plan_review_request",
    "review_outcome",
    "review_pending",
    "review_update",
]

_STEP = "review_learnings"
REVIEW_MESSAGE_NAME = "learning_review"
"""The ``name`` of the message that tells the model what a review decided."""


def _review_marker(thread_id: str) -> tuple[tuple[str, ...], str]:
    """Where the ids of the thread's open review are pinned while its interrupt waits."""
    return (ROOT, "reviews", encode_label(thread_id)), "open"


def current_task() -> str | None:
    """The running task's checkpoint namespace: the same when LangGraph re-runs the step on
    resume, another one in every later run (``None`` outside a graph run)."""
    try:
        return get_config().get("configurable", {}).get("checkpoint_ns") or None
    except RuntimeError:
        return None


def plan_review_request(
    machine: LearningMachine | None, scope: Scope, *, task: str | None = None
) -> Plan[tuple[LearningReviewRequest, type[BaseModel], list[Proposal]] | None]:
    """The interrupt payload, response schema and asked proposals, or ``None`` if none is pending.

    The ids asked about are pinned in the store before the interrupt, with the ``task`` that
    asked, so a proposal that arrives while the thread waits (e.g. from background extraction)
    is neither required in the resume nor silently decided: it is asked about in the next
    review. A pin left by another task (the user typed on instead of resuming) is replaced, so
    the next review asks about every pending proposal of the thread.

    Raises:
        MissingScopeError: the run has no thread id.
    """
    thread_id = scope.require_thread(_STEP)
    ns, key = _review_marker(thread_id)
    stored = as_item((yield [GetOp(ns, key)])[0])
    marker = stored
    if marker and task is not None and marker.value.get("task") != task:
        marker = None  # an abandoned review: its interrupt was never answered
    found = yield from proposal_store.list_proposals(status=None, thread_id=thread_id)
    asked = list(marker.value["proposal_ids"]) if marker else [p.id for p in found]
    by_id = {p.id: p for p in found}
    pending = [by_id[i] for i in asked if i in by_id and by_id[i].status == "proposed"]
    if not pending:
        if stored:
            yield [PutOp(ns, key, None)]
        return None
    if marker is None:
        asked = [p.id for p in pending]
        yield [PutOp(ns, key, {"proposal_ids": asked, "task": task}, index=False)]
    return review_request(pending), review_response_schema(found, machine, asked=asked), pending


def plan_apply_review(
    machine: LearningMachine | None, response: BaseModel | Mapping[str, Any], scope: Scope
) -> Plan[list[Proposal]]:
    """Apply validated decisions in order; proposals decided meanwhile are left as they are.

    Returns every proposal named by the decisions, as stored afterwards, and closes the review.
    """
    data = response.model_dump() if isinstance(response, BaseModel) else dict(response)
    reviewer = data.get("reviewer") or DEFAULT_REVIEWER
    out = []
    for d in data.get("decisions") or []:
        proposal, _ = yield from plan_decide(
            d["proposal_id"],
            d["type"],
            reviewer=reviewer,
            content=d.get("content"),
            reason=d.get("message"),
            machine=machine,
            strict=False,
        )
        out.append(proposal)
    ns, key = _review_marker(scope.require_thread(_STEP))
    yield [PutOp(ns, key, None)]
    return out


def plan_review(machine: LearningMachine | None, scope: Scope) -> Plan[list[Proposal]]:
    """The review step as one plan: read what is pending, ``interrupt()``, apply the resume.

    Run it inside ``write_lock(*review_keys(machine, scope))``, as :func:`review_pending` does,
    so its decisions are compare-and-set against every other decider. A resume that does not
    fit is not raised: the step interrupts again with the problem in the payload's ``error``
    (LangGraph's validation loop), so the thread stays interrupted and nothing is applied.
    Returns the decided proposals, or ``[]`` without interrupting when nothing is pending.
    """
    found = yield from plan_review_request(machine, scope, task=current_task())
    if found is None:
        return []
    request, schema, pending = found
    json_schema = schema.model_json_schema()
    while True:
        answer = interrupt(request, response_schema=json_schema)
        try:
            response = schema.model_validate(answer)
        except ValidationError as exc:
            request = review_request(pending, error=describe_resume_error(exc))
            continue
        return (yield from plan_apply_review(machine, response, scope))


def describe_review(decided: Sequence[Proposal]) -> str:
    """What the reviewer decided, for the model's next call (pure)."""
    lines = []
    for p in decided:
        what = json.dumps(p.content, ensure_ascii=False)
        if p.status == "rejected":
            reason = f' because "{p.reason}"' if p.reason else ""
            lines.append(f"- [{p.id}] rejected{reason}: {p.store} {what}")
        else:
            edited = any(e.action == "edit" for e in p.history)
            lines.append(
                f"- [{p.id}] {'edited and approved' if edited else 'approved'}: {p.store} {what}"
            )
    reviewers = sorted({p.reviewer or DEFAULT_REVIEWER for p in decided})
    return (
        f"Learning review by {', '.join(reviewers)}:\n" + "\n".join(lines) + "\nApproved "
        "learnings are saved and recalled from now on; do not propose rejected ones again "
        "unless the user brings new information."
    )


def review_outcome(decided: Sequence[Proposal]) -> HumanMessage | None:
    """The message telling the model what the review decided (``None`` if nothing was)."""
    if not decided:
        return None
    return HumanMessage(describe_review(decided), name=REVIEW_MESSAGE_NAME)


def review_pending(machine: LearningMachine, store: BaseStore, scope: Scope) -> list[Proposal]:
    """Ask a human about the thread's pending proposals with ONE ``interrupt()``, then apply.

    Call it inside a LangGraph node or middleware hook (it may interrupt). Returns the decided
    proposals, or ``[]`` without interrupting when nothing is pending (e.g. everything was
    decided through the review API while the thread waited).
    """
    with write_lock(*review_keys(machine, scope)):  # decisions are compare-and-set
        return run_plan(store, plan_review(machine, scope))


async def areview_pending(
    machine: LearningMachine, store: BaseStore, scope: Scope
) -> list[Proposal]:
    """Async twin of :func:`review_pending`."""
    async with async_write_lock(*review_keys(machine, scope)):
        return await arun_plan(store, plan_review(machine, scope))


def review_update(decided: Sequence[Proposal], state: Any = None) -> dict[str, Any] | None:
    """The state update telling the model what a review decided: ``{"messages": [...]}``, or
    ``None`` when nothing was decided or ``state`` (when given) has no ``messages``."""
    message = review_outcome(decided)
    if message is None or state is None:
        return {"messages": [message]} if message else None
    has_messages = "messages" in state if isinstance(state, Mapping) else hasattr(state, "messages")
    return {"messages": [message]} if has_messages else None


def create_approval_node(machine: LearningMachine, *, name: str = _STEP) -> GraphNode:
    """A node that interrupts once for the thread's pending proposals and applies the decisions.

    Place it after the tools node (``agent -> tools -> review_learnings -> agent``). The
    decisions live in the store, where recall reads them; when the state has ``messages``, the
    node also adds a ``HumanMessage`` named ``"learning_review"`` saying what was decided, so
    the agent's next call knows. The interrupt value is a :class:`LearningReviewRequest`;
    resume with ``Command(resume=LearningReviewResponse)`` (or LangChain's HITL decisions, in
    order) and the run's ``context=`` again (the context is not checkpointed). A resume that
    does not fit changes nothing: the node interrupts again with the problem in ``error``.

    Raises (at run time):
        StoreUnavailableError: the graph was compiled without a store.
        MissingScopeError: the run has no thread id.
    """

    def review(state: Any, config: RunnableConfig) -> dict[str, Any]:
        store, scope = current_run(name, config)
        return review_update(review_pending(machine, store, scope), state) or {}

    async def areview(state: Any, config: RunnableConfig) -> dict[str, Any]:
        store, scope = current_run(name, config)
        return review_update(await areview_pending(machine, store, scope), state) or {}

    return GraphNode(review, areview, name)
