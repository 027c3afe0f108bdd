"""The store core: plans and their runners, the namespace layout, record checks, write locks.

Every store operation is a plan (``core.plans``) run by ``core.runner``; nothing here imports
LangChain or knows how recall ranks (that is ``index``).
"""

from agno_learn_langgraph.core.checks import MAX_TEXT_CHARS, check_storable, lookup_key
from agno_learn_langgraph.core.layout import (
    ROOT,
    data_key,
    decode_label,
    encode_label,
    namespace_scope,
)
from agno_learn_langgraph.core.locks import async_write_lock, write_lock
from agno_learn_langgraph.core.plans import (
    SCAN_LIMIT,
    Plan,
    PlanOp,
    SideOp,
    as_item,
    as_items,
    delete_items,
    done,
    gather_plans,
    get_one,
    newest_first,
    put,
    search_all,
)
from agno_learn_langgraph.core.runner import arun_plan, current_store, run_plan

__all__ = [
    "MAX_TEXT_CHARS",
    "ROOT",
    "SCAN_LIMIT",
    "Plan",
    "PlanOp",
    "SideOp",
    "arun_plan",
    "as_item",
    "as_items",
    "async_write_lock",
    "check_storable",
    "current_store",
    "data_key",
    "decode_label",
    "delete_items",
    "done",
    "encode_label",
    "gather_plans",
    "get_one",
    "lookup_key",
    "namespace_scope",
    "newest_first",
    "put",
    "run_plan",
    "search_all",
    "write_lock",
]
