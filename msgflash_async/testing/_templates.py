"""Template routes and the placeholder engine shared with template-mode sends.

``{{namespace.key}}`` placeholders (spaces inside the braces tolerated) in
four namespaces: ``contact.*`` (the stored contact: ``name``, ``phone``,
``firstName``, ``lastName``, ``id`` and any key of its ``meta``), ``user.*``
(the account user: ``name``, ``email``, ``id``), ``instance.*`` (``name``,
``waNumber``, ``id``) and ``custom.*`` (the request's ``variables``, keys with
or without the ``custom.`` prefix). The emulator keeps its own parser rather
than importing the SDK's, so the SDK's checks are tested against an
independent implementation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._contact_store import Contact
from ._emulator_state import EmulatorState, Workspace
from ._http import (
    ApiFailure,
    Validator,
    iso_now,
    not_found,
    ok,
    query_int,
    read_json,
)
from ._message_store import InstanceRecord, TemplateRecord

__all__ = [
    "TEMPLATE_TYPES",
    "add_routes",
    "check_template_body",
    "parse_placeholders",
    "render",
    "render_for_send",
]

PREFIX = "/api/v1/templates"
TEMPLATE_TYPES = ("text", "image", "video", "audio", "document")
MAX_BODY = 4096

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_KEY = re.compile(r"(contact|user|instance|custom)\.[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


def parse_placeholders(body: str | None) -> tuple[list[str], list[str]]:
    """``(keys, invalid)``: valid ``namespace.key`` names in first-use order, bad raw text."""
    keys: list[str] = []
    invalid: list[str] = []
    for match in _PLACEHOLDER.finditer(body or ""):
        inner = match.group(1).strip()
        bucket, item = (keys, inner) if _KEY.fullmatch(inner) else (invalid, match.group(0))
        if item not in bucket:
            bucket.append(item)
    rest = _PLACEHOLDER.sub("", body or "")
    invalid.extend(stray for stray in ("{{", "}}") if stray in rest)
    return keys, invalid


def check_template_body(body: str | None) -> list[str]:
    """The body's placeholder keys, or 400 TEMPLATE_INVALID naming the bad ones."""
    keys, invalid = parse_placeholders(body)
    if invalid:
        details = [{"field": "body", "message": f"invalid placeholder {raw}"} for raw in invalid]
        text = "Template has invalid placeholders: " + ", ".join(invalid)
        raise ApiFailure(400, "TEMPLATE_INVALID", text, details)
    return keys


def render(body: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """``body`` with known keys filled; unknown ones stay as written and are listed."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if inner in values:
            return values[inner]
        if inner not in missing:
            missing.append(inner)
        return match.group(0)

    return _PLACEHOLDER.sub(fill, body), missing


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def context_values(
    workspace: Workspace,
    instance: InstanceRecord | None,
    contact: Contact | None,
    variables: Mapping[str, Any] | None,
) -> dict[str, str]:
    """Every ``namespace.key`` the given context can fill."""
    values = {f"user.{k}": v for k, v in workspace.user.items()}
    if instance is not None:
        values.update(
            {
                "instance.name": instance.name,
                "instance.waNumber": instance.wa_number,
                "instance.id": instance.id,
            }
        )
    if contact is not None:
        first, _, last = contact.name.strip().partition(" ")
        for key, raw in {
            **contact.meta,
            "name": contact.name,
            "phone": contact.phone,
            "firstName": first,
            "lastName": last.strip(),
            "id": contact.id,
        }.items():
            text = _text(raw)
            if text is not None:
                values["contact." + key] = text
    for key, raw in (variables or {}).items():
        text = _text(raw)
        if text is not None:
            values[key if key.startswith("custom.") else "custom." + key] = text
    return values


def render_for_send(
    workspace: Workspace,
    template: TemplateRecord,
    instance: InstanceRecord,
    contact_id: str | None,
    variables: Mapping[str, Any] | None,
) -> str | None:
    """The text a template-mode send stores in ``body``, or the documented 400s."""
    keys = check_template_body(template.body)
    contact = workspace.contacts.by_id.get(contact_id) if contact_id else None
    needs_contact = [k for k in keys if k.startswith("contact.")]
    if needs_contact and contact is None:
        why = "no contactId was given" if contact_id is None else "the contact does not exist"
        text = f"{', '.join(needs_contact)} cannot be filled: {why}"
        raise ApiFailure(400, "TEMPLATE_CONTEXT_UNAVAILABLE", text)
    if template.body is None:
        return None
    rendered, missing = render(
        template.body, context_values(workspace, instance, contact, variables)
    )
    if missing:
        details = [{"field": key, "message": "no value for this variable"} for key in missing]
        text = "Missing template variables: " + ", ".join(missing)
        raise ApiFailure(400, "TEMPLATE_VARIABLES_MISSING", text, details)
    return rendered


def _read_fields(check: Validator, *, required: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": check.string("name", required=required)}
    kind = check.body.get("type")
    if kind is None and required:
        check.fail("type", "is required")
    elif kind is not None and kind not in TEMPLATE_TYPES:
        check.fail("type", f"must be one of {', '.join(TEMPLATE_TYPES)}")
    fields["type"] = kind
    fields["body"] = check.string("body", required=False, max_len=MAX_BODY)
    fields["mediaUrl"] = check.string("mediaUrl", required=False, max_len=2048)
    return fields


def _check_complete(check: Validator, kind: str, body: str | None, media: str | None) -> None:
    if kind == "text" and body is None:
        check.fail("body", "is required for a text template")
    if kind != "text" and kind in TEMPLATE_TYPES and media is None:
        check.fail("mediaUrl", f"is required for a {kind} template")


class _TemplateRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _template(self, request: web.Request) -> tuple[Workspace, TemplateRecord]:
        workspace = self.state.workspace(request)
        template = workspace.templates.get(request.match_info["template_id"])
        if template is None:
            raise not_found("Template")
        return workspace, template

    async def list(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        page = query_int(request, "page", default=1, low=1, high=1_000_000)
        limit = query_int(request, "limit", default=20, low=1, high=100)
        rows = list(reversed(workspace.templates.values()))  # newest first
        start = (page - 1) * limit
        return ok(
            {
                "templates": [t.to_wire() for t in rows[start : start + limit]],
                "total": len(rows),
                "page": page,
                "limit": limit,
                "totalPages": math.ceil(len(rows) / limit),
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        check = Validator(await read_json(request))
        fields = _read_fields(check, required=True)
        _check_complete(check, fields["type"], fields["body"], fields["mediaUrl"])
        check.check()
        keys = check_template_body(fields["body"])
        template = TemplateRecord(
            fields["name"], fields["type"], fields["body"], fields["mediaUrl"], keys, iso_now()
        )
        workspace.templates[template.id] = template
        return ok(template.to_wire(), status=201)

    async def get(self, request: web.Request) -> web.Response:
        return ok(self._template(request)[1].to_wire())

    async def update(self, request: web.Request) -> web.Response:
        _, template = self._template(request)
        check = Validator(await read_json(request))
        fields = _read_fields(check, required=False)
        merged = {k: v for k, v in fields.items() if v is not None}
        kind = merged.get("type", template.type)
        body = merged.get("body", template.body)
        media = merged.get("mediaUrl", template.media_url)
        _check_complete(check, kind, body, media)
        check.check()
        template.variables = check_template_body(body)
        template.name = merged.get("name", template.name)
        template.type, template.body, template.media_url = kind, body, media
        template.updated_at = iso_now()
        return ok(template.to_wire())

    async def delete(self, request: web.Request) -> web.Response:
        workspace, template = self._template(request)
        del workspace.templates[template.id]
        return ok({"id": template.id, "deleted": True})

    async def preview(self, request: web.Request) -> web.Response:
        workspace, template = self._template(request)
        raw = await request.read()
        check = Validator(await read_json(request) if raw.strip() else {})
        instance_id = check.string("instanceId", required=False)
        contact_id = check.string("contactId", required=False)
        variables = check.mapping("variables")
        check.check()
        instance = workspace.instance(instance_id) if instance_id else None
        contact = None
        if contact_id is not None:
            contact = workspace.contacts.by_id.get(contact_id)
            if contact is None:
                raise not_found("Contact")
        keys = check_template_body(template.body)
        values = context_values(workspace, instance, contact, variables)
        rendered, missing = render(template.body or "", values)
        return ok(
            {
                "rendered": rendered,
                "variables": keys,
                "missingVariables": missing,
                "valid": not missing,
            }
        )


def add_routes(app: web.Application, state: EmulatorState) -> None:
    routes = _TemplateRoutes(state)
    router = app.router
    router.add_get(PREFIX, routes.list)
    router.add_post(PREFIX, routes.create)
    router.add_get(PREFIX + "/{template_id}", routes.get)
    router.add_put(PREFIX + "/{template_id}", routes.update)
    router.add_delete(PREFIX + "/{template_id}", routes.delete)
    router.add_post(PREFIX + "/{template_id}/preview", routes.preview)
