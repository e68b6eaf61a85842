"""What a batch reports: one outcome per input, live progress, the final report.

The outcome accounting: value types, the pure rules that classify an error
(on top of :func:`~msgflash_async._delivery.delivery_of`), the running tally
and the translation to and from journal records, kept apart from the
sender's machinery in ``_batch`` and ``_batch_pipeline``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import attrs

from ._delivery import Delivery, delivery_of
from ._exceptions import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    PlanLimitError,
    QuotaExceededError,
    ValidationError,
)
from ._journal import ATTEMPTED, BatchJournal, JournalEntry

__all__ = [
    "BatchProgress",
    "BatchReport",
    "OutcomeStatus",
    "SendOutcome",
    "UnknownInput",
    "classify_error",
    "error_code",
    "from_journal",
    "record_outcome",
    "stop_reason_for",
]

R = TypeVar("R")


class OutcomeStatus(str, enum.Enum):
    """How one input ended (see the module docstring)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED_NOT_SENT = "failed_not_sent"
    NOT_ATTEMPTED = "not_attempted"
    SKIPPED = "skipped"


@attrs.frozen
class SendOutcome(Generic[R]):
    """The outcome of input number ``index`` (0-based, in source order)."""

    index: int
    key: Hashable | None
    status: OutcomeStatus
    message: R | None = None
    error: BaseException | None = None
    message_id: str | None = None
    #: True when the status comes from an earlier run's journal, not a request.
    from_journal: bool = False


@attrs.frozen
class UnknownInput:
    """An input whose fate is unknown: look it up (``messages.list``) before resending."""

    index: int
    key: Hashable | None
    reason: str


@attrs.frozen
class BatchProgress:
    """Counts so far; ``rate`` is requests finished per second of ``elapsed``."""

    done: int
    accepted: int
    rejected: int
    unknown: int
    failed_not_sent: int
    not_attempted: int
    skipped: int
    elapsed: float
    rate: float


@attrs.frozen
class BatchReport:
    """The whole batch: counts per outcome and per error code, unknowns, why it stopped.

    ``stop_reason`` is None when every input was tried; otherwise the API
    code that stopped it (``MONTHLY_OUTBOUND_QUOTA_EXCEEDED``,
    ``SUBSCRIPTION_INACTIVE``, ...), ``"closed"`` (the caller left early),
    ``"cancelled"``, ``"inputs_changed"``, ``"journal_failed"``,
    ``"source_failed"``, ``"progress_failed"`` (the last four are raised too)
    or ``"unexpected_error"`` (``send`` raised something that is not a
    MsgFlashError).

    Whatever stopped the batch, every input is accounted for. ``read`` is
    how many inputs were taken from the source; ``total`` is ``len()`` of a
    sized source (a list, a range, ...) and None for an iterator. For a sized
    source ``done == total`` always: inputs never read count as
    ``not_attempted``. ``resume_from`` is the lowest index that did not end
    (``not_attempted`` or ``failed_not_sent``), or ``read`` when every input
    read ended: inputs from there on are the ones left to send (with a
    journal, just run the same inputs again; an iterator has already given
    up the inputs before ``read``).
    """

    counts: dict[OutcomeStatus, int]
    error_codes: dict[str, int]
    unknown: tuple[UnknownInput, ...]
    stop_reason: str | None
    stop_error: BaseException | None
    elapsed: float
    read: int = 0
    total: int | None = None
    resume_from: int = 0

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def accepted(self) -> int:
        return self.counts[OutcomeStatus.ACCEPTED]

    @property
    def complete(self) -> bool:
        """True when nothing was left unsent because the batch stopped."""
        return self.stop_reason is None


def classify_error(error: BaseException) -> OutcomeStatus:
    """The outcome of a send that raised ``error``: could it have been processed?

    :func:`delivery_of` decides; a client-side ``ValidationError`` is not
    sent, but it is a refusal that a resend would meet again: ``rejected``.
    """
    if isinstance(error, ValidationError):
        return OutcomeStatus.REJECTED
    return _BY_DELIVERY[delivery_of(error)]


_BY_DELIVERY = {
    Delivery.NOT_SENT: OutcomeStatus.FAILED_NOT_SENT,
    Delivery.REFUSED: OutcomeStatus.REJECTED,
    Delivery.UNKNOWN: OutcomeStatus.UNKNOWN,
}


def stop_reason_for(error: BaseException) -> str | None:
    """The stop reason when ``error`` means no later send can succeed, else None."""
    if isinstance(error, QuotaExceededError):
        return error.code or "QUOTA_EXCEEDED"
    if isinstance(error, PlanLimitError) and error.code == "SUBSCRIPTION_INACTIVE":
        return error.code
    if isinstance(error, AuthenticationError):
        return error.code or "UNAUTHORIZED"
    if isinstance(error, ClientClosedError):
        return "CLIENT_CLOSED"
    return None


def error_code(error: BaseException) -> str:
    if isinstance(error, APIError):
        return error.code or f"HTTP_{error.status}"
    return type(error).__name__


class Tally:
    """Running counts; the only per-input memory kept is the unknown list."""

    __slots__ = ("codes", "counts", "first_unsent", "unknown")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(OutcomeStatus, 0)
        self.codes: dict[str, int] = {}
        self.unknown: list[UnknownInput] = []
        #: The lowest index that ended not_attempted or failed_not_sent.
        self.first_unsent: int | None = None

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: SendOutcome[Any]) -> None:
        self.counts[outcome.status] += 1
        if outcome.status in _UNSENT:
            self.unsent(outcome.index)
        error = outcome.error
        if error is not None:
            code = error_code(error)
            self.codes[code] = self.codes.get(code, 0) + 1
        if outcome.status is OutcomeStatus.UNKNOWN:
            reason = "unknown since an earlier run" if error is None else repr(error)
            self.unknown.append(UnknownInput(outcome.index, outcome.key, reason))

    def add_cancelled(self, index: int, key: Hashable | None) -> None:
        self.counts[OutcomeStatus.UNKNOWN] += 1
        self.unknown.append(UnknownInput(index, key, "cancelled while the request was in flight"))

    def unsent(self, index: int) -> None:
        if self.first_unsent is None or index < self.first_unsent:
            self.first_unsent = index

    def add_unread(self, count: int, first: int) -> None:
        """Inputs of a sized source that the batch never read: not attempted."""
        if count > 0:
            self.counts[OutcomeStatus.NOT_ATTEMPTED] += count
            self.unsent(first)


_UNSENT = frozenset({OutcomeStatus.NOT_ATTEMPTED, OutcomeStatus.FAILED_NOT_SENT})


def record_outcome(journal: BatchJournal, outcome: SendOutcome[Any]) -> None:
    """Append the outcome record of an input whose attempt was recorded."""
    error = outcome.error
    journal.outcome(
        outcome.index,
        outcome.status.value,
        message_id=outcome.message_id,
        code=None if error is None else error_code(error),
    )


# Earlier states that a resume reports (or reconciles) instead of sending again.
_IN_DOUBT = frozenset({OutcomeStatus.UNKNOWN.value, ATTEMPTED})


def from_journal(
    index: int, key: Hashable | None, earlier: JournalEntry
) -> SendOutcome[Any] | None:
    """An earlier run's verdict, or None to send again: accepted is skipped, unknown stays."""
    if earlier.state == OutcomeStatus.ACCEPTED.value:
        return SendOutcome(
            index, key, OutcomeStatus.SKIPPED, message_id=earlier.message_id, from_journal=True
        )
    if earlier.state in _IN_DOUBT:
        return SendOutcome(index, key, OutcomeStatus.UNKNOWN, from_journal=True)
    return None
