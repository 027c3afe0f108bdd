"""What the six stores share: the namespace layout, plans (store operations as data) and ranking.

Every store function is a *plan*: a generator that yields lists of LangGraph store operations
(``GetOp``, ``PutOp``, ``SearchOp``) and receives their results. :func:`run_plan` executes a plan
with ``store.batch`` and :func:`arun_plan` with ``await store.abatch``, so sync and async share one
core and each step is one round trip, whatever the backend.

Namespace layout (labels containing ``.`` or ``%`` are percent-encoded: ``alice@example%2Ecom``)::

    ("learning", "user_profile", <user>)              key "profile"
    ("learning", "user_memory", <user>)               key "mem_..."
    ("learning", "session_context", <thread>)         key "context"
    ("learning", "entity_memory", *<ns>)              key <entity key>, e.g. "acme"
    ("learning", "entity_alias", *<ns>)               key <alias key> -> {"entity_key": ...}
    ("learning", "learned_knowledge", *<ns>)          key "lk_<title hash>"
    ("learning", "decision_log", <agent>)             key "dec_..."
    ("learning", "proposals")                         key "prop_..."
    ("learning", "cursors", <thread>)                 key "extraction"

where ``*<ns>`` is ``("global",)``, ``("user", <user>)`` or ``("ns", <custom name>)``.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Callable,
    Generator,
    Hashable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar, cast

from langgraph.store.base import BaseStore, GetOp, Item, Op, PutOp, Result, SearchItem, SearchOp

from agno_learn_langgraph.errors import MissingScopeError
from agno_learn_langgraph.records import normalize_text
from agno_learn_langgraph.scope import Scope

__all__ = [
    "ROOT",
    "SCAN_LIMIT",
    "Plan",
    "arun_plan",
    "as_item",
    "as_items",
    "async_write_lock",
    "data_key",
    "decode_label",
    "encode_label",
    "gather_plans",
    "get_one",
    "has_vector_index",
    "lexical_rank",
    "namespace_scope",
    "put",
    "run_plan",
    "search_all",
    "tokenize",
    "write_lock",
]

T = TypeVar("T")
Plan = Generator[list[Op], list[Result], T]
"""A store plan: yields batches of ops, receives their results, returns a value."""

ROOT = "learning"
SCAN_LIMIT = 10_000
"""Most items a lexical (index-less) search reads from one namespace."""


def run_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``store.batch`` (one call per step)."""
    try:
        ops = next(plan)
        while True:
            ops = plan.send(store.batch(ops) if ops else [])
    except StopIteration as done:
        return done.value


async def arun_plan(store: BaseStore, plan: Plan[T]) -> T:
    """Execute ``plan`` against ``store`` with ``await store.abatch`` (one call per step)."""
    try:
        ops = next(plan)
        while True:
            ops = plan.send(await store.abatch(ops) if ops else [])
    except StopIteration as done:
        return done.value


def encode_label(value: str) -> str:
    """Make an id usable as a namespace label (LangGraph rejects ``.``): percent-encode ``.``/``%``.

    >>> encode_label("alice@example.com")
    'alice@example%2Ecom'
    """
    if not isinstance(value, str) or not value:
        raise MissingScopeError(f"Namespace ids must be non-empty strings, got {value!r}.")
    return value.replace("%", "%25").replace(".", "%2E")


def decode_label(label: str) -> str:
    """Inverse of :func:`encode_label`."""
    return label.replace("%2E", ".").replace("%25", "%")


def namespace_scope(namespace: str, scope: Scope, store: str) -> tuple[str, ...]:
    """The namespace labels of a ``global``/``user``/custom namespace (see the module layout)."""
    if namespace == "global":
        return ("global",)
    if namespace == "user":
        return ("user", encode_label(scope.require_user(f"{store} (namespace='user')")))
    return ("ns", encode_label(namespace))


def has_vector_index(store: BaseStore) -> bool:
    """Whether ``store`` was built with ``index=`` (otherwise ``query=`` is silently ignored)."""
    return bool(getattr(store, "index_config", None))


def put(
    namespace: tuple[str, ...], key: str, value: dict[str, Any], *, search_text: str | None = None
) -> PutOp:
    """A ``PutOp``; with ``search_text`` the item is embedded (when the store has an index)."""
    if search_text is None:
        return PutOp(namespace, key, value, index=False)
    return PutOp(namespace, key, {**value, "search_text": search_text}, index=["search_text"])


def get_one(namespace: tuple[str, ...], key: str) -> Plan[Item | None]:
    """Read one item."""
    (item,) = yield [GetOp(namespace, key)]
    return item  # type: ignore[return-value]


def search_all(
    namespace: tuple[str, ...],
    *,
    filter: dict[str, Any] | None = None,
    query: str | None = None,
    limit: int = SCAN_LIMIT,
) -> SearchOp:
    """A ``SearchOp`` that lists (or, with ``query`` on an indexed store, ranks) a namespace."""
    return SearchOp(namespace, filter=filter, limit=limit, offset=0, query=query)


# -- lexical ranking (used when the store has no vector index) ------------------------------------

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "about",
        "also",
        "just",
        "like",
        "please",
        "tell",
        "know",
        "want",
        "need",
    ]
)
_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lowercase, accent-folded word tokens without stopwords, with simple plural stripping.

    >>> tokenize("The companies' APIs are rate-limited")
    ['companie', 'api', 'rate', 'limited']
    """
    out = []
    for token in _TOKEN.findall(normalize_text(text)):
        if token in _STOPWORDS or len(token) < 2:
            continue
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.append(token)
    return out


def lexical_rank(
    query: str,
    items: Sequence[T],
    text_of: Callable[[T], str],
    *,
    limit: int,
    keep_unmatched: bool = False,
) -> list[T]:
    """Rank ``items`` by BM25 relevance to ``query``; ties keep the input order (newest first).

    Args:
        keep_unmatched: fill up to ``limit`` with items that share no term with the query
            (in input order); otherwise only matching items are returned.
    """
    terms = set(tokenize(query))
    if not terms:
        return list(items[:limit]) if keep_unmatched else []
    docs = [Counter(tokenize(text_of(item))) for item in items]
    n = len(docs)
    avg_len = (sum(sum(d.values()) for d in docs) / n) if n else 0.0
    df = Counter(t for d in docs for t in terms if t in d)
    scored: list[tuple[float, int]] = []
    for i, doc in enumerate(docs):
        length = sum(doc.values()) or 1
        score = 0.0
        for t in terms:
            tf = doc.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / (avg_len or 1)))
        scored.append((score, i))
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    picked = [items[i] for _, i in ranked[:limit]]
    if keep_unmatched and len(picked) < limit:
        chosen = {i for _, i in ranked[:limit]}
        picked += [it for i, it in enumerate(items) if i not in chosen][: limit - len(picked)]
    return picked


def newest_first(items: Iterable[Item]) -> list[Item]:
    """Items ordered by ``updated_at`` descending (backends differ in their default order)."""
    return sorted(items, key=lambda it: it.updated_at, reverse=True)


def as_items(result: Result) -> list[SearchItem]:
    """Narrow the result of a ``SearchOp`` to its list of items."""
    return cast("list[SearchItem]", result or [])


def as_item(result: Result) -> Item | None:
    """Narrow the result of a ``GetOp`` to its item (or ``None``)."""
    return cast("Item | None", result)


def gather_plans(*plans: Plan[Any]) -> Plan[list[Any]]:
    """Run independent read plans side by side: each step of all of them is one batch.

    Only for plans that do not write (InMemoryStore runs a batch's reads before its writes).
    """
    results: list[Any] = [None] * len(plans)
    pending: dict[int, list[Op]] = {}
    for i, plan in enumerate(plans):
        try:
            pending[i] = next(plan)
        except StopIteration as done:
            results[i] = done.value
    while pending:
        order = list(pending)
        batch = [op for i in order for op in pending[i]]
        answers = yield batch
        offset = 0
        for i in order:
            n = len(pending[i])
            try:
                pending[i] = plans[i].send(list(answers[offset : offset + n]))
            except StopIteration as done:
                results[i] = done.value
                del pending[i]
            offset += n
    return results


# -- in-process write locks ----------------------------------------------------------------------
# Read-modify-write plans (an entity, a profile) can race when one model turn runs several tool
# calls at once. Writers of the same key serialise on one of a fixed set of striped locks, so
# memory stays bounded whatever the number of users. Separate processes are not serialised.

_STRIPES = 64
_THREAD_LOCKS = [threading.Lock() for _ in range(_STRIPES)]
_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOOP_GUARD = threading.Lock()


def data_key(store: str, scope: Scope, namespace: str | None = None) -> Hashable:
    """Identity of the data a write to ``store`` touches: what write locks are keyed by."""
    if store in ("user_profile", "user_memory"):
        return (store, scope.user_id)
    if store == "session_context":
        return (store, scope.thread_id)
    if store == "decision_log":
        return (store, scope.agent_id)
    return (store, namespace, scope.user_id if namespace == "user" else None)


def _stripes(keys: Iterable[Hashable]) -> list[int]:
    return sorted({hash(k) % _STRIPES for k in keys})  # one order for everyone: no deadlock


@contextmanager
def write_lock(*keys: Hashable) -> Iterator[None]:
    """Serialise sync writers of any of ``keys`` within this process."""
    stripes = _stripes(keys)
    for i in stripes:
        _THREAD_LOCKS[i].acquire()
    try:
        yield
    finally:
        for i in reversed(stripes):
            _THREAD_LOCKS[i].release()


@asynccontextmanager
async def async_write_lock(*keys: Hashable) -> AsyncIterator[None]:
    """Serialise async writers of any of ``keys`` on the running event loop."""
    loop = asyncio.get_running_loop()
    with _LOOP_GUARD:
        locks = _LOOP_LOCKS.get(loop)
        if locks is None:
            locks = _LOOP_LOCKS[loop] = [asyncio.Lock() for _ in range(_STRIPES)]
    stripes = _stripes(keys)
    for n, i in enumerate(stripes):
        try:
            await locks[i].acquire()
        except BaseException:
            for j in reversed(stripes[:n]):
                locks[j].release()
            raise
    try:
        yield
    finally:
        for i in reversed(stripes):
            locks[i].release()
