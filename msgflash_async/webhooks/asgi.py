"""Receive webhooks in any ASGI application (Starlette, Litestar, Quart, a bare server).

No framework is imported: the receiver is an ASGI app of its own. Mount it
where the framework takes ASGI apps, or serve it alone::

    receiver = asgi_webhook_app(WebhookReceiver(secret, on_event))
    routes = [Route("/webhooks/msgflash", receiver, methods=["POST"])]  # Starlette
    app.add_route("/webhooks/msgflash", receiver, methods=["POST"])     # FastAPI
    # uvicorn module:receiver  (any path, POST only)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any, TypeAlias

from .._repr import tolerant_repr
from ._receiver import WebhookReceiver, require_receiver

__all__ = ["WebhookASGIApp", "asgi_webhook_app"]

Message: TypeAlias = MutableMapping[str, Any]
Scope: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]


class _Disconnected(Exception):
    """The sender went away before its body was complete."""


async def _body_chunks(receive: Receive) -> AsyncGenerator[bytes, None]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, text: str, *extra: tuple[bytes, bytes]) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WebhookASGIApp:
    """An ASGI app answering webhook deliveries POSTed to it, on any path.

    A class rather than a function, so Starlette's ``Route`` serves it as an
    app and does not wrap it as a request handler.
    """

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.receiver!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # served alone: nothing to start or stop
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            raise RuntimeError(f"webhook receiver cannot serve {scope['type']!r} connections")
        if scope["method"] != "POST":
            await _answer(send, 405, "method not allowed", (b"allow", b"POST"))
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            async with aclosing(_body_chunks(receive)) as chunks:
                result = await self.receiver.handle_stream(chunks, headers)
        except _Disconnected:
            return  # nobody to answer; the sender will deliver again
        await _answer(send, result.status, result.reason)


def asgi_webhook_app(receiver: WebhookReceiver) -> WebhookASGIApp:
    """An ASGI app answering for ``receiver`` (POST on any path)."""
    return WebhookASGIApp(require_receiver(receiver, "asgi_webhook_app"))
