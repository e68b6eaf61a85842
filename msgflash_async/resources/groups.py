"""``client.groups``: contact groups and their members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._bulk import add_result, bulk_operation, job_or_result
from .._converter import structure, unstructure
from .._exceptions import ValidationError
from .._jobs import DEFAULT_POLL_INTERVAL, BulkOperation
from .._pagination import AsyncPaginator, resolve_resume
from .._validation import (
    MAX_PAGE_SIZE,
    check_color,
    check_list_args,
    check_text,
)
from ..models.contacts import (
    AddMembersResult,
    Contact,
    ContactGroup,
    ContactIdList,
    GroupCreate,
    GroupUpdate,
    RemoveMembersResult,
)
from ..models.jobs import BulkJob
from ._base import Resource, api_path

__all__ = ["Groups"]

# The members list answer is not documented: accept the likely list keys.
_MEMBER_KEYS = ("contacts", "members", "items")


class Groups(Resource):
    """Create, read, update, delete and list groups; list, add and remove members."""

    async def create(
        self, *, name: str, description: str | None = None, color: str | None = None
    ) -> ContactGroup:
        """Add a group; ``color`` is a hex colour (``#25D366`` or ``#2D6``).

        Over the plan's group cap the server answers ``PlanLimitError``
        (``MAX_CONTACT_GROUPS_REACHED``).
        """
        body = GroupCreate(
            name=check_text(name, "name"),
            description=description,
            color=None if color is None else check_color(color),
        )
        # POST is not retried once it may have reached the server.
        return await self._post(_groups(), ContactGroup, key="group", json=unstructure(body))

    async def get(self, group_id: str) -> ContactGroup:
        return await self._get(_groups(group_id), ContactGroup, key="group")

    async def update(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        color: str | None = None,
    ) -> ContactGroup:
        """Change the fields given; the others are left as they are."""
        body = GroupUpdate(
            name=None if name is None else check_text(name, "name"),
            description=description,
            color=None if color is None else check_color(color),
        )
        if body == GroupUpdate():
            raise ValidationError("give at least one field to change")
        return await self._put(_groups(group_id), ContactGroup, key="group", json=unstructure(body))

    async def delete(self, group_id: str) -> None:
        """Delete a group (its contacts stay in the address book)."""
        await self._delete(_groups(group_id))

    def list(
        self,
        *,
        search: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        resume: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[ContactGroup]:
        """Groups, streamed: ``async for group in client.groups.list()``.

        ``search`` (1 to 100 characters) matches name or description.
        ``limit`` is the page size, 1 to 100, default 100 rather than the
        server's 50: at 10 requests a second the page count dominates.
        ``resume`` takes a ``resume_token`` and restores its search.
        """
        start, query = resolve_resume(resume, cursor, check_list_args(search, limit))
        query.setdefault("limit", MAX_PAGE_SIZE)
        return self._cursor_list(
            _groups(),
            ContactGroup,
            ("groups", "items"),
            params=query,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
        )

    def list_members(
        self,
        group_id: str,
        *,
        search: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        resume: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[Contact]:
        """The contacts in a group, streamed like ``contacts.list()``.

        The page size limits of this endpoint are not documented: ``limit``
        is checked against 1 to 100 and left to the server when not given.
        """
        start, query = resolve_resume(resume, cursor, check_list_args(search, limit))
        return self._cursor_list(
            _groups(group_id, "members"),
            Contact,
            _MEMBER_KEYS,
            params=query,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
        )

    def add_members(
        self,
        group_id: str,
        contact_ids: Iterable[str],
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> BulkOperation[AddMembersResult]:
        """Add contacts to a group: ``result = await client.groups.add_members(gid, ids)``.

        Works like ``contacts.bulk_delete()``: answered at once under 100
        ids, a polled job from 100, split into calls of 10000 beyond that.
        """
        path = _groups(group_id, "members")

        async def send(chunk: Sequence[str]) -> AddMembersResult | BulkJob:
            # A POST: never retried once it may have reached the server.
            response = await self._call("POST", path, json=_ids(chunk))
            return job_or_result(response, lambda data: structure(data, AddMembersResult))

        return bulk_operation(
            self._session, contact_ids, send, add_result, AddMembersResult.merged, poll_interval
        )

    def remove_members(
        self,
        group_id: str,
        contact_ids: Iterable[str],
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> BulkOperation[RemoveMembersResult]:
        """Remove contacts from a group (they stay in the address book).

        Same shape as ``add_members()``. The call is a DELETE with a JSON
        body; being idempotent, it is retried after a lost answer.
        """
        path = _groups(group_id, "members")

        async def send(chunk: Sequence[str]) -> RemoveMembersResult | BulkJob:
            response = await self._call("DELETE", path, json=_ids(chunk))
            return job_or_result(response, lambda data: structure(data, RemoveMembersResult))

        def finish(job: BulkJob) -> RemoveMembersResult:
            return structure(job.summary or {}, RemoveMembersResult)

        return bulk_operation(
            self._session, contact_ids, send, finish, RemoveMembersResult.merged, poll_interval
        )


def _groups(*segments: str) -> str:
    return api_path("contacts", "groups", *segments)


def _ids(chunk: Sequence[str]) -> object:
    return unstructure(ContactIdList(tuple(chunk)))
