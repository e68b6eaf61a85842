"""Follow message statuses from webhooks that arrive late, twice or out of order.

A status only moves forward along ``queued -> sent -> delivered -> read``;
``failed`` ends the story unless the message was already ``read`` (a read
message provably arrived). Anything that would move a message backwards,
repeat a status or follow a terminal one is ignored, so the tracker ends in
the same state whatever order the deliveries came in.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Protocol, runtime_checkable

import anyio

from .._repr import tolerant_repr
from ..models.webhooks import MessageEvent, MessageStatus, WebhookEvent, WebhookEventType

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


def status_advances(current: MessageStatus | None, new: MessageStatus) -> bool:
    """Whether a message in ``current`` may move to ``new``.

    Unknown statuses (values the SDK does not know) never move a message,
    since their place in the lifecycle is not known.
    """
    if new not in _RANK and new is not MessageStatus.FAILED:
        return False
    if current is None:
        return True
    if current in _TERMINAL:
        return False
    return new is MessageStatus.FAILED or _RANK[new] > _RANK[current]


def status_reached(current: MessageStatus, target: MessageStatus) -> bool:
    """Whether a wait for ``target`` is over at ``current``.

    A terminal status answers every wait: nothing will come after it.
    """
    if current is target or current in _TERMINAL:
        return True
    return target in _RANK and _RANK[current] >= _RANK[target]


def event_status(event: WebhookEvent) -> tuple[str, MessageStatus] | None:
    """The message and status an event reports, or None if it reports none.

    Events that say nothing about an outbound message's status
    (``message.received``, instance events, unknown events) give None.
    """
    if not isinstance(event, MessageEvent) or not event.message_id:
        return None
    status = _STATUS_OF_EVENT.get(event.event)
    return None if status is None else (event.message_id, status)


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
        if not status_advances(self._statuses.get(message_id), new):
            return False
        self._statuses[message_id] = new
        self._statuses.move_to_end(message_id)
        while len(self._statuses) > self._max_messages:
            self._statuses.popitem(last=False)
        for waiter in self._waiters.pop(message_id, []):
            waiter.set()
        return True

    def status_of(self, message_id: str) -> MessageStatus | None:
        """The latest status of a message, or None if no event was seen for it."""
        return self._statuses.get(message_id)

    def forget(self, message_id: str) -> None:
        """Drop what is known of a message."""
        self._statuses.pop(message_id, None)

    async def wait_for(
        self,
        message_id: str,
        status: MessageStatus | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a convenience; fail_after works too)
    ) -> MessageStatus:
        """Wait until a message reaches ``status`` or a later one; return the status reached.

        A terminal status ends the wait even if it is not the one asked for
        (waiting for ``read`` returns ``failed`` if the message fails), so
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
