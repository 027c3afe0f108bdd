"""The main demo: one short conversation per mode on a SQLite file, printed readably.

    python -m nodes.demo                      # scripted model, no API key needed
    OPENAI_API_KEY=... python -m nodes.demo   # gpt-4o-mini through langchain-openai
    python -m nodes.demo --model anthropic:claude-sonnet-4-5 --db /tmp/learn.db

Offline, a scripted model plays the agent (its replies and tool calls are written below), but
everything else is real: the SQLite store and checkpointer, recall, background extraction,
the learning tools, the approval interrupt and its resume.
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.types import Command

from agno_learn_langgraph import (
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    Scope,
    SessionContextConfig,
    UserMemoryConfig,
    UserProfileConfig,
    build_learning_context,
    list_pending_proposals,
    open_store,
)
from agno_learn_langgraph.testing import ScriptedChatModel, ai_tool_calls, tool_call
from nodes._wiring import Context, build_learning_graph, resolve_chat_model

USER, OTHER_USER = "alice@example.com", "bob@example.com"

TURNS = [
    ("ALWAYS", "I'm Alice Chen, but please call me Ali. I lead the payments team at Stripe."),
    ("AGENTIC", "Acme Corp is our biggest customer; they moved their HQ to Berlin last month."),
    (
        "PROPOSE",
        "That's a great insight about API rate limits - we should remember that: back off "
        "exponentially with jitter on HTTP 429.",
    ),
]


def scripted_agent() -> ScriptedChatModel:
    """The agent's side of the offline conversation: replies and tool calls, in order."""
    return ScriptedChatModel(
        [
            "Nice to meet you, Ali! How can I help the payments team today?",
            ai_tool_calls(
                tool_call(
                    "create_entity",
                    {
                        "name": "Acme Corp",
                        "entity_type": "company",
                        "aliases": ["Acme"],
                        "facts": ["Biggest customer"],
                    },
                ),
            ),
            # a second step: ToolNode runs one message's calls concurrently, in no fixed order
            ai_tool_calls(
                tool_call("add_event", {"entity": "Acme", "event": "Moved HQ to Berlin"})
            ),
            "Noted: Acme Corp is your biggest customer and now sits in Berlin.",
            ai_tool_calls(
                tool_call(
                    "propose_learning",
                    {
                        "title": "API rate limits",
                        "learning": "Back off exponentially with jitter on HTTP 429.",
                        "context": "Any third-party API client",
                        "rationale": "The user asked to remember it for the team",
                    },
                ),
            ),
            "It was reviewed and approved: every teammate's agent will now know it.",
            "Hi Bob! Yes: back off exponentially with jitter on HTTP 429 (team learning).",
        ]
    )


def scripted_extractor() -> ScriptedChatModel:
    """The extraction model's side: what it learns after each turn."""
    return ScriptedChatModel(
        structured_responses=[
            {
                "profile": {"set": {"name": "Alice Chen", "preferred_name": "Ali"}},
                "memories": {"add": ["Leads the payments team at Stripe"]},
                "session": {"summary": "Ali introduced herself; leads payments at Stripe."},
            },
            {"session": {"summary": "Ali introduced herself and noted Acme Corp moved to Berlin."}},
            {"session": {"summary": "Ali shared a rate-limit insight, proposed for review."}},
            {},
        ],
        cycle=True,
    )


def demo_machine(extractor: BaseChatModel) -> LearningMachine:
    """The seeds' defaults, with learned knowledge in PROPOSE mode."""
    return LearningMachine(
        model=extractor,
        user_profile=UserProfileConfig(mode=LearningMode.ALWAYS),
        user_memory=UserMemoryConfig(mode=LearningMode.ALWAYS),
        session_context=SessionContextConfig(mode=LearningMode.ALWAYS),
        entity_memory=EntityMemoryConfig(mode=LearningMode.AGENTIC),
        learned_knowledge=LearnedKnowledgeConfig(mode=LearningMode.PROPOSE),
    )


def heading(text: str) -> None:
    print(f"\n{'=' * 78}\n{text}\n{'=' * 78}")


def show(label: str, text: str) -> None:
    text = text.split("<learning_tools>")[0]  # the tool guidance repeats every turn
    body = textwrap.indent(text.strip() or "(nothing)", "    ")
    print(f"{label}:\n{body}")


def run(db: Path, model_spec: str | None) -> None:
    real = resolve_chat_model(model_spec)
    chat = real or scripted_agent()
    extractor = real or scripted_extractor()
    print(f"Store and checkpointer: SQLite file {db}")
    print(
        f"Model: {type(real).__name__} (real)"
        if real
        else "Model: scripted (no OPENAI_API_KEY or --model given): replies are pre-written, "
        "storage, recall, extraction and review are real."
    )
    machine = demo_machine(extractor)
    print(f"Machine: {machine}")
    with open_store(str(db)) as backend:
        graph = build_learning_graph(machine, chat).compile(
            store=backend.store, checkpointer=backend.checkpointer
        )
        ctx = Context(user_id=USER)
        config: dict[str, Any] = {"configurable": {"thread_id": "demo-thread-1"}}
        for mode, text in TURNS:
            heading(f"{mode}: {text}")
            out = graph.invoke({"messages": [("user", text)]}, config, context=ctx)
            if "__interrupt__" in out:
                request = out["__interrupt__"][0].value
                for p in request["proposals"]:
                    show(
                        f"Pending proposal {p['id']} ({p['store']})",
                        f"{p['content']}\nrationale: {p['rationale']}",
                    )
                pending = list_pending_proposals(backend.store, thread_id="demo-thread-1")
                print(f"Status in the store: {[p.status for p in pending]} (not recalled yet)")
                decisions = [
                    {"proposal_id": p["id"], "type": "approve"} for p in request["proposals"]
                ]
                print("Reviewer approves: Command(resume={'decisions': [approve...]})")
                out = graph.invoke(
                    Command(resume={"decisions": decisions, "reviewer": "ops"}), config, context=ctx
                )
            print(f"Agent: {out['messages'][-1].text}")
            machine.flush()  # background extraction: wait so the demo can show what it learned
            show(
                "What the next turn recalls",
                build_learning_context(
                    machine, backend.store, Scope(user_id=USER, thread_id="demo-thread-1"), text
                ),
            )

        heading("A new thread for another user in the same namespace")
        question = "Any advice on HTTP 429 rate limits?"
        out = graph.invoke(
            {"messages": [("user", question)]},
            {"configurable": {"thread_id": "demo-thread-2"}},
            context=Context(user_id=OTHER_USER),
        )
        machine.flush()
        show("Recall for bob (shared learned knowledge only)", out["learning_context"])
        print(f"Agent: {out['messages'][-1].text}")
    machine.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file (default: a fresh temp file)")
    parser.add_argument("--model", help="provider:name of a LangChain chat model")
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="agno-learn-demo-")) / "learn.db"
    run(db, args.model)


if __name__ == "__main__":
    main()
