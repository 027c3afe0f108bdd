"""ALWAYS mode: learn from each finished turn with one structured model call, off the critical path.

The core is LangGraph-free and shared by a sync and an async shell; each module holds one step:

* ``select``: which stores extract (ALWAYS or PROPOSE mode) and which messages are new (after
  the thread's cursor; tool, system and tool-call-only messages never reach the model; at most
  ``machine.max_messages_per_extraction``).
* ``parts``: one extraction part per store (what it reads for the prompt, its output field,
  how its changes are written): the only module here that names stores.
* ``outputs`` / ``schema`` / ``strict``: the pydantic models the model fills in, the output
  schema of one call (a field per store it serves), sent in OpenAI's strict ``json_schema`` form.
* ``calls``: one call per distinct extraction model (by default every store uses the machine's
  model, so a turn costs ONE call), run with ``with_structured_output`` (or a JSON prompt);
  timeouts, 429, 5xx, refusals and truncated output are retried, other client errors are not.
* ``prepare``: :func:`plan_claim` claims the new messages (under the thread's cursor lock),
  then :func:`plan_read` (no lock held) loads the records the model needs to choose update
  versus add: the profile, the session context, the memories most relevant to the new messages
  (with ids), the entities they name, related learnings. The prompt is bounded whatever the
  conversation's length.
* ``apply``: :func:`plan_apply` writes the validated changes through the store plans with
  ``Provenance(mode="always")`` (proposals for stores in PROPOSE mode); the cursor only moves
  after a successful apply, so messages a failed extraction missed are read next time.
* ``node``: :func:`extract_learnings` / :func:`aextract_learnings` run one extraction;
  :func:`schedule_extraction` puts it off the critical path; :func:`create_extraction_node`.
"""

from __future__ import annotations

from agno_learn_langgraph.extraction.apply import (
    ApplyStep,
    ExtractionReport,
    plan_apply,
    plan_skip,
)
from agno_learn_langgraph.extraction.calls import (
    ExtractionCall,
    ExtractionFailedError,
    ainvoke_call,
    build_calls,
    invoke_call,
    parse_json_reply,
    resolve_models,
)
from agno_learn_langgraph.extraction.node import (
    aextract_learnings,
    aschedule_extraction,
    create_extraction_node,
    extract_learnings,
    schedule_extraction,
)
from agno_learn_langgraph.extraction.outputs import (
    EntityChanges,
    LearningItem,
    MemoryChanges,
    MemoryEdit,
    PlanningSessionUpdate,
    SessionUpdate,
)
from agno_learn_langgraph.extraction.parts import PARTS, ExtractionPart, part
from agno_learn_langgraph.extraction.prepare import Prepared, plan_prepare
from agno_learn_langgraph.extraction.schema import build_output_schema
from agno_learn_langgraph.extraction.select import (
    check_scope,
    conversation_entry,
    extraction_stores,
    select_new_messages,
)

__all__ = [
    "PARTS",
    "ApplyStep",
    "EntityChanges",
    "ExtractionCall",
    "ExtractionFailedError",
    "ExtractionPart",
    "ExtractionReport",
    "LearningItem",
    "MemoryChanges",
    "MemoryEdit",
    "PlanningSessionUpdate",
    "Prepared",
    "SessionUpdate",
    "aextract_learnings",
    "ainvoke_call",
    "aschedule_extraction",
    "build_calls",
    "build_output_schema",
    "check_scope",
    "conversation_entry",
    "create_extraction_node",
    "extract_learnings",
    "extraction_stores",
    "invoke_call",
    "parse_json_reply",
    "part",
    "plan_apply",
    "plan_prepare",
    "plan_skip",
    "resolve_models",
    "schedule_extraction",
    "select_new_messages",
]
