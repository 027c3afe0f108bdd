"""Lexical (BM25) ranking, for stores without a vector index. Pure: no store, no clock.

A :class:`LexicalIndex` tokenizes its documents once and keeps per-term postings with their BM25
weights, so ranking a query is a few numpy additions over the documents sharing its terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from agno_learn_langgraph.records import normalize_text

__all__ = ["LexicalIndex", "bm25_idf", "lexical_rank", "tokenize"]

T = TypeVar("T")

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "about",
        "also",
        "just",
        "like",
        "please",
        "tell",
        "know",
        "want",
        "need",
    ]
)
_TOKEN = re.compile(r"\w+")
_K1, _B = 1.2, 0.75


def tokenize(text: str) -> list[str]:
    """Lowercase, accent-folded word tokens without stopwords, with simple plural stripping.

    >>> tokenize("The companies' APIs are rate-limited")
    ['companie', 'api', 'rate', 'limited']
    """
    out = []
    for token in _TOKEN.findall(normalize_text(text)):
        if token in _STOPWORDS or len(token) < 2:
            continue
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.append(token)
    return out


def bm25_idf(n: int, df: int) -> float:
    """BM25's inverse document frequency of a term found in ``df`` of ``n`` documents."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class LexicalIndex(Generic[T]):
    """BM25 over ``items`` (in their given order, which breaks ties), built once.

    Each term's postings hold the documents' precomputed BM25 term weights as numpy arrays, so
    ranking is a few vector additions and a partial sort, whatever the namespace size.

    >>> index = LexicalIndex(["likes green tea", "works at Stripe"], text_of=str)
    >>> index.rank("tea?", limit=5)
    ['likes green tea']
    """

    def __init__(self, items: Sequence[T], text_of: Callable[[T], str]) -> None:
        self.items = list(items)
        counts = [Counter(tokenize(text_of(item))) for item in self.items]
        lengths = np.array([sum(c.values()) or 1 for c in counts], dtype=np.float64)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        norms = _K1 * (1 - _B + _B * lengths / avg)
        docs: dict[str, list[int]] = defaultdict(list)
        tfs: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(counts):
            for term, tf in doc.items():
                docs[term].append(i)
                tfs[term].append(tf)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, ids in docs.items():
            idx = np.array(ids, dtype=np.int64)
            freq = np.array(tfs[term], dtype=np.float64)
            self._postings[term] = (idx, freq * (_K1 + 1) / (freq + norms[idx]))

    def __len__(self) -> int:
        return len(self.items)

    def df(self, term: str) -> int:
        """How many items contain ``term``."""
        posting = self._postings.get(term)
        return 0 if posting is None else len(posting[0])

    def rank_scored(
        self, query: str, *, limit: int, idf: Callable[[str], float] | None = None
    ) -> list[tuple[float, int]]:
        """``(score, position)`` of up to ``limit`` matching items, best first.

        Args:
            idf: term weights from wider statistics (several segments of one namespace);
                this index's own by default.
        """
        if limit <= 0 or not self.items:
            return []
        weight = idf or (lambda term: bm25_idf(len(self.items), self.df(term)))
        scores = np.zeros(len(self.items))
        for term in set(tokenize(query)):
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += weight(term) * posting[1]
        matched = np.flatnonzero(scores > 0)
        if len(matched) > limit:
            matched = matched[np.argpartition(-scores[matched], limit - 1)[:limit]]
        return sorted(((float(scores[i]), int(i)) for i in matched), key=lambda s: (-s[0], s[1]))

    def rank(self, query: str, *, limit: int) -> list[T]:
        """Up to ``limit`` matching items, best match first."""
        return [self.items[i] for _, i in self.rank_scored(query, limit=limit)]


def lexical_rank(
    query: str, items: Sequence[T], text_of: Callable[[T], str], *, limit: int
) -> list[T]:
    """Rank ``items`` by BM25 relevance to ``query``; ties keep the input order (newest first).

    Only items sharing a term with the query are returned.
    """
    return LexicalIndex(items, text_of).rank(query, limit=limit)
