"""Proposing: store a learning with ``status="proposed"``, and the ``propose_learning`` tool.

ALWAYS extraction for a PROPOSE store calls :func:`plan_propose` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field, create_model

from agno_learn_langgraph.approval.content import (
    PROPOSABLE_STORES,
    content_fields,
    content_fingerprint,
    format_when,
    main_field,
    normalize_content,
)
from agno_learn_langgraph.approval.writers import DEFAULT_TARGET, profile_schema
from agno_learn_langgraph.core import Plan, arun_plan, run_plan
from agno_learn_langgraph.errors import LearningInputError, UnsupportedModeError
from agno_learn_langgraph.graph_node import require_store
from agno_learn_langgraph.kinds import LearningMode, StoreName, kind
from agno_learn_langgraph.machine import LearningMachine
from agno_learn_langgraph.records import Proposal, ReviewEvent, WriterMode
from agno_learn_langgraph.scope import Scope, resolve_scope
from agno_learn_langgraph.stores import proposals as proposal_store

__all__ = [
    "ProposeOutcome",
    "create_propose_tools",
    "describe_propose_outcome",
    "plan_propose",
    "propose_args_schema",
    "propose_targets",
]

ProposeOutcome = Literal["created", "duplicate_pending", "previously_rejected"]
"""What :func:`plan_propose` did: stored a proposal, or found an identical pending/rejected one."""

_Runtime = ToolRuntime[Any, Any]
"""Parametrised, so pydantic does not warn when it serialises the user's context."""


def plan_propose(
    machine: LearningMachine,
    scope: Scope,
    *,
    target: StoreName,
    content: dict[str, Any],
    rationale: str,
    proposed_by: WriterMode = "propose",
) -> Plan[tuple[Proposal, ProposeOutcome]]:
    """Store a learning for ``target`` with ``status="proposed"``, unless it was proposed before.

    Returns ``(proposal, "created")``, the identical pending proposal with
    ``"duplicate_pending"``, or the identical rejected one with ``"previously_rejected"``
    (nothing is stored then).

    Raises:
        LearningInputError: content that does not fit the store (see :func:`normalize_content`).
        UnsupportedModeError: ``target`` is off in ``machine`` or cannot be proposed.
        MissingScopeError: a per-user target and no ``scope.user_id``.
    """
    config = machine.config(target)
    if config is None or LearningMode.PROPOSE not in config.supported_modes:
        enabled = machine.stores_in_mode(LearningMode.PROPOSE)
        raise UnsupportedModeError(
            f"Cannot propose for {target!r}: it is {'off' if config is None else 'not proposable'} "
            f"in this LearningMachine; stores in PROPOSE mode: {', '.join(enabled) or 'none'}."
        )
    cleaned = normalize_content(target, content, machine)
    store_kind = kind(target)
    namespace = machine.namespace_for(target) if store_kind.namespaced else None
    store_kind.owner_id(scope, namespace)  # a per-user target needs the user id
    proposal = Proposal(
        store=target,
        content=cleaned,
        rationale=(rationale or "").strip(),
        proposed_by=proposed_by,
        user_id=scope.user_id,
        thread_id=scope.thread_id,
        agent_id=scope.agent_id,
        namespace=namespace,
        fingerprint=content_fingerprint(target, cleaned),
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
        f"{proposal.reviewer or 'a reviewer'} on {format_when(proposal.decided_at)}{reason}. Do "
        "not propose it again unless the user brings new information; tell the user it was "
        "rejected."
    )


# -- the tool --------------------------------------------------------------------------------


def propose_targets(machine: LearningMachine) -> list[StoreName]:
    """The machine's stores in PROPOSE mode, the tool's default target first."""
    stores = [s for s in machine.stores_in_mode(LearningMode.PROPOSE) if s in PROPOSABLE_STORES]
    return sorted(stores, key=lambda s: s != DEFAULT_TARGET)


_FIELD_HELP: dict[str, tuple[Any, str]] = {
    "title": (str, "a short title"),
    "context": (str, "when it applies"),
    "tags": (list[str], "tags"),
    "entity": (str, "the entity's name"),
    "entity_type": (str, "e.g. person, company or project"),
    "field": (str, "one of {profile_fields}"),
}
"""Type and help of each extra content field the tool may offer (the learning is the main one)."""


def _extra_fields(target: str) -> tuple[str, ...]:
    required, optional = content_fields(target)
    return (*required[:-1], *optional)


def propose_args_schema(machine: LearningMachine) -> type[BaseModel] | None:
    """The ``propose_learning`` arguments: the learning, rationale and target, plus only the
    fields the machine's PROPOSE stores use (``None`` when no store is in PROPOSE mode)."""
    targets = propose_targets(machine)
    if not targets:
        return None
    users: dict[str, list[str]] = {}
    for target in targets:
        for name in _extra_fields(target):
            users.setdefault(name, []).append(target)
    profile_fields = ", ".join(profile_schema(machine).profile_fields())
    extra: dict[str, Any] = {}
    for name in sorted(users, key=list(_FIELD_HELP).index):
        type_, help_ = _FIELD_HELP[name]
        text = f"{', '.join(users[name])}: {help_.format(profile_fields=profile_fields)}."
        extra[name] = (type_ | None, Field(default=None, description=text))
    target_type: Any = Literal.__getitem__(tuple(targets))
    return create_model(
        "ProposeLearningArgs",
        __config__=ConfigDict(arbitrary_types_allowed=True),
        learning=(
            str,
            Field(
                description="The learning itself: "
                + ", ".join(f"the {main_field(t)} for {t}" for t in targets)
                + "; one or two sentences."
            ),
        ),
        rationale=(str, Field(description="Why it is worth keeping, for the human reviewer.")),
        target=(target_type, Field(default=targets[0], description="Where it goes once approved.")),
        **extra,
        runtime=(_Runtime, ...),
    )


def _target_help(machine: LearningMachine, target: StoreName) -> str:
    store_kind = kind(target)
    namespace = machine.namespace_for(target) if store_kind.namespaced else None
    whose = "about this user" if store_kind.per_user(namespace) else "shared with other users"
    extra = _extra_fields(target)
    passing = f"; pass {', '.join(extra)}" if extra else ""
    main = main_field(target)
    return f"{target}: {store_kind.title} {whose}, the learning being its {main}{passing}"


def tool_content(target: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal's content from the tool's arguments (the learning is the main field)."""
    return {name: args.get(name) for name in _extra_fields(target)} | {
        main_field(target): args.get("learning")
    }


def create_propose_tools(machine: LearningMachine) -> list[BaseTool]:
    """The ``propose_learning`` tool for the machine's stores in PROPOSE mode (``[]`` if none).

    The tool stores a proposal (never the learning itself) and tells the model it awaits review.
    Ids come from the run (``runtime.context``, then ``config["configurable"]``), never from the
    model; the store from ``compile(store=...)``. Input the model can fix comes back as a tool
    error message. Its arguments offer only the fields the PROPOSE stores use.
    """
    args_schema = propose_args_schema(machine)
    if args_schema is None:
        return []
    targets = propose_targets(machine)

    def plan(runtime: _Runtime, args: dict[str, Any]) -> tuple[BaseStore, Plan[str]]:
        store = require_store(runtime.store, "propose_learning")
        scope = resolve_scope(runtime.context, runtime.config)
        target: StoreName = args.get("target") or targets[0]

        def steps() -> Plan[str]:
            try:
                proposal, outcome = yield from plan_propose(
                    machine,
                    scope,
                    target=target,
                    content=tool_content(target, args),
                    rationale=args.get("rationale") or "",
                )
            except LearningInputError as exc:
                raise ToolException(str(exc)) from None
            return describe_propose_outcome(proposal, outcome)

        return store, steps()

    def propose_learning(runtime: _Runtime, **args: Any) -> str:
        return run_plan(*plan(runtime, args))

    async def apropose_learning(runtime: _Runtime, **args: Any) -> str:
        return await arun_plan(*plan(runtime, args))

    description = (
        "Propose a learning for human review instead of saving it. It is stored as 'proposed' "
        "and is NOT remembered or used until a human approves it; tell the user it awaits review. "
        "Targets: " + "; ".join(_target_help(machine, t) for t in targets) + "."
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
