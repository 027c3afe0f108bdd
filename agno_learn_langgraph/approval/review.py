"""The review API: list, inspect and decide proposals outside the graph (reviewers, the CLI).

Each function is a plan run against a LangGraph ``BaseStore``: ``x(store, ...)`` runs it with
``run_plan`` and its twin ``ax(store, ...)`` with ``await arun_plan``; nothing else differs.
Decisions run inside the proposal's write locks (``decide.decision_keys``), so of two reviewers
deciding one proposal at once, in any processes, one succeeds and the other gets
:class:`InvalidReviewError` naming who decided. A thread still waiting on proposals decided here
continues without asking about them again.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from langgraph.store.base import BaseStore

from agno_learn_langgraph.approval.decide import DecisionType, plan_decide, plan_decision_keys
from agno_learn_langgraph.core import Plan, arun_plan, async_write_lock, run_plan, write_lock
from agno_learn_langgraph.core.steps import name_twins
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal, Status
from agno_learn_langgraph.stores import proposals as proposal_store

P = ParamSpec("P")
T = TypeVar("T")


def _shells(
    plan: Callable[P, Plan[T]],
    name: str,
    locks: Callable[P, Plan[list[Hashable]]] | None = None,
) -> tuple[
    Callable[Concatenate[BaseStore, P], T],
    Callable[Concatenate[BaseStore, P], Coroutine[Any, Any, T]],
]:
    """``name(store, ...)`` and ``aname(store, ...)``: ``plan(...)`` run against ``store``,
    inside the write locks of the keys ``locks(...)`` reads first, when given."""

    def sync(store: BaseStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if locks is None:
            return run_plan(store, plan(*args, **kwargs))
        with write_lock(*run_plan(store, locks(*args, **kwargs))):
            return run_plan(store, plan(*args, **kwargs))

    async def async_(store: BaseStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if locks is None:
            return await arun_plan(store, plan(*args, **kwargs))
        async with async_write_lock(*await arun_plan(store, locks(*args, **kwargs))):
            return await arun_plan(store, plan(*args, **kwargs))

    signature = inspect.signature(plan)
    store = inspect.Parameter("store", inspect.Parameter.POSITIONAL_ONLY, annotation="BaseStore")
    with_store = signature.replace(parameters=[store, *signature.parameters.values()])
    name_twins(sync, async_, name, plan.__doc__, with_store, __name__)
    return sync, async_


def _pending(
    *, user_id: str | None = None, thread_id: str | None = None, store_name: str | None = None
) -> Plan[list[Proposal]]:
    """Proposals awaiting review, across threads and users unless filtered, oldest first."""
    return proposal_store.list_proposals(
        status="proposed", user_id=user_id, thread_id=thread_id, target=store_name
    )


def _history(
    *,
    user_id: str | None = None,
    thread_id: str | None = None,
    store_name: str | None = None,
    status: Status | None = None,
) -> Plan[list[Proposal]]:
    """The audit trail: proposals of every status (or ``status``), each with its ``history``."""
    return proposal_store.list_proposals(
        status=status, user_id=user_id, thread_id=thread_id, target=store_name
    )


def _get(proposal_id: str) -> Plan[Proposal | None]:
    """One proposal by id, whatever its status, or ``None``."""
    return proposal_store.get_proposal(proposal_id)


def _approve(
    proposal_id: str,
    *,
    reviewer: str,
    content: Mapping[str, Any] | None = None,
    machine: LearningMachine | None = None,
) -> Plan[Proposal]:
    """Approve a pending proposal: write it to its store and mark it ``approved``.

    Args:
        content: the changed fields, to approve an edited version (recorded as an edit).
        machine: needed only for a custom ``UserProfile`` schema of profile proposals.

    Raises:
        InvalidReviewError: unknown id, an invalid edit, or a proposal decided already.
    """
    decision: DecisionType = "approve" if content is None else "edit"
    proposal, _ = yield from plan_decide(
        proposal_id, decision, reviewer=reviewer, content=content, machine=machine
    )
    return proposal


def _reject(proposal_id: str, *, reviewer: str, reason: str | None = None) -> Plan[Proposal]:
    """Reject a pending proposal; it is kept with reviewer, reason and time for audit.

    Raises:
        InvalidReviewError: unknown id, or a proposal decided already.
    """
    proposal, _ = yield from plan_decide(proposal_id, "reject", reviewer=reviewer, reason=reason)
    return proposal


def _decision_keys(
    proposal_id: str, *, machine: LearningMachine | None = None, **_: Any
) -> Plan[list[Hashable]]:
    return plan_decision_keys(proposal_id, machine)


list_pending_proposals, alist_pending_proposals = _shells(_pending, "list_pending_proposals")
proposal_history, aproposal_history = _shells(_history, "proposal_history")
get_proposal, aget_proposal = _shells(_get, "get_proposal")
approve_proposal, aapprove_proposal = _shells(_approve, "approve_proposal", _decision_keys)
reject_proposal, areject_proposal = _shells(_reject, "reject_proposal", _decision_keys)
