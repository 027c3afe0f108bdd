"""The `agno-learn` CLI: in-process through `main([...])`, and as the installed console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import BaseStore

from agno_learn_langgraph import LearningMachine, LearningMode
from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.cli import EXIT_CODES, KINDS, build_parser, main
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.records import Decision, Provenance
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.stores import (
    decision_log,
    entity_memory,
    learned_knowledge,
    session_context,
    user_memory,
    user_profile,
)

PROPOSE = LearningMode.PROPOSE
MACHINE = LearningMachine(
    learned_knowledge=PROPOSE, user_memory=PROPOSE, user_profile=PROPOSE, entity_memory=PROPOSE
)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
SCRIPT = Path(sys.executable).with_name("agno-learn")


@dataclass
class Seeded:
    """Ids of what :func:`seed` wrote."""

    url: str
    alice: str
    bob: str
    alice_memory: str
    bob_memory: str
    global_knowledge: str
    decision: str
    knowledge_proposal: str
    memory_proposal: str
    bob_proposal: str


def _propose(store: BaseStore, scope: Scope, target: Any, content: dict[str, Any]) -> str:
    from agno_learn_langgraph.approval import plan_propose

    plan = plan_propose(MACHINE, scope, target=target, content=content, rationale="worth keeping")
    proposal, _ = run_plan(store, plan)
    return proposal.id


def seed(url: str, suffix: str = "") -> Seeded:
    """Two users' learnings, shared knowledge, a decision and three pending proposals."""
    alice, bob = f"alice{suffix}@example.com", f"bob{suffix}"
    t1, t2 = f"t1{suffix}", f"t2{suffix}"
    pa = Provenance(mode="agentic", user_id=alice, thread_id=t1)
    pb = Provenance(mode="agentic", user_id=bob, thread_id=t2)
    with open_store(url) as backend:
        s = backend.store
        run_plan(s, user_profile.update_profile(alice, pa, set_fields={"name": "Alice"}))
        run_plan(s, user_profile.update_profile(bob, pb, set_fields={"name": "Bob"}))
        mem_a, _ = run_plan(s, user_memory.add_memory(alice, "Prefers green tea", pa))
        mem_b, _ = run_plan(s, user_memory.add_memory(bob, "Drinks black coffee", pb))
        run_plan(s, session_context.save_session_context(t1, pa, summary="Planning a trip"))
        run_plan(s, session_context.save_session_context(t2, pb, summary="Fixing a bug"))
        ens = entity_memory.entity_namespaces("user", Scope(user_id=alice))
        run_plan(
            s,
            entity_memory.create_entity(
                ens,
                pa,
                name="Acme Inc",
                entity_type="company",
                facts=["Alice works there"],
                aliases=["Acme"],
            ),
        )
        glob = learned_knowledge.knowledge_namespace("global", Scope())
        lk, _ = run_plan(
            s, learned_knowledge.save_learning(glob, pa, title="UTC", learning="Store times in UTC")
        )
        team = learned_knowledge.knowledge_namespace("team", Scope())
        run_plan(
            s, learned_knowledge.save_learning(team, pb, title="Deploys", learning="Friday no")
        )
        dec = run_plan(
            s, decision_log.log_decision("default", Decision(decision="Use search", provenance=pa))
        )
        scope_a, scope_b = Scope(user_id=alice, thread_id=t1), Scope(user_id=bob, thread_id=t2)
        lk_prop = _propose(
            s, scope_a, "learned_knowledge", {"title": "Rate limits", "learning": "Retry 429s"}
        )
        mem_prop = _propose(s, scope_a, "user_memory", {"text": "Travels to Lisbon"})
        bob_prop = _propose(s, scope_b, "user_memory", {"text": "Works nights"})
    return Seeded(url, alice, bob, mem_a.id, mem_b.id, lk.id, dec.id, lk_prop, mem_prop, bob_prop)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(str(tmp_path / "learn.db"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# -- list, show, search, export -----------------------------------------------------------


def test_list_table_shows_every_kind(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    code, out, err = run(capsys, "list", "--store", seeded.url)
    assert (code, err) == (0, "")
    header, *lines = out.splitlines()
    assert header.split() == ["KIND", "ID", "WHERE", "STATUS", "UPDATED", "SUMMARY"]
    assert {line.split()[0] for line in lines} == set(KINDS)
    assert any(seeded.alice_memory in line and "Prefers green tea" in line for line in lines)
    assert any("ns=team" in line and "Deploys" in line for line in lines)


def test_list_json_for_one_user(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    rows = run_json(capsys, "list", "--store", seeded.url, "--user", seeded.alice)
    assert {r["user_id"] for r in rows} == {seeded.alice}
    by_kind = {(r["kind"], r["id"]) for r in rows}
    assert ("memory", seeded.alice_memory) in by_kind
    assert ("memory", seeded.bob_memory) not in by_kind
    assert ("session", "session:t1") in by_kind and ("session", "session:t2") not in by_kind
    assert ("entity", "acme_inc") in by_kind and ("profile", f"profile:{seeded.alice}") in by_kind
    assert {r["id"] for r in rows if r["kind"] == "proposal"} == {
        seeded.knowledge_proposal,
        seeded.memory_proposal,
    }
    assert not any(r["kind"] == "knowledge" and r["namespace"] == "global" for r in rows)


def test_list_filters_by_thread_namespace_and_kind(
    capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    rows = run_json(capsys, "list", "--store", seeded.url, "--thread", "t2")
    assert {r["thread_id"] for r in rows} == {"t2"} and len(rows) >= 4
    rows = run_json(capsys, "list", "--store", seeded.url, "--namespace", "global")
    assert {(r["kind"], r["id"]) for r in rows} == {
        ("knowledge", seeded.global_knowledge),
        ("proposal", seeded.knowledge_proposal),
    }
    rows = run_json(capsys, "list", "--store", seeded.url, "--namespace", "team")
    assert [r["summary"] for r in rows] == ["Deploys — Friday no"]
    rows = run_json(capsys, "list", "--store", seeded.url, "--kind", "memory", "--kind", "decision")
    assert sorted(r["kind"] for r in rows) == ["decision", "memory", "memory"]
    code, out, _ = run(capsys, "list", "--store", seeded.url, "--user", "nobody")
    assert code == 0 and out.startswith("No records match (--user nobody)")


def test_show_memory_with_provenance(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    code, out, _ = run(capsys, "show", seeded.alice_memory, "--store", seeded.url)
    assert code == 0
    assert out.startswith(f"memory {seeded.alice_memory}\n")
    assert "text: Prefers green tea" in out
    provenance = out[out.index("  provenance:") :]
    assert "mode: agentic" in provenance and "thread_id: t1" in provenance
    assert f"user_id: {seeded.alice}" in provenance


def test_show_entity_by_key_name_or_alias(
    capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    for ref in ("acme_inc", "Acme Inc", "ACME"):
        (record,) = run_json(capsys, "show", ref, "--store", seeded.url)
        assert (record["kind"], record["id"], record["namespace"]) == ("entity", "acme_inc", "user")
        assert record["store_namespace"] == ["learning", "entity_memory", "user", seeded.alice]
        assert record["value"]["facts"][0]["text"] == "Alice works there"


def test_show_proposal_has_audit_trail(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    code, out, _ = run(capsys, "show", seeded.knowledge_proposal, "--store", seeded.url)
    assert code == 0 and "status: proposed" in out and "rationale: worth keeping" in out
    trail = out[out.index("audit trail:") :]
    assert "proposed by default: worth keeping" in trail


def test_show_unknown_id(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    code, out, err = run(capsys, "show", "mem_nope", "--store", seeded.url)
    assert (code, out) == (1, "")
    assert "'mem_nope'" in err and "agno-learn list" in err and "agno-learn proposals" in err


def test_search(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    rows = run_json(capsys, "search", "tea", "--store", seeded.url)
    assert [r["id"] for r in rows] == [seeded.alice_memory]
    rows = run_json(capsys, "search", "coffee tea", "--store", seeded.url, "--user", seeded.bob)
    assert [r["id"] for r in rows] == [seeded.bob_memory]
    rows = run_json(capsys, "search", "retry", "--store", seeded.url, "--kind", "proposal")
    assert [r["id"] for r in rows] == [seeded.knowledge_proposal]
    code, out, err = run(capsys, "search", "kangaroo", "--store", seeded.url)
    assert (code, out) == (1, "") and "Nothing matches 'kangaroo'" in err


def test_export_to_file(capsys: pytest.CaptureFixture[str], seeded: Seeded, tmp_path: Path) -> None:
    target = tmp_path / "alice.json"
    code, out, err = run(
        capsys, "export", "--store", seeded.url, "--user", seeded.alice, "-o", str(target)
    )
    assert code == 0 and out == "" and f"to {target}" in err
    doc = json.loads(target.read_text())
    assert doc["format"] == "agno-learn-export/1" and doc["filters"]["user"] == seeded.alice
    assert doc["counts"]["memory"] == 1 and doc["counts"]["proposal"] == 2
    memory = next(r for r in doc["records"] if r["kind"] == "memory")
    assert memory["value"]["text"] == "Prefers green tea"
    assert memory["value"]["provenance"]["thread_id"] == "t1"
    assert sum(doc["counts"].values()) == len(doc["records"])
    code, out, _ = run(capsys, "export", "--store", seeded.url, "--namespace", "team")
    assert code == 0 and [r["value"]["title"] for r in json.loads(out)["records"]] == ["Deploys"]


# -- review -------------------------------------------------------------------------------


def test_proposals_lists_pending_across_users(
    capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    code, out, _ = run(capsys, "proposals", "--store", seeded.url)
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:4] == ["ID", "KIND", "USER", "THREAD"]
    assert {line.split()[0] for line in lines} == {
        seeded.knowledge_proposal,
        seeded.memory_proposal,
        seeded.bob_proposal,
    }
    pending = run_json(capsys, "proposals", "--store", seeded.url, "--kind", "memory")
    assert {p["id"] for p in pending} == {seeded.memory_proposal, seeded.bob_proposal}
    pending = run_json(capsys, "proposals", "--store", seeded.url, "--user", seeded.bob)
    assert [p["id"] for p in pending] == [seeded.bob_proposal]
    pending = run_json(capsys, "proposals", "--store", seeded.url, "--thread", "t1")
    assert len(pending) == 2


def test_approve_stores_the_learning(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    from agno_learn_langgraph import get_proposal

    prop = seeded.knowledge_proposal
    code, out, err = run(capsys, "approve", prop, "--store", seeded.url, "--reviewer", "ann")
    assert code == 0, err
    assert out.startswith(f"Approved {prop} (knowledge); stored as lk_") and "ann" in out
    with open_store(seeded.url) as backend:
        decided = get_proposal(backend.store, prop)
        assert decided is not None
        assert (decided.status, decided.reviewer) == ("approved", "ann")
        glob = learned_knowledge.knowledge_namespace("global", Scope())
        found = run_plan(
            backend.store, learned_knowledge.search_learnings(glob, "", limit=10, indexed=False)
        )
    stored = next(k for k in found if k.id == decided.applied_id)
    assert stored.learning == "Retry 429s" and stored.provenance is not None
    assert stored.provenance.proposal_id == prop
    pending = run_json(capsys, "proposals", "--store", seeded.url)
    assert prop not in {p["id"] for p in pending}
    code, _, err = run(capsys, "approve", prop, "--store", seeded.url)
    assert code == 4 and "already approved by ann" in err


def test_edit_approves_changed_content(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    prop = seeded.knowledge_proposal
    decided = run_json(
        capsys,
        "edit",
        prop,
        "--store",
        seeded.url,
        "--set",
        "learning=Retry 429s with backoff",
        "--set",
        "tags=http,retry",
        "--reviewer",
        "rita",
    )
    assert decided["status"] == "approved" and decided["reviewer"] == "rita"
    assert decided["content"]["learning"] == "Retry 429s with backoff"
    assert decided["content"]["tags"] == ["http", "retry"]
    assert decided["history"][-1]["action"] == "edit"
    assert decided["history"][-1]["changes"]["learning"]["from"] == "Retry 429s"
    stored = run_json(capsys, "show", decided["applied_id"], "--store", seeded.url)
    assert stored[0]["value"]["learning"] == "Retry 429s with backoff"
    code, out, _ = run(capsys, "show", prop, "--store", seeded.url)
    assert code == 0
    assert "edit by rita" in out and "learning: 'Retry 429s' -> 'Retry 429s with backoff'" in out


def test_bad_edits(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    prop = seeded.memory_proposal
    code, _, err = run(capsys, "edit", prop, "--store", seeded.url, "--set", "colour=red")
    assert code == 4 and "'colour'" in err and "text" in err
    code, _, err = run(capsys, "edit", prop, "--store", seeded.url, "--set", "text=  ")
    assert code == 4 and "non-empty 'text'" in err
    code, _, err = run(capsys, "edit", prop, "--store", seeded.url, "--set", "text")
    assert code == 2 and "FIELD=VALUE" in err
    code, _, err = run(capsys, "edit", "prop_nope", "--store", seeded.url, "--set", "text=x")
    assert code == 1 and "'prop_nope'" in err and "agno-learn proposals" in err
    pending = run_json(capsys, "proposals", "--store", seeded.url, "--kind", "memory")
    assert prop in {p["id"] for p in pending}


def test_reject_keeps_the_proposal_for_audit(
    capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    prop = seeded.memory_proposal
    code, out, _ = run(
        capsys, "reject", prop, "--store", seeded.url, "--reason", "not true", "--reviewer", "ann"
    )
    assert code == 0 and out.startswith(f"Rejected {prop} (memory); reason: not true")
    (record,) = run_json(capsys, "show", prop, "--store", seeded.url)
    assert record["value"]["status"] == "rejected" and record["value"]["reason"] == "not true"
    memories = run_json(capsys, "list", "--store", seeded.url, "--kind", "memory")
    assert "Travels to Lisbon" not in {m["summary"] for m in memories}
    code, _, err = run(capsys, "reject", prop, "--store", seeded.url)
    assert code == 4 and "already rejected" in err


# -- forget-user --------------------------------------------------------------------------


def test_forget_user_deletes_only_that_user(
    capsys: pytest.CaptureFixture[str], seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_bob = run_json(capsys, "list", "--store", seeded.url, "--user", seeded.bob)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(capsys, "forget-user", seeded.alice, "--store", seeded.url)
    assert code == 2 and "--yes" in err
    assert run_json(capsys, "list", "--store", seeded.url, "--user", seeded.alice)
    report = run_json(capsys, "forget-user", seeded.alice, "--store", seeded.url, "--yes")
    assert report["deleted"] == {
        "profile": 1,
        "memory": 1,
        "session": 1,
        "entity": 1,
        "decision": 1,
        "proposal": 2,
        "entity alias": 1,
    }
    assert report["threads"] == ["t1"]
    assert run_json(capsys, "list", "--store", seeded.url, "--user", seeded.alice) == []
    assert run_json(capsys, "list", "--store", seeded.url, "--user", seeded.bob) == before_bob
    shared = run_json(capsys, "list", "--store", seeded.url, "--kind", "knowledge")
    assert {r["id"] for r in shared} >= {seeded.global_knowledge}
    code, _, err = run(capsys, "forget-user", seeded.alice, "--store", seeded.url, "--yes")
    assert code == 1 and "Nothing is stored about user" in err


def test_forget_user_is_seen_by_a_running_agent_at_once(
    capsys: pytest.CaptureFixture[str], seeded: Seeded
) -> None:
    """An agent process that already recalled the user's memories must not keep serving them."""
    from agno_learn_langgraph import LearningMachine
    from agno_learn_langgraph.recall import recall

    machine = LearningMachine(user_memory=True)
    scope = Scope(user_id=seeded.alice, thread_id="t1")
    with open_store(seeded.url) as agent:  # a long-lived store object, like a running graph's
        assert [m.text for m in recall(machine, agent.store, scope, "tea").memories] == [
            "Prefers green tea"
        ]
        run_json(capsys, "forget-user", seeded.alice, "--store", seeded.url, "--yes")
        assert not recall(machine, agent.store, scope, "tea").memories


def test_forget_user_asks_on_a_terminal(
    capsys: pytest.CaptureFixture[str], seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, _, err = run(capsys, "forget-user", seeded.bob, "--store", seeded.url)
    assert code == 1 and "nothing was deleted" in err
    assert run_json(capsys, "list", "--store", seeded.url, "--user", seeded.bob)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    code, out, _ = run(capsys, "forget-user", seeded.bob, "--store", seeded.url)
    assert code == 0 and out.startswith(f"Deleted 4 records about user '{seeded.bob}'")


# -- store errors, usage, version, docs ---------------------------------------------------


def test_store_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "list", "--store", "learn.txt")
    assert code == 3 and "'learn.txt'" in err and "postgresql://" in err and ".sqlite" in err
    missing = tmp_path / "missing.db"
    code, _, err = run(capsys, "list", "--store", str(missing))
    assert code == 3 and str(missing) in err and not missing.exists()
    code, _, err = run(capsys, "list", "--store", "postgresql://u:secret@127.0.0.1:1/nope")
    assert code == 3 and "Cannot connect to PostgreSQL" in err and "secret" not in err
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    code, _, err = run(capsys, "list", "--store", str(junk))
    assert code == 3 and "junk.db" in err


def test_usage_errors_and_store_from_env(
    capsys: pytest.CaptureFixture[str], seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGNO_LEARN_STORE", raising=False)
    code, _, err = run(capsys, "list")
    assert code == 2 and "AGNO_LEARN_STORE" in err
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys, "list", "--kind", "memories", "--store", seeded.url)[0] == 2
    assert run(capsys)[0] == 2
    monkeypatch.setenv("AGNO_LEARN_STORE", seeded.url)
    assert [r["id"] for r in run_json(capsys, "list", "--kind", "decision")] == [seeded.decision]
    code, out, _ = run(capsys, "--store", seeded.url, "list", "--kind", "decision")
    assert code == 0 and seeded.decision in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and re.fullmatch(r"agno-learn \d+\.\d+\.\d+\S*\n", out)


def _subcommands() -> list[str]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(commands.choices)  # type: ignore[arg-type]


def test_every_command_is_documented_and_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    names = _subcommands()
    assert {
        "list",
        "show",
        "search",
        "export",
        "proposals",
        "approve",
        "edit",
        "reject",
        "forget-user",
    } <= set(names)
    docs = DOCS.read_text()
    help_text = build_parser().format_help()
    for name in names:
        assert f"### `{name}`" in docs, f"docs/cli.md has no section for `{name}`"
        assert name in help_text
        sub_help = run(capsys, name, "--help")
        assert sub_help[0] == 0 and f"usage: agno-learn {name}" in sub_help[1]
    for code in EXIT_CODES:
        assert f"| {code} |" in docs and f"  {code}  " in help_text


# -- the installed console script ---------------------------------------------------------


def _script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists() or shutil.which("agno-learn"), "pip install -e . installs agno-learn"
    exe = str(SCRIPT) if SCRIPT.exists() else "agno-learn"
    return subprocess.run(
        [exe, *argv], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_console_script_on_sqlite(seeded: Seeded) -> None:
    done = _script("list", "--json", "--kind", "memory", env={"AGNO_LEARN_STORE": seeded.url})
    assert done.returncode == 0, done.stderr
    assert {r["summary"] for r in json.loads(done.stdout)} == {
        "Prefers green tea",
        "Drinks black coffee",
    }
    done = _script("approve", seeded.memory_proposal, "--store", seeded.url, "--reviewer", "ann")
    assert done.returncode == 0 and "stored as mem_" in done.stdout
    done = _script("show", "mem_nope", "--store", seeded.url)
    assert done.returncode == 1 and "agno-learn list" in done.stderr
    done = _script("list", "--store", "nowhere.txt")
    assert done.returncode == 3 and "nowhere.txt" in done.stderr


def test_console_script_on_postgres(pg_url: str) -> None:
    suffix = "_" + uuid.uuid4().hex[:8]
    seeded = seed(pg_url, suffix)
    done = _script("proposals", "--json", "--user", seeded.alice, "--store", pg_url)
    assert done.returncode == 0, done.stderr
    assert {p["id"] for p in json.loads(done.stdout)} == {
        seeded.knowledge_proposal,
        seeded.memory_proposal,
    }
    done = _script("approve", seeded.memory_proposal, "--store", pg_url)
    assert done.returncode == 0, done.stderr
    done = _script("list", "--json", "--kind", "memory", "--user", seeded.alice, "--store", pg_url)
    texts = {r["summary"] for r in json.loads(done.stdout)}
    assert texts == {"Prefers green tea", "Travels to Lisbon"}
    done = _script("forget-user", seeded.alice, "--yes", "--store", pg_url)
    assert done.returncode == 0 and done.stdout.startswith("Deleted ")
    done = _script("list", "--json", "--user", seeded.bob, "--store", pg_url)
    assert done.returncode == 0 and json.loads(done.stdout)


# -- a waiting graph resumes after the CLI decided ----------------------------------------


@dataclass
class Ctx:
    user_id: str


def _proposing_graph(model: Any, backend: Any) -> Any:
    """agent -> tools -> review_learnings -> agent, as in the approval node's docs."""
    from langchain_core.runnables import RunnableLambda
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    from agno_learn_langgraph.approval import create_approval_node, create_propose_tools

    tools = create_propose_tools(MACHINE)
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("agent", RunnableLambda(agent))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("review_learnings", create_approval_node(MACHINE))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "review_learnings")
    builder.add_edge("review_learnings", "agent")
    return builder.compile(store=backend.store, checkpointer=backend.checkpointer)


@pytest.mark.parametrize("where", ["sqlite", "postgres"])
def test_cli_approval_lets_a_waiting_graph_resume(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call

    url = str(tmp_path / "learn.db") if where == "sqlite" else request.getfixturevalue("pg_url")
    run_id = uuid.uuid4().hex[:8]
    config: Any = {"configurable": {"thread_id": f"thread-{run_id}"}}
    ctx = Ctx(user_id=f"ann-{run_id}")
    title = f"Rate limits {run_id}"
    call = {"learning": "Retry HTTP 429 with backoff", "title": title, "rationale": "seen twice"}
    model = ScriptedChatModel(
        [ai_tool_calls(tool_call("propose_learning", call)), "Noted; it awaits review."]
    )
    with open_store(url) as backend:  # the agent's process: stops at the interrupt
        out = _proposing_graph(model, backend).invoke(
            {"messages": [("user", "The API keeps failing")]}, config, context=ctx
        )
        (pending,) = out["__interrupt__"]
        (raised,) = pending.value["proposals"]

    listed = _script("proposals", "--json", "--thread", f"thread-{run_id}", "--store", url)
    assert [p["id"] for p in json.loads(listed.stdout)] == [raised["id"]]
    done = _script("approve", raised["id"], "--store", url, "--reviewer", "ann")
    assert done.returncode == 0, done.stderr

    with open_store(url) as backend:  # a new process resumes the thread: no second interrupt
        graph = _proposing_graph(model, backend)
        out = graph.invoke(None, config, context=ctx)
        assert "__interrupt__" not in out
        assert out["messages"][-1].content == "Noted; it awaits review."
        assert graph.get_state(config).next == ()
        glob = learned_knowledge.knowledge_namespace("global", Scope())
        found = run_plan(
            backend.store, learned_knowledge.search_learnings(glob, title, limit=5, indexed=False)
        )
    assert [k.title for k in found][:1] == [title]
    assert model.call_count == 2


def test_errors_never_show_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--store", "mysql://bob:s3cr@t@db/app")
    assert code == 3 and "s3cr" not in err and "mysql://bob:***@db/app" in err


def test_errors_never_show_a_password_query_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--store", "mysql://db/app?user=bob&password=s3cr")
    assert code == 3 and "s3cr" not in err and "password=***" in err
    url = "postgresql://127.0.0.1:1/nope?user=bob&password=s3cr"
    code, _, err = run(capsys, "list", "--store", url)
    assert code == 3 and "Cannot connect to PostgreSQL" in err and "s3cr" not in err


def test_python_dash_m_runs_the_cli(seeded: Seeded) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agno_learn_langgraph.cli", "list", "--json", "--kind", "decision"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AGNO_LEARN_STORE": seeded.url},
    )
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [seeded.decision]


def test_show_kind_narrows_the_lookup(capsys: pytest.CaptureFixture[str], seeded: Seeded) -> None:
    code, _, err = run(capsys, "show", "acme", "--kind", "knowledge", "--store", seeded.url)
    assert code == 1 and "'acme'" in err
    (record,) = run_json(capsys, "show", "Acme", "--namespace", "user", "--store", seeded.url)
    assert record["id"] == "acme_inc"


def test_every_store_kind_is_read_through_its_own_namespace_function() -> None:
    """Adding a store to kinds.py without telling the CLI where it lives fails here."""
    from agno_learn_langgraph.cli import queries, render
    from agno_learn_langgraph.kinds import KINDS as STORE_KINDS

    assert set(queries._OWNED) == {k.name for k in STORE_KINDS if not k.namespaced}
    assert set(queries._SHARED) == {k.name for k in STORE_KINDS if k.namespaced}
    assert set(render._SUMMARIES) == set(KINDS)
