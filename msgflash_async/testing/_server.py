"""The :class:`Emulator`: an in-process MsgFlash API on a real loopback socket.

Route modules plug in through :data:`ROUTE_MODULES`: each is a callable
``add_routes(app, state)``. Order matters where literal paths share a prefix
with a ``{param}`` route (``/contacts/groups`` v. ``/contacts/{id}``):
aiohttp tries routes in registration order, so the literal ones go first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from . import (
    _billing,
    _campaigns,
    _contacts,
    _groups,
    _inspect,
    _instances,
    _job_routes,
    _lookups,
    _message_routes,
    _statuses,
    _templates,
    _webhooks,
)
from ._contact_store import Group, seeded_contacts
from ._emulator_state import EmulatorSettings, EmulatorState, RequestRecord, Workspace
from ._faults import Faults
from ._message_controls import MessagingMixin
from ._middleware import build_middlewares

__all__ = ["ROUTE_MODULES", "Emulator", "RouteInstaller", "build_app", "run_emulator"]

RouteInstaller = Callable[[web.Application, EmulatorState], None]

ROUTE_MODULES: tuple[RouteInstaller, ...] = (
    _inspect.add_routes,  # /_emulator/...: outside /api/v1, for audits from another process
    _job_routes.add_routes,
    _webhooks.add_routes,
    _lookups.add_routes,
    _billing.add_routes,
    _groups.add_routes,
    _instances.add_routes,
    _templates.add_routes,
    _message_routes.add_routes,
    _statuses.add_routes,
    _campaigns.add_routes,
    _contacts.add_routes,  # last: its /contacts/{id} would shadow the literal paths above
)

# Bulk membership calls carry up to 10 000 ids; aiohttp's 1 MiB default is tight.
CLIENT_MAX_SIZE = 8 * 1024 * 1024


def _settings(settings: EmulatorSettings | None, knobs: dict[str, Any]) -> EmulatorSettings:
    """``settings`` (a copy, the caller's object stays as it is) with ``knobs`` applied."""
    if "features" in knobs and knobs["features"] is not None:
        knobs = {**knobs, "features": set(knobs["features"])}  # plan switches
    elif "features" in knobs:
        knobs = {k: v for k, v in knobs.items() if k != "features"}
    return attrs.evolve(settings if settings is not None else EmulatorSettings(), **knobs)


def build_app(state: EmulatorState, extra: Iterable[RouteInstaller] = ()) -> web.Application:
    """The emulator's ``web.Application`` (useful with aiohttp's own test utilities)."""
    app = web.Application(middlewares=build_middlewares(state), client_max_size=CLIENT_MAX_SIZE)
    for install in (*extra, *ROUTE_MODULES):
        install(app, state)
    return app


class Emulator(MessagingMixin):
    """A MsgFlash API emulator served over HTTP on 127.0.0.1 (port 0: any free port).

    Use ``async with Emulator() as emu:`` or ``await emu.start()`` / ``await emu.stop()``.
    Point a client at :attr:`base_url` with :attr:`api_key` (or :attr:`team_key` plus
    :attr:`team_id`). Those and the seeded :attr:`instance_id` are random unless
    given, e.g. to keep a batch journal valid across two emulator runs. Knobs
    live on :attr:`settings` and :attr:`faults` and may be changed while the
    server runs; message, template and instance knobs and records
    come from :class:`~._message_controls.MessagingMixin`. An instance
    serves once: it cannot be restarted.
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        team_key: str | None = None,
        team_id: str | None = None,
        instance_id: str | None = None,
        clock: Callable[[], float] | None = None,
        extra_routes: Sequence[RouteInstaller] = (),
        **knobs: Any,
    ) -> None:
        """Serve with ``settings`` (default :class:`EmulatorSettings`), changed by ``knobs``.

        ``knobs`` are :class:`EmulatorSettings` fields given as keywords
        (``Emulator(rate_limit=None, message_step=0)``); an unknown one is a
        ``TypeError``. ``features`` may be any iterable of feature names.
        """
        self.settings = _settings(settings, knobs)
        self.state = EmulatorState(
            self.settings,
            api_key=api_key,
            team_key=team_key,
            team_id=team_id,
            instance_id=instance_id,
            clock=clock,
        )
        self.app = build_app(self.state, extra_routes)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._lifecycle_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("Emulator already started")
        # No access log: benchmarks push 100k requests through here.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            # A port in use: close what setup opened (the webhook worker's session).
            await self.stop()
            raise
        self._port = runner.addresses[0][1]
        # One task advances every message lifecycle, so webhook events flow unpolled.
        self._lifecycle_task = asyncio.get_running_loop().create_task(self.state.lifecycle.run())

    async def stop(self) -> None:
        """Stop serving; idempotent. Pending injected delays end at once."""
        runner, self._runner = self._runner, None
        task, self._lifecycle_task = self._lifecycle_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runner is not None:
            self.state.closing.set()
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- connection details ------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; routes live under ``/api/v1/...``."""
        if self._runner is None:
            raise RuntimeError("Emulator not started")
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def team_key(self) -> str:
        return self.state.team_key

    @property
    def team_id(self) -> str:
        return self.state.team_id

    def headers(self, *, team: bool = False) -> dict[str, str]:
        """Auth headers for a raw HTTP client (personal workspace, or the team one)."""
        if team:
            return {"x-api-key": self.team_key, "X-Team-Id": self.team_id}
        return {"x-api-key": self.api_key}

    # -- knobs and records -------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self.state.requests

    @property
    def rate_limited_count(self) -> int:
        """How many requests got the 429 ``API_RATE_LIMIT_EXCEEDED`` from the limiter."""
        return self.state.rate_limited

    @property
    def server_errors(self) -> list[BaseException]:
        """Unexpected exceptions inside the emulator (answered as 500); should stay empty."""
        return self.state.server_errors

    @property
    def webhooks(self) -> _webhooks.WebhookService:
        """Webhook endpoints, delivery knobs (``.settings``) and ``await .wait_idle()``."""
        return self.app[_webhooks.WEBHOOKS_KEY]

    @property
    def billing(self) -> _billing.BillingService:
        """Plan, payments (``add_payment``) and usage counters behind ``/billing/*``."""
        return self.app[_billing.BILLING_KEY]

    @property
    def number_lookups(self) -> _lookups.LookupService:
        """Every lookup made so far; which numbers are absent is ``settings.not_on_whatsapp``."""
        return self.app[_lookups.LOOKUPS_KEY]

    @property
    def webhook_deliveries(self) -> list[_webhooks.DeliveryRecord]:
        """Every webhook delivery try so far (url, event, status, attempt), in order."""
        return self.webhooks.deliveries

    def clear_requests(self) -> None:
        self.state.requests.clear()

    def requests_per_route(self) -> dict[str, int]:
        """``{"GET /api/v1/contacts/{id}": 3, ...}``: recorded requests by route template."""
        return _inspect.requests_per_route(self.state)

    def audit(self) -> dict[str, Any]:
        """The summary ``GET /_emulator/audit`` serves: totals, routes, duplicates, 429s."""
        return _inspect.audit(self.state)

    def max_requests_in_any_window(self, window: float = 1.0, api_key: str | None = None) -> int:
        """Most requests the limiter accepted inside any ``window``-second span."""
        return self.state.max_requests_in_any_window(window, api_key)

    def fail_next_job(
        self, message: str = "Simulated bulk job failure", *, at: float = 0.5
    ) -> None:
        """Make the next queued job (bulk job or number lookup) fail once ``at`` (0..1) is done."""
        self.state.job_failures.append((at, message))

    # -- direct state access (no HTTP) -------------------------------------

    def workspace(self, *, team: bool = False) -> Workspace:
        """The store behind the personal key, or the team key's store."""
        workspace = self.state.team if team else self.state.personal
        workspace.tick()
        return workspace

    def seed_contacts(
        self,
        n: int,
        *,
        name_prefix: str = "Contact",
        tags: Sequence[str] = (),
        team: bool = False,
    ) -> list[str]:
        """Insert ``n`` contacts directly (fast: no HTTP, one index sort); return their ids.

        They get unique ``+1...`` phones and creation stamps 1 ms apart, newer than any
        existing contact, so the default newest-first listing returns them in reverse.
        """
        workspace = self.workspace(team=team)
        index = workspace.contacts
        # Reserve n fresh milliseconds so seeded stamps never tie with API-made ones.
        end_ms = workspace.stamps.reserve(n)
        contacts = seeded_contacts(
            n,
            name_prefix=name_prefix,
            tags=list(tags),
            taken=index.by_phone.__contains__,
            start=2_000_000_000 + len(index),
            end_ms=end_ms,
        )
        index.add_many(contacts)
        return [contact.id for contact in contacts]

    def seed_group(
        self,
        name: str,
        *,
        contact_ids: Iterable[str] = (),
        description: str | None = None,
        color: str | None = None,
        team: bool = False,
    ) -> str:
        """Create a group directly (ignoring the plan cap) with the given members."""
        workspace = self.workspace(team=team)
        group = Group(name, description, color, workspace.stamps.next())
        workspace.groups[group.id] = group
        for contact_id in contact_ids:
            workspace.add_member(group, contact_id)
        return group.id


async def run_emulator(host: str = "127.0.0.1", port: int = 8080, **options: Any) -> None:
    """Serve an emulator until cancelled (``python -m msgflash_async emulator``).

    ``options`` are :class:`Emulator` keyword arguments (e.g. ``api_key``, ``rate_limit``).
    """
    async with Emulator(host=host, port=port, **options) as emulator:
        # Printing the keys is the point here: they are throwaway keys of a
        # local emulator, and a user needs them to point a client at it.
        print(
            f"MsgFlash emulator serving {emulator.base_url}/api/v1/ (Ctrl-C to stop)\n"
            "Point a client at it with:\n"
            f"  export MSGFLASH_BASE_URL={emulator.base_url}\n"
            f"  export MSGFLASH_API_KEY={emulator.api_key}\n"
            "or, for the team workspace:\n"
            f"  export MSGFLASH_API_KEY={emulator.team_key}\n"
            f"  export MSGFLASH_TEAM_ID={emulator.team_id}\n"
            f"A connected instance to send from: {emulator.instance_id}",
            flush=True,
        )
        await asyncio.Event().wait()
