"""The framework-free core of every webhook receiver.

``WebhookReceiver.handle(body, headers)`` runs verify -> parse -> de-duplicate
-> dispatch and says which HTTP status to answer; the aiohttp, ASGI and
FastAPI adapters only read the request and write that answer.

=======================================  ======  ===============================
outcome                                  status  user code
=======================================  ======  ===============================
body larger than ``max_body``            413     not called; nothing parsed
body still arriving at ``body_timeout``  408     not called; nothing parsed
bad, missing or malformed signature      401     not called
signed, but not a valid event            400     not called
duplicate of an event already handled    200     not called
handled                                  200     called once
user code raised                         500     called; the retry is handled
user code outlasted ``handler_timeout``  503     cancelled; the retry is handled
=======================================  ======  ===============================

``handle_stream`` is the same over a body that arrives in chunks: it refuses
a declared ``Content-Length`` over the limit before reading anything, stops
reading as soon as the chunks pass it, and gives the whole body
``body_timeout`` seconds (default 10): a client sending a byte a second
would otherwise hold the request, and the receiver's memory, for as long as
it likes.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Final, Literal, TypeAlias

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from attrs import frozen

from .._exceptions import WebhookVerificationError
from .._repr import tolerant_repr
from .._secret import Secret
from ..models.webhooks import WebhookEvent
from ._dedupe import DedupeStore, MemoryDedupeStore, dedupe_key
from ._errors import WebhookPayloadError
from ._parse import verified_event
from ._signature import SecretsLike, get_header, mask_secrets, normalize_secrets
from ._tracker import AsyncStatusTracker, StatusTracker

__all__ = ["EventHandler", "EventSink", "WebhookReceiver", "WebhookResponse"]

logger: Final = logging.getLogger("msgflash_async.webhooks")

DEFAULT_HANDLER_TIMEOUT: Final = 10.0
DEFAULT_MAX_BODY: Final = 1024 * 1024
DEFAULT_BODY_TIMEOUT: Final = 10.0
"""Seconds a webhook body may take to arrive in full: MsgFlash sends small JSON
bodies at once, so only a stalled or hostile client comes near it."""

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

    The sender waits for the answer, and retries when it waits too long, so
    a coroutine ``on_event`` gets ``handler_timeout`` seconds (None: no
    limit): past that it is cancelled, the event's de-dup claim released and
    503 answered, so the sender's retry is handled. A stream or queue sink is
    fed without waiting and answers at once: prefer one for slow work, and
    consume it in your own task. Bodies over ``max_body`` bytes (None: no
    limit) are answered 413 unread and unparsed, and bodies still arriving
    after ``body_timeout`` seconds (None: no limit) 408, unparsed.
    """

    def __init__(
        self,
        secrets: SecretsLike,
        on_event: EventSink | None,
        *,
        dedupe: DedupeStore | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
        tracker: StatusTracker | AsyncStatusTracker | None = None,
        handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
        max_body: int | None = DEFAULT_MAX_BODY,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        secrets = mask_secrets(secrets)  # first: the errors below show this frame
        if handler_timeout is not None and handler_timeout <= 0:
            raise ValueError("handler_timeout must be positive (or None for no limit)")
        if body_timeout is not None and body_timeout <= 0:
            raise ValueError("body_timeout must be positive (or None for no limit)")
        if max_body is not None and max_body < 0:
            raise ValueError("max_body must not be negative (or None for no limit)")
        self._secrets = normalize_secrets(secrets)
        self._handler = _as_handler(on_event)
        self._store = MemoryDedupeStore() if dedupe is _Default.DEFAULT else dedupe
        self._tracker = tracker
        self._handler_timeout = handler_timeout
        self._max_body = max_body
        self._body_timeout = body_timeout

    @tolerant_repr
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(secrets=<{len(self._secrets)} hidden>, "
            f"dedupe={self._store!r}, tracker={self._tracker!r}, "
            f"handler_timeout={self._handler_timeout}, max_body={self._max_body}, "
            f"body_timeout={self._body_timeout})"
        )

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """Process one delivery: ``body`` as raw bytes, ``headers`` in any case."""
        if self._too_large(len(body)):
            return self._refuse_size(len(body))
        try:
            event = verified_event(body, headers, self._secrets)
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
        if self._tracker is not None and not await self._track(self._tracker, event, key):
            return WebhookResponse(500, "tracker failed", event)
        return await self._dispatch(event, key)

    async def _track(
        self, tracker: StatusTracker | AsyncStatusTracker, event: WebhookEvent, key: str
    ) -> bool:
        """Feed the tracker; if it fails (Redis down), let the retry in and answer 500."""
        try:
            applied = tracker.apply(event)
            if inspect.isawaitable(applied):
                await applied
        except Exception:
            await self._release(key)
            logger.exception("status tracker failed on %s; answering 500", key)
            return False
        return True

    async def handle_stream(
        self, chunks: AsyncIterable[bytes], headers: Mapping[str, str]
    ) -> WebhookResponse:
        """Like :meth:`handle`, reading ``chunks`` up to ``max_body`` within ``body_timeout``."""
        declared = _content_length(headers)
        if declared is not None and self._too_large(declared):
            return self._refuse_size(declared)
        body = bytearray()
        with anyio.move_on_after(self._body_timeout) as reading:
            async for chunk in chunks:
                body += chunk
                if self._too_large(len(body)):
                    return self._refuse_size(len(body))
        if reading.cancelled_caught:
            logger.warning(
                "webhook delivery refused: %d bytes of its body came in %s s (body_timeout)",
                len(body),
                self._body_timeout,
            )
            return WebhookResponse(408, "body read timed out")
        return await self.handle(bytes(body), headers)

    async def _dispatch(self, event: WebhookEvent, key: str) -> WebhookResponse:
        try:
            with anyio.move_on_after(self._handler_timeout) as scope:
                if self._handler is not None:
                    await self._handler(event)
        except Exception:
            await self._release(key)
            logger.exception("webhook handler failed on %s; answering 500", key)
            return WebhookResponse(500, "handler failed", event)
        except BaseException:  # cancelled: the event was not handled, let a retry in
            await self._release(key)
            raise
        if scope.cancelled_caught:
            await self._release(key)
            logger.error(
                "webhook handler on %s was cancelled after %s s; answering 503 "
                "(use a queue or stream sink for slow work)",
                key,
                self._handler_timeout,
            )
            return WebhookResponse(503, "handler timed out", event)
        return WebhookResponse(200, "ok", event)

    def _too_large(self, size: int) -> bool:
        return self._max_body is not None and size > self._max_body

    def _refuse_size(self, size: int) -> WebhookResponse:
        logger.warning(
            "webhook delivery refused: a body of at least %d bytes exceeds max_body=%s",
            size,
            self._max_body,
        )
        return WebhookResponse(413, "body too large")

    async def _release(self, key: str) -> None:
        if self._store is not None:
            with anyio.CancelScope(shield=True):
                await self._store.release(key)


def require_receiver(receiver: object, adapter: str) -> WebhookReceiver:
    """``receiver`` if it is a :class:`WebhookReceiver`, else a TypeError saying how to make one."""
    if isinstance(receiver, WebhookReceiver):
        return receiver
    raise TypeError(
        f"{adapter} takes a WebhookReceiver, not {type(receiver).__name__}: "
        f"{adapter}(WebhookReceiver(secret, on_event, ...)) with the receiver's options"
    )


def masked_secrets(
    secrets: SecretsLike | WebhookReceiver,
) -> tuple[Secret, ...] | WebhookReceiver:
    """``secrets`` as :class:`Secret` values (a receiver as it is); see ``mask_secrets``."""
    return secrets if isinstance(secrets, WebhookReceiver) else mask_secrets(secrets)


def _content_length(headers: Mapping[str, str]) -> int | None:
    # A malformed value is left to the server; the streamed count still applies.
    value = get_header(headers, "Content-Length")
    if value is None or not (value := value.strip()).isascii() or not value.isdigit():
        return None
    return int(value)
