"""Persistence of the six learning stores (and proposals, cursors, the outbox) over any
LangGraph ``BaseStore``: one module per store, each holding that store's plans.

What the stores share lives below them: ``core`` (plans, layout, locks) and ``index``
(ranking).
"""
