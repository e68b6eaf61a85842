"""``client.billing``: plans, subscription, usage, payments, and the quota preflight.

Billing through the API is read-only (checkout and plan changes happen in
the dashboard). Every route but ``plans()`` needs a personal key: with a
team key the server answers ``403 TEAM_KEY_NOT_ALLOWED``, raised as
:class:`TeamKeyNotAllowedError`. Plan limits are read here, never assumed:
the documented plan tables contradict each other.
"""

from __future__ import annotations

import logging
import weakref

from .._converter import structure
from .._exceptions import InsufficientQuotaError, TeamKeyNotAllowedError, ValidationError
from .._pagination import AsyncPaginator, Page
from .._session import Session
from .._validation import MAX_PAGE_SIZE, check_limit
from ..models.billing import BillingUsage, Payment, Plan, Quota, SubscriptionInfo
from ._base import Resource, api_path, numbered_page, page_number

__all__ = ["MAX_PAGE_SIZE", "Billing", "check_outbound_quota"]

logger = logging.getLogger("msgflash_async")

"""The largest page of payments (the server's default is 20)."""

_PLANS = api_path("billing", "plans")
_SUBSCRIPTION = api_path("billing", "subscription")
_USAGE = api_path("billing", "usage")
_PAYMENTS = api_path("billing", "payments")

# Clients (by their session) already told that a team key skips the preflight.
_WARNED: weakref.WeakSet[Session] = weakref.WeakSet()


class Billing(Resource):
    """Read plans, the subscription, this period's usage and past payments."""

    def plans(self) -> AsyncPaginator[Plan]:
        """Every plan on offer (allowed with a team key): ``await`` or ``async for``.

        Prices come in whichever shape the server uses (``price_monthly`` with
        ``currency``, ``price_eur``, ``price_fcfa``); :attr:`Plan.prices`
        reads them all.
        """
        return self._whole_list(_PLANS, Plan, ("plans", "items"))

    async def subscription(self) -> SubscriptionInfo:
        """The subscription with its plan's limits and features, usage and period."""
        return await self._get(_SUBSCRIPTION, SubscriptionInfo)

    async def usage(self) -> BillingUsage:
        """This period's limits, features and usage (personal key only)."""
        return await self._get(_USAGE, BillingUsage)

    async def quota(self) -> Quota:
        """What is left this period: outbound messages (statuses included) and API requests.

        One request (it counts toward the API quota itself).
        """
        return (await self.usage()).quota()

    def payments(
        self,
        *,
        limit: int | None = None,
        page: int | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[Payment]:
        """Past payments, newest first, page by page (``amount`` in minor units).

        ``limit`` is the page size, 1 to 100 (100 unless given, for the
        fewest requests); ``page`` starts further in (1-based).
        """
        size = check_limit(limit, MAX_PAGE_SIZE) or MAX_PAGE_SIZE
        start = None if page is None else str(page)
        page_number(start)  # refuses a page below 1 now

        async def fetch(cursor: str | None) -> Page[Payment]:
            number = page_number(cursor)
            response = await self._call("GET", _PAYMENTS, params={"page": number, "limit": size})
            return numbered_page(response.data, Payment, ("payments", "items"), number, size)

        return AsyncPaginator(
            fetch, cursor=start, max_items=max_items, prefetch=prefetch, query={"limit": size}
        )

    async def check_outbound_quota(self, count: int) -> Quota | None:
        """Refuse work of ``count`` outbound messages that the remaining quota cannot take.

        See :func:`check_outbound_quota`.
        """
        return await check_outbound_quota(self._session, count)


async def check_outbound_quota(session: Session, count: int) -> Quota | None:
    """The quota preflight behind ``send_many(check_quota=True)`` and campaign creation.

    Reads the usage (one request) and raises :class:`InsufficientQuotaError`
    when ``count`` messages do not fit the remaining monthly outbound
    quota; its ``fits`` says how many would. Returns the :class:`Quota` read,
    or None when the check was skipped: a team key may not read usage, so
    with one the check is skipped with a warning (logged once per client)
    rather than guessed. A limit the server does not state is not enforced.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValidationError(f"expected a count >= 0, got {count!r}", field="count")
    if session.team_workspace:
        _skip(session)
        return None
    try:
        response = await session.request("GET", _USAGE)
        quota = structure(response.data, BillingUsage).quota()
    except TeamKeyNotAllowedError:
        _skip(session)
        return None
    if not quota.fits(count):
        fits = quota.outbound_remaining or 0
        raise InsufficientQuotaError(
            f"{count:,} messages do not fit the monthly outbound quota: {fits:,} of "
            f"{quota.outbound_limit:,} are left this period (statuses count too)",
            requested=count,
            fits=fits,
            period_end=quota.period.end,
        )
    return quota


def _skip(session: Session) -> None:
    if session not in _WARNED:
        _WARNED.add(session)
        logger.warning(
            "quota preflight skipped: a team key may not read billing usage "
            "(TEAM_KEY_NOT_ALLOWED), so the remaining outbound quota is unknown"
        )
