"""``client.instances``: the WhatsApp numbers connected to the account (read-only)."""

from __future__ import annotations

from .._converter import items_of, structure
from .._pagination import AsyncPaginator, Page
from ..models.instances import Instance, InstanceState
from ._base import Resource, api_path, unwrap

__all__ = ["Instances"]


class Instances(Resource):
    """List instances, read one, read its live connection state."""

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
