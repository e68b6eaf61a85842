"""Instance routes: read-only, as in the public API (connecting happens in the dashboard).

Each workspace starts with one connected instance; tests add more or change
their status with ``Emulator.add_instance`` / ``Emulator.set_instance_status``.
"""

from __future__ import annotations

from aiohttp import web

from ._emulator_state import EmulatorState
from ._http import iso_now, ok
from ._message_store import WORKER_SAFETY, InstanceRecord

__all__ = ["DAILY_LIMIT", "add_routes", "health"]

PREFIX = "/api/v1/instances"
DAILY_LIMIT = 1000  # the warm-up cap /health reports; nothing enforces it


def health(instance: InstanceRecord) -> dict[str, object]:
    """The ``/health`` body. Its shape is not documented: this one is a plausible guess
    (connection, warm-up budget, the safety verdict messages carry)."""
    return {
        "instanceId": instance.id,
        "status": instance.status,
        "providerState": instance.provider_state,
        "healthy": instance.connected,
        "warmup": {"state": "stable", "dailyLimit": DAILY_LIMIT, "sentToday": instance.sent},
        "workerSafety": dict(WORKER_SAFETY),
        "checkedAt": iso_now(),
    }


class _InstanceRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _instance(self, request: web.Request) -> InstanceRecord:
        return self.state.workspace(request).instance(request.match_info["instance_id"])

    async def list(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        return ok([instance.to_wire() for instance in workspace.instances.values()])

    async def get(self, request: web.Request) -> web.Response:
        return ok(self._instance(request).to_wire())

    async def state_of(self, request: web.Request) -> web.Response:
        instance = self._instance(request)
        return ok(
            {
                "instanceId": instance.id,
                "status": instance.status,
                "providerState": instance.provider_state,
            }
        )

    async def health(self, request: web.Request) -> web.Response:
        return ok(health(self._instance(request)))


def add_routes(app: web.Application, state: EmulatorState) -> None:
    routes = _InstanceRoutes(state)
    router = app.router
    router.add_get(PREFIX, routes.list)
    router.add_get(PREFIX + "/{instance_id}", routes.get)
    router.add_get(PREFIX + "/{instance_id}/state", routes.state_of)
    router.add_get(PREFIX + "/{instance_id}/health", routes.health)
