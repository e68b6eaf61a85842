"""Receive webhooks in a FastAPI (or any Starlette) application.

Needs the ``fastapi`` extra. ::

    app.include_router(webhook_router("/webhooks/msgflash", secret, on_event))
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, Literal

try:
    from fastapi import APIRouter, Request
    from fastapi.responses import PlainTextResponse, Response
except ImportError as error:  # pragma: no cover - exercised in a child process
    raise ImportError(
        "msgflash_async.webhooks.fastapi needs FastAPI: pip install 'msgflash-async[fastapi]'"
    ) from error

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

__all__ = ["webhook_router"]


def webhook_router(
    path: str,
    secrets: SecretsLike | WebhookReceiver,
    on_event: EventSink | None = None,
    *,
    dedupe: DedupeStore | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
    tracker: StatusTracker | AsyncStatusTracker | None = None,
    handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
    max_body: int | None = DEFAULT_MAX_BODY,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    **router_options: Any,
) -> APIRouter:
    """An ``APIRouter`` with one ``POST path`` route; see :class:`WebhookReceiver`.

    A ready :class:`WebhookReceiver` may be passed instead of ``secrets``;
    ``router_options`` go to ``APIRouter`` (``prefix``, ``tags``, ...). The
    body is read as a stream and reading stops past ``max_body``.
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
    router = APIRouter(**router_options)

    @router.post(path, include_in_schema=False)
    async def receive_webhook(request: Request) -> Response:
        async with aclosing(request.stream()) as chunks:
            result = await receiver.handle_stream(chunks, request.headers)
        return PlainTextResponse(result.reason, status_code=result.status)

    return router
