"""Persistence of the six learning stores (and proposals) over any LangGraph ``BaseStore``.

Each module holds one store's plans; what they share is in ``core`` (plans, layout, locks) and
``index`` (ranking). ``stores.base``, ``stores.lexical`` and ``stores.vectors`` are their old
names, kept until every import uses the new ones.
"""

import sys

from agno_learn_langgraph.index import lexical as _lexical
from agno_learn_langgraph.index import vectors as _vectors

# the moved modules themselves under their old names (same objects: one set of globals)
sys.modules[f"{__name__}.lexical"] = _lexical
sys.modules[f"{__name__}.vectors"] = _vectors
lexical = _lexical
vectors = _vectors
