"""Message routes: send, schedule, list (cursor), get.

A send is checked in the order a real backend plausibly uses, cheapest and
broadest first: subscription (403), body schema (400 VALIDATION_ERROR with
every bad field), instance (404; 400 BAD_REQUEST when not connected, the
error the docs give for "wrong state"), template or contact (404 and the
three 400 TEMPLATE_* codes), destination (422), then the outbound quota
(429), so a refused request never uses quota. An accepted message is
answered in full with status ``queued`` (200: the send status is not
documented) or ``scheduled`` (201) and handed to :mod:`._lifecycle`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from aiohttp import web

from ._emulator_state import EmulatorState, Workspace
from ._http import (
    ApiFailure,
    Validator,
    bad_request,
    decode_cursor,
    encode_cursor,
    iso_now,
    iso_timestamp,
    not_found,
    ok,
    query_int,
    read_json,
    validation_error,
)
from ._message_store import MESSAGE_STATUSES, MessageRecord
from ._templates import render_for_send

__all__ = ["BUTTON_FIELDS", "MEDIA_TYPES", "MESSAGE_TYPES", "add_routes", "check_send_body"]

PREFIX = "/api/v1/messages"
MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "voice_note",
    "location",
    "contact",
    "buttons",
)
MEDIA_TYPES = frozenset({"image", "video", "audio", "voice_note", "document"})
BUTTON_FIELDS: dict[str, tuple[str, ...]] = {
    "reply": (),
    "url": ("url",),
    "call": ("phoneNumber",),
    "copy": ("copyCode",),
    "pix": ("currency", "name", "keyType", "key"),
}
MAX_BUTTONS = 2
MAX_TEXT = 4096


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_send_body(body: dict[str, Any], *, schedule: bool) -> float | None:
    """Apply the documented schema; return ``scheduledAt`` as epoch seconds (schedule only)."""
    check = Validator(body)
    check.string("instanceId", required=True)
    check.phone("to", required=True)
    kind, template_id = body.get("type"), body.get("templateId")
    if (kind is None) == (template_id is None):
        check.fail("type", "exactly one of type and templateId is required")
    elif kind is not None:
        _check_type(check, kind)
    else:
        check.string("templateId", required=True)
    if kind != "text":
        check.string("text", required=False, max_len=MAX_TEXT)
    if kind != "contact":
        check.string("contactId", required=False)
    check.mapping("variables")
    at = _scheduled_at(check) if schedule else None
    check.check()
    return at


def _check_type(check: Validator, kind: Any) -> None:
    if kind not in MESSAGE_TYPES:
        check.fail("type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    elif kind == "text":
        check.string("text", required=True, max_len=MAX_TEXT)
    elif kind in MEDIA_TYPES:
        url = check.string("mediaUrl", required=True, max_len=2048)
        if url is not None and not url.startswith(("http://", "https://")):
            check.fail("mediaUrl", "must be a public http(s) URL")
    elif kind == "location":
        _coordinate(check, "latitude", 90.0)
        _coordinate(check, "longitude", 180.0)
        check.string("locationName", required=False)
        check.string("locationAddress", required=False)
    elif kind == "contact":
        check.string("contactId", required=True)
    else:
        _check_buttons(check)


def _coordinate(check: Validator, field: str, limit: float) -> None:
    value = check.body.get(field)
    if value is None:
        check.fail(field, "is required for a location message")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        check.fail(field, "must be a number")
    elif not -limit <= value <= limit:
        check.fail(field, f"must be between -{limit:g} and {limit:g}")


def _check_buttons(check: Validator) -> None:
    check.string("title", required=True)
    check.string("description", required=True, max_len=1024)
    check.string("footer", required=False)
    buttons = check.body.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        check.fail("buttons", f"must be an array of 1 to {MAX_BUTTONS} buttons")
        return
    for index, button in enumerate(buttons):
        field = f"buttons[{index}]"
        if not isinstance(button, dict):
            check.fail(field, "must be an object")
            continue
        kind = button.get("type")
        if kind not in BUTTON_FIELDS:
            check.fail(field + ".type", f"must be one of {', '.join(BUTTON_FIELDS)}")
        if not _filled(button.get("displayText")):
            check.fail(field + ".displayText", "is required")
        for name in BUTTON_FIELDS.get(kind, ()) if isinstance(kind, str) else ():
            if not _filled(button.get(name)):
                check.fail(f"{field}.{name}", f"is required for a {kind} button")


def _scheduled_at(check: Validator) -> float | None:
    at = check.timestamp("scheduledAt")
    if at is None:
        return None
    if at <= dt.datetime.now(dt.timezone.utc).timestamp():
        check.fail("scheduledAt", "must be in the future")
    return at


class _MessageRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _prepare(
        self, workspace: Workspace, body: dict[str, Any], *, schedule: bool
    ) -> tuple[MessageRecord, float | None]:
        """Every check of a send or schedule; the record to store, not yet stored."""
        settings = self.state.settings
        if not settings.subscription_active:
            raise ApiFailure(403, "SUBSCRIPTION_INACTIVE", "No active subscription for sending")
        at = check_send_body(body, schedule=schedule)
        instance = workspace.instance(body["instanceId"])
        if not schedule and not instance.connected:
            raise bad_request(f"Instance is not connected (status {instance.status})")
        message = self._content(workspace, body)
        message.instance_id = instance.id
        if message.to in settings.invalid_numbers:
            text = f"{message.to} is not a valid WhatsApp destination"
            raise ApiFailure(422, "INVALID_DESTINATION", text)
        self.state.lifecycle.check_quota()
        return message, at

    def _content(self, workspace: Workspace, body: dict[str, Any]) -> MessageRecord:
        """Type, body text, media and contact of the message, from the request or a template."""
        contact_id: str | None = body.get("contactId")
        kind, media, text = body.get("type"), body.get("mediaUrl"), body.get("text")
        if kind is None:
            template = workspace.templates.get(body["templateId"])
            if template is None:
                raise not_found("Template")
            instance = workspace.instance(body["instanceId"])
            variables = body.get("variables")
            text = render_for_send(workspace, template, instance, contact_id, variables)
            kind, media = template.type, template.media_url
        contact = workspace.contacts.by_id.get(contact_id) if contact_id else None
        if contact_id is not None and contact is None:
            raise not_found("Contact")
        if kind == "location":
            text = body.get("locationName")
        elif kind == "contact" and contact is not None:
            text = contact.name
        elif kind == "buttons":
            text = body.get("description")
        message = MessageRecord(
            instance_id="",
            to=body["to"],
            type=kind,
            body=text,
            status="queued",
            now=iso_now(),
            user_id=workspace.user["id"],
            request=body,
        )
        message.contact_id, message.media_url = contact_id, media
        return message

    def _store(self, workspace: Workspace, message: MessageRecord) -> None:
        workspace.messages.add(message)
        self.state.outbound.append(message)

    async def send(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        message, _ = self._prepare(workspace, await read_json(request), schedule=False)
        self._store(workspace, message)
        reply = message.to_wire()  # before the lifecycle: instant mode finishes at once
        self.state.lifecycle.start(workspace, message)
        return ok(reply)

    async def schedule(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        message, at = self._prepare(workspace, await read_json(request), schedule=True)
        assert at is not None
        message.status = "scheduled"
        message.scheduled_at = iso_timestamp(at)
        self._store(workspace, message)
        self.state.lifecycle.schedule(workspace, message, at)
        return ok(message.to_wire(), status=201)

    async def list(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        limit = query_int(request, "limit", default=50, low=1, high=100)
        instance_id = request.query.get("instanceId")
        status = request.query.get("status")
        if status is not None and status not in MESSAGE_STATUSES:
            message = f"must be one of {', '.join(MESSAGE_STATUSES)}"
            raise validation_error([{"field": "status", "message": message}])
        before = self._cursor_position(workspace, request.query.get("cursor"))
        rows: list[MessageRecord] = []
        for row in workspace.messages.newest_first(before):
            if (instance_id is None or row.instance_id == instance_id) and (
                status is None or row.status == status
            ):
                rows.append(row)
                if len(rows) > limit:
                    break
        has_more = len(rows) > limit
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if has_more else None
        return ok(
            {
                "messages": [row.to_wire(full=False) for row in page],
                "limit": limit,
                "nextCursor": next_cursor,
                "hasMore": has_more,
            }
        )

    @staticmethod
    def _cursor_position(workspace: Workspace, cursor: str | None) -> int | None:
        if not cursor:
            return None
        created_at, message_id = decode_cursor(cursor, 2)
        row = workspace.messages.by_id.get(message_id)
        if row is None or row.created_at != created_at:
            raise validation_error([{"field": "cursor", "message": "invalid cursor"}])
        return row.seq

    async def get(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        message = workspace.messages.by_id.get(request.match_info["message_id"])
        if message is None:
            raise not_found("Message")
        return ok(message.to_wire())


def add_routes(app: web.Application, state: EmulatorState) -> None:
    routes = _MessageRoutes(state)
    router = app.router
    router.add_post(PREFIX + "/send", routes.send)
    router.add_post(PREFIX + "/schedule", routes.schedule)
    router.add_get(PREFIX, routes.list)
    router.add_get(PREFIX + "/{message_id}", routes.get)
