"""Reconciliation: settle an ``unknown`` send against the server's message list.

After a crash (an attempt on record with no outcome) or a lost answer, a send
is *unknown*: the message may or may not have been taken. That is a state to
settle, not a verdict. :class:`Reconciler` lists the instance's messages
(``GET /messages?instanceId=...``, newest first) back to the attempt's time,
and compares each with the send:

- a message **to the same recipient** created since the attempt (minus
  ``skew`` seconds, for the gap between this machine's clock and the
  server's) is a *candidate*; one already claimed by another settled input
  is not;
- no candidate at all: the send was **not sent** (the caller sends it now);
- exactly one candidate with the **same content** (type, and the text,
  rendered body, media URL or description that type carries; a template
  send cannot be rendered here, so for it the recipient alone must be
  unique): **accepted**, with the server's message id;
- anything else (two candidates, a candidate whose content differs, a
  listing that failed, an attempt with no time on record, a window longer
  than ``max_scan`` messages): it stays **unknown**, with the reason. Never
  send on ambiguous evidence.

A request cut off by the crash may still be processed by the server a
moment later, so an attempt younger than ``settle_after`` seconds is waited
out before the listing is trusted.
"""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncIterable, Callable
from typing import Any

import anyio
import attrs

from ._repr import tolerant_repr
from .models.messages import Message, OutgoingMessage

__all__ = ["Reconciler", "Settlement", "SettlementVerdict"]

ListMessages = Callable[[str], AsyncIterable[Message]]

# Newest first: this many messages in a row older than the window end the scan.
_OLDER_RUN = 50


class SettlementVerdict(str, enum.Enum):
    ACCEPTED = "accepted"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


@attrs.frozen
class Settlement:
    """How reconciliation settled one send (see the module docstring)."""

    verdict: SettlementVerdict
    message_id: str | None = None
    reason: str = ""


class _TooLong(Exception):
    pass


class Reconciler:
    """Settles unknown sends against ``list_messages(instance_id)`` (newest first)."""

    def __init__(
        self,
        list_messages: ListMessages,
        *,
        skew: float = 60.0,
        settle_after: float = 2.0,
        max_scan: int = 10_000,
    ) -> None:
        self._list = list_messages
        self.skew = skew
        self.settle_after = settle_after
        self.max_scan = max_scan
        self._listings: dict[str, tuple[float, list[Message]]] = {}
        self._claimed: set[str] = set()

    @tolerant_repr
    def __repr__(self) -> str:
        return f"Reconciler(skew={self.skew}, settle_after={self.settle_after})"

    async def settle(self, message: OutgoingMessage, attempted_at: float | None) -> Settlement:
        """Settle one send attempted at ``attempted_at`` (Unix seconds)."""
        if attempted_at is None:
            return _unknown("no attempt time on record: the search cannot be bounded")
        delay = attempted_at + self.settle_after - time.time()
        if delay > 0:
            await anyio.sleep(delay)  # a request cut off mid-flight may still land
        cutoff = attempted_at - self.skew
        if message.instance_id is None:  # the resource fills the client's default in first
            return _unknown("the message names no instance to search")
        try:
            listing = await self._listing(message.instance_id, cutoff)
        except _TooLong:
            return _unknown(f"more than {self.max_scan} messages since the attempt")
        except Exception as error:
            return _unknown(f"listing the messages failed: {error!r}")
        return self._judge(message, listing, cutoff)

    def _judge(self, message: OutgoingMessage, listing: list[Message], cutoff: float) -> Settlement:
        candidates = [
            m
            for m in listing
            if m.to == message.to and m.id not in self._claimed and _since(m, cutoff)
        ]
        if not candidates:
            return Settlement(SettlementVerdict.NOT_SENT)
        same = [m for m in candidates if _same_content(m, message)]
        comparable = message.template_id is None
        if len(same) == 1 and (comparable or len(candidates) == 1):
            self._claimed.add(same[0].id)
            return Settlement(SettlementVerdict.ACCEPTED, message_id=same[0].id)
        return _unknown(
            f"{len(candidates)} message(s) to {message.to} since the attempt, "
            f"{len(same)} with the same content: ambiguous, not sent again"
        )

    async def _listing(self, instance_id: str, cutoff: float) -> list[Message]:
        cached = self._listings.get(instance_id)
        if cached is not None and cached[0] <= cutoff:
            return cached[1]
        found = await self._scan(instance_id, cutoff)
        self._listings[instance_id] = (cutoff, found)
        return found

    async def _scan(self, instance_id: str, cutoff: float) -> list[Message]:
        found: list[Message] = []
        older = 0
        async for item in self._list(instance_id):
            if not _since(item, cutoff):
                older += 1
                if older >= _OLDER_RUN:
                    break
                continue
            older = 0
            found.append(item)
            if len(found) > self.max_scan:
                raise _TooLong
        return found


def _unknown(reason: str) -> Settlement:
    return Settlement(SettlementVerdict.UNKNOWN, reason=reason)


def _since(message: Message, cutoff: float) -> bool:
    # A message without a creation time cannot be placed: count it in, so it
    # can only make the evidence ambiguous, never clear a resend.
    created = message.created_at
    return created is None or created.timestamp() >= cutoff


def _value(kind: Any) -> Any:
    return getattr(kind, "value", kind)


def _same_content(candidate: Message, message: OutgoingMessage) -> bool:
    """The fields the server keeps of what was sent, compared where they can be."""
    if message.template_id is not None:
        return True  # rendered on the server: only the recipient can be compared
    kind = _value(message.type)
    if candidate.type is not None and _value(candidate.type) != kind:
        return False
    if kind == "text":
        return candidate.body == message.text
    if kind == "buttons":
        return candidate.body == message.description
    if kind == "location":
        return message.location_name is None or candidate.body == message.location_name
    if message.media_url is not None:
        return candidate.media_url == message.media_url
    return True
