"""Extraction cursors: which messages of a thread ALWAYS extraction has read, per thread.

The cursor lives in the store (``("learning", "cursors", <thread>)``, key ``"extraction"``), so it
survives restarts and is shared by every process serving the thread. Its ``message_id`` is the
last message of the extracted prefix of the thread; it only moves forward, and only after a
successful extraction, so messages a failed extraction missed are read by the next one.

Several extractions of one thread may run at once (turn N+1 on another worker while turn N's
extraction still calls its model). Each first *claims* the messages it reads
(:func:`claim_messages`: those no finished or running extraction covers) and, once its writes
are done, *finishes* the claim (:func:`finish_claim`), which moves ``message_id`` over every
message extracted so far in thread order; an extraction whose claim was taken over (its lease
of :data:`CLAIM_LEASE_S` ran out) writes nothing. Every cursor plan is a read-modify-write: run
it inside ``write_lock(cursor_lock_key(thread_id))`` so the read and the write are one step for
every process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from pydantic import BaseModel, Field

from agno_learn_langgraph.core import ROOT, Plan, encode_label, get_one, put
from agno_learn_langgraph.records import utcnow

__all__ = [
    "CLAIM_LEASE_S",
    "CURSOR_KEY",
    "Claim",
    "CursorState",
    "claim_messages",
    "cursor_lock_key",
    "cursor_namespace",
    "finish_claim",
    "get_cursor",
    "get_cursor_state",
    "release_claim",
    "set_cursor",
    "take_over_claims",
]

CURSOR_KEY = "extraction"
CLAIM_LEASE_S = 300.0
"""How long a claim keeps its messages from other extractions; a dead worker's claim then ends."""
_KEEP_IDS = 256
"""Ids kept per list (passed, done out of order), to recognise messages of older snapshots."""
_KEEP_AHEAD = 2000


class Claim(BaseModel):
    """The messages one running extraction reads."""

    token: str = Field(default_factory=lambda: uuid.uuid4().hex)
    ids: list[str]
    until: float
    """Epoch seconds when the lease ends and the messages may be claimed again."""


class CursorState(BaseModel):
    """The stored cursor of one thread."""

    message_id: str | None = None
    """The last message of the extracted prefix of the thread."""
    passed: list[str] = Field(default_factory=list)
    """The newest ids at or before ``message_id``, oldest first."""
    done: list[str] = Field(default_factory=list)
    """Ids extracted beyond ``message_id`` (a later extraction finished first)."""
    ahead: list[str] = Field(default_factory=list)
    """The ids after ``message_id`` in thread order, from the longest snapshot claimed, so a
    finishing extraction with an older snapshot still moves the cursor over later ones."""
    claims: list[Claim] = Field(default_factory=list)
    updated_at: str | None = None

    def taken(self) -> set[str]:
        """Ids no new claim may take: extracted, or read by a running extraction."""
        ids = {*self.passed, *self.done, *(i for c in self.claims for i in c.ids)}
        return ids | ({self.message_id} if self.message_id else set())

    def holds(self, claim: Claim) -> bool:
        """Whether ``claim`` is still this thread's (no other extraction took its messages)."""
        return any(c.token == claim.token for c in self.claims)


def cursor_namespace(thread_id: str) -> tuple[str, ...]:
    """``("learning", "cursors", <thread>)``."""
    return (ROOT, "cursors", encode_label(thread_id))


def cursor_lock_key(thread_id: str) -> tuple[str, str]:
    """The write lock every cursor plan of the thread runs in."""
    return ("extraction_cursor", thread_id)


def get_cursor_state(thread_id: str) -> Plan[CursorState]:
    """The thread's stored cursor (empty when none)."""
    item = yield from get_one(cursor_namespace(thread_id), CURSOR_KEY)
    return CursorState.model_validate(item.value) if item else CursorState()


def _save(thread_id: str, state: CursorState) -> Plan[None]:
    state.updated_at = utcnow().isoformat()
    yield [put(cursor_namespace(thread_id), CURSOR_KEY, state.model_dump(mode="json"))]


def get_cursor(thread_id: str) -> Plan[str | None]:
    """The id of the last message extracted on the thread, or ``None``."""
    state = yield from get_cursor_state(thread_id)
    return state.message_id


def set_cursor(thread_id: str, message_id: str) -> Plan[None]:
    """Put the thread's cursor at ``message_id`` (repair and tests; extraction uses claims)."""
    state = yield from get_cursor_state(thread_id)
    state.message_id, state.done, state.ahead = message_id, [], []
    state.passed = [*(i for i in state.passed if i != message_id), message_id][-_KEEP_IDS:]
    yield from _save(thread_id, state)


def _start(ids: Sequence[str | None], message_id: str | None) -> int:
    """Index after ``message_id`` in ``ids``, or 0 when it is not there (e.g. trimmed history)."""
    if message_id is not None:
        for i in range(len(ids) - 1, -1, -1):
            if ids[i] == message_id:
                return i + 1
    return 0


def claim_messages(
    thread_id: str,
    ids: Sequence[str | None],
    *,
    lease_s: float = CLAIM_LEASE_S,
    now: float | None = None,
) -> Plan[Claim | None]:
    """Claim the messages of ``ids`` (the thread's message ids, in order) nobody read yet.

    Returns the claim, or ``None`` when every message was extracted or is being extracted.
    Claims whose lease ended are dropped first: their messages are read again.
    """
    now = time.time() if now is None else now
    state = yield from get_cursor_state(thread_id)
    state.claims = [c for c in state.claims if c.until > now]
    taken = state.taken()
    rest = [i for i in ids[_start(ids, state.message_id) :] if i]
    mine = [i for i in rest if i not in taken]
    if not mine:
        return None
    claim = Claim(ids=list(dict.fromkeys(mine)), until=now + lease_s)
    state.claims.append(claim)
    if len(rest) > len(state.ahead):
        state.ahead = rest[:_KEEP_AHEAD]
    yield from _save(thread_id, state)
    return claim


def finish_claim(
    thread_id: str, claim: Claim, ids: Sequence[str | None], state: CursorState | None = None
) -> Plan[bool]:
    """Mark the claim's messages extracted and move the cursor over the extracted prefix.

    ``ids`` is the thread's message ids as the extraction saw them; ``state`` the cursor as read
    in the same locked plan, if it was. Returns ``False`` (and changes nothing) when the claim
    is no longer held.
    """
    if state is None:
        state = yield from get_cursor_state(thread_id)
    if not state.holds(claim):
        return False
    state.claims = [c for c in state.claims if c.token != claim.token]
    done = {*state.done, *claim.ids}
    passed_before = set(state.passed)
    rest = [i for i in ids[_start(ids, state.message_id) :] if i]
    order = state.ahead if len(state.ahead) >= len(rest) else rest
    n = 0
    while n < len(order) and (order[n] in done or order[n] in passed_before):
        n += 1
    passed, state.ahead = order[:n], order[n:]
    if passed:
        state.message_id = passed[-1]
    gone = set(passed)
    state.passed = [*(p for p in state.passed if p not in gone), *passed][-_KEEP_IDS:]
    state.done = [d for d in dict.fromkeys([*state.done, *claim.ids]) if d not in gone]
    state.done = state.done[-_KEEP_IDS:]
    yield from _save(thread_id, state)
    return True


def take_over_claims(thread_id: str, ids: Sequence[str | None]) -> Plan[int]:
    """End the running claims on any of ``ids`` (their worker died: its outbox lease ran out),
    so the recovering extraction can claim those messages; returns how many ended. A claim's
    late holder then finds it gone and writes nothing."""
    wanted = {i for i in ids if i}
    state = yield from get_cursor_state(thread_id)
    kept = [c for c in state.claims if not wanted.intersection(c.ids)]
    ended = len(state.claims) - len(kept)
    if ended:
        state.claims = kept
        yield from _save(thread_id, state)
    return ended


def release_claim(thread_id: str, claim: Claim) -> Plan[None]:
    """Give the claim's messages back (a failed extraction): the next extraction reads them."""
    state = yield from get_cursor_state(thread_id)
    if state.holds(claim):
        state.claims = [c for c in state.claims if c.token != claim.token]
        yield from _save(thread_id, state)
