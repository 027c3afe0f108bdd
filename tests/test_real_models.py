"""The README's Quick start, the demo and a notebook run with the real ``langchain-openai``
clients against the fake OpenAI server (``tests/fake_openai.py``), and the package survives the
ways real models fail: invalid tool calls, embedding outages, strict schemas, errors that cannot
succeed, refusals and truncation.

The scripted-model runs of the demo and the notebooks are ``tests/test_recipes.py`` and
``tests/test_notebooks.py``; the README's is parametrised here and in ``tests/test_readme.py``.
Each scenario scripts the fake with the same replies the scripted model gives offline.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_openai.chat_models.base import _convert_dict_to_message
from pydantic import Field

import agno_learn_langgraph.testing as testing
from agno_learn_langgraph import (
    LearningMachine,
    LearningMiddleware,
    Scope,
    UserProfile,
    UserProfileConfig,
    build_learning_context,
    extract_learnings,
    open_store,
)
from agno_learn_langgraph.testing import HashEmbeddings, ScriptedChatModel
from tests.fake_openai import (
    FakeOpenAI,
    http_error,
    invalid_tool_call,
    refusal,
    tool_calls,
    truncated,
)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
QUICK_START = README.split("## Quick start")[1].split("```python\n")[1].split("```")[0]
ALICE = {"user_id": "alice@example.com"}


def as_fake_items(script: list[Any]) -> list[Any]:
    """A ScriptedChatModel script as fake-server items (same replies, same order)."""
    items: list[Any] = []
    for step in script:
        if isinstance(step, AIMessage) and step.tool_calls:
            calls = [(c["name"], c["args"], c["id"]) for c in step.tool_calls]
            items.append(tool_calls(*calls, content=step.text or None))
        elif isinstance(step, AIMessage):
            items.append(step.text)
        elif callable(step) and not isinstance(step, (str, dict)):
            items.append(lambda body, fn=step: _call_with_messages(fn, body))
        else:
            items.append(step)
    return items


def _call_with_messages(fn: Any, body: dict[str, Any]) -> Any:
    messages: list[BaseMessage] = [_convert_dict_to_message(m) for m in body["messages"]]
    reply = fn(messages)
    return reply.text if isinstance(reply, AIMessage) else reply


def chat_openai_factory(fake: FakeOpenAI) -> Any:
    """A stand-in for ``ScriptedChatModel(...)``: queue its script, return a ``ChatOpenAI``."""
    names = (f"scripted-{i}" for i in itertools.count(1))

    def build(responses: Any = None, *, structured_responses: Any = None, **_: Any) -> Any:
        name = next(names)
        fake.script(*as_fake_items(list(responses or [])), model=name)
        fake.script_structured(*as_fake_items(list(structured_responses or [])), model=name)
        return fake.chat_model(name)

    return build


def fake_env(fake: FakeOpenAI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGNO_LEARN_"))}
    return {**env, **fake.env(), "PYTHONPATH": str(ROOT)}


# -- the README's Quick start -------------------------------------------------------------------


@pytest.mark.parametrize("client", ["scripted", "openai"])
def test_readme_quick_start(
    client: str, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import langgraph.store.memory

    if client == "openai":  # ChatOpenAI for both models, OpenAIEmbeddings for the store's index
        monkeypatch.setattr(testing, "ScriptedChatModel", chat_openai_factory(fake_openai))
        index = {"dims": 64, "embed": fake_openai.embeddings_model(), "fields": ["search_text"]}
        base = langgraph.store.memory.InMemoryStore

        class IndexedStore(base):  # type: ignore[misc, valid-type]
            def __init__(self) -> None:
                super().__init__(index=index)

        monkeypatch.setattr(langgraph.store.memory, "InMemoryStore", IndexedStore)
    module = types.ModuleType("readme_quick_start")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(QUICK_START, "README.md", "exec"), module.__dict__)  # its asserts hold
    if client == "openai":
        assert set(fake_openai.statuses()) == {200}
        assert set(fake_openai.statuses("/embeddings")) == {200}
        agent, extraction = fake_openai.chat_requests[0], fake_openai.chat_requests[2]
        assert "create_entity" in json.dumps(agent["tools"])
        assert extraction["response_format"]["json_schema"]["strict"] is True
        assert len(fake_openai.embedding_requests) >= 2  # recall searched through the index


# -- the demo and a notebook ------------------------------------------------------------------


def test_demo_runs_with_chat_openai(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from nodes.demo import scripted_agent, scripted_extractor

    fake_openai.script(*as_fake_items(scripted_agent().responses))
    fake_openai.script_structured(*as_fake_items(scripted_extractor().structured_responses))
    done = subprocess.run(
        [sys.executable, "-m", "nodes.demo", "--db", str(tmp_path / "demo.db")],
        cwd=ROOT,
        env=fake_env(fake_openai),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Model: ChatOpenAI (real)" in out
    assert 'Preferred Name: "Ali"' in out  # ALWAYS extraction through strict json_schema
    assert '"Acme Corp" (company)' in out and "Moved HQ to Berlin" in out  # AGENTIC tools
    assert "Pending proposal prop_" in out and "['proposed'] (not recalled yet)" in out
    bob = out.split("Recall for bob")[1]
    assert "Back off exponentially with jitter" in bob and "Alice Chen" not in bob
    assert set(fake_openai.statuses()) == {200}
    assert all(r["model"] == "gpt-4o-mini" for r in fake_openai.chat_requests)


def greet_by_recalled_name(messages: list[BaseMessage]) -> str:
    """Notebook 01's second reply: "Ali" only if recall put the profile in the prompt."""
    system = messages[0].text if messages[0].type == "system" else ""
    name = "Ali" if '"Ali"' in system else "there"
    return f"Sure, {name}: let's start with the payments team's roadmap."


@pytest.mark.notebook
def test_notebook_01_runs_with_chat_openai(
    fake_openai: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nbclient
    import nbformat

    fake_openai.script(
        *as_fake_items(
            [
                "Nice to meet you, Ali! How can I help the payments team today?",
                greet_by_recalled_name,
                greet_by_recalled_name,
            ]
        )
    )
    fake_openai.script_structured(
        {
            "profile": {"set": {"name": "Alice Chen", "preferred_name": "Ali"}},
            "memories": {"add": ["Leads the payments team at Stripe"]},
            "session": {"summary": "Ali introduced herself; she leads payments at Stripe."},
        },
        {"session": {"summary": "Ali introduced herself and asked to plan the roadmap."}},
    )
    kernels = tmp_path_factory.mktemp("jupyter")
    spec = kernels / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    nb = nbformat.read(ROOT / "notebooks" / "01_always_mode.ipynb", as_version=4)
    for key in [k for k in os.environ if k.startswith(("OPENAI_", "AGNO_LEARN_"))]:
        monkeypatch.delenv(key)
    for key, value in {**fake_openai.env(), "JUPYTER_PATH": str(kernels)}.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    nbclient.NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}, timeout=180
    ).execute()
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Model: ChatOpenAI (real)" in out
    assert "Nice to meet you, Ali!" in out
    assert out.count("Sure, Ali: let's start with the payments team's roadmap.") == 2
    assert '"Alice Chen"' in out and "Leads the payments team at Stripe" in out
    assert set(fake_openai.statuses()) == {200}


# -- invalid tool calls (the node path and the middleware) --------------------------------------


def two_turns(graph: Any, config: dict[str, Any]) -> list[Any]:
    first = graph.invoke({"messages": [("user", "Remember Acme.")]}, config, context=ALICE)
    second = graph.invoke({"messages": [("user", "And now?")]}, config, context=ALICE)
    return [first, second]


# Each fault as the fake server injects it and as the scripted model plays it.
BAD_ARGS = '{"name": "Acme", "entity_type": '
FAULTS: dict[str, tuple[Any, Any]] = {
    "length": (
        truncated(tool_call=("create_entity", {"name": "Acme", "entity_type": "company"})),
        testing.truncated(tool_call=("create_entity", {"name": "Acme", "entity_type": "company"})),
    ),
    "invalid-json": (
        invalid_tool_call("create_entity", BAD_ARGS),
        testing.invalid_tool_call("create_entity", BAD_ARGS),
    ),
    "429": (http_error(429, retry_after=0.01), testing.api_error(429)),
    "500": (http_error(500), testing.api_error(500)),
    "503": (http_error(503), testing.api_error(503)),
    "refusal": (refusal(), testing.refusal()),
    "length-json": (truncated(), testing.truncated('{"memories": {"add": ["Likes gr')),
    "400": (http_error(400, "Invalid schema for response_format"), testing.api_error(400)),
    "401": (http_error(401), testing.api_error(401)),
    "403": (http_error(403), testing.api_error(403)),
}
CLIENTS = ["openai", "scripted"]


class Models:
    """A chat model replying ``replies`` and extracting ``structured``: ChatOpenAI against the
    fake server, or the scripted model, with the faults named in ``FAULTS``."""

    def __init__(self, client: str, fake: FakeOpenAI, replies: list[Any], structured: list[Any]):
        self.client, self.fake = client, fake
        pick = 0 if client == "openai" else 1

        def item(x: Any) -> Any:
            return FAULTS[x][pick] if isinstance(x, str) and x in FAULTS else x

        if client == "openai":
            fake.script(*[item(x) for x in replies])
            fake.script_structured(*[item(x) for x in structured])
            self.chat: Any = fake.chat_model()
        else:
            learn_nothing = [{}] * 5  # the background extraction after each turn
            self.chat = ScriptedChatModel(
                [item(x) for x in replies],
                structured_responses=[item(x) for x in structured] or learn_nothing,
            )

    def bad_call_id(self, reply: AIMessage) -> str:
        return str(reply.invalid_tool_calls[0]["id"])

    def structured_calls(self) -> int:
        if self.client == "openai":
            return len([b for b in self.fake.chat_requests if "response_format" in b])
        return int(self.chat.structured_call_count)

    def rejected(self) -> list[int]:
        return [s for s in self.fake.statuses() if s != 200] if self.client == "openai" else []


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", ["length", "invalid-json"])
def test_an_invalid_tool_call_is_answered_and_the_thread_goes_on(
    fake_openai: FakeOpenAI, client: str, fault: str
) -> None:
    from nodes._wiring import build_learning_graph

    models = Models(client, fake_openai, [fault, "Sorry, I'll note Acme next time.", "Hi."], [])
    machine = LearningMachine(model=models.chat, user_profile=True, entity_memory=True)
    with open_store(":memory:") as backend:
        graph = build_learning_graph(machine, models.chat).compile(
            store=backend.store, checkpointer=backend.checkpointer
        )
        first, second = two_turns(graph, {"configurable": {"thread_id": "t-invalid"}})
    machine.close()
    (bad,) = [m for m in first["messages"] if isinstance(m, AIMessage) and m.invalid_tool_calls]
    answers = [m for m in first["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in answers] == [(models.bad_call_id(bad), "error")]
    assert first["messages"][-1].text == "Sorry, I'll note Acme next time."
    assert second["messages"][-1].text == "Hi."
    assert models.rejected() == []


def test_create_agent_answers_an_invalid_tool_call(fake_openai: FakeOpenAI) -> None:
    from langchain.agents import create_agent

    bad = invalid_tool_call("create_entity", '{"name": "Acme"')
    fake_openai.script(bad, "Hello again.")
    chat = fake_openai.chat_model()
    machine = LearningMachine(model=chat, entity_memory=True)
    with open_store(":memory:") as backend:
        agent = create_agent(
            chat,
            middleware=[LearningMiddleware(machine)],
            store=backend.store,
            checkpointer=backend.checkpointer,
        )
        first, second = two_turns(agent, {"configurable": {"thread_id": "t-agent"}})
    machine.close()
    bad_id = bad.tool_calls[0][0]
    assert first["messages"][-1].invalid_tool_calls[0]["id"] == bad_id
    assert second["messages"][-1].text == "Hello again."
    assert set(fake_openai.statuses()) == {200}
    # create_agent answers the bad call with an error tool message in the next request
    sent = fake_openai.chat_requests[1]["messages"]
    (answer,) = [m for m in sent if m["role"] == "tool"]
    assert answer["tool_call_id"] == bad_id and "malformed or truncated" in answer["content"]


# -- embedding outages ---------------------------------------------------------------------------


class FailingEmbeddings(HashEmbeddings):
    """Hash embeddings that fail like an embeddings endpoint in an outage, when told to."""

    failing = False

    def embed_query(self, text: str) -> list[float]:
        if self.failing:
            raise testing.api_error(500, "embeddings outage")
        return super().embed_query(text)


@pytest.mark.parametrize("client", CLIENTS)
def test_an_embedding_outage_does_not_fail_the_turn(fake_openai: FakeOpenAI, client: str) -> None:
    from nodes._wiring import build_learning_graph

    models = Models(client, fake_openai, ["Hi Ali.", "Still here."], [])
    failing = FailingEmbeddings(64)
    embed = fake_openai.embeddings_model() if client == "openai" else failing
    index = {"dims": 64, "embed": embed, "fields": ["search_text"]}
    machine = LearningMachine(model=models.chat, user_memory="agentic", learned_knowledge=True)
    with open_store(":memory:", index=index) as backend:  # type: ignore[arg-type]
        graph = build_learning_graph(machine, models.chat).compile(
            store=backend.store, checkpointer=backend.checkpointer
        )
        config = {"configurable": {"thread_id": "t-outage"}}
        graph.invoke({"messages": [("user", "I'm Ali.")]}, config, context=ALICE)
        fake_openai.fail_embeddings(500, times=10)
        failing.failing = True
        out = graph.invoke({"messages": [("user", "Anything on tea?")]}, config, context=ALICE)
    machine.close()
    assert out["messages"][-1].text == "Still here."
    if client == "openai":
        assert 500 in fake_openai.statuses("/embeddings")


# -- strict schemas and the extraction's error handling --------------------------------------


class TaggedProfile(UserProfile):
    """A custom profile with a free-form mapping, which strict mode cannot take as is."""

    preferences: dict[str, str] = Field(default_factory=dict)


def extract_once(machine: LearningMachine) -> tuple[Any, str]:
    """One extraction of a two-message turn; returns its report and what recall then shows."""
    scope = Scope(user_id="alice@example.com", thread_id="t-extract")
    messages = [
        HumanMessage("I'm Alice Chen; I like green tea.", id="m1"),
        AIMessage("Noted, Alice.", id="m2"),
    ]
    with open_store(":memory:") as backend:
        report = extract_learnings(machine, backend.store, scope, messages)
        learned = build_learning_context(machine, backend.store, scope)
    return report, learned


def test_every_extracting_store_fits_the_strict_subset(fake_openai: FakeOpenAI) -> None:
    fake_openai.script_structured({"profile": {"set": {"name": "Alice Chen"}}})
    machine = LearningMachine(
        model=fake_openai.chat_model(),
        user_profile=True,
        user_memory=True,
        session_context=True,
        entity_memory="always",
        learned_knowledge="always",
        decision_log=True,
        background=False,
        retry_backoff_s=0.01,
    )
    report, learned = extract_once(machine)
    machine.close()
    assert fake_openai.statuses() == [200]
    assert report.status == "applied" and '"Alice Chen"' in learned


def test_a_custom_profile_with_a_mapping_extracts_in_strict_mode(fake_openai: FakeOpenAI) -> None:
    fake_openai.script_structured({"profile": {"set": {"name": "Alice Chen"}}})
    machine_kwargs: dict[str, Any] = {"background": False, "retry_backoff_s": 0.01}
    try:
        machine = LearningMachine(
            model=fake_openai.chat_model(),
            user_profile=UserProfileConfig(schema=TaggedProfile),
            **machine_kwargs,
        )
    except Exception as exc:  # refusing it at construction, naming the field, is also correct
        assert "preferences" in str(exc)
        return
    report, learned = extract_once(machine)
    machine.close()
    assert fake_openai.statuses() == [200]
    assert report.status == "applied" and '"Alice Chen"' in learned


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", ["400", "401", "403"])
def test_errors_that_cannot_succeed_are_not_retried(
    fake_openai: FakeOpenAI, client: str, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    models = Models(client, fake_openai, [], [fault] * 10)
    machine = LearningMachine(
        model=models.chat, user_memory=True, background=False, retry_backoff_s=0.01
    )
    with caplog.at_level(logging.WARNING, logger="agno_learn_langgraph"):
        report, _ = extract_once(machine)
    machine.close()
    assert report.status == "failed"
    assert models.structured_calls() == 1  # no retry
    assert len([r for r in caplog.records if fault in r.getMessage()]) == 1


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", ["429", "500", "503", "refusal", "length-json"])
def test_errors_that_can_succeed_are_retried(
    fake_openai: FakeOpenAI, client: str, fault: str
) -> None:
    models = Models(client, fake_openai, [], [fault, {"memories": {"add": ["Likes green tea"]}}])
    machine = LearningMachine(
        model=models.chat, user_memory=True, background=False, retry_backoff_s=0.01
    )
    report, learned = extract_once(machine)
    machine.close()
    assert report.status == "applied"
    assert models.structured_calls() == 2
    assert "Likes green tea" in learned
