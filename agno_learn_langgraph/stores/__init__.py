"""Persistence of the six learning stores (and proposals) over any LangGraph ``BaseStore``.

Each module holds one store's plans; :mod:`.base` holds what they share and documents the
namespace layout.
"""
