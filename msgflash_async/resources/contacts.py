"""``client.contacts``: the address book and bulk deletes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._bulk import bulk_operation, delete_result, job_or_result
from .._converter import unstructure
from .._exceptions import ValidationError
from .._jobs import DEFAULT_POLL_INTERVAL, BulkOperation
from .._pagination import AsyncPaginator, resolve_resume
from .._validation import (
    MAX_PAGE_SIZE,
    check_limit,
    check_phone,
    check_search,
    check_text,
)
from ..models.contacts import (
    BulkDeleteResult,
    Contact,
    ContactCreate,
    ContactGroup,
    ContactIdList,
    ContactSort,
    ContactUpdate,
)
from ..models.jobs import BulkJob
from ._base import Resource, api_path

__all__ = ["MAX_PAGE_SIZE", "Contacts"]


class Contacts(Resource):
    """Create, read, update, delete and list contacts; delete them in bulk."""

    async def create(
        self,
        *,
        name: str,
        phone: str,
        tags: Iterable[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Contact:
        """Add a contact; ``phone`` must be E.164 (``+33612345678``)."""
        body = ContactCreate(
            name=check_text(name, "name"),
            phone=check_phone(phone),
            tags=None if tags is None else _tags(tags),
            meta=meta,
        )
        # POST is not retried once it may have reached the server: a retry
        # could create the contact twice.
        return await self._post(
            api_path("contacts"), Contact, key="contact", json=unstructure(body)
        )

    async def get(self, contact_id: str) -> Contact:
        return await self._get(_contact(contact_id), Contact, key="contact")

    async def update(
        self,
        contact_id: str,
        *,
        name: str | None = None,
        phone: str | None = None,
        tags: Iterable[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Contact:
        """Change the fields given; ``tags`` and ``meta`` replace the stored ones.

        Pass ``tags=[]`` or ``meta={}`` to clear them; leave them ``None`` to
        keep them as they are.
        """
        body = ContactUpdate(
            name=None if name is None else check_text(name, "name"),
            phone=None if phone is None else check_phone(phone),
            tags=None if tags is None else _tags(tags),
            meta=meta,
        )
        if body == ContactUpdate():
            raise ValidationError("give at least one field to change")
        path = _contact(contact_id)
        return await self._put(path, Contact, key="contact", json=unstructure(body))

    async def delete(self, contact_id: str) -> None:
        """Delete one contact (``NotFoundError`` if it does not exist)."""
        await self._delete(_contact(contact_id))

    def list(
        self,
        *,
        search: str | None = None,
        sort: ContactSort | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        resume: str | None = None,
        max_items: int | None = None,
        prefetch: bool = False,
    ) -> AsyncPaginator[Contact]:
        """Contacts, streamed: ``async for contact in client.contacts.list(search="awa")``.

        ``await`` it instead for the first page only. ``search`` (1 to 100
        characters) matches name or phone; ``sort`` is ``createdAt_desc``
        (default) or ``name_asc``. ``limit`` is the page size, 1 to 100,
        default 100, not the server's 50: at 10 requests a second the number
        of pages is what makes a long scan slow. ``resume`` takes a
        ``paginator.resume_token`` and restores that scan's search and sort
        (a different ``sort`` or ``search`` is refused: the cursor encodes
        them); it continues right after the last contact handed out, even
        mid-page. A raw ``cursor`` (a page's ``next_cursor``) must come with
        the same ``sort`` and ``search`` it was taken with: it is opaque, so
        the SDK cannot check, and another sort silently skips or repeats
        contacts. Prefer ``resume``. ``max_items`` stops early; ``prefetch``
        fetches the next page while you work on this one.
        """
        check_search(search)
        check_limit(limit, MAX_PAGE_SIZE)
        given = {"search": search, "sort": _sort(sort), "limit": limit}
        start, query = resolve_resume(resume, cursor, given)
        query.setdefault("sort", ContactSort.CREATED_AT_DESC.value)
        query.setdefault("limit", MAX_PAGE_SIZE)
        return self._cursor_list(
            api_path("contacts"),
            Contact,
            ("contacts", "items"),
            params=query,
            cursor=start,
            max_items=max_items,
            prefetch=prefetch,
        )

    def list_groups(
        self, contact_id: str, *, max_items: int | None = None
    ) -> AsyncPaginator[ContactGroup]:
        """The groups a contact belongs to (``await`` for a page, ``async for`` for all)."""
        path = _contact(contact_id, "groups")
        return self._cursor_list(
            path,
            ContactGroup,
            ("groups", "items"),
            params={},
            cursor=None,
            max_items=max_items,
            prefetch=False,
        )

    def bulk_delete(
        self, contact_ids: Iterable[str], *, poll_interval: float = DEFAULT_POLL_INTERVAL
    ) -> BulkOperation[BulkDeleteResult]:
        """Delete many contacts: ``result = await client.contacts.bulk_delete(ids)``.

        Fewer than 100 ids are deleted at once; more are queued by the server
        as a job, polled every ``poll_interval`` seconds. More than 10000 ids
        are sent as several calls, one after the other, with one merged
        result. ``handle = await op.submit()`` gives the job ids, progress and
        cancel. Ids are checked now (an empty list is refused), before any
        request.
        """
        path = api_path("contacts", "bulk-delete")

        async def send(chunk: Sequence[str]) -> BulkDeleteResult | BulkJob:
            body = unstructure(ContactIdList(tuple(chunk)))
            # A POST: never retried once it may have reached the server.
            response = await self._call("POST", path, json=body)
            return job_or_result(response, delete_result)

        def finish(job: BulkJob) -> BulkDeleteResult:
            return delete_result(job.summary, job.requested_count)

        return bulk_operation(
            self._session, contact_ids, send, finish, BulkDeleteResult.merged, poll_interval
        )


# Literal routes beside /contacts/{id}: an id spelled like one of them would
# reach that route instead (GET /contacts/groups lists the groups). Real ids
# are UUIDs; the match ignores case, as many routers do.
_ROUTE_WORDS = frozenset({"groups", "bulk-delete", "bulk-jobs"})


def _contact(contact_id: str, *more: str) -> str:
    """The path of one contact (or below it), refusing ids that name another route."""
    if isinstance(contact_id, str) and contact_id.lower() in _ROUTE_WORDS:
        raise ValidationError(f"invalid id {contact_id!r}", field="contact_id")
    return api_path("contacts", contact_id, *more)


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise ValidationError("expected a list of tags, not one string", field="tags")
    return tuple(tags)


def _sort(sort: ContactSort | str | None) -> str | None:
    return None if sort is None else ContactSort(sort).value
