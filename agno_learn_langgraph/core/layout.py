"""Where the learning stores keep their records: the namespace layout and its labels.

Namespace layout (labels containing ``.`` or ``%`` are percent-encoded: ``alice@example%2Ecom``)::

    ("learning", "user_profile", <user>)              key "profile"
    ("learning", "user_memory", <user>)               key "mem_..."
    ("learning", "session_context", <thread>)         key "context"
    ("learning", "entity_memory", *<ns>)              key <entity key>, e.g. "acme"
    ("learning", "entity_alias", *<ns>)               key <alias key> -> {"entity_key": ...}
    ("learning", "learned_knowledge", *<ns>)          key "lk_<title hash>"
    ("learning", "decision_log", <agent>)             key "dec_..."
    ("learning", "proposals")                         key "prop_..."
    ("learning", "cursors", <thread>)                 key "extraction"
    ("learning", "versions")                          key "<namespace joined by />" (index stamps)
    ("learning", "tombstones", *<ranked namespace>)   key <deleted key> (PostgreSQL only)

where ``*<ns>`` is ``("global",)``, ``("user", <user>)`` or ``("ns", <custom name>)``.
"""

from __future__ import annotations

from collections.abc import Hashable

from agno_learn_langgraph.errors import MissingScopeError
from agno_learn_langgraph.kinds import kind
from agno_learn_langgraph.scope import Scope

__all__ = ["ROOT", "data_key", "decode_label", "encode_label", "namespace_scope"]

ROOT = "learning"


def encode_label(value: str) -> str:
    """Make an id usable as a namespace label (LangGraph rejects ``.``): percent-encode ``.``/``%``.

    >>> encode_label("alice@example.com")
    'alice@example%2Ecom'
    """
    if not isinstance(value, str) or not value:
        raise MissingScopeError(f"Namespace ids must be non-empty strings, got {value!r}.")
    return value.replace("%", "%25").replace(".", "%2E")


def decode_label(label: str) -> str:
    """Inverse of :func:`encode_label`."""
    return label.replace("%2E", ".").replace("%25", "%")


def namespace_scope(namespace: str, scope: Scope, store: str) -> tuple[str, ...]:
    """The namespace labels of a ``global``/``user``/custom namespace (see the module layout)."""
    if namespace == "global":
        return ("global",)
    if namespace == "user":
        return ("user", encode_label(scope.require_user(f"{store} (namespace='user')")))
    return ("ns", encode_label(namespace))


def data_key(store: str, scope: Scope, namespace: str | None = None) -> Hashable:
    """Identity of the data a write to ``store`` touches: what write locks are keyed by.

    Raises:
        MissingScopeError: the run lacks the id that scopes ``store``.
    """
    return kind(store).data_key(scope, namespace)
