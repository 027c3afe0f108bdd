"""The package served by the real ``langgraph dev`` server, driven through ``langgraph_sdk``.

The test app (tests/server_app) serves four graphs with offline scripted models and a store
index; every test talks HTTP to the server as a deployed app's clients would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.langgraph_server import DevServer, serve_test_app
from tests.server_app.graphs import SLOW_EXTRACTION_S


def client(server: DevServer) -> Any:
    return get_client(url=server.url, timeout=60)


async def turn(
    server: DevServer, graph: str, thread_id: str, text: str | None, user: str | None, **kw: Any
) -> Any:
    context = {"user_id": user} if user else None
    payload = {"messages": [{"role": "user", "content": text}]} if text is not None else None
    return await client(server).runs.wait(thread_id, graph, input=payload, context=context, **kw)


async def new_thread(server: DevServer) -> str:
    return str((await client(server).threads.create())["thread_id"])


async def stored(server: DevServer, namespace: tuple[str, ...], timeout: float = 20) -> list[Any]:
    """The items under ``namespace``, waiting (bounded) for background extraction to land."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await client(server).store.search_items(list(namespace), limit=100)
        if found["items"] or asyncio.get_running_loop().time() > deadline:
            return list(found["items"])
        await asyncio.sleep(0.2)


def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_always_learns_in_the_background_and_the_next_turn_recalls_it(
    dev_server: DevServer,
) -> None:
    user, thread = user_id(), await new_thread(dev_server)
    out = await turn(dev_server, "always", thread, "My name is Ann", user)
    assert out["messages"][-1]["content"] == "OK: My name is Ann"
    (profile,) = await stored(dev_server, ("learning", "user_profile", user))
    assert profile["value"]["name"] == "Ann"
    out = await turn(dev_server, "always", thread, "Who am I?", user)
    assert "Ann" in out["learning_context"]


async def test_agentic_tools_save_and_another_user_recalls_through_the_store_index(
    dev_server: DevServer,
) -> None:
    """The server's store has an index: a query sharing no word with the learning finds it."""
    writer, reader = user_id(), user_id()
    await turn(
        dev_server,
        "agentic",
        await new_thread(dev_server),
        "save: Kubernetes clusters get patched every quarter",
        writer,
    )
    items = await stored(dev_server, ("learning", "learned_knowledge", "global"))
    assert any("Kubernetes" in it["value"]["learning"] for it in items)
    out = await turn(dev_server, "agentic", await new_thread(dev_server), "kubernets?", reader)
    assert "Kubernetes clusters get patched every quarter" in out["learning_context"]


async def review_of(server: DevServer, thread: str) -> dict[str, Any]:
    state = await client(server).threads.get(thread)
    assert state["status"] == "interrupted", state["status"]
    (pending,) = (
        state["interrupts"].values()
        if isinstance(state["interrupts"], dict)
        else [state["interrupts"]]
    )
    (first,) = pending
    return dict(first["value"])


async def propose(server: DevServer, text: str) -> tuple[str, str, dict[str, Any]]:
    user, thread = user_id(), await new_thread(server)
    await turn(server, "propose", thread, f"propose: {text}", user)
    return user, thread, await review_of(server, thread)


@pytest.mark.parametrize("decision", ["approve", "edit", "reject"])
async def test_a_review_under_the_server(dev_server: DevServer, decision: str) -> None:
    text = f"Answer billing questions with the invoice id first ({decision} {uuid.uuid4().hex[:6]})"
    user, thread, review = await propose(dev_server, text)
    (proposal,) = review["proposals"]
    answer: dict[str, Any] = {"proposal_id": proposal["id"], "type": decision}
    if decision == "edit":
        answer["content"] = {"title": "Billing", "learning": f"EDITED {text}"}
    if decision == "reject":
        answer["message"] = "not general"
    await turn(
        dev_server, "propose", thread, None, user, command={"resume": {"decisions": [answer]}}
    )
    state = await client(dev_server).threads.get(thread)
    assert state["status"] == "idle"
    out = await turn(dev_server, "propose", await new_thread(dev_server), "billing?", user_id())
    recalled = out["learning_context"]
    if decision == "approve":
        assert text in recalled
    elif decision == "edit":
        assert f"EDITED {text}" in recalled
    else:
        assert text not in recalled


async def test_a_langchain_hitl_client_approves_without_custom_code(dev_server: DevServer) -> None:
    """The review carries LangChain's HITLRequest shape and takes its in-order decisions."""
    text = f"Quote prices without VAT for business customers ({uuid.uuid4().hex[:6]})"
    user, thread, review = await propose(dev_server, text)
    (action,) = review["action_requests"]
    assert action["args"]["learning"] == text and action["description"]
    assert review["review_configs"][0]["allowed_decisions"]
    resume = {"decisions": [{"type": "approve"}]}
    await turn(dev_server, "propose", thread, None, user, command={"resume": resume})
    assert (await client(dev_server).threads.get(thread))["status"] == "idle"
    out = await turn(dev_server, "propose", await new_thread(dev_server), "prices?", user_id())
    assert text in out["learning_context"]


async def test_a_bad_resume_keeps_the_thread_interrupted_and_applies_nothing(
    dev_server: DevServer,
) -> None:
    text = f"Refunds over 100 EUR need a manager ({uuid.uuid4().hex[:6]})"
    user, thread, review = await propose(dev_server, text)
    (proposal,) = review["proposals"]
    bad = {"decisions": [{"proposal_id": proposal["id"], "type": "maybe"}]}
    await turn(dev_server, "propose", thread, None, user, command={"resume": bad})
    again = await review_of(dev_server, thread)  # still interrupted, the review still listed
    assert [p["id"] for p in again["proposals"]] == [proposal["id"]]
    assert "maybe" in str(again)  # the problem is in the payload
    good = {"decisions": [{"proposal_id": proposal["id"], "type": "approve"}]}
    await turn(dev_server, "propose", thread, None, user, command={"resume": good})
    assert (await client(dev_server).threads.get(thread))["status"] == "idle"


async def test_a_user_who_types_on_during_a_review_gets_every_proposal_reviewed(
    dev_server: DevServer,
) -> None:
    first, second = (
        f"{w} ({uuid.uuid4().hex[:6]})" for w in ("Ship on Mondays", "Test on Fridays")
    )
    user, thread, review = await propose(dev_server, first)
    await turn(dev_server, "propose", thread, f"propose: {second}", user)  # no resume
    review = await review_of(dev_server, thread)
    learnings = sorted(p["content"]["learning"] for p in review["proposals"])
    assert learnings == sorted([first, second])


async def test_a_run_without_a_user_id_fails_with_the_fix_in_the_message(
    dev_server: DevServer,
) -> None:
    thread = await new_thread(dev_server)
    sdk = client(dev_server)
    run = await sdk.runs.create(
        thread, "always", input={"messages": [{"role": "user", "content": "hi"}]}
    )
    await sdk.runs.join(thread, run["run_id"])
    state = await sdk.threads.get(thread)
    assert state["status"] == "error"
    assert "needs a user_id" in dev_server.log()
    assert "context={'user_id'" in dev_server.log()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[DevServer]:
    """A server of the test's own: the test stops and restarts it."""
    with serve_test_app(tmp_path) as server:
        yield server


async def test_sigterm_drains_the_pending_extraction_and_a_restart_finds_it(
    own_server: DevServer,
) -> None:
    user, thread = user_id(), await new_thread(own_server)
    await turn(own_server, "slow_always", thread, "My name is Zoe", user)
    await asyncio.sleep(1.0)  # the reply is back; the extraction runs for SLOW_EXTRACTION_S
    took = own_server.terminate(timeout=SLOW_EXTRACTION_S + 60)
    assert took >= SLOW_EXTRACTION_S - 2, f"the server exited in {took:.1f} s without draining"
    assert "pending learning extraction finished" in own_server.log()
    own_server.start()  # the same folder: the dev server's store persists on disk
    (profile,) = await stored(own_server, ("learning", "user_profile", user), timeout=5)
    assert profile["value"]["name"] == "Zoe"
