"""What a batch reports: one outcome per input, live progress, the final report.

Value types and the pure rules that classify an error, kept apart from the
sender's machinery in ``_batch``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import attrs

from ._exceptions import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    PlanLimitError,
    QuotaExceededError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "BatchProgress",
    "BatchReport",
    "OutcomeStatus",
    "SendOutcome",
    "UnknownInput",
    "classify_error",
    "error_code",
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
    """

    counts: dict[OutcomeStatus, int]
    error_codes: dict[str, int]
    unknown: tuple[UnknownInput, ...]
    stop_reason: str | None
    stop_error: BaseException | None
    elapsed: float

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
    """The outcome of a send that raised ``error``: could it have been processed?"""
    if isinstance(error, TransportError):
        return OutcomeStatus.UNKNOWN if error.request_sent else OutcomeStatus.FAILED_NOT_SENT
    if isinstance(error, ClientClosedError):
        return OutcomeStatus.FAILED_NOT_SENT
    if isinstance(error, ServerError):
        # A 5xx says the request arrived, not that it was not processed: the
        # API (or a proxy in front of it) may fail after taking the message.
        return OutcomeStatus.UNKNOWN
    if isinstance(error, (APIError, ValidationError)):
        return OutcomeStatus.REJECTED
    # A DecodeError (a 2xx we could not read) or a foreign error: the request
    # may well have been taken, so it must not be sent again blindly.
    return OutcomeStatus.UNKNOWN


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


class _Tally:
    """Running counts; the only per-input memory kept is the unknown list."""

    __slots__ = ("codes", "counts", "unknown")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(OutcomeStatus, 0)
        self.codes: dict[str, int] = {}
        self.unknown: list[UnknownInput] = []

    def add(self, outcome: SendOutcome[Any]) -> None:
        self.counts[outcome.status] += 1
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
