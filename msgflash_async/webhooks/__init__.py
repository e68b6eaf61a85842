"""Webhooks from MsgFlash: verify signatures, parse events, receive deliveries.

The core is sans-I/O: :func:`verify_and_parse` checks the HMAC of the raw body
and returns a typed event; :class:`WebhookReceiver` adds de-duplication and
dispatch and says which status to answer. :func:`aiohttp_webhook_handler`
plugs it into aiohttp.web; :func:`asgi_webhook_app` makes it an ASGI app for
Starlette, Litestar or any ASGI server;
``msgflash_async.webhooks.fastapi.webhook_router`` plugs it into FastAPI (an
optional extra, so it is not imported here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models.webhooks import (
    InstanceConnected,
    InstanceDisconnected,
    InstanceEvent,
    InstanceStatus,
    MessageDelivered,
    MessageEvent,
    MessageFailed,
    MessageRead,
    MessageReceived,
    MessageSent,
    MessageStatus,
    UnknownEvent,
    WebhookEvent,
    WebhookEventType,
)
from ._dedupe import DedupeStore, MemoryDedupeStore, dedupe_key
from ._errors import (
    InvalidSignatureError,
    MalformedSignatureError,
    MissingSignatureError,
    WebhookPayloadError,
)
from ._parse import event_from_dict, parse_event, verify_and_parse
from ._receiver import EventHandler, EventSink, WebhookReceiver, WebhookResponse
from ._signature import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    SecretsLike,
    sign,
    verify_signature,
)
from ._tracker import (
    AsyncStatusTracker,
    StatusTracker,
    event_status,
    status_advances,
    status_reached,
)
from .asgi import WebhookASGIApp, asgi_webhook_app

if TYPE_CHECKING:
    from .aiohttp import aiohttp_webhook_handler

__all__ = [
    "AsyncStatusTracker",
    "DedupeStore",
    "EVENT_HEADER",
    "EventHandler",
    "EventSink",
    "InstanceConnected",
    "InstanceDisconnected",
    "InstanceEvent",
    "InstanceStatus",
    "InvalidSignatureError",
    "MalformedSignatureError",
    "MemoryDedupeStore",
    "MessageDelivered",
    "MessageEvent",
    "MessageFailed",
    "MessageRead",
    "MessageReceived",
    "MessageSent",
    "MessageStatus",
    "MissingSignatureError",
    "SIGNATURE_HEADER",
    "SecretsLike",
    "StatusTracker",
    "UnknownEvent",
    "WebhookASGIApp",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookResponse",
    "aiohttp_webhook_handler",
    "asgi_webhook_app",
    "dedupe_key",
    "event_from_dict",
    "event_status",
    "parse_event",
    "sign",
    "status_advances",
    "status_reached",
    "verify_and_parse",
    "verify_signature",
]


def __getattr__(name: str) -> Any:
    # The aiohttp adapter imports aiohttp.web (tens of milliseconds): only on use.
    if name == "aiohttp_webhook_handler":
        from .aiohttp import aiohttp_webhook_handler

        globals()[name] = aiohttp_webhook_handler
        return aiohttp_webhook_handler
    raise AttributeError(f"module 'msgflash_async.webhooks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"aiohttp_webhook_handler"})
