"""``client.instances``: the WhatsApp numbers connected to the account (read-only)."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from ..models.instances import Instance, InstanceHealth, InstanceState
from ._base import Resource, api_path

__all__ = ["Instances"]


class Instances(Resource):
    """List instances, read one, read its live connection state and its health."""

    def list(self) -> AsyncPaginator[Instance]:
        """Every instance: ``await`` for them as one page, or ``async for`` each.

        The endpoint is not paginated (a plain array); the paginator is kept
        so every list of the SDK reads the same way.
        """
        return self._whole_list(api_path("instances"), Instance, ("instances", "items"))

    async def get(self, instance_id: str) -> Instance:
        return await self._get(api_path("instances", instance_id), Instance, key="instance")

    async def state(self, instance_id: str) -> InstanceState:
        """The live connection state (``status``, provider's ``provider_state``)."""
        return await self._get(api_path("instances", instance_id, "state"), InstanceState)

    async def health(self, instance_id: str) -> InstanceHealth:
        """Warm-up and sending health, an open model: the shape is not documented.

        ``health.data`` holds every field the server sent, unknown ones
        included; ``health.get("warmup")`` reads one.
        """
        return await self._get(api_path("instances", instance_id, "health"), InstanceHealth)
