"""A handle on a server-side campaign: await it, stream its stats, wait with a timeout.

A campaign runs on the server for minutes or days; the handle only reads
it (``GET /campaigns/{id}``) every ``interval`` seconds, so it can be built
from the id alone in any process, and cancelling a waiting task cuts a GET
at worst: the handle stays usable and nothing is sent. Like the bulk-job
handle in :mod:`._jobs`, polls are serialised and never closer together
than half the interval, so a waiter and a stats loop sharing one handle do
not double the request rate (each poll costs one monthly API request).

When is a campaign over? ``completed`` returns it; ``failed`` and
``cancelled`` raise. Only ``scheduled``, ``running`` and ``paused`` are
documented, so an unknown status is judged by the stats: a completion or
cancel timestamp, or every planned message settled, ends the wait; an
unknown status whose counts stop moving for ``stall_timeout`` seconds (the
shared :class:`~._stall.StallWatch`) raises :class:`CampaignStalledError`
instead of waiting forever. A known status is never judged a stall: a
campaign may be scheduled days ahead, or paused until someone resumes it. Nothing here knows
HTTP: the resource hands in the calls, so this is tested with stubs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any

import anyio
import attrs

from ._exceptions import (
    CampaignCancelledError,
    CampaignError,
    CampaignFailedError,
    CampaignStalledError,
)
from ._stall import DEFAULT_STALL_TIMEOUT, StallWatch
from .models.campaigns import Campaign, CampaignStats, CampaignStatus

__all__ = ["DEFAULT_CAMPAIGN_POLL", "CampaignHandle", "CampaignProgress"]

DEFAULT_CAMPAIGN_POLL = 10.0
"""Seconds between polls: a campaign runs for minutes, and each poll is a request."""

_RATE_WINDOW = 6  # polls the rate is measured over
_ACTIVE = frozenset({CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED})

Fetch = Callable[[str], Awaitable[Campaign]]


@attrs.frozen
class CampaignProgress:
    """A campaign as of one poll, with the send rate measured over the last polls."""

    campaign: Campaign
    rate: float | None
    """Messages settled (sent, failed or cancelled) per second; None until two polls."""
    finished: bool = False
    """True on the last snapshot: the campaign is over (see ``status``)."""

    @property
    def status(self) -> CampaignStatus | None:
        return self.campaign.status

    @property
    def stats(self) -> CampaignStats:
        return self.campaign.stats

    @property
    def percent(self) -> int:
        return self.campaign.stats.percent

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None when it cannot be told."""
        if not self.rate:
            return None
        return self.campaign.stats.remaining / self.rate


class CampaignHandle:
    """Follow one campaign by its id: ``await handle`` returns it once completed.

    ``wait(timeout)`` raises the built-in :class:`TimeoutError` after
    ``timeout`` seconds and leaves the handle usable; ``progress()`` yields a
    :class:`CampaignProgress` now and after every poll, ending with the final
    one. A ``paused`` campaign is waited on (it may be resumed): give a
    timeout if nobody will. ``failed`` / ``cancelled`` raise
    :class:`CampaignFailedError` / :class:`CampaignCancelledError`; an
    unknown status without progress for ``stall_timeout`` seconds raises
    :class:`CampaignStalledError` and leaves the handle usable (waiting
    again waits one more window).
    """

    def __init__(
        self,
        campaign_id: str,
        fetch: Fetch,
        *,
        interval: float = DEFAULT_CAMPAIGN_POLL,
        stall_timeout: float | None = DEFAULT_STALL_TIMEOUT,
    ) -> None:
        self.campaign_id = campaign_id
        self._fetch = fetch
        self.interval = interval
        self._stall = StallWatch(stall_timeout)
        self._lock = anyio.Lock()
        self._last_poll: float | None = None
        self._history: deque[tuple[float, int]] = deque(maxlen=_RATE_WINDOW)
        self._campaign: Campaign | None = None
        self._finished = False
        self._error: CampaignError | None = None

    def __repr__(self) -> str:
        # getattr: safe on a handle whose constructor did not finish.
        campaign = getattr(self, "_campaign", None)
        status = None if campaign is None else campaign.status
        return (
            f"<CampaignHandle campaign_id={getattr(self, 'campaign_id', None)!r} status={status}>"
        )

    @property
    def campaign(self) -> Campaign | None:
        """The campaign as of the last poll (None before the first)."""
        return self._campaign

    @property
    def done(self) -> bool:
        """True once the campaign is over, whichever way it ended."""
        return self._finished

    def snapshot(self) -> CampaignProgress | None:
        """Where the campaign stood at the last poll (no request)."""
        if self._campaign is None:
            return None
        return CampaignProgress(self._campaign, self._rate(), self._finished)

    def result(self) -> Campaign:
        """The completed campaign; raises how it ended otherwise."""
        if self._error is not None:
            raise self._error
        if not self._finished or self._campaign is None:
            raise RuntimeError("the campaign is not over; await the handle")
        return self._campaign

    def __await__(self) -> Generator[Any, None, Campaign]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> Campaign:  # noqa: ASYNC109 (API shape)
        """Poll until the campaign is over and return it (see the class docstring)."""
        try:
            with anyio.fail_after(timeout):
                while not self._finished:
                    await self._sleep_then_poll()
                    self._check_stall()
        except TimeoutError:
            seen = "not polled yet" if self._campaign is None else self._campaign.status
            raise TimeoutError(
                f"campaign {self.campaign_id} not over within {timeout}s (status {seen})"
            ) from None
        return self.result()

    async def progress(self) -> AsyncIterator[CampaignProgress]:
        """Yield a snapshot after each poll until the campaign is over.

        The first comes at once (one poll if none was made yet). A failed or
        cancelled campaign ends the iteration normally (awaiting the handle
        raises its error); a stall raises :class:`CampaignStalledError` here
        too, since it is no outcome.
        """
        if self._campaign is None:
            await self.refresh()
            self._check_stall()
        while True:
            snapshot = self.snapshot()
            assert snapshot is not None
            yield snapshot
            if snapshot.finished:
                return
            await self._sleep_then_poll()
            self._check_stall()

    async def refresh(self) -> Campaign:
        """Poll now (unless another task just did) and return the campaign."""
        async with self._lock:
            if self._campaign is None or (not self._finished and self._poll_due()):
                campaign = await self._fetch(self.campaign_id)
                self._last_poll = anyio.current_time()
                self._record(campaign)
        assert self._campaign is not None
        return self._campaign

    async def _sleep_then_poll(self) -> None:
        if self._campaign is not None:
            await anyio.sleep(self.interval)
        await self.refresh()

    def _poll_due(self) -> bool:
        last = self._last_poll
        return last is None or anyio.current_time() - last >= self.interval / 2

    def _rate(self) -> float | None:
        if len(self._history) < 2:
            return None
        (t0, n0), (t1, n1) = self._history[0], self._history[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None

    def _record(self, campaign: Campaign) -> None:
        self._campaign = campaign
        stats = campaign.stats
        counts = (stats.queued, stats.sent, stats.delivered, stats.read, stats.failed)
        self._stall.observe(campaign.id, campaign.status, counts)
        self._history.append((anyio.current_time(), campaign.stats.settled))
        status = campaign.status
        if status is CampaignStatus.COMPLETED:
            self._finished = True
        elif status is CampaignStatus.FAILED:
            self._end(CampaignFailedError(f"campaign {campaign.id} failed", campaign=campaign))
        elif status is CampaignStatus.CANCELLED:
            self._end(self._cancelled(campaign))
        elif status not in _ACTIVE:
            self._judge_unknown(campaign)
        elif status is not CampaignStatus.RUNNING and campaign.stats.completed_at is not None:
            self._finished = True  # a repeating campaign back to "scheduled" after a run

    def _judge_unknown(self, campaign: Campaign) -> None:
        stats = campaign.stats
        if stats.cancelled_at is not None:
            self._end(self._cancelled(campaign))
        elif stats.completed_at is not None or (stats.planned and not stats.remaining):
            self._finished = True

    def _check_stall(self) -> None:
        """Raise :class:`CampaignStalledError` for an unknown status that stopped moving."""
        campaign = self._campaign
        if self._finished or campaign is None or campaign.status in _ACTIVE:
            return
        idle = self._stall.stalled()
        if idle is None:
            return
        self._stall.restart()  # awaiting again waits one more window
        raise CampaignStalledError(
            f"campaign {campaign.id} shows the unknown status {campaign.status} "
            f"and no progress for {idle:.0f}s",
            campaign=campaign,
        )

    @staticmethod
    def _cancelled(campaign: Campaign) -> CampaignCancelledError:
        return CampaignCancelledError(f"campaign {campaign.id} was cancelled", campaign=campaign)

    def _end(self, error: CampaignError) -> None:
        self._error = error
        self._finished = True
