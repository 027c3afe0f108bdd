"""AGENTIC mode: the learning tools, ready for ``ToolNode``, ``create_agent`` or ``bind_tools``.

>>> from agno_learn_langgraph import LearningMachine
>>> tools = create_learning_tools(LearningMachine(learned_knowledge=True, decision_log=True))
>>> [t.name for t in tools]
['search_learnings', 'save_learning', 'log_decision', 'record_outcome', 'search_decisions']

Each tool body is a store plan run with ``run_plan`` (sync) or ``arun_plan`` (async). The store
comes from the graph (``ToolRuntime``); user, thread and agent ids come from the run context or
``config["configurable"]``, never from tool arguments (extra arguments are ignored). Input the
model can fix comes back as an error tool message; a missing store or user id is raised.

Layout: :mod:`.spec` builds a tool from a :class:`~.spec.ToolSpec`; :mod:`.user`,
:mod:`.entities`, :mod:`.knowledge` and :mod:`.decisions` hold each store's tools; :mod:`.table`
maps stores to them; :mod:`.node` holds ``LearningToolNode``, the ``ToolNode`` that also answers
invalid tool calls.
"""

from __future__ import annotations

from agno_learn_langgraph.tools.node import LearningToolNode
from agno_learn_langgraph.tools.table import create_learning_tools

__all__ = ["LearningToolNode", "create_learning_tools"]
