"""Bot routing over loopback: filters, first match, fallback, nested routers, middlewares,
ordering per sender, failures answered for a retry, duplicates dropped before routing."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from bot_support import inbound, serve_bot

from msgflash_async import MsgFlashClient
from msgflash_async.bot import (
    BotEvent,
    Router,
    Throttle,
    command,
    from_instance,
    inject,
    inject_context,
    log_events,
    message_type,
    regex,
    sender,
    text,
    where,
)
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio


def recording_router(seen: list[tuple[str, Any]]) -> Router:
    router = Router("main")

    @router.message(text("hi", "hello", ignore_case=True))
    async def greet(event: BotEvent) -> None:
        seen.append(("greet", event.text))

    @router.message(command("start", "help"))
    async def start(event: BotEvent) -> None:
        seen.append(("command", (event.data["command"], event.args)))

    @router.message(regex(r"order\s+(\d+)"))
    async def order(event: BotEvent) -> None:
        assert event.match is not None
        seen.append(("order", event.match.group(1)))

    @router.message(sender("+10000000001") & ~from_instance("inst_2"))
    async def vip(event: BotEvent) -> None:
        seen.append(("vip", event.instance_id))

    @router.message(message_type("image") | where(lambda e: (e.text or "").endswith("!")))
    async def loud_or_image(event: BotEvent) -> None:
        seen.append(("image-or-loud", str(event.message_type)))

    orders = Router("statuses")

    @orders.delivered()
    async def delivered(event: BotEvent) -> None:
        seen.append(("delivered", event.message_id))

    @orders.status()
    async def any_status(event: BotEvent) -> None:
        seen.append(("status", event.kind))

    @orders.connected()
    async def connected(event: BotEvent) -> None:
        seen.append(("connected", event.instance_id))

    @orders.disconnected()
    async def disconnected(event: BotEvent) -> None:
        seen.append(("disconnected", event.instance_id))

    @orders.unknown()
    async def unknown(event: BotEvent) -> None:
        seen.append(("unknown", event.event.raw["event"]))

    router.include(orders)

    @router.fallback
    async def rest(event: BotEvent) -> None:
        seen.append(("fallback", event.text))

    return router


async def test_filters_choose_the_first_handler_that_takes_the_event(
    emu: Emulator, client: MsgFlashClient
) -> None:
    seen: list[tuple[str, Any]] = []
    async with serve_bot(emu, client, recording_router(seen)) as served:
        payloads = [
            inbound("+1555", " Hello "),
            inbound("+1555", "/start  now please"),
            inbound("+1555", "/Help@shop"),
            inbound("+1555", "where is order  42?"),
            inbound("+10000000001", "hi"),  # greet comes first: first match wins
            inbound("+10000000001", "anything"),
            inbound("+10000000001", "anything", instance="inst_2"),
            inbound("+1555", "", type="image", mediaUrl="https://x.test/a.png"),
            inbound("+1555", "wow!"),
            inbound("+1555", "/stop"),
            {"event": "message.delivered", "messageId": "m1", "to": "+1555"},
            {"event": "message.read", "messageId": "m1", "to": "+1555"},
            {"event": "instance.connected", "instanceId": "inst_9"},
            {"event": "instance.disconnected", "instanceId": "inst_9"},
            {"event": "contact.updated", "id": "c1"},
        ]
        for payload in payloads:
            assert await served.post(payload) == 200
    assert seen == [
        ("greet", " Hello "),
        ("command", ("start", "now please")),
        ("command", ("help", "")),
        ("order", "42"),
        ("greet", "hi"),
        ("vip", "inst_1"),
        ("fallback", "anything"),
        ("image-or-loud", "image"),
        ("image-or-loud", "text"),
        ("fallback", "/stop"),
        ("delivered", "m1"),
        ("status", "message.read"),
        ("connected", "inst_9"),
        ("disconnected", "inst_9"),
        ("unknown", "contact.updated"),
    ]


def test_router_refuses_cycles_and_non_filters() -> None:
    parent, child = Router("parent"), Router("child")
    parent.include(child)
    with pytest.raises(ValueError, match="cycle"):
        child.include(parent)
    with pytest.raises(TypeError, match="not a filter"):
        parent.message("hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        command()


async def test_middlewares_wrap_outermost_first_and_inject_values(
    emu: Emulator, client: MsgFlashClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    sessions: list[str] = []

    @asynccontextmanager
    async def session() -> AsyncIterator[str]:
        sessions.append("open")
        yield "db-session"
        sessions.append("closed")

    async def outer(handler: Any, event: BotEvent) -> object:
        calls.append("outer")
        return await handler(event)

    root, child = Router("root"), Router("child")
    root.middleware(outer)
    root.middleware(log_events())
    child.middleware(inject(client=client, greeting="hey"))
    child.middleware(inject_context("db", session))

    @child.message()
    async def handle(event: BotEvent) -> None:
        calls.append(f"{event.data['greeting']} {event.data['db']}")
        assert event.data["client"] is client

    root.include(child)
    with caplog.at_level(logging.INFO, logger="msgflash_async.bot"):
        async with serve_bot(emu, client, root) as served:
            assert await served.post(inbound("+1555", "secret text")) == 200
    assert calls == ["outer", "hey db-session"]
    assert sessions == ["open", "closed"]
    logged = [r.getMessage() for r in caplog.records if r.name == "msgflash_async.bot"]
    assert any("message.received on instance inst_1 handled in" in m for m in logged)
    assert not any("secret text" in m for m in logged)


async def test_throttle_drops_a_senders_events_over_budget(
    emu: Emulator, client: MsgFlashClient
) -> None:
    now = [0.0]
    handled: list[str] = []
    throttled: list[str] = []

    async def on_throttled(event: BotEvent) -> None:
        throttled.append(event.text or "")

    router = Router()
    router.middleware(Throttle(2, 60.0, on_throttled=on_throttled, clock=lambda: now[0]))

    @router.message()
    async def handle(event: BotEvent) -> None:
        handled.append(event.text or "")

    async with serve_bot(emu, client, router) as served:
        for n in range(4):
            await served.post(inbound("+1555", f"a{n}"))
        await served.post(inbound("+1666", "b0"))  # another sender has its own budget
        now[0] = 30.0  # half the window: one more token
        await served.post(inbound("+1555", "a4"))
    assert handled == ["a0", "a1", "b0", "a4"]
    assert throttled == ["a2", "a3"]


async def test_one_sender_in_arrival_order_one_at_a_time_senders_concurrently(
    emu: Emulator, client: MsgFlashClient
) -> None:
    arrived: dict[str, list[str]] = defaultdict(list)
    handled: dict[str, list[str]] = defaultdict(list)
    running: dict[str, int] = defaultdict(int)
    overlap: list[str] = []
    peak = [0, 0]  # now, max over all senders

    router = Router()

    @router.message()
    async def handle(event: BotEvent) -> None:
        assert event.sender is not None
        running[event.sender] += 1
        peak[0] += 1
        peak[1] = max(peak)
        if running[event.sender] > 1:
            overlap.append(event.sender)
        await anyio.sleep(0.005)
        handled[event.sender].append(event.text or "")
        running[event.sender] -= 1
        peak[0] -= 1

    async with serve_bot(emu, client, router, max_concurrency=4) as served:
        bot = served.bot

        async def arrival_order(event: Any) -> None:  # what the receiver hands, in order
            arrived[event.from_].append(event.body)
            await bot(event)

        served.receiver._handler = arrival_order
        async with anyio.create_task_group() as tg:
            for n in range(8):
                for who in range(6):
                    tg.start_soon(served.post, inbound(f"+1{who}", f"{who}-{n}"))
        assert bot.pending == 0 and bot.active_senders == 0
    assert sum(map(len, handled.values())) == 48
    assert handled == arrived
    assert overlap == []
    assert 1 < peak[1] <= 4


async def test_a_raising_handler_is_logged_with_the_event_and_its_retry_handled(
    emu: Emulator, client: MsgFlashClient, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[str] = []
    router = Router()

    @router.message()
    async def flaky(event: BotEvent) -> None:
        attempts.append(event.text or "")
        if len(attempts) == 1:
            raise RuntimeError("database is down")

    async with serve_bot(emu, client, router) as served:
        payload = inbound("+1555", "order 7")
        assert await served.post(payload) == 500
        assert await served.post(payload) == 200  # the redelivery is not a duplicate
        assert await served.post(payload) == 200  # this one is
    assert attempts == ["order 7", "order 7"]
    failures = [r for r in caplog.records if r.getMessage().startswith("bot handler failed")]
    assert len(failures) == 1
    assert payload["messageId"] in failures[0].getMessage()
    assert failures[0].exc_info is not None


async def test_duplicate_deliveries_are_dropped_before_routing(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.webhooks.settings.duplicates = 1.0  # every delivery is sent twice
    seen: list[str | None] = []
    router = Router()

    @router.message()
    async def handle(event: BotEvent) -> None:
        seen.append(event.text)

    async with serve_bot(emu, client, router, events=["message.received"]) as served:
        for n in range(3):
            emu.simulate_inbound("+1555", f"hello {n}")
        await emu.webhooks.wait_idle()
        assert served.bot.pending == 0
    deliveries = [d for d in emu.webhook_deliveries if d.event == "message.received"]
    assert len(deliveries) == 6 and all(d.status == 200 for d in deliveries)
    assert sorted(seen) == ["hello 0", "hello 1", "hello 2"]


async def test_an_inbound_image_from_the_emulator_reaches_the_type_filter(
    emu: Emulator, client: MsgFlashClient
) -> None:
    seen: list[tuple[str, str | None, str | None]] = []
    router = Router()

    @router.message(message_type("image", "document"))
    async def media(event: BotEvent) -> None:
        seen.append((str(event.message_type), event.media_url, event.text))

    @router.message()
    async def other(event: BotEvent) -> None:
        seen.append(("other", event.media_url, event.text))

    async with serve_bot(emu, client, router, events=["message.received"]):
        emu.simulate_inbound(
            "+22990000001", "my receipt", type="image", media_url="https://x.test/r.png"
        )
        await emu.webhooks.wait_idle()
        emu.simulate_inbound("+22990000001", "thanks")
        await emu.webhooks.wait_idle()
    assert seen == [
        ("image", "https://x.test/r.png", "my receipt"),
        ("other", None, "thanks"),
    ]
