"""Relevance ranking of a namespace: lexical (BM25), semantic (stored vectors) or both, fused.

Without a vector index only lexical ranking is possible. With one, ``"hybrid"`` (the default)
fuses the BM25 matches and the nearest vectors (:func:`fuse`): each list's scores are
standardised over its own candidates (z-scores: how many standard deviations a memory stands
above the list's average), and a memory's hybrid score is the weighted sum of what it stands
out by in each list, nothing for a list it is below average in or absent from. A memory that
shares the question's rare words and one that paraphrases it both reach the top, while a
memory sharing one common word (a BM25 match below the matches' average) cannot push out
what the vectors found (see BENCHMARKS.md, retrieval quality).

Every mode drops weak candidates first, with the same relevance floors (below), so unrelated
records do not fill the prompt just because a limit allows them; the hybrid list holds what
either pure list holds. Ties, in every mode, go to the newest record.
"""

from __future__ import annotations

import math
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
    "standard_scores",
]

Ranking = RecallRanking
RANKINGS = RECALL_RANKINGS
LEXICAL_FLOOR = 0.15
"""A BM25 match scoring under this share of the best match is dropped (a common word only)."""
SEMANTIC_MARGIN = 0.4
"""A vector neighbour whose similarity trails the best by more than this is dropped."""
LEXICAL_SHARE = 0.2
"""The weight of BM25's standard score in a hybrid score (the vectors' is the rest); chosen on
the conversation benchmark (``bench/bench_quality.py``, all-MiniLM-L6-v2) and checked on
conversations drawn with other seeds (BENCHMARKS.md)."""
MIN_DEPTH = 30
"""Candidates each list contributes to the fusion, at least (three times the limit otherwise);
the standard scores are taken over them."""

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


def standard_scores(hits: Scored) -> list[float]:
    """The z-score of each of ``hits`` among them: (score - mean) / standard deviation.

    A lone candidate, or candidates that all score alike, stand one deviation out.

    >>> [round(z, 2) for z in standard_scores([(9.0, {}), (6.0, {}), (3.0, {})])]
    [1.22, 0.0, -1.22]
    """
    n = len(hits)
    scores = [score for score, _ in hits]
    mean = math.fsum(scores) / n if n else 0.0
    spread = math.sqrt(math.fsum([(score - mean) ** 2 for score in scores]) / n) if n else 0.0
    if spread <= 1e-12 * max(1.0, abs(mean)):  # equal scores, up to rounding
        return [1.0] * n
    return [(score - mean) / spread for score in scores]


def fuse(
    lexical: Scored,
    semantic: Scored,
    key_of: Callable[[dict[str, Any]], str],
    *,
    limit: int,
    share: float = LEXICAL_SHARE,
) -> list[dict[str, Any]]:
    """The candidates of both lists that pass their relevance floors, best first.

    ``lexical`` (BM25) and ``semantic`` (similarities) are each list's candidates, best first.
    Each score becomes its z-score among its list's candidates (:func:`standard_scores`); a
    memory scores ``share`` x its BM25 z-score + ``(1 - share)`` x its similarity z-score, each
    counted only above zero (above its list's average; a list the memory is absent from adds
    0). Memories that stand out in neither list follow, by the plain weighted sum; ties go to
    the newest record, then the key. Either list alone keeps its own order.

    >>> a, b, c = ({"id": k, "updated_at": t} for k, t in (("a", "1"), ("b", "2"), ("c", "3")))
    >>> [v["id"] for v in fuse([(9.0, a), (3.0, b)], [(0.9, c), (0.8, a), (0.1, b)],
    ...     lambda v: v["id"], limit=3)]
    ['c', 'a', 'b']
    """
    standing: dict[str, float] = {}  # what a memory stands out by, above each list's average
    plain: dict[str, float] = {}  # the weighted sum of its z-scores, below average included
    values: dict[str, dict[str, Any]] = {}
    for hits, weight, floor in (
        (lexical, share, floor_lexical),
        (semantic, 1 - share, floor_semantic),
    ):
        kept = len(floor(hits))  # best first: the floor keeps a prefix
        for z, (_, value) in zip(standard_scores(hits)[:kept], hits[:kept], strict=True):
            key = key_of(value)
            lift = weight * z
            if key in values:
                plain[key] += lift
                standing[key] += lift if lift > 0 else 0.0
            else:
                values[key], plain[key], standing[key] = value, lift, lift if lift > 0 else 0.0
    order = sorted(values)  # stable sorts, least significant key first: key, newest, score
    order.sort(key=lambda k: _newest(values[k]), reverse=True)
    order.sort(key=lambda k: (-standing[k], -plain[k]))
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
        depth: candidates taken from each list, over which its scores are standardised,
            before the floors and the fusion (at least ``MIN_DEPTH`` and three times
            ``limit``).
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
        lexical = index.rank_scored(query, limit=depth)
    values = fuse(lexical, near, key_of, limit=limit)
    return Ranked(index, values, matched=bool(values))
