"""``LearningMachine``: six learning stores, each in its own mode, and its background runner.

>>> from agno_learn_langgraph import LearningMachine, LearningMode, UserProfileConfig
>>> machine = LearningMachine(
...     user_profile=UserProfileConfig(mode=LearningMode.ALWAYS),
...     learned_knowledge=True,
... )
>>> machine.modes()
{'user_profile': 'always', 'learned_knowledge': 'agentic'}
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.config import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    RecallRanking,
    SessionContextConfig,
    StoreConfig,
    UserMemoryConfig,
    UserProfileConfig,
    check_language,
    check_namespace,
    check_ranking,
    coerce_store,
    positive,
)
from agno_learn_langgraph.kinds import STORE_NAMES, LearningMode, StoreName

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.store.base import BaseStore

    from agno_learn_langgraph.background import BackgroundRunner

__all__ = ["LearningMachine", "install_recovery", "live_machines"]

_Recover = Callable[..., int]
_ARecover = Callable[..., Awaitable[int]]
_RECOVERY: list[tuple[_Recover, _ARecover]] = []
_MACHINES: weakref.WeakSet[LearningMachine] = weakref.WeakSet()


def install_recovery(recover: _Recover, arecover: _ARecover) -> None:
    """Install the outbox recovery (``extraction.recovery`` does, when imported)."""
    _RECOVERY[:] = [(recover, arecover)]


def _recovery() -> tuple[_Recover, _ARecover]:
    if not _RECOVERY:
        raise RuntimeError(
            "No extraction is set up in this process: import agno_learn_langgraph.extraction "
            "(the nodes and the middleware do) before recovering pending extractions."
        )
    return _RECOVERY[0]


def live_machines() -> list[LearningMachine]:
    """Every :class:`LearningMachine` of this process still referenced."""
    return list(_MACHINES)


class LearningMachine:
    """Six learning stores, each in its own mode, shared by the nodes, tools and middleware.

    Args:
        model: chat model for ALWAYS extraction (a store config's ``model`` overrides it).
        user_profile, user_memory, session_context, entity_memory, learned_knowledge,
            decision_log: ``True`` for the store's default mode, a :class:`LearningMode`, its
            config, or ``False`` (off, the default).
        namespace: default namespace of entity memory and learned knowledge: ``"global"``
            (shared by every user), ``"user"`` (per user) or a custom name (e.g. a team).
        background: run ALWAYS extraction off the critical path (``False``: inside the node).
        wait_for_extraction_s: how long recall waits for this process's unfinished extraction
            of the same thread before it reads the store; ``0`` never delays a turn.
        max_retries: extraction retries after a failed or timed-out model call.
        retry_backoff_s: first retry delay, doubled on each retry.
        extraction_timeout_s: timeout of one extraction model call.
        max_messages_per_extraction: cap on the new messages one extraction reads.
        max_pending_extractions: threads with queued extraction work before new turns wait.
        recovery_grace_s: how long a background extraction may stay pending (recorded in the
            store's outbox, see ``stores.outbox``) before another worker takes it over, and the
            lease a worker taking one over gets. Longer than a normal extraction; ``None``:
            every attempt timing out plus the backoffs between them.
        recovery_interval_s: how often a machine in use sweeps the outbox for a dead worker's
            extractions (a sweep runs on the background runner when a turn schedules one).
        recall_ranking: how recall ranks memories, learned knowledge, entities and decisions
            when the store has a vector index: ``"hybrid"`` (BM25 and vectors fused),
            ``"lexical"`` or ``"semantic"``; without an index it is always lexical.
        recall_language: the Snowball stemmer's language for lexical ranking (``None``: none).
        strict_recall: raise when the embeddings or the store fail during recall, instead of
            ranking lexically (or recalling nothing) for that turn; failures are counted in
            ``recall_failures`` either way.

    Raises:
        UnsupportedModeError: a store is given a mode it does not support.
    """

    def __init__(
        self,
        *,
        model: BaseChatModel | None = None,
        user_profile: bool | LearningMode | str | UserProfileConfig = False,
        user_memory: bool | LearningMode | str | UserMemoryConfig = False,
        session_context: bool | LearningMode | str | SessionContextConfig = False,
        entity_memory: bool | LearningMode | str | EntityMemoryConfig = False,
        learned_knowledge: bool | LearningMode | str | LearnedKnowledgeConfig = False,
        decision_log: bool | LearningMode | str | DecisionLogConfig = False,
        namespace: str = "global",
        background: bool = True,
        wait_for_extraction_s: float = 0.0,
        max_retries: int = 3,
        retry_backoff_s: float = 0.5,
        extraction_timeout_s: float = 60.0,
        max_messages_per_extraction: int = 40,
        max_pending_extractions: int = 256,
        recovery_grace_s: float | None = None,
        recovery_interval_s: float = 60.0,
        recall_ranking: RecallRanking = "hybrid",
        recall_language: str | None = "english",
        strict_recall: bool = False,
    ) -> None:
        check_namespace(namespace, "LearningMachine.namespace")
        values = (user_profile, user_memory, session_context, entity_memory, learned_knowledge)
        given: dict[StoreName, Any] = dict(zip(STORE_NAMES, (*values, decision_log), strict=True))
        self.stores: dict[StoreName, StoreConfig] = {}
        for store in STORE_NAMES:
            config = coerce_store(store, given[store])
            if config is not None:
                self.stores[store] = config
        self.model = model
        self.namespace = namespace
        self.background = background
        self.wait_for_extraction_s = float(wait_for_extraction_s)
        self.max_retries = max_retries
        self.retry_backoff_s = float(retry_backoff_s)
        self.extraction_timeout_s = float(extraction_timeout_s)
        self.max_messages_per_extraction = max_messages_per_extraction
        self.max_pending_extractions = max_pending_extractions
        positive(max_retries, "max_retries")
        positive(max_messages_per_extraction, "max_messages_per_extraction")
        positive(max_pending_extractions, "max_pending_extractions")
        if recovery_grace_s is not None and recovery_grace_s <= 0:
            raise ValueError(f"recovery_grace_s must be > 0 seconds, got {recovery_grace_s!r}.")
        self.recovery_grace_s = recovery_grace_s
        self.recovery_interval_s = float(recovery_interval_s)
        self.recovery_model: BaseChatModel | None = None
        """The extraction model a turn last scheduled with (recovery uses it)."""
        self._last_sweep = time.monotonic()  # the first sweep comes one interval after
        self.recall_ranking: RecallRanking = check_ranking(recall_ranking)
        check_language(recall_language)
        self.recall_language = recall_language
        self.strict_recall = bool(strict_recall)
        self.recall_failures: Counter[str] = Counter()
        """Recall failures by kind: ``"semantic"`` (ranked lexically instead), ``"store"``
        (nothing recalled that turn)."""
        self._runner: BackgroundRunner | None = None
        self._runner_lock = threading.Lock()
        _MACHINES.add(self)

    # -- reading the configuration -------------------------------------------------------------

    def config(self, store: StoreName) -> StoreConfig | None:
        """The config of ``store``, or ``None`` when it is off."""
        return self.stores.get(store)

    def mode(self, store: StoreName) -> LearningMode | None:
        """The mode of ``store``, or ``None`` when it is off."""
        config = self.stores.get(store)
        return config.mode if config else None

    def stores_in_mode(self, mode: LearningMode | str) -> tuple[StoreName, ...]:
        """The enabled stores whose mode is ``mode``, in the canonical store order."""
        wanted = LearningMode(mode)
        return tuple(s for s, c in self.stores.items() if c.mode is wanted)

    def modes(self) -> dict[str, str]:
        """``{store: mode}`` for every enabled store."""
        return {s: c.mode.value for s, c in self.stores.items()}

    def namespace_for(self, store: StoreName) -> str:
        """The effective namespace of entity memory or learned knowledge."""
        config = self.stores.get(store)
        own = getattr(config, "namespace", None)
        return own if own else self.namespace

    def extraction_model(self, store: StoreName | None = None) -> BaseChatModel | None:
        """The model that extracts for ``store`` (its own, else the machine's)."""
        config = self.stores.get(store) if store else None
        return (config.model if config else None) or self.model

    # -- background work -------------------------------------------------------------------------

    def wait_for_extraction(self, thread_id: str | None) -> None:
        """Wait (at most ``wait_for_extraction_s``) for this process's extraction of the thread."""
        if self.wait_for_extraction_s > 0 and thread_id and self._runner is not None:
            self._runner.wait_for(thread_id, self.wait_for_extraction_s)

    async def await_extraction(self, thread_id: str | None) -> None:
        """Async twin of :meth:`wait_for_extraction`."""
        if self.wait_for_extraction_s > 0 and thread_id and self._runner is not None:
            await self._runner.await_for(thread_id, self.wait_for_extraction_s)

    @property
    def runner(self) -> BackgroundRunner:
        """The bounded background runner of this machine's ALWAYS extraction (created lazily)."""
        with self._runner_lock:
            if self._runner is None:
                from agno_learn_langgraph.background import BackgroundRunner

                self._runner = BackgroundRunner(max_pending=self.max_pending_extractions)
            return self._runner

    def recovery_grace(self) -> float:
        """Seconds a pending extraction may take before another worker takes it over."""
        if self.recovery_grace_s is not None:
            return self.recovery_grace_s
        attempts = self.max_retries + 1
        timeout = self.extraction_timeout_s if self.extraction_timeout_s > 0 else 600.0
        return timeout * attempts + self.retry_backoff_s * (2**attempts)

    def recover_pending_extractions(
        self,
        store: BaseStore,
        *,
        model: BaseChatModel | None = None,
        checkpointer: Any | None = None,
    ) -> int:
        """Complete the extractions a dead worker left in ``store``'s outbox; how many.

        Runs the extractions now, in this thread (see ``extraction.recovery``). With the graph's
        ``checkpointer``, a turn whose checkpoint was never saved is dropped, not learned.
        """
        return _recovery()[0](self, store, model=model, checkpointer=checkpointer)

    async def arecover_pending_extractions(
        self,
        store: BaseStore,
        *,
        model: BaseChatModel | None = None,
        checkpointer: Any | None = None,
    ) -> int:
        """Async twin of :meth:`recover_pending_extractions`."""
        return await _recovery()[1](self, store, model=model, checkpointer=checkpointer)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued and running background extraction has finished."""
        if self._runner is not None:
            self._runner.flush(timeout)

    async def aflush(self, timeout: float | None = None) -> None:
        """Await every queued and running background extraction."""
        if self._runner is not None:
            await self._runner.aflush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Finish pending extraction work, then stop the background runner."""
        if self._runner is not None:
            self._runner.close(timeout)

    async def aclose(self, timeout: float | None = None) -> None:
        """Async twin of :meth:`close`."""
        if self._runner is not None:
            await self._runner.aclose(timeout)

    def __repr__(self) -> str:
        stores = ", ".join(f"{s}={c.mode.value}" for s, c in self.stores.items()) or "no stores"
        return f"LearningMachine({stores}, namespace={self.namespace!r})"
