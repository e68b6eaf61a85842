"""Billing, usage and account routes (read-only, as in the public API).

The plan catalogue is the newest documented line-up (Free, Pro, MAX, prices
in ``priceEur`` and ``priceFcfa``). The subscribed plan (``plan_code``)
reports the emulator's live knobs rather than the catalogue's figures:
``monthlyOutboundQuota`` and ``monthlyApiRequestQuota`` are
``EmulatorSettings.monthly_outbound_quota`` and ``monthly_api_quota``
(``null`` when off: the emulator enforces no cap then), and the features
are ``EmulatorSettings.features``, so what a client reads is what the
emulator enforces. Usage counts what the emulator accepted: messages and
statuses charged to the outbound quota, requests admitted this run.

Every route but ``/billing/plans`` is personal: a team key gets ``403
TEAM_KEY_NOT_ALLOWED``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Any

from aiohttp import web

from ._emulator_state import EmulatorState
from ._http import ApiFailure, iso_timestamp, new_id, ok, query_int

__all__ = ["BILLING_KEY", "BillingService", "add_routes"]

PREFIX = "/api/v1"

# code: (name, priceEur, priceFcfa, maxInstances, maxApiKeys, maxWebhookEndpoints,
#        monthlyOutboundQuota, monthlyApiRequestQuota)
CATALOGUE: dict[str, tuple[str, int, int, int, int, int, int, int]] = {
    "free": ("Free", 0, 0, 1, 1, 3, 500, 500),
    "pro": ("Pro", 19, 12_500, 5, 5, 15, 50_000, 150_000),
    "max": ("MAX", 39, 25_500, 20, 10, 50, 150_000, 500_000),
}
NOT_ALLOWED = "This route requires a personal API key (msgf_live_...)"


def _month(now: dt.datetime) -> dict[str, str]:
    """The calendar month around ``now``, as the documented examples show it."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = calendar.monthrange(now.year, now.month)[1]
    end = start.replace(day=last, hour=23, minute=59, second=59, microsecond=999_000)
    return {"start": _iso(start), "end": _iso(end)}


def _iso(moment: dt.datetime) -> str:
    return iso_timestamp(moment.timestamp())


class BillingService:
    """The plan, the payments and the usage counters behind the billing routes."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.payments: list[dict[str, Any]] = []  # newest first
        for months_ago in range(3):
            self.add_payment(months_ago=months_ago)

    def add_payment(
        self,
        *,
        amount: int = 1900,
        currency: str = "EUR",
        status: str = "succeeded",
        months_ago: int = 0,
    ) -> dict[str, Any]:
        """Record a payment (``amount`` in minor units); the newest is listed first."""
        plan = CATALOGUE[self.code]
        now = dt.datetime.now(dt.timezone.utc)
        year, month = divmod(now.year * 12 + now.month - 1 - months_ago, 12)
        period = _month(now.replace(year=year, month=month + 1, day=1))
        payment = {
            "id": new_id(),
            "provider": "dodo",
            "planCode": self.code,
            "planName": plan[0],
            "amount": amount,
            "currency": currency,
            "status": status,
            "periodStart": period["start"],
            "periodEnd": period["end"],
            "createdAt": period["start"],
        }
        self.payments.append(payment)
        self.payments.sort(key=lambda p: str(p["createdAt"]), reverse=True)
        return payment

    @property
    def code(self) -> str:
        """The subscribed plan's code (``settings.plan_code``; ``pro`` if not in the catalogue)."""
        code = self.state.settings.plan_code
        return code if code in CATALOGUE else "pro"

    def limits(self, code: str) -> dict[str, int | None]:
        _, _, _, instances, keys, webhooks, outbound, api = CATALOGUE[code]
        limits: dict[str, int | None] = {
            "maxInstances": instances,
            "maxApiKeys": keys,
            "maxWebhookEndpoints": webhooks,
            "monthlyOutboundQuota": outbound,
            "monthlyApiRequestQuota": api,
        }
        if code == self.code:
            settings = self.state.settings
            limits["monthlyOutboundQuota"] = settings.monthly_outbound_quota
            limits["monthlyApiRequestQuota"] = settings.monthly_api_quota
        return limits

    def features(self, code: str) -> dict[str, bool]:
        if code == self.code:
            enabled = self.state.settings.features
            return {
                "campaigns": "campaigns" in enabled,
                "statuses": "statuses" in enabled,
                "voiceNotes": True,
                "webhooks": "webhooks" in enabled,
            }
        # The newest plan page: everything but statuses, on every plan.
        return {"campaigns": True, "statuses": False, "voiceNotes": True, "webhooks": True}

    def plan(self, code: str) -> dict[str, Any]:
        name, eur, fcfa = CATALOGUE[code][:3]
        return {
            "code": code,
            "name": name,
            "priceEur": eur,
            "priceFcfa": fcfa,
            "limits": self.limits(code),
            "features": self.features(code),
        }

    def usage_counts(self) -> dict[str, int]:
        state = self.state
        # The lifecycle charges messages and statuses to one outbound counter.
        outbound = state.lifecycle.outbound_count
        statuses = state.lifecycle.statuses_count
        instances = state.personal.instances.values()
        return {
            "messagesCount": outbound - statuses,
            "statusesCount": statuses,
            "effectiveOutboundUsage": outbound,
            "apiRequestsCount": state.api_requests,
            "activeInstancesCount": sum(1 for i in instances if i.connected),
            "activeApiKeysCount": 2,  # the personal key and the team key
        }

    def usage(self) -> dict[str, Any]:
        code = self.code
        return {
            "plan": {"code": code, "name": CATALOGUE[code][0]},
            "limits": self.limits(code),
            "features": self.features(code),
            "usage": self.usage_counts(),
            "period": _month(dt.datetime.now(dt.timezone.utc)),
        }

    def subscription(self) -> dict[str, Any]:
        code = self.code
        plan = self.plan(code)
        active = self.state.settings.subscription_active
        return {
            "subscription": {
                "plan": {k: plan[k] for k in ("code", "name", "limits", "features")},
                "status": "active" if active else "inactive",
                "scheduledPlan": None,
                "scheduledPlanAt": None,
                "scheduledAction": None,
            },
            "usage": self.usage_counts(),
            "period": _month(dt.datetime.now(dt.timezone.utc)),
        }


BILLING_KEY = web.AppKey("msgflash_billing", BillingService)


def add_routes(app: web.Application, state: EmulatorState) -> None:
    service = BillingService(state)
    app[BILLING_KEY] = service

    def personal(request: web.Request) -> None:
        if state.workspace(request) is not state.personal:
            raise ApiFailure(403, "TEAM_KEY_NOT_ALLOWED", NOT_ALLOWED)

    async def plans(request: web.Request) -> web.Response:
        state.workspace(request)
        return ok([service.plan(code) for code in CATALOGUE])

    async def subscription(request: web.Request) -> web.Response:
        personal(request)
        return ok(service.subscription())

    async def usage(request: web.Request) -> web.Response:
        personal(request)
        return ok(service.usage())

    async def payments(request: web.Request) -> web.Response:
        personal(request)
        page = query_int(request, "page", default=1, low=1, high=1_000_000)
        limit = query_int(request, "limit", default=20, low=1, high=100)
        rows = service.payments[(page - 1) * limit : page * limit]
        total = len(service.payments)
        return ok(
            {
                "payments": rows,
                "total": total,
                "page": page,
                "limit": limit,
                "totalPages": max(1, math.ceil(total / limit)),
            }
        )

    async def me(request: web.Request) -> web.Response:
        personal(request)
        user = state.personal.user
        code = service.code
        return ok({**user, "plan": {"code": code, "name": CATALOGUE[code][0]}})

    router = app.router
    router.add_get(PREFIX + "/billing/plans", plans)
    router.add_get(PREFIX + "/billing/subscription", subscription)
    router.add_get(PREFIX + "/billing/usage", usage)
    router.add_get(PREFIX + "/billing/payments", payments)
    router.add_get(PREFIX + "/usage", usage)
    router.add_get(PREFIX + "/me", me)
