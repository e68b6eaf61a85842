"""Per-sender lanes and the segments of handler work a delivery waits for.

A *lane* lets one holder per key run at a time and queues the others in
arrival order; a key with nobody holding or waiting has no entry, so memory
follows the number of senders active right now, not the number ever seen.

A *segment* is one stretch of a handler's work on behalf of one delivery:
from its start (or from the answer it was waiting for) to its end, to the
moment it waits again, or to its failure. The delivery's request awaits it
and answers with its outcome.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable

import anyio

__all__ = ["Lanes", "Segment", "Slots"]

# Both gates below are taken twice per routed event; unlike anyio's Lock and
# CapacityLimiter they add no checkpoint when free, which halves the bot's
# cost per event (benchmarks/README.md, bot-throughput). Cancellation while
# waiting is still handled: a turn handed over just then is passed on.


class Lanes:
    """First come, first served per key; ``None`` keys are never queued."""

    def __init__(self) -> None:
        # key -> the events of those waiting behind the holder (empty: held, nobody waits)
        self._queues: dict[Hashable, deque[anyio.Event]] = {}

    def __len__(self) -> int:
        return len(self._queues)

    async def acquire(self, key: Hashable) -> None:
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = deque()
            return
        turn = anyio.Event()
        queue.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():  # the lane was handed over just as we were cancelled
                self.release(key)
            else:
                queue.remove(turn)
            raise

    def release(self, key: Hashable) -> None:
        queue = self._queues[key]
        if queue:
            queue.popleft().set()  # the next in line holds it now
        else:
            del self._queues[key]


class Slots:
    """At most ``total`` holders at once; the others wait in arrival order."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiting: deque[anyio.Event] = deque()

    @property
    def in_use(self) -> int:
        return self.total - self._free

    async def acquire(self) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():
                self.release()
            else:
                self._waiting.remove(turn)
            raise

    def release(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()  # the slot passes straight to the next
        else:
            self._free += 1


class Segment:
    """One stretch of handler work a delivery waits for; ends once."""

    def __init__(self, on_end: Callable[[], None] | None = None) -> None:
        self.ended = anyio.Event()
        self.error: BaseException | None = None
        self._on_end = on_end

    def end(self, error: BaseException | None = None) -> None:
        """Record the outcome (None: done or waiting again) and wake the delivery."""
        if self.ended.is_set():
            return
        self.error = error
        self.ended.set()
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end()
