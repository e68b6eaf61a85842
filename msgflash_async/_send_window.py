"""One batch input's send window: withdrawn by a stop, journaled at the wire.

A batch worker's send can wait long before its request leaves: for a pooled
connection (the session's FIFO gate) and for a rate-limiter slot (seconds, at
10 req/s). When the batch stops (a quota error, the caller left) those waits
must end *without sending*, or a stopped batch keeps sending for seconds. And
the journal must record the attempt only when the request really leaves, so
that a crash leaves only the requests in flight unknown.

The batch hands a :class:`SendWindow` to its send as an explicit argument (a
:class:`Guarded` send passes it on as ``guard=`` to each client call); the
session calls it through its generic ``SendGuard`` hook and knows nothing of
batches. The session queues inside ``window.queue()``, a cancel scope that
:meth:`SendWindow.withdraw` cancels, and awaits ``window.depart()`` with its
turn in hand, right before the request goes to aiohttp: that is where the
journal's attempt record is made durable. A request that has left is never
withdrawn: it runs to its real outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import anyio
import attrs

from ._repr import tolerant_repr

__all__ = ["Guarded", "SendWindow", "Withdrawn"]

M = TypeVar("M")
R = TypeVar("R")


class Withdrawn(Exception):
    """The request was withdrawn before it left: nothing reached the server.

    Not a MsgFlashError on purpose: the session's retry loop must not see it,
    and only the batch that withdrew the request ever catches it.
    """


@attrs.frozen
class Guarded(Generic[M, R]):
    """A batch ``send`` that takes the input's :class:`SendWindow` as a second argument.

    It must pass the window as ``guard=`` to every client call it makes, so
    that a stop withdraws its queued requests and the journal records the
    attempt when a request leaves. A plain one-argument ``send`` is journaled
    right before it is called instead, and cannot be withdrawn once running.
    """

    send: Callable[[M, SendWindow], Awaitable[R]]


class SendWindow:
    """One batch input's chance to be withdrawn before its request leaves.

    ``record`` (the journal's durable attempt record) is awaited once, at the
    first departure. The window keeps count of the input's requests that may
    have been processed (left, and not refused unprocessed), so the batch can
    tell a withdrawn or cancelled input that reached nothing from one whose
    ``send`` already got a request through (a custom ``send`` may make several).
    """

    __slots__ = ("_in_doubt", "_record", "_scope", "journaled", "queued", "withdrawn")

    def __init__(self, record: Callable[[], Awaitable[None]] | None = None) -> None:
        self.withdrawn = False
        #: The session queued a request for this input (so it speaks for it).
        self.queued = False
        #: An attempt record was started (it may be on disk even if withdrawn).
        self.journaled = False
        self._record = record
        self._in_doubt = 0
        self._scope: anyio.CancelScope | None = None

    @tolerant_repr
    def __repr__(self) -> str:
        return (
            f"SendWindow(queued={self.queued}, in_doubt={self._in_doubt}, "
            f"withdrawn={self.withdrawn})"
        )

    @property
    def may_be_processed(self) -> bool:
        """A request for this input left and was not refused unprocessed."""
        return self._in_doubt > 0

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

    async def depart(self) -> None:
        """The turn is in hand: record the attempt, then the request goes (unless withdrawn)."""
        if self.withdrawn:
            raise Withdrawn
        record, self._record = self._record, None
        if record is not None:
            self.journaled = True
            await record()  # raises Withdrawn when the journal cannot record it
            if self.withdrawn:
                raise Withdrawn
        self._in_doubt += 1

    def refused(self) -> None:
        """The request that left was refused unprocessed (rate limit, no connection)."""
        self._in_doubt -= 1
