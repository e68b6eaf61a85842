"""The aiohttp and FastAPI receivers over real loopback HTTP."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from msgflash_async._secret import Secret
from msgflash_async.webhooks import (
    MessageDelivered,
    MessageStatus,
    StatusTracker,
    WebhookEvent,
    WebhookReceiver,
    aiohttp_webhook_handler,
    sign,
)

uvicorn = pytest.importorskip("uvicorn")
fastapi = pytest.importorskip("fastapi")

SECRET = "whsec_receiver_secret_do_not_leak"
PAYLOAD = {
    "event": "message.delivered",
    "instanceId": "inst_1",
    "messageId": "msg_1",
    "providerMessageId": "BAE5",
    "to": "+22912345678",
    "status": "delivered",
}

Serve = Callable[..., AbstractAsyncContextManager[str]]


@asynccontextmanager
async def serve_aiohttp(secrets: Any, on_event: Any, **options: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post(
        "/hooks", aiohttp_webhook_handler(WebhookReceiver(secrets, on_event, **options))
    )
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/hooks"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_fastapi(secrets: Any, on_event: Any, **options: Any) -> AsyncIterator[str]:
    from msgflash_async.webhooks.fastapi import webhook_router

    app = fastapi.FastAPI()
    app.include_router(webhook_router("/hooks", WebhookReceiver(secrets, on_event, **options)))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        try:
            with anyio.fail_after(5):
                # uvicorn exposes only a flag, no event to wait on.
                while not server.started:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}/hooks"
        finally:
            server.should_exit = True


@pytest.fixture(params=["aiohttp", "fastapi"])
def serve(request: pytest.FixtureRequest) -> Serve:
    return serve_aiohttp if request.param == "aiohttp" else serve_fastapi


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[WebhookEvent] = []
        self.fail = fail

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("handler broke")


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, signature: str | None
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", "X-MsgFlash-Event": "message.delivered"}
    if signature is not None:
        headers["X-MsgFlash-Signature"] = signature
    async with session.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


BODY = json.dumps(PAYLOAD).encode()


@pytest.mark.anyio
async def test_signed_delivery_is_handled_once(serve: Serve) -> None:
    recorder = Recorder()
    async with serve(SECRET, recorder) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, BODY, sign(BODY, SECRET)))[0] == 200
        # A redelivery of the same event is acknowledged, not handed on.
        assert await post(session, url, BODY, sign(BODY, SECRET)) == (200, "duplicate")
    assert len(recorder.events) == 1
    event = recorder.events[0]
    assert isinstance(event, MessageDelivered)
    assert event.message_id == "msg_1"
    assert event.raw == PAYLOAD


@pytest.mark.anyio
async def test_bad_signatures_are_401_and_never_reach_user_code(serve: Serve) -> None:
    recorder = Recorder()
    tampered = BODY.replace(b"delivered", b"read")
    async with serve([SECRET, "old-secret"], recorder) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, tampered, sign(BODY, SECRET)))[0] == 401
        assert (await post(session, url, BODY, sign(BODY, "wrong")))[0] == 401
        assert (await post(session, url, BODY, None))[0] == 401
        assert (await post(session, url, BODY, "sha256=nothex"))[0] == 401
        assert (await post(session, url, BODY, sign(BODY, "old-secret")))[0] == 200
    assert len(recorder.events) == 1


@pytest.mark.anyio
async def test_signed_garbage_is_400(serve: Serve) -> None:
    recorder = Recorder()
    async with serve(SECRET, recorder) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, b"not json", sign(b"not json", SECRET)))[0] == 400
    assert recorder.events == []


@pytest.mark.anyio
async def test_failing_handler_is_500_logged_and_retried(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(fail=True)
    with caplog.at_level(logging.DEBUG):
        async with serve(SECRET, recorder) as url, aiohttp.ClientSession() as session:
            assert (await post(session, url, BODY, sign(BODY, SECRET)))[0] == 500
            recorder.fail = False
            # Not marked as seen: the sender's retry is processed.
            assert (await post(session, url, BODY, sign(BODY, SECRET)))[0] == 200
    assert len(recorder.events) == 2
    failures = [r for r in caplog.records if r.name == "msgflash_async.webhooks" and r.exc_info]
    assert len(failures) == 1
    assert "handler broke" in caplog.text


@pytest.mark.anyio
async def test_slow_handler_is_503_and_the_redelivery_is_handled_once(serve: Serve) -> None:
    calls: list[WebhookEvent] = []
    finished: list[WebhookEvent] = []

    async def slow_the_first_time(event: WebhookEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            await anyio.sleep_forever()  # outlasts handler_timeout: cancelled
        finished.append(event)

    async with (
        serve(SECRET, slow_the_first_time, handler_timeout=0.1) as url,
        aiohttp.ClientSession() as session,
    ):
        signature = sign(BODY, SECRET)
        with anyio.fail_after(5):
            assert await post(session, url, BODY, signature) == (503, "handler timed out")
            # The sender's retry is processed, once; a further copy is a duplicate.
            assert await post(session, url, BODY, signature) == (200, "ok")
            assert await post(session, url, BODY, signature) == (200, "duplicate")
    assert len(calls) == 2 and len(finished) == 1


def padded(size: int) -> bytes:
    """A valid event body of exactly ``size`` bytes."""
    base = len(json.dumps({**PAYLOAD, "pad": ""}).encode())
    return json.dumps({**PAYLOAD, "pad": "x" * (size - base)}).encode()


@pytest.mark.anyio
async def test_oversized_bodies_are_413_and_never_reach_user_code(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msgflash_async.webhooks import _receiver

    parsed: list[int] = []
    original = _receiver.verified_event

    def spy(body: bytes, *args: Any) -> WebhookEvent:
        parsed.append(len(body))
        return original(body, *args)

    monkeypatch.setattr(_receiver, "verified_event", spy)
    recorder = Recorder()
    limit = 1024 * 1024  # the default
    at_limit, over = padded(limit), padded(limit + 1)

    async def in_chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(over), 64 * 1024):
            yield over[start : start + 64 * 1024]

    async def send(session: aiohttp.ClientSession, url: str, body: bytes, data: Any) -> int:
        headers = {"X-MsgFlash-Signature": sign(body, SECRET)}
        async with session.post(url, data=data, headers=headers) as response:
            declared = response.request_info.headers.get("Content-Length")
            assert declared == (None if data is chunked else str(len(body)))
            return response.status

    chunked = in_chunks()
    async with serve(SECRET, recorder) as url, aiohttp.ClientSession() as session:
        assert await send(session, url, over, io.BytesIO(over)) == 413
        assert await send(session, url, over, chunked) == 413
        assert await send(session, url, at_limit, io.BytesIO(at_limit)) == 200
    assert parsed == [limit]  # only the body within the limit was ever parsed
    assert len(recorder.events) == 1


@pytest.mark.anyio
async def test_secret_never_appears_in_logs(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(fail=True)
    expected = sign(BODY, SECRET)
    with caplog.at_level(logging.DEBUG):
        async with serve(Secret(SECRET), recorder) as url, aiohttp.ClientSession() as session:
            await post(session, url, BODY, expected)  # 500, logged with traceback
            await post(session, url, BODY + b" ", expected)  # tampered, 401
            await post(session, url, BODY, sign(BODY, "other"))  # wrong secret, 401
    assert "webhook" in caplog.text
    assert SECRET not in caplog.text
    assert expected.removeprefix("sha256=") not in caplog.text


@pytest.mark.anyio
async def test_follow_a_message_to_read(serve: Serve) -> None:
    tracker = StatusTracker()
    tracker.record("msg_1", "queued")  # as the send reply would say
    send, receive = anyio.create_memory_object_stream[WebhookEvent](10)
    order = ["message.read", "message.sent", "message.delivered", "message.read"]
    async with send, receive, serve(SECRET, send, tracker=tracker) as url:
        async with aiohttp.ClientSession() as session:
            for name in order:
                body = json.dumps({**PAYLOAD, "event": name}).encode()
                assert (await post(session, url, body, sign(body, SECRET)))[0] == 200
        assert await tracker.wait_for("msg_1", MessageStatus.READ, timeout=5) is MessageStatus.READ
        received = [receive.receive_nowait().event for _ in range(3)]
    assert received == order[:3]  # the second "read" was a duplicate
