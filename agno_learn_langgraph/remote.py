"""A LangGraph server's store as a :class:`~langgraph.store.base.BaseStore`, over its HTTP API.

:class:`RemoteStore` translates LangGraph's store ops into ``langgraph_sdk`` store calls
(``get_item``, ``put_item``, ``delete_item``, ``search_items``, ``list_namespaces``): the sync
client serves ``batch``, the async client ``abatch``. So everything that takes a store works on
a deployed app's store from anywhere, e.g. a reviewer's terminal::

    from agno_learn_langgraph import approve_proposal, list_pending_proposals
    from agno_learn_langgraph.backends import open_store

    with open_store("http://127.0.0.1:2024", api_key="...") as backend:
        for proposal in list_pending_proposals(backend.store):
            approve_proposal(backend.store, proposal.id, reviewer="ann")

Without ``api_key``, ``langgraph_sdk`` reads ``LANGGRAPH_API_KEY``, ``LANGSMITH_API_KEY`` or
``LANGCHAIN_API_KEY``. Values travel as JSON; datetimes come back as :class:`datetime`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, NamedTuple

import httpx
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph_sdk import get_client, get_sync_client

from agno_learn_langgraph.errors import StoreUnavailableError

__all__ = ["RemoteStore", "aopen_remote_store", "open_remote_store"]

PAGE_SIZE = 1_000
"""Most items or namespaces one HTTP request asks for; larger limits are read page by page."""
_PROBE_TIMEOUT_S = 5.0


class _Call(NamedTuple):
    """One ``langgraph_sdk`` store call: the method's name and its arguments."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


OpPlan = Generator[_Call, Any, Result]
"""How one op runs: yields SDK calls, receives their responses, returns the op's result."""


def _item(raw: dict[str, Any], cls: type[Item] = Item) -> Any:
    fields = {
        "namespace": tuple(raw["namespace"]),
        "key": raw["key"],
        "value": raw["value"],
        "created_at": raw["created_at"],
        "updated_at": raw["updated_at"],
    }
    if cls is SearchItem:
        return SearchItem(**fields, score=raw.get("score"))
    return Item(**fields)


def _pages(limit: int, offset: int) -> Iterator[tuple[int, int]]:
    """``(limit, offset)`` of each request that together read ``limit`` from ``offset``."""
    while limit > 0:
        size = min(limit, PAGE_SIZE)
        yield size, offset
        limit, offset = limit - size, offset + size


def _get(op: GetOp) -> OpPlan:
    raw = yield _Call("get_item", (list(op.namespace),), {"key": op.key})
    return _item(raw) if raw else None


def _put(op: PutOp) -> OpPlan:
    namespace = list(op.namespace)
    if op.value is None:
        yield _Call("delete_item", (namespace,), {"key": op.key})
    else:
        kwargs: dict[str, Any] = {"key": op.key, "value": op.value, "index": op.index}
        if op.ttl is not None:
            kwargs["ttl"] = op.ttl
        yield _Call("put_item", (namespace,), kwargs)
    return None


def _search(op: SearchOp) -> OpPlan:
    found: list[SearchItem] = []
    for size, offset in _pages(op.limit, op.offset):
        kwargs = {"filter": op.filter, "limit": size, "offset": offset, "query": op.query}
        page = yield _Call("search_items", (list(op.namespace_prefix),), kwargs)
        found += [_item(raw, SearchItem) for raw in page["items"]]
        if len(page["items"]) < size:
            break
    return found


def _list_namespaces(op: ListNamespacesOp) -> OpPlan:
    kwargs: dict[str, Any] = {"max_depth": op.max_depth}
    for condition in op.match_conditions or ():
        kwargs[condition.match_type] = list(condition.path)  # "prefix" or "suffix"
    found: list[tuple[str, ...]] = []
    for size, offset in _pages(op.limit, op.offset):
        page = yield _Call("list_namespaces", (), {**kwargs, "limit": size, "offset": offset})
        found += [tuple(ns) for ns in page["namespaces"]]
        if len(page["namespaces"]) < size:
            break
    return found


def _op_plan(op: Op) -> OpPlan:
    if isinstance(op, GetOp):
        return _get(op)
    if isinstance(op, PutOp):
        return _put(op)
    if isinstance(op, SearchOp):
        return _search(op)
    if isinstance(op, ListNamespacesOp):
        return _list_namespaces(op)
    raise TypeError(f"RemoteStore cannot run {type(op).__name__}.")


class RemoteStore(BaseStore):
    """The store of a LangGraph server (``langgraph dev``, LangGraph Platform), over HTTP.

    Args:
        url: The server's address, e.g. ``"http://127.0.0.1:2024"``.
        api_key: Sent as ``x-api-key``; without it ``langgraph_sdk`` reads
            ``LANGGRAPH_API_KEY`` / ``LANGSMITH_API_KEY`` / ``LANGCHAIN_API_KEY``.
        headers: Extra HTTP headers for every request.
        timeout: Seconds (or an ``httpx.Timeout``) per request; the SDK's default otherwise.

    Ops of one batch run in order; ``search`` and ``list_namespaces`` with a large ``limit``
    are read in pages of :data:`PAGE_SIZE`.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._options: dict[str, Any] = {"url": self.url, "headers": headers, "timeout": timeout}
        if api_key is not None:
            self._options["api_key"] = api_key
        self._client = get_sync_client(**self._options)
        self._aclients: dict[asyncio.AbstractEventLoop, Any] = {}

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # -- running ops --------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order with the sync client."""
        return [self._run(_op_plan(op)) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order with the async client of the running event loop."""
        client = self._aclient()
        return [await self._arun(client, _op_plan(op)) for op in ops]

    def _run(self, plan: OpPlan) -> Result:
        try:
            call = next(plan)
            while True:
                with self._errors():
                    response = getattr(self._client.store, call.method)(*call.args, **call.kwargs)
                call = plan.send(response)
        except StopIteration as done:
            return done.value

    async def _arun(self, client: Any, plan: OpPlan) -> Result:
        try:
            call = next(plan)
            while True:
                with self._errors():
                    method = getattr(client.store, call.method)
                    response = await method(*call.args, **call.kwargs)
                call = plan.send(response)
        except StopIteration as done:
            return done.value

    def _aclient(self) -> Any:
        """One async client per event loop (an httpx connection belongs to its loop)."""
        loop = asyncio.get_running_loop()
        for other in [lp for lp in self._aclients if lp.is_closed()]:
            del self._aclients[other]
        if loop not in self._aclients:
            self._aclients[loop] = get_client(**self._options)
        return self._aclients[loop]

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """HTTP failures as this package's errors, each naming the fix."""
        try:
            yield
        except httpx.HTTPStatusError as exc:
            raise self._refused(exc.response) from exc
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    # -- checks and errors --------------------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> StoreUnavailableError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return StoreUnavailableError(
            f"Cannot reach the LangGraph server at {self.url}: {reason}. Is it running "
            f"(`langgraph dev`, or `curl {self.url}/ok`)? Is the address right?"
        )

    def _refused(self, response: httpx.Response) -> Exception:
        status = response.status_code
        detail = " ".join(response.text.split())[:300]
        if status == 422:
            return InvalidNamespaceError(f"The LangGraph server at {self.url} refused: {detail}")
        if status in (401, 403):
            return StoreUnavailableError(
                f"The LangGraph server at {self.url} refused the request ({status} {detail}). "
                "Pass its API key: --api-key KEY on the command line, api_key= in Python, or "
                "LANGGRAPH_API_KEY (or LANGSMITH_API_KEY) in the environment."
            )
        if status == 404:
            return StoreUnavailableError(
                f"{self.url} has no LangGraph store API (404 {detail}). Is it a LangGraph "
                "server's address (what `langgraph dev` prints as API)?"
            )
        return StoreUnavailableError(
            f"The LangGraph server at {self.url} failed ({status} {detail})."
        )

    def check(self) -> None:
        """Raise :class:`StoreUnavailableError` unless the server answers and accepts the key."""
        try:
            httpx.get(f"{self.url}/ok", timeout=_PROBE_TIMEOUT_S).raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise self._refused(exc.response) from exc
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        self.list_namespaces(limit=1)

    async def acheck(self) -> None:
        """Async twin of :meth:`check`."""
        try:
            async with httpx.AsyncClient(timeout=_PROBE_TIMEOUT_S) as http:
                (await http.get(f"{self.url}/ok")).raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise self._refused(exc.response) from exc
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        await self.alist_namespaces(limit=1)

    def close(self) -> None:
        """Close the sync client (async clients close with :meth:`aclose`)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the clients."""
        self._client.close()
        loop = asyncio.get_running_loop()
        client = self._aclients.pop(loop, None)
        if client is not None:
            await client.aclose()


@contextmanager
def open_remote_store(url: str, *, api_key: str | None = None) -> Iterator[RemoteStore]:
    """A checked :class:`RemoteStore` on ``url``, closed on exit.

    Raises:
        StoreUnavailableError: the server is unreachable, is no LangGraph server, or refuses
            the API key.
    """
    store = RemoteStore(url, api_key=api_key)
    try:
        store.check()
        yield store
    finally:
        store.close()


@asynccontextmanager
async def aopen_remote_store(url: str, *, api_key: str | None = None) -> AsyncIterator[RemoteStore]:
    """Async twin of :func:`open_remote_store`."""
    store = RemoteStore(url, api_key=api_key)
    try:
        await store.acheck()
        yield store
    finally:
        await store.aclose()
