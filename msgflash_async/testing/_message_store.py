"""In-memory instances, templates and messages of one workspace.

Plain slotted records with a ``to_wire`` for the documented JSON shape, like
:mod:`._contact_store` does for contacts. Messages are kept in arrival order and
never deleted, so a message's position (``seq``) is a stable keyset for the
newest-first list: a page is a walk down from the cursor's position, never
a sort, which keeps a 100k-message benchmark linear. For the same reason a
message's ``createdAt`` is plain wall-clock time (ties allowed), not the
strictly increasing contact stamps, which run ahead of the clock under a
burst of thousands of sends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ._http import new_id

__all__ = [
    "FINAL_STATUSES",
    "MESSAGE_STATUSES",
    "InstanceRecord",
    "MessageLog",
    "MessageRecord",
    "TemplateRecord",
    "provider_message_id",
]

MESSAGE_STATUSES = (
    "scheduled",
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "cancelled",
    "received",
)
FINAL_STATUSES = frozenset({"read", "failed", "cancelled", "received"})

# The example of GET /messages/{id}; V1 safety is informational, so always "allow".
WORKER_SAFETY = {"decision": "allow", "riskLevel": "low", "state": "stable", "score": 72}


def provider_message_id() -> str:
    """A WhatsApp-style id like the documented ``BAE5D1A2B3C4D5E6``."""
    return "BAE5" + os.urandom(6).hex().upper()


class InstanceRecord:
    """A WhatsApp number; ``sent`` counts accepted outbound messages for ``/health``."""

    __slots__ = ("created_at", "id", "name", "sent", "status", "updated_at", "wa_number")

    def __init__(
        self, name: str, wa_number: str, status: str, now: str, instance_id: str | None = None
    ) -> None:
        self.id = instance_id or new_id()
        self.name = name
        self.wa_number = wa_number
        self.status = status
        self.sent = 0
        self.created_at = now
        self.updated_at = now

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def provider_state(self) -> str:
        return "open" if self.connected else "close"

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "waNumber": self.wa_number,
            "status": self.status,
            "webhook": None,
            "meta": {},
            "deletedAt": None,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


class TemplateRecord:
    """A stored template; ``variables`` is computed from ``body`` by the route module."""

    __slots__ = ("body", "created_at", "id", "media_url", "name", "type", "updated_at", "variables")

    def __init__(
        self,
        name: str,
        type: str,
        body: str | None,
        media_url: str | None,
        variables: list[str],
        now: str,
    ) -> None:
        self.id = new_id()
        self.name = name
        self.type = type
        self.body = body
        self.media_url = media_url
        self.variables = variables
        self.created_at = now
        self.updated_at = now

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "body": self.body,
            "mediaUrl": self.media_url,
            "variables": list(self.variables),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


class MessageRecord:
    """One message and where it is in its lifecycle.

    ``path`` is the list of statuses still ahead (e.g. ``["sent", "delivered",
    "read"]``, or ``["failed"]`` for a failing number); the lifecycle pops it.
    ``request`` is the parsed send body, kept for :attr:`Emulator.sent_messages`.
    """

    __slots__ = (
        "body",
        "campaign_id",
        "contact_id",
        "created_at",
        "direction",
        "error",
        "from_",
        "id",
        "instance_id",
        "media_url",
        "path",
        "provider_message_id",
        "request",
        "scheduled_at",
        "seq",
        "status",
        "to",
        "type",
        "updated_at",
        "user_id",
    )

    def __init__(
        self,
        *,
        instance_id: str,
        to: str,
        type: str,
        body: str | None,
        status: str,
        now: str,
        user_id: str,
        request: dict[str, Any] | None = None,
    ) -> None:
        self.id = new_id()
        self.seq = -1  # set by MessageLog.add
        self.instance_id = instance_id
        self.to = to
        self.type = type
        self.body = body
        self.status = status
        self.user_id = user_id
        self.request = request
        self.contact_id: str | None = None
        self.campaign_id: str | None = None
        self.media_url: str | None = None
        self.direction = "outbound"
        self.from_: str | None = None
        self.error: dict[str, Any] | None = None
        self.scheduled_at: str | None = None
        self.path: list[str] = []
        self.provider_message_id = provider_message_id()
        self.created_at = now
        self.updated_at = now

    def to_wire(self, *, full: bool = True) -> dict[str, Any]:
        """The documented object; list items (``full=False``) carry an empty ``meta``."""
        meta: dict[str, Any] = {}
        if full:
            sent = self.status in ("sent", "delivered", "read")
            result = {"providerMessageId": self.provider_message_id, "status": self.status}
            meta = {"providerResult": result if sent else {}, "workerSafety": dict(WORKER_SAFETY)}
        wire: dict[str, Any] = {
            "id": self.id,
            "userId": self.user_id,
            "instanceId": self.instance_id,
            "contactId": self.contact_id,
            "campaignId": self.campaign_id,
            "direction": self.direction,
            "type": self.type,
            "from": self.from_,
            "to": self.to,
            "body": self.body,
            "mediaUrl": self.media_url,
            "status": self.status,
            "error": self.error,
            "meta": meta,
            "providerMessageId": self.provider_message_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.scheduled_at is not None:
            wire["scheduledAt"] = self.scheduled_at
        return wire


class MessageLog:
    """A workspace's messages in arrival order, with lookup by id."""

    def __init__(self) -> None:
        self.rows: list[MessageRecord] = []
        self.by_id: dict[str, MessageRecord] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, message: MessageRecord) -> None:
        message.seq = len(self.rows)
        self.rows.append(message)
        self.by_id[message.id] = message

    def newest_first(self, before: int | None = None) -> Iterator[MessageRecord]:
        """Messages older than position ``before`` (all when None), newest first."""
        start = len(self.rows) if before is None else before
        rows = self.rows
        for position in range(start - 1, -1, -1):
            yield rows[position]
