"""Contact routes: CRUD, keyset-paginated list, bulk delete, a contact's groups."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._contact_store import Contact
from ._emulator_state import EmulatorState, Workspace
from ._http import (
    ApiFailure,
    Validator,
    decode_cursor,
    encode_cursor,
    iso_now,
    new_id,
    not_found,
    ok,
    query_int,
    query_search,
    read_json,
    validation_error,
)
from ._job_routes import read_contact_ids, run_bulk

__all__ = ["SORTS", "add_routes", "contact_page"]

PREFIX = "/api/v1/contacts"
SORTS = ("createdAt_desc", "name_asc")


def contact_page(request: web.Request, workspace: Workspace) -> dict[str, Any]:
    """The ``GET /contacts`` body; the cursor encodes the sort tuple of the last row."""
    limit = query_int(request, "limit", default=50, low=1, high=100)
    search = query_search(request)
    sort = request.query.get("sort", "createdAt_desc")
    if sort not in SORTS:
        raise validation_error([{"field": "sort", "message": f"must be one of {SORTS}"}])
    cursor = request.query.get("cursor")
    after = decode_cursor(cursor, 2) if cursor else None
    key = (after[0], after[1]) if after else None
    rows, has_more = workspace.contacts.page(sort, key, limit, search)
    next_cursor = None
    if has_more:
        last = rows[-1].name_sort_key if sort == "name_asc" else rows[-1].created_key
        next_cursor = encode_cursor(*last)
    return {
        "contacts": [row.to_wire() for row in rows],
        "total": workspace.contacts.count(search),
        "limit": limit,
        "sort": sort,
        "nextCursor": next_cursor,
        "hasMore": has_more,
    }


class _ContactRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _contact(self, request: web.Request) -> tuple[Workspace, Contact]:
        workspace = self.state.workspace(request)
        contact = workspace.contacts.by_id.get(request.match_info["contact_id"])
        if contact is None:
            raise not_found("Contact")
        return workspace, contact

    async def list(self, request: web.Request) -> web.Response:
        return ok(contact_page(request, self.state.workspace(request)))

    async def create(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        check = Validator(await read_json(request))
        name = check.string("name", required=True)
        phone = check.phone("phone", required=True)
        tags = check.string_list("tags") or []
        meta = check.mapping("meta") or {}
        check.check()
        assert name is not None and phone is not None
        _ensure_phone_free(workspace, phone)
        contact = Contact(new_id(), name, phone, tags, meta, workspace.stamps.next())
        workspace.contacts.add(contact)
        return ok(contact.to_wire(), status=201)

    async def get(self, request: web.Request) -> web.Response:
        return ok(self._contact(request)[1].to_wire())

    async def update(self, request: web.Request) -> web.Response:
        workspace, contact = self._contact(request)
        check = Validator(await read_json(request))
        name = check.string("name", required=False)
        phone = check.phone("phone", required=False)
        tags = check.string_list("tags")
        meta = check.mapping("meta")
        check.check()
        if phone is not None and phone != contact.phone:
            _ensure_phone_free(workspace, phone)
            workspace.contacts.change_phone(contact, phone)
        if name is not None and name != contact.name:
            workspace.contacts.rename(contact, name)
        # PUT replaces tags and meta wholesale (no merge), as documented.
        if tags is not None:
            contact.tags = tags
        if meta is not None:
            contact.meta = meta
        contact.updated_at = iso_now()
        return ok(contact.to_wire())

    async def delete(self, request: web.Request) -> web.Response:
        workspace, contact = self._contact(request)
        workspace.delete_contact(contact.id)
        return ok({"id": contact.id, "deleted": True})

    async def groups_of(self, request: web.Request) -> web.Response:
        workspace, contact = self._contact(request)
        group_ids = workspace.memberships.get(contact.id, set())
        groups = sorted((workspace.groups[g] for g in group_ids), key=lambda g: g.created_key)
        return ok([group.to_wire() for group in groups])

    async def bulk_delete(self, request: web.Request) -> web.Response:
        workspace = self.state.workspace(request)
        ids = await read_contact_ids(request)

        def run_sync(ids: list[str]) -> dict[str, Any]:
            missing = [i for i in ids if workspace.delete_contact(i) == "notFound"]
            return {"requested": len(ids), "deleted": len(ids) - len(missing), "notFound": missing}

        return run_bulk(
            self.state, workspace, "bulk_delete_contacts", ids, group_id=None, run_sync=run_sync
        )


def _ensure_phone_free(workspace: Workspace, phone: str) -> None:
    if phone in workspace.contacts.by_phone:
        raise ApiFailure(409, "CONFLICT", f"A contact with phone {phone} already exists")


def add_routes(app: web.Application, state: EmulatorState) -> None:
    """Register contact routes. Call after the groups and bulk-jobs modules so their
    literal paths (``/contacts/groups``, ``/contacts/bulk-jobs``) win over ``{id}``."""
    routes = _ContactRoutes(state)
    router = app.router
    router.add_get(PREFIX, routes.list)
    router.add_post(PREFIX, routes.create)
    router.add_post(PREFIX + "/bulk-delete", routes.bulk_delete)
    router.add_get(PREFIX + "/{contact_id}", routes.get)
    router.add_put(PREFIX + "/{contact_id}", routes.update)
    router.add_delete(PREFIX + "/{contact_id}", routes.delete)
    router.add_get(PREFIX + "/{contact_id}/groups", routes.groups_of)
