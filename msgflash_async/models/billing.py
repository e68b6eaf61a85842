"""Plans, subscription, usage, payments and the account: read-only billing data.

Plan limits are read from the API, never hard-coded: the documented plan
tables disagree with each other and with their own examples. Every limit is
``None`` when the server leaves it out (or sends ``null``, as an unlimited
cap may be), which the SDK reads as "not known", not as zero.

Payments carry ``amount`` in minor units of ``currency`` (900 is 9.00 EUR);
:attr:`Payment.major_amount` converts with the currency's exponent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = [
    "Account",
    "BillingPeriod",
    "BillingUsage",
    "Payment",
    "PaymentStatus",
    "Plan",
    "PlanFeatures",
    "PlanLimits",
    "PlanPrice",
    "PlanRef",
    "Quota",
    "Subscription",
    "SubscriptionInfo",
    "UsageCounts",
]

# ISO 4217 currencies without minor units (the FCFA ones among them);
# every other currency is taken as having cents.
_ZERO_DECIMAL = frozenset({"XOF", "XAF", "JPY", "KRW", "CLP", "GNF", "RWF", "UGX", "VND"})


@frozen
class PlanLimits:
    """A plan's caps; ``None`` where the server gave none (unknown or unlimited)."""

    max_instances: int | None = None
    max_api_keys: int | None = None
    max_webhook_endpoints: int | None = None
    monthly_outbound_quota: int | None = None
    monthly_api_request_quota: int | None = None


@frozen
class PlanFeatures:
    """Which gated features a plan includes; ``None`` where the server did not say."""

    campaigns: bool | None = None
    statuses: bool | None = None
    voice_notes: bool | None = None
    webhooks: bool | None = None


@frozen
class PlanPrice:
    """A monthly price as the plan states it, in major units (19.0 EUR)."""

    amount: float
    currency: str


@frozen
class Plan:
    """One plan of ``billing.plans()``.

    The documentation shows three price shapes: ``priceMonthly`` with
    ``currency``, ``priceEur``, and ``priceEur`` with ``priceFcfa``. All are
    kept as sent; :attr:`prices` lists them uniformly.
    """

    code: str
    name: str | None = None
    price_monthly: float | None = None
    currency: str | None = None
    price_eur: float | None = None
    price_fcfa: float | None = None
    limits: PlanLimits = PlanLimits()
    features: PlanFeatures = PlanFeatures()

    @property
    def prices(self) -> tuple[PlanPrice, ...]:
        """Every monthly price the plan states, one per currency, first the main one."""
        found: dict[str, float] = {}
        if self.price_monthly is not None:
            found[(self.currency or "EUR").upper()] = self.price_monthly
        if self.price_eur is not None:
            found.setdefault("EUR", self.price_eur)
        if self.price_fcfa is not None:
            found.setdefault("XOF", self.price_fcfa)  # FCFA: the West African franc
        return tuple(PlanPrice(amount, code) for code, amount in found.items())

    @property
    def price(self) -> PlanPrice | None:
        """The main monthly price, or None when the plan states none."""
        prices = self.prices
        return prices[0] if prices else None


@frozen
class PlanRef:
    """The plan a subscription or usage answer refers to (code and name)."""

    code: str | None = None
    name: str | None = None
    limits: PlanLimits = PlanLimits()
    features: PlanFeatures = PlanFeatures()


@frozen
class BillingPeriod:
    """The current billing period (a calendar month in every example)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


@frozen
class UsageCounts:
    """What the period used so far; statuses count toward the outbound quota too."""

    messages_count: int = 0
    statuses_count: int = 0
    effective_outbound_usage: int | None = None
    api_requests_count: int = 0
    active_instances_count: int = 0
    active_api_keys_count: int = 0

    @property
    def outbound(self) -> int:
        """Messages plus statuses, as the outbound quota counts them."""
        if self.effective_outbound_usage is not None:
            return self.effective_outbound_usage
        return self.messages_count + self.statuses_count


@frozen
class BillingUsage:
    """``billing.usage()`` (and the legacy ``account.usage()``): limits and usage."""

    plan: PlanRef = PlanRef()
    limits: PlanLimits = PlanLimits()
    features: PlanFeatures = PlanFeatures()
    usage: UsageCounts = UsageCounts()
    period: BillingPeriod = BillingPeriod()

    def quota(self) -> Quota:
        """What is left of this period's monthly quotas."""
        limits = self.limits if self.limits != PlanLimits() else self.plan.limits
        return Quota(
            outbound_limit=limits.monthly_outbound_quota,
            outbound_used=self.usage.outbound,
            api_limit=limits.monthly_api_request_quota,
            api_used=self.usage.api_requests_count,
            period=self.period,
        )


@frozen
class Quota:
    """Remaining monthly quotas: outbound messages (with statuses) and API requests.

    A ``None`` limit is unknown (the server gave none), so its remaining
    count is ``None`` too: never guessed.
    """

    outbound_limit: int | None
    outbound_used: int
    api_limit: int | None
    api_used: int
    period: BillingPeriod = BillingPeriod()

    @property
    def outbound_remaining(self) -> int | None:
        """Messages (and statuses) that can still go out this period."""
        if self.outbound_limit is None:
            return None
        return max(0, self.outbound_limit - self.outbound_used)

    @property
    def api_remaining(self) -> int | None:
        """API requests left this period (every call counts, reads included)."""
        if self.api_limit is None:
            return None
        return max(0, self.api_limit - self.api_used)

    def fits(self, outbound: int) -> bool:
        """Whether ``outbound`` more messages fit the remaining outbound quota."""
        remaining = self.outbound_remaining
        return remaining is None or outbound <= remaining


@frozen
class Subscription:
    """The subscribed plan and any change scheduled for it."""

    plan: PlanRef = PlanRef()
    status: str | None = None
    scheduled_plan: Any = attrs.field(default=None, hash=False)
    scheduled_plan_at: dt.datetime | None = None
    scheduled_action: str | None = None


@frozen
class SubscriptionInfo:
    """``billing.subscription()``: the subscription, this period's usage, the period.

    Limits are read from ``subscription.plan.limits``, as the documentation
    asks (not from the plan object itself).
    """

    subscription: Subscription = Subscription()
    usage: UsageCounts = UsageCounts()
    period: BillingPeriod = BillingPeriod()

    @property
    def limits(self) -> PlanLimits:
        return self.subscription.plan.limits


class PaymentStatus(OpenEnum):
    """A payment's state; only ``succeeded`` is documented, others are kept as sent."""

    SUCCEEDED = "succeeded"


@frozen
class Payment:
    """One payment; ``amount`` is in minor units of ``currency`` (900 = 9.00 EUR)."""

    id: str
    amount: int = 0
    currency: str | None = None
    status: PaymentStatus | None = None
    provider: str | None = None
    plan_code: str | None = None
    plan_name: str | None = None
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    created_at: dt.datetime | None = None

    @property
    def major_amount(self) -> Decimal:
        """``amount`` in major units: ``Decimal('9.00')`` for 900 EUR cents."""
        zero_decimal = (self.currency or "").upper() in _ZERO_DECIMAL
        return Decimal(self.amount) if zero_decimal else Decimal(self.amount).scaleb(-2)


@frozen
class Account:
    """``account.me()``: the account behind a personal key.

    The shape of this answer is not documented: the few likely fields are
    read when present, and :attr:`data` keeps every field as sent.
    """

    id: str | None = None
    email: str | None = None
    name: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its wire name, e.g. ``account.get("createdAt")``."""
        return self.data.get(key, default)
