"""A batch journal in Redis, under a lease: batches that survive their worker.

Several worker processes may be given the same inputs and the same journal
name: the first takes the lease and runs the batch, the others are refused
(as a file journal in use is). The owner renews the lease while it runs;
if it dies (SIGKILL, a lost machine), the lease runs out after ``lease``
seconds and the next process to try takes over: it finds every input the
dead owner accepted (skipped), every request it had in flight (an attempt
without an outcome: ``unknown``, never re-sent blindly) and sends the rest.

Every write checks the lease in the same atomic script, so an owner that
stalled past its lease and was replaced cannot write (or send) any more:
its next attempt fails and its batch stops with ``journal_failed``.

An attempt is in Redis before its request leaves. For it to survive a
Redis restart too, run Redis with ``appendonly yes`` (and ``appendfsync
always`` for the strictest case); a replica is not enough on its own.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Hashable
from typing import Any

import anyio

from .._exceptions import MsgFlashError, ValidationError
from .._journal import ATTEMPTED, BatchJournal, JournalEntry
from .._repr import tolerant_repr
from ._connect import require_redis

__all__ = ["RedisJournal"]

logger = logging.getLogger("msgflash_async")

_HEADER = "msgflash-batch/1"
_FLUSH_EVERY = 0.1

# KEYS: lease, entries. ARGV: token, then field/value pairs. 0 if the lease is lost.
_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: lease. ARGV: token, lease_ms. 0 if the lease is lost.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: lease. ARGV: token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLostError(MsgFlashError):
    """Another process took the journal over: this one must not send any more."""


class RedisJournal(BatchJournal):
    """A :class:`~msgflash_async.BatchJournal` kept in Redis under ``name``, with a lease.

    Pass it as ``journal=`` to ``send_many`` / ``BatchSender``. One instance
    serves one run; build a new one (same ``redis`` and ``name``) to resume.
    ``lease`` is how long a dead owner holds the batch before another process
    may take over; the owner renews it every third of that.
    """

    def __init__(
        self, redis: Any, name: str, *, lease: float = 10.0, prefix: str = "msgflash"
    ) -> None:
        require_redis()
        if not name or lease <= 0:
            raise ValueError("name must not be empty and lease must be positive")
        self.name = f"redis:{name}"
        self._redis = redis
        base = f"{prefix}:journal:{{{name}}}"
        self._lease_key, self._entries_key, self._meta_key = (
            f"{base}:lease",
            f"{base}:entries",
            f"{base}:meta",
        )
        self._lease_ms = max(1, round(lease * 1000))
        self._token = secrets.token_hex(8)
        self._write = redis.register_script(_WRITE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._entries: dict[int, JournalEntry] = {}
        self._fingerprints: dict[int, tuple[str, float | None]] = {}
        self._pending: dict[int, str] = {}
        self._owned = False

    @tolerant_repr
    def __repr__(self) -> str:
        return f"RedisJournal({self.name!r}, earlier={len(self._entries)}, owned={self._owned})"

    async def open(self) -> None:
        taken = await self._redis.set(self._lease_key, self._token, nx=True, px=self._lease_ms)
        if not taken:
            ttl = await self._redis.pttl(self._lease_key)
            raise ValidationError(
                f"{self.name} is in use by another running batch (its lease ends "
                f"{max(ttl, 0) / 1000:.1f} s after its owner stops renewing it): wait "
                "for it to end, or use another journal for other inputs",
                field="journal",
            )
        self._owned = True
        try:
            await self._check_and_load()
        except BaseException:
            await self.aclose()
            raise

    async def _check_and_load(self) -> None:
        kinds = {_text(await self._redis.type(k)) for k in (self._entries_key, self._meta_key)}
        header = await self._redis.get(self._meta_key) if "string" in kinds else None
        exists = kinds != {"none"}
        if exists and (_text(header) != _HEADER or not kinds <= {"string", "hash", "none"}):
            raise ValidationError(
                f"{self.name} exists in Redis and is not a msgflash batch journal: it "
                "was left untouched; choose another name",
                field="journal",
            )
        if not exists:
            await self._redis.set(self._meta_key, _HEADER)
        raw = await self._redis.hgetall(self._entries_key)
        for field, value in raw.items():
            index, record = int(field), json.loads(value)
            at = record.get("t")
            self._entries[index] = JournalEntry(record["fp"], record["state"], record.get("id"), at)
            self._fingerprints[index] = (record["fp"], at)

    def lookup(self, index: int) -> JournalEntry | None:
        return self._entries.get(index)

    async def attempt(self, index: int, fingerprint: str, key: Hashable | None) -> None:
        at = round(time.time(), 3)
        self._fingerprints[index] = (fingerprint, at)
        record: dict[str, Any] = {"fp": fingerprint, "state": ATTEMPTED, "t": at}
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            record["key"] = key
        # Pending outcomes ride along: one round trip, and never behind the attempt.
        await self._commit({index: json.dumps(record, separators=(",", ":"))})

    def outcome(
        self, index: int, status: str, *, message_id: str | None = None, code: str | None = None
    ) -> None:
        fingerprint, at = self._fingerprints.get(index, ("", None))
        record = {"fp": fingerprint, "state": status, "t": at, "id": message_id, "code": code}
        self._pending[index] = json.dumps(record, separators=(",", ":"))

    async def keep_alive(self) -> None:
        """Renew the lease every third of it; flush outcomes every 0.1 s."""
        renew_every = self._lease_ms / 3000
        renewed = time.monotonic()
        while True:
            await anyio.sleep(min(_FLUSH_EVERY, renew_every))
            if self._pending:
                await self._commit({})
            if time.monotonic() - renewed >= renew_every:
                if not await self._renew(
                    keys=[self._lease_key], args=[self._token, self._lease_ms]
                ):
                    raise LeaseLostError(f"{self.name}: another process took the batch over")
                renewed = time.monotonic()

    async def _commit(self, records: dict[int, str]) -> None:
        pending, self._pending = self._pending, {}
        fields = {**pending, **records}
        args: list[Any] = [self._token]
        for index, value in fields.items():
            args += [index, value]
        if not await self._write(keys=[self._lease_key, self._entries_key], args=args):
            raise LeaseLostError(f"{self.name}: another process took the batch over")

    async def aclose(self) -> None:
        """Write pending outcomes and release the lease; idempotent."""
        if not self._owned:
            return
        self._owned = False
        with anyio.CancelScope(shield=True):
            try:
                if self._pending:
                    await self._commit({})
            except LeaseLostError:
                # Lost outcomes only turn known outcomes into unknown ones.
                logger.warning("%s: lease lost, outcomes not written", self.name)
            finally:
                await self._release(keys=[self._lease_key], args=[self._token])

    async def delete(self) -> None:
        """Forget the whole journal (after a batch that needs no resume)."""
        await self._redis.delete(self._entries_key, self._meta_key)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
