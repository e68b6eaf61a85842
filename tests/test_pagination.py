"""AsyncPaginator with stub fetch functions: no HTTP, no timing asserts."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncGenerator

import anyio
import anyio.lowlevel
import pytest

from msgflash_async._exceptions import ValidationError
from msgflash_async._pagination import AsyncPaginator, Page, ResumeToken

pytestmark = pytest.mark.anyio


class Item:
    """A weak-referenceable item, to see what the paginator keeps alive."""

    def __init__(self, n: int) -> None:
        self.n = n


class Pages:
    """A cursor list of ``count`` items in pages of ``size``; cursors are offsets."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self.calls: list[str | None] = []

    async def fetch(self, cursor: str | None) -> Page[Item]:
        self.calls.append(cursor)
        start = int(cursor or 0)
        end = min(start + self.size, self.count)
        more = end < self.count
        return Page(
            items=[Item(n) for n in range(start, end)],
            next_cursor=str(end) if more else None,
            has_more=more,
            total=self.count,
        )


async def test_await_gives_the_first_page_only() -> None:
    pages = Pages(25, 10)
    page = await AsyncPaginator(pages.fetch)
    assert [i.n for i in page.items] == list(range(10))
    assert page.next_cursor == "10" and page.has_more and page.total == 25
    assert pages.calls == [None]


async def test_iterating_yields_every_item_once() -> None:
    pages = Pages(25, 10)
    paginator = AsyncPaginator(pages.fetch)
    assert [i.n async for i in paginator] == list(range(25))
    assert pages.calls == [None, "10", "20"]
    assert paginator.next_cursor is None and paginator.resume_token is None


async def test_empty_list() -> None:
    pages = Pages(0, 10)
    assert [i async for i in AsyncPaginator(pages.fetch)] == []


async def test_pages() -> None:
    pages = Pages(25, 10)
    sizes = [len(p) async for p in AsyncPaginator(pages.fetch).pages()]
    assert sizes == [10, 10, 5]


async def test_max_items_stops_without_fetching_further() -> None:
    pages = Pages(100, 10)
    paginator = AsyncPaginator(pages.fetch, max_items=15)
    assert [i.n async for i in paginator] == list(range(15))
    assert pages.calls == [None, "10"]


async def test_max_items_zero_and_negative() -> None:
    pages = Pages(100, 10)
    assert [i async for i in AsyncPaginator(pages.fetch, max_items=0)] == []
    with pytest.raises(ValidationError):
        AsyncPaginator(pages.fetch, max_items=-1)


async def test_resume_from_a_cursor() -> None:
    pages = Pages(30, 10)
    first = AsyncPaginator(pages.fetch)
    seen: list[int] = []
    async for page in first.pages():
        seen.extend(i.n for i in page.items)
        break
    assert first.next_cursor == "10"
    rest = AsyncPaginator(pages.fetch, cursor=first.next_cursor)
    seen.extend([i.n async for i in rest])
    assert seen == list(range(30))


async def test_resume_token_round_trip_keeps_the_query() -> None:
    pages = Pages(30, 10)
    query = {"sort": "name_asc", "search": "awa", "limit": 10}
    paginator = AsyncPaginator(pages.fetch, query=query)
    async for _ in paginator.pages():
        break
    token = paginator.resume_token
    assert token is not None
    decoded = ResumeToken.decode(token)
    assert decoded.cursor == "10"
    assert dict(decoded.query) == query


async def test_prefetch_fetches_the_next_page_while_the_consumer_works() -> None:
    started = anyio.Event()
    pages = Pages(30, 10)

    async def fetch(cursor: str | None) -> Page[Item]:
        if cursor == "10":
            started.set()
        return await pages.fetch(cursor)

    paginator = AsyncPaginator(fetch, prefetch=True)
    # The consumer holds on to the first item until page 2 is being fetched.
    # Without prefetch this would wait forever (fail_after is only a guard).
    with anyio.fail_after(5):
        async for item in paginator:
            if item.n == 0:
                await started.wait()
    assert pages.calls == [None, "10", "20"]


async def test_without_prefetch_nothing_is_fetched_ahead() -> None:
    pages = Pages(30, 10)
    async for item in AsyncPaginator(pages.fetch):
        if item.n == 0:
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            assert pages.calls == [None]


async def test_breaking_out_cancels_the_prefetch() -> None:
    finished = 0
    gate = anyio.Event()

    async def fetch(cursor: str | None) -> Page[Item]:
        nonlocal finished
        if cursor is not None:
            await gate.wait()  # the look-ahead page never arrives
        finished += 1
        return Page(items=[Item(0)], next_cursor="next", has_more=True)

    iterator = AsyncPaginator(fetch, prefetch=True).pages()
    await iterator.__anext__()
    assert isinstance(iterator, AsyncGenerator)
    await iterator.aclose()  # what `break` in `async for` does, promptly
    gate.set()
    await anyio.lowlevel.checkpoint()
    assert finished == 1  # the look-ahead fetch was cancelled, not completed


@pytest.mark.parametrize("prefetch", [False, True])
async def test_iterating_does_not_keep_old_pages(prefetch: bool) -> None:
    pages = Pages(50, 10)
    first_page_item: weakref.ref[Item] | None = None
    async for item in AsyncPaginator(pages.fetch, prefetch=prefetch):
        if item.n == 0:
            first_page_item = weakref.ref(item)
        del item
        if pages.calls[-1] == "40":
            gc.collect()
            assert first_page_item is not None
            assert first_page_item() is None  # page 1 is gone by page 4 or 5
            break
