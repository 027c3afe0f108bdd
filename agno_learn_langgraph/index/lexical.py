"""Lexical (BM25) ranking with Snowball stemming. Pure: no store, no clock.

A :class:`LexicalIndex` tokenizes its documents once and keeps their postings with their BM25
weights in one compressed sparse row layout (a term's postings are one slice of two arrays), so
ranking a query is a few numpy additions over the documents sharing its terms.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import Stemmer

from agno_learn_langgraph.config import check_language

__all__ = [
    "CONTEXT_WEIGHT",
    "LexicalIndex",
    "Query",
    "QueryLike",
    "TextQuery",
    "Tokenizer",
    "bm25_idf",
    "lexical_rank",
    "query_terms",
    "tokenize",
    "tokenizer",
]

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
_K1, _B = 1.2, 0.75
_WORD = re.compile(r"\w+")
CONTEXT_WEIGHT = 0.3
"""Weight of a term that only the conversation's context (not the latest message) holds."""
_STEM_CACHE_MAX = 200_000
_QUERY_CACHE_MAX = 8


def _fold_accents(text: str) -> str:
    """``text`` without accents, case kept (names are told apart by their capital)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Tokenizer:
    """Lowercase, accent-folded word tokens without stopwords, reduced by a Snowball stemmer.

    Names stay intact: a capitalised word gives its own form and its stem (``"James"`` ->
    ``james``, ``jame``), so the name matches itself exactly and a lowercase mention through
    the stem; acronyms are kept as they are (``APIs`` -> ``api``). Stems are cached per word.

    >>> Tokenizer("english")("The companies' APIs are rate-limited; James runs.")
    ['compani', 'api', 'rate', 'limit', 'james', 'jame', 'run']

    Args:
        language: a Snowball algorithm (``Stemmer.algorithms()``: ``"english"``, ``"french"``,
            ...), or ``None`` for no stemming. English (and ``None``) also drop English
            stopwords.

    Raises:
        ValueError: an unknown language, naming the allowed ones.
    """

    def __init__(self, language: str | None = "english") -> None:
        self.language = language
        english = language in ("english", "porter", None)
        self._stopwords = _STOPWORDS if english else frozenset()
        self._stemmer: Any = None
        if language is not None:
            check_language(language)
            self._stemmer = Stemmer.Stemmer(language)
            self._stemmer.maxCacheSize = 0  # ours below is faster than its purging one
        self._stems: dict[str, str] = {}
        self._queries: dict[TextQuery, dict[str, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Tokenizer({self.language!r})"

    def stem(self, word: str) -> str:
        """The stem of a lowercase ``word`` (itself without stemming)."""
        stem = self._stems.get(word)
        if stem is None:
            if len(self._stems) >= _STEM_CACHE_MAX:
                self._stems.clear()
            stem = self._stems[word] = self._stemmer.stemWord(word) if self._stemmer else word
        return stem

    def __call__(self, text: str) -> list[str]:
        """The tokens of ``text``, in order (a capitalised word gives two)."""
        out: list[str] = []
        stopwords, stem = self._stopwords, self.stem
        for token in _WORD.findall(_fold_accents(text)):
            word = token.lower()
            if len(word) < 2 or word in stopwords:
                continue
            if token[0].islower() or token[0].isdigit():
                out.append(stem(word))
            elif token.isupper():
                out.append(word)  # an acronym: API, HTTP
            elif token[-1] == "s" and token[:-1].isupper():
                out.append(word[:-1])  # APIs -> api
            else:
                out.append(word)  # a name, or a capitalised word: also its stem
                if (root := stem(word)) != word:
                    out.append(root)
        return out

    def terms(self, query: QueryLike) -> dict[str, float]:
        """``{term: weight}`` of a query (see :func:`query_terms`); the last few are cached, as
        one turn ranks every store by the same query."""
        if isinstance(query, Mapping):
            return dict(query)
        with self._lock:
            found = self._queries.get(query)
        if found is None:
            found = query_terms(query, self)
            with self._lock:
                if len(self._queries) >= _QUERY_CACHE_MAX:
                    self._queries.pop(next(iter(self._queries)))
                self._queries[query] = found
        return found


@functools.cache
def tokenizer(language: str | None = "english") -> Tokenizer:
    """The shared :class:`Tokenizer` of ``language`` (one stem cache per language)."""
    return Tokenizer(language)


def tokenize(text: str, language: str | None = "english") -> list[str]:
    """Tokens of ``text`` as BM25 ranks them (see :class:`Tokenizer`).

    >>> tokenize("allergic to peanuts, no news yet")
    ['allerg', 'peanut', 'news', 'yet']
    """
    return tokenizer(language)(text)


@dataclass(frozen=True)
class Query:
    """What recall ranks by: the latest user message and, weighted lower, recent context.

    ``str(query)`` is the text that is embedded (the message first, so a truncating embedder
    keeps it).
    """

    text: str
    context: str = ""

    def __str__(self) -> str:
        return f"{self.text}\n{self.context}" if self.context else self.text

    def strip(self) -> str:
        """The non-blank text of the query (``""`` when there is nothing to rank by)."""
        return str(self).strip()


QueryLike = str | Query | Mapping[str, float]
TextQuery = str | Query
"""What recall and the stores rank by: a text, or a message with its context."""


def query_terms(query: QueryLike, tokenize: Callable[[str], list[str]]) -> dict[str, float]:
    """``{term: weight}``: the message's terms weigh 1, terms only the context has less."""
    if isinstance(query, Mapping):
        return dict(query)
    if isinstance(query, str):
        return dict.fromkeys(tokenize(query), 1.0)
    terms = dict.fromkeys(tokenize(query.context), CONTEXT_WEIGHT)
    terms.update(dict.fromkeys(tokenize(query.text), 1.0))
    return terms


def bm25_idf(n: int, df: int) -> float:
    """BM25's inverse document frequency of a term found in ``df`` of ``n`` documents."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class LexicalIndex(Generic[T]):
    """BM25 over ``items`` (in their given order, newest first, which breaks ties), built once.

    The postings are kept compressed: per term one slice of a document-position array and of
    the documents' precomputed BM25 term weights, the terms sorted beside their slices'
    bounds. Ranking is a few vector additions and a partial sort, whatever the namespace
    size, and an index costs a few arrays rather than two per term.

    >>> index = LexicalIndex(["likes green tea", "works at Stripe"], text_of=str)
    >>> index.rank("teas?", limit=5)
    ['likes green tea']
    """

    def __init__(
        self,
        items: Sequence[T],
        text_of: Callable[[T], str],
        *,
        tokenize: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.items = list(items)
        self.tokenize = tokenize or tokenizer()
        self._index(text_of(item) for item in self.items)

    def _index(self, texts: Iterable[str]) -> None:
        """Tokenize ``texts`` into flat arrays (no per-document objects are kept), then sort
        the ``(term, document)`` pairs into the postings."""
        vocab: dict[str, int] = {}  # term -> id, in order of first use
        ids = array("q")  # every token's term id, document after document
        lengths = array("q")
        for text in texts:
            tokens = self.tokenize(text)
            lengths.append(len(tokens))
            ids.extend([vocab.setdefault(term, len(vocab)) for term in tokens])
        n, size = len(lengths), np.frombuffer(lengths, dtype=np.int64)
        self._terms = sorted(vocab)
        place = np.empty(len(vocab), dtype=np.int64)  # term id -> its place in _terms
        place[[vocab[term] for term in self._terms]] = np.arange(len(vocab))
        doc_of = np.repeat(np.arange(n, dtype=np.int64), size)
        pairs, tf = np.unique(
            place[np.frombuffer(ids, dtype=np.int64)] * n + doc_of, return_counts=True
        )
        term_of, doc = np.divmod(pairs, max(n, 1))  # sorted by term, then document
        lengths_f = np.where(size > 0, size, 1).astype(np.float64)
        avg = float(lengths_f.mean()) if n else 1.0
        norms = _K1 * (1 - _B + _B * lengths_f / avg)
        freq = tf.astype(np.float64)
        self._weights = freq * (_K1 + 1) / (freq + norms[doc])
        self._docs = doc.astype(np.intp)  # what numpy indexes with, without a conversion
        starts = np.searchsorted(term_of, np.arange(len(vocab) + 1))
        self._starts = starts.astype(np.int32 if len(pairs) < 2**31 else np.int64)

    def _span(self, term: str) -> tuple[int, int]:
        """Where ``term``'s postings are in the arrays (an empty span when no item has it)."""
        at = bisect_left(self._terms, term)
        if at == len(self._terms) or self._terms[at] != term:
            return 0, 0
        return int(self._starts[at]), int(self._starts[at + 1])

    def __len__(self) -> int:
        return len(self.items)

    @property
    def nbytes(self) -> int:
        """The bytes of the postings (the items and the terms' strings are not counted)."""
        arrays = self._docs.nbytes + self._weights.nbytes + self._starts.nbytes
        return arrays + sys.getsizeof(self._terms)

    def df(self, term: str) -> int:
        """How many items contain ``term``."""
        start, end = self._span(term)
        return end - start

    def terms(self, query: QueryLike) -> dict[str, float]:
        """The weighted terms of ``query`` as this index tokenizes them (:func:`query_terms`)."""
        if isinstance(self.tokenize, Tokenizer):
            return self.tokenize.terms(query)
        return query_terms(query, self.tokenize)

    def rank_scored(
        self, query: QueryLike, *, limit: int, idf: Callable[[str], float] | None = None
    ) -> list[tuple[float, int]]:
        """``(score, position)`` of up to ``limit`` matching items, best first, ties newest first.

        The result is the first ``limit`` of the full ranking whatever ``limit`` is: items tied
        at the cut are ordered by position, never picked arbitrarily.

        Args:
            query: text, a :class:`Query` or ``{term: weight}`` from :meth:`terms`.
            idf: term weights from wider statistics (several segments of one namespace);
                this index's own by default.
        """
        if limit <= 0 or not self.items:
            return []
        n = len(self.items)
        scores = np.zeros(n)
        for term, boost in self.terms(query).items():
            start, end = self._span(term)
            if start < end:
                weight = idf(term) if idf else bm25_idf(n, end - start)
                scores[self._docs[start:end]] += boost * weight * self._weights[start:end]
        matched = np.flatnonzero(scores > 0)
        if len(matched) > limit:
            kth = -np.partition(-scores[matched], limit - 1)[limit - 1]
            above = matched[scores[matched] > kth]
            tied = matched[scores[matched] == kth]  # items tied at the cut: the newest win
            matched = np.concatenate((above, tied[: limit - len(above)]))  # positions ascend
        picked = matched[np.lexsort((matched, -scores[matched]))]  # score, then position
        return list(zip(scores[picked].tolist(), picked.tolist(), strict=True))

    def rank(self, query: QueryLike, *, limit: int) -> list[T]:
        """Up to ``limit`` matching items, best match first."""
        return [self.items[i] for _, i in self.rank_scored(query, limit=limit)]


def lexical_rank(
    query: QueryLike,
    items: Sequence[T],
    text_of: Callable[[T], str],
    *,
    limit: int,
    language: str | None = "english",
) -> list[T]:
    """Rank ``items`` by BM25 relevance to ``query``; ties keep the input order (newest first).

    Only items sharing a term with the query are returned.
    """
    return LexicalIndex(items, text_of, tokenize=tokenizer(language)).rank(query, limit=limit)
