"""Per-sender conversation state: in memory, and in a real Redis across a bot restart;
memory that stays flat with many distinct senders."""

from __future__ import annotations

from typing import Any

import pytest
from bot_support import serve_bot

from msgflash_async import MsgFlashClient
from msgflash_async.bot import (
    BotEvent,
    MemoryStateStorage,
    RedisStateStorage,
    Router,
    State,
    StateStorage,
    step,
)
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

A, B = "+22990000001", "+22990000002"


def signup_router(log: list[str]) -> Router:
    """Name, then city; each step saved, so any process can take the next message."""
    router = Router()

    @router.message(step(None))
    async def start(event: BotEvent) -> None:
        await event.state.set("name")
        log.append(f"{event.sender}: asked name")

    @router.message(step("name"))
    async def name(event: BotEvent) -> None:
        await event.state.set("city", name=event.text)
        log.append(f"{event.sender}: name {event.text}")

    @router.message(step("city"))
    async def city(event: BotEvent) -> None:
        state = await event.state.update(city=event.text)
        log.append(f"{event.sender}: {state.data['name']} from {state.data['city']}")
        await event.state.clear()

    return router


async def test_memory_state_moves_each_sender_through_the_steps(
    emu: Emulator, client: MsgFlashClient
) -> None:
    log: list[str] = []
    storage = MemoryStateStorage()
    async with serve_bot(emu, client, signup_router(log), storage=storage) as served:
        for who, text in [(A, "hi"), (B, "hi"), (A, "Awa"), (A, "Dakar"), (B, "Koffi")]:
            assert await served.post(served.inbound(who, text)) == 200
    assert log == [
        f"{A}: asked name",
        f"{B}: asked name",
        f"{A}: name Awa",
        f"{A}: Awa from Dakar",
        f"{B}: name Koffi",
    ]
    assert len(storage) == 1  # A's state cleared, B still on "city"
    assert await storage.load(f"{emu.instance_id}:{B}") == State("city", {"name": "Koffi"})


async def test_redis_state_continues_the_conversation_after_a_restart(
    emu: Emulator, client: MsgFlashClient, redis_client: Any
) -> None:
    log: list[str] = []
    first = RedisStateStorage(redis_client, ttl=60)
    assert isinstance(first, StateStorage)
    async with serve_bot(emu, client, signup_router(log), storage=first) as served:
        assert await served.post(served.inbound(A, "hi")) == 200
        assert await served.post(served.inbound(A, "Awa")) == 200
    # A new process: new bot, new storage object, same Redis.
    second = RedisStateStorage(redis_client, ttl=60)
    async with serve_bot(emu, client, signup_router(log), storage=second) as served:
        assert await served.post(served.inbound(A, "Dakar")) == 200
    assert log == [f"{A}: asked name", f"{A}: name Awa", f"{A}: Awa from Dakar"]
    assert await redis_client.keys("msgflash:bot:state:*") == []


async def test_redis_storage_from_url_expires_and_tolerates_garbage(
    redis_url: str, redis_client: Any
) -> None:
    storage = RedisStateStorage.from_url(redis_url, prefix="t:", ttl=30)
    try:
        assert "redis://" not in repr(storage)
        await storage.save("k", State("step", {"n": 1}))
        assert await storage.load("k") == State("step", {"n": 1})
        assert 0 < await redis_client.pttl("t:k") <= 30_000
        await redis_client.set("t:bad", b"\xff not json")
        assert await storage.load("bad") == State()
        await storage.delete("k")
        assert await storage.load("k") is None
    finally:
        await storage.aclose()
        await storage.aclose()  # idempotent


async def test_nothing_is_kept_for_senders_no_longer_served(
    emu: Emulator, client: MsgFlashClient
) -> None:
    handled: list[str] = []
    router = Router()

    @router.message()
    async def handle(event: BotEvent) -> None:
        handled.append(event.sender or "")

    async with serve_bot(emu, client, router) as served:
        for n in range(300):
            assert await served.post(served.inbound(f"+2299{n:07d}", "hi")) == 200
        assert served.bot.active_senders == 0 and served.bot.pending == 0
        assert len(served.bot.storage) == 0  # type: ignore[arg-type]
    assert len(set(handled)) == 300
