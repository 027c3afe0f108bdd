"""Relevance ranking of a namespace: lexical (BM25), semantic (stored vectors) or both, fused.

Without a vector index only lexical ranking is possible. With one, ``"hybrid"`` (the default)
fuses the BM25 matches and the nearest vectors by reciprocal rank (RRF): a memory that shares
the question's rare words and one that paraphrases it both reach the top, which neither list
alone does (see BENCHMARKS.md, retrieval quality). Both lists drop weak candidates first (the
relevance floors below), so unrelated records do not fill the prompt just because a limit
allows them. Ties, in every mode, go to the newest record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agno_learn_langgraph.config import RECALL_RANKINGS, RecallRanking, check_ranking
from agno_learn_langgraph.core.plans import Plan, gather_plans
from agno_learn_langgraph.index.lexical import Query, QueryLike
from agno_learn_langgraph.index.ranked import ranked_namespace, search_text, semantic_scored
from agno_learn_langgraph.index.segments import NamespaceIndex

__all__ = [
    "LEXICAL_FLOOR",
    "RANKINGS",
    "RRF_K",
    "SEMANTIC_MARGIN",
    "Ranked",
    "Ranking",
    "check_ranking",
    "fuse",
    "rank_namespace",
]

Ranking = RecallRanking
RANKINGS = RECALL_RANKINGS
RRF_K = 60
"""Reciprocal-rank fusion constant: an item's fused score is the sum of 1 / (RRF_K + rank)."""
LEXICAL_FLOOR = 0.15
"""A BM25 match scoring under this share of the best match is dropped (a common word only)."""
SEMANTIC_MARGIN = 0.25
"""A vector neighbour whose similarity trails the best by more than this is dropped."""
FUSION = "rrf"
LEXICAL_SHARE = 0.5
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
"""Weights of the two lists in the fusion."""
MIN_DEPTH = 30
"""Candidates each list contributes to the fusion, at least (three times the limit otherwise)."""

Scored = list[tuple[float, dict[str, Any]]]


def _newest(value: dict[str, Any]) -> str:
    return str(value.get("updated_at") or value.get("created_at") or "")


def floor_lexical(hits: Scored, floor: float | None = None) -> Scored:
    """``hits`` (best first) scoring at least ``floor`` (:data:`LEXICAL_FLOOR`) times the best."""
    if not hits:
        return []
    cut = hits[0][0] * (LEXICAL_FLOOR if floor is None else floor)
    return [h for h in hits if h[0] >= cut]


def floor_semantic(hits: Scored, margin: float | None = None) -> Scored:
    """``hits`` (best first) within ``margin`` (:data:`SEMANTIC_MARGIN`) of the best."""
    if not hits:
        return []
    cut = hits[0][0] - (SEMANTIC_MARGIN if margin is None else margin)
    return [h for h in hits if h[0] >= cut]


def fuse(
    lists: Sequence[Scored],
    key_of: Callable[[dict[str, Any]], str],
    *,
    limit: int,
    weights: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """Reciprocal-rank fusion of best-first lists; ties go to the newest record, then the key.

    >>> a, b, c = ({"id": k, "updated_at": t} for k, t in (("a", "1"), ("b", "2"), ("c", "3")))
    >>> [v["id"] for v in fuse([[(9.0, a), (5.0, b)], [(0.9, c), (0.8, a)]], lambda v: v["id"],
    ...     limit=3)]
    ['a', 'c', 'b']
    """
    scores: dict[str, float] = {}
    values: dict[str, dict[str, Any]] = {}
    for n, ranked in enumerate(lists):
        weight = weights[n] if weights else 1.0
        for rank, (_, value) in enumerate(ranked):
            key = key_of(value)
            scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank + 1)
            values.setdefault(key, value)
    order = sorted(scores, key=lambda k: (-scores[k], _inverted(_newest(values[k])), k))
    return [values[k] for k in order[:limit]]


def fuse_scores(
    lexical: Scored,
    semantic: Scored,
    key_of: Callable[[dict[str, Any]], str],
    *,
    limit: int,
    alpha: float | None = None,
) -> list[dict[str, Any]]:
    """Convex combination of normalised scores: ``alpha`` x BM25 / best BM25 plus
    ``1 - alpha`` x the similarity min-max scaled over the semantic candidates (0 when absent
    from a list); ties go to the newest record, then the key."""
    a = LEXICAL_SHARE if alpha is None else alpha
    scores: dict[str, float] = {}
    values: dict[str, dict[str, Any]] = {}
    if lexical:
        top = lexical[0][0] or 1.0
        for score, value in lexical:
            key = key_of(value)
            scores[key] = a * score / top
            values[key] = value
    if semantic:
        high, low = semantic[0][0], semantic[-1][0]
        span = (high - low) or 1.0
        for score, value in semantic:
            key = key_of(value)
            scores[key] = scores.get(key, 0.0) + (1 - a) * (score - low) / span
            values.setdefault(key, value)
    order = sorted(scores, key=lambda k: (-scores[k], _inverted(_newest(values[k])), k))
    return [values[k] for k in order[:limit]]


def _inverted(text: str) -> tuple[int, ...]:
    """A sort key that orders ``text`` descending inside an ascending sort."""
    return tuple(-ord(c) for c in text)


@dataclass
class Ranked:
    """One namespace ranked for a query: the lexical index (for name lookups) and the values."""

    index: NamespaceIndex
    values: list[dict[str, Any]] = field(default_factory=list)
    matched: bool = False
    """Whether anything passed the relevance floors (else ``values`` is empty)."""


def _no_vectors() -> Plan[Scored]:
    return []
    yield  # pragma: no cover - makes this a generator


def rank_namespace(
    namespace: tuple[str, ...],
    query: QueryLike,
    *,
    limit: int,
    key_of: Callable[[dict[str, Any]], str],
    filter: dict[str, Any] | None = None,
    indexed: bool = False,
    ranking: Ranking = "hybrid",
    language: str | None = "english",
    depth: int = 0,
) -> Plan[Ranked]:
    """The values of ``namespace`` most relevant to ``query``, best first (one round trip warm).

    The BM25 index and, with a vector index and a ranking other than ``"lexical"``, the nearest
    vectors are read side by side, so the query is embedded once in the batch it shares with
    every other store's read. Without a vector index every ranking is lexical.

    Args:
        key_of: the record's identity in both lists (``id`` or ``key``).
        depth: candidates taken from each list before the floors and the fusion (at least
            ``MIN_DEPTH`` and three times ``limit``).
    """
    text = query if isinstance(query, str) else str(query) if isinstance(query, Query) else ""
    semantic = indexed and ranking != "lexical" and bool(text.strip())
    depth = max(depth, MIN_DEPTH, 3 * limit)
    index, near = yield from gather_plans(
        ranked_namespace(namespace, search_text, filter=filter, language=language),
        semantic_scored(namespace, text, filter=filter, limit=depth) if semantic else _no_vectors(),
    )
    if limit <= 0:
        return Ranked(index)
    lists: list[Scored] = []
    weights: list[float] = []
    if not semantic or ranking == "hybrid":
        lists.append(floor_lexical(index.rank_scored(query, limit=depth)))
        weights.append(LEXICAL_WEIGHT)
    if semantic:
        lists.append(floor_semantic(near))
        weights.append(SEMANTIC_WEIGHT)
    if FUSION == "adaptive" and len(lists) == 2:
        ideal = index.query_weight(query)
        best = lists[0][0][0] if lists[0] else 0.0
        confidence = min(1.0, best / ideal) if ideal > 0 else 0.0
        values = fuse_scores(
            lists[0], lists[1], key_of, limit=limit, alpha=LEXICAL_SHARE * confidence
        )
    elif FUSION == "convex" and len(lists) == 2:
        values = fuse_scores(lists[0], lists[1], key_of, limit=limit)
    else:
        values = fuse(lists, key_of, limit=limit, weights=weights)
    return Ranked(index, values, matched=bool(values))
