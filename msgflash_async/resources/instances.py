"""``client.instances``: the WhatsApp numbers connected to the account (read-only)."""

from __future__ import annotations

from .._converter import items_of, structure
from .._pagination import AsyncPaginator, Page
from ..models.instances import Instance, InstanceHealth, InstanceState
from ._base import Resource, api_path, unwrap

__all__ = ["Instances"]


class Instances(Resource):
    """List instances, read one, read its live connection state and its health."""

    def list(self) -> AsyncPaginator[Instance]:
        """Every instance: ``await`` for them as one page, or ``async for`` each.

        The endpoint is not paginated (a plain array); the paginator is kept
        so every list of the SDK reads the same way.
        """
        path = api_path("instances")

        async def fetch(_: str | None) -> Page[Instance]:
            response = await self._call("GET", path)
            items = structure(items_of(response.data, ("instances", "items")), list[Instance])
            return Page(items=items, total=len(items))

        return AsyncPaginator(fetch)

    async def get(self, instance_id: str) -> Instance:
        response = await self._call("GET", api_path("instances", instance_id))
        return structure(unwrap(response.data, "instance"), Instance)

    async def state(self, instance_id: str) -> InstanceState:
        """The live connection state (``status``, provider's ``provider_state``)."""
        response = await self._call("GET", api_path("instances", instance_id, "state"))
        return structure(response.data, InstanceState)

    async def health(self, instance_id: str) -> InstanceHealth:
        """Warm-up and sending health, an open model: the shape is not documented.

        ``health.data`` holds every field the server sent, unknown ones
        included; ``health.get("warmup")`` reads one.
        """
        response = await self._call("GET", api_path("instances", instance_id, "health"))
        return structure(response.data, InstanceHealth)
