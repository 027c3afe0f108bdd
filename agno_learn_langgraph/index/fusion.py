"""Relevance ranking of a namespace: lexical (BM25), semantic (stored vectors) or both, fused.

Without a vector index only lexical ranking is possible. With one, ``"hybrid"`` (the default)
fuses the BM25 matches and the nearest vectors by a weighted sum of their normalised scores
(:func:`fuse`): a memory that shares the question's rare words and one that paraphrases it
both reach the top, which neither list alone does (see BENCHMARKS.md, retrieval quality).
Both lists drop weak candidates first (the relevance floors below), so unrelated records do
not fill the prompt just because a limit allows them. Ties, in every mode, go to the newest
record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from agno_learn_langgraph.config import RECALL_RANKINGS, RecallRanking, check_ranking
from agno_learn_langgraph.core.plans import Plan, done, gather_plans
from agno_learn_langgraph.index.lexical import Query, QueryLike
from agno_learn_langgraph.index.ranked import ranked_namespace, search_text, semantic_scored
from agno_learn_langgraph.index.segments import NamespaceIndex

__all__ = [
    "LEXICAL_FLOOR",
    "LEXICAL_SHARE",
    "RANKINGS",
    "SEMANTIC_MARGIN",
    "RankBy",
    "Ranked",
    "Ranking",
    "check_ranking",
    "floor_lexical",
    "floor_semantic",
    "fuse",
    "rank_by",
    "rank_namespace",
]

Ranking = RecallRanking
RANKINGS = RECALL_RANKINGS
LEXICAL_FLOOR = 0.15
"""A BM25 match scoring under this share of the best match is dropped (a common word only)."""
SEMANTIC_MARGIN = 0.4
"""A vector neighbour whose similarity trails the best by more than this is dropped."""
LEXICAL_SHARE = 0.3
"""The BM25 share of a hybrid score (the vectors' is the rest); tuned on the conversation
benchmark (``bench/bench_quality.py``) with all-MiniLM-L6-v2."""
MIN_DEPTH = 30
"""Candidates each list contributes to the fusion, at least (three times the limit otherwise)."""

Scored = list[tuple[float, dict[str, Any]]]


def _newest(value: dict[str, Any]) -> str:
    return str(value.get("updated_at") or value.get("created_at") or "")


def floor_lexical(hits: Scored, floor: float = LEXICAL_FLOOR) -> Scored:
    """``hits`` (best first) scoring at least ``floor`` times the best score."""
    if not hits:
        return []
    cut = hits[0][0] * floor
    return [h for h in hits if h[0] >= cut]


def floor_semantic(hits: Scored, margin: float = SEMANTIC_MARGIN) -> Scored:
    """``hits`` (best first) within ``margin`` of the best similarity."""
    if not hits:
        return []
    cut = hits[0][0] - margin
    return [h for h in hits if h[0] >= cut]


def fuse(
    lexical: Scored,
    semantic: Scored,
    key_of: Callable[[dict[str, Any]], str],
    *,
    limit: int,
    share: float = LEXICAL_SHARE,
) -> list[dict[str, Any]]:
    """Best first by ``share`` x BM25 / best BM25 + ``(1 - share)`` x similarity scaled to
    [0, 1] over the semantic candidates (a list an item is absent from adds 0); ties go to the
    newest record, then the key. Either list alone keeps its own order.

    >>> a, b, c = ({"id": k, "updated_at": t} for k, t in (("a", "1"), ("b", "2"), ("c", "3")))
    >>> [v["id"] for v in fuse([(9.0, a), (3.0, b)], [(0.9, c), (0.8, a), (0.1, b)],
    ...     lambda v: v["id"], limit=3)]
    ['a', 'c', 'b']
    """
    scores: dict[str, float] = {}
    values: dict[str, dict[str, Any]] = {}
    if lexical:
        top = lexical[0][0] or 1.0
        for score, value in lexical:
            key = key_of(value)
            scores[key] = share * score / top
            values[key] = value
    if semantic:
        high, low = semantic[0][0], semantic[-1][0]
        span = (high - low) or 1.0
        for score, value in semantic:
            key = key_of(value)
            scores[key] = scores.get(key, 0.0) + (1 - share) * (score - low) / span
            values.setdefault(key, value)
    order = sorted(scores)  # stable sorts, least significant key first: key, newest, score
    order.sort(key=lambda k: _newest(values[k]), reverse=True)
    order.sort(key=lambda k: -scores[k])
    return [values[k] for k in order[:limit]]


@dataclass
class Ranked:
    """One namespace ranked for a query: the lexical index (for name lookups) and the values."""

    index: NamespaceIndex
    values: list[dict[str, Any]] = field(default_factory=list)
    matched: bool = False
    """Whether anything passed the relevance floors (else ``values`` is empty)."""


class RankBy(TypedDict, total=False):
    """How to rank: with the store's vectors or not, the ranking mode, the stemmer's language."""

    indexed: bool
    ranking: Ranking
    language: str | None


def rank_by(
    indexed: bool = False, ranking: Ranking = "hybrid", language: str | None = "english"
) -> RankBy:
    """A :class:`RankBy` (what the stores' ranked reads pass on to :func:`rank_namespace`)."""
    return RankBy(indexed=indexed, ranking=ranking, language=language)


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
        semantic_scored(namespace, text, filter=filter, limit=depth) if semantic else done([]),
    )
    if limit <= 0:
        return Ranked(index)
    lexical: Scored = []
    if not semantic or ranking == "hybrid":
        lexical = floor_lexical(index.rank_scored(query, limit=depth))
    values = fuse(lexical, floor_semantic(near), key_of, limit=limit)
    return Ranked(index, values, matched=bool(values))
