"""The batch journal interface: what a batch needs to be resumable, and no more.

The danger a journal guards against is sending a message twice. So the batch
records an *attempt* for an input, durably, right before its request leaves
(after the rate limiter and the connection pool let it go), and an *outcome*
once the request ends. A crash between the two leaves an attempt without an
outcome: a resume calls that input *unknown* and never sends it blindly (it
reconciles it against the server's message list first, see ``_reconcile``).

Backends implement :class:`BatchJournal`; the batch only ever calls these
methods, in this order::

    await journal.open()           take ownership, load earlier records
    journal.lookup(index)          what an earlier run recorded (any time)
    await journal.attempt(...)     durable before it returns (per send)
    journal.outcome(...)           buffered; may be lost in a crash (per send)
    await journal.keep_alive()     runs in the background while the batch runs
    await journal.aclose()         flush outcomes, release ownership (shielded)

The rules a backend must keep:

- **One batch at a time.** ``open()`` refuses (``ValidationError``, field
  ``journal``) while another live batch owns the journal: two runs at once
  would both send every input. A backend with leases takes over only an
  owner that is provably gone (its lease expired).
- **An attempt is durable before ``attempt()`` returns.** The request leaves
  right after; if the record could be lost, a crash could make a resume
  send the message again. A backend that cannot record raises (any
  ``Exception``): the batch stops with ``journal_failed`` and sends nothing
  more. ``attempt()`` may be called concurrently by many workers (group them
  into one write if you like: the file journal does).
- **An outcome may be lost, never invented.** Losing one only turns a known
  outcome into an unknown one, which reconciliation settles. So
  ``outcome()`` is synchronous and buffered; ``aclose()`` (or a background
  flush in ``keep_alive()``) writes it.
- **Never damage what is not a journal.** ``open()`` checks that what is
  there is a journal before writing anything.

``fingerprint(message)`` ties an index to its content, so resuming with
changed inputs is refused instead of skipping or re-sending the wrong ones.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Hashable
from typing import Any

import attrs

from ._converter import unstructure

__all__ = ["ATTEMPTED", "BatchJournal", "JournalEntry", "fingerprint"]

#: The state of an index whose attempt record has no outcome after it.
ATTEMPTED = "attempted"


@attrs.frozen
class JournalEntry:
    """What earlier runs recorded for one input index.

    ``state`` is :data:`ATTEMPTED` (an attempt with no outcome after it: the
    request may have left) or the value of the last outcome recorded
    (``"accepted"``, ``"rejected"``, ``"unknown"``, ``"not_attempted"``,
    ...). ``attempted_at`` is the wall-clock time (Unix seconds) of the
    latest attempt record, which bounds the server-side search of a
    reconciliation; None when the backend did not record it.
    """

    fingerprint: str
    state: str
    message_id: str | None = None
    attempted_at: float | None = None


class BatchJournal(abc.ABC):
    """Where a batch keeps its attempts and outcomes (see the module docstring).

    The file journal (:class:`~msgflash_async._journal_file.FileJournal`,
    what ``journal="path"`` opens) is one implementation; ``send_many``
    takes any instance as ``journal=``. An instance serves one batch run.
    """

    #: A short human name for error messages and reprs (a path, a key).
    name: str = "journal"

    @abc.abstractmethod
    async def open(self) -> None:
        """Take ownership and load earlier records; refuse a journal in use."""

    @abc.abstractmethod
    def lookup(self, index: int) -> JournalEntry | None:
        """What an earlier run recorded for ``index``, or None."""

    @abc.abstractmethod
    async def attempt(self, index: int, fingerprint: str, key: Hashable | None) -> None:
        """Record that ``index`` is about to be sent; durable when this returns."""

    @abc.abstractmethod
    def outcome(
        self, index: int, status: str, *, message_id: str | None = None, code: str | None = None
    ) -> None:
        """Record how ``index`` ended (buffered; written by a later flush)."""

    async def keep_alive(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Background work while the batch runs (flushes, lease renewal).

        Run in the batch's task group and cancelled when the batch ends; an
        exception stops the batch with ``journal_failed``. The default does
        nothing.
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Write what is buffered and release ownership; idempotent."""


def fingerprint(message: Any) -> str:
    """A stable digest of a request model's wire form.

    Stdlib ``json`` with sorted keys (not orjson, whose float spelling
    differs) so installing the ``speed`` extra between two runs does not
    make every input look changed.
    """
    wire = unstructure(message)
    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
