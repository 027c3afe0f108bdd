"""The ``agno-learn`` commands: each takes the parsed arguments and an open store, and returns
an exit code (or raises :class:`CliError`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agno_learn_langgraph.backends import describe_url
from agno_learn_langgraph.cli.queries import (
    KINDS,
    Filters,
    find_by_id,
    owned_by_thread,
    select,
    user_alias_items,
)
from agno_learn_langgraph.cli.render import (
    decided_line,
    print_detail,
    print_json,
    print_rows,
    proposal_table,
    row_json,
    search_text,
)
from agno_learn_langgraph.core import delete_items, run_plan
from agno_learn_langgraph.errors import LearningInputError
from agno_learn_langgraph.index import lexical_rank
from agno_learn_langgraph.kinds import kind_by_cli_name
from agno_learn_langgraph.records import utcnow

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from agno_learn_langgraph.records import Proposal

__all__ = [
    "EXIT_CODES",
    "PROG",
    "CliError",
    "cmd_approve",
    "cmd_edit",
    "cmd_export",
    "cmd_forget_user",
    "cmd_list",
    "cmd_proposals",
    "cmd_reject",
    "cmd_search",
    "cmd_show",
]

PROG = "agno-learn"

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_STORE, EXIT_REVIEW = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_NOT_FOUND: "not found: unknown id, nothing matched, or aborted at the prompt",
    EXIT_USAGE: "usage error",
    EXIT_STORE: "store unreachable or bad store URL",
    EXIT_REVIEW: "invalid review: proposal decided already, or a bad edit",
}


class CliError(Exception):
    """A failure reported as one line on stderr with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _filters(args: argparse.Namespace) -> Filters:
    kinds = tuple(dict.fromkeys(args.kind)) if getattr(args, "kind", None) else KINDS
    return Filters(
        kinds=kinds,
        user=getattr(args, "user", None),
        thread=getattr(args, "thread", None),
        namespace=getattr(args, "namespace", None),
    )


# -- reading ----------------------------------------------------------------------------------


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
    rows = lexical_rank(args.query, select(store, _filters(args)), search_text, limit=args.limit)
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


# -- reviewing --------------------------------------------------------------------------------


def cmd_proposals(args: argparse.Namespace, store: BaseStore) -> int:
    """List proposals awaiting review, across threads and users."""
    from agno_learn_langgraph.approval.review import list_pending_proposals

    store_name = kind_by_cli_name(args.kind).name if args.kind else None
    pending = list_pending_proposals(
        store, user_id=args.user, thread_id=args.thread, store_name=store_name
    )
    if args.json:
        print_json([p.model_dump(mode="json") for p in pending])
    elif pending:
        print(proposal_table(pending))
    else:
        print("No proposals await review.")
    return EXIT_OK


def _pending(store: BaseStore, proposal_id: str, args: argparse.Namespace) -> Proposal:
    from agno_learn_langgraph.approval.review import get_proposal

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
    else:
        print(decided_line(proposal, verb))
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, store: BaseStore) -> int:
    """Approve a proposal: its content is written to its store."""
    from agno_learn_langgraph.approval.review import approve_proposal

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
    from agno_learn_langgraph.approval.review import approve_proposal

    changes = _parse_set(args.set)
    _pending(store, args.id, args)
    return _decided(
        args,
        lambda: approve_proposal(store, args.id, reviewer=args.reviewer, content=changes),
        "Approved (edited)",
    )


def cmd_reject(args: argparse.Namespace, store: BaseStore) -> int:
    """Reject a proposal; it is kept, with reviewer and reason, for audit."""
    from agno_learn_langgraph.approval.review import reject_proposal

    _pending(store, args.id, args)
    return _decided(
        args,
        lambda: reject_proposal(store, args.id, reviewer=args.reviewer, reason=args.reason),
        "Rejected",
    )


# -- forgetting -------------------------------------------------------------------------------


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
    aliases = user_alias_items(store, args.user)
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
    threads = sorted({r.thread_id for r in rows if r.thread_id and owned_by_thread(r.kind)})
    if args.json:
        print_json({"user": args.user, "deleted": dict(counts), "threads": threads})
        return EXIT_OK
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"Deleted {sum(counts.values())} records about user {args.user!r}: {what}.")
    if threads:
        print(f"Session contexts deleted for threads: {', '.join(threads)}.")
    return EXIT_OK
