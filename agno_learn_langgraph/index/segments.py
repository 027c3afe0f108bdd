"""A ranked namespace's BM25 index as of one version: a base segment plus this process's writes.

Built from a full scan of the namespace, a :class:`NamespaceIndex` then takes this process's own
writes as a delta segment (one IDF for both segments), merged into the base once the delta
passes 10% of it (or :data:`MAX_DELTA` writes), so a write never costs a rebuild. The merge
runs in a background thread: readers rank base + delta until the merged base is installed,
and writes made meanwhile stay in the new delta. It keeps the scanned rows compactly (rows
decoded from JSON share their keys and equal strings, see ``_Compactor``) and estimates the
memory it holds (:attr:`NamespaceIndex.nbytes`) for the cache's bound.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from agno_learn_langgraph.index.lexical import (
    LexicalIndex,
    QueryLike,
    Tokenizer,
    bm25_idf,
    tokenizer,
)

__all__ = ["MAX_DELTA", "NamespaceIndex"]

_MIN_MERGE = 256
MAX_DELTA = 2048
"""Most writes a delta segment takes before it is merged into the base, whatever the base's
size (a read after a write re-indexes the delta)."""
_WRITE_BYTES = 1024
"""What a recent write is counted as in :attr:`NamespaceIndex.nbytes` before any base exists."""
_SHORT = 24
"""Strings up to this long are shared by all the values of one build (``"approved"``, ...)."""


def _key(key: Any) -> Any:
    return sys.intern(key) if type(key) is str else key


def _size(value: Any, seen: set[int]) -> int:
    """The bytes of ``value``'s containers and strings, each string object counted once."""
    kind = type(value)
    if kind is dict:
        return sys.getsizeof(value) + sum(_size(v, seen) for v in value.values())
    if kind is list:
        return sys.getsizeof(value) + sum(_size(v, seen) for v in value)
    if kind is not str or id(value) in seen:
        return 0
    seen.add(id(value))
    return sys.getsizeof(value)


class _Compactor:
    """Values as an index keeps them, and the bytes they hold (:attr:`nbytes`).

    A store that decodes JSON per row gives every row its own copy of every dict key and
    string: such a value is rebuilt with interned keys (one object per field name), its strings
    equal to its key (an ``id``) or to each other (``search_text`` and ``text``) as one object,
    and its short strings shared with the other values of the build. A value whose keys are
    interned already (an in-memory store's own dicts, built by code; a value kept from the
    segments a merge joins) is kept as it is.
    """

    def __init__(self) -> None:
        self.nbytes = 0
        self._common: dict[str, str] = {}

    def value(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        if all(_key(k) is k for k in value):
            self.nbytes += _size(value, {id(key)})
            return value
        return self._dict(value, {key: key} if type(key) is str else {})

    def _dict(self, value: dict[str, Any], seen: dict[str, str]) -> dict[str, Any]:
        copy: dict[Any, Any] = {}
        for k, v in value.items():  # strings inline (most fields are): no call per field
            copy[_key(k)] = self._str(v, seen) if type(v) is str else self._other(v, seen)
        self.nbytes += sys.getsizeof(copy)
        return copy

    def _str(self, value: str, seen: dict[str, str]) -> str:
        found = seen.get(value)
        if found is None:
            found = (self._common if len(value) <= _SHORT else seen).setdefault(value, value)
            if found is value:
                self.nbytes += sys.getsizeof(value)
        return found

    def _other(self, value: Any, seen: dict[str, str]) -> Any:
        kind = type(value)
        if kind is dict:
            return self._dict(value, seen)
        if kind is list:
            copy = [self._str(v, seen) if type(v) is str else self._other(v, seen) for v in value]
            self.nbytes += sys.getsizeof(copy)
            return copy
        return value


class NamespaceIndex:
    """A ranked namespace as of one version: a base :class:`LexicalIndex` plus recent writes."""

    def __init__(
        self,
        keys: list[str],
        values: list[dict[str, Any]],
        text_of: Callable[[dict[str, Any]], str],
        tokenize: Tokenizer | None = None,
    ) -> None:
        self.text_of = text_of
        self.tokenize = tokenize or tokenizer()
        self._lock = threading.RLock()  # readers rank while this process's writes apply
        self._merging = False
        self._install(keys, *self._segment(keys, values), {})

    def _segment(
        self, keys: list[str], values: list[dict[str, Any]]
    ) -> tuple[LexicalIndex[dict[str, Any]], int]:
        """A base segment over ``values`` and the bytes it holds (built without the lock)."""
        compactor = _Compactor()
        kept = [compactor.value(k, v) for k, v in zip(keys, values, strict=True)]
        base = LexicalIndex(kept, self.text_of, tokenize=self.tokenize)
        size = compactor.nbytes + base.nbytes + sys.getsizeof(keys)
        return base, size + sum(sys.getsizeof(k) for k in keys)

    def _install(
        self,
        keys: list[str],
        base: LexicalIndex[dict[str, Any]],
        nbytes: int,
        delta: dict[str, dict[str, Any] | None],
    ) -> None:
        self._keys, self._base, self._base_bytes = keys, base, nbytes
        self._delta = delta  # oldest write first
        self._delta_index: LexicalIndex[dict[str, Any]] | None = None
        self._items: list[dict[str, Any]] | None = None

    def apply(self, key: str, value: dict[str, Any] | None) -> None:
        """Record a write (``None``: a delete) made after the base was built."""
        with self._lock:
            self._delta.pop(key, None)
            self._delta[key] = value
            self._delta_index, self._items = None, None
            due = len(self._delta) > max(_MIN_MERGE, min(len(self._keys) // 10, MAX_DELTA))
            if due and not self._merging:
                self._merging = True
                _start_merge(self._merge)

    def _merge(self) -> None:
        """Merge the delta into a new base, off the writer's thread; writes that arrive while
        the new base is built stay in the delta."""
        try:
            with self._lock:
                merged = dict(self._delta)
                keys = [*self._live_delta_keys(), *self._base_keys_kept()]
                values = list(self.items)
            base, nbytes = self._segment(keys, values)
            with self._lock:
                later = {k: v for k, v in self._delta.items() if merged.get(k, k) is not v}
                self._install(keys, base, nbytes, later)
        finally:
            self._merging = False

    def _live_delta_keys(self) -> list[str]:
        return [k for k, v in reversed(self._delta.items()) if v is not None]

    def _base_keys_kept(self) -> list[str]:
        return [k for k in self._keys if k not in self._delta]

    @property
    def items(self) -> list[dict[str, Any]]:
        """The namespace's values, newest first."""
        with self._lock:
            if not self._delta:
                return self._base.items
            if self._items is None:
                self._items = list(self.newest())
            return self._items

    def newest(self) -> Iterator[dict[str, Any]]:
        """The namespace's values, newest first, one at a time: :attr:`items` without building
        the list (a caller that needs the first few of a large namespace)."""
        with self._lock:
            delta, keys, base = dict(self._delta), self._keys, self._base.items
        yield from (v for v in reversed(delta.values()) if v is not None)
        yield from (v for k, v in zip(keys, base, strict=True) if k not in delta)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def held(self) -> int:
        """Rows this index holds: its base and its recent writes (a row rewritten or deleted
        since the base was built counts twice), without building :attr:`items`."""
        with self._lock:
            return len(self._keys) + len(self._delta)

    @property
    def nbytes(self) -> int:
        """An estimate of the memory this index holds: its arrays, keys and values (an
        in-memory store's values too, which it shares), recent writes at the base's average."""
        with self._lock:
            size = len(self._base)
            per_item = self._base_bytes // size if size else _WRITE_BYTES
            return self._base_bytes + len(self._delta) * per_item

    def rank_scored(self, query: QueryLike, *, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """Up to ``limit`` ``(BM25 score, value)`` of matching values, best first, newest first
        among ties."""
        if limit <= 0:
            return []
        with self._lock:
            hits = self._hits(self._base.terms(query), limit)
        return [(h[0], h[3]) for h in hits[:limit]]

    def rank(
        self, query: QueryLike, *, limit: int, keep_unmatched: bool = False
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` values, best BM25 match first (recent writes win ties)."""
        picked = [value for _, value in self.rank_scored(query, limit=limit)]
        if keep_unmatched and len(picked) < limit:
            chosen = {id(v) for v in picked}
            for v in self.items:  # newest first; stop as soon as the list is full
                if len(picked) >= limit:
                    break
                if id(v) not in chosen:
                    picked.append(v)
        return picked

    def _hits(
        self, query: dict[str, float], limit: int
    ) -> list[tuple[float, int, int, dict[str, Any]]]:
        hits: list[tuple[float, int, int, dict[str, Any]]] = []
        if self._delta and self._delta_index is None:
            recent = [self._delta[k] for k in self._live_delta_keys()]
            self._delta_index = LexicalIndex(
                [v for v in recent if v], self.text_of, tokenize=self.tokenize
            )
        delta = self._delta_index
        n = len(self._base) + (len(delta) if delta else 0)

        def idf(term: str) -> float:  # one set of statistics for both segments
            return bm25_idf(n, self._base.df(term) + (delta.df(term) if delta else 0))

        if delta is not None:
            for score, i in delta.rank_scored(query, limit=limit, idf=idf):
                hits.append((score, 0, i, delta.items[i]))
        for score, i in self._base.rank_scored(query, limit=limit + len(self._delta), idf=idf):
            if self._keys[i] not in self._delta:
                hits.append((score, 1, i, self._base.items[i]))
        return sorted(hits, key=lambda h: (-h[0], h[1], h[2]))


def _start_merge(merge: Callable[[], None]) -> None:
    """Run a segment merge in a daemon thread (merges are rare: one per ``MAX_DELTA`` writes
    of a namespace at most, and one at a time per index)."""
    threading.Thread(target=merge, name="agno-learn-merge", daemon=True).start()
