"""AsyncPaginator with stub fetch functions (no HTTP, no timing asserts), then
resuming against the emulator over loopback."""

from __future__ import annotations

import base64
import gc
import json
import weakref
from collections.abc import AsyncGenerator, Callable

import anyio
import anyio.lowlevel
import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import PaginationError, ValidationError
from msgflash_async._pagination import DEFAULT_MAX_EMPTY_PAGES, AsyncPaginator, Page, ResumeToken
from msgflash_async.testing import Emulator, Fault

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
    assert (decoded.page, decoded.skip) == ("10", 0)
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


# -- resuming exactly after the last item handed out --------------------------


async def _take(paginator: AsyncPaginator[Item], count: int) -> list[int]:
    """The first ``count`` items of an ``async for`` left by ``break``."""
    taken: list[int] = []
    async for item in paginator:
        taken.append(item.n)
        if len(taken) == count:
            break
    return taken


def _resumed(fetch: Pages, token: str | None, prefetch: bool = False) -> AsyncPaginator[Item]:
    assert token is not None
    return AsyncPaginator(fetch.fetch, cursor=ResumeToken.decode(token), prefetch=prefetch)


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("count", [3, 10, 13, 20, 24])
async def test_break_then_resume_gives_every_item_once(prefetch: bool, count: int) -> None:
    pages = Pages(25, 10)
    paginator = AsyncPaginator(pages.fetch, prefetch=prefetch)
    head = await _take(paginator, count)
    tail = [i.n async for i in _resumed(pages, paginator.resume_token, prefetch)]
    assert head + tail == list(range(25))


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("count", [0, 7, 10, 15, 24])
async def test_max_items_then_resume_gives_every_item_once(prefetch: bool, count: int) -> None:
    pages = Pages(25, 10)
    paginator = AsyncPaginator(pages.fetch, max_items=count, prefetch=prefetch)
    head = [i.n async for i in paginator]
    tail = [i.n async for i in _resumed(pages, paginator.resume_token, prefetch)]
    assert head + tail == list(range(25))


async def test_prefetch_does_not_change_the_token() -> None:
    tokens = []
    for prefetch in (False, True):
        paginator = AsyncPaginator(Pages(30, 10).fetch, prefetch=prefetch)
        await _take(paginator, 12)
        tokens.append(paginator.resume_token)
    assert tokens[0] == tokens[1]
    decoded = ResumeToken.decode(tokens[0] or "")
    assert (decoded.page, decoded.skip) == ("10", 2)


async def test_a_token_mid_page_refetches_that_page_and_skips_what_was_seen() -> None:
    pages = Pages(25, 10)
    paginator = AsyncPaginator(pages.fetch)
    await _take(paginator, 4)
    rest = _resumed(pages, paginator.resume_token)
    first = await rest
    assert [i.n for i in first.items] == list(range(4, 10))
    assert pages.calls == [None, None]
    ends = [[i.n for i in p.items] async for p in _resumed(pages, paginator.resume_token).pages()]
    assert ends == [list(range(4, 10)), list(range(10, 20)), list(range(20, 25))]


async def test_resuming_with_smaller_pages_skips_across_pages() -> None:
    paginator = AsyncPaginator(Pages(25, 10).fetch)
    head = await _take(paginator, 8)
    smaller = Pages(25, 3)  # the same list and cursors, three items a page
    rest = _resumed(smaller, paginator.resume_token)
    assert [i.n for i in (await rest).items] == [8]
    tail = [i.n async for i in _resumed(smaller, paginator.resume_token)]
    assert head + tail == list(range(25))


async def test_awaited_first_page_leaves_a_token_after_it() -> None:
    pages = Pages(25, 10)
    paginator = AsyncPaginator(pages.fetch, query={"sort": "name_asc"})
    assert paginator.resume_token is not None  # nothing seen: the start
    page = await paginator
    assert len(page.items) == 10
    token = paginator.resume_token
    assert token is not None and ResumeToken.decode(token).query == {"sort": "name_asc"}
    assert [i.n async for i in _resumed(pages, token)] == list(range(10, 25))
    whole = AsyncPaginator(Pages(5, 10).fetch)
    await whole
    assert whole.resume_token is None  # a one-page list is done


async def test_page_number_lists_resume_by_page_and_offset() -> None:
    """Templates turn page numbers into cursors: the token is page number + offset."""
    calls: list[str | None] = []

    async def fetch(cursor: str | None) -> Page[Item]:
        calls.append(cursor)
        number = int(cursor or 1)
        items = [Item(n) for n in range((number - 1) * 10, min(number * 10, 25))]
        return Page(items=items, next_cursor=str(number + 1), has_more=number < 3)

    paginator = AsyncPaginator(fetch, max_items=15)
    head = [i.n async for i in paginator]
    decoded = ResumeToken.decode(paginator.resume_token or "")
    assert (decoded.page, decoded.skip) == ("2", 5)
    calls.clear()
    tail = [i.n async for i in AsyncPaginator(fetch, cursor=decoded)]
    assert head + tail == list(range(25)) and calls == ["2", "3"]


def _raw(token: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(base64.urlsafe_b64decode(token + "=="))
    return result


async def test_token_format_stays_as_before_on_page_boundaries() -> None:
    old = base64.urlsafe_b64encode(b'{"c":"10","q":{"limit":10}}').decode().rstrip("=")
    decoded = ResumeToken.decode(old)  # a token from an earlier release
    assert (decoded.page, decoded.skip) == ("10", 0)
    assert decoded.encode() == old
    mid = ResumeToken("10", {}, skip=3)
    assert _raw(mid.encode()) == {"c": "10", "q": {}, "s": 3}
    assert ResumeToken.decode(mid.encode()) == mid
    assert ResumeToken.decode(ResumeToken(None, {}, 3).encode()) == ResumeToken(None, {}, 3)
    for bad in ({"c": "1", "q": {}, "s": -1}, {"c": "1", "q": {}, "s": True}, [1]):
        text = base64.urlsafe_b64encode(json.dumps(bad).encode()).decode()
        with pytest.raises(ValidationError, match="resume token"):
            ResumeToken.decode(text)


# -- over loopback against the emulator ------------------------------------------


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("stop", ["break", "max_items"])
@pytest.mark.parametrize("count", [30, 100, 150])
async def test_contacts_resume_after_a_stop_mid_page(
    emu: Emulator, client: MsgFlashClient, prefetch: bool, stop: str, count: int
) -> None:
    everything = emu.seed_contacts(250)[::-1]  # newest first
    if stop == "max_items":
        paginator = client.contacts.list(max_items=count, prefetch=prefetch)
        head = [c.id async for c in paginator]
    else:
        paginator = client.contacts.list(prefetch=prefetch)
        head = []
        async for contact in paginator:
            head.append(contact.id)
            if len(head) == count:
                break
    await paginator.aclose()
    tail = [c.id async for c in client.contacts.list(resume=paginator.resume_token)]
    assert head + tail == everything


async def test_contacts_awaited_first_page_resumes_at_item_101(
    emu: Emulator, client: MsgFlashClient
) -> None:
    everything = emu.seed_contacts(250)[::-1]
    paginator = client.contacts.list(sort="name_asc")
    page = await paginator
    assert len(page.items) == 100
    by_name = [c.id async for c in client.contacts.list(sort="name_asc")]
    rest = [c.id async for c in client.contacts.list(resume=paginator.resume_token)]
    assert [c.id for c in page.items] + rest == by_name and len(rest) == 150
    assert sorted(by_name) == sorted(everything)


async def test_contacts_mid_page_token_refuses_another_sort(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.seed_contacts(30)
    paginator = client.contacts.list(sort="name_asc", max_items=5)
    assert len([c async for c in paginator]) == 5
    with pytest.raises(ValidationError, match="sort") as info:
        client.contacts.list(resume=paginator.resume_token, sort="createdAt_desc")
    assert info.value.field == "sort"


# -- lists the server would never end ------------------------------------------------


class Endless:
    """A hostile list: pages of ``size`` items whose cursors come from ``cursor_of``."""

    def __init__(self, size: int, cursor_of: Callable[[int], str]) -> None:
        self.size = size
        self.cursor_of = cursor_of
        self.calls: list[str | None] = []

    async def fetch(self, cursor: str | None) -> Page[Item]:
        self.calls.append(cursor)
        number = len(self.calls)
        items = [Item(number * 100 + n) for n in range(self.size)]
        return Page(items=items, next_cursor=self.cursor_of(number), has_more=True)


@pytest.mark.parametrize("prefetch", [False, True])
async def test_a_repeated_cursor_raises_naming_the_endpoint(prefetch: bool) -> None:
    # A loop of three cursors: a, b, c, a, ...
    endless = Endless(2, lambda n: "abc"[n % 3])
    paginator = AsyncPaginator(endless.fetch, prefetch=prefetch, endpoint="GET /api/v1/x")
    got = []
    with anyio.fail_after(10), pytest.raises(PaginationError) as info:  # a bug loops for ever
        async for item in paginator:
            got.append(item.n)
    assert info.value.endpoint == "GET /api/v1/x" and info.value.cursor == "b"
    assert "GET /api/v1/x" in str(info.value) and "'b' again" in str(info.value)
    # Three pages handed out, and no fourth request for a page already seen.
    assert endless.calls == [None, "b", "c", "a"][: len(endless.calls)]
    assert len(endless.calls) == 4 and len(got) == 8
    with pytest.raises(PaginationError):
        async for _ in paginator.pages():
            pass


async def test_a_cursor_pointing_back_at_the_start_raises() -> None:
    endless = Endless(1, lambda n: "start")
    with anyio.fail_after(10), pytest.raises(PaginationError):
        async for _ in AsyncPaginator(endless.fetch, cursor="start"):
            pass
    assert endless.calls == ["start"]


@pytest.mark.parametrize("max_items", [None, 10])
async def test_a_run_of_empty_pages_promising_more_raises(max_items: int | None) -> None:
    endless = Endless(0, lambda n: f"c{n}")
    paginator = AsyncPaginator(endless.fetch, max_items=max_items, endpoint="GET /api/v1/y")
    with anyio.fail_after(10), pytest.raises(PaginationError) as info:
        async for _ in paginator:
            pass
    assert "6 empty pages in a row" in str(info.value) and info.value.cursor is None
    assert len(endless.calls) == DEFAULT_MAX_EMPTY_PAGES + 1


async def test_the_empty_page_allowance_is_configurable_and_resets_on_items() -> None:
    # Two empty pages, one item, two empty pages, ... then the end.
    async def fetch(cursor: str | None) -> Page[Item]:
        n = int(cursor or 0)
        last = n == 11
        return Page(
            items=[Item(n)] if n % 3 == 2 else [],
            next_cursor=None if last else str(n + 1),
            has_more=not last,
        )

    paginator = AsyncPaginator(fetch, max_empty_pages=2)
    assert [i.n async for i in paginator] == [2, 5, 8, 11]
    with pytest.raises(ValidationError, match="max_empty_pages"):
        AsyncPaginator(fetch, max_empty_pages=-1)
    strict = AsyncPaginator(fetch)
    strict.max_empty_pages = 1
    with pytest.raises(PaginationError, match="2 empty pages in a row"):
        async for _ in strict:
            pass


async def test_max_items_bounds_the_requests_not_only_the_items() -> None:
    # One item every fifth page: each run of empty pages stays under the
    # allowance, so only the request budget of max_items stops it.
    async def fetch(cursor: str | None) -> Page[Item]:
        calls.append(cursor)
        n = int(cursor or 0)
        return Page(items=[Item(n)] if n % 5 == 4 else [], next_cursor=str(n + 1), has_more=True)

    calls: list[str | None] = []
    with anyio.fail_after(10), pytest.raises(PaginationError, match="without reaching max_items"):
        async for _ in AsyncPaginator(fetch, max_items=3):
            pass
    assert len(calls) == 3 + DEFAULT_MAX_EMPTY_PAGES + 1
    # A list that gives an item a page reaches max_items well within the budget.
    assert len([i async for i in AsyncPaginator(Pages(100, 1).fetch, max_items=20)]) == 20


async def test_an_emulator_list_that_never_ends_raises_naming_the_endpoint(
    msgflash_emulator: Emulator,
) -> None:
    contact = {"id": "c1", "name": "A", "phone": "+33612345678"}
    looping = {"data": {"contacts": [contact], "nextCursor": "same", "hasMore": True}}
    emu = msgflash_emulator
    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
        emu.faults.add(Fault.body(looping), method="GET", path="/api/v1/contacts", times=None)
        with anyio.fail_after(10), pytest.raises(PaginationError) as info:
            async for _ in client.contacts.list():
                pass
        assert info.value.endpoint == "GET /api/v1/contacts" and info.value.cursor == "same"
        assert len(emu.requests) == 2  # the first page, then "same" once: never a third
        emu.faults.clear()
        emu.clear_requests()
        endless = Fault.empty_page("contacts")
        emu.faults.add(endless, method="GET", path="/api/v1/contacts", times=None)
        with anyio.fail_after(10), pytest.raises(PaginationError, match="empty pages"):
            async for _ in client.contacts.list(max_items=5):
                pass
        assert len(emu.requests) == DEFAULT_MAX_EMPTY_PAGES + 1
