"""Follow message statuses from webhooks that arrive late, twice or out of order.

A status only moves forward along ``queued -> sent -> delivered -> read``;
``failed`` ends the story unless the message was already ``read`` (a read
message provably arrived). Anything that would move a message backwards,
repeat a status or follow a terminal one is ignored, so the tracker ends in
the same state whatever order the deliveries came in.

Statuses the SDK does not know (``status.known`` is False: the provider adds
some, e.g. ``played`` after ``read``, ``server_ack`` before ``sent``) rank
after every known status seen before them: a message at one has made
progress, so it is recorded (unless the message already ended) and it ends
every wait, which returns it for the caller to judge, rather than waiting
for a known status that may never come. A known status seen after an
unknown one moves the message only if it is later than the last known
status before it. An unknown status cannot be ordered against another
unknown one: the later delivery wins there.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Protocol, runtime_checkable

import anyio

from .._repr import tolerant_repr
from ..models.webhooks import (
    MessageEvent,
    MessageStatus,
    UnknownEvent,
    WebhookEvent,
    WebhookEventType,
)

__all__ = [
    "AsyncStatusTracker",
    "StatusTracker",
    "event_status",
    "status_advances",
    "status_reached",
]

_RANK: Final = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
}
_TERMINAL: Final = frozenset({MessageStatus.READ, MessageStatus.FAILED})
_STATUS_OF_EVENT: Final = {
    WebhookEventType.MESSAGE_SENT: MessageStatus.SENT,
    WebhookEventType.MESSAGE_DELIVERED: MessageStatus.DELIVERED,
    WebhookEventType.MESSAGE_READ: MessageStatus.READ,
    WebhookEventType.MESSAGE_FAILED: MessageStatus.FAILED,
}


def status_advances(
    current: MessageStatus | None,
    new: MessageStatus,
    *,
    last_known: MessageStatus | None = None,
) -> bool:
    """Whether a message in ``current`` may move to ``new``.

    An unknown ``new`` status is progress after any status but a terminal
    one (or itself). When ``current`` is unknown, ``last_known`` is the last
    known status before it, if known: a known ``new`` must be later than
    that. Known statuses outside the webhook lifecycle (``scheduled``,
    ``planned``, ``cancelled``) never move a message.
    """
    if current is not None and current in _TERMINAL:
        return False
    if not new.known:
        return new != current
    if new not in _RANK and new is not MessageStatus.FAILED:
        return False
    if current is None or new is MessageStatus.FAILED:
        return True
    floor = current if current.known else last_known
    return floor not in _RANK or _RANK[new] > _RANK[floor]


def status_reached(current: MessageStatus, target: MessageStatus) -> bool:
    """Whether a wait for ``target`` is over at ``current``.

    A terminal status answers every wait: nothing will come after it. So
    does an unknown one: the message moved past what the SDK can place.
    """
    if current is target or current in _TERMINAL or not current.known:
        return True
    return target in _RANK and _RANK[current] >= _RANK[target]


def event_status(event: WebhookEvent) -> tuple[str, MessageStatus] | None:
    """The message and status an event reports, or None if it reports none.

    Events that say nothing about an outbound message's status
    (``message.received``, instance events, unknown events) give None.
    """
    if isinstance(event, UnknownEvent):
        return _unknown_status(event)
    if not isinstance(event, MessageEvent) or not event.message_id:
        return None
    status = _STATUS_OF_EVENT.get(event.event)
    return None if status is None else (event.message_id, status)


def _unknown_status(event: UnknownEvent) -> tuple[str, MessageStatus] | None:
    # A ``message.<name>`` event the SDK does not know, naming a message and
    # a status it does not know either: a new step of the delivery lifecycle.
    raw = event.raw
    message_id, status = raw.get("messageId"), raw.get("status")
    if not event.event.value.startswith("message.") or not isinstance(message_id, str):
        return None
    if not message_id or not isinstance(status, str) or MessageStatus(status).known:
        return None
    return message_id, MessageStatus(status)


@runtime_checkable
class AsyncStatusTracker(Protocol):
    """A tracker whose state lives elsewhere (e.g. Redis), fed by the receiver."""

    async def apply(self, event: WebhookEvent) -> bool:
        """Feed one event; True if it changed the status of its message."""
        ...


class StatusTracker:
    """The latest status of each message, fed by webhook events.

    Holds at most ``max_messages`` messages, dropping the least recently
    updated first.
    """

    def __init__(self, *, max_messages: int = 100_000) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be positive")
        self._max_messages = max_messages
        self._statuses: OrderedDict[str, MessageStatus] = OrderedDict()
        # For a message at an unknown status: the last known status before it.
        self._last_known: dict[str, MessageStatus] = {}
        self._waiters: dict[str, list[anyio.Event]] = {}

    @tolerant_repr
    def __repr__(self) -> str:
        return f"{type(self).__name__}(messages={len(self._statuses)})"

    def apply(self, event: WebhookEvent) -> bool:
        """Feed one event; True if it changed the status of its message.

        Events that say nothing about an outbound message's status
        (``message.received``, instance events, unknown events) return False.
        """
        reported = event_status(event)
        return False if reported is None else self.record(*reported)

    def record(self, message_id: str, status: MessageStatus | str) -> bool:
        """Set a status known from elsewhere (e.g. ``queued`` from the send reply)."""
        new = MessageStatus(status)
        current = self._statuses.get(message_id)
        last_known = self._last_known.get(message_id)
        if not status_advances(current, new, last_known=last_known):
            return False
        if new.known:
            self._last_known.pop(message_id, None)
        elif current is not None and current.known:
            self._last_known[message_id] = current
        self._statuses[message_id] = new
        self._statuses.move_to_end(message_id)
        while len(self._statuses) > self._max_messages:
            dropped, _ = self._statuses.popitem(last=False)
            self._last_known.pop(dropped, None)
        for waiter in self._waiters.pop(message_id, []):
            waiter.set()
        return True

    def status_of(self, message_id: str) -> MessageStatus | None:
        """The latest status of a message, or None if no event was seen for it."""
        return self._statuses.get(message_id)

    def forget(self, message_id: str) -> None:
        """Drop what is known of a message."""
        self._statuses.pop(message_id, None)
        self._last_known.pop(message_id, None)

    async def wait_for(
        self,
        message_id: str,
        status: MessageStatus | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a convenience; fail_after works too)
    ) -> MessageStatus:
        """Wait until a message reaches ``status`` or a later one; return the status reached.

        A terminal status ends the wait even if it is not the one asked for
        (waiting for ``read`` returns ``failed`` if the message fails), and
        so does a status the SDK does not know (``.known`` is False), so
        check the result. Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        target = MessageStatus(status)
        with anyio.fail_after(timeout):
            while True:
                current = self._statuses.get(message_id)
                if current is not None and status_reached(current, target):
                    return current
                waiter = anyio.Event()
                waiters = self._waiters.setdefault(message_id, [])
                waiters.append(waiter)
                try:
                    await waiter.wait()
                finally:
                    if waiter in waiters:
                        waiters.remove(waiter)
                    if not waiters and self._waiters.get(message_id) is waiters:
                        del self._waiters[message_id]
