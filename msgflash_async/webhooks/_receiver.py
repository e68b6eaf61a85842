"""The framework-free core of every webhook receiver.

``WebhookReceiver.handle(body, headers)`` runs verify -> parse -> de-duplicate
-> dispatch and says which HTTP status to answer; the aiohttp and FastAPI
adapters only read the request and write that answer.

=====================================  ======  ==============================
outcome                                status  user code
=====================================  ======  ==============================
bad, missing or malformed signature    401     not called
signed, but not a valid event          400     not called
duplicate of an event already handled  200     not called
handled                                200     called once
user code raised                       500     called; the retry is handled
=====================================  ======  ==============================
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Literal, TypeAlias

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from attrs import frozen

from .._exceptions import WebhookVerificationError
from ..models.webhooks import WebhookEvent
from ._dedupe import DedupeStore, MemoryDedupeStore, dedupe_key
from ._errors import WebhookPayloadError
from ._parse import verify_and_parse
from ._signature import SecretsLike, normalize_secrets
from ._tracker import StatusTracker

__all__ = ["EventHandler", "EventSink", "WebhookReceiver", "WebhookResponse"]

logger: Final = logging.getLogger("msgflash_async.webhooks")

EventHandler: TypeAlias = Callable[[WebhookEvent], Awaitable[object]]
EventSink: TypeAlias = (
    EventHandler | MemoryObjectSendStream[WebhookEvent] | asyncio.Queue[WebhookEvent]
)


class _Default(enum.Enum):
    DEFAULT = enum.auto()


@frozen
class WebhookResponse:
    """What to answer the sender: an HTTP status, a short text, and the event if any."""

    status: int
    reason: str
    event: WebhookEvent | None = None
    duplicate: bool = False


def _as_handler(sink: EventSink | None) -> EventHandler | None:
    # Streams and queues are fed without waiting: a full buffer fails the
    # delivery (500, retried later) rather than holding the sender's request.
    if isinstance(sink, MemoryObjectSendStream):
        stream = sink

        async def send_to_stream(event: WebhookEvent) -> None:
            stream.send_nowait(event)

        return send_to_stream
    if isinstance(sink, asyncio.Queue):
        queue = sink

        async def put_in_queue(event: WebhookEvent) -> None:
            queue.put_nowait(event)

        return put_in_queue
    return sink


class WebhookReceiver:
    """Turns raw deliveries into events handed once to ``on_event``.

    ``on_event`` is a coroutine function, an anyio memory object send stream
    or an ``asyncio.Queue`` (or None to only acknowledge and track).
    ``dedupe`` defaults to a fresh :class:`MemoryDedupeStore`; pass None to
    hand every delivery through, or a shared store when several processes
    receive. ``tracker``, if given, is fed every event before ``on_event``.
    """

    def __init__(
        self,
        secrets: SecretsLike,
        on_event: EventSink | None,
        *,
        dedupe: DedupeStore | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
        tracker: StatusTracker | None = None,
    ) -> None:
        self._secrets = normalize_secrets(secrets)
        self._handler = _as_handler(on_event)
        self._store = MemoryDedupeStore() if dedupe is _Default.DEFAULT else dedupe
        self._tracker = tracker

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(secrets=<{len(self._secrets)} hidden>, "
            f"dedupe={self._store!r}, tracker={self._tracker!r})"
        )

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """Process one delivery: ``body`` as raw bytes, ``headers`` in any case."""
        try:
            event = verify_and_parse(body, headers, self._secrets)
        except WebhookVerificationError as exc:
            logger.warning("webhook delivery rejected: %s", exc)
            return WebhookResponse(401, "invalid signature")
        except WebhookPayloadError as exc:
            logger.warning("signed webhook delivery is not a valid event: %s", exc)
            return WebhookResponse(400, "invalid payload")
        key = dedupe_key(event)
        if self._store is not None and not await self._store.claim(key):
            logger.debug("duplicate webhook delivery ignored: %s", key)
            return WebhookResponse(200, "duplicate", event, duplicate=True)
        if self._tracker is not None:
            self._tracker.apply(event)
        try:
            if self._handler is not None:
                await self._handler(event)
        except Exception:
            await self._release(key)
            logger.exception("webhook handler failed on %s; answering 500", key)
            return WebhookResponse(500, "handler failed", event)
        except BaseException:  # cancelled: the event was not handled, let a retry in
            await self._release(key)
            raise
        return WebhookResponse(200, "ok", event)

    async def _release(self, key: str) -> None:
        if self._store is not None:
            with anyio.CancelScope(shield=True):
                await self._store.release(key)
