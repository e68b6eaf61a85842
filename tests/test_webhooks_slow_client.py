"""Webhook receivers under a client that sends its body a byte at a time.

Each receiver (aiohttp, ASGI under uvicorn, FastAPI under uvicorn) is served
over loopback and fed by a raw socket that sends valid headers, then the
body one byte every 50 ms: past ``body_timeout`` it answers 408 and never
calls the handler. The same client sending at full speed is handled (200),
so the 408 is the timeout's doing. The default is documented and finite.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import pytest
from aiohttp import web
from servers import serve_asgi

from msgflash_async.webhooks import (
    WebhookEvent,
    WebhookReceiver,
    aiohttp_webhook_handler,
    asgi_webhook_app,
    sign,
)
from msgflash_async.webhooks._receiver import DEFAULT_BODY_TIMEOUT

fastapi = pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + "s" * 32
BODY = json.dumps(
    {"event": "message.delivered", "messageId": "m1", "instanceId": "i1", "status": "delivered"}
).encode()
BODY_TIMEOUT = 0.3
DRIP = 0.05  # seconds per byte: the whole body would take ~4 s

Serve = Callable[[socket.socket, WebhookReceiver], AbstractAsyncContextManager[None]]


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
async def serve_bare_asgi(sock: socket.socket, receiver: WebhookReceiver) -> AsyncIterator[None]:
    async with serve_asgi(asgi_webhook_app(receiver), sock):
        yield


@asynccontextmanager
async def serve_fastapi(sock: socket.socket, receiver: WebhookReceiver) -> AsyncIterator[None]:
    from msgflash_async.webhooks.fastapi import webhook_router

    app = fastapi.FastAPI()
    app.include_router(webhook_router("/hooks", receiver))
    async with serve_asgi(app, sock):
        yield


SERVERS: dict[str, Serve] = {
    "aiohttp": serve_aiohttp,
    "asgi": serve_bare_asgi,
    "fastapi": serve_fastapi,
}


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


async def post(port: int, *, drip: float | None) -> str:
    """POST the signed body, all at once or a byte per ``drip`` s; the status line."""
    head = (
        f"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\nX-MsgFlash-Signature: {sign(BODY, SECRET)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(head if drip is None else head + BODY[:1])
        answer = bytearray()
        async with anyio.create_task_group() as tg:

            async def drip_body() -> None:
                if drip is None:
                    await stream.send(BODY)
                    return
                for i in range(1, len(BODY)):
                    await anyio.sleep(drip)
                    await stream.send(BODY[i : i + 1])

            tg.start_soon(drip_body)
            with anyio.fail_after(10):
                while b"\r\n" not in answer:
                    answer += await stream.receive()
            tg.cancel_scope.cancel()  # the answer is in: stop sending
    return answer.split(b"\r\n", 1)[0].decode()


class Recorder:
    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)


@pytest.mark.parametrize("server", list(SERVERS))
async def test_a_body_that_drips_in_is_408_and_never_reaches_the_handler(server: str) -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, body_timeout=BODY_TIMEOUT)
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        async with SERVERS[server](sock, receiver):
            assert (await post(port, drip=DRIP)).startswith("HTTP/1.1 408")
            assert recorder.events == []
            # The same delivery sent at once is handled: the timeout made the 408.
            assert (await post(port, drip=None)).startswith("HTTP/1.1 200")
    assert [event.event for event in recorder.events] == ["message.delivered"]


async def test_the_body_timeout_is_bounded_by_default_and_can_be_lifted() -> None:
    assert 0 < DEFAULT_BODY_TIMEOUT <= 60
    assert f"body_timeout={DEFAULT_BODY_TIMEOUT}" in repr(WebhookReceiver(SECRET, None))
    assert "body_timeout=None" in repr(WebhookReceiver(SECRET, None, body_timeout=None))
    with pytest.raises(ValueError, match="body_timeout"):
        WebhookReceiver(SECRET, None, body_timeout=0)
