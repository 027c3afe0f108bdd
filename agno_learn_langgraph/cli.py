"""``agno-learn``: list, show, search, export and review what agents learned, from a terminal.

Every command takes ``--store URL`` (or the ``AGNO_LEARN_STORE`` environment variable): a SQLite
file, a ``postgresql://`` URL or ``:memory:``. The full reference, with examples, is docs/cli.md::

    agno-learn list --store learn.db --user alice
    agno-learn proposals --store learn.db
    agno-learn approve prop_1a2b3c4d5e6f --store learn.db --reviewer ann

Exit codes: 0 ok; 1 not found (an unknown id, a search or user that matches nothing) or aborted;
2 usage error; 3 store unreachable or bad URL; 4 invalid review (decided already, bad edit).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from agno_learn_langgraph.backends import backend_kind, describe_url, open_store
from agno_learn_langgraph.errors import LearningInputError, StoreUnavailableError
from agno_learn_langgraph.records import utcnow
from agno_learn_langgraph.stores.base import (
    ROOT,
    decode_label,
    delete_items,
    encode_label,
    lexical_rank,
    run_plan,
)
from agno_learn_langgraph.stores.entity_memory import entity_key

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore, Item

    from agno_learn_langgraph.records import Proposal

__all__ = ["EXIT_CODES", "KINDS", "build_parser", "main"]

PROG = "agno-learn"
STORE_ENV = "AGNO_LEARN_STORE"

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_STORE, EXIT_REVIEW = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_NOT_FOUND: "not found: unknown id, nothing matched, or aborted at the prompt",
    EXIT_USAGE: "usage error",
    EXIT_STORE: "store unreachable or bad store URL",
    EXIT_REVIEW: "invalid review: proposal decided already, or a bad edit",
}

Kind = Literal["profile", "memory", "session", "entity", "knowledge", "decision", "proposal"]
KINDS: tuple[Kind, ...] = get_args(Kind)
_STORE_OF: dict[Kind, str] = {
    "profile": "user_profile",
    "memory": "user_memory",
    "session": "session_context",
    "entity": "entity_memory",
    "knowledge": "learned_knowledge",
    "decision": "decision_log",
    "proposal": "proposals",
}
PROPOSABLE_KINDS: tuple[Kind, ...] = ("knowledge", "memory", "profile", "entity")
_KIND_OF_STORE = {store: kind for kind, store in _STORE_OF.items()}
_ID_PREFIXES: dict[str, Kind] = {
    "prop_": "proposal",
    "mem_": "memory",
    "lk_": "knowledge",
    "dec_": "decision",
    "profile:": "profile",
    "session:": "session",
}
_PAGE = 500
_HIDDEN_FIELDS = {"search_text", "history", "provenance", "fingerprint"}


class CliError(Exception):
    """A failure reported as one line on stderr with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# -- records, whatever their store ------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One stored record, with who and where it belongs to."""

    kind: Kind
    id: str
    key: str
    namespace: tuple[str, ...]
    value: dict[str, Any]
    updated_at: datetime
    user_id: str | None = None
    thread_id: str | None = None
    agent_id: str | None = None
    space: str | None = None
    """``global``, ``user`` or a custom namespace name (entities, knowledge, proposals)."""

    @property
    def status(self) -> str | None:
        return self.value.get("status")

    @property
    def where(self) -> str:
        tags = []
        if self.space == "global":
            tags.append("global")
        elif self.space and self.space != "user":
            tags.append(f"ns={self.space}")
        tags += [f"user={self.user_id}"] if self.user_id else []
        tags += [f"thread={self.thread_id}"] if self.thread_id else []
        tags += [f"agent={self.agent_id}"] if self.kind == "decision" and self.agent_id else []
        return " ".join(tags)


def _space_of(labels: list[str]) -> tuple[str | None, str | None]:
    """``(space, owner)`` of an entity/knowledge namespace's labels after the store name."""
    if labels[:1] == ["global"]:
        return "global", None
    if labels[:1] == ["user"] and len(labels) > 1:
        return "user", labels[1]
    if labels[:1] == ["ns"] and len(labels) > 1:
        return labels[1], None
    return None, None


def _found(kind: Kind, item: Item) -> Found:
    """Who and where a stored item belongs to, read from its namespace and provenance."""
    value = dict(item.value)
    prov = value.get("provenance") or {}
    labels = [decode_label(label) for label in item.namespace[2:]]
    owner = labels[0] if labels else None
    base = Found(
        kind=kind,
        id=item.key,
        key=item.key,
        namespace=tuple(item.namespace),
        value=value,
        updated_at=item.updated_at,
        user_id=prov.get("user_id"),
        thread_id=prov.get("thread_id"),
        agent_id=prov.get("agent_id"),
    )
    if kind == "profile":
        return replace(base, id=f"profile:{owner}", user_id=owner)
    if kind == "memory":
        return replace(base, user_id=owner)
    if kind == "session":
        return replace(base, id=f"session:{owner}", thread_id=owner)
    if kind in ("entity", "knowledge"):
        space, user = _space_of(labels)
        return replace(base, space=space, user_id=user)
    if kind == "decision":
        return replace(base, agent_id=owner)
    return replace(
        base,
        user_id=value.get("user_id"),
        thread_id=value.get("thread_id"),
        agent_id=value.get("agent_id"),
        space=value.get("namespace"),
    )


def _join(values: Sequence[Any]) -> str:
    return " — ".join(str(v) for v in values if v not in (None, "", [], {}))


def summary(row: Found) -> str:
    """One line saying what a record holds."""
    v = row.value
    if row.kind == "profile":
        skip = {"created_at", "updated_at", "provenance"}
        return ", ".join(f"{k}={x}" for k, x in v.items() if k not in skip and x not in (None, ""))
    if row.kind == "memory":
        return str(v.get("text", ""))
    if row.kind == "session":
        return _join([v.get("summary"), v.get("goal")])
    if row.kind == "entity":
        facts = [
            f["text"]
            for f in v.get("facts", [])
            if f.get("status", "approved") == "approved" and not f.get("superseded_at")
        ]
        return _join([f"{v.get('name')} [{v.get('entity_type', 'unknown')}]", "; ".join(facts)])
    if row.kind == "knowledge":
        return _join([v.get("title"), v.get("learning")])
    if row.kind == "decision":
        return _join([v.get("decision"), v.get("outcome")])
    content = v.get("content") or {}
    return f"{v.get('store')}: " + _join(list(content.values()))


def _search_text(row: Found) -> str:
    extra = row.value.get("rationale", "") if row.kind == "proposal" else ""
    return " ".join([row.value.get("search_text") or summary(row), extra])


# -- finding records --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which records a command looks at; ``None`` means any."""

    kinds: tuple[Kind, ...] = KINDS
    user: str | None = None
    thread: str | None = None
    namespace: str | None = None

    def matches(self, row: Found, *, any_user: bool = False) -> bool:
        return (
            (any_user or self.user is None or row.user_id == self.user)
            and (self.thread is None or row.thread_id == self.thread)
            and (self.namespace is None or row.space == self.namespace)
        )

    def describe(self) -> str:
        given = [("user", self.user), ("thread", self.thread), ("namespace", self.namespace)]
        parts = [f"--{k} {v}" for k, v in given if v]
        if self.kinds != KINDS:
            parts += [f"--kind {k}" for k in self.kinds]
        return " ".join(parts) or "no filters"


def _items(store: BaseStore, prefix: tuple[str, ...]) -> Iterator[Item]:
    """Every item under a namespace prefix, page by page."""
    offset = 0
    while True:
        page = store.search(prefix, limit=_PAGE, offset=offset)
        yield from page
        if len(page) < _PAGE:
            return
        offset += _PAGE


def _prefix(kind: Kind, flt: Filters) -> tuple[str, ...]:
    """The narrowest namespace prefix that can hold ``kind`` records matching ``flt``."""
    prefix: tuple[str, ...] = (ROOT, _STORE_OF[kind])
    if kind in ("profile", "memory") and flt.user:
        return (*prefix, encode_label(flt.user))
    if kind == "session" and flt.thread:
        return (*prefix, encode_label(flt.thread))
    return prefix


def _walk(store: BaseStore, kind: Kind, flt: Filters) -> Iterator[Found]:
    seen: set[tuple[tuple[str, ...], str]] = set()
    for item in _items(store, _prefix(kind, flt)):
        if (tuple(item.namespace), item.key) not in seen:
            seen.add((tuple(item.namespace), item.key))
            yield _found(kind, item)


def select(store: BaseStore, flt: Filters) -> list[Found]:
    """Records matching ``flt``, by kind, newest first within a kind.

    With a user, session contexts count as theirs when their provenance names the user or when
    another of the user's records was written in that thread.
    """
    rows: list[Found] = []
    for kind in flt.kinds:
        if kind == "session" and flt.user:
            threads = _user_threads(store, flt)
            found = [
                r
                for r in _walk(store, kind, flt)
                if flt.matches(r) or (r.thread_id in threads and flt.matches(r, any_user=True))
            ]
        else:
            found = [r for r in _walk(store, kind, flt) if flt.matches(r)]
        rows += sorted(found, key=lambda r: r.updated_at, reverse=True)
    return rows


def _user_threads(store: BaseStore, flt: Filters) -> set[str]:
    others = Filters(kinds=tuple(k for k in KINDS if k != "session"), user=flt.user)
    return {r.thread_id for r in select(store, others) if r.thread_id}


def _kinds_for_id(record_id: str) -> tuple[Kind, ...]:
    for prefix, kind in _ID_PREFIXES.items():
        if record_id.startswith(prefix):
            return (kind,)
    return ("entity",)


def _entity_refs(store: BaseStore, name: str) -> set[tuple[tuple[str, ...], str]]:
    """``(entity namespace, key)`` pairs an entity key, name or alias refers to."""
    try:
        key = entity_key(name)
    except LearningInputError:
        return set()
    refs: set[tuple[tuple[str, ...], str]] = set()
    for item in _items(store, (ROOT, "entity_alias")):
        if item.key == key and isinstance(item.value.get("entity_key"), str):
            labels = tuple(item.namespace[2:])
            refs.add(((ROOT, "entity_memory", *labels), item.value["entity_key"]))
    return refs


def find_by_id(store: BaseStore, record_id: str, flt: Filters) -> list[Found]:
    """Records with this id; entities also by name or alias (one per namespace).

    Without ``--kind``, the id's prefix (``mem_``, ``lk_``, ``prop_``...) says where to look.
    """
    kinds = flt.kinds if flt.kinds != KINDS else _kinds_for_id(record_id)
    rows = select(store, replace(flt, kinds=kinds))
    keys: set[str] = set()
    refs: set[tuple[tuple[str, ...], str]] = set()
    if "entity" in kinds:
        with suppress(LearningInputError):
            keys.add(entity_key(record_id))
        refs = _entity_refs(store, record_id)
    return [
        r
        for r in rows
        if record_id in (r.id, r.key)
        or (r.kind == "entity" and (r.key in keys or (r.namespace, r.key) in refs))
    ]


# -- output -----------------------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=False))
        + "  "
        + line[-1]
        for line in lines
    )


def _row_cells(row: Found) -> list[str]:
    return [
        row.kind,
        _clip(row.id, 40),
        _clip(row.where, 40),
        row.status or "-",
        _when(row.updated_at),
        _clip(summary(row), 70),
    ]


def print_rows(rows: Sequence[Found]) -> None:
    headers = ["KIND", "ID", "WHERE", "STATUS", "UPDATED", "SUMMARY"]
    print(table(headers, [_row_cells(r) for r in rows]))


def row_json(row: Found, *, full: bool = False) -> dict[str, Any]:
    """A record as JSON for scripts; ``full`` adds the stored value and its namespace."""
    out: dict[str, Any] = {
        "kind": row.kind,
        "id": row.id,
        "user_id": row.user_id,
        "thread_id": row.thread_id,
        "agent_id": row.agent_id,
        "namespace": row.space,
        "status": row.status,
        "summary": summary(row),
        "updated_at": row.updated_at.isoformat(),
    }
    if full:
        out["store_namespace"] = [decode_label(label) for label in row.namespace]
        out["key"] = row.key
        out["value"] = {k: v for k, v in row.value.items() if k != "search_text"}
    return out


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _render(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if v in (None, [], {}):
                continue
            if isinstance(v, dict | list) and not _flat_list(v):
                lines += [f"{pad}{k}:", *_render(v, indent + 1)]
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
        return lines
    if isinstance(value, list):
        lines = []
        for entry in value:
            inner = _render(entry, indent + 1)
            lines.append(f"{pad}- {inner[0].strip()}" if inner else f"{pad}-")
            lines += inner[1:]
        return lines
    return [f"{pad}{_scalar(value)}"]


def _flat_list(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, dict | list) for v in value)


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "[]"
    return "-" if value is None else str(value)


def _audit_lines(history: list[dict[str, Any]]) -> list[str]:
    lines = []
    for event in history:
        line = f"    {_when(event.get('at'))}  {event.get('action')} by {event.get('by')}"
        if event.get("reason"):
            line += f": {event['reason']}"
        lines.append(line)
        for field, change in (event.get("changes") or {}).items():
            lines.append(f"        {field}: {change.get('from')!r} -> {change.get('to')!r}")
    return lines


def print_detail(row: Found) -> None:
    print(f"{row.kind} {row.id}")
    print(f"  where: {row.where or '-'}")
    print(f"  stored at: {' / '.join(decode_label(x) for x in row.namespace)} : {row.key}")
    fields = {k: v for k, v in row.value.items() if k not in _HIDDEN_FIELDS}
    print("\n".join(_render(fields, 1)))
    if row.value.get("provenance"):
        print("\n".join(_render({"provenance": row.value["provenance"]}, 1)))
    if row.kind == "proposal":
        print("  audit trail:")
        print("\n".join(_audit_lines(row.value.get("history") or [])) or "    (none)")


# -- commands ---------------------------------------------------------------------------------


def _filters(args: argparse.Namespace) -> Filters:
    kinds = tuple(dict.fromkeys(args.kind)) if getattr(args, "kind", None) else KINDS
    return Filters(
        kinds=kinds,
        user=getattr(args, "user", None),
        thread=getattr(args, "thread", None),
        namespace=getattr(args, "namespace", None),
    )


def cmd_list(args: argparse.Namespace, store: BaseStore) -> int:
    """List learnings (and proposals), filtered by user, thread, namespace and kind."""
    rows = select(store, _filters(args))
    if args.json:
        print_json([row_json(r) for r in rows])
    elif rows:
        print_rows(rows)
    else:
        print(f"No records match ({_filters(args).describe()}).")
    return EXIT_OK


def _unknown_id(record_id: str, args: argparse.Namespace) -> CliError:
    return CliError(
        f"No record with id {record_id!r} in {describe_url(args.store)}. Find ids with "
        f"`{PROG} list` (learnings) or `{PROG} proposals` (pending proposals).",
        EXIT_NOT_FOUND,
    )


def cmd_show(args: argparse.Namespace, store: BaseStore) -> int:
    """Show one record in full: fields, provenance and, for a proposal, its audit trail."""
    rows = find_by_id(store, args.id, _filters(args))
    if not rows:
        raise _unknown_id(args.id, args)
    if args.json:
        print_json([row_json(r, full=True) for r in rows])
        return EXIT_OK
    for i, row in enumerate(rows):
        if i:
            print()
        print_detail(row)
    return EXIT_OK


def cmd_search(args: argparse.Namespace, store: BaseStore) -> int:
    """Rank records by lexical (BM25) relevance to a query."""
    rows = lexical_rank(args.query, select(store, _filters(args)), _search_text, limit=args.limit)
    if args.json:
        print_json([row_json(r) for r in rows])
    elif rows:
        print_rows(rows)
    if not rows:
        print(f"Nothing matches {args.query!r} ({_filters(args).describe()}).", file=sys.stderr)
        return EXIT_NOT_FOUND
    return EXIT_OK


def cmd_export(args: argparse.Namespace, store: BaseStore) -> int:
    """Export every matching record, in full, as one JSON document."""
    flt = _filters(args)
    rows = select(store, flt)
    document = {
        "format": "agno-learn-export/1",
        "exported_at": utcnow().isoformat(),
        "store": describe_url(args.store),
        "filters": {
            "user": flt.user,
            "thread": flt.thread,
            "namespace": flt.namespace,
            "kinds": list(flt.kinds),
        },
        "counts": dict(Counter(r.kind for r in rows)),
        "records": [row_json(r, full=True) for r in rows],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"Exported {len(rows)} records to {args.output}.", file=sys.stderr)
    else:
        print(text)
    return EXIT_OK


def _proposal_cells(p: Proposal) -> list[str]:
    content = _join(list(p.content.values()))
    return [
        p.id,
        _KIND_OF_STORE.get(p.store, p.store),
        p.user_id or "-",
        p.thread_id or "-",
        _when(p.created_at),
        _clip(content, 50),
        _clip(p.rationale or "-", 40),
    ]


def cmd_proposals(args: argparse.Namespace, store: BaseStore) -> int:
    """List proposals awaiting review, across threads and users."""
    from agno_learn_langgraph.approval import list_pending_proposals

    store_name = _STORE_OF[args.kind] if args.kind else None
    pending = list_pending_proposals(
        store, user_id=args.user, thread_id=args.thread, store_name=store_name
    )
    if args.json:
        print_json([p.model_dump(mode="json") for p in pending])
    elif pending:
        headers = ["ID", "KIND", "USER", "THREAD", "PROPOSED", "CONTENT", "RATIONALE"]
        print(table(headers, [_proposal_cells(p) for p in pending]))
    else:
        print("No proposals await review.")
    return EXIT_OK


def _pending(store: BaseStore, proposal_id: str, args: argparse.Namespace) -> Proposal:
    from agno_learn_langgraph.approval import get_proposal

    proposal = get_proposal(store, proposal_id)
    if proposal is None:
        raise CliError(
            f"No proposal with id {proposal_id!r} in {describe_url(args.store)}. List the "
            f"pending ones with `{PROG} proposals`.",
            EXIT_NOT_FOUND,
        )
    return proposal


def _decided(args: argparse.Namespace, decide: Callable[[], Proposal], verb: str) -> int:
    try:
        proposal = decide()
    except LearningInputError as exc:
        raise CliError(str(exc), EXIT_REVIEW) from None
    if args.json:
        print_json(proposal.model_dump(mode="json"))
        return EXIT_OK
    line = f"{verb} {proposal.id} ({_KIND_OF_STORE.get(proposal.store, proposal.store)})"
    if proposal.applied_id:
        line += f"; stored as {proposal.applied_id}"
    if proposal.reason:
        line += f"; reason: {proposal.reason}"
    print(line + f"; reviewer: {proposal.reviewer}.")
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, store: BaseStore) -> int:
    """Approve a proposal: its content is written to its store."""
    from agno_learn_langgraph.approval import approve_proposal

    _pending(store, args.id, args)
    return _decided(
        args, lambda: approve_proposal(store, args.id, reviewer=args.reviewer), "Approved"
    )


def _parse_set(pairs: Sequence[str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            raise CliError(
                f"--set {pair!r} is not FIELD=VALUE; e.g. --set learning='Use UTC timestamps'.",
                EXIT_USAGE,
            )
        changes[field.strip()] = value
    return changes


def cmd_edit(args: argparse.Namespace, store: BaseStore) -> int:
    """Approve a proposal with changed content (recorded as an edit)."""
    from agno_learn_langgraph.approval import approve_proposal

    changes = _parse_set(args.set)
    _pending(store, args.id, args)
    return _decided(
        args,
        lambda: approve_proposal(store, args.id, reviewer=args.reviewer, content=changes),
        "Approved (edited)",
    )


def cmd_reject(args: argparse.Namespace, store: BaseStore) -> int:
    """Reject a proposal; it is kept, with reviewer and reason, for audit."""
    from agno_learn_langgraph.approval import reject_proposal

    _pending(store, args.id, args)
    return _decided(
        args,
        lambda: reject_proposal(store, args.id, reviewer=args.reviewer, reason=args.reason),
        "Rejected",
    )


def _alias_items(store: BaseStore, user: str) -> list[Item]:
    return list(_items(store, (ROOT, "entity_alias", "user", encode_label(user))))


def _confirm(args: argparse.Namespace, counts: Counter[str]) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            "forget-user deletes data and stdin is not a terminal to confirm; pass --yes.",
            EXIT_USAGE,
        )
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    answer = input(f"Delete {what} about user {args.user!r} for good? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("Aborted; nothing was deleted.", EXIT_NOT_FOUND)


def cmd_forget_user(args: argparse.Namespace, store: BaseStore) -> int:
    """Delete everything stored about a user (what `list --user USER` shows, plus aliases)."""
    rows = select(store, Filters(user=args.user))
    aliases = _alias_items(store, args.user)
    counts: Counter[str] = Counter(r.kind for r in rows)
    if aliases:
        counts["entity alias"] = len(aliases)
    if not counts:
        raise CliError(
            f"Nothing is stored about user {args.user!r} in {describe_url(args.store)}; "
            f"check the id with `{PROG} list --kind profile --kind memory`.",
            EXIT_NOT_FOUND,
        )
    _confirm(args, counts)
    doomed = [(r.namespace, r.key) for r in rows] + [(a.namespace, a.key) for a in aliases]
    run_plan(store, delete_items(doomed))  # through a plan: readers' cached indexes see it
    threads = sorted({r.thread_id for r in rows if r.kind == "session" and r.thread_id})
    if args.json:
        print_json({"user": args.user, "deleted": dict(counts), "threads": threads})
        return EXIT_OK
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"Deleted {sum(counts.values())} records about user {args.user!r}: {what}.")
    if threads:
        print(f"Session contexts deleted for threads: {', '.join(threads)}.")
    return EXIT_OK


# -- opening the store ------------------------------------------------------------------------


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else url


@contextmanager
def opened_store(url: str) -> Iterator[BaseStore]:
    """The store at ``url``; a bad URL, a missing SQLite file or an unreachable server is
    a :class:`CliError` with exit code 3."""
    try:
        kind = backend_kind(url)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_STORE) from None
    path = _sqlite_path(url)
    if kind == "sqlite" and not Path(path).expanduser().is_file():
        raise CliError(
            f"No SQLite file at {path!r} (from --store {url!r}); check the path. The CLI reads "
            "existing stores and never creates one.",
            EXIT_STORE,
        )
    stack = ExitStack()
    try:
        backend = stack.enter_context(open_store(url))
    except (StoreUnavailableError, sqlite3.Error, OSError) as exc:
        raise CliError(f"Cannot open the store {describe_url(url)}: {exc}", EXIT_STORE) from None
    with stack:
        yield backend.store


# -- the parser -------------------------------------------------------------------------------


def _package_version() -> str:
    try:
        return version("agno-learn-langgraph")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "cli"


def _common(*, scope: bool, output: bool, kind_once: bool = False) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--store",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"SQLite file, postgresql:// URL or :memory: (default: ${STORE_ENV})",
    )
    if scope:
        parent.add_argument("--user", metavar="ID", help="only records of this user")
        parent.add_argument("--thread", metavar="ID", help="only records of this thread")
        if kind_once:
            parent.add_argument(
                "--kind", choices=PROPOSABLE_KINDS, help="only proposals for this kind"
            )
        else:
            parent.add_argument(
                "--namespace",
                metavar="NAME",
                help="global, user or a custom name (entities, knowledge, proposals)",
            )
            parent.add_argument(
                "--kind", choices=KINDS, action="append", help="only this kind (repeatable)"
            )
    if output:
        parent.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parent


def _reviewer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reviewer",
        metavar="NAME",
        default=_default_reviewer(),
        help="who decides, for the audit trail (default: your login name)",
    )


Handler = Callable[[argparse.Namespace, "BaseStore"], int]


def _add(
    commands: Any,
    name: str,
    handler: Handler,
    parents: list[argparse.ArgumentParser],
    help_text: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, parents=parents, help=help_text, description=help_text
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``agno-learn`` parser: one subcommand per job (see docs/cli.md)."""
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Look after what LangGraph agents learned: list, show, search, export, "
        "review proposals, forget a user.",
        epilog=f"exit codes:\n{codes}\n\nReference: docs/cli.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_package_version()}")
    parser.add_argument("--store", metavar="URL", default=None, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    scoped = _common(scope=True, output=True)
    plain = _common(scope=False, output=True)

    _add(commands, "list", cmd_list, [scoped], "list learnings and proposals")
    show = _add(commands, "show", cmd_show, [scoped], "show one record in full")
    show.add_argument(
        "id", metavar="ID", help="a record id (mem_, lk_, dec_, prop_...) or an entity key"
    )
    search = _add(commands, "search", cmd_search, [scoped], "search records by text")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--limit", type=int, default=20, help="most results (default: 20)")
    export = _add(
        commands,
        "export",
        cmd_export,
        [_common(scope=True, output=False)],
        "export records as JSON",
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")
    _add(
        commands,
        "proposals",
        cmd_proposals,
        [_common(scope=True, output=True, kind_once=True)],
        "list proposals awaiting review",
    )
    approve = _add(commands, "approve", cmd_approve, [plain], "approve a proposal")
    approve.add_argument("id", metavar="ID", help="a proposal id (prop_...)")
    _reviewer(approve)
    edit = _add(commands, "edit", cmd_edit, [plain], "approve a proposal with changed content")
    edit.add_argument("id", metavar="ID", help="a proposal id (prop_...)")
    edit.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        required=True,
        help="a changed content field (repeatable)",
    )
    _reviewer(edit)
    reject = _add(commands, "reject", cmd_reject, [plain], "reject a proposal")
    reject.add_argument("id", metavar="ID", help="a proposal id (prop_...)")
    reject.add_argument("--reason", metavar="TEXT", help="why, for the audit trail")
    _reviewer(reject)
    forget = _add(
        commands, "forget-user", cmd_forget_user, [plain], "delete everything stored about a user"
    )
    forget.add_argument("user", metavar="USER", help="the user id")
    forget.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    # `demo` (issue 7, item 1) registers here: a parser from `commands.add_parser("demo", ...)`
    # with `set_defaults(run=...)` (a command that opens its own store) and a docs/cli.md entry.
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``agno-learn`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "run", None):  # a command that opens what it needs itself
        code: int = args.run(args)
        return code
    args.store = args.store or os.environ.get(STORE_ENV)
    if not args.store:
        parser.print_usage(sys.stderr)
        print(
            f"{PROG}: error: no store given: pass --store URL or set {STORE_ENV}.", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        with opened_store(args.store) as store:
            code = args.handler(args, store)
            return code
    except CliError as exc:
        print(f"{PROG}: error: {_redact(str(exc))}", file=sys.stderr)
        return exc.code


_PASSWORD = re.compile(r"(://[^:/@\s]+:)\S+@")


def _redact(message: str) -> str:
    """Hide the password of any ``scheme://user:password@host`` in an error message."""
    return _PASSWORD.sub(r"\1***@", message)
