"""Configuration reads like the seeds and refuses what it cannot do."""

from __future__ import annotations

import pytest

from agno_learn_langgraph import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    SessionContextConfig,
    UnsupportedModeError,
    UserMemoryConfig,
    UserProfileConfig,
)

SUPPORTED = {
    "user_profile": {"always", "agentic", "propose"},
    "user_memory": {"always", "agentic", "propose"},
    "session_context": {"always"},
    "entity_memory": {"always", "agentic", "propose"},
    "learned_knowledge": {"always", "agentic", "propose"},
    "decision_log": {"agentic"},
}


def test_true_takes_the_seed_defaults() -> None:
    machine = LearningMachine(
        user_profile=True,
        user_memory=True,
        session_context=True,
        entity_memory=True,
        learned_knowledge=True,
        decision_log=True,
    )
    assert machine.modes() == {
        "user_profile": "always",
        "user_memory": "always",
        "session_context": "always",
        "entity_memory": "agentic",
        "learned_knowledge": "agentic",
        "decision_log": "agentic",
    }


def test_seed_combining_modes_example() -> None:
    machine = LearningMachine(
        user_profile=UserProfileConfig(mode=LearningMode.ALWAYS),
        user_memory=UserMemoryConfig(mode=LearningMode.ALWAYS),
        learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.AGENTIC),
    )
    assert machine.stores_in_mode(LearningMode.ALWAYS) == ("user_profile", "user_memory")
    assert machine.stores_in_mode("agentic") == ("learned_knowledge",)
    assert machine.mode("decision_log") is None


@pytest.mark.parametrize("store", sorted(SUPPORTED))
@pytest.mark.parametrize("mode", ["always", "agentic", "propose"])
def test_support_matrix(store: str, mode: str) -> None:
    if mode in SUPPORTED[store]:
        machine = LearningMachine(**{store: mode})  # type: ignore[arg-type]
        assert machine.mode(store) is LearningMode(mode)  # type: ignore[arg-type]
        return
    with pytest.raises(UnsupportedModeError) as err:
        LearningMachine(**{store: mode})  # type: ignore[arg-type]
    message = str(err.value)
    assert store in message and repr(mode) in message
    for allowed in SUPPORTED[store]:
        assert allowed in message


def test_unknown_mode_names_value_and_choices() -> None:
    with pytest.raises(
        UnsupportedModeError,
        match=r"Unknown mode 'propse' for learned_knowledge; "
        r"expected one of always, agentic, propose\.",
    ):
        LearnedKnowledgeConfig(mode="propse")  # type: ignore[arg-type]


def test_config_classes_are_frozen_and_validated() -> None:
    config = SessionContextConfig(enable_planning=True)
    with pytest.raises(AttributeError):
        config.enable_planning = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_memories_in_context"):
        UserMemoryConfig(max_memories_in_context=-1)
    with pytest.raises(ValueError, match="namespace"):
        EntityMemoryConfig(namespace="  ")
    with pytest.raises(TypeError, match="UserProfile"):
        UserProfileConfig(schema=dict)  # type: ignore[arg-type]


def test_wrong_config_type_for_a_store() -> None:
    with pytest.raises(TypeError, match=r"decision_log must be .* DecisionLogConfig"):
        LearningMachine(decision_log=UserMemoryConfig())  # type: ignore[arg-type]


def test_namespace_inheritance() -> None:
    machine = LearningMachine(
        namespace="team-a",
        entity_memory=True,
        learned_knowledge=LearnedKnowledgeConfig(namespace="global"),
    )
    assert machine.namespace_for("entity_memory") == "team-a"
    assert machine.namespace_for("learned_knowledge") == "global"


def test_store_model_overrides_machine_model() -> None:
    from agno_learn_langgraph.testing import ScriptedChatModel

    cheap, main = ScriptedChatModel(), ScriptedChatModel()
    machine = LearningMachine(
        model=main, user_memory=UserMemoryConfig(model=cheap), user_profile=True
    )
    assert machine.extraction_model("user_memory") is cheap
    assert machine.extraction_model("user_profile") is main


def test_decision_log_config_default() -> None:
    assert DecisionLogConfig().mode is LearningMode.AGENTIC
