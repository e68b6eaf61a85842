"""Message lifecycle: ``scheduled -> queued -> sent -> delivered -> read`` (or ``failed``).

Each pending step is one entry of a timer heap ``(due, tiebreak, workspace,
message)``; a message has at most one entry at a time. Two things drain it,
through the same :meth:`Lifecycle.run_due`: one background task owned by the
:class:`~._server.Emulator` (so webhook events go out even when nobody
polls), and every request (``EmulatorState.workspace``), so a ``GET`` never
shows a step the bus has not published yet, even with an injected clock or a
busy event loop. The task sleeps until the earliest due step and waits on an
event when the heap is empty, so an idle emulator costs nothing.

Every status change updates the record and publishes the webhook payload in
the same synchronous call: what ``GET /messages/{id}`` returns is always what
was published last for that message.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._http import ApiFailure, iso_now, iso_timestamp
from ._message_store import InstanceRecord, MessageRecord

if TYPE_CHECKING:
    from ._emulator_state import EmulatorState, Workspace

__all__ = ["Lifecycle", "message_event"]

# A message step, or (workspace None) a plain timer callback (campaign ticks).
_Entry = tuple[float, int, "Workspace | None", "MessageRecord | Callable[[], None]"]


def message_event(message: MessageRecord) -> dict[str, Any]:
    """The flat webhook payload for the message's current status."""
    payload: dict[str, Any] = {
        "event": "message." + message.status,
        "instanceId": message.instance_id,
        "messageId": message.id,
        "providerMessageId": message.provider_message_id,
        "to": message.to,
        "status": message.status,
        "timestamp": message.updated_at,
    }
    if message.error is not None:
        payload["error"] = message.error
    return payload


def _error(code: str, text: str) -> dict[str, str]:
    # The shape of a message's ``error`` is not documented; code + message mirrors errors.
    return {"code": code, "message": text}


class Lifecycle:
    """The timer heap, the outbound quota counter and the status transitions."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._heap: list[_Entry] = []
        self._tiebreak = itertools.count()
        self._wake = asyncio.Event()
        self.outbound_count = 0  # messages and statuses charged to the monthly outbound quota
        self.statuses_count = 0  # the statuses among them

    @property
    def pending(self) -> int:
        """Messages with a step still to come."""
        return len(self._heap)

    # -- quota -------------------------------------------------------------

    def quota_exhausted(self) -> bool:
        quota = self._state.settings.monthly_outbound_quota
        return quota is not None and self.outbound_count >= quota

    def check_quota(self) -> None:
        """Raise the documented 429 once the accepted count reaches the quota."""
        if self.quota_exhausted():
            message = "Monthly outbound message quota exceeded"
            raise ApiFailure(429, "MONTHLY_OUTBOUND_QUOTA_EXCEEDED", message)

    def charge_status(self) -> None:
        """A published status: it takes the same monthly outbound quota as a message."""
        self.check_quota()
        self.outbound_count += 1
        self.statuses_count += 1

    # -- entry points ------------------------------------------------------

    def start(self, workspace: Workspace, message: MessageRecord) -> None:
        """A message accepted for sending now: charge the quota and queue its steps."""
        self._charge(workspace, message)
        self._begin(workspace, message)

    def schedule(self, workspace: Workspace, message: MessageRecord, at_epoch: float) -> None:
        """A scheduled message: released at ``at_epoch`` (wall clock), when it is charged."""
        delay = max(0.0, at_epoch - time.time())
        self._push(self._state.clock() + delay, workspace, message)

    def run_due(self, now: float | None = None) -> int:
        """Apply every step due by ``now`` (default: the clock); return how many ran."""
        heap = self._heap
        if not heap:
            return 0
        now = self._state.clock() if now is None else now
        done = 0
        while heap and heap[0][0] <= now:
            _, _, workspace, item = heapq.heappop(heap)
            if isinstance(item, MessageRecord):
                assert workspace is not None
                self._step(workspace, item)
            else:
                item()
            done += 1
        return done

    async def run(self) -> None:
        """The background task: sleep until the next due step, apply it, repeat."""
        while True:
            self._wake.clear()
            try:
                self.run_due()
            except Exception as exc:  # a bug: keep it for tests, keep the task alive
                self._state.server_errors.append(exc)
            delay = self._heap[0][0] - self._state.clock() if self._heap else None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    # -- transitions -------------------------------------------------------

    def _charge(self, workspace: Workspace, message: MessageRecord) -> None:
        self.outbound_count += 1
        instance = workspace.instances.get(message.instance_id)
        if instance is not None:
            instance.sent += 1

    def _begin(self, workspace: Workspace, message: MessageRecord) -> None:
        settings = self._state.settings
        message.status = "queued"
        if message.to in settings.failing_numbers:
            message.path = ["failed"]
        elif settings.delivery_path is not None:
            message.path = list(settings.delivery_path)
        elif message.to in settings.unread_numbers or not settings.read_receipts:
            message.path = ["sent", "delivered"]
        else:
            message.path = ["sent", "delivered", "read"]
        step = settings.message_step
        if step:
            self._push(self._state.clock() + step, workspace, message)
            return
        while message.path:  # instant mode: every step now, every event published
            self._step(workspace, message)

    def call_at(self, due: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the clock reaches ``due`` (same drain as message steps)."""
        self._push(due, None, callback)

    def _push(
        self, due: float, workspace: Workspace | None, item: MessageRecord | Callable[[], None]
    ) -> None:
        entry = (due, next(self._tiebreak), workspace, item)
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._wake.set()  # the new entry is the earliest: the task must re-arm its sleep

    def _step(self, workspace: Workspace, message: MessageRecord) -> None:
        if message.status == "scheduled":
            self._release(workspace, message)
            return
        if not message.path:
            return
        status = message.path.pop(0)
        instance = workspace.instances.get(message.instance_id)
        if status == "sent" and (instance is None or not instance.connected):
            # Queued messages cannot leave a disconnected number: they fail, not wait.
            status = "failed"
            message.error = _error("INSTANCE_DISCONNECTED", "The instance is not connected")
            message.path = []
        elif status == "failed":
            message.error = _error("DELIVERY_FAILED", f"Could not deliver to {message.to}")
        self._set_status(workspace, message, status)
        if not message.path:
            return
        step = self._state.settings.message_step
        if step:
            self._push(self._state.clock() + step, workspace, message)
        else:  # the pace was switched to instant meanwhile: finish now
            self._step(workspace, message)

    def _release(self, workspace: Workspace, message: MessageRecord) -> None:
        """Send time of a scheduled message: the quota and the instance are checked again."""
        instance = workspace.instances.get(message.instance_id)
        if self.quota_exhausted():
            text = "Monthly outbound message quota exceeded at send time"
            message.error = _error("MONTHLY_OUTBOUND_QUOTA_EXCEEDED", text)
        elif instance is None or not instance.connected:
            message.error = _error("INSTANCE_DISCONNECTED", "The instance is not connected")
        if message.error is not None:
            self._set_status(workspace, message, "failed")
            return
        self.start(workspace, message)

    def reject(self, workspace: Workspace, message: MessageRecord, code: str, text: str) -> None:
        """Fail a message that could not be sent at all (never charged to the quota)."""
        message.error = _error(code, text)
        message.path = []
        self._set_status(workspace, message, "failed")

    def _set_status(self, workspace: Workspace, message: MessageRecord, status: str) -> None:
        message.status = status
        message.updated_at = iso_now()
        self._state.events.publish(workspace, message_event(message))

    # -- inbound and instance events ---------------------------------------

    def receive(
        self,
        workspace: Workspace,
        instance: InstanceRecord,
        sender: str,
        text: str,
        *,
        type: str = "text",
        media_url: str | None = None,
    ) -> MessageRecord:
        """Store an inbound message and publish ``message.received``."""
        message = MessageRecord(
            instance_id=instance.id,
            to=instance.wa_number,
            type=type,
            body=text,
            status="received",
            now=iso_now(),
            user_id=workspace.user["id"],
        )
        message.direction = "inbound"
        message.from_ = sender
        message.media_url = media_url
        workspace.messages.add(message)
        payload = message_event(message)
        payload.update({"from": sender, "body": text, "type": type})
        if media_url is not None:
            payload["mediaUrl"] = media_url
        self._state.events.publish(workspace, payload)
        return message

    def instance_status(self, workspace: Workspace, instance: InstanceRecord, status: str) -> None:
        """Change an instance's status; publish ``instance.(dis)connected`` on real changes."""
        before = instance.status
        instance.status = status
        instance.updated_at = iso_now()
        if status == before or status not in ("connected", "disconnected"):
            return
        payload = {
            "event": "instance." + status,
            "instanceId": instance.id,
            "status": status,
            "timestamp": iso_timestamp(time.time()),
        }
        self._state.events.publish(workspace, payload)
