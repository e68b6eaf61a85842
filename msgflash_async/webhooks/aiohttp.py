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
from ._receiver import EventSink, WebhookReceiver, _Default
from ._signature import SecretsLike
from ._tracker import StatusTracker

__all__ = ["aiohttp_webhook_handler"]


def aiohttp_webhook_handler(
    secrets: SecretsLike | WebhookReceiver,
    on_event: EventSink | None = None,
    *,
    dedupe: DedupeStore | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
    tracker: StatusTracker | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp request handler; see :class:`WebhookReceiver` for the arguments.

    A ready :class:`WebhookReceiver` may be passed instead of ``secrets``.
    """
    receiver = (
        secrets
        if isinstance(secrets, WebhookReceiver)
        else WebhookReceiver(secrets, on_event, dedupe=dedupe, tracker=tracker)
    )

    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        result = await receiver.handle(await request.read(), request.headers)
        return web.Response(status=result.status, text=result.reason)

    return handle_webhook
