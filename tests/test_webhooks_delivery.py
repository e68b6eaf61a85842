"""Emulator webhook deliveries to real aiohttp and FastAPI receivers over loopback.

Each receiver binds its socket first, so the endpoint can be registered
through the SDK (which returns the signing secret) before the receiver app,
built with that secret, starts serving on the same socket.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import anyio
import attrs
import pytest
from aiohttp import web

from msgflash_async._client import MsgFlashClient
from msgflash_async.models.webhooks import WebhookEndpoint
from msgflash_async.resources.webhooks import Webhooks
from msgflash_async.testing import Emulator
from msgflash_async.webhooks import (
    MessageStatus,
    StatusTracker,
    WebhookEvent,
    WebhookReceiver,
    aiohttp_webhook_handler,
    sign,
    verify_signature,
)

uvicorn = pytest.importorskip("uvicorn")
fastapi = pytest.importorskip("fastapi")

pytestmark = pytest.mark.anyio

ALL_MESSAGE_EVENTS = ["message.sent", "message.delivered", "message.read", "message.failed"]

Serve = Callable[[socket.socket, WebhookReceiver], AbstractAsyncContextManager[None]]


# -- receivers -----------------------------------------------------------------


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@asynccontextmanager
async def serve_aiohttp(sock: socket.socket, receiver: WebhookReceiver) -> AsyncIterator[None]:
    app = web.Application()
    app.router.add_post("/hooks", aiohttp_webhook_handler(receiver))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_fastapi(sock: socket.socket, receiver: WebhookReceiver) -> AsyncIterator[None]:
    from msgflash_async.webhooks.fastapi import webhook_router

    app = fastapi.FastAPI()
    app.include_router(webhook_router("/hooks", receiver))
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            with anyio.fail_after(5):
                # uvicorn exposes only a flag, no event to wait on.
                while not server.started:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            yield
        finally:
            server.should_exit = True


@attrs.define
class Receiver:
    url: str
    endpoint: WebhookEndpoint
    events: list[WebhookEvent]
    tracker: StatusTracker
    receiver: WebhookReceiver


@pytest.fixture
def emu(emu: Emulator) -> Iterator[Emulator]:
    """The suite's emulator (and client), redelivering quickly and reproducibly."""
    settings = emu.webhooks.settings
    settings.retry_backoff = 0.01
    settings.max_attempts = 3
    settings.seed = 7
    yield emu
    assert emu.state.events.errors == []


def webhooks_of(client: MsgFlashClient) -> Webhooks:
    return client.webhooks


@pytest.fixture(params=["aiohttp", "fastapi"])
def serve(request: pytest.FixtureRequest) -> Serve:
    return serve_aiohttp if request.param == "aiohttp" else serve_fastapi


@asynccontextmanager
async def receiving(
    serve: Serve,
    client: MsgFlashClient,
    events: list[str] = ALL_MESSAGE_EVENTS,
    *,
    secret: str | None = None,
) -> AsyncIterator[Receiver]:
    """A receiver registered with the emulator; ``secret`` overrides the real one."""
    with bound_socket() as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        endpoint = await webhooks_of(client).create(url=url, events=events)
        assert endpoint.secret is not None
        seen: list[WebhookEvent] = []

        async def on_event(event: WebhookEvent) -> None:
            seen.append(event)

        tracker = StatusTracker()
        receiver = WebhookReceiver(secret or endpoint.secret, on_event, tracker=tracker)
        async with serve(sock, receiver):
            yield Receiver(url, endpoint, seen, tracker, receiver)


def publish(emu: Emulator, message_id: str, event: str, *, team: bool = False) -> dict[str, Any]:
    """What the message lifecycle publishes on a status change, sent straight to the bus."""
    payload = {
        "event": event,
        "instanceId": "inst_1",
        "messageId": message_id,
        "providerMessageId": f"BAE{message_id}",
        "to": "+22912345678",
        "status": event.removeprefix("message."),
    }
    emu.state.events.publish(emu.workspace(team=team), payload)
    return payload


def seen_pairs(events: list[WebhookEvent]) -> list[tuple[str | None, str]]:
    return [(getattr(e, "message_id", None), e.event.value) for e in events]


# -- the tests -----------------------------------------------------------------


async def test_signed_events_reach_the_receiver(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    async with receiving(serve, client) as hook:
        for event in ("message.sent", "message.delivered", "message.read"):
            publish(emu, "m1", event)
        await emu.webhooks.wait_idle()
    assert sorted(seen_pairs(hook.events)) == sorted(
        [("m1", "message.sent"), ("m1", "message.delivered"), ("m1", "message.read")]
    )
    assert hook.tracker.status_of("m1") is MessageStatus.READ
    deliveries = emu.webhook_deliveries
    assert [(d.url, d.status, d.attempt) for d in deliveries] == [(hook.url, 200, 1)] * 3


async def test_wire_format(emu: Emulator, client: MsgFlashClient) -> None:
    captured: list[tuple[bytes, dict[str, str]]] = []

    async def capture(request: web.Request) -> web.Response:
        captured.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    async with raw_receiver(capture) as url:
        endpoint = await webhooks_of(client).create(url=url, events=["message.delivered"])
        sent = publish(emu, "m1", "message.delivered")
        await emu.webhooks.wait_idle()
    assert endpoint.secret is not None
    ((body, headers),) = captured
    assert json.loads(body) == sent  # flat, no envelope
    assert headers["Content-Type"] == "application/json"
    assert headers["X-MsgFlash-Event"] == "message.delivered"
    assert headers["X-MsgFlash-Signature"] == sign(body, endpoint.secret)
    verify_signature(body, headers, endpoint.secret)
    assert emu.webhook_deliveries[0].succeeded  # any 2xx counts


async def test_only_subscribed_events_of_the_own_workspace_are_sent(
    emu: Emulator, client: MsgFlashClient
) -> None:
    async with receiving(serve_aiohttp, client, ["message.read"]) as hook:
        publish(emu, "m1", "message.sent")
        publish(emu, "m1", "message.read")
        publish(emu, "m2", "message.read", team=True)  # the team workspace has no endpoint
        await emu.webhooks.wait_idle()
        await webhooks_of(client).delete(hook.endpoint.id)
        publish(emu, "m3", "message.read")  # deleted: nothing more is sent
        await emu.webhooks.wait_idle()
    assert seen_pairs(hook.events) == [("m1", "message.read")]
    assert len(emu.webhook_deliveries) == 1


async def test_forged_deliveries_are_401_and_never_reach_user_code(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    async with receiving(serve, client) as hook, aiohttp.ClientSession() as forger:
        assert hook.endpoint.secret is not None
        body = json.dumps({"event": "message.read", "messageId": "m1"}).encode()
        good = sign(body, hook.endpoint.secret)
        forged = [
            (body.replace(b"read", b"failed"), {"X-MsgFlash-Signature": good}),  # tampered
            (body, {"X-MsgFlash-Signature": sign(body, "whsec_not_the_secret")}),  # wrong key
            (body, {}),  # no signature at all
        ]
        for data, headers in forged:
            async with forger.post(hook.url, data=data, headers=headers) as response:
                assert response.status == 401
        publish(emu, "m1", "message.sent")  # the genuine one gets through
        await emu.webhooks.wait_idle()
    assert seen_pairs(hook.events) == [("m1", "message.sent")]


async def test_wrong_secret_is_refused_and_retried(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    async with receiving(serve, client, secret="whsec_stale_secret_value") as hook:
        publish(emu, "m1", "message.sent")
        await emu.webhooks.wait_idle()
    assert hook.events == []
    assert [(d.status, d.attempt) for d in emu.webhook_deliveries] == [(401, 1), (401, 2), (401, 3)]


async def test_duplicates_are_handled_once(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    emu.webhooks.settings.duplicates = 1.0  # every delivery is sent twice
    async with receiving(serve, client) as hook:
        for message_id in ("m1", "m2"):
            for event in ("message.sent", "message.delivered"):
                publish(emu, message_id, event)
        await emu.webhooks.wait_idle()
    assert len(emu.webhook_deliveries) == 8
    assert sum(d.duplicate for d in emu.webhook_deliveries) == 4
    assert all(d.status == 200 for d in emu.webhook_deliveries)
    pairs = seen_pairs(hook.events)
    assert len(pairs) == len(set(pairs)) == 4


async def test_out_of_order_events_end_in_the_right_status(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    emu.webhooks.settings.jitter = 0.15  # each delivery waits 0..150 ms: they overtake
    emu.webhooks.settings.duplicates = 0.3
    ids = [f"m{i}" for i in range(10)]
    async with receiving(serve, client) as hook:
        for message_id in ids:
            for event in ("message.sent", "message.delivered", "message.read"):
                publish(emu, message_id, event)
        publish(emu, "bad", "message.sent")
        publish(emu, "bad", "message.failed")
        await emu.webhooks.wait_idle()
    arrived = [e for e in seen_pairs(hook.events) if e[0] != "bad"]
    published = [(m, e) for m in ids for e in ("message.sent", "message.delivered", "message.read")]
    assert sorted(arrived) == sorted(published)
    assert arrived != published  # the knob really reordered them
    assert all(hook.tracker.status_of(m) is MessageStatus.READ for m in ids)
    assert hook.tracker.status_of("bad") is MessageStatus.FAILED


async def test_retries_after_errors_then_gives_up(emu: Emulator, client: MsgFlashClient) -> None:
    answers = iter([500, 503, 200])

    async def flaky(_: web.Request) -> web.Response:
        return web.Response(status=next(answers))

    async with raw_receiver(flaky) as url:
        await webhooks_of(client).create(url=url, events=["message.sent"])
        publish(emu, "m1", "message.sent")
        await emu.webhooks.wait_idle()
    assert [(d.status, d.attempt) for d in emu.webhook_deliveries] == [(500, 1), (503, 2), (200, 3)]

    emu.webhook_deliveries.clear()
    with bound_socket() as sock:  # closed again at once: nothing listens there
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    await webhooks_of(client).create(url=dead, events=["message.read"])
    publish(emu, "m1", "message.read")
    await emu.webhooks.wait_idle()
    assert [d.attempt for d in emu.webhook_deliveries] == [1, 2, 3]
    assert all(d.status is None and d.error for d in emu.webhook_deliveries)


async def test_slow_handler_times_out_and_the_redelivery_is_handled_once(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    emu.webhooks.settings.timeout = 2.0  # the sender waits longer than the receiver's limit
    calls: list[WebhookEvent] = []
    finished: list[WebhookEvent] = []

    async def slow_the_first_time(event: WebhookEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            await anyio.sleep_forever()
        finished.append(event)

    with bound_socket() as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        endpoint = await webhooks_of(client).create(url=url, events=["message.sent"])
        assert endpoint.secret is not None
        receiver = WebhookReceiver(endpoint.secret, slow_the_first_time, handler_timeout=0.1)
        async with serve(sock, receiver):
            publish(emu, "m1", "message.sent")
            await emu.webhooks.wait_idle()
    assert [(d.status, d.attempt) for d in emu.webhook_deliveries] == [(503, 1), (200, 2)]
    assert len(calls) == 2
    assert seen_pairs(finished) == [("m1", "message.sent")]


async def test_stop_cancels_deliveries_in_flight(client: MsgFlashClient) -> None:
    release = anyio.Event()

    async def stuck(_: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    async with raw_receiver(stuck) as url:
        async with Emulator(rate_limit=None) as other:
            async with MsgFlashClient(
                other.api_key, base_url=other.base_url, rate_limit=None
            ) as other_client:
                await webhooks_of(other_client).create(url=url, events=["message.sent"])
            publish(other, "m1", "message.sent")
            await anyio.sleep(0.05)  # the POST is now waiting on the receiver
            with anyio.fail_after(3):
                await other.stop()
        release.set()


async def test_secret_never_in_logs_or_reprs(
    serve: Serve, emu: Emulator, client: MsgFlashClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with receiving(serve, client) as hook:
            publish(emu, "m1", "message.sent")
            await emu.webhooks.wait_idle()
        async with receiving(serve, client, secret="whsec_stale_secret_value"):
            publish(emu, "m2", "message.sent")  # refused with 401, retried, logged
            await emu.webhooks.wait_idle()
    assert hook.endpoint.secret is not None
    secret = hook.endpoint.secret.reveal()
    assert "rejected" in caplog.text  # the 401s were logged...
    assert secret not in caplog.text  # ...without the secret
    endpoints = emu.webhooks.endpoints(emu.workspace())
    reprs = [hook.endpoint, hook.receiver, emu.webhook_deliveries, endpoints]
    assert all(secret not in repr(value) for value in reprs)


async def test_messages_sent_through_the_sdk_end_in_the_right_status(
    serve: Serve, emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.message_step = 0.01  # queued -> sent -> delivered -> read in ~30 ms
    emu.settings.failing_numbers.add("+22990000009")
    settings = emu.webhooks.settings
    settings.duplicates, settings.jitter = 0.5, 0.05  # at least once, in any order
    numbers = [f"+2299000000{i}" for i in range(10)]
    async with receiving(serve, client) as hook:
        sent = [
            await client.messages.send_text(instance_id=emu.instance_id, to=n, text="hello")
            for n in numbers
        ]
        for message in sent:
            hook.tracker.record(message.id, message.status or "queued")
        with anyio.fail_after(5):
            finals = [await hook.tracker.wait_for(m.id, MessageStatus.READ) for m in sent]
        await emu.webhooks.wait_idle()
    assert finals == [MessageStatus.READ] * 9 + [MessageStatus.FAILED]
    pairs = seen_pairs(hook.events)
    assert len(pairs) == len(set(pairs))  # every (message, event) handed on once
    assert {m for m, _ in pairs} == {m.id for m in sent}
    assert any(d.duplicate for d in emu.webhook_deliveries)


async def test_instance_events_are_delivered(emu: Emulator, client: MsgFlashClient) -> None:
    events = ["instance.connected", "instance.disconnected"]
    async with receiving(serve_aiohttp, client, events) as hook:
        emu.set_instance_status(emu.instance_id, "disconnected")
        await emu.webhooks.wait_idle()  # deliveries are concurrent: wait to fix the order
        emu.set_instance_status(emu.instance_id, "connected")
        await emu.webhooks.wait_idle()
    assert [type(e).__name__ for e in hook.events] == ["InstanceDisconnected", "InstanceConnected"]
    assert all(getattr(e, "instance_id", None) == emu.instance_id for e in hook.events)


# -- helpers -------------------------------------------------------------------


@asynccontextmanager
async def raw_receiver(
    handler: Callable[[web.Request], Any],
) -> AsyncIterator[str]:
    """A plain aiohttp app on a free port (no verification): sees exactly what is sent."""
    app = web.Application()
    app.router.add_post("/hooks", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    finally:
        await runner.cleanup()
