"""Instances: the WhatsApp numbers connected to the account.

Instances are created, connected (QR or pairing code) and deleted in the
dashboard; the API reads them. Use ``Instance.id`` as ``instance_id`` when
sending, never its name or number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = ["Instance", "InstanceHealth", "InstanceState", "InstanceStatus"]


class InstanceStatus(OpenEnum):
    """Connection state of an instance; only ``connected`` can send."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


@frozen
class Instance:
    """A connected WhatsApp number.

    ``wa_number`` is shown both with and without the leading ``+`` in the
    documentation, so it is kept as sent. ``webhook`` and ``meta`` have no
    documented shape.
    """

    id: str
    name: str | None = None
    wa_number: str | None = None
    status: InstanceStatus | None = None
    webhook: Any = attrs.field(default=None, hash=False)
    meta: dict[str, Any] | None = attrs.field(default=None, hash=False)
    deleted_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def connected(self) -> bool:
        return self.status is InstanceStatus.CONNECTED


@frozen
class InstanceState:
    """Live connection state; ``provider_state`` is the provider's word (``open``)."""

    instance_id: str | None = None
    status: InstanceStatus | None = None
    provider_state: str | None = None

    @property
    def connected(self) -> bool:
        return self.status is InstanceStatus.CONNECTED


@frozen
class InstanceHealth:
    """Warm-up and sending health of an instance (``instances.health()``).

    The shape of this answer is not documented, so this is an open model: the
    few likely fields are read when present and well-typed (``None``
    otherwise), and :attr:`data` keeps every field exactly as sent, unknown
    ones included.
    """

    instance_id: str | None = None
    status: InstanceStatus | None = None
    healthy: bool | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def get(self, key: str, default: Any = None) -> Any:
        """A field by the name the server gave it."""
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data
