"""Contact-group routes: CRUD, the group cap, member list, add and remove members."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ._contact_store import Contact, Group
from ._emulator_state import EmulatorState, Workspace
from ._http import (
    ApiFailure,
    Validator,
    ok,
    paginate_desc,
    query_int,
    query_search,
    read_json,
)
from ._job_routes import read_contact_ids, run_bulk

__all__ = ["add_routes"]

PREFIX = "/api/v1/contacts/groups"
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _read_group_fields(check: Validator, *, creating: bool) -> dict[str, Any]:
    """Validated ``name``/``description``/``color``; absent keys are left out."""
    fields: dict[str, Any] = {}
    name = check.string("name", required=creating, max_len=100)
    if name is not None:
        fields["name"] = name
    if "description" in check.body:
        value = check.body["description"]
        if value is not None and not isinstance(value, str):
            check.fail("description", "must be a string")
        fields["description"] = value
    if "color" in check.body:
        value = check.body["color"]
        if value is not None and not (isinstance(value, str) and _HEX_COLOR.match(value)):
            check.fail("color", "must be a hex color such as #25D366")
        fields["color"] = value
    check.check()
    return fields


def _ensure_name_free(workspace: Workspace, name: str, own_id: str | None = None) -> None:
    wanted = name.casefold()
    for group in workspace.groups.values():
        if group.id != own_id and group.name.casefold() == wanted:
            raise ApiFailure(409, "CONFLICT", f"A contact group named {name!r} already exists")


def _contact_key(contact: Contact) -> tuple[str, str]:
    return contact.created_key


class _GroupRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _group(self, request: web.Request) -> tuple[Workspace, Group]:
        workspace = self.state.workspace(request)
        return workspace, workspace.group(request.match_info["group_id"])

    async def list(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        limit = query_int(request, "limit", default=50, low=1, high=100)
        search = query_search(request)
        rows = [g for g in workspace.groups.values() if g.matches(search)]
        page, next_cursor, has_more = paginate_desc(
            rows, lambda g: g.created_key, request.query.get("cursor"), limit
        )
        return ok(
            {
                "groups": [group.to_wire() for group in page],
                "total": len(rows),
                "limit": limit,
                "nextCursor": next_cursor,
                "hasMore": has_more,
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        fields = _read_group_fields(Validator(await read_json(request)), creating=True)
        cap = self.state.settings.max_contact_groups
        if cap is not None and len(workspace.groups) >= cap:
            message = f"Your plan allows at most {cap} contact groups"
            raise ApiFailure(403, "MAX_CONTACT_GROUPS_REACHED", message)
        _ensure_name_free(workspace, fields["name"])
        stamp = workspace.stamps.next()
        group = Group(fields["name"], fields.get("description"), fields.get("color"), stamp)
        workspace.groups[group.id] = group
        return ok(group.to_wire(), status=201)

    async def get(self, request: web.Request) -> web.Response:
        return ok(self._group(request)[1].to_wire())

    async def update(self, request: web.Request) -> web.Response:
        workspace, group = self._group(request)
        fields = _read_group_fields(Validator(await read_json(request)), creating=False)
        if "name" in fields:
            _ensure_name_free(workspace, fields["name"], own_id=group.id)
        for attribute, value in fields.items():
            setattr(group, attribute, value)
        return ok(group.to_wire())

    async def delete(self, request: web.Request) -> web.Response:
        workspace, group = self._group(request)
        workspace.delete_group(group)
        return ok({"id": group.id, "deleted": True})

    async def members(self, request: web.Request) -> web.Response:
        workspace, group = self._group(request)
        limit = query_int(request, "limit", default=50, low=1, high=100)
        search = query_search(request)
        by_id = workspace.contacts.by_id
        rows = [by_id[c] for c in group.members if c in by_id and by_id[c].matches(search)]
        page, next_cursor, has_more = paginate_desc(
            rows, _contact_key, request.query.get("cursor"), limit
        )
        return ok(
            {
                "contacts": [contact.to_wire() for contact in page],
                "total": len(rows),
                "limit": limit,
                "nextCursor": next_cursor,
                "hasMore": has_more,
            }
        )

    async def add_members(self, request: web.Request) -> web.Response:
        workspace, group = self._group(request)
        ids = await read_contact_ids(request)

        def run_sync(ids: list[str]) -> dict[str, Any]:
            counts = {"added": 0, "alreadyInGroup": 0, "notFound": 0}
            for contact_id in ids:
                counts[workspace.add_member(group, contact_id)] += 1
            return {**counts, "total": len(ids)}

        return run_bulk(
            self.state, workspace, "add_to_group", ids, group_id=group.id, run_sync=run_sync
        )

    async def remove_members(self, request: web.Request) -> web.Response:
        workspace, group = self._group(request)
        ids = await read_contact_ids(request)

        def run_sync(ids: list[str]) -> dict[str, Any]:
            counts = {"removed": 0, "notInGroup": 0}
            for contact_id in ids:
                counts[workspace.remove_member(group, contact_id)] += 1
            return counts

        return run_bulk(
            self.state, workspace, "remove_from_group", ids, group_id=group.id, run_sync=run_sync
        )


def add_routes(app: web.Application, state: EmulatorState) -> None:
    """Register group routes; must run before the contacts module (see its docstring)."""
    routes = _GroupRoutes(state)
    router = app.router
    router.add_get(PREFIX, routes.list)
    router.add_post(PREFIX, routes.create)
    router.add_get(PREFIX + "/{group_id}", routes.get)
    router.add_put(PREFIX + "/{group_id}", routes.update)
    router.add_delete(PREFIX + "/{group_id}", routes.delete)
    router.add_get(PREFIX + "/{group_id}/members", routes.members)
    router.add_post(PREFIX + "/{group_id}/members", routes.add_members)
    router.add_delete(PREFIX + "/{group_id}/members", routes.remove_members)
