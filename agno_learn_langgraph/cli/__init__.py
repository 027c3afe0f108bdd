"""``agno-learn``: list, show, search, export and review what agents learned, from a terminal.

Every command takes ``--store URL`` (or the ``AGNO_LEARN_STORE`` environment variable): a SQLite
file, a ``postgresql://`` URL, a LangGraph server's ``http://host:port`` (with ``--api-key``) or
``:memory:``. The full reference, with examples, is docs/cli.md::

    agno-learn list --store learn.db --user alice
    agno-learn proposals --store learn.db
    agno-learn approve prop_1a2b3c4d5e6f --store learn.db --reviewer ann

Exit codes: 0 ok; 1 not found (an unknown id, a search or user that matches nothing) or aborted;
2 usage error; 3 store unreachable or bad URL; 4 invalid review (decided already, bad edit).

The package's rooms: ``parser`` (arguments, opening the store, :func:`main`), ``commands`` (one
function per command, exit codes), ``queries`` (kinds, filters, finding records) and ``render``
(tables, details, JSON).
"""

from __future__ import annotations

from agno_learn_langgraph.cli.commands import EXIT_CODES
from agno_learn_langgraph.cli.parser import build_parser, main
from agno_learn_langgraph.cli.queries import KINDS

__all__ = ["EXIT_CODES", "KINDS", "build_parser", "main"]
