"""The :class:`~._server.Emulator`'s knobs and records for messages, templates, instances.

A mixin so ``_server.py`` stays about serving; everything here works on
``self.state`` directly (no HTTP), so tests can arrange a scene in one line
and audit afterwards what the emulator accepted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ._emulator_state import EmulatorState, Workspace
from ._events import EventBus
from ._http import ApiFailure, iso_now
from ._message_store import MessageRecord, TemplateRecord
from ._templates import TEMPLATE_TYPES, check_template_body

__all__ = ["INSTANCE_STATUSES", "MessagingMixin", "sent_message"]

INSTANCE_STATUSES = ("disconnected", "connecting", "connected")


class MessagingMixin:
    """Instances, templates, message lifecycle and the record of accepted sends."""

    state: EmulatorState

    def _workspace(self, team: bool) -> Workspace:
        return self.state.team if team else self.state.personal

    # -- instances ---------------------------------------------------------

    @property
    def instance_id(self) -> str:
        """The connected instance every emulator starts with (personal workspace)."""
        return self.state.personal.default_instance.id

    @property
    def team_instance_id(self) -> str:
        """The team workspace's seeded connected instance."""
        return self.state.team.default_instance.id

    def add_instance(
        self,
        name: str = "Instance",
        *,
        status: str = "connected",
        wa_number: str | None = None,
        team: bool = False,
    ) -> str:
        """Add an instance directly (no event published); return its id."""
        if status not in INSTANCE_STATUSES:
            raise ValueError(f"status must be one of {INSTANCE_STATUSES}")
        workspace = self._workspace(team)
        return workspace.add_instance(name, wa_number=wa_number, status=status).id

    def set_instance_status(self, instance_id: str, status: str) -> None:
        """Change a status; publishes ``instance.connected`` / ``instance.disconnected``.

        Messages still queued on a number that is not connected fail at their
        ``sent`` step with error code ``INSTANCE_DISCONNECTED``.
        """
        if status not in INSTANCE_STATUSES:
            raise ValueError(f"status must be one of {INSTANCE_STATUSES}")
        for workspace in (self.state.personal, self.state.team):
            instance = workspace.instances.get(instance_id)
            if instance is not None:
                self.state.lifecycle.instance_status(workspace, instance, status)
                return
        raise KeyError(instance_id)

    # -- templates ---------------------------------------------------------

    def seed_template(
        self,
        name: str,
        body: str | None,
        *,
        type: str = "text",
        media_url: str | None = None,
        team: bool = False,
    ) -> str:
        """Store a template directly; return its id. Bad placeholders raise ``ValueError``."""
        if type not in TEMPLATE_TYPES:
            raise ValueError(f"type must be one of {TEMPLATE_TYPES}")
        try:
            keys = check_template_body(body)
        except ApiFailure as failure:
            raise ValueError(failure.message) from None
        template = TemplateRecord(name, type, body, media_url, keys, iso_now())
        self._workspace(team).templates[template.id] = template
        return template.id

    # -- messages ----------------------------------------------------------

    @property
    def events(self) -> EventBus:
        """Webhook payloads as published (``.subscribe(cb)``, ``.payloads(event)``)."""
        return self.state.events

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """Every send or schedule the emulator accepted, in arrival order.

        Each: ``id``, ``to``, ``body`` (rendered), ``type``, ``instanceId``,
        ``status`` (now), ``scheduledAt`` and ``request`` (the JSON body as sent).
        Built on each access: read it once per assertion block.
        """
        return [sent_message(message) for message in self.state.outbound]

    @property
    def sent_count(self) -> int:
        """How many sends and schedules were accepted (cheap)."""
        return len(self.state.outbound)

    @property
    def outbound_count(self) -> int:
        """Messages charged to the monthly outbound quota (scheduled ones at send time)."""
        return self.state.lifecycle.outbound_count

    @property
    def statuses_count(self) -> int:
        """Statuses published (each also charged to the monthly outbound quota)."""
        return self.state.lifecycle.statuses_count

    def published_statuses(self, *, team: bool = False) -> list[dict[str, Any]]:
        """Statuses the workspace published, oldest first (``type``, ``content``, ...)."""
        return [dict(status) for status in self._workspace(team).statuses]

    def campaign(self, campaign_id: str, *, team: bool = False) -> dict[str, Any]:
        """A campaign's full wire object right now (``KeyError`` if unknown)."""
        self.state.lifecycle.run_due()
        return self._workspace(team).campaigns[campaign_id].to_wire()

    def duplicate_recipients(self) -> dict[str, int]:
        """Numbers that were sent more than one accepted message, with their counts."""
        counts = Counter(message.to for message in self.state.outbound)
        return {to: n for to, n in counts.items() if n > 1}

    def message(self, message_id: str, *, team: bool = False) -> dict[str, Any]:
        """A message's full wire object right now (``KeyError`` if unknown)."""
        self.state.lifecycle.run_due()
        return self._workspace(team).messages.by_id[message_id].to_wire()

    def advance_messages(self) -> int:
        """Apply every lifecycle step due now (useful with an injected clock)."""
        return self.state.lifecycle.run_due()

    @property
    def messages_in_flight(self) -> int:
        """Messages with a status change still to come (scheduled ones included)."""
        return self.state.lifecycle.pending

    def simulate_inbound(
        self,
        sender: str,
        text: str,
        *,
        type: str = "text",
        media_url: str | None = None,
        instance_id: str | None = None,
        team: bool = False,
    ) -> str:
        """Receive a message from ``sender``: stored inbound, ``message.received`` published.

        ``type`` and ``media_url`` make it an image, a document, ... (``text``
        is then its caption); the id of the stored message is returned.
        """
        workspace = self._workspace(team)
        instance = workspace.instance(instance_id or workspace.default_instance.id)
        lifecycle = self.state.lifecycle
        return lifecycle.receive(
            workspace, instance, sender, text, type=type, media_url=media_url
        ).id


def sent_message(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "to": message.to,
        "body": message.body,
        "type": message.type,
        "instanceId": message.instance_id,
        "status": message.status,
        "scheduledAt": message.scheduled_at,
        "request": message.request,
    }
