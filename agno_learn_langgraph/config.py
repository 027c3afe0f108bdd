"""Per-store configuration that reads like Agno's: ``LearningMode`` and a config per store.

>>> from agno_learn_langgraph import LearningMode, UserMemoryConfig
>>> UserMemoryConfig(mode="agentic", max_memories_in_context=5).mode
<LearningMode.AGENTIC: 'agentic'>
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from agno_learn_langgraph.errors import UnsupportedModeError
from agno_learn_langgraph.kinds import STORE_NAMES, LearningMode, StoreName, kind
from agno_learn_langgraph.records import UserProfile

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


__all__ = [
    "RECALL_RANKINGS",
    "STORE_NAMES",
    "DecisionLogConfig",
    "EntityMemoryConfig",
    "LearnedKnowledgeConfig",
    "LearningMode",
    "RecallRanking",
    "SessionContextConfig",
    "StoreConfig",
    "StoreName",
    "UserMemoryConfig",
    "UserProfileConfig",
]


_ALL_MODES = ", ".join(m.value for m in LearningMode)


def _coerce_mode(value: Any, store: str, supported: tuple[LearningMode, ...]) -> LearningMode:
    allowed = ", ".join(m.value for m in supported)
    try:
        mode = LearningMode(value.lower() if isinstance(value, str) else value)
    except ValueError:
        raise UnsupportedModeError(
            f"Unknown mode {value!r} for {store}; expected one of {_ALL_MODES}."
        ) from None
    if mode not in supported:
        raise UnsupportedModeError(
            f"{store} does not support mode {mode.value!r}; supported modes: {allowed}. "
            f"Use e.g. {type_name(store)}(mode=LearningMode.{supported[0].name})."
        )
    return mode


RecallRanking = Literal["hybrid", "lexical", "semantic"]
"""How recall ranks a store that has a vector index (without one, it is always lexical)."""
RECALL_RANKINGS: tuple[str, ...] = get_args(RecallRanking)


def check_ranking(value: Any, what: str = "recall_ranking") -> RecallRanking:
    """``value`` if it names a ranking, else a ``ValueError`` listing the allowed values.

    >>> check_ranking("lexcial")
    Traceback (most recent call last):
    ...
    ValueError: Unknown recall_ranking 'lexcial'; expected one of hybrid, lexical, semantic.
    """
    if value not in RECALL_RANKINGS:
        raise ValueError(f"Unknown {what} {value!r}; expected one of {', '.join(RECALL_RANKINGS)}.")
    return value


def check_language(language: str | None) -> None:
    """Refuse a stemming language Snowball does not have, naming the ones it has."""
    import Stemmer

    known = Stemmer.algorithms()
    if language is not None and language not in known:
        raise ValueError(
            f"Unknown recall_language {language!r}; expected one of {', '.join(sorted(known))}, "
            "or None for no stemming."
        )


def type_name(store: str) -> str:
    """The config class name of a store: ``user_profile`` -> ``UserProfileConfig``."""
    return "".join(part.title() for part in store.split("_")) + "Config"


def positive(value: int, name: str) -> None:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}.")


@dataclass(frozen=True, kw_only=True)
class StoreConfig:
    """What every store config has: a mode, an optional extraction model and prompt overrides.

    Args:
        mode: a :class:`LearningMode` (or its string value); the store's default when omitted.
        model: chat model for this store's ALWAYS extraction, instead of the machine's.
        instructions: replaces the store's guidance in the extraction prompt.
        additional_instructions: appended to the store's guidance in the extraction prompt.
        system_message: replaces the whole extraction system prompt when this store is the
            only ALWAYS store of its extraction call.
    """

    store: ClassVar[StoreName]
    supported_modes: ClassVar[tuple[LearningMode, ...]]
    """Read from the kinds table when a subclass names its ``store``."""
    counts: ClassVar[tuple[str, ...]] = ()
    """The subclass's int fields that must not be negative."""

    mode: LearningMode = LearningMode.ALWAYS
    model: BaseChatModel | None = None
    instructions: str | None = None
    additional_instructions: str | None = None
    system_message: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "store" in cls.__dict__:
            cls.supported_modes = kind(cls.store).supported_modes

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _coerce_mode(self.mode, self.store, self.supported_modes))
        for name in self.counts:
            positive(getattr(self, name), name)
        if "namespace" in self.__dataclass_fields__:
            check_namespace(getattr(self, "namespace"), f"{type(self).__name__}.namespace")  # noqa: B009


@dataclass(frozen=True, kw_only=True)
class UserProfileConfig(StoreConfig):
    """User profile: named fields (``name``, ``preferred_name``, ...) per user.

    Args:
        schema: the profile model; subclass :class:`~agno_learn_langgraph.UserProfile` for fields.
    """

    store: ClassVar[StoreName] = "user_profile"
    mode: LearningMode = LearningMode.ALWAYS
    schema: type[UserProfile] = UserProfile

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.schema, type) and issubclass(self.schema, UserProfile)):
            raise TypeError(
                f"UserProfileConfig.schema must be a subclass of UserProfile, got {self.schema!r}."
            )


@dataclass(frozen=True, kw_only=True)
class UserMemoryConfig(StoreConfig):
    """User memory: short observations about a user, each with an id.

    Args:
        max_memories_in_context: how many memories recall puts in the prompt, most relevant first.
    """

    store: ClassVar[StoreName] = "user_memory"
    mode: LearningMode = LearningMode.ALWAYS
    max_memories_in_context: int = 20
    counts: ClassVar[tuple[str, ...]] = ("max_memories_in_context",)


@dataclass(frozen=True, kw_only=True)
class SessionContextConfig(StoreConfig):
    """Session context: a running summary of the thread.

    Args:
        enable_planning: also track the session's goal, plan and progress.
    """

    store: ClassVar[StoreName] = "session_context"
    mode: LearningMode = LearningMode.ALWAYS
    enable_planning: bool = False


@dataclass(frozen=True, kw_only=True)
class EntityMemoryConfig(StoreConfig):
    """Entity memory: people, companies, projects... with facts, events and relationships.

    Args:
        namespace: ``"global"``, ``"user"`` (per user) or a custom name; the machine's by default.
        max_entities_in_context: entities expanded in the prompt (those named in the message first).
        max_facts_per_entity: live facts shown per expanded entity.
        max_events_per_entity: events shown per expanded entity.
    """

    store: ClassVar[StoreName] = "entity_memory"
    mode: LearningMode = LearningMode.AGENTIC
    namespace: str | None = None
    max_entities_in_context: int = 5
    max_facts_per_entity: int = 10
    max_events_per_entity: int = 5
    counts: ClassVar[tuple[str, ...]] = (
        "max_entities_in_context",
        "max_facts_per_entity",
        "max_events_per_entity",
    )


@dataclass(frozen=True, kw_only=True)
class LearnedKnowledgeConfig(StoreConfig):
    """Learned knowledge: reusable insights shared by every user of a namespace.

    Args:
        namespace: ``"global"``, ``"user"`` (per user) or a custom name; the machine's by default.
        max_learnings_in_context: approved learnings recalled per turn, most relevant first.
    """

    store: ClassVar[StoreName] = "learned_knowledge"
    mode: LearningMode = LearningMode.AGENTIC
    namespace: str | None = None
    max_learnings_in_context: int = 5
    counts: ClassVar[tuple[str, ...]] = ("max_learnings_in_context",)


@dataclass(frozen=True, kw_only=True)
class DecisionLogConfig(StoreConfig):
    """Decision log: the agent's significant decisions, their reasoning and outcomes.

    Args:
        max_decisions_in_context: recent decisions shown in the prompt.
    """

    store: ClassVar[StoreName] = "decision_log"
    mode: LearningMode = LearningMode.AGENTIC
    max_decisions_in_context: int = 5
    counts: ClassVar[tuple[str, ...]] = ("max_decisions_in_context",)


CONFIG_TYPES: dict[StoreName, type[StoreConfig]] = {
    "user_profile": UserProfileConfig,
    "user_memory": UserMemoryConfig,
    "session_context": SessionContextConfig,
    "entity_memory": EntityMemoryConfig,
    "learned_knowledge": LearnedKnowledgeConfig,
    "decision_log": DecisionLogConfig,
}


def check_namespace(namespace: str | None, what: str) -> None:
    if namespace is not None and (not isinstance(namespace, str) or not namespace.strip()):
        raise ValueError(
            f"{what} must be 'global', 'user' or a custom non-empty name, got {namespace!r}."
        )


def coerce_store(store: StoreName, value: Any) -> StoreConfig | None:
    config_type = CONFIG_TYPES[store]
    if value is None or value is False:
        return None
    if value is True:
        return config_type()
    if isinstance(value, LearningMode | str):
        return config_type(mode=value)  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        return config_type(**value)
    if type(value) is not config_type and not isinstance(value, config_type):
        raise TypeError(
            f"{store} must be True, False, a LearningMode or a {config_type.__name__}, "
            f"got {type(value).__name__}."
        )
    return value


def config_fields(config: StoreConfig) -> dict[str, Any]:
    """A store config as a plain dict (models shown by class name), for display and the CLI."""
    out: dict[str, Any] = {}
    for f in fields(config):
        value = getattr(config, f.name)
        out[f.name] = value.value if isinstance(value, LearningMode) else value
        if f.name == "model" and value is not None:
            out[f.name] = type(value).__name__
        if f.name == "schema":
            out[f.name] = value.__name__
    return out
