"""The review step: ONE ``interrupt()`` for the thread's pending proposals, then the decisions.

:func:`plan_review` is the whole step as one plan; :func:`review_pending` (sync),
:func:`areview_pending` (async) and the node of :func:`create_approval_node` only run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore, GetOp, PutOp
from langgraph.types import interrupt
from pydantic import BaseModel

from agno_learn_langgraph.approval.decide import DEFAULT_REVIEWER, plan_decide, review_keys
from agno_learn_langgraph.approval.interrupt import (
    LearningReviewRequest,
    review_request,
    review_response_schema,
)
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal
from agno_learn_langgraph.runtime import GraphNode, current_run
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import proposals as proposal_store
from agno_learn_langgraph.stores.base import (
    ROOT,
    Plan,
    arun_plan,
    as_item,
    async_write_lock,
    encode_label,
    run_plan,
    write_lock,
)

__all__ = [
    "areview_pending",
    "create_approval_node",
    "plan_apply_review",
    "plan_review",
    "plan_review_request",
    "review_pending",
]

_STEP = "review_learnings"


def _review_marker(thread_id: str) -> tuple[tuple[str, ...], str]:
    """Where the ids of the thread's open review are pinned while its interrupt waits."""
    return (ROOT, "reviews", encode_label(thread_id)), "open"


def plan_review_request(
    machine: LearningMachine | None, scope: Scope
) -> Plan[tuple[LearningReviewRequest, type[BaseModel]] | None]:
    """The interrupt payload and response schema for the thread, or ``None`` if nothing is pending.

    The ids asked about are pinned in the store before the interrupt, so a proposal that arrives
    while the thread waits (e.g. from background extraction) is neither required in the resume
    nor silently decided: it is asked about in the next review.

    Raises:
        MissingScopeError: the run has no thread id.
    """
    thread_id = scope.require_thread(_STEP)
    ns, key = _review_marker(thread_id)
    marker = as_item((yield [GetOp(ns, key)])[0])
    found = yield from proposal_store.list_proposals(status=None, thread_id=thread_id)
    asked = set(marker.value["proposal_ids"]) if marker else {p.id for p in found}
    pending = [p for p in found if p.status == "proposed" and p.id in asked]
    if not pending:
        if marker:
            yield [PutOp(ns, key, None)]
        return None
    if marker is None:
        yield [PutOp(ns, key, {"proposal_ids": [p.id for p in pending]}, index=False)]
    return review_request(pending), review_response_schema(found, machine, asked=asked)


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
    so its decisions are compare-and-set against every other decider.

    Returns the decided proposals, or ``[]`` without interrupting when nothing is pending.
    """
    found = yield from plan_review_request(machine, scope)
    if found is None:
        return []
    request, schema = found
    response = interrupt(request, response_schema=schema)
    return (yield from plan_apply_review(machine, response, scope))


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


def create_approval_node(machine: LearningMachine, *, name: str = _STEP) -> GraphNode:
    """A node that interrupts once for the thread's pending proposals and applies the decisions.

    Place it after the tools node (``agent -> tools -> review_learnings -> agent``). It returns
    ``{}`` (no state update): the decisions live in the store, where recall reads them. The
    interrupt value is a :class:`LearningReviewRequest`; resume with
    ``Command(resume=LearningReviewResponse)`` and the run's ``context=`` again (the context is
    not checkpointed). A resume that does not fit raises ``pydantic.ValidationError`` and
    changes nothing; the interrupt stays pending.

    Raises (at run time):
        StoreUnavailableError: the graph was compiled without a store.
        MissingScopeError: the run has no thread id.
    """

    def review(state: Any, config: RunnableConfig) -> dict[str, Any]:
        store, scope = current_run(name, config)
        review_pending(machine, store, scope)
        return {}

    async def areview(state: Any, config: RunnableConfig) -> dict[str, Any]:
        store, scope = current_run(name, config)
        await areview_pending(machine, store, scope)
        return {}

    return GraphNode(review, areview, name)
