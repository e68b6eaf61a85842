"""Streaming pagination: awaitable for the first page, async-iterable for every item.

A paginator knows nothing of HTTP: it is handed ``fetch(cursor) -> Page``.
Cursor endpoints pass the server's cursor through; page-number endpoints
turn ``page + 1`` into a cursor string, so both share this one class.
Only one page is held at a time (plus the next one when prefetching), so
memory stays flat however many items are streamed.

A server that would never end a list is stopped with a
:class:`PaginationError`: a cursor seen before in the same walk (a loop),
more than ``max_empty_pages`` empty pages in a row that promise more, or,
with ``max_items=n``, more than ``n + max_empty_pages + 1`` requests (each
useful page brings at least one item, so that is all a sane server needs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import attrs

from ._exceptions import PaginationError, ValidationError
from ._resume import ResumeToken, resolve_resume

__all__ = [
    "DEFAULT_MAX_EMPTY_PAGES",
    "AsyncPaginator",
    "Page",
    "ResumeToken",
    "resolve_resume",
]

T = TypeVar("T")

DEFAULT_MAX_EMPTY_PAGES = 5
"""Empty pages in a row, each promising more, after which a list is given up.

A documented API never sends one mid-list; a few are tolerated for a server
that filters after paging. Set ``paginator.max_empty_pages`` to change it.
"""


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

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


@attrs.frozen
class _Position:
    """A resume point: the cursor of a page and how many of its items are out."""

    cursor: str | None
    handed: int = 0


@attrs.frozen
class _Chunk(Generic[T]):
    """A fetched page, cut after the items a resumed scan skips."""

    cursor: str | None  # what the page was fetched with
    offset: int  # items of the page cut off before ``page.items``
    page: Page[T]

    def position(self, handed: int) -> _Position | None:
        """Where to resume once ``handed`` items of the whole page are out."""
        if handed < self.offset + len(self.page.items):
            return _Position(self.cursor, handed)
        if self.page.is_last:
            return None  # the list is done
        # A page handed out in full resumes at the next one, with no refetch.
        return _Position(self.page.next_cursor, 0)

    @property
    def end(self) -> _Position | None:
        return self.position(self.offset + len(self.page.items))


Fetch = Callable[[str | None], Awaitable[Page[T]]]


class AsyncPaginator(Generic[T]):
    """``await`` it for the first page; ``async for`` it for every item.

    ``pages()`` iterates whole pages; ``max_items`` stops early; ``cursor``
    starts mid-list. ``resume_token`` continues right after the last item
    handed out (by ``async for``, ``pages()`` or ``await``), even mid-page,
    and remembers the query. ``next_cursor`` is only the server's cursor of
    the page after the one being handed out: after a stop mid-page it skips
    that page's rest. A raw cursor is opaque and tied to the query it came
    from (contacts: the same ``sort`` and ``search``), which the SDK cannot
    check; ``resume=paginator.resume_token`` is the safe way to continue.

    ``prefetch=True`` fetches the next page while the caller works on this
    one, which hides the caller's time behind the network's (the next cursor
    comes with each page, so nothing can beat ``pages x latency``); it never
    changes what ``resume_token`` says.

    A loop left early (``break``, an error or a cancellation in its body)
    stops its look-ahead when Python finalizes the iterator, a few event-loop
    turns later; ``async with paginator:`` (or ``await paginator.aclose()``)
    stops it at once.

    A list the server would never end raises :class:`PaginationError`
    naming ``endpoint``: a cursor repeated within one walk, more than
    ``max_empty_pages`` empty pages in a row that promise more, or (with
    ``max_items=n``) more than ``n + max_empty_pages + 1`` requests (plus
    the items a resumed scan skips in its first page).
    """

    def __init__(
        self,
        fetch: Fetch[T],
        *,
        cursor: str | ResumeToken | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
        query: Mapping[str, Any] | None = None,
        endpoint: str = "list",
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValidationError("must be >= 0", field="max_items")
        if max_empty_pages < 0:
            raise ValidationError("must be >= 0", field="max_empty_pages")
        self._fetch = fetch
        self.endpoint = endpoint
        """What errors call this list, e.g. ``GET /api/v1/contacts``."""
        self.max_empty_pages = max_empty_pages
        """Empty pages in a row promising more that are tolerated (see the class doc)."""
        if isinstance(cursor, ResumeToken):
            self._start, self._skip = cursor.page, cursor.skip
        else:
            self._start, self._skip = cursor, 0
        self._max_items = max_items
        self._prefetch = prefetch
        self._query = dict(query or {})
        # Set just before each item (or page) is handed out, so that it is
        # right whenever the caller stops: break, max_items, error, cancel.
        self._at: _Position | None = _Position(self._start, self._skip)
        self.next_cursor: str | None = self._start
        """The server's cursor of the page after the one being handed out (None at the end)."""
        # The look-ahead of each live iteration, for aclose(). Not the
        # iterations themselves: holding those would delay their finalization.
        self._fetchers: set[_Prefetcher[T]] = set()

    @property
    def resume_token(self) -> str | None:
        """A string to pass back as ``resume=`` to continue after the last item seen.

        None once the list is done. Before anything is handed out, it points
        at where this paginator starts.
        """
        if self._at is None:
            return None
        return ResumeToken(self._at.cursor, self._query, self._at.handed).encode()

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._first_page().__await__()

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

    async def _first_page(self) -> Page[T]:
        # No look-ahead: awaiting asks for one page, and gets one request.
        async with contextlib.aclosing(self._pages(prefetch=False)) as pages:
            return await anext(pages)

    async def _items(self) -> AsyncGenerator[T, None]:
        left = self._max_items
        stop_after = None if left is None else self._skip + left
        # aclosing: closing this iteration closes the page iteration (and its
        # look-ahead) in the same step, not at some later finalization.
        async with contextlib.aclosing(self._walk(stop_after, self._prefetch)) as chunks:
            async for chunk in chunks:
                for handed, item in enumerate(chunk.page.items, chunk.offset + 1):
                    if left is not None:
                        if left == 0:
                            return
                        left -= 1
                    self._at = chunk.position(handed)
                    yield item
                self._at = chunk.end  # an empty page is passed too

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page in turn (``max_items`` is not applied to pages)."""
        return self._pages(prefetch=self._prefetch)

    async def _pages(self, prefetch: bool) -> AsyncGenerator[Page[T], None]:
        async with contextlib.aclosing(self._walk(None, prefetch)) as chunks:
            async for chunk in chunks:
                self._at = chunk.end
                yield chunk.page

    async def _walk(
        self, stop_after: int | None, prefetch: bool
    ) -> AsyncGenerator[_Chunk[T], None]:
        """The pages from where this paginator starts, less the items it skips.

        ``stop_after`` counts the skipped items too.
        """
        cursor, skip = self._start, self._skip
        seen = 0
        guard = _Guard(self, stop_after)
        fetcher = _Prefetcher(self._fetch, prefetch)
        self._fetchers.add(fetcher)
        try:
            while True:
                page = await fetcher.get(cursor)
                following = None if page.is_last else page.next_cursor
                seen += len(page.items)
                done = following is None or (stop_after is not None and seen >= stop_after)
                # Checked before any look-ahead starts; raised once the page is out.
                stop = None if done else guard.follow(page, following)
                if not done and stop is None and fetcher.ahead(following):
                    await asyncio.sleep(0)  # let the look-ahead task start its request
                cut = min(skip, len(page.items))
                skip -= cut
                # A page skipped whole (a resumed scan that asks for smaller
                # pages) is no page of this scan; the list's last page is.
                skipped_whole = skip > 0 or 0 < cut == len(page.items)
                if not skipped_whole or following is None:
                    self.next_cursor = following
                    yield _Chunk(cursor, cut, _cut(page, cut))
                if stop is not None:
                    raise stop
                if done:
                    return
                cursor = following
        finally:
            self._fetchers.discard(fetcher)
            await fetcher.aclose()


class _Guard:
    """Stops one walk that the server would never end (see :class:`AsyncPaginator`)."""

    def __init__(self, paginator: AsyncPaginator[Any], stop_after: int | None) -> None:
        self._endpoint = paginator.endpoint
        self._max_empty = paginator.max_empty_pages
        # Cursors are short strings and a walk has few pages: a set catches
        # loops of any length at a cost far below one request per page.
        self._seen: set[str | None] = {paginator._start}
        self._empty_run = 0
        self._requests = 0
        self._budget = None if stop_after is None else stop_after + self._max_empty + 1

    def follow(self, page: Page[Any], following: str | None) -> PaginationError | None:
        """None if ``following`` may be fetched after ``page``, else the error to raise."""
        self._requests += 1
        self._empty_run = 0 if page.items else self._empty_run + 1
        if following in self._seen:
            return self._stop(f"the server sent cursor {_short(following)} again", following)
        self._seen.add(following)
        if self._empty_run > self._max_empty:
            return self._stop(f"{self._empty_run} empty pages in a row, each promising more")
        if self._budget is not None and self._requests >= self._budget:
            return self._stop(f"{self._requests} requests without reaching max_items")
        return None

    def _stop(self, reason: str, cursor: str | None = None) -> PaginationError:
        return PaginationError(
            f"{self._endpoint}: {reason}; the list is given up so that it cannot loop for ever",
            endpoint=self._endpoint,
            cursor=cursor,
        )


def _short(cursor: str | None) -> str:
    text = repr(cursor)
    return text if len(text) <= 60 else text[:57] + "..."


def _cut(page: Page[T], count: int) -> Page[T]:
    return attrs.evolve(page, items=page.items[count:]) if count else page


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
