"""The framework-free ASGI receiver: alone, routed by Starlette and FastAPI, under uvicorn."""

from __future__ import annotations

import json
import socket
from typing import Any

import aiohttp
import anyio
import pytest
from servers import serve_asgi

from msgflash_async.webhooks import (
    MessageDelivered,
    WebhookASGIApp,
    WebhookEvent,
    WebhookReceiver,
    asgi_webhook_app,
    sign,
)

httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.anyio

SECRET = "whsec_asgi_receiver_secret"
BODY = json.dumps(
    {"event": "message.delivered", "messageId": "msg_1", "to": "+22912345678"}
).encode()
SIGNED = {"Content-Type": "application/json", "X-MsgFlash-Signature": sign(BODY, SECRET)}


class Recorder:
    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)


def http(app: Any) -> Any:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_good_signature_is_200_and_handed_on_bad_is_401_and_not() -> None:
    recorder = Recorder()
    app = asgi_webhook_app(WebhookReceiver(SECRET, recorder))
    async with http(app) as client:
        tampered = await client.post("/", content=BODY.replace(b"msg_1", b"msg_2"), headers=SIGNED)
        assert (tampered.status_code, tampered.text) == (401, "invalid signature")
        unsigned = await client.post("/", content=BODY)
        assert unsigned.status_code == 401
        assert recorder.events == []
        good = await client.post("/any/path", content=BODY, headers=SIGNED)
        assert (good.status_code, good.text) == (200, "ok")
        assert good.headers["content-type"] == "text/plain; charset=utf-8"
        again = await client.post("/", content=BODY, headers=SIGNED)
        assert (again.status_code, again.text) == (200, "duplicate")
        wrong_method = await client.get("/")
        assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "POST")
    assert len(recorder.events) == 1
    assert isinstance(recorder.events[0], MessageDelivered)


async def test_a_ready_receiver_is_served_as_is() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, max_body=10)
    app = asgi_webhook_app(receiver)
    assert isinstance(app, WebhookASGIApp) and app.receiver is receiver
    async with http(app) as client:
        response = await client.post("/", content=BODY, headers=SIGNED)
    assert (response.status_code, response.text) == (413, "body too large")
    assert recorder.events == []


async def test_routed_by_starlette_and_fastapi() -> None:
    pytest.importorskip("fastapi")
    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.routing import Route

    for kind in ("starlette", "fastapi"):
        recorder = Recorder()
        hook = asgi_webhook_app(WebhookReceiver(SECRET, recorder))
        if kind == "starlette":
            app: Any = Starlette(routes=[Route("/webhooks/msgflash", hook, methods=["POST"])])
        else:
            app = FastAPI()
            app.add_route("/webhooks/msgflash", hook, methods=["POST"])
        async with http(app) as client:
            forged = {**SIGNED, "X-MsgFlash-Signature": sign(BODY, "whsec_other_secret")}
            bad = await client.post("/webhooks/msgflash", content=BODY, headers=forged)
            good = await client.post("/webhooks/msgflash", content=BODY, headers=SIGNED)
            elsewhere = await client.post("/other", content=BODY, headers=SIGNED)
        assert (bad.status_code, good.status_code, elsewhere.status_code) == (401, 200, 404), kind
        assert len(recorder.events) == 1, kind


def receive_from(messages: list[dict[str, Any]], taken: list[int]) -> Any:
    async def receive() -> dict[str, Any]:
        taken.append(1)
        return messages[len(taken) - 1]

    return receive


def post_scope(path: str = "/") -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in SIGNED.items()]
    return {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}


async def answer_of(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]) -> Any:
    taken: list[int] = []
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive_from(messages, taken), send)
    status = sent[0]["status"] if sent else None
    return status, len(taken)


@pytest.mark.parametrize("framework", ["asgi", "fastapi"])
async def test_reading_stops_past_max_body(framework: str) -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(SECRET, recorder, max_body=4096)
    if framework == "asgi":
        app: Any = asgi_webhook_app(receiver)
    else:
        pytest.importorskip("fastapi")
        from fastapi import FastAPI

        from msgflash_async.webhooks.fastapi import webhook_router

        app = FastAPI()
        app.include_router(webhook_router("/", receiver))
    chunk = {"type": "http.request", "body": b"x" * 1024, "more_body": True}
    endless = [chunk] * 100 + [{"type": "http.request", "body": b"", "more_body": False}]
    status, taken = await answer_of(app, post_scope(), endless)
    assert status == 413
    assert taken == 5  # 5 KiB read of the 100 KiB on offer
    declared = post_scope()
    declared["headers"].append((b"content-length", b"102400"))
    assert await answer_of(app, declared, endless) == (413, 0)  # nothing read at all
    assert recorder.events == []


async def test_a_sender_gone_mid_body_gets_no_answer_and_hands_nothing_on() -> None:
    recorder = Recorder()
    app = asgi_webhook_app(WebhookReceiver(SECRET, recorder))
    half = {"type": "http.request", "body": BODY[:10], "more_body": True}
    status, _ = await answer_of(app, post_scope(), [half, {"type": "http.disconnect"}])
    assert status is None and recorder.events == []


async def test_slow_handler_is_503() -> None:
    async def slow(event: WebhookEvent) -> None:
        await anyio.sleep_forever()

    app = asgi_webhook_app(WebhookReceiver(SECRET, slow, handler_timeout=0.05))
    async with http(app) as client:
        with anyio.fail_after(2):
            response = await client.post("/", content=BODY, headers=SIGNED)
    assert (response.status_code, response.text) == (503, "handler timed out")


async def test_served_alone_by_uvicorn_with_lifespan() -> None:
    recorder = Recorder()
    app = asgi_webhook_app(WebhookReceiver(SECRET, recorder))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        async with (
            serve_asgi(app, sock),
            aiohttp.ClientSession() as session,
            session.post(url, data=BODY, headers=SIGNED) as response,
        ):
            assert response.status == 200
    assert len(recorder.events) == 1


async def test_other_connection_types_are_refused() -> None:
    app = asgi_webhook_app(WebhookReceiver(SECRET, None))

    async def never(*_: Any) -> Any:
        raise AssertionError("not reached")

    with pytest.raises(RuntimeError, match="websocket"):
        await app({"type": "websocket"}, never, never)


def test_adapters_take_a_receiver_and_say_how_to_build_one() -> None:
    from msgflash_async.webhooks import aiohttp_webhook_handler

    for adapter in (asgi_webhook_app, aiohttp_webhook_handler):
        with pytest.raises(TypeError, match=r"WebhookReceiver\(secret, on_event, \.\.\.\)") as info:
            adapter(SECRET)  # type: ignore[arg-type]
        assert SECRET not in str(info.value)
    receiver = WebhookReceiver(SECRET, None)
    assert asgi_webhook_app(receiver).receiver is receiver
