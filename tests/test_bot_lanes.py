"""The bot's gates without sockets: lanes per sender and slots, contended and cancelled."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from msgflash_async.bot._lanes import Lanes, Segment, Slots

pytestmark = pytest.mark.anyio


async def test_lanes_serve_in_arrival_order_and_forget_idle_keys() -> None:
    lanes, order = Lanes(), []

    async def hold(key: str, n: int) -> None:
        await lanes.acquire(key)
        try:
            order.append((key, n))
            await anyio.sleep(0.001)
        finally:
            lanes.release(key)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            for key in ("a", "b"):
                tg.start_soon(hold, key, n)
                await anyio.lowlevel.checkpoint()  # arrival order = start order
    assert [n for key, n in order if key == "a"] == list(range(5))
    assert [n for key, n in order if key == "b"] == list(range(5))
    assert len(lanes) == 0


async def test_a_cancelled_waiter_leaves_no_trace_and_passes_the_turn_on() -> None:
    lanes, slots, got = Lanes(), Slots(1), []
    await lanes.acquire("a")
    await slots.acquire()

    async def wait_lane() -> None:
        await lanes.acquire("a")
        got.append("lane")
        lanes.release("a")

    async def wait_slot() -> None:
        await slots.acquire()
        got.append("slot")
        slots.release()

    async with anyio.create_task_group() as tg:
        with anyio.move_on_after(0.01):  # these two give up while waiting
            await lanes.acquire("a")
        with anyio.move_on_after(0.01):
            await slots.acquire()
        tg.start_soon(wait_lane)
        tg.start_soon(wait_slot)
        await anyio.sleep(0.01)
        assert got == []
        lanes.release("a")
        slots.release()
    assert sorted(got) == ["lane", "slot"]
    assert len(lanes) == 0 and slots.in_use == 0


async def test_a_segment_ends_once_and_runs_its_release_once() -> None:
    released: list[int] = []
    segment = Segment(lambda: released.append(1))
    segment.end(RuntimeError("first"))
    segment.end(None)
    assert segment.ended.is_set() and released == [1]
    assert isinstance(segment.error, RuntimeError)
