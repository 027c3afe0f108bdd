"""Apply: write the validated extraction outputs through the store plans, then move the cursor.

The writes and the cursor's move are one locked step (``write_lock`` of the stores' data and of
the thread's cursor): an extraction whose claim on its messages was taken over meanwhile (see
``stores.cursors``) writes nothing, so no message is learned twice.

:func:`plan_apply` iterates over the extraction parts; each part's ``apply`` gets an
:class:`ApplyStep` (the run, the store, the provenance, whether the store proposes) and writes
(or proposes) to its own store. Items the model got wrong (an unknown id, an empty text) are
logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from agno_learn_langgraph.core import Plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.extraction.parts import PARTS
from agno_learn_langgraph.extraction.prepare import Prepared
from agno_learn_langgraph.kinds import LearningMode, StoreName
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.cursors import CursorState, finish_claim, get_cursor_state

__all__ = ["ApplyStep", "ExtractionReport", "plan_apply", "plan_skip"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class ExtractionReport:
    """What one extraction did.

    Attributes:
        status: ``applied``, ``nothing_new`` (no user/assistant message since the cursor) or
            ``failed`` (the model call failed; nothing was written, the cursor did not move).
        messages: conversation messages read.
        calls: model calls made, retries included.
        changes: one line per change written (or proposed).
        error: the last error, when failed.
        permanent: the failure was one retrying cannot fix (HTTP 400/401/403/404, ...): it was
            not retried, and ``error`` names the fix.
    """

    status: Literal["applied", "nothing_new", "failed"]
    messages: int = 0
    calls: int = 0
    changes: list[str] = field(default_factory=list)
    error: str | None = None
    permanent: bool = False


@dataclass
class ApplyStep:
    """One store's share of an apply: what its part's ``apply`` needs to write or propose."""

    machine: LearningMachine
    scope: Scope
    store: StoreName
    provenance: Provenance
    proposing: bool
    changes: list[str]

    def attempt(self, plan: Plan[T], what: str) -> Plan[T | None]:
        """Run ``plan``; a :class:`LearningInputError` (bad item from the model) is skipped."""
        try:
            return (yield from plan)
        except LearningInputError as exc:
            logger.info("Extraction skipped %s: %s", what, exc)
            self.changes.append(f"skipped {what}: {exc}")
            return None

    def propose(self, content: dict[str, Any]) -> Plan[None]:
        """Store ``content`` as a proposal for this store (PROPOSE mode), noting the outcome."""
        from agno_learn_langgraph.approval import plan_propose

        plan = plan_propose(
            self.machine,
            self.scope,
            target=self.store,
            content=content,
            rationale="Extracted from the conversation after the agent's reply.",
            proposed_by="always",
        )
        result = yield from self.attempt(plan, f"{self.store} proposal")
        if result is not None:
            proposal, outcome = result
            self.changes.append(f"proposal {proposal.id} for {self.store}: {outcome}")

    def ignore_unknown_ids(self, ids: Sequence[str], owner: str) -> None:
        """Log ids the model named that do not exist (nothing is written for them)."""
        if ids:
            logger.info("Extraction ignored unknown fact id(s) %s of %s.", list(ids), owner)


def plan_apply(
    machine: LearningMachine,
    scope: Scope,
    prepared: Prepared,
    outputs: Sequence[BaseModel],
) -> Plan[ExtractionReport]:
    """Write validated extraction outputs through the store plans, then move the cursor.

    Unknown memory or fact ids and empty items are logged and skipped; store errors propagate
    (and the cursor stays, so the next extraction retries these messages). Run it inside the
    write locks of the stores' data and of the thread's cursor.
    """
    held, state = yield from _claimed_state(scope, prepared)
    if not held:
        return ExtractionReport("nothing_new", changes=["skipped: another extraction read these"])
    prov = Provenance(
        mode="always", thread_id=scope.thread_id, agent_id=scope.agent_id, user_id=scope.user_id
    )
    proposing = set(machine.stores_in_mode(LearningMode.PROPOSE))
    changes: list[str] = []
    out: dict[str, Any] = {}
    for output in outputs:
        out.update({k: getattr(output, k) for k in type(output).model_fields})
    for part in PARTS:
        value = out.get(part.output)
        if value is None:
            continue
        step = ApplyStep(machine, scope, part.store, prov, part.store in proposing, changes)
        yield from part.apply(step, value)
    yield from _move_cursor(scope, prepared, state)
    return ExtractionReport("applied", messages=len(prepared.transcript), changes=changes)


def plan_skip(scope: Scope, prepared: Prepared) -> Plan[ExtractionReport]:
    """Nothing to read: move the cursor past tool messages so they are not scanned again."""
    yield from _move_cursor(scope, prepared, None)
    return ExtractionReport("nothing_new")


def _claimed_state(scope: Scope, prepared: Prepared) -> Plan[tuple[bool, CursorState | None]]:
    """Whether this extraction may write (it still holds its claim, or claimed nothing: no
    thread), and the thread's cursor as read."""
    if not (scope.thread_id and prepared.claim):
        return True, None
    state = yield from get_cursor_state(scope.thread_id)
    if state.holds(prepared.claim):
        return True, state
    logger.info("Extraction skipped: its messages were claimed again (lease ended).")
    return False, state


def _move_cursor(scope: Scope, prepared: Prepared, state: CursorState | None) -> Plan[None]:
    if scope.thread_id and prepared.claim:
        yield from finish_claim(scope.thread_id, prepared.claim, prepared.ids, state)
