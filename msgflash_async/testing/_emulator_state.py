"""Everything the emulator remembers, in one object route modules receive.

:class:`EmulatorState` holds the settings, the fault knobs, the request
record, the rate-limit windows and two :class:`Workspace` stores (personal
key and team key), mirroring the real API where a team key sees the team's
data, not the owner's personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import attrs
from aiohttp import web

from msgflash_async._json import loads

from .._repr import tolerant_repr
from ._contact_store import ContactIndex, Group
from ._events import EventBus
from ._faults import Faults
from ._http import ApiFailure, Stamper, new_id
from ._job_records import BulkJob, JobFailure, JobPlan
from ._lifecycle import Lifecycle
from ._message_store import InstanceRecord, MessageLog, MessageRecord, TemplateRecord

if TYPE_CHECKING:
    from ._campaign_runner import CampaignRecord

__all__ = ["EmulatorSettings", "EmulatorState", "RequestRecord", "Workspace"]

INVALID_KEY = "Invalid or missing API key"


@attrs.define
class EmulatorSettings:
    """Behaviour knobs; mutable so a test can change them while the server runs."""

    rate_limit: int | None = 10  # accepted requests per key per window; None or 0 = off
    rate_window: float = 1.0
    monthly_api_quota: int | None = None  # accepted requests before the monthly 429
    max_contact_groups: int | None = 50  # None = unlimited
    async_threshold: int = 100  # bulk calls with this many ids or more become jobs
    job_rate: float | None = 1000.0  # items per second; None = instant
    job_start_delay: float = 0.05  # seconds a job stays pending
    record_requests: bool = True
    # Messages (see _message_routes.py and _lifecycle.py).
    monthly_outbound_quota: int | None = None  # accepted sends before the outbound 429
    subscription_active: bool = True  # False: sends and schedules get 403 SUBSCRIPTION_INACTIVE
    message_step: float | None = 0.2  # seconds per lifecycle step; None or 0 = instant
    read_receipts: bool = True  # False: every message stops at "delivered"
    failing_numbers: set[str] = attrs.field(factory=set)  # accepted, then "failed"
    invalid_numbers: set[str] = attrs.field(factory=set)  # 422 INVALID_DESTINATION
    unread_numbers: set[str] = attrs.field(factory=set)  # stop at "delivered"
    # The steps after "queued" of every message not failing (None: sent, delivered,
    # read); statuses the SDK does not know go here, e.g. ("sent", ..., "read", "played").
    delivery_path: tuple[str, ...] | None = None
    # Campaigns (see _campaign_runner.py): messages enqueued per second; None = all at once.
    campaign_rate: float | None = 200.0
    campaign_warn_above: int = 1000  # audiences larger than this get "warn" safety guidance
    # Plan feature switches: a feature missing here answers 403 <FEATURE>_NOT_AVAILABLE_ON_PLAN.
    features: set[str] = attrs.field(factory=lambda: {"campaigns", "statuses", "webhooks"})
    # Number lookups (see _lookups.py): E.164 numbers reported as not on WhatsApp.
    not_on_whatsapp: set[str] = attrs.field(factory=set)
    # Billing (see _billing.py): the plan /billing/* reports, its limits from the knobs above.
    plan_code: str = "pro"


class RequestRecord:
    """One request as the server saw it. ``status`` is None when no full reply was sent."""

    __slots__ = ("body", "fault", "method", "path", "query", "route", "status", "time")

    def __init__(self, method: str, path: str, query: str, body: bytes, at: float) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.time = at
        self.route: str | None = None  # the route template, "/api/v1/contacts/{id}"
        self.status: int | None = None
        self.fault: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """The query string decoded (last value wins for repeated keys)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def json(self) -> Any:
        """The body decoded as JSON (None when empty)."""
        return loads(self.body) if self.body else None

    @tolerant_repr
    def __repr__(self) -> str:
        return f"<RequestRecord {self.method} {self.path}?{self.query} -> {self.status}>"


class Workspace:
    """Contacts, groups, bulk jobs, instances, templates and messages of one workspace."""

    def __init__(self, state: EmulatorState, instance_id: str | None = None) -> None:
        self._state = state
        self.stamps = Stamper()  # createdAt of contacts and groups
        self.contacts = ContactIndex()
        self.groups: dict[str, Group] = {}
        self.memberships: dict[str, set[str]] = {}  # contact id -> group ids
        self.jobs: list[BulkJob] = []  # oldest first
        self.jobs_by_id: dict[str, BulkJob] = {}
        self._active: list[BulkJob] = []
        # The account user behind {{user.*}} and a message's userId.
        self.user = {"id": new_id(), "name": "Emulator User", "email": "user@example.com"}
        self.instances: dict[str, InstanceRecord] = {}
        self.templates: dict[str, TemplateRecord] = {}
        self.messages = MessageLog()
        self.statuses: list[dict[str, Any]] = []  # published statuses, oldest first
        self.campaigns: dict[str, CampaignRecord] = {}
        self.default_instance = self.add_instance("Main instance", instance_id=instance_id)

    def add_instance(
        self,
        name: str,
        *,
        wa_number: str | None = None,
        status: str = "connected",
        instance_id: str | None = None,
    ) -> InstanceRecord:
        number = wa_number or f"+1555{secrets.randbelow(10**7):07d}"
        instance = InstanceRecord(name, number, status, self.stamps.next(), instance_id)
        self.instances[instance.id] = instance
        return instance

    def instance(self, instance_id: str) -> InstanceRecord:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiFailure(404, "NOT_FOUND", "Instance not found")
        return instance

    def tick(self) -> None:
        """Advance running bulk jobs to the current clock time."""
        if not self._active:
            return
        now = self._state.clock()
        for job in self._active:
            job.advance(now, self._effect(job))
        self._active = [job for job in self._active if not job.terminal]

    def group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise ApiFailure(404, "NOT_FOUND", "Contact group not found")
        return group

    def delete_contact(self, contact_id: str) -> str:
        if self.contacts.remove(contact_id) is None:
            return "notFound"
        for group_id in self.memberships.pop(contact_id, ()):
            self.groups[group_id].members.pop(contact_id, None)
        return "deleted"

    def add_member(self, group: Group, contact_id: str) -> str:
        if contact_id not in self.contacts.by_id:
            return "notFound"
        if contact_id in group.members:
            return "alreadyInGroup"
        group.members[contact_id] = None
        self.memberships.setdefault(contact_id, set()).add(group.id)
        return "added"

    def remove_member(self, group: Group, contact_id: str) -> str:
        if contact_id not in group.members:
            return "notInGroup"
        del group.members[contact_id]
        self.memberships.get(contact_id, set()).discard(group.id)
        return "removed"

    def delete_group(self, group: Group) -> None:
        del self.groups[group.id]
        for contact_id in group.members:
            self.memberships.get(contact_id, set()).discard(group.id)

    def start_job(self, operation: str, items: list[str], group_id: str | None) -> BulkJob:
        job = BulkJob(operation, items, group_id, self._state.next_job_plan(len(items)))
        self.jobs.append(job)
        self.jobs_by_id[job.id] = job
        self._active.append(job)
        return job

    def _effect(self, job: BulkJob) -> Callable[[str], str]:
        if job.operation == "bulk_delete_contacts":
            return self.delete_contact
        group_id = job.group_id or ""
        add = job.operation == "add_to_group"

        def apply(contact_id: str) -> str:
            group = self.groups.get(group_id)
            if group is None:
                raise JobFailure("Contact group was deleted")
            if add:
                return self.add_member(group, contact_id)
            return self.remove_member(group, contact_id)

        return apply


class EmulatorState:
    """Settings, keys, faults, records and workspaces shared by every route module."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        api_key: str | None = None,
        team_key: str | None = None,
        team_id: str | None = None,
        instance_id: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.faults = Faults()
        self.events = EventBus()  # webhook payloads: messages, instances
        self.lifecycle = Lifecycle(self)
        self.outbound: list[MessageRecord] = []  # every accepted send/schedule, arrival order
        self.api_key = api_key or "msgf_live_" + secrets.token_hex(32)
        self.team_key = team_key or "msgf_team_" + secrets.token_hex(32)
        self.team_id = team_id or new_id()
        self.clock: Callable[[], float] = clock or time.monotonic
        self.personal = Workspace(self, instance_id)
        self.team = Workspace(self)
        self.requests: list[RequestRecord] = []
        self.accepted: dict[str, list[float]] = {}  # arrival times per key, for audits
        self.rate_limited = 0
        self.api_requests = 0  # counts toward the monthly quota
        self.server_errors: list[BaseException] = []
        self.job_failures: deque[tuple[float, str]] = deque()
        self._windows: dict[str, deque[float]] = {}
        self.closing = asyncio.Event()

    def workspace_for_key(self, api_key: str | None, team_id: str | None) -> Workspace:
        """Resolve a key (and ``X-Team-Id``) to a workspace, applying the team rules."""
        if api_key is not None and api_key == self.api_key:
            if team_id is not None:
                message = "X-Team-Id requires a team API key (msgf_team_...)"
                raise ApiFailure(403, "TEAM_KEY_REQUIRED", message)
            return self.personal
        if api_key is not None and api_key == self.team_key and team_id == self.team_id:
            return self.team
        raise ApiFailure(401, "UNAUTHORIZED", INVALID_KEY)

    def workspace(self, request: web.Request) -> Workspace:
        """The caller's workspace (auth already passed), with jobs advanced to now."""
        headers = request.headers
        workspace = self.workspace_for_key(headers.get("x-api-key"), headers.get("X-Team-Id"))
        workspace.tick()
        self.lifecycle.run_due()
        return workspace

    def admit(self, api_key: str) -> None:
        """Sliding-window rate limit per key, then the monthly quota; raise the 429s."""
        now = time.monotonic()
        limit = self.settings.rate_limit
        if limit:  # None or 0: off, as the client's rate_limit
            window = self._windows.setdefault(api_key, deque())
            horizon = now - self.settings.rate_window
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= limit:
                self.rate_limited += 1
                raise ApiFailure(429, "API_RATE_LIMIT_EXCEEDED", "Too many API requests")
            window.append(now)
        quota = self.settings.monthly_api_quota
        if quota is not None and self.api_requests >= quota:
            message = "Monthly API request quota exceeded"
            raise ApiFailure(429, "MONTHLY_API_REQUEST_QUOTA_EXCEEDED", message)
        self.api_requests += 1
        self.accepted.setdefault(api_key, []).append(now)

    def max_requests_in_any_window(self, window: float = 1.0, api_key: str | None = None) -> int:
        """Most accepted requests inside any ``window``-second span (two-pointer sweep)."""
        keys = [api_key] if api_key is not None else list(self.accepted)
        best = 0
        for key in keys:
            times = self.accepted.get(key, [])
            start = 0
            for end, at in enumerate(times):
                while at - times[start] >= window:
                    start += 1
                best = max(best, end - start + 1)
        return best

    def next_job_plan(self, size: int) -> JobPlan:
        settings = self.settings
        plan = JobPlan(self.clock() + settings.job_start_delay, settings.job_rate)
        if self.job_failures:
            fraction, message = self.job_failures.popleft()
            plan.fail_at = int(size * fraction)
            plan.fail_message = message
        return plan

    async def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the emulator stops, so shutdown never waits on it."""
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)
