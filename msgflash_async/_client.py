"""MsgFlashClient: owns the config, the session and the resources."""

from __future__ import annotations

import logging
import math
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

import aiohttp
import attrs

from ._config import DEFAULT_MAX_RESPONSE_BYTES, ClientConfig, RetryPolicy, Timeouts
from ._exceptions import ConfigurationError
from ._observe import default_observer
from ._ratelimit import NoRateLimit, RateLimiter, SlidingWindowLimiter
from ._secret import Secret, masked
from ._session import Session

if TYPE_CHECKING:
    from .resources.account import AccountResource
    from .resources.billing import Billing
    from .resources.bulk_jobs import BulkJobs
    from .resources.campaigns import Campaigns
    from .resources.contacts import Contacts
    from .resources.groups import Groups
    from .resources.instances import Instances
    from .resources.messages import Messages
    from .resources.number_lookups import NumberLookups
    from .resources.statuses import Statuses
    from .resources.templates import Templates
    from .resources.webhooks import Webhooks

__all__ = ["MsgFlashClient"]

logger = logging.getLogger("msgflash_async")

DEFAULT_RATE_LIMIT = 10.0
"""Requests per second per key, as documented; a 429 still wins over it."""


class MsgFlashClient:
    """An asyncio client for the MsgFlash API.

    Open it once (``async with`` or just use it; the HTTP pool is created
    lazily inside the running loop) and share it: every call goes through
    one connection pool and one rate limiter. ``aclose()`` is idempotent;
    an aiohttp ``session`` passed in is used and never closed.

    ``timeout`` bounds each attempt (seconds) or is a :class:`Timeouts`
    (attempt, connect, whole-call deadline); ``deadline`` bounds a whole call
    with its retries. ``max_retries`` is a count or a :class:`RetryPolicy`
    that also tunes the backoff. ``rate_limit`` is requests per second, a
    :class:`RateLimiter`, or 0 or None to turn client-side limiting off.
    ``instance_id`` (or ``MSGFLASH_INSTANCE_ID``) is the instance a message
    built without one is sent through.
    ``config=`` takes a whole :class:`ClientConfig` instead of the settings
    (only ``rate_limit`` and ``session`` may go beside it).
    :meth:`with_options` gives a client with other timeouts or retries over
    the same pool and limiter.

    Settings that cannot work (a timeout <= 0, ``max_retries < 0``,
    ``pool_size < 1``, a negative ``rate_limit``) raise
    :class:`ConfigurationError` here, saying what to pass. A ``base_url``
    ending in ``/api/v1`` is accepted and the prefix dropped (every path
    carries it).

    ``max_response_bytes`` (32 MiB) caps every answer's body, counted as it
    arrives (after decompression): a larger one raises
    :class:`ResponseTooLargeError` as soon as the cap is passed, so an
    endless or runaway body cannot fill memory. The per-attempt ``timeout``
    bounds a slow one.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        team_id: str | Secret | None = None,
        instance_id: str | None = None,
        timeout: float | Timeouts = 30.0,
        deadline: float | None = None,
        max_retries: int | RetryPolicy = 3,
        rate_limit: float | RateLimiter | None = DEFAULT_RATE_LIMIT,
        pool_size: int = 64,
        verify_ssl: bool = True,
        session: aiohttp.ClientSession | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        config: ClientConfig | None = None,
    ) -> None:
        # Masked first: a ConfigurationError's traceback shows this frame's locals.
        api_key, team_id = masked(api_key), masked(team_id)
        if config is None:
            config = ClientConfig.build(
                api_key,
                base_url=base_url,
                team_id=team_id,
                timeouts=_timeouts(timeout, deadline),
                retry=_retry(max_retries),
                pool_size=pool_size,
                verify_ssl=verify_ssl,
                max_response_bytes=max_response_bytes,
                instance_id=instance_id,
            )
        else:
            _alone(config, locals())
        self.config = config
        if not config.verify_ssl:
            logger.warning("TLS certificate verification is disabled for %s", self.base_url)
        self.rate_limiter = _limiter(rate_limit)
        self._session = Session(self.config, self.rate_limiter, session)
        # OpenTelemetry only if the application configured it (else no cost).
        self._session.observer = default_observer()

    def with_options(
        self,
        *,
        timeout: float | Timeouts | None = None,
        max_retries: int | RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> MsgFlashClient:
        """This client with other timeouts, retries or deadline, for some calls.

        The new client shares this one's connection pool and rate limiter (so
        the per-key budget still holds); closing it closes nothing shared,
        and closing this one closes both. ``deadline`` replaces the deadline
        of the timeouts.
        """
        timeouts = self.config.timeouts
        if timeout is not None:
            timeouts = _timeouts(timeout, None)
        if deadline is not None:
            timeouts = attrs.evolve(timeouts, deadline=deadline)
        retry = self.config.retry if max_retries is None else _retry(max_retries)
        config = attrs.evolve(self.config, timeouts=timeouts, retry=retry)
        derived = MsgFlashClient.__new__(MsgFlashClient)
        derived.config = config
        derived.rate_limiter = self.rate_limiter
        derived._session = self._session.derive(config)
        return derived

    def __repr__(self) -> str:
        # Safe on a half-built client too: a constructor that raised still
        # has ``self`` among the locals a traceback may print.
        session: Session | None = getattr(self, "_session", None)
        config: ClientConfig | None = getattr(self, "config", None)
        state = "unfinished" if session is None else "closed" if session.closed else "open"
        url = "?" if config is None else repr(config.base_url)
        return f"<MsgFlashClient base_url={url} {state}>"

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def __aenter__(self) -> MsgFlashClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (if we own it). Safe to call more than once."""
        await self._session.aclose()

    # Each resource module (and the models it structures) is imported on first
    # use, so ``import msgflash_async`` stays cheap.
    @cached_property
    def campaigns(self) -> Campaigns:
        from .resources.campaigns import Campaigns

        return Campaigns(self._session)

    @cached_property
    def contacts(self) -> Contacts:
        from .resources.contacts import Contacts

        return Contacts(self._session)

    @cached_property
    def groups(self) -> Groups:
        from .resources.groups import Groups

        return Groups(self._session)

    @cached_property
    def bulk_jobs(self) -> BulkJobs:
        from .resources.bulk_jobs import BulkJobs

        return BulkJobs(self._session)

    @cached_property
    def messages(self) -> Messages:
        from .resources.messages import Messages

        return Messages(self._session)

    @cached_property
    def statuses(self) -> Statuses:
        from .resources.statuses import Statuses

        return Statuses(self._session)

    @cached_property
    def templates(self) -> Templates:
        from .resources.templates import Templates

        return Templates(self._session)

    @cached_property
    def instances(self) -> Instances:
        from .resources.instances import Instances

        return Instances(self._session)

    @cached_property
    def webhooks(self) -> Webhooks:
        from .resources.webhooks import Webhooks

        return Webhooks(self._session)

    @cached_property
    def number_lookups(self) -> NumberLookups:
        from .resources.number_lookups import NumberLookups

        return NumberLookups(self._session)

    @cached_property
    def billing(self) -> Billing:
        from .resources.billing import Billing

        return Billing(self._session)

    @cached_property
    def account(self) -> AccountResource:
        from .resources.account import AccountResource

        return AccountResource(self._session)


def _limiter(rate_limit: float | RateLimiter | None) -> RateLimiter:
    # 0 means off, as for the emulator command's --rate-limit 0.
    if rate_limit is None or (isinstance(rate_limit, (int, float)) and rate_limit == 0):
        return NoRateLimit()
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float, RateLimiter)):
        raise ConfigurationError(
            f"rate_limit={rate_limit!r} cannot work: pass requests per second (e.g. 10), "
            "0 or None for no client-side limit, or a RateLimiter."
        )
    if isinstance(rate_limit, (int, float)):
        if not (math.isfinite(rate_limit) and rate_limit > 0):
            raise ConfigurationError(
                f"rate_limit={rate_limit!r} cannot work: pass a positive number of "
                "requests per second (e.g. 10), or 0 or None for no client-side limit."
            )
        return SlidingWindowLimiter(rate=rate_limit)
    return rate_limit


def _timeouts(timeout: float | Timeouts, deadline: float | None) -> Timeouts:
    if isinstance(timeout, Timeouts):
        if deadline is None:
            return timeout
        if timeout.deadline is not None:
            raise ConfigurationError(
                "deadline= given twice: pass it in Timeouts(deadline=...) or as deadline=, not both"
            )
        return attrs.evolve(timeout, deadline=deadline)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ConfigurationError(
            f"timeout={timeout!r} cannot work: pass seconds (timeout=30) or a Timeouts"
        )
    return Timeouts(request=timeout, deadline=deadline)


def _retry(max_retries: int | RetryPolicy) -> RetryPolicy:
    if isinstance(max_retries, RetryPolicy):
        return max_retries
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise ConfigurationError(
            f"max_retries={max_retries!r} cannot work: pass an integer >= 0 (max_retries=3) "
            "or a RetryPolicy, e.g. max_retries=RetryPolicy(max_retries=5)"
        )
    return RetryPolicy(max_retries=max_retries)


_BESIDE_CONFIG = {"config", "rate_limit", "session", "self", "__class__"}


def _alone(config: ClientConfig, given: dict[str, object]) -> None:
    """Refuse a setting passed beside ``config=``: it would be silently ignored."""
    defaults = MsgFlashClient.__init__.__kwdefaults__ or {}
    clashing = sorted(
        name
        for name, value in given.items()
        if name not in _BESIDE_CONFIG
        and (
            value is not None
            if name in ("api_key", "team_id", "instance_id")
            else value != defaults.get(name)
        )
    )
    if not isinstance(config, ClientConfig):
        raise ConfigurationError(f"config= takes a ClientConfig, not {type(config).__name__}")
    if clashing:
        raise ConfigurationError(
            f"{', '.join(clashing)} given beside config=: put them in the ClientConfig"
        )
