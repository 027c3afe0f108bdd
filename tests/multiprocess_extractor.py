"""One worker process of ``test_multiprocess_cursor``: extracts turns of one thread at once.

Run as ``python tests/multiprocess_extractor.py <store url> <worker> <rounds>``. Each round is a
thread of :data:`TURNS` turns; turn ``k`` is extracted by worker ``(k - 1) % WORKERS``, with the
thread's messages up to that turn, as the turn's own worker would after its reply. The four
workers start each round together, so turn N+1's extraction runs while turn N's still calls its
(slow, scripted) model. Workers 0 and 1 run ``aextract_learnings`` on an async store, 2 and 3
``extract_learnings`` on a sync one.

Prints ``ready``, then per ``go`` on stdin one JSON line: per extraction of the round, the turn,
the report's status and the messages the model was shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import sys
import time
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agno_learn_langgraph import LearningMachine, LearningMode
from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.extraction import aextract_learnings, extract_learnings
from agno_learn_langgraph.scope import Scope
from agno_learn_langgraph.testing import ScriptedChatModel

WORKERS = 4
TURNS = 8
USER = "ann"
_TOKEN = re.compile(r"r\d+ (?:question|answer) \d+")
_NEW = re.compile(r"<new_messages>\n(.*?)\n</new_messages>", re.S)


def thread(round_: int) -> str:
    return f"cursor-{round_}"


def message_ids(round_: int) -> list[str]:
    """The thread's message ids in order."""
    return [str(m.id) for m in messages(round_, TURNS)]


def messages(round_: int, turn: int) -> list[BaseMessage]:
    """The thread's messages after turn ``turn``'s reply."""
    out: list[BaseMessage] = []
    for k in range(1, turn + 1):
        out.append(HumanMessage(f"r{round_} question {k}", id=f"r{round_}-q{k}"))
        out.append(AIMessage(f"r{round_} answer {k}", id=f"r{round_}-a{k}"))
    return out


def tokens(round_: int) -> list[str]:
    """What each message says, as the model reads it."""
    return [str(m.content) for m in messages(round_, TURNS)]


def turns_of(worker: int) -> list[int]:
    return [k for k in range(1, TURNS + 1) if (k - 1) % WORKERS == worker]


SEEN: list[list[str]] = []
"""The new messages of every model call, in call order."""


def slow_extractor(prompt: list[BaseMessage]) -> dict[str, Any]:
    text = "\n".join(str(m.content) for m in prompt)
    block = _NEW.search(text)
    seen = _TOKEN.findall(block.group(1)) if block else []
    SEEN.append(seen)
    time.sleep(random.uniform(0.05, 0.3))  # a model call: the next turn's extraction starts
    return {"memories": {"add": [f"Asked: {t}" for t in seen if "question" in t]}}


def machine() -> LearningMachine:
    model = ScriptedChatModel(structured_responses=[slow_extractor], cycle=True)
    return LearningMachine(model=model, user_memory=LearningMode.ALWAYS)


async def main(url: str, worker: int, rounds: int) -> None:
    learner = machine()
    with contextlib.ExitStack() as stack:
        sync_store = stack.enter_context(open_store(url)).store if worker >= 2 else None
        async with aopen_store(url) as backend:
            print("ready", flush=True)
            for round_ in range(rounds):
                await asyncio.to_thread(sys.stdin.readline)  # "go": every worker at once
                results = []
                for turn in turns_of(worker):
                    here = Scope(user_id=USER, thread_id=thread(round_))
                    calls = len(SEEN)
                    thread_messages = messages(round_, turn)
                    if sync_store is None:
                        report = await aextract_learnings(
                            learner, backend.store, here, thread_messages
                        )
                    else:
                        report = await asyncio.to_thread(
                            extract_learnings, learner, sync_store, here, thread_messages
                        )
                    seen = [t for call in SEEN[calls:] for t in call]
                    results.append({"turn": turn, "status": report.status, "seen": seen})
                print(json.dumps(results), flush=True)
            await asyncio.to_thread(sys.stdin.readline)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
