"""Receive webhooks in an aiohttp.web application.

::

    handler = aiohttp_webhook_handler(secret, on_event)
    app.router.add_post("/webhooks/msgflash", handler)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web

from ._dedupe import DedupeStore
from ._receiver import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HANDLER_TIMEOUT,
    DEFAULT_MAX_BODY,
    EventSink,
    WebhookReceiver,
    _Default,
    masked_secrets,
    receiver_for,
)
from ._signature import SecretsLike
from ._tracker import AsyncStatusTracker, StatusTracker

__all__ = ["aiohttp_webhook_handler"]

_CHUNK = 64 * 1024


def aiohttp_webhook_handler(
    secrets: SecretsLike | WebhookReceiver,
    on_event: EventSink | None = None,
    *,
    dedupe: DedupeStore | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
    tracker: StatusTracker | AsyncStatusTracker | None = None,
    handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
    max_body: int | None = DEFAULT_MAX_BODY,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp request handler; see :class:`WebhookReceiver` for the arguments.

    A ready :class:`WebhookReceiver` may be passed instead of ``secrets``.
    The body is streamed, so the receiver's ``max_body`` applies, not the
    application's ``client_max_size``.
    """
    secrets = masked_secrets(secrets)  # a refused option shows this frame
    receiver = receiver_for(
        secrets,
        on_event,
        dedupe=dedupe,
        tracker=tracker,
        handler_timeout=handler_timeout,
        max_body=max_body,
        body_timeout=body_timeout,
    )

    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        chunks = request.content.iter_chunked(_CHUNK)
        result = await receiver.handle_stream(chunks, request.headers)
        return web.Response(status=result.status, text=result.reason)

    return handle_webhook
