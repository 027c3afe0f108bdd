"""Deterministic offline embeddings by feature hashing."""

from __future__ import annotations

import hashlib
import math

from langchain_core.embeddings import Embeddings

from agno_learn_langgraph.index.lexical import tokenize

__all__ = ["HashEmbeddings"]


class HashEmbeddings(Embeddings):
    """Deterministic offline embeddings by feature hashing, for tests (not for production).

    Words (lowercased, accents folded, simple plurals stripped, common stopwords dropped) and
    their character trigrams are hashed into ``dims`` signed buckets and the vector is
    L2-normalised, so texts sharing words get a high cosine similarity. Empty text maps to one
    fixed unit vector. The same text always gives the same vector, in every process.

    >>> emb = HashEmbeddings()
    >>> tea, likes_tea, tax = emb.embed_documents(
    ...     ["The user prefers green teas", "User likes green tea", "Quarterly tax deadline"]
    ... )
    >>> dot = lambda a, b: sum(x * y for x, y in zip(a, b))
    >>> dot(tea, likes_tea) > 0.5 > 0.2 > dot(tea, tax)
    True
    """

    def __init__(self, dims: int = 256, *, trigram_weight: float = 0.5) -> None:
        if dims < 8:
            raise ValueError(f"dims={dims!r} is too small to separate texts; use dims >= 8.")
        self.dims = dims
        self.trigram_weight = trigram_weight

    def __repr__(self) -> str:
        return f"HashEmbeddings(dims={self.dims})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        vector = [0.0] * self.dims
        words = _words(text)
        features = [(w, 1.0) for w in words] + [
            (g, self.trigram_weight) for w in words for g in _trigrams(w)
        ]
        for feature, weight in features or [(_EMPTY_FEATURE, 1.0)]:
            bucket, sign = self._hash(feature)
            vector[bucket] += sign * weight
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:  # every feature cancelled out; fall back to the empty-text vector
            return self.embed_query("")
        return [x / norm for x in vector]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text (pure CPU work, so no thread hop)."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one text (pure CPU work, so no thread hop)."""
        return self.embed_query(text)

    def _hash(self, feature: str) -> tuple[int, float]:
        digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
        return digest % self.dims, 1.0 if (digest >> 63) & 1 else -1.0


_EMPTY_FEATURE = "\x00empty"


def _words(text: str) -> list[str]:
    # the words BM25 ranks by, case folded (names too), plurals folded as well
    words = tokenize(text.lower())
    return [w[:-1] if len(w) > 3 and w[-1] == "s" and w[-2] != "s" else w for w in words]


def _trigrams(word: str) -> list[str]:
    padded = f"#{word}#"
    return ["#3" + padded[i : i + 3] for i in range(len(padded) - 2)]
