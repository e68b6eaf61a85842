"""Campaigns that run over time: ``scheduled -> running -> completed``, with pause.

At its ``schedule`` a campaign resolves its audience (all contacts, tags,
explicit ids or a group's members, as they are then) and enqueues one
message per recipient at ``EmulatorSettings.campaign_rate`` messages a
second. Each message is an ordinary emulator message with its
``campaignId``: it goes through :mod:`._lifecycle`, so it is charged to the
outbound quota and fires the same ``message.*`` webhooks as a sent message.
Pausing stops the enqueueing (messages already queued still go); resuming
picks up where it stopped. The campaign is ``completed`` once every message
is enqueued and none is still ``queued``. The timers ride the lifecycle's
heap, so they advance with its background task and with every request.
A repeating campaign runs its first occurrence only.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from ._http import ApiFailure, bad_request, iso_now, iso_timestamp, new_id
from ._message_store import MessageRecord
from ._templates import render_for_send

if TYPE_CHECKING:
    from ._contact_store import Contact
    from ._emulator_state import EmulatorState, Workspace

__all__ = ["CampaignRecord", "CampaignRunner", "audience"]

_SENT = frozenset({"sent", "delivered", "read"})
_DELIVERED = frozenset({"delivered", "read"})
_CHECK_EVERY = 0.05  # seconds between completion checks when messages move instantly


def audience(workspace: Workspace, recipients: dict[str, Any]) -> list[Contact]:
    """The contacts a ``recipients`` object selects right now, in a stable order."""
    contacts = workspace.contacts.by_id
    kind = recipients.get("type")
    if kind == "all":
        return list(contacts.values())
    if kind == "tags":
        wanted = set(recipients.get("value") or ())
        return [c for c in contacts.values() if wanted.intersection(c.tags)]
    if kind == "explicit":
        ids = dict.fromkeys(recipients.get("value") or ())
        return [contacts[i] for i in ids if i in contacts]
    group = workspace.groups.get(recipients.get("groupId") or "")
    return [contacts[i] for i in group.members if i in contacts] if group else []


class CampaignRecord:
    """One campaign: the request it came from, its audience and its messages."""

    def __init__(self, body: dict[str, Any], user_id: str, at_epoch: float, planned: int) -> None:
        self.id = new_id()
        self.body = body
        self.user_id = user_id
        self.at_epoch = at_epoch
        self.planned = planned
        self.status = "scheduled"
        self.targets: list[Contact] | None = None  # resolved when it starts
        self.messages: list[MessageRecord] = []
        self.generation = 0  # bumped by pause/resume: stale timers see a change and stop
        self.started_at: str | None = None
        self.last_enqueued_at: str | None = None
        self.completed_at: str | None = None
        self.created_at = self.updated_at = iso_now()

    def touch(self, status: str) -> None:
        self.status = status
        self.updated_at = iso_now()

    def stats(self, *, full: bool) -> dict[str, Any]:
        statuses = [m.status for m in self.messages]
        stats: dict[str, Any] = {
            "planned": self.planned,
            "queued": len(statuses),
            "sent": sum(1 for s in statuses if s in _SENT),
            "delivered": sum(1 for s in statuses if s in _DELIVERED),
            "read": statuses.count("read"),
            "failed": statuses.count("failed"),
            "cancelled": statuses.count("cancelled"),
        }
        if full:  # the timestamps come with GET only, as documented
            stats.update(
                {
                    "processingStartedAt": self.started_at,
                    "lastEnqueuedAt": self.last_enqueued_at,
                    "completedAt": self.completed_at,
                    "cancelledAt": None,
                }
            )
        return stats

    def to_wire(self, *, full: bool = True, safety: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.body
        repeat = body.get("repeat")
        wire: dict[str, Any] = {
            "id": self.id,
            "userId": self.user_id,
            "instanceId": body["instanceId"],
            "name": body["name"],
            "status": self.status,
            "templateId": body.get("templateId"),
            "type": body.get("type"),
            "body": body.get("body"),
            "mediaUrl": body.get("mediaUrl"),
            "schedule": iso_timestamp(self.at_epoch),
            # The documentation prints the no-repeat value as "noe": so does the emulator.
            "repeat": "noe" if repeat in (None, "none", "noe") else repeat,
            "recipients": body["recipients"],
            "templateVariables": body.get("variables"),
            "stats": self.stats(full=full),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if body.get("type") == "buttons":
            for key in ("title", "description", "footer", "buttons"):
                wire[key] = body.get(key)
        if safety is not None:
            wire["safety"] = safety
        return wire


class CampaignRunner:
    """Starts, paces, pauses and completes the campaigns of every workspace."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def schedule(self, workspace: Workspace, campaign: CampaignRecord) -> None:
        delay = max(0.0, campaign.at_epoch - time.time())
        gen = campaign.generation
        self._later(delay, lambda: self._start(workspace, campaign, gen))

    def pause(self, campaign: CampaignRecord) -> None:
        if campaign.status not in ("scheduled", "running"):
            raise bad_request(f"Campaign cannot be paused in status {campaign.status}")
        campaign.generation += 1
        campaign.touch("paused")

    def resume(self, workspace: Workspace, campaign: CampaignRecord) -> None:
        if campaign.status != "paused":
            raise bad_request(f"Campaign cannot be resumed in status {campaign.status}")
        campaign.generation += 1
        if campaign.targets is None:  # paused before it started: back to its schedule
            campaign.touch("scheduled")
            self.schedule(workspace, campaign)
            return
        campaign.touch("running")
        self._tick(workspace, campaign, campaign.generation)

    # -- timers --------------------------------------------------------------

    def _later(self, delay: float, callback: Any) -> None:
        self.state.lifecycle.call_at(self.state.clock() + delay, callback)

    def _start(self, workspace: Workspace, campaign: CampaignRecord, gen: int) -> None:
        if gen != campaign.generation or campaign.status != "scheduled":
            return
        campaign.targets = audience(workspace, campaign.body["recipients"])
        campaign.planned = len(campaign.targets)
        campaign.started_at = iso_now()
        campaign.touch("running")
        self._tick(workspace, campaign, gen)

    def _tick(self, workspace: Workspace, campaign: CampaignRecord, gen: int) -> None:
        if gen != campaign.generation or campaign.status != "running":
            return  # paused (or resumed, which started a new chain): stop enqueueing
        targets = campaign.targets or []
        rate = self.state.settings.campaign_rate
        left = len(targets) - len(campaign.messages)
        # Up to 50 ticks a second; faster rates enqueue several messages a tick.
        batch = left if not rate else min(left, max(1, math.ceil(rate / 50)))
        for contact in targets[len(campaign.messages) : len(campaign.messages) + batch]:
            self._enqueue(workspace, campaign, contact)
        if batch:
            campaign.last_enqueued_at = iso_now()
        if len(campaign.messages) < len(targets):
            assert rate
            self._later(batch / rate, lambda: self._tick(workspace, campaign, gen))
        else:
            self._check_done(campaign, gen)

    def _check_done(self, campaign: CampaignRecord, gen: int) -> None:
        if gen != campaign.generation or campaign.status != "running":
            return
        if any(m.status in ("queued", "scheduled") for m in campaign.messages):
            step = self.state.settings.message_step or _CHECK_EVERY
            self._later(step, lambda: self._check_done(campaign, gen))
            return
        campaign.completed_at = iso_now()
        campaign.touch("completed")

    # -- messages ------------------------------------------------------------

    def _enqueue(self, workspace: Workspace, campaign: CampaignRecord, contact: Contact) -> None:
        body = campaign.body
        message = MessageRecord(
            instance_id=body["instanceId"],
            to=contact.phone,
            type=body.get("type") or "text",
            body=body.get("body"),
            status="queued",
            now=iso_now(),
            user_id=workspace.user["id"],
            request=body,
        )
        message.contact_id, message.campaign_id = contact.id, campaign.id
        message.media_url = body.get("mediaUrl")
        campaign.messages.append(message)
        workspace.messages.add(message)
        self.state.outbound.append(message)
        lifecycle = self.state.lifecycle
        try:
            self._render(workspace, message)
            lifecycle.check_quota()  # checked per message, as at a scheduled send time
        except ApiFailure as failure:
            lifecycle.reject(workspace, message, failure.code, failure.message)
            return
        lifecycle.start(workspace, message)

    def _render(self, workspace: Workspace, message: MessageRecord) -> None:
        body = message.request or {}
        if body.get("type") == "buttons":
            message.body = body.get("description")
        template_id = body.get("templateId")
        if template_id is None:
            return
        template = workspace.templates.get(template_id)
        if template is None:
            raise ApiFailure(404, "NOT_FOUND", "Template was deleted")
        instance = workspace.instance(message.instance_id)
        variables = body.get("variables")
        message.body = render_for_send(workspace, template, instance, message.contact_id, variables)
        message.type, message.media_url = template.type, template.media_url
