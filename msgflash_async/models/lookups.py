"""Number lookups: which numbers are on WhatsApp, before sending to them.

Sending to numbers that are not on WhatsApp gets instances banned, so a
lookup is cheap insurance. The server answers fewer than 100 numbers at once
(:class:`LookupAccepted` with ``mode="sync"`` and the result) and queues 100
or more as a job (``mode="async"``), followed as a :class:`NumberLookup`.
The SDK hands back one :class:`LookupResult` either way.

The create answer counts ``requested``/``normalized``/``checked`` while the
progress answer says ``requestedCount``/``normalizedCount``/``checkedCount``;
both are read into these models. The elements of the result lists are not
documented (always empty in the examples): a plain number or an object with
the number in it are both read as a :class:`LookupNumber`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from attrs import frozen

from ._enums import OpenEnum

__all__ = [
    "ImportContactsResult",
    "LookupAccepted",
    "LookupNumber",
    "LookupNumbers",
    "LookupProgress",
    "LookupResult",
    "LookupStatus",
    "NumberLookup",
    "NumberStatus",
]


class LookupStatus(OpenEnum):
    """Lifecycle of a lookup; ``done``, ``failed`` and ``cancelled`` are final."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self.value in ("done", "failed", "cancelled")


class NumberStatus(OpenEnum):
    """What a lookup found for one number."""

    ON_WHATSAPP = "on_whatsapp"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    INVALID = "invalid"


@frozen
class LookupNumber:
    """One number of a result list; ``details`` is the element as sent, if an object."""

    number: str
    details: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@frozen
class LookupNumbers:
    """The three result lists of a finished lookup."""

    on_whatsapp: tuple[LookupNumber, ...] = ()
    not_on_whatsapp: tuple[LookupNumber, ...] = ()
    invalid: tuple[LookupNumber, ...] = ()


@frozen
class LookupAccepted:
    """The answer to creating a lookup: the result (``sync``) or a queued job (``async``)."""

    lookup_id: str
    mode: str | None = None
    status: LookupStatus = LookupStatus.PENDING
    requested: int = 0
    normalized: int | None = None
    checked: int | None = None
    on_whatsapp_count: int | None = None
    not_on_whatsapp_count: int | None = None
    invalid_count: int | None = None
    result: LookupNumbers | None = None
    message: str | None = None

    @property
    def is_job(self) -> bool:
        return self.mode == "async"

    def to_result(self) -> LookupResult:
        """The typed result of a synchronous answer."""
        numbers = self.result or LookupNumbers()
        return LookupResult.build(
            (self.lookup_id,),
            numbers,
            requested=self.requested,
            normalized=self.normalized,
            checked=self.checked,
            counts=(self.on_whatsapp_count, self.not_on_whatsapp_count, self.invalid_count),
        )


@frozen
class NumberLookup:
    """A lookup as its progress (or read) endpoint reports it.

    ``progress`` is the server's integer percent; ``result`` is filled by the
    read endpoint once the lookup is done (the progress endpoint counts only).
    """

    id: str
    status: LookupStatus
    progress: int = 0
    instance_id: str | None = None
    requested_count: int = 0
    normalized_count: int | None = None
    checked_count: int = 0
    on_whatsapp_count: int = 0
    not_on_whatsapp_count: int = 0
    invalid_count: int = 0
    result: LookupNumbers | None = None
    error: Any = attrs.field(default=None, hash=False)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def to_result(self) -> LookupResult:
        """The typed result of a finished lookup."""
        return LookupResult.build(
            (self.id,),
            self.result or LookupNumbers(),
            requested=self.requested_count,
            normalized=self.normalized_count,
            checked=self.checked_count,
            counts=(self.on_whatsapp_count, self.not_on_whatsapp_count, self.invalid_count),
        )


def _numbers(items: Iterable[LookupNumber]) -> tuple[str, ...]:
    return tuple(item.number for item in items)


@frozen
class LookupResult:
    """Which numbers are on WhatsApp, whichever way the server answered.

    ``on_whatsapp``, ``not_on_whatsapp`` and ``invalid`` hold the numbers as
    the server listed them (normalised ones for the first two, the input for
    invalid ones). The counts are the server's; they stay right when a
    server leaves the lists out. ``lookup_ids`` are the server's lookups
    (several when more than 10,000 numbers were split), e.g. for
    ``number_lookups.import_contacts()``.
    """

    lookup_ids: tuple[str, ...] = ()
    requested: int = 0
    normalized: int = 0
    checked: int = 0
    on_whatsapp: tuple[str, ...] = ()
    not_on_whatsapp: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    on_whatsapp_count: int = 0
    not_on_whatsapp_count: int = 0
    invalid_count: int = 0

    @classmethod
    def build(
        cls,
        lookup_ids: tuple[str, ...],
        numbers: LookupNumbers,
        *,
        requested: int,
        normalized: int | None,
        checked: int | None,
        counts: tuple[int | None, int | None, int | None],
    ) -> LookupResult:
        on = _numbers(numbers.on_whatsapp)
        off = _numbers(numbers.not_on_whatsapp)
        bad = _numbers(numbers.invalid)
        on_count, off_count, bad_count = (
            given if given is not None else len(listed)
            for given, listed in zip(counts, (on, off, bad), strict=True)
        )
        return cls(
            lookup_ids=lookup_ids,
            requested=requested,
            normalized=normalized if normalized is not None else on_count + off_count,
            checked=checked if checked is not None else on_count + off_count,
            on_whatsapp=on,
            not_on_whatsapp=off,
            invalid=bad,
            on_whatsapp_count=on_count,
            not_on_whatsapp_count=off_count,
            invalid_count=bad_count,
        )

    @property
    def lookup_id(self) -> str | None:
        return self.lookup_ids[0] if self.lookup_ids else None

    def status_of(self, number: str) -> NumberStatus | None:
        """What was found for ``number`` (as listed), or None if it is in no list."""
        for status, numbers in (
            (NumberStatus.ON_WHATSAPP, self.on_whatsapp),
            (NumberStatus.NOT_ON_WHATSAPP, self.not_on_whatsapp),
            (NumberStatus.INVALID, self.invalid),
        ):
            if number in numbers:
                return status
        return None

    @classmethod
    def merged(cls, results: Iterable[LookupResult]) -> LookupResult:
        """One result for a lookup that was split into several calls."""
        parts = list(results)
        return cls(
            lookup_ids=tuple(i for r in parts for i in r.lookup_ids),
            requested=sum(r.requested for r in parts),
            normalized=sum(r.normalized for r in parts),
            checked=sum(r.checked for r in parts),
            on_whatsapp=tuple(n for r in parts for n in r.on_whatsapp),
            not_on_whatsapp=tuple(n for r in parts for n in r.not_on_whatsapp),
            invalid=tuple(n for r in parts for n in r.invalid),
            on_whatsapp_count=sum(r.on_whatsapp_count for r in parts),
            not_on_whatsapp_count=sum(r.not_on_whatsapp_count for r in parts),
            invalid_count=sum(r.invalid_count for r in parts),
        )


@frozen
class LookupProgress:
    """Where a lookup stands, summed over every call and job it took.

    ``checked`` and ``on_whatsapp`` grow while the server checks numbers
    (in batches of 20 at the provider); ``lookups`` holds the latest state of
    every job so far (empty when the server answered at once).
    """

    status: LookupStatus
    requested: int
    checked: int
    on_whatsapp: int
    not_on_whatsapp: int = 0
    invalid: int = 0
    lookups: tuple[NumberLookup, ...] = ()

    @property
    def percent(self) -> int:
        """Share of the requested numbers checked, 0 to 100."""
        if self.requested <= 0:
            return 100 if self.status is LookupStatus.DONE else 0
        if self.status is LookupStatus.DONE:
            return 100
        return min(100, (self.checked + self.invalid) * 100 // self.requested)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@frozen
class ImportContactsResult:
    """What importing a lookup's WhatsApp numbers as contacts did.

    The answer's shape is not documented: the likely counters are read when
    present (``None`` otherwise) and :attr:`data` keeps every field as sent.
    """

    lookup_id: str | None = None
    tag: str | None = None
    imported: int | None = None
    updated: int | None = None
    skipped: int | None = None
    total: int | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
