"""Receive webhooks in an aiohttp.web application.

::

    handler = aiohttp_webhook_handler(WebhookReceiver(secret, on_event))
    app.router.add_post("/webhooks/msgflash", handler)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ._receiver import WebhookReceiver, require_receiver

__all__ = ["aiohttp_webhook_handler"]

_CHUNK = 64 * 1024


def aiohttp_webhook_handler(
    receiver: WebhookReceiver,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp request handler answering for ``receiver``.

    The body is streamed, so the receiver's ``max_body`` applies, not the
    application's ``client_max_size``.
    """
    receiver = require_receiver(receiver, "aiohttp_webhook_handler")

    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        chunks = request.content.iter_chunked(_CHUNK)
        result = await receiver.handle_stream(chunks, request.headers)
        return web.Response(status=result.status, text=result.reason)

    return handle_webhook
