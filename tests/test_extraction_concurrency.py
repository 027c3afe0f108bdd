"""Two extractions for one user at once must not lose each other's profile fields."""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.store.base import GetOp
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph import LearningMachine, Scope, extract_learnings
from agno_learn_langgraph.core import run_plan
from agno_learn_langgraph.stores import user_profile
from agno_learn_langgraph.testing import ScriptedChatModel


class SlowProfileReads(InMemoryStore):
    """Widens the read-modify-write window of a profile update to make a race likely."""

    def batch(self, ops: Any) -> Any:
        if any(isinstance(op, GetOp) and op.namespace[1] == "user_profile" for op in ops):
            time.sleep(0.2)
        return super().batch(ops)


def test_concurrent_profile_updates_for_one_user_keep_both_fields() -> None:
    store = SlowProfileReads()
    extractor = ScriptedChatModel(
        structured_responses=[
            lambda msgs: (
                {"profile": {"set": {"name": "Ann Lee"}}}
                if "Ann Lee" in str(msgs[-1].content)
                else {"profile": {"set": {"preferred_name": "Annie"}}}
            )
        ],
        cycle=True,
    )
    machine = LearningMachine(model=extractor, user_profile=True)
    turns = {
        "t1": [HumanMessage("My name is Ann Lee", id="a"), AIMessage("Hi", id="b")],
        "t2": [HumanMessage("Call me Annie", id="c"), AIMessage("Sure", id="d")],
    }
    reports: list[Any] = []
    start = threading.Barrier(len(turns))

    def run(thread: str) -> None:
        scope = Scope(user_id="ann", thread_id=thread)
        start.wait()
        reports.append(extract_learnings(machine, store, scope, turns[thread]))

    workers = [threading.Thread(target=run, args=(t,)) for t in turns]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [r.status for r in reports] != ["failed", "failed"]
    profile = run_plan(store, user_profile.get_profile("ann"))
    assert profile is not None
    assert (profile.name, profile.preferred_name) == ("Ann Lee", "Annie")
