"""How a batch stop reaches sends still queued for a connection or a rate-limit slot.

A batch worker's send can wait long before its request leaves: for a pooled
connection (the session's FIFO gate) and for a rate-limiter slot (seconds, at
10 req/s). When the batch stops (a quota error, the caller left) those waits
must end *without sending*, or a stopped batch keeps sending for seconds.

The worker runs its send with a :class:`SendWindow` published in the context
variable ``current_window``, so the session finds it without the batch knowing
the session (the layers stay apart). The session queues inside ``window.queue()``, a cancel
scope that :meth:`SendWindow.withdraw` cancels, and calls ``window.leave()``
with its turn in hand, right before the request goes to aiohttp. A request
that has left is never withdrawn: it runs to its real outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import anyio

__all__ = ["SendWindow", "Withdrawn", "current_window"]


class Withdrawn(Exception):
    """The request was withdrawn before it left: nothing reached the server.

    Not a MsgFlashError on purpose: the session's retry loop must not see it,
    and only the batch that withdrew the request ever catches it.
    """


class SendWindow:
    """One batch input's chance to be withdrawn before its request leaves.

    It also keeps count of the input's requests that may have been processed
    (left, and not refused unprocessed), so the batch can tell a withdrawn or
    cancelled input that reached nothing from one whose ``send`` already got
    a request through (a custom ``send`` may make several).
    """

    __slots__ = ("_in_doubt", "_scope", "queued", "withdrawn")

    def __init__(self) -> None:
        self.withdrawn = False
        #: The session queued a request for this input (so it speaks for it).
        self.queued = False
        self._in_doubt = 0
        self._scope: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return (
            f"SendWindow(queued={self.queued}, in_doubt={self._in_doubt}, "
            f"withdrawn={self.withdrawn})"
        )

    @property
    def may_be_processed(self) -> bool:
        """A request for this input left and was not refused unprocessed."""
        return self._in_doubt > 0

    @property
    def never_sent(self) -> bool:
        """True when the session queued this input and nothing of it may be processed."""
        return self.queued and not self.may_be_processed

    def withdraw(self) -> None:
        """End the wait (if any) with :class:`Withdrawn`, and refuse every later one."""
        self.withdrawn = True
        if self._scope is not None:
            self._scope.cancel()

    @contextmanager
    def queue(self) -> Iterator[None]:
        """Around a wait before sending; a withdrawal ends it with :class:`Withdrawn`."""
        if self.withdrawn:
            raise Withdrawn
        self.queued = True
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                yield
            finally:
                self._scope = None
        if scope.cancelled_caught:
            raise Withdrawn

    def leave(self) -> None:
        """The turn is in hand and the request goes now, unless it was withdrawn."""
        if self.withdrawn:
            raise Withdrawn
        self._in_doubt += 1

    def refused(self) -> None:
        """The request that left was refused unprocessed (rate limit, no connection)."""
        self._in_doubt -= 1


current_window: ContextVar[SendWindow | None] = ContextVar(
    "msgflash_async_send_window", default=None
)
