"""Ready-wired LangGraph graphs (recipes) for the demo, the notebooks and ``langgraph.json``.

One module per mode plus one combining them, each exposing ``MACHINE`` (its LearningMachine),
``build_graph(model=None, *, extraction_model=None)`` (an uncompiled ``StateGraph``) and
``graph`` (compiled without store or checkpointer, for ``langgraph dev``, which supplies both).
They import only the package's public API; the package never imports them.
"""
