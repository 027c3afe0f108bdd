"""The one table of store kinds: what each of the six learning stores is, read by every layer.

A store's rules (which id scopes it, its namespace label, its id prefix, whether recall ranks
it, what a proposal for it carries, whether extraction serves it, its CLI name, its modes) are
written here once. Config, stores, extraction, approval, tools, recall and the CLI look them up
with :func:`kind` or iterate over :data:`KINDS` instead of spelling store names themselves.

>>> kind("user_memory").cli_name
'memory'
>>> [k.name for k in KINDS if k.proposable]
['user_profile', 'user_memory', 'entity_memory', 'learned_knowledge']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal, get_args

from agno_learn_langgraph.scope import Scope

__all__ = [
    "KINDS",
    "STORE_NAMES",
    "LearningMode",
    "OwnerScope",
    "StoreKind",
    "StoreName",
    "kind",
    "kind_by_cli_name",
]


class LearningMode(str, Enum):
    """When a store learns: after each response, through agent tools, or by approved proposals."""

    ALWAYS = "always"
    AGENTIC = "agentic"
    PROPOSE = "propose"

    def __str__(self) -> str:
        return self.value


StoreName = Literal[
    "user_profile",
    "user_memory",
    "session_context",
    "entity_memory",
    "learned_knowledge",
    "decision_log",
]
STORE_NAMES: tuple[StoreName, ...] = get_args(StoreName)

OwnerScope = Literal["user", "thread", "agent", "namespace"]
"""Which id owns a store's data: the user, the thread, the agent, or a configured namespace
(``"global"``, ``"user"`` for per-user, or a custom name)."""


@dataclass(frozen=True)
class StoreKind:
    """Everything the layers need to know about one learning store.

    Attributes:
        name: the store's name (its config key and namespace label under ``"learning"``).
        owner: which id scopes the store's data (see :data:`OwnerScope`).
        cli_name: the store's name on the ``agno-learn`` command line.
        title: the store's name in prose (``"user memory"``).
        id_prefix: how the ids of its records start (``"mem_"``), or the id form the CLI shows
            for a one-record store (``"profile:"``); ``None`` when records are keyed by name.
        ranked: recall ranks its records against the query (BM25 or vectors).
        extractable: ALWAYS extraction can write it.
        proposal_fields: the content fields a proposal for it requires, then the optional
            ones; ``None`` when it cannot be proposed.
        supported_modes: the modes it can learn in (its default mode is its config class's).
    """

    name: StoreName
    owner: OwnerScope
    cli_name: str
    title: str
    id_prefix: str | None
    ranked: bool
    extractable: bool
    proposal_fields: tuple[tuple[str, ...], tuple[str, ...]] | None
    supported_modes: tuple[LearningMode, ...]

    @property
    def proposable(self) -> bool:
        """Whether the store can learn in PROPOSE mode."""
        return self.proposal_fields is not None

    @property
    def namespaced(self) -> bool:
        """Whether the store lives in a configurable namespace (global, per user or custom)."""
        return self.owner == "namespace"

    def per_user(self, namespace: str | None = None) -> bool:
        """Whether the data belongs to one user (its namespace is ``"user"`` when namespaced)."""
        return self.owner == "user" or (self.owner == "namespace" and namespace == "user")

    def owner_id(self, scope: Scope, namespace: str | None = None) -> str | None:
        """The id that scopes this store's data for ``scope`` (``None`` for shared namespaces).

        Raises:
            MissingScopeError: the run lacks the user or thread id the store needs.
        """
        if self.owner == "user":
            return scope.require_user(self.name)
        if self.owner == "thread":
            return scope.require_thread(self.name)
        if self.owner == "agent":
            return scope.agent_id
        if namespace == "user":
            return scope.require_user(f"{self.name} (namespace='user')")
        return None

    def data_key(self, scope: Scope, namespace: str | None = None) -> tuple[str | None, ...]:
        """Identity of the data one write touches: what write locks are keyed by.

        ``namespace`` only counts for namespaced stores, so every writer of the same data
        (tools, extraction, approval) names the same key.
        """
        return (self.name, namespace if self.namespaced else None, self.owner_id(scope, namespace))


_ALL = (LearningMode.ALWAYS, LearningMode.AGENTIC, LearningMode.PROPOSE)
_ALWAYS, _AGENTIC = LearningMode.ALWAYS, LearningMode.AGENTIC

_Fields = tuple[tuple[str, ...], tuple[str, ...]] | None


def _kind(
    name: StoreName,
    owner: OwnerScope,
    cli_name: str,
    id_prefix: str | None,
    ranked: bool,
    extractable: bool,
    proposal_fields: _Fields,
    modes: tuple[LearningMode, ...],
) -> StoreKind:
    title = name.replace("_", " ")
    return StoreKind(name, owner, cli_name, title, id_prefix, ranked, extractable,
                     proposal_fields, modes)  # fmt: skip


# fmt: off
KINDS: tuple[StoreKind, ...] = (
    #     name                owner        CLI name     id prefix   ranked extracted
    #     proposal fields (required, optional)          modes
    _kind("user_profile",      "user",      "profile",   "profile:", False, True,
          (("field", "value"), ()),                     _ALL),
    _kind("user_memory",       "user",      "memory",    "mem_",     True,  True,
          (("text",), ()),                              _ALL),
    _kind("session_context",   "thread",    "session",   "session:", False, True,
          None,                                         (_ALWAYS,)),
    _kind("entity_memory",     "namespace", "entity",    None,       True,  True,
          (("entity", "fact"), ("entity_type",)),       _ALL),
    _kind("learned_knowledge", "namespace", "knowledge", "lk_",      True,  True,
          (("title", "learning"), ("context", "tags")), _ALL),
    _kind("decision_log",      "agent",     "decision",  "dec_",     True,  False,
          None,                                         (_AGENTIC,)),
)
# fmt: on
"""The six stores in canonical order (the order of prompts, reports and the CLI)."""

_BY_NAME: dict[str, StoreKind] = {k.name: k for k in KINDS}
_BY_CLI_NAME: dict[str, StoreKind] = {k.cli_name: k for k in KINDS}


def kind(name: str) -> StoreKind:
    """The kind of store ``name``.

    Raises:
        ValueError: ``name`` is no store; the message lists the store names.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"Unknown learning store {name!r}; expected one of {', '.join(STORE_NAMES)}."
        ) from None


def kind_by_cli_name(cli_name: str) -> StoreKind:
    """The kind whose CLI name is ``cli_name`` (``"memory"`` -> user memory).

    Raises:
        ValueError: no store has that CLI name; the message lists them.
    """
    try:
        return _BY_CLI_NAME[cli_name]
    except KeyError:
        names = ", ".join(_BY_CLI_NAME)
        raise ValueError(f"Unknown store kind {cli_name!r}; expected one of {names}.") from None
