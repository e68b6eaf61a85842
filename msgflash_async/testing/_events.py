"""A tiny synchronous event bus: what the emulator would send to webhooks.

Route modules and the message lifecycle :meth:`EventBus.publish` webhook
payloads (flat camelCase dicts such as ``{"event": "message.sent", ...}``);
the webhook delivery module and tests :meth:`EventBus.subscribe`. Delivery is
synchronous and in publish order, so a subscriber that needs I/O queues the
payload and sends it from its own task. Without subscribers a publish only
costs one append to a bounded history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._emulator_state import Workspace

__all__ = ["EventBus", "EventCallback"]

EventCallback = Callable[["Workspace", dict[str, Any]], None]

# Enough for any test to inspect; a 100k-message benchmark must not keep 400k dicts.
HISTORY_LIMIT = 10_000


class EventBus:
    """Synchronous publish/subscribe of ``(workspace, payload)`` pairs."""

    def __init__(self, history_limit: int = HISTORY_LIMIT) -> None:
        self._subscribers: list[EventCallback] = []
        self.history: deque[tuple[Workspace, dict[str, Any]]] = deque(maxlen=history_limit)
        self.published = 0  # total count, including entries dropped from history
        self.errors: list[BaseException] = []

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(workspace, payload)`` on every later publish; return an unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, workspace: Workspace, payload: dict[str, Any]) -> None:
        """Hand ``payload`` to every subscriber; a failing subscriber never stops the others.

        Subscriber exceptions are kept in :attr:`errors` rather than raised, so a
        broken webhook sink cannot turn a message send into a 500.
        """
        self.published += 1
        self.history.append((workspace, payload))
        for callback in tuple(self._subscribers):
            try:
                callback(workspace, payload)
            except Exception as exc:  # recorded, not raised: see the docstring
                self.errors.append(exc)

    def payloads(self, event: str | None = None) -> list[dict[str, Any]]:
        """Payloads still in the history, oldest first, optionally of one event type."""
        return [p for _, p in self.history if event is None or p.get("event") == event]
