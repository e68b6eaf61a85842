"""Campaign routes: create (201), get, pause, resume.

Create is checked like a send, broadest first: plan feature (403
``CAMPAIGNS_NOT_AVAILABLE_ON_PLAN``), subscription (403), body schema (400
``VALIDATION_ERROR`` listing every bad field: both or neither content mode,
a type a campaign cannot send, missing body or media, more than two
buttons, an empty or malformed audience, a bad ``schedule`` or ``repeat``),
instance, template or group (404), then the outbound quota (429 once it is
used up). Pause and resume answer ``400 BAD_REQUEST`` in a status that does
not allow them. Create and resume carry informational ``safety`` guidance.
The running itself is :mod:`._campaign_runner`'s.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._campaign_runner import CampaignRecord, CampaignRunner, audience
from ._emulator_state import EmulatorState, Workspace
from ._http import ApiFailure, Validator, not_found, ok, read_json
from ._message_routes import BUTTON_FIELDS, MAX_BUTTONS, MAX_TEXT, MEDIA_TYPES
from ._statuses import require_feature

__all__ = ["CAMPAIGN_TYPES", "add_routes", "check_campaign_body"]

PREFIX = "/api/v1/campaigns"
CAMPAIGN_TYPES = ("text", "image", "video", "audio", "document", "voice_note", "buttons")
RECIPIENT_TYPES = ("all", "tags", "explicit", "group")
REPEATS = ("none", "noe", "daily", "weekly")


def check_campaign_body(body: dict[str, Any]) -> float | None:
    """Apply the documented schema; return ``schedule`` as epoch seconds."""
    check = Validator(body)
    check.string("instanceId", required=True)
    check.string("name", required=True)
    at = _schedule(check)
    if body.get("repeat") is not None and body.get("repeat") not in REPEATS:
        check.fail("repeat", f"must be one of {', '.join(REPEATS)}")
    _check_recipients(check)
    kind, template_id = body.get("type"), body.get("templateId")
    if (kind is None) == (template_id is None):
        check.fail("type", "give exactly one of templateId and type (an empty campaign is refused)")
    elif kind is not None:
        _check_type(check, kind)
    else:
        check.string("templateId", required=True)
    check.mapping("variables")
    check.check()
    return at


def _schedule(check: Validator) -> float | None:
    return check.timestamp("schedule")  # a past time starts the campaign at once


def _check_recipients(check: Validator) -> None:
    if check.body.get("recipients") is None:
        check.fail("recipients", "is required")
        return
    recipients = check.mapping("recipients")
    if recipients is None:
        return
    kind = recipients.get("type")
    if kind not in RECIPIENT_TYPES:
        check.fail("recipients.type", f"must be one of {', '.join(RECIPIENT_TYPES)}")
    elif kind in ("tags", "explicit"):
        value = recipients.get("value")
        good = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        if not good or not value:
            check.fail("recipients.value", "must be a non-empty array of strings")
    elif kind == "group":
        group_id = recipients.get("groupId")
        if not isinstance(group_id, str) or not group_id:
            check.fail("recipients.groupId", "is required for a group")


def _check_type(check: Validator, kind: Any) -> None:
    if kind not in CAMPAIGN_TYPES:
        check.fail("type", f"must be one of {', '.join(CAMPAIGN_TYPES)}")
    elif kind == "text":
        check.string("body", required=True, max_len=MAX_TEXT)
    elif kind in MEDIA_TYPES:
        check.string("body", required=False, max_len=MAX_TEXT)
        url = check.string("mediaUrl", required=True, max_len=2048)
        if url is not None and not url.startswith(("http://", "https://")):
            check.fail("mediaUrl", "must be a public http(s) URL")
    else:
        check.string("title", required=True)
        check.string("description", required=True, max_len=1024)
        buttons = check.body.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            check.fail("buttons", f"must be an array of 1 to {MAX_BUTTONS} buttons")
            return
        for index, button in enumerate(buttons):
            kind_ok = isinstance(button, dict) and button.get("type") in BUTTON_FIELDS
            if not kind_ok or not isinstance(button.get("displayText"), str):
                check.fail(f"buttons[{index}]", "needs a known type and a displayText")


def safety(planned: int, warn_above: int) -> dict[str, Any]:
    """Informational guidance (V1 never blocks): a big audience gets a warning."""
    if planned > warn_above:
        return {
            "decision": "warn",
            "riskLevel": "medium",
            "state": "warming",
            "score": 48,
            "message": f"{planned} recipients: a large send can get a new number restricted",
            "recommendations": ["Spread the audience over several days", "Warm up the number"],
        }
    return {"decision": "allow", "riskLevel": "low", "state": "stable", "score": 72}


class _CampaignRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.runner = CampaignRunner(state)

    def _campaign(self, request: web.Request) -> tuple[Workspace, CampaignRecord]:
        workspace = self.state.workspace(request)
        require_feature(self.state, "campaigns")
        campaign = workspace.campaigns.get(request.match_info["campaign_id"])
        if campaign is None:
            raise not_found("Campaign")
        return workspace, campaign

    async def create(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        require_feature(self.state, "campaigns")
        if not self.state.settings.subscription_active:
            raise ApiFailure(403, "SUBSCRIPTION_INACTIVE", "No active subscription for sending")
        body = await read_json(request)
        at = check_campaign_body(body)
        assert at is not None
        workspace.instance(body["instanceId"])
        if body.get("templateId") is not None and body["templateId"] not in workspace.templates:
            raise not_found("Template")
        recipients = body["recipients"]
        if recipients["type"] == "group" and recipients["groupId"] not in workspace.groups:
            raise not_found("Contact group")
        self.state.lifecycle.check_quota()
        planned = len(audience(workspace, recipients))
        campaign = CampaignRecord(body, workspace.user["id"], at, planned)
        workspace.campaigns[campaign.id] = campaign
        self.runner.schedule(workspace, campaign)
        warn_above = self.state.settings.campaign_warn_above
        return ok(campaign.to_wire(full=False, safety=safety(planned, warn_above)), status=201)

    async def get(self, request: web.Request) -> web.Response:
        _, campaign = self._campaign(request)
        return ok(campaign.to_wire())

    async def pause(self, request: web.Request) -> web.Response:
        _, campaign = self._campaign(request)
        self.runner.pause(campaign)
        return ok(campaign.to_wire())

    async def resume(self, request: web.Request) -> web.Response:
        workspace, campaign = self._campaign(request)
        left = campaign.planned - len(campaign.messages)  # what resuming will send
        guidance = safety(left, self.state.settings.campaign_warn_above)
        self.runner.resume(workspace, campaign)
        return ok(campaign.to_wire(safety=guidance))


def add_routes(app: web.Application, state: EmulatorState) -> None:
    routes = _CampaignRoutes(state)
    router = app.router
    router.add_post(PREFIX, routes.create)
    router.add_get(PREFIX + "/{campaign_id}", routes.get)
    router.add_post(PREFIX + "/{campaign_id}/pause", routes.pause)
    router.add_post(PREFIX + "/{campaign_id}/resume", routes.resume)
