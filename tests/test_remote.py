"""A LangGraph server's store through :class:`RemoteStore`: the CLI and the review API reach a
real ``langgraph dev`` (started once for this module, on 127.0.0.1 and a free port)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph.store.base import InvalidNamespaceError
from langgraph_sdk import get_sync_client

from agno_learn_langgraph import (
    LearningMachine,
    LearningMode,
    aapprove_proposal,
    alist_pending_proposals,
    approve_proposal,
    list_pending_proposals,
    reject_proposal,
)
from agno_learn_langgraph import remote as remote_module
from agno_learn_langgraph.backends import aopen_store, backend_kind, describe_url, open_store
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.errors import StoreUnavailableError
from agno_learn_langgraph.remote import RemoteStore
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores.learned_knowledge import knowledge_namespace

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "server_app"
sys.path.insert(0, str(APP))
from auth import API_KEY  # noqa: E402

STARTUP_TIMEOUT_S = 180
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "1",
}
KEY_VARS = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    return {**env, **OFFLINE_ENV, "PYTHONPATH": str(ROOT), **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``langgraph dev`` serving tests/server_app (a proposing graph; requests need API_KEY).

    FAILS, never skips, when the server cannot start."""
    workdir = tmp_path_factory.mktemp("langgraph_dev")
    log = (workdir / "server.log").open("w")
    port = _free_port()
    exe = Path(sys.executable).with_name("langgraph")
    assert exe.exists(), "langgraph-cli is missing: pip install -e '.[test]' (langgraph-cli[inmem])"
    argv = [str(exe), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    config = {
        "dependencies": [str(ROOT)],
        "graphs": {"proposer": f"{APP / 'graph.py'}:graph"},
        "auth": {"path": f"{APP / 'auth.py'}:auth"},
    }
    (workdir / "langgraph.json").write_text(json.dumps(config))
    argv += ["--port", str(port), "--config", str(workdir / "langgraph.json")]
    server = subprocess.Popen(argv, cwd=workdir, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"langgraph dev exited with {server.returncode}:\n{_tail(workdir)}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"langgraph dev did not answer /ok in {STARTUP_TIMEOUT_S}s:\n{_tail(workdir)}"
                )
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _tail(workdir: Path) -> str:
    return "\n".join((workdir / "server.log").read_text(errors="replace").splitlines()[-40:])


def _sdk(url: str) -> Any:
    return get_sync_client(url=url, api_key=API_KEY)


def _propose_through_the_graph(url: str, user: str, title: str, learning: str) -> str:
    """One turn of the served graph, whose model proposes ``title: learning``."""
    client = _sdk(url)
    thread = client.threads.create()
    out = client.runs.wait(
        thread["thread_id"],
        "proposer",
        input={"messages": [{"role": "user", "content": f"{title}: {learning}"}]},
        context={"user_id": user},
    )
    assert out["messages"][-1]["content"] == "Proposed; it awaits review.", out
    return str(thread["thread_id"])


def _cli(
    url: str, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agno_learn_langgraph.cli", *argv, "--store", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(**(env or {})),
    )


def _proposals(url: str, user: str) -> dict[str, dict[str, Any]]:
    found = _sdk(url).store.search_items(
        ["learning", "proposals"], filter={"user_id": user}, limit=100
    )
    return {item["key"]: item["value"] for item in found["items"]}


# -- the CLI against the server ---------------------------------------------------------------


def test_cli_reviews_the_proposals_of_a_served_graph(server_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    user = f"ann-{run}"
    thread = _propose_through_the_graph(server_url, user, f"Retries {run}", "Retry 429s")
    _propose_through_the_graph(server_url, user, f"Deploys {run}", "Never on Fridays")

    listed = _cli(server_url, "proposals", "--json", "--user", user, "--api-key", API_KEY)
    assert listed.returncode == 0, listed.stderr
    pending = {p["content"]["title"]: p for p in json.loads(listed.stdout)}
    assert set(pending) == {f"Retries {run}", f"Deploys {run}"}
    assert pending[f"Retries {run}"]["thread_id"] == thread
    table = _cli(server_url, "proposals", "--user", user, env={"LANGGRAPH_API_KEY": API_KEY})
    assert table.returncode == 0 and f"Retries {run}" in table.stdout

    approve_id, reject_id = pending[f"Retries {run}"]["id"], pending[f"Deploys {run}"]["id"]
    done = _cli(server_url, "approve", approve_id, "--reviewer", "ann", "--api-key", API_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Approved {approve_id} (knowledge); stored as lk_")
    done = _cli(
        server_url,
        "reject",
        reject_id,
        "--reason",
        "not ours",
        env={"LANGSMITH_API_KEY": API_KEY},
    )
    assert done.returncode == 0, done.stderr

    decided = _proposals(server_url, user)
    assert decided[approve_id]["status"] == "approved"
    assert decided[approve_id]["reviewer"] == "ann"
    assert (decided[reject_id]["status"], decided[reject_id]["reason"]) == ("rejected", "not ours")
    stored = _sdk(server_url).store.get_item(
        list(knowledge_namespace("global", Scope())), key=decided[approve_id]["applied_id"]
    )
    assert stored["value"]["learning"] == "Retry 429s"
    assert stored["value"]["provenance"]["proposal_id"] == approve_id

    shown = _cli(server_url, "show", approve_id, "--api-key", API_KEY)
    assert shown.returncode == 0 and "approve by ann" in shown.stdout
    again = _cli(server_url, "approve", approve_id, "--api-key", API_KEY)
    assert again.returncode == 4 and "already approved by ann" in again.stderr


def test_cli_needs_the_server_and_its_api_key(server_url: str) -> None:
    refused = _cli(server_url, "proposals")
    assert refused.returncode == 3
    assert "refused" in refused.stderr and "--api-key" in refused.stderr
    wrong = _cli(server_url, "list", "--api-key", "not-the-key-1234")
    assert wrong.returncode == 3 and "401" in wrong.stderr and "1234" not in wrong.stderr
    gone = _cli(f"http://127.0.0.1:{_free_port()}", "list", "--api-key", API_KEY)
    assert gone.returncode == 3 and "Cannot reach the LangGraph server" in gone.stderr


# -- the Python review API on the remote store ------------------------------------------------

MACHINE = LearningMachine(user_memory=LearningMode.PROPOSE, learned_knowledge=LearningMode.PROPOSE)


def _propose(store: Any, scope: Scope, target: str, content: dict[str, Any]) -> str:
    from agno_learn_langgraph.approval import plan_propose

    proposal, _ = run_plan(
        store, plan_propose(MACHINE, scope, target=target, content=content, rationale="r")
    )
    return proposal.id


def test_review_api_on_the_remote_store(server_url: str) -> None:
    user = f"bob-{uuid.uuid4().hex[:8]}"
    scope = Scope(user_id=user, thread_id=f"t-{user}")
    with open_store(server_url, api_key=API_KEY) as backend:
        store = backend.store
        assert isinstance(store, RemoteStore) and backend.checkpointer is None
        memory = _propose(store, scope, "user_memory", {"text": "Works nights"})
        wrong = _propose(store, scope, "user_memory", {"text": "Hates tea"})
        assert {p.id for p in list_pending_proposals(store, user_id=user)} == {memory, wrong}

        decided = approve_proposal(
            store, memory, reviewer="rita", content={"text": "Works night shifts"}
        )
        assert decided.status == "approved" and decided.applied_id
        reject_proposal(store, wrong, reviewer="rita", reason="made up")
        assert list_pending_proposals(store, user_id=user) == []

    found = _sdk(server_url).store.search_items(["learning", "user_memory"], limit=100)
    texts = {
        i["value"]["text"]
        for i in found["items"]
        if i["value"].get("provenance", {}).get("user_id") == user
    }
    assert texts == {"Works night shifts"}
    assert _proposals(server_url, user)[wrong]["status"] == "rejected"


async def test_async_review_api_on_the_remote_store(server_url: str) -> None:
    user = f"cy-{uuid.uuid4().hex[:8]}"
    scope = Scope(user_id=user, thread_id=f"t-{user}")
    async with aopen_store(server_url, api_key=API_KEY) as backend:
        store = backend.store
        prop = _propose(store, scope, "learned_knowledge", {"title": f"T {user}", "learning": "L"})
        (pending,) = await alist_pending_proposals(store, user_id=user)
        assert pending.id == prop
        decided = await aapprove_proposal(store, prop, reviewer="cy")
    assert _proposals(server_url, user)[prop]["status"] == "approved"
    stored = _sdk(server_url).store.get_item(
        list(knowledge_namespace("global", Scope())), key=decided.applied_id
    )
    assert stored["value"]["title"] == f"T {user}"


# -- RemoteStore's translation of store ops ---------------------------------------------------


def test_remote_store_ops_and_pages(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "PAGE_SIZE", 2)
    ns = ("remote-test", uuid.uuid4().hex[:8])
    store = RemoteStore(server_url, api_key=API_KEY)
    try:
        for i in range(5):
            store.put((*ns, f"sub{i % 3}"), f"k{i}", {"n": i, "tag": "odd" if i % 2 else "even"})
        store.put((*ns, "sub0"), "plain", {"n": 9}, index=False)
        assert store.get((*ns, "sub1"), "k1").value == {"n": 1, "tag": "odd"}  # type: ignore[union-attr]
        assert store.get((*ns, "sub1"), "missing") is None
        every = store.search(ns, limit=100)
        assert sorted(i.key for i in every) == ["k0", "k1", "k2", "k3", "k4", "plain"]
        assert len(store.search(ns, limit=3, offset=2)) == 3
        assert len(store.search(ns, limit=100, offset=5)) == 1
        assert sorted(i.value["n"] for i in store.search(ns, filter={"tag": "odd"})) == [1, 3]
        assert sorted(store.list_namespaces(prefix=ns, limit=100)) == [
            (*ns, "sub0"),
            (*ns, "sub1"),
            (*ns, "sub2"),
        ]
        assert len(store.list_namespaces(prefix=ns, limit=2, offset=2)) == 1
        assert store.list_namespaces(prefix=ns, max_depth=2) == [ns]
        store.delete((*ns, "sub1"), "k1")
        assert store.get((*ns, "sub1"), "k1") is None
        with pytest.raises(InvalidNamespaceError):
            store.put((*ns, "a.b"), "k", {})
    finally:
        store.close()


def test_server_urls() -> None:
    assert backend_kind("http://127.0.0.1:2024") == "server"
    assert backend_kind("https://my-app.example.com/") == "server"
    assert (
        describe_url("http://bob:pw@127.0.0.1:2024")
        == "LangGraph server http://bob:***@127.0.0.1:2024"
    )
    with pytest.raises(ValueError, match="LangGraph server"):
        backend_kind("http://")
    unreachable = open_store(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(StoreUnavailableError, match="Cannot reach the LangGraph server"):
        unreachable.__enter__()
