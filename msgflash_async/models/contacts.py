"""Contacts, contact groups and the results of bulk membership operations.

The documentation shows only parts of these objects (a create reply has just
``id``, ``name`` and ``phone``), so everything beyond that is optional with a
harmless default. Request bodies are small classes too; unset (``None``)
fields are left out of the request, which is what PUT's "only what you send"
semantics need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = [
    "AddMembersResult",
    "BulkDeleteResult",
    "Contact",
    "ContactCreate",
    "ContactGroup",
    "ContactIdList",
    "ContactSort",
    "ContactUpdate",
    "GroupCreate",
    "GroupUpdate",
    "RemoveMembersResult",
]


class ContactSort(OpenEnum):
    """Orders of ``contacts.list()``; the cursor encodes it, so keep it across pages."""

    CREATED_AT_DESC = "createdAt_desc"
    NAME_ASC = "name_asc"


# ``meta`` is a dict: left out of the hash (unhashable) but kept in equality.


@frozen
class Contact:
    """An address-book entry: a name and an E.164 phone number."""

    id: str
    name: str
    phone: str
    tags: tuple[str, ...] = ()
    temperature: Any = attrs.field(default=None, hash=False)
    meta: dict[str, Any] = attrs.field(factory=dict, hash=False)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@frozen
class ContactGroup:
    """A named set of contacts (colour and description are for the dashboard)."""

    id: str
    name: str
    description: str | None = None
    color: str | None = None
    contact_count: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@frozen
class BulkDeleteResult:
    """What a bulk delete did, merged over every API call and job it took.

    ``not_found_ids`` is filled only where the server named the ids (the
    synchronous answer); a background job reports a count only, so trust
    ``not_found`` for the number.
    """

    requested: int = 0
    deleted: int = 0
    not_found: int = 0
    not_found_ids: tuple[str, ...] = ()

    @classmethod
    def merged(cls, results: Iterable[BulkDeleteResult]) -> BulkDeleteResult:
        """One result for an operation that was split into several calls."""
        parts = list(results)
        return cls(
            requested=sum(r.requested for r in parts),
            deleted=sum(r.deleted for r in parts),
            not_found=sum(r.not_found for r in parts),
            not_found_ids=tuple(i for r in parts for i in r.not_found_ids),
        )


@frozen
class AddMembersResult:
    """What adding contacts to a group did.

    ``total`` is the number of ids the server counted (the synchronous
    answer's ``total``, a job's requested count); the documentation does not
    define it further, so it is ``None`` when the server did not say.
    """

    added: int = 0
    already_in_group: int = 0
    not_found: int = 0
    total: int | None = None

    @classmethod
    def merged(cls, results: Iterable[AddMembersResult]) -> AddMembersResult:
        """One result for an operation that was split into several calls."""
        parts = list(results)
        totals = [r.total for r in parts]
        return cls(
            added=sum(r.added for r in parts),
            already_in_group=sum(r.already_in_group for r in parts),
            not_found=sum(r.not_found for r in parts),
            total=None if None in totals else sum(t or 0 for t in totals),
        )


@frozen
class RemoveMembersResult:
    """What removing contacts from a group did."""

    removed: int = 0
    not_in_group: int = 0

    @classmethod
    def merged(cls, results: Iterable[RemoveMembersResult]) -> RemoveMembersResult:
        parts = list(results)
        return cls(
            removed=sum(r.removed for r in parts),
            not_in_group=sum(r.not_in_group for r in parts),
        )


# Request bodies. ``None`` means "not sent"; an empty tuple or dict is sent,
# because on PUT it replaces the stored tags or meta with nothing.


@frozen
class ContactCreate:
    name: str
    phone: str
    tags: tuple[str, ...] | None = None
    meta: Mapping[str, Any] | None = attrs.field(default=None, hash=False)


@frozen
class ContactUpdate:
    name: str | None = None
    phone: str | None = None
    tags: tuple[str, ...] | None = None
    meta: Mapping[str, Any] | None = attrs.field(default=None, hash=False)


@frozen
class GroupCreate:
    name: str
    description: str | None = None
    color: str | None = None


@frozen
class GroupUpdate:
    name: str | None = None
    description: str | None = None
    color: str | None = None


@frozen
class ContactIdList:
    """The body of every bulk call: the contact ids to act on."""

    contact_ids: tuple[str, ...]
