"""The README's examples run as written, and its set-up commands are the ones CI uses."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_python_examples_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("readme_examples")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    code = blocks("python")
    assert len(code) >= 4
    for block in code:
        exec(compile(block, "README.md", "exec"), module.__dict__)


def test_two_setup_commands() -> None:
    setup = README.split("## Set up")[1].split("\n## ")[0]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, re.S)
    assert len(commands) == 2
    demo, tests = commands
    assert "nodes.demo" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pytest" in ci


def test_every_seed_tool_name_is_documented() -> None:
    for name in [
        "update_user_profile",
        "save_user_memory",
        "delete_user_memory",
        "search_entities",
        "create_entity",
        "update_entity",
        "add_fact",
        "add_event",
        "search_learnings",
        "save_learning",
        "log_decision",
        "record_outcome",
        "search_decisions",
        "propose_learning",
        "link_entities",
        "retire_fact",
    ]:
        assert f"`{name}`" in README, name
