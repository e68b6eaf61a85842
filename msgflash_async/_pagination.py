"""Streaming pagination: awaitable for the first page, async-iterable for every item.

A paginator knows nothing of HTTP: it is handed ``fetch(cursor) -> Page``.
Cursor endpoints pass the server's cursor through; page-number endpoints
turn ``page + 1`` into a cursor string, so both share this one class.
Only one page is held at a time (plus the next one when prefetching), so
memory stays flat however many items are streamed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import attrs

from ._exceptions import ValidationError

__all__ = ["AsyncPaginator", "Page", "ResumeToken"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its items and how to ask for the next one."""

    items: Sequence[T]
    next_cursor: str | None = None
    has_more: bool = False
    total: int | None = None

    @property
    def is_last(self) -> bool:
        return not self.has_more or self.next_cursor is None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)


@attrs.frozen
class ResumeToken:
    """Where a scan stopped and the query it ran, as one string to store.

    The contacts cursor encodes the sort order, so resuming with a different
    ``sort`` would skip or repeat items; the token carries the query along.
    """

    cursor: str
    query: Mapping[str, Any] = attrs.field(factory=dict)

    def encode(self) -> str:
        raw = json.dumps({"c": self.cursor, "q": dict(self.query)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ResumeToken:
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return cls(cursor=str(raw["c"]), query=dict(raw["q"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise ValidationError("not a resume token of this SDK", field="resume") from None


Fetch = Callable[[str | None], Awaitable[Page[T]]]


class AsyncPaginator(Generic[T]):
    """``await`` it for the first page; ``async for`` it for every item.

    ``pages()`` iterates whole pages; ``max_items`` stops early; ``cursor``
    starts mid-list; ``next_cursor`` / ``resume_token`` say where to resume.
    ``prefetch=True`` fetches the next page while the caller works on this
    one, which hides the caller's time behind the network's (the next cursor
    comes with each page, so nothing can beat ``pages x latency``).

    A loop left early (``break``, an error or a cancellation in its body)
    stops its look-ahead when Python finalizes the iterator, a few event-loop
    turns later; ``async with paginator:`` (or ``await paginator.aclose()``)
    stops it at once.
    """

    def __init__(
        self,
        fetch: Fetch[T],
        *,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
        query: Mapping[str, Any] | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValidationError("must be >= 0", field="max_items")
        self._fetch = fetch
        self._start = cursor
        self._max_items = max_items
        self._prefetch = prefetch
        self._query = dict(query or {})
        self.next_cursor: str | None = cursor
        """The cursor of the first page not yet handed out (None when the list is done)."""
        # The look-ahead of each live iteration, for aclose(). Not the
        # iterations themselves: holding those would delay their finalization.
        self._fetchers: set[_Prefetcher[T]] = set()

    @property
    def resume_token(self) -> str | None:
        """A string to pass back as ``resume=`` to continue after the last item seen."""
        if self.next_cursor is None:
            return None
        return ResumeToken(self.next_cursor, self._query).encode()

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(self._start).__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def __aenter__(self) -> AsyncPaginator[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel and await the look-ahead of every iteration of this paginator."""
        for fetcher in list(self._fetchers):
            await fetcher.aclose()

    async def _items(self) -> AsyncGenerator[T, None]:
        left = self._max_items
        # aclosing: closing this iteration closes the page iteration (and its
        # look-ahead) in the same step, not at some later finalization.
        async with contextlib.aclosing(self._pages(stop_after=left)) as pages:
            async for page in pages:
                for item in page.items:
                    if left is not None:
                        if left == 0:
                            return
                        left -= 1
                    yield item

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page in turn (``max_items`` is not applied to pages)."""
        return self._pages(stop_after=None)

    async def _pages(self, stop_after: int | None) -> AsyncGenerator[Page[T], None]:
        cursor = self._start
        seen = 0
        fetcher = _Prefetcher(self._fetch, self._prefetch)
        self._fetchers.add(fetcher)
        try:
            while True:
                page = await fetcher.get(cursor)
                cursor = None if page.is_last else page.next_cursor
                seen += len(page.items)
                done = cursor is None or (stop_after is not None and seen >= stop_after)
                if not done and fetcher.ahead(cursor):
                    await asyncio.sleep(0)  # let the look-ahead task start its request
                # Resuming after a max_items stop that fell mid-page starts at
                # this page's next cursor: the rest of the page was handed out
                # only in part, which the caller knows from its own count.
                self.next_cursor = cursor
                yield page
                if done:
                    return
        finally:
            self._fetchers.discard(fetcher)
            await fetcher.aclose()


class _Prefetcher(Generic[T]):
    """Fetches the next page in a background task while the consumer works.

    The tasks never outlive the iteration: closing (end, break, error or
    cancellation of the consumer) cancels and awaits whatever is in flight.
    """

    def __init__(self, fetch: Fetch[T], enabled: bool) -> None:
        self._fetch = fetch
        self._enabled = enabled
        self._pending: dict[str | None, asyncio.Task[Page[T]]] = {}

    async def get(self, cursor: str | None) -> Page[T]:
        task = self._pending.get(cursor)
        if task is None:
            return await self._fetch(cursor)
        # Stays pending until it is done: if the consumer is cancelled while
        # waiting here, aclose() must still see the task to await its end.
        page = await task
        del self._pending[cursor]
        return page

    def ahead(self, cursor: str | None) -> bool:
        """Start fetching ``cursor``'s page now; True if a task was started."""
        if not self._enabled or cursor in self._pending:
            return False
        self._pending[cursor] = asyncio.ensure_future(self._fetch(cursor))
        return True

    async def aclose(self) -> None:
        tasks = list(self._pending.values())
        self._pending.clear()
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        # Shielded: a cancelled consumer re-delivers its cancellation at every
        # await, which would leave the cancelled tasks running unawaited.
        # asyncio.wait never raises the tasks' errors.
        with anyio.CancelScope(shield=True):
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # mark retrieved: an abandoned page's error is moot
