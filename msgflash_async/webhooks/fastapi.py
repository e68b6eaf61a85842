"""Receive webhooks in a FastAPI (or any Starlette) application.

Needs the ``fastapi`` extra. ::

    app.include_router(webhook_router("/webhooks/msgflash", WebhookReceiver(secret, on_event)))
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

try:
    from fastapi import APIRouter, Request
    from fastapi.responses import PlainTextResponse, Response
except ImportError as error:  # pragma: no cover - exercised in a child process
    raise ImportError(
        "msgflash_async.webhooks.fastapi needs FastAPI: pip install 'msgflash-async[fastapi]'"
    ) from error

from ._receiver import WebhookReceiver, require_receiver

__all__ = ["webhook_router"]


def webhook_router(path: str, receiver: WebhookReceiver, **router_options: Any) -> APIRouter:
    """An ``APIRouter`` with one ``POST path`` route answering for ``receiver``.

    ``router_options`` go to ``APIRouter`` (``prefix``, ``tags``, ...). The
    body is read as a stream and reading stops past the receiver's ``max_body``.
    """
    receiver = require_receiver(receiver, "webhook_router")
    router = APIRouter(**router_options)

    @router.post(path, include_in_schema=False)
    async def receive_webhook(request: Request) -> Response:
        async with aclosing(request.stream()) as chunks:
            result = await receiver.handle_stream(chunks, request.headers)
        return PlainTextResponse(result.reason, status_code=result.status)

    return router
