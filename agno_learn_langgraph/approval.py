"""PROPOSE mode: learnings stored as proposals, reviewed through LangGraph's interrupt or an API.

Three doors share one core of store plans:

* the ``propose_learning`` tool (:func:`create_propose_tools`) stores a learning with
  ``status="proposed"``; ALWAYS extraction for a PROPOSE store calls :func:`plan_propose` too;
* the approval node (:func:`create_approval_node`) raises ONE ``interrupt()`` listing every
  pending proposal of the thread (a :class:`LearningReviewRequest`) and applies the decisions of
  ``Command(resume=`` :class:`LearningReviewResponse` ``)``; :func:`review_pending` is the same
  step for middleware;
* the review API (:func:`list_pending_proposals`, :func:`approve_proposal`,
  :func:`reject_proposal`, :func:`proposal_history`, with async ``a*`` twins) decides proposals
  outside the graph; a thread still waiting on them then continues without asking again.

Every decision is validated before anything is written: in the graph by the interrupt's
``response_schema`` (a bad resume raises ``pydantic.ValidationError``, the interrupt stays
pending and nothing changes), in the API by :class:`InvalidReviewError`. A decision is applied at
most once: only proposals still ``proposed`` are decided, and the store writes are idempotent, so
a node re-run on resume (or a retry after a crash) never duplicates a record.

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

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, TypedDict

from langchain.tools import ToolRuntime
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.store.base import BaseStore, GetOp, PutOp
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from agno_learn_langgraph.config import LearningMode, StoreName, UserProfileConfig
from agno_learn_langgraph.errors import InvalidReviewError, LearningInputError, UnsupportedModeError
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import (
    Proposal,
    Provenance,
    ReviewEvent,
    UserProfile,
    WriterMode,
    fingerprint,
    utcnow,
)
from agno_learn_langgraph.runtime import GraphNode, current_run, require_store
from agno_learn_langgraph.scope import DEFAULT_AGENT_ID, Scope, resolve_scope
from agno_learn_langgraph.stores import entity_memory, learned_knowledge, user_memory, user_profile
from agno_learn_langgraph.stores import proposals as proposal_store
from agno_learn_langgraph.stores.base import (
    ROOT,
    Plan,
    arun_plan,
    as_item,
    check_storable,
    encode_label,
    run_plan,
)

__all__ = [
    "ALLOWED_DECISIONS",
    "DEFAULT_REVIEWER",
    "PROPOSABLE_STORES",
    "ApproveDecision",
    "EditDecision",
    "LearningReviewRequest",
    "LearningReviewResponse",
    "ProposalForReview",
    "ProposeOutcome",
    "RejectDecision",
    "aapprove_proposal",
    "aget_proposal",
    "alist_pending_proposals",
    "approve_proposal",
    "aproposal_history",
    "areject_proposal",
    "areview_pending",
    "create_approval_node",
    "create_propose_tools",
    "describe_propose_outcome",
    "get_proposal",
    "list_pending_proposals",
    "normalize_content",
    "plan_apply_review",
    "plan_decide",
    "plan_propose",
    "plan_review_request",
    "proposal_history",
    "reject_proposal",
    "review_pending",
    "review_request",
    "review_response_schema",
]

ProposeOutcome = Literal["created", "duplicate_pending", "previously_rejected"]
"""What :func:`plan_propose` did: stored a proposal, or found an identical pending/rejected one."""

_Runtime = ToolRuntime[Any, Any]
"""Parametrised, so pydantic does not warn when it serialises the user's context."""

DecisionType = Literal["approve", "edit", "reject"]
ALLOWED_DECISIONS: list[DecisionType] = ["approve", "edit", "reject"]
DEFAULT_REVIEWER = "human"
"""Recorded as the reviewer when a resume names none."""

# -- content shapes ---------------------------------------------------------------------------

_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "learned_knowledge": (("title", "learning"), ("context", "tags")),
    "user_memory": (("text",), ()),
    "user_profile": (("field", "value"), ()),
    "entity_memory": (("entity", "fact"), ("entity_type",)),
}
PROPOSABLE_STORES: tuple[str, ...] = tuple(_FIELDS)
"""Stores that support PROPOSE mode (session context and the decision log do not)."""


def _profile_schema(machine: LearningMachine | None) -> type[UserProfile]:
    config = machine.config("user_profile") if machine else None
    return config.schema if isinstance(config, UserProfileConfig) else UserProfile


def _clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise LearningInputError(f"tags must be a list of strings, got {value!r}.")
    return [str(t).strip() for t in value if t is not None and str(t).strip()]


def normalize_content(
    store: str, content: Mapping[str, Any], machine: LearningMachine | None = None
) -> dict[str, Any]:
    """Check a proposal's content against its store's shape and return it cleaned.

    Shapes: learned_knowledge ``{"title", "learning", "context"?, "tags"?}``, user_memory
    ``{"text"}``, user_profile ``{"field", "value"}``, entity_memory ``{"entity", "fact",
    "entity_type"?}``.

    >>> normalize_content("user_memory", {"text": "  Likes tea "})
    {'text': 'Likes tea'}

    Raises:
        LearningInputError: not a proposable store, an unknown or missing field, an empty value,
            a profile field/value the profile schema refuses, or a text that cannot be stored.
    """
    if store not in _FIELDS:
        raise LearningInputError(
            f"{store!r} cannot be proposed; proposable stores: {', '.join(PROPOSABLE_STORES)}."
        )
    if not isinstance(content, Mapping):
        raise LearningInputError(f"A {store} proposal's content must be a dict, got {content!r}.")
    required, optional = _FIELDS[store]
    unknown = sorted(set(content) - {*required, *optional})
    if unknown:
        raise LearningInputError(
            f"Unknown field(s) {', '.join(map(repr, unknown))} for a {store} proposal; "
            f"fields: {', '.join((*required, *optional))}."
        )
    out: dict[str, Any] = {}
    for name in required:
        value = content.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            raise LearningInputError(
                f"A {store} proposal needs a non-empty {name!r}; "
                f"required fields: {', '.join(required)}."
            )
        out[name] = value
    for name in optional:
        value = content.get(name)
        if name == "tags":
            out[name] = _clean_tags(value)
        else:
            out[name] = value.strip() or None if isinstance(value, str) else value
    if store == "user_profile":
        schema = _profile_schema(machine)
        user_profile.check_fields(schema, {out["field"]: out["value"]}, ())
        try:
            schema.model_validate({out["field"]: out["value"]})
        except ValidationError as exc:
            raise LearningInputError(
                f"Invalid value {out['value']!r} for profile field {out['field']!r}: "
                f"{exc.errors()[0]['msg']}."
            ) from None
    check_storable(out)  # refused here, so a resume is rejected before anything is applied
    return out


def _content_fingerprint(store: str, content: Mapping[str, Any]) -> str:
    required, optional = _FIELDS[store]
    parts = [
        ",".join(v) if isinstance(v := content.get(name), list) else str(v or "")
        for name in (*required, *optional)
    ]
    return fingerprint(store, *parts)


# -- proposing -------------------------------------------------------------------------------


def plan_propose(
    machine: LearningMachine,
    scope: Scope,
    *,
    store: StoreName,
    content: dict[str, Any],
    rationale: str,
    proposed_by: WriterMode = "propose",
) -> Plan[tuple[Proposal, ProposeOutcome]]:
    """Store a learning for ``store`` with ``status="proposed"``, unless it was proposed before.

    Returns ``(proposal, "created")``, the identical pending proposal with
    ``"duplicate_pending"``, or the identical rejected one with ``"previously_rejected"``
    (nothing is stored then).

    Raises:
        LearningInputError: content that does not fit the store (see :func:`normalize_content`).
        UnsupportedModeError: ``store`` is off in ``machine`` or cannot be proposed.
        MissingScopeError: a per-user target and no ``scope.user_id``.
    """
    config = machine.config(store)
    if config is None or LearningMode.PROPOSE not in config.supported_modes:
        enabled = machine.stores_in_mode(LearningMode.PROPOSE)
        raise UnsupportedModeError(
            f"Cannot propose for {store!r}: it is {'off' if config is None else 'not proposable'} "
            f"in this LearningMachine; stores in PROPOSE mode: {', '.join(enabled) or 'none'}."
        )
    cleaned = normalize_content(store, content, machine)
    namespace: str | None = None
    if store in ("learned_knowledge", "entity_memory"):
        namespace = machine.namespace_for(store)
        if namespace == "user":
            scope.require_user(f"{store} (namespace='user')")
    if store in proposal_store.PER_USER_STORES:
        scope.require_user(store)
    proposal = Proposal(
        store=store,
        content=cleaned,
        rationale=(rationale or "").strip(),
        proposed_by=proposed_by,
        user_id=scope.user_id,
        thread_id=scope.thread_id,
        agent_id=scope.agent_id,
        namespace=namespace,
        fingerprint=_content_fingerprint(store, cleaned),
    )
    proposal.history.append(
        ReviewEvent(
            action="proposed",
            by=scope.agent_id,
            at=proposal.created_at,
            reason=proposal.rationale or None,
        )
    )
    same = yield from proposal_store.find_same_proposal(proposal)
    if same is not None:
        outcome: ProposeOutcome = (
            "duplicate_pending" if same.status == "proposed" else "previously_rejected"
        )
        return same, outcome
    yield from proposal_store.save_proposal(proposal)
    return proposal, "created"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown date"


def describe_propose_outcome(proposal: Proposal, outcome: ProposeOutcome) -> str:
    """What the ``propose_learning`` tool tells the model."""
    if outcome == "created":
        return (
            f"Proposed [{proposal.id}] for {proposal.store}. It is NOT saved: it awaits human "
            "review and is used only once approved. Tell the user it awaits review."
        )
    if outcome == "duplicate_pending":
        return (
            f"An identical proposal [{proposal.id}] already awaits human review; nothing new was "
            "stored. Tell the user it awaits review."
        )
    reason = f' with the reason "{proposal.reason}"' if proposal.reason else ""
    return (
        f"Not proposed: an identical learning [{proposal.id}] was rejected by "
        f"{proposal.reviewer or 'a reviewer'} on {_when(proposal.decided_at)}{reason}. Do not "
        "propose it again unless the user brings new information; tell the user it was rejected."
    )


def _tool_content(target: str, args: Mapping[str, Any]) -> dict[str, Any]:
    learning = args.get("learning")
    if target == "learned_knowledge":
        return {k: args.get(k) for k in ("title", "context", "tags")} | {"learning": learning}
    if target == "user_memory":
        return {"text": learning}
    if target == "user_profile":
        return {"field": args.get("field"), "value": learning}
    return {"entity": args.get("entity"), "entity_type": args.get("entity_type"), "fact": learning}


def _propose_targets(machine: LearningMachine) -> list[StoreName]:
    stores = [s for s in machine.stores_in_mode(LearningMode.PROPOSE) if s in _FIELDS]
    return sorted(stores, key=lambda s: s != "learned_knowledge")


_TARGET_HELP = {
    "learned_knowledge": "learned_knowledge: a reusable insight for everyone; pass title, the "
    "learning, optional context and tags",
    "user_memory": "user_memory: an observation about the user, as a short statement",
    "user_profile": "user_profile: a profile field; pass field and its value as the learning",
    "entity_memory": "entity_memory: a fact about a person, company or project; pass entity, "
    "optional entity_type, and the fact as the learning",
}


def create_propose_tools(machine: LearningMachine) -> list[BaseTool]:
    """The ``propose_learning`` tool for the machine's stores in PROPOSE mode (``[]`` if none).

    The tool stores a proposal (never the learning itself) and tells the model it awaits review.
    Ids come from the run (``runtime.context``, then ``config["configurable"]``), never from the
    model; the store from ``compile(store=...)``. Input the model can fix comes back as a tool
    error message.
    """
    targets = _propose_targets(machine)
    if not targets:
        return []
    profile_fields = ", ".join(_profile_schema(machine).profile_fields())
    target_type: Any = Literal.__getitem__(tuple(targets))
    args_schema = create_model(
        "ProposeLearningArgs",
        __config__=ConfigDict(arbitrary_types_allowed=True),
        learning=(
            str,
            Field(
                description="The learning itself: the insight, observation, "
                "profile value or fact, in one or two sentences."
            ),
        ),
        rationale=(str, Field(description="Why it is worth keeping, for the human reviewer.")),
        target=(
            target_type,
            Field(default=targets[0], description="Where it goes once approved."),
        ),
        title=(str | None, Field(default=None, description="learned_knowledge: a short title.")),
        context=(
            str | None,
            Field(default=None, description="learned_knowledge: when it applies."),
        ),
        tags=(list[str] | None, Field(default=None, description="learned_knowledge: tags.")),
        entity=(str | None, Field(default=None, description="entity_memory: the entity's name.")),
        entity_type=(str | None, Field(default=None, description="entity_memory: e.g. person.")),
        field=(
            str | None,
            Field(default=None, description=f"user_profile: one of {profile_fields}."),
        ),
        runtime=(_Runtime, ...),
    )

    def plan(runtime: _Runtime, args: dict[str, Any]) -> tuple[BaseStore, Plan[str]]:
        store = require_store(runtime.store, "propose_learning")
        scope = resolve_scope(runtime.context, runtime.config)
        target: StoreName = args.get("target") or targets[0]

        def steps() -> Plan[str]:
            proposal, outcome = yield from plan_propose(
                machine,
                scope,
                store=target,
                content=_tool_content(target, args),
                rationale=args.get("rationale") or "",
            )
            return describe_propose_outcome(proposal, outcome)

        return store, steps()

    def propose_learning(runtime: _Runtime, **args: Any) -> str:
        store, steps = plan(runtime, args)
        try:
            return run_plan(store, steps)
        except LearningInputError as exc:
            raise ToolException(str(exc)) from None

    async def apropose_learning(runtime: _Runtime, **args: Any) -> str:
        store, steps = plan(runtime, args)
        try:
            return await arun_plan(store, steps)
        except LearningInputError as exc:
            raise ToolException(str(exc)) from None

    description = (
        "Propose a learning for human review instead of saving it. It is stored as 'proposed' "
        "and is NOT remembered or used until a human approves it; tell the user it awaits review. "
        "Targets: " + "; ".join(_TARGET_HELP[t] for t in targets) + "."
    )
    return [
        StructuredTool.from_function(
            func=propose_learning,
            coroutine=apropose_learning,
            name="propose_learning",
            description=description,
            args_schema=args_schema,
            handle_tool_error=True,
        )
    ]


# -- deciding --------------------------------------------------------------------------------


def _apply(
    machine: LearningMachine | None, proposal: Proposal, content: Mapping[str, Any]
) -> Plan[str]:
    """Write an approved proposal's content to its store (idempotently); returns the record id."""
    provenance = Provenance(
        mode="propose",
        proposal_id=proposal.id,
        thread_id=proposal.thread_id,
        agent_id=proposal.agent_id,
        user_id=proposal.user_id,
    )
    scope = Scope(
        user_id=proposal.user_id,
        thread_id=proposal.thread_id,
        agent_id=proposal.agent_id or DEFAULT_AGENT_ID,
    )
    namespace = proposal.namespace or (machine.namespace if machine else "global")
    if proposal.store == "learned_knowledge":
        ns = learned_knowledge.knowledge_namespace(namespace, scope)
        record, _ = yield from learned_knowledge.save_learning(
            ns,
            provenance,
            title=content["title"],
            learning=content["learning"],
            context=content.get("context"),
            tags=content.get("tags"),
        )
        return record.id
    if proposal.store == "user_memory":
        memory, _ = yield from user_memory.add_memory(
            scope.require_user("user_memory"), content["text"], provenance
        )
        return memory.id
    if proposal.store == "user_profile":
        yield from user_profile.update_profile(
            scope.require_user("user_profile"),
            provenance,
            set_fields={content["field"]: content["value"]},
            schema=_profile_schema(machine),
        )
        return f"{user_profile.PROFILE_KEY}.{content['field']}"
    namespaces = entity_memory.entity_namespaces(namespace, scope)
    entity, _ = yield from entity_memory.create_entity(
        namespaces,
        provenance,
        name=content["entity"],
        entity_type=content.get("entity_type"),
        facts=[content["fact"]],
    )
    fp = fingerprint(content["fact"])
    fact = next((f for f in entity.live_facts() if fingerprint(f.text) == fp), None)
    return f"{entity.key}/{fact.id}" if fact else entity.key


def _decided_message(proposal: Proposal) -> str:
    return (
        f"Proposal {proposal.id!r} was already {proposal.status} by "
        f"{proposal.reviewer or 'an unknown reviewer'} at {_when(proposal.decided_at)}; "
        "only proposals with status 'proposed' can be decided."
    )


def plan_decide(
    proposal_id: str,
    decision: DecisionType,
    *,
    reviewer: str,
    content: Mapping[str, Any] | None = None,
    reason: str | None = None,
    machine: LearningMachine | None = None,
    strict: bool = True,
) -> Plan[tuple[Proposal, bool]]:
    """Approve, edit (approve with ``content`` changes merged in) or reject one proposal.

    Returns ``(proposal, decided)``; ``decided`` is ``False`` when ``strict=False`` and the
    proposal was decided already (left as it is). Approval writes the (edited) content to its
    store before marking the proposal, so a crash in between is healed by deciding again.

    Raises:
        InvalidReviewError: unknown id, an empty or invalid edit, or (``strict``) a proposal
            that was decided already.
    """
    reviewer = (reviewer or "").strip() or DEFAULT_REVIEWER
    proposal = yield from proposal_store.get_proposal(proposal_id)
    if proposal is None:
        raise InvalidReviewError(
            f"No proposal with id {proposal_id!r}; list them with list_pending_proposals()."
        )
    if proposal.status != "proposed":
        if strict:
            raise InvalidReviewError(_decided_message(proposal))
        return proposal, False
    now = utcnow()
    if decision == "reject":
        event = ReviewEvent(action="reject", by=reviewer, at=now, reason=reason or None)
        update: dict[str, Any] = {"status": "rejected", "reason": reason or None}
    else:
        new_content, changes = proposal.content, None
        if decision == "edit":
            new_content, changes = _edited(proposal, content, machine)
        applied_id = yield from _apply(machine, proposal, new_content)
        event = ReviewEvent(action=decision, by=reviewer, at=now, changes=changes)
        update = {"status": "approved", "content": new_content, "applied_id": applied_id}
    decided = proposal.model_copy(
        update={
            **update,
            "reviewer": reviewer,
            "decided_at": now,
            "history": [*proposal.history, event],
        }
    )
    yield from proposal_store.save_proposal(decided)
    return decided, True


def _edited(
    proposal: Proposal, changes: Mapping[str, Any] | None, machine: LearningMachine | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The edited content and ``{field: {"from": old, "to": new}}`` for what changed."""
    if not changes:
        raise InvalidReviewError(
            f"The edit of proposal {proposal.id!r} has empty content; pass the changed fields, "
            f"e.g. {{{_FIELDS[proposal.store][0][-1]!r}: '...'}}, or approve it unchanged."
        )
    try:
        new = normalize_content(proposal.store, {**proposal.content, **changes}, machine)
    except LearningInputError as exc:
        raise InvalidReviewError(
            f"The edit of proposal {proposal.id!r} is invalid: {exc}"
        ) from None
    diff = {
        k: {"from": proposal.content.get(k), "to": v}
        for k, v in new.items()
        if proposal.content.get(k) != v
    }
    return new, diff


# -- the interrupt: payload and typed response -------------------------------------------------


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
                    _edited(pending[d.proposal_id], d.content, machine)
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
    thread_id = scope.require_thread("review_learnings")
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
    ns, key = _review_marker(scope.require_thread("review_learnings"))
    yield [PutOp(ns, key, None)]
    return out


def review_pending(machine: LearningMachine, store: BaseStore, scope: Scope) -> list[Proposal]:
    """Ask a human about the thread's pending proposals with ONE ``interrupt()``, then apply.

    Call it inside a LangGraph node or middleware hook (it may interrupt). Returns the decided
    proposals, or ``[]`` without interrupting when nothing is pending (e.g. everything was
    decided through the review API while the thread waited).
    """
    found = run_plan(store, plan_review_request(machine, scope))
    if found is None:
        return []
    request, schema = found
    response = interrupt(request, response_schema=schema)
    return run_plan(store, plan_apply_review(machine, response, scope))


async def areview_pending(
    machine: LearningMachine, store: BaseStore, scope: Scope
) -> list[Proposal]:
    """Async twin of :func:`review_pending`."""
    found = await arun_plan(store, plan_review_request(machine, scope))
    if found is None:
        return []
    request, schema = found
    response = interrupt(request, response_schema=schema)
    return await arun_plan(store, plan_apply_review(machine, response, scope))


def create_approval_node(machine: LearningMachine, *, name: str = "review_learnings") -> GraphNode:
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


# -- review outside the graph ------------------------------------------------------------------


def list_pending_proposals(
    store: BaseStore,
    *,
    user_id: str | None = None,
    thread_id: str | None = None,
    store_name: str | None = None,
) -> list[Proposal]:
    """Proposals awaiting review, across threads and users unless filtered, oldest first."""
    plan = proposal_store.list_proposals(
        status="proposed", user_id=user_id, thread_id=thread_id, store=store_name
    )
    return run_plan(store, plan)


async def alist_pending_proposals(
    store: BaseStore,
    *,
    user_id: str | None = None,
    thread_id: str | None = None,
    store_name: str | None = None,
) -> list[Proposal]:
    """Async twin of :func:`list_pending_proposals`."""
    plan = proposal_store.list_proposals(
        status="proposed", user_id=user_id, thread_id=thread_id, store=store_name
    )
    return await arun_plan(store, plan)


def proposal_history(
    store: BaseStore,
    *,
    user_id: str | None = None,
    thread_id: str | None = None,
    store_name: str | None = None,
    status: Literal["proposed", "approved", "rejected"] | None = None,
) -> list[Proposal]:
    """The audit trail: proposals of every status (or ``status``), each with its ``history``."""
    plan = proposal_store.list_proposals(
        status=status, user_id=user_id, thread_id=thread_id, store=store_name
    )
    return run_plan(store, plan)


async def aproposal_history(
    store: BaseStore,
    *,
    user_id: str | None = None,
    thread_id: str | None = None,
    store_name: str | None = None,
    status: Literal["proposed", "approved", "rejected"] | None = None,
) -> list[Proposal]:
    """Async twin of :func:`proposal_history`."""
    plan = proposal_store.list_proposals(
        status=status, user_id=user_id, thread_id=thread_id, store=store_name
    )
    return await arun_plan(store, plan)


def get_proposal(store: BaseStore, proposal_id: str) -> Proposal | None:
    """One proposal by id, whatever its status, or ``None``."""
    return run_plan(store, proposal_store.get_proposal(proposal_id))


async def aget_proposal(store: BaseStore, proposal_id: str) -> Proposal | None:
    """Async twin of :func:`get_proposal`."""
    return await arun_plan(store, proposal_store.get_proposal(proposal_id))


def _approve_plan(
    proposal_id: str,
    reviewer: str,
    content: Mapping[str, Any] | None,
    machine: LearningMachine | None,
) -> Plan[Proposal]:
    kind: DecisionType = "approve" if content is None else "edit"
    proposal, _ = yield from plan_decide(
        proposal_id, kind, reviewer=reviewer, content=content, machine=machine
    )
    return proposal


def _reject_plan(proposal_id: str, reviewer: str, reason: str | None) -> Plan[Proposal]:
    proposal, _ = yield from plan_decide(proposal_id, "reject", reviewer=reviewer, reason=reason)
    return proposal


def approve_proposal(
    store: BaseStore,
    proposal_id: str,
    *,
    reviewer: str,
    content: Mapping[str, Any] | None = None,
    machine: LearningMachine | None = None,
) -> Proposal:
    """Approve a pending proposal: write it to its store and mark it ``approved``.

    Args:
        content: the changed fields, to approve an edited version (recorded as an edit).
        machine: needed only for a custom ``UserProfile`` schema of ``user_profile`` proposals.

    Raises:
        InvalidReviewError: unknown id, an invalid edit, or a proposal decided already.
    """
    return run_plan(store, _approve_plan(proposal_id, reviewer, content, machine))


async def aapprove_proposal(
    store: BaseStore,
    proposal_id: str,
    *,
    reviewer: str,
    content: Mapping[str, Any] | None = None,
    machine: LearningMachine | None = None,
) -> Proposal:
    """Async twin of :func:`approve_proposal`."""
    return await arun_plan(store, _approve_plan(proposal_id, reviewer, content, machine))


def reject_proposal(
    store: BaseStore, proposal_id: str, *, reviewer: str, reason: str | None = None
) -> Proposal:
    """Reject a pending proposal; it is kept with reviewer, reason and time for audit.

    Raises:
        InvalidReviewError: unknown id, or a proposal decided already.
    """
    return run_plan(store, _reject_plan(proposal_id, reviewer, reason))


async def areject_proposal(
    store: BaseStore, proposal_id: str, *, reviewer: str, reason: str | None = None
) -> Proposal:
    """Async twin of :func:`reject_proposal`."""
    return await arun_plan(store, _reject_plan(proposal_id, reviewer, reason))
