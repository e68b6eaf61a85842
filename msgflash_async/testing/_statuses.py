"""Status routes: ``POST /api/v1/statuses`` (WhatsApp stories).

Checked in the order the message routes use: plan feature (403
``STATUSES_NOT_AVAILABLE_ON_PLAN``), subscription, body schema (400), instance
(404), then the outbound quota (429), which a status shares with messages.
An accepted status is kept on the workspace and answered ``201`` with
``{instanceId, providerMessageId}`` as documented.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ._emulator_state import EmulatorState
from ._http import ApiFailure, Validator, iso_now, ok, read_json
from ._message_store import provider_message_id

__all__ = ["STATUS_TYPES", "add_routes", "require_feature"]

PATH = "/api/v1/statuses"
STATUS_TYPES = ("text", "image")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def require_feature(state: EmulatorState, feature: str) -> None:
    """The plan switch: 403 ``<FEATURE>_NOT_AVAILABLE_ON_PLAN`` when it is off."""
    if feature not in state.settings.features:
        code = f"{feature.upper()}_NOT_AVAILABLE_ON_PLAN"
        raise ApiFailure(403, code, f"Your plan does not include {feature}")


def check_status_body(body: dict[str, Any]) -> None:
    check = Validator(body)
    check.string("instanceId", required=True)
    kind = body.get("type")
    if kind not in STATUS_TYPES:
        check.fail("type", f"must be one of {', '.join(STATUS_TYPES)}")
    content = check.string("content", required=True, max_len=4096)
    if kind == "image" and content is not None and not content.startswith(("http://", "https://")):
        check.fail("content", "must be a public http(s) image URL")
    check.string("caption", required=False, max_len=1024)
    color = body.get("backgroundColor")
    if color is not None and (not isinstance(color, str) or not _HEX.fullmatch(color)):
        check.fail("backgroundColor", "must be a hex colour such as #25D366")
    check.check()


class _StatusRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def create(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        require_feature(self.state, "statuses")
        if not self.state.settings.subscription_active:
            raise ApiFailure(403, "SUBSCRIPTION_INACTIVE", "No active subscription for sending")
        body = await read_json(request)
        check_status_body(body)
        instance = workspace.instance(body["instanceId"])
        self.state.lifecycle.charge_status()
        published = {
            "instanceId": instance.id,
            "providerMessageId": provider_message_id(),
            "type": body["type"],
            "content": body["content"],
            "caption": body.get("caption"),
            "backgroundColor": body.get("backgroundColor"),
            "createdAt": iso_now(),
        }
        workspace.statuses.append(published)
        return ok({k: published[k] for k in ("instanceId", "providerMessageId")}, status=201)


def add_routes(app: web.Application, state: EmulatorState) -> None:
    app.router.add_post(PATH, _StatusRoutes(state).create)
