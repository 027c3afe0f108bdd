"""The ``agno-learn`` command line: its parser, opening the store, and :func:`main`."""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.backends import backend_kind, describe_url, open_store
from agno_learn_langgraph.cli.commands import (
    EXIT_CODES,
    EXIT_STORE,
    EXIT_USAGE,
    PROG,
    CliError,
    cmd_approve,
    cmd_edit,
    cmd_export,
    cmd_forget_user,
    cmd_list,
    cmd_proposals,
    cmd_reject,
    cmd_search,
    cmd_show,
)
from agno_learn_langgraph.cli.queries import KINDS, PROPOSABLE_KINDS
from agno_learn_langgraph.errors import StoreUnavailableError

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["STORE_ENV", "build_parser", "main", "opened_store"]

STORE_ENV = "AGNO_LEARN_STORE"


# -- opening the store ------------------------------------------------------------------------


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else url


@contextmanager
def opened_store(url: str, *, api_key: str | None = None) -> Iterator[BaseStore]:
    """The store at ``url``; a bad URL, a missing SQLite file or an unreachable server is
    a :class:`CliError` with exit code 3.

    ``api_key`` is a LangGraph server's key (``http://`` URLs); without it, langgraph_sdk reads
    ``LANGGRAPH_API_KEY`` or ``LANGSMITH_API_KEY``."""
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
        backend = stack.enter_context(open_store(url, api_key=api_key))
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
        help=f"SQLite file, postgresql:// URL, LangGraph server http://host:port or :memory: "
        f"(default: ${STORE_ENV})",
    )
    parent.add_argument(
        "--api-key",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="API key of a LangGraph server (default: $LANGGRAPH_API_KEY, $LANGSMITH_API_KEY)",
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
    parser.add_argument("--api-key", metavar="KEY", default=None, help=argparse.SUPPRESS)
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
        with opened_store(args.store, api_key=args.api_key) as store:
            code = args.handler(args, store)
            return code
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except StoreUnavailableError as exc:  # e.g. a server that went away mid-command
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_STORE
