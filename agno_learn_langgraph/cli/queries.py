"""Which stored records a command looks at: the CLI's kinds, filters and store queries.

The CLI's kinds are the learning stores' CLI names (from :mod:`agno_learn_langgraph.kinds`)
plus ``proposal``. Where a record belongs (user, thread, agent, namespace) is read by matching
its namespace against the stores' own namespace functions, never by re-deriving the layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.core import ROOT, decode_label
from agno_learn_langgraph.errors import LearningInputError, MissingScopeError
from agno_learn_langgraph.kinds import KINDS as STORE_KINDS
from agno_learn_langgraph.kinds import StoreKind, kind_by_cli_name
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.decision_log import decision_namespace
from agno_learn_langgraph.stores.entity_memory import entity_key, entity_namespaces
from agno_learn_langgraph.stores.learned_knowledge import knowledge_namespace
from agno_learn_langgraph.stores.proposals import PROPOSALS_NAMESPACE
from agno_learn_langgraph.stores.session_context import session_namespace
from agno_learn_langgraph.stores.user_memory import memory_namespace
from agno_learn_langgraph.stores.user_profile import profile_namespace

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore, Item

__all__ = [
    "KINDS",
    "PROPOSABLE_KINDS",
    "PROPOSAL",
    "Filters",
    "Found",
    "find_by_id",
    "owned_by_thread",
    "select",
    "store_kind",
    "user_alias_items",
]

PROPOSAL = "proposal"
KINDS: tuple[str, ...] = (*(k.cli_name for k in STORE_KINDS), PROPOSAL)
"""The CLI's kinds: every store's CLI name, then ``proposal``."""
PROPOSABLE_KINDS: tuple[str, ...] = tuple(k.cli_name for k in STORE_KINDS if k.proposable)
_PROPOSAL_ID_PREFIX = "prop_"
_PAGE = 500

OwnedNamespace = Callable[[str], tuple[str, ...]]
SharedNamespace = Callable[[str, Scope], tuple[str, ...]]


def _entities(namespace: str, scope: Scope) -> tuple[str, ...]:
    return entity_namespaces(namespace, scope)[0]


def _aliases(namespace: str, scope: Scope) -> tuple[str, ...]:
    return entity_namespaces(namespace, scope)[1]


def _by_store(functions: tuple[Any, ...], probe: tuple[Any, ...]) -> dict[str, Any]:
    """The stores' namespace functions, keyed by the store (namespace label) each writes."""
    return {fn(*probe)[1]: fn for fn in functions}


_OWNED: dict[str, OwnedNamespace] = _by_store(
    (profile_namespace, memory_namespace, session_namespace, decision_namespace), ("-",)
)
"""Namespace functions of the stores owned by one user, thread or agent id."""
_SHARED: dict[str, SharedNamespace] = _by_store(
    (_entities, knowledge_namespace), ("global", Scope())
)
"""Namespace functions of the stores kept in a global, per-user or custom namespace."""


def store_kind(cli_kind: str) -> StoreKind | None:
    """The learning store of a CLI kind (``None`` for ``proposal``)."""
    return None if cli_kind == PROPOSAL else kind_by_cli_name(cli_kind)


def _owner_of(store: StoreKind, namespace: tuple[str, ...]) -> str | None:
    """The user, thread or agent id for which the store's namespace function gives ``namespace``."""
    for label in namespace:
        owner = decode_label(label)
        with suppress(MissingScopeError):
            if _OWNED[store.name](owner) == namespace:
                return owner
    return None


def _space_of(
    namespace_of: SharedNamespace, namespace: tuple[str, ...]
) -> tuple[str | None, str | None]:
    """``(namespace name, user or None)`` for which ``namespace_of`` gives ``namespace``."""
    labels = [decode_label(label) for label in namespace]
    candidates = [("global", None)] + [("user", x) for x in labels] + [(x, None) for x in labels]
    for space, user in candidates:
        with suppress(MissingScopeError):
            if namespace_of(space, Scope(user_id=user)) == namespace:
                return space, user
    return None, None


# -- records, whatever their store ------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One stored record, with who and where it belongs to."""

    kind: str
    id: str
    key: str
    namespace: tuple[str, ...]
    value: dict[str, Any]
    updated_at: datetime
    user_id: str | None = None
    thread_id: str | None = None
    agent_id: str | None = None
    space: str | None = None
    """``global``, ``user`` or a custom namespace name (entities, knowledge, proposals)."""

    @property
    def status(self) -> str | None:
        """The record's review status, if it has one."""
        return self.value.get("status")

    @property
    def where(self) -> str:
        """Namespace, user, thread and (for decisions) agent, as ``key=value`` tags."""
        tags = []
        if self.space == "global":
            tags.append("global")
        elif self.space and self.space != "user":
            tags.append(f"ns={self.space}")
        tags += [f"user={self.user_id}"] if self.user_id else []
        tags += [f"thread={self.thread_id}"] if self.thread_id else []
        owner = store_kind(self.kind)
        if owner is not None and owner.owner == "agent" and self.agent_id:
            tags.append(f"agent={self.agent_id}")
        return " ".join(tags)


def _found(cli_kind: str, item: Item) -> Found:
    """Who and where a stored item belongs to, read from its namespace and provenance."""
    value = dict(item.value)
    prov = value.get("provenance") or {}
    base = Found(
        kind=cli_kind,
        id=item.key,
        key=item.key,
        namespace=tuple(item.namespace),
        value=value,
        updated_at=item.updated_at,
        user_id=prov.get("user_id"),
        thread_id=prov.get("thread_id"),
        agent_id=prov.get("agent_id"),
    )
    store = store_kind(cli_kind)
    if store is None:
        return replace(
            base,
            user_id=value.get("user_id"),
            thread_id=value.get("thread_id"),
            agent_id=value.get("agent_id"),
            space=value.get("namespace"),
        )
    if store.namespaced:
        space, user = _space_of(_SHARED[store.name], base.namespace)
        return replace(base, space=space, user_id=user)
    owner = _owner_of(store, base.namespace)
    one_record = bool(store.id_prefix and store.id_prefix.endswith(":"))  # profile:, session:
    record_id = f"{store.id_prefix}{owner}" if one_record else item.key
    if store.owner == "user":
        return replace(base, id=record_id, user_id=owner)
    if store.owner == "thread":
        return replace(base, id=record_id, thread_id=owner)
    return replace(base, id=record_id, agent_id=owner)


# -- finding records --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which records a command looks at; ``None`` means any."""

    kinds: tuple[str, ...] = KINDS
    user: str | None = None
    thread: str | None = None
    namespace: str | None = None

    def matches(self, row: Found, *, any_user: bool = False) -> bool:
        """Whether ``row`` passes every given filter (``any_user``: ignore the user)."""
        return (
            (any_user or self.user is None or row.user_id == self.user)
            and (self.thread is None or row.thread_id == self.thread)
            and (self.namespace is None or row.space == self.namespace)
        )

    def describe(self) -> str:
        """The filters as the options that set them, for messages."""
        given = [("user", self.user), ("thread", self.thread), ("namespace", self.namespace)]
        parts = [f"--{k} {v}" for k, v in given if v]
        if self.kinds != KINDS:
            parts += [f"--kind {k}" for k in self.kinds]
        return " ".join(parts) or "no filters"


def _items(store: BaseStore, prefix: tuple[str, ...]) -> Iterator[Item]:
    """Every item under a namespace prefix, page by page."""
    offset = 0
    while True:
        page = store.search(prefix, limit=_PAGE, offset=offset)
        yield from page
        if len(page) < _PAGE:
            return
        offset += _PAGE


def _prefix(cli_kind: str, flt: Filters) -> tuple[str, ...]:
    """The narrowest namespace prefix that can hold ``cli_kind`` records matching ``flt``."""
    store = store_kind(cli_kind)
    if store is None:
        return PROPOSALS_NAMESPACE
    owner = {"user": flt.user, "thread": flt.thread}.get(store.owner)
    if owner:
        return _OWNED[store.name](owner)
    return (ROOT, store.name)


def _walk(store: BaseStore, cli_kind: str, flt: Filters) -> Iterator[Found]:
    seen: set[tuple[tuple[str, ...], str]] = set()
    for item in _items(store, _prefix(cli_kind, flt)):
        if (tuple(item.namespace), item.key) not in seen:
            seen.add((tuple(item.namespace), item.key))
            yield _found(cli_kind, item)


def owned_by_thread(cli_kind: str) -> bool:
    """Whether records of ``cli_kind`` belong to a thread (session contexts)."""
    store = store_kind(cli_kind)
    return store is not None and store.owner == "thread"


def select(store: BaseStore, flt: Filters) -> list[Found]:
    """Records matching ``flt``, by kind, newest first within a kind.

    With a user, session contexts count as theirs when their provenance names the user or when
    another of the user's records was written in that thread.
    """
    rows: list[Found] = []
    for cli_kind in flt.kinds:
        if owned_by_thread(cli_kind) and flt.user:
            threads = _user_threads(store, flt)
            found = [
                r
                for r in _walk(store, cli_kind, flt)
                if flt.matches(r) or (r.thread_id in threads and flt.matches(r, any_user=True))
            ]
        else:
            found = [r for r in _walk(store, cli_kind, flt) if flt.matches(r)]
        rows += sorted(found, key=lambda r: r.updated_at, reverse=True)
    return rows


def _user_threads(store: BaseStore, flt: Filters) -> set[str]:
    others = Filters(kinds=tuple(k for k in KINDS if not owned_by_thread(k)), user=flt.user)
    return {r.thread_id for r in select(store, others) if r.thread_id}


def _kinds_for_id(record_id: str) -> tuple[str, ...]:
    """The kind an id's prefix names; an id without a known prefix is an entity key."""
    if record_id.startswith(_PROPOSAL_ID_PREFIX):
        return (PROPOSAL,)
    for store in STORE_KINDS:
        if store.id_prefix and record_id.startswith(store.id_prefix):
            return (store.cli_name,)
    return tuple(k.cli_name for k in STORE_KINDS if k.id_prefix is None)


def _entity_store() -> StoreKind:
    (store,) = (k for k in STORE_KINDS if k.id_prefix is None)
    return store


def _entity_refs(store: BaseStore, name: str) -> set[tuple[tuple[str, ...], str]]:
    """``(entity namespace, key)`` pairs an entity key, name or alias refers to."""
    try:
        key = entity_key(name)
    except LearningInputError:
        return set()
    refs: set[tuple[tuple[str, ...], str]] = set()
    for item in _items(store, _aliases("global", Scope())[:2]):
        if item.key == key and isinstance(item.value.get("entity_key"), str):
            space, user = _space_of(_aliases, tuple(item.namespace))
            if space is not None:
                refs.add((_entities(space, Scope(user_id=user)), item.value["entity_key"]))
    return refs


def find_by_id(store: BaseStore, record_id: str, flt: Filters) -> list[Found]:
    """Records with this id; entities also by name or alias (one per namespace).

    Without ``--kind``, the id's prefix (``mem_``, ``lk_``, ``prop_``...) says where to look.
    """
    kinds = flt.kinds if flt.kinds != KINDS else _kinds_for_id(record_id)
    rows = select(store, replace(flt, kinds=kinds))
    entity = _entity_store().cli_name
    keys: set[str] = set()
    refs: set[tuple[tuple[str, ...], str]] = set()
    if entity in kinds:
        with suppress(LearningInputError):
            keys.add(entity_key(record_id))
        refs = _entity_refs(store, record_id)
    return [
        r
        for r in rows
        if record_id in (r.id, r.key)
        or (r.kind == entity and (r.key in keys or (r.namespace, r.key) in refs))
    ]


def user_alias_items(store: BaseStore, user: str) -> list[Item]:
    """The entity aliases in ``user``'s own namespace."""
    return list(_items(store, _aliases("user", Scope(user_id=user))))
