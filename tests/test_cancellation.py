"""Cancellation safety, in the manner of httpcore's tests/test_cancellations.py.

A slow emulator answer is cut short by ``anyio.move_on_after(t)`` for a
spread of ``t``, so the cancellation lands at different points: before the
first await, in the FIFO gate, in the rate limiter, in the middle of a
request, between pages, in a job's poll sleep. After each cut the same
consistency checks run: the cancellation reached the scope (never swallowed,
never turned into another error) and the call did not complete; no task of
ours is left; no connection is checked out; the gate is full; no limiter slot
is held; and the client still works.

The emulator serves from its own thread and event loop, so every task in the
test's loop belongs to the client or to the test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._ratelimit import SlidingWindowLimiter
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

# Every server answer takes LATENCY; SPREAD runs from "before the first await"
# to well into that latency, with a margin for a slow machine.
LATENCY = 0.1
SPREAD = [0.0, 0.0005, 0.002, 0.005, 0.01, 0.02, 0.03]
PAGE_LATENCY = 0.04


@contextmanager
def serving(**options: Any) -> Iterator[Emulator]:
    """An emulator running in a thread of its own, with its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()

    async def start() -> Emulator:
        emulator = Emulator(**{"rate_limit": None, **options})
        await emulator.start()
        return emulator

    emulator = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    try:
        yield emulator
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serving() as emulator:
        yield emulator


def make_client(emu: Emulator, **options: Any) -> MsgFlashClient:
    # A limiter far above what the tests send: it is on the path (and can be
    # cancelled inside) without ever making anyone wait.
    options.setdefault("rate_limit", SlidingWindowLimiter(rate=1000))
    return MsgFlashClient(emu.api_key, base_url=emu.base_url, **options)


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[MsgFlashClient]:
    async with make_client(emu) as client:
        await client.contacts.list(limit=1)  # open the pool outside the measured part
        yield client


def stray_tasks(baseline: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t not in baseline and not t.done()}


async def assert_consistent(
    client: MsgFlashClient, baseline: set[asyncio.Task[Any]], *, follow_up: bool = True
) -> None:
    """Nothing of the cancelled call is left, and the client still works."""
    assert not stray_tasks(baseline)
    session = client._session
    assert session._http is not None
    assert not session._http.connector._acquired  # type: ignore[union-attr]
    assert session._gate._value == client.config.pool_size
    limiter = client.rate_limiter
    if isinstance(limiter, SlidingWindowLimiter):
        assert not limiter._lock.locked()
    if follow_up:
        assert (await client.contacts.list(limit=1)).total is not None
        assert not session._http.connector._acquired  # type: ignore[union-attr]
        assert session._gate._value == client.config.pool_size


async def settle(baseline: set[asyncio.Task[Any]], max_ticks: int = 20) -> int:
    """Event-loop turns until no stray task is left (fails after ``max_ticks``)."""
    for tick in range(max_ticks):
        if not stray_tasks(baseline):
            return tick
        await asyncio.sleep(0)
    raise AssertionError(f"tasks still running: {stray_tasks(baseline)}")


# -- one request -------------------------------------------------------------


@pytest.mark.parametrize("t", SPREAD)
async def test_cancelled_get(client: MsgFlashClient, emu: Emulator, t: float) -> None:
    (contact_id,) = emu.seed_contacts(1)
    emu.faults.latency = LATENCY
    baseline = asyncio.all_tasks()
    result = None
    with anyio.move_on_after(t) as scope:
        result = await client.contacts.get(contact_id)
    assert scope.cancelled_caught and result is None
    emu.faults.latency = 0
    await assert_consistent(client, baseline)


@pytest.mark.parametrize("t", [0.0, 0.005, 0.02])
async def test_native_task_cancel_propagates_as_cancelled_error(
    client: MsgFlashClient, emu: Emulator, t: float
) -> None:
    emu.faults.latency = LATENCY
    baseline = asyncio.all_tasks()
    task = asyncio.ensure_future(client.contacts.create(name="Ada", phone="+33612345678"))
    await asyncio.sleep(t)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    emu.faults.latency = 0
    await assert_consistent(client, baseline | {task})


@pytest.mark.parametrize("t", [0.0, 0.002, 0.01, 0.03])
async def test_cancelled_while_waiting_for_the_gate(emu: Emulator, t: float) -> None:
    (contact_id,) = emu.seed_contacts(1)
    emu.faults.latency = LATENCY
    async with make_client(emu, pool_size=1) as client:
        baseline = asyncio.all_tasks()
        result = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.contacts.get, contact_id)  # holds the only slot
            await anyio.sleep(0.005)
            assert client._session._gate._value == 0
            with anyio.move_on_after(t) as scope:
                result = await client.contacts.get(contact_id)
        assert scope.cancelled_caught and result is None
        emu.faults.latency = 0
        await assert_consistent(client, baseline)


@pytest.mark.parametrize("t", [0.0, 0.01, 0.05])
async def test_cancelled_while_waiting_in_the_rate_limiter(emu: Emulator, t: float) -> None:
    limiter = SlidingWindowLimiter(rate=2, period=0.3)
    async with make_client(emu, rate_limit=limiter) as client:
        await client.contacts.list(limit=1)
        await client.contacts.list(limit=1)  # the window is full for ~0.3 s
        baseline = asyncio.all_tasks()
        result = None
        with anyio.move_on_after(t) as scope:
            result = await client.contacts.list(limit=1)
        assert scope.cancelled_caught and result is None
        assert len(limiter._sent) == 2  # the cancelled call took no slot
        await assert_consistent(client, baseline)


# -- pagination ----------------------------------------------------------------

PAGE_SPREAD = [0.0, 0.005, 0.02, 0.05, 0.07, 0.1, 0.13]


class Scan:
    """Streams contacts, doing a little work per item; records where it was cut."""

    def __init__(self, client: MsgFlashClient, *, prefetch: bool) -> None:
        self.paginator = client.contacts.list(limit=50, prefetch=prefetch)
        self.seen: list[str] = []
        self.cut_in_body = False

    async def run(self, *, managed: bool) -> None:
        if managed:
            async with self.paginator:
                await self._loop()
        else:
            await self._loop()

    async def _loop(self) -> None:
        async for contact in self.paginator:
            self.seen.append(contact.id)
            try:
                await anyio.sleep(0.0002)  # the consumer's own work, between items
            except anyio.get_cancelled_exc_class():
                self.cut_in_body = True
                raise


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("t", PAGE_SPREAD)
async def test_cancelled_paginator_with_async_with(
    client: MsgFlashClient, emu: Emulator, t: float, prefetch: bool
) -> None:
    """``async with paginator:`` stops the look-ahead before the scope even exits."""
    emu.seed_contacts(500)
    emu.faults.latency = PAGE_LATENCY
    baseline = asyncio.all_tasks()
    scan = Scan(client, prefetch=prefetch)
    with anyio.move_on_after(t) as scope:
        await scan.run(managed=True)
    assert scope.cancelled_caught and len(scan.seen) < 500
    emu.faults.latency = 0
    await assert_consistent(client, baseline)


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("t", PAGE_SPREAD)
async def test_cancelled_paginator_bare_loop(
    client: MsgFlashClient, emu: Emulator, t: float, prefetch: bool
) -> None:
    """A bare ``async for``: a cut inside the paginator cleans up at once; a cut in
    the loop body leaves the look-ahead to the iterator's finalizer, a few turns."""
    emu.seed_contacts(500)
    emu.faults.latency = PAGE_LATENCY
    baseline = asyncio.all_tasks()
    scan = Scan(client, prefetch=prefetch)
    with anyio.move_on_after(t) as scope:
        await scan.run(managed=False)
    assert scope.cancelled_caught and len(scan.seen) < 500
    ticks = await settle(baseline)
    if not (prefetch and scan.cut_in_body):
        assert ticks == 0
    emu.faults.latency = 0
    await assert_consistent(client, baseline)


@pytest.mark.parametrize("managed", [True, False])
async def test_consumer_error_cancels_the_prefetch_task(
    client: MsgFlashClient, emu: Emulator, managed: bool
) -> None:
    emu.seed_contacts(300)
    emu.faults.latency = LATENCY
    baseline = asyncio.all_tasks()
    look_ahead: set[asyncio.Task[Any]] = set()
    paginator = client.contacts.list(limit=100, prefetch=True)

    async def consume() -> None:
        async for _ in paginator:
            look_ahead.update(stray_tasks(baseline))
            raise ValueError("the consumer failed")

    with pytest.raises(ValueError, match="consumer failed"):
        if managed:
            async with paginator:
                await consume()
        else:
            await consume()
    assert len(look_ahead) == 1  # the next page was being fetched
    (task,) = look_ahead
    if managed:
        assert task.cancelled()  # at once, when the `async with` exits
    else:
        await settle(baseline)  # by the iterator's finalizer
        assert task.cancelled()
    emu.faults.latency = 0
    await assert_consistent(client, baseline)


async def test_consumer_break_with_async_with_cancels_the_prefetch_task(
    client: MsgFlashClient, emu: Emulator
) -> None:
    emu.seed_contacts(300)
    emu.faults.latency = LATENCY
    baseline = asyncio.all_tasks()
    async with client.contacts.list(limit=100, prefetch=True) as paginator:
        async for _ in paginator:
            break
    assert not stray_tasks(baseline)
    emu.faults.latency = 0
    await assert_consistent(client, baseline)


# -- bulk jobs -------------------------------------------------------------------

JOB_SPREAD = [0.0, 0.002, 0.01, 0.03, 0.06, 0.1, 0.15]


@pytest.fixture
def slow_jobs() -> Iterator[Emulator]:
    # 150 ids at 500 ids/s: a job of ~0.3 s, queued, polled every 20 ms.
    with serving(job_rate=500.0, job_start_delay=0.02) as emulator:
        yield emulator


def _group_with_contacts(emu: Emulator, n: int = 150) -> tuple[str, list[str]]:
    ids = emu.seed_contacts(n)
    return emu.seed_group("cancel-me"), ids


@pytest.mark.parametrize("t", JOB_SPREAD)
async def test_cancelled_bulk_job_wait(slow_jobs: Emulator, t: float) -> None:
    group_id, ids = _group_with_contacts(slow_jobs)
    slow_jobs.faults.latency = 0.005
    async with make_client(slow_jobs) as client:
        await client.contacts.list(limit=1)
        baseline = asyncio.all_tasks()
        operation = client.groups.add_members(group_id, ids, poll_interval=0.02)
        result = None
        with anyio.move_on_after(t) as scope:
            result = await operation
        assert scope.cancelled_caught and result is None
        assert not operation._lock.locked() and not operation._handle._lock.locked()
        await assert_consistent(client, baseline)


@pytest.mark.parametrize("t", JOB_SPREAD)
async def test_cancelled_handle_wait_leaves_the_handle_usable(
    slow_jobs: Emulator, t: float
) -> None:
    group_id, ids = _group_with_contacts(slow_jobs)
    async with make_client(slow_jobs) as client:
        handle = await client.groups.add_members(group_id, ids, poll_interval=0.02).submit()
        assert handle.job_id is not None
        baseline = asyncio.all_tasks()
        slow_jobs.faults.latency = 0.005
        result = None
        with anyio.move_on_after(t) as scope:
            result = await handle.wait(timeout=5.0)
        assert scope.cancelled_caught and result is None
        assert not handle._lock.locked()
        await assert_consistent(client, baseline)
        # A timeout is the built-in TimeoutError, and the handle goes on.
        with pytest.raises(TimeoutError):
            await handle.wait(timeout=0.001)
        assert not handle._lock.locked()
        slow_jobs.faults.latency = 0
        final = await handle.wait(timeout=5.0)
        assert final.added == len(ids)
        await assert_consistent(client, baseline)
