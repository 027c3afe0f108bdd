"""What the CLI prints: one-line summaries, tables, record details and JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agno_learn_langgraph.cli.queries import PROPOSAL, Found
from agno_learn_langgraph.core import decode_label
from agno_learn_langgraph.kinds import kind

if TYPE_CHECKING:
    from agno_learn_langgraph.records import Proposal

__all__ = [
    "cli_kind_of",
    "decided_line",
    "print_detail",
    "print_json",
    "print_rows",
    "proposal_table",
    "row_json",
    "search_text",
    "summary",
    "table",
    "when",
]

_HIDDEN_FIELDS = {"search_text", "history", "provenance", "fingerprint"}


def cli_kind_of(store_name: str) -> str:
    """The CLI kind of a store name (``user_memory`` -> ``memory``); unknown names as they are."""
    try:
        return kind(store_name).cli_name
    except ValueError:
        return store_name


def when(moment: datetime | str | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` (ISO strings too); ``-`` when there is none."""
    if moment is None:
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def _join(values: Sequence[Any]) -> str:
    return " — ".join(str(v) for v in values if v not in (None, "", [], {}))


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _profile(v: dict[str, Any]) -> str:
    skip = {"created_at", "updated_at", "provenance"}
    return ", ".join(f"{k}={x}" for k, x in v.items() if k not in skip and x not in (None, ""))


def _entity(v: dict[str, Any]) -> str:
    facts = [
        f["text"]
        for f in v.get("facts", [])
        if f.get("status", "approved") == "approved" and not f.get("superseded_at")
    ]
    return _join([f"{v.get('name')} [{v.get('entity_type', 'unknown')}]", "; ".join(facts)])


def _proposal(v: dict[str, Any]) -> str:
    content = v.get("content") or {}
    return f"{v.get('store')}: " + _join(list(content.values()))


_SUMMARIES = {
    "profile": _profile,
    "memory": lambda v: str(v.get("text", "")),
    "session": lambda v: _join([v.get("summary"), v.get("goal")]),
    "entity": _entity,
    "knowledge": lambda v: _join([v.get("title"), v.get("learning")]),
    "decision": lambda v: _join([v.get("decision"), v.get("outcome")]),
    PROPOSAL: _proposal,
}
"""One-line summary of a stored value, by CLI kind."""


def summary(row: Found) -> str:
    """One line saying what a record holds."""
    return str(_SUMMARIES[row.kind](row.value))


def search_text(row: Found) -> str:
    """The text ``search`` ranks a record by (a proposal's rationale included)."""
    extra = row.value.get("rationale", "") if row.kind == PROPOSAL else ""
    return " ".join([row.value.get("search_text") or summary(row), extra])


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
        when(row.updated_at),
        _clip(summary(row), 70),
    ]


def print_rows(rows: Sequence[Found]) -> None:
    """The records as a ``KIND ID WHERE STATUS UPDATED SUMMARY`` table."""
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
    """``data`` as indented JSON."""
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
        line = f"    {when(event.get('at'))}  {event.get('action')} by {event.get('by')}"
        if event.get("reason"):
            line += f": {event['reason']}"
        lines.append(line)
        for field, change in (event.get("changes") or {}).items():
            lines.append(f"        {field}: {change.get('from')!r} -> {change.get('to')!r}")
    return lines


def print_detail(row: Found) -> None:
    """A record in full: where it is, its fields, provenance and (proposals) audit trail."""
    print(f"{row.kind} {row.id}")
    print(f"  where: {row.where or '-'}")
    print(f"  stored at: {' / '.join(decode_label(x) for x in row.namespace)} : {row.key}")
    fields = {k: v for k, v in row.value.items() if k not in _HIDDEN_FIELDS}
    print("\n".join(_render(fields, 1)))
    if row.value.get("provenance"):
        print("\n".join(_render({"provenance": row.value["provenance"]}, 1)))
    if row.kind == PROPOSAL:
        print("  audit trail:")
        print("\n".join(_audit_lines(row.value.get("history") or [])) or "    (none)")


def _proposal_cells(p: Proposal) -> list[str]:
    content = _join(list(p.content.values()))
    return [
        p.id,
        cli_kind_of(p.store),
        p.user_id or "-",
        p.thread_id or "-",
        when(p.created_at),
        _clip(content, 50),
        _clip(p.rationale or "-", 40),
    ]


def proposal_table(pending: Sequence[Proposal]) -> str:
    """Pending proposals as an ``ID KIND USER THREAD PROPOSED CONTENT RATIONALE`` table."""
    headers = ["ID", "KIND", "USER", "THREAD", "PROPOSED", "CONTENT", "RATIONALE"]
    return table(headers, [_proposal_cells(p) for p in pending])


def decided_line(proposal: Proposal, verb: str) -> str:
    """``Approved prop_... (knowledge); stored as lk_...; reviewer: ann.``"""
    line = f"{verb} {proposal.id} ({cli_kind_of(proposal.store)})"
    if proposal.applied_id:
        line += f"; stored as {proposal.applied_id}"
    if proposal.reason:
        line += f"; reason: {proposal.reason}"
    return line + f"; reviewer: {proposal.reviewer}."
