"""Stall detection for anything that polls a server-side job until it ends.

A job that never finishes (a server bug, a queue that stopped) would keep a
plain ``await`` polling for ever. :class:`StallWatch` is fed each poll's
reading and says when nothing has moved for ``window`` seconds; the handle
that owns it raises :class:`~._exceptions.JobStalledError` then. The bulk-job
handle in :mod:`._jobs` (and every handle built on it: bulk deletes, group
membership changes, number lookups) uses one; another polling handle can use
its own in three lines: ``observe`` after each poll, ``stalled`` to decide,
``restart`` once the error is raised.

What counts as progress: a job (``key``) not seen before, a status not seen
before for that job, or a count above its highest so far. A count that goes
backwards is shown to the caller as the server said it, but is not progress:
the high-water mark stays, so a server that bounces between two readings
still stalls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio

__all__ = ["DEFAULT_STALL_TIMEOUT", "StallWatch"]

DEFAULT_STALL_TIMEOUT = 600.0
"""Seconds without progress after which a polled job counts as stalled.

Ten minutes: far longer than a documented job stays queued or between two
progress steps, far shorter than "for ever". ``None`` turns the check off.
"""


class StallWatch:
    """Says when the readings of a polled job stopped moving for ``window`` seconds."""

    def __init__(
        self,
        window: float | None = DEFAULT_STALL_TIMEOUT,
        *,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        if window is not None and not window > 0:
            raise ValueError("the stall window must be > 0 seconds, or None")
        self.window = window
        self._clock = clock
        self._key: str | None = None
        self._statuses: set[object] = set()
        self._highs: list[float] = []
        self._since: float | None = None  # when progress was last seen

    def observe(self, key: str, status: object, counts: Sequence[float] = ()) -> bool:
        """Take one poll's reading; True if it is progress (see the module docstring)."""
        moved = False
        if key != self._key:
            self._key, self._statuses, self._highs = key, set(), []
            moved = True
        if status not in self._statuses:
            self._statuses.add(status)
            moved = True
        for index, count in enumerate(counts):
            if index >= len(self._highs):
                self._highs.append(count)
            elif count > self._highs[index]:
                self._highs[index] = count
                moved = True
        if moved or self._since is None:
            self._since = self._clock()
        return moved

    def stalled(self) -> float | None:
        """Seconds since the last progress once they reach the window, else None."""
        if self.window is None or self._since is None:
            return None
        idle = self._clock() - self._since
        return idle if idle >= self.window else None

    def restart(self) -> None:
        """Start a new window now (after the stall was reported, to wait once more)."""
        self._since = self._clock()
