"""Webhook endpoints (``/api/v1/webhooks``) and the delivery of events to them.

Routes register, list and delete endpoints per workspace. A subscriber on
``state.events`` turns every published payload into one delivery per
endpoint subscribed to its event; a background worker POSTs each one,
signed like MsgFlash signs (``X-MsgFlash-Signature: sha256=<hex>`` over the
raw body), retrying on a non-2xx answer or a connection error. Knobs on
:class:`WebhookSettings` rehearse what the documentation leaves open:
at-least-once delivery (duplicates) and no ordering guarantee (jitter).

The worker's ``ClientSession`` lives from the app's startup to its shutdown
(aiohttp signals), so an ``Emulator`` owns it without knowing about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import secrets
import time
from collections import deque
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import attrs
from aiohttp import web

from msgflash_async._json import dumps
from msgflash_async.webhooks._signature import EVENT_HEADER, SIGNATURE_HEADER, sign

from ._emulator_state import EmulatorState, Workspace
from ._http import ApiFailure, Stamper, Validator, new_id, not_found, ok, read_json
from ._statuses import require_feature

__all__ = [
    "WEBHOOKS_KEY",
    "DeliveryRecord",
    "Endpoint",
    "WebhookService",
    "WebhookSettings",
    "add_routes",
]

EVENT_NAMES: Final = frozenset(
    {
        "instance.connected",
        "instance.disconnected",
        "message.sent",
        "message.delivered",
        "message.read",
        "message.failed",
        "message.received",
    }
)
MAX_EVENTS: Final = 50


@attrs.define
class WebhookSettings:
    """Behaviour knobs; mutable, so a test may change them while the server runs."""

    available: bool = True  # False: the plan has no webhooks (403 on create)
    max_endpoints: int | None = 15  # per workspace; None = unlimited
    max_attempts: int = 3  # tries per delivery, the first included
    retry_backoff: float = 0.05  # seconds before the 2nd try, doubled for each next one
    timeout: float = 5.0  # seconds per try
    concurrency: int = 8  # tries in flight at once; 1 keeps publish order (without jitter)
    duplicates: float = 0.0  # chance each delivery is sent twice; 1.0 = every one
    jitter: float = 0.0  # each delivery first waits a random 0..jitter s: reorders them
    seed: int | None = None  # seeds the duplicate and jitter draws


@attrs.define
class Endpoint:
    """A registered URL; ``secret`` is shown only in the create reply."""

    url: str
    events: list[str]
    secret: str = attrs.field(repr=False)
    created_at: str
    id: str = attrs.field(factory=new_id)
    active: bool = True

    def to_wire(self, *, with_secret: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "url": self.url, "events": list(self.events)}
        if with_secret:
            body["secret"] = self.secret
        body.update(active=self.active, createdAt=self.created_at)
        return body


@attrs.define
class DeliveryRecord:
    """One try of one delivery. ``status`` is None when no answer came (see ``error``)."""

    endpoint_id: str
    url: str
    event: str
    payload: dict[str, Any] = attrs.field(repr=False)
    attempt: int
    status: int | None = None
    error: str | None = None
    duplicate: bool = False  # the extra copy made by the ``duplicates`` knob
    at: float = attrs.field(factory=time.monotonic, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@attrs.frozen
class _Job:
    endpoint: Endpoint
    payload: dict[str, Any]
    body: bytes
    delay: float
    duplicate: bool


class WebhookService:
    """Endpoints per workspace, the delivery worker and its record."""

    def __init__(self, state: EmulatorState) -> None:
        self.settings = WebhookSettings()
        self.deliveries: list[DeliveryRecord] = []
        self._endpoints: dict[Workspace, dict[str, Endpoint]] = {}
        self._stamps = Stamper()
        self._rng = random.Random()
        self._seeded: int | None = None
        self._queue: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending = 0  # queued + in flight
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(1)
        self._unsubscribe = state.events.subscribe(self.publish)

    # -- endpoints -----------------------------------------------------------

    def endpoints(self, workspace: Workspace) -> list[Endpoint]:
        """The endpoints of ``workspace``, oldest first."""
        return list(self._endpoints.get(workspace, {}).values())

    def register(self, workspace: Workspace, url: str, events: list[str]) -> Endpoint:
        """Add an endpoint after the plan checks (what ``POST /webhooks`` does)."""
        settings = self.settings
        if not settings.available:
            message = "Webhooks are not available on your plan"
            raise ApiFailure(403, "WEBHOOKS_NOT_AVAILABLE_ON_PLAN", message)
        owned = self._endpoints.setdefault(workspace, {})
        if settings.max_endpoints is not None and len(owned) >= settings.max_endpoints:
            message = f"Webhook endpoint limit reached ({settings.max_endpoints})"
            raise ApiFailure(403, "MAX_WEBHOOK_ENDPOINTS_REACHED", message)
        secret = "whsec_" + secrets.token_urlsafe(24)
        endpoint = Endpoint(url, events, secret, self._stamps.next())
        owned[endpoint.id] = endpoint
        return endpoint

    def unregister(self, workspace: Workspace, endpoint_id: str) -> Endpoint:
        endpoint = self._endpoints.get(workspace, {}).pop(endpoint_id, None)
        if endpoint is None:
            raise not_found("Webhook")
        return endpoint

    # -- publishing ----------------------------------------------------------

    def publish(self, workspace: Workspace, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for every endpoint of ``workspace`` subscribed to its event.

        The event bus calls this synchronously; all I/O happens in the worker.
        """
        event = payload.get("event")
        targets = [e for e in self.endpoints(workspace) if e.active and event in e.events]
        if not targets:
            return
        # The same bytes go to every endpoint and every copy, as a real redelivery would.
        body = dumps(payload)
        rng = self._random()
        for endpoint in targets:
            copies = 2 if rng.random() < self.settings.duplicates else 1
            for copy in range(copies):
                delay = rng.uniform(0, self.settings.jitter) if self.settings.jitter > 0 else 0.0
                self._enqueue(_Job(endpoint, payload, body, delay, duplicate=copy > 0))

    def _random(self) -> random.Random:
        # Reseed when a test sets (or changes) ``settings.seed`` after construction.
        if self.settings.seed is not None and self.settings.seed != self._seeded:
            self._rng.seed(self.settings.seed)
            self._seeded = self.settings.seed
        return self._rng

    def _enqueue(self, job: _Job) -> None:
        self._pending += 1
        self._idle.clear()
        self._queue.append(job)
        self._wakeup.set()

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every queued delivery has succeeded or used up its tries."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # -- lifecycle (aiohttp app signals) -----------------------------------------

    async def start(self, _: web.Application | None = None) -> None:
        self._session = aiohttp.ClientSession()
        # ``concurrency`` is read here, once; the other knobs on every delivery.
        self._limit = asyncio.Semaphore(max(1, self.settings.concurrency))
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, _: web.Application | None = None) -> None:
        """Cancel what is in flight, then close the session; idempotent."""
        tasks = [t for t in (self._worker, *self._tasks) if t is not None]
        self._worker = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                task = asyncio.get_running_loop().create_task(self._deliver(self._queue.popleft()))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, job: _Job) -> None:
        try:
            if job.delay > 0:
                await asyncio.sleep(job.delay)
            for attempt in range(1, self.settings.max_attempts + 1):
                if attempt > 1:
                    await asyncio.sleep(self.settings.retry_backoff * 2 ** (attempt - 2))
                async with self._limit:
                    record = await self._post(job, attempt)
                self.deliveries.append(record)
                if record.succeeded:
                    return
        finally:
            self._pending -= 1
            if self._pending == 0:
                self._idle.set()

    async def _post(self, job: _Job, attempt: int) -> DeliveryRecord:
        event = str(job.payload.get("event"))
        record = DeliveryRecord(
            job.endpoint.id, job.endpoint.url, event, job.payload, attempt, duplicate=job.duplicate
        )
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(job.body, job.endpoint.secret),
            EVENT_HEADER: event,
        }
        assert self._session is not None, "delivery before the emulator started"
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        post = self._session.post(job.endpoint.url, data=job.body, headers=headers, timeout=timeout)
        try:
            async with post as r:
                await r.read()
                record.status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        return record


WEBHOOKS_KEY: Final = web.AppKey("msgflash_webhooks", WebhookService)
"""Where :func:`add_routes` keeps the service: ``app[WEBHOOKS_KEY]``."""


# -- routes -------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(value: Any) -> str | None:
    """Why ``value`` is not an acceptable URL, or None (HTTPS; HTTP to loopback for tests)."""
    if not isinstance(value, str) or not value:
        return "is required and must be a string"
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "must be a valid URL"
    if not host or parts.scheme not in ("https", "http"):
        return "must be an absolute https URL"
    if parts.scheme == "http" and not _is_loopback(host):
        return "must use https"
    return None


def _check_events(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be an array of event names"
    if not 1 <= len(value) <= MAX_EVENTS:
        return f"must contain 1 to {MAX_EVENTS} events"
    unknown = sorted(set(value) - EVENT_NAMES)
    if unknown:
        return f"unknown events: {', '.join(unknown)}"
    if len(set(value)) != len(value):
        return "must not contain duplicates"
    return None


def add_routes(app: web.Application, state: EmulatorState) -> None:
    """Install the webhook routes and the delivery worker on ``app``."""
    service = WebhookService(state)
    app[WEBHOOKS_KEY] = service
    app.on_startup.append(service.start)
    app.on_shutdown.append(service.stop)

    async def list_webhooks(request: web.Request) -> web.Response:
        workspace = state.workspace(request)
        require_feature(state, "webhooks")
        return ok([e.to_wire(with_secret=False) for e in service.endpoints(workspace)])

    async def create_webhook(request: web.Request) -> web.Response:
        workspace = state.workspace(request)
        require_feature(state, "webhooks")
        body = await read_json(request)
        checks = Validator(body)
        for field, problem in (
            ("url", _check_url(body.get("url"))),
            ("events", _check_events(body.get("events"))),
        ):
            if problem is not None:
                checks.fail(field, problem)
        checks.check()
        endpoint = service.register(workspace, body["url"], list(body["events"]))
        return ok(endpoint.to_wire(with_secret=True), status=201)

    async def delete_webhook(request: web.Request) -> web.Response:
        workspace = state.workspace(request)
        require_feature(state, "webhooks")
        endpoint = service.unregister(workspace, request.match_info["webhook_id"])
        return ok({"id": endpoint.id, "deleted": True})

    app.router.add_get("/api/v1/webhooks", list_webhooks)
    app.router.add_post("/api/v1/webhooks", create_webhook)
    app.router.add_delete("/api/v1/webhooks/{webhook_id}", delete_webhook)
