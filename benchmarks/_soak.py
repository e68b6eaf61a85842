"""The soak's parts: fixed-memory latency histograms, the on-disk outcome log,
the mixed operations, and the check of the SDK's outcomes against the emulator's record.

Everything a 2-minute run accumulates per request lives either in fixed-size
structures (histogram buckets, counters keyed by class name) or in a temporary
file, so the resident set measured in the client process is the SDK's, not the
benchmark's bookkeeping.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

from msgflash_async import MsgFlashClient, MsgFlashError, OutgoingMessage
from msgflash_async._batch_outcomes import classify_error

# Recipients and phones per task are unique: +1 777 TTT NNNNNN (sends), +1 666 ... (creates).
SEND_PREFIX = "+1777"
CREATE_PREFIX = "+1666"
WARMUP_TASK = 999


class Histogram:
    """Latencies in log-spaced buckets 2 % wide: fixed memory however long the run."""

    GROWTH = 1.02
    FLOOR = 1e-5  # 10 µs
    BUCKETS = 1000  # up to ~4,000 s

    def __init__(self) -> None:
        self.counts = [0] * self.BUCKETS
        self.n = 0
        self.max = 0.0
        self._log_growth = math.log(self.GROWTH)

    def add(self, seconds: float) -> None:
        index = int(math.log(max(seconds, self.FLOOR) / self.FLOOR) / self._log_growth)
        self.counts[min(index, self.BUCKETS - 1)] += 1
        self.n += 1
        self.max = max(self.max, seconds)

    def quantile(self, q: float) -> float:
        """The bucket's geometric middle: within 1 % of the true quantile."""
        rank, seen = q * self.n, 0
        for index, count in enumerate(self.counts):
            seen += count
            if count and seen >= rank:
                return self.FLOOR * self.GROWTH ** (index + 0.5)
        return self.max

    def summary(self) -> dict[str, Any]:
        if not self.n:
            return {"calls": 0}
        return {
            "calls": self.n,
            "p50_ms": round(self.quantile(0.50) * 1000, 2),
            "p99_ms": round(self.quantile(0.99) * 1000, 2),
            "max_ms": round(self.max * 1000, 2),
        }


class OutcomeLog:
    """Every send and create outcome, appended to a temporary file (not held in RAM)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed below)

    def add(self, kind: str, key: str, status: str, ident: str | None, error: str | None) -> None:
        self._file.write(f"{kind}\t{key}\t{status}\t{ident or ''}\t{error or ''}\n")

    def rows(self) -> Iterator[list[str]]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield line.rstrip("\n").split("\t")

    def close(self) -> None:
        self._file.close()


@attrs.define
class Ops:
    """The operations one task draws from, and what they record."""

    client: MsgFlashClient
    instance_id: str
    contact_ids: list[str]
    group_ids: list[str]
    log: OutcomeLog
    errors: Counter[str] = attrs.field(factory=Counter)
    foreign: list[str] = attrs.field(factory=list)  # first few non-MsgFlashError exceptions

    def error(self, op: str, exc: BaseException) -> None:
        self.errors[f"{op}:{type(exc).__name__}"] += 1
        if not isinstance(exc, MsgFlashError) and len(self.foreign) < 20:
            self.foreign.append(f"{op}: {exc!r}")

    async def get(self, rng: random.Random, task: int, seq: int) -> None:
        await self.client.contacts.get(rng.choice(self.contact_ids))

    async def list(self, rng: random.Random, task: int, seq: int) -> None:
        pages = rng.randint(2, 4)
        paginator = self.client.contacts.list(
            limit=100, max_items=pages * 100, prefetch=rng.random() < 0.5
        )
        async for _ in paginator:
            pass

    async def bulk(self, rng: random.Random, task: int, seq: int) -> None:
        ids = rng.sample(self.contact_ids, rng.randint(100, 200))
        group = rng.choice(self.group_ids)
        await self.client.groups.add_members(group, ids, poll_interval=0.02)

    async def create(self, rng: random.Random, task: int, seq: int) -> None:
        phone = f"{CREATE_PREFIX}{task:03d}{seq:06d}"
        try:
            contact = await self.client.contacts.create(name=f"soak {task} {seq}", phone=phone)
        except Exception as exc:
            self.log.add("create", phone, classify_error(exc).value, None, type(exc).__name__)
            raise
        self.log.add("create", phone, "accepted", contact.id, None)

    async def send(self, rng: random.Random, task: int, seq: int) -> None:
        to = f"{SEND_PREFIX}{task:03d}{seq:06d}"
        message = OutgoingMessage.text_message(
            instance_id=self.instance_id, to=to, text=f"soak {task} {seq}"
        )
        try:
            sent = await self.client.messages.send(message)
        except Exception as exc:
            # The SDK's own rule (the batch sender's): may the request have arrived?
            self.log.add("send", to, classify_error(exc).value, None, type(exc).__name__)
            raise
        self.log.add("send", to, "accepted", sent.id, None)

    async def send_many(self, rng: random.Random, task: int, seq: int) -> None:
        """Five messages through the batch sender; every input must get one outcome."""
        pairs = [(f"{SEND_PREFIX}{task:03d}{seq + i:06d}", i) for i in range(5)]
        inputs = [
            (
                to,
                OutgoingMessage.text_message(
                    instance_id=self.instance_id, to=to, text=f"soak {task} {seq + i}"
                ),
            )
            for to, i in pairs
        ]
        seen: set[str] = set()
        try:
            async with self.client.messages.send_many(inputs, concurrency=5) as outcomes:
                async for outcome in outcomes:
                    key = str(outcome.key)
                    seen.add(key)
                    error = outcome.error
                    if error is not None:
                        self.error("send_many", error)
                    name = None if error is None else type(error).__name__
                    self.log.add("send", key, outcome.status.value, outcome.message_id, name)
        finally:
            for to, _ in pairs:
                if to not in seen:  # no outcome at all: a bug unless the op was cut off
                    self.log.add("send", to, "missing", None, None)

    def table(self) -> dict[str, Any]:
        return {
            "get": (40, self.get),
            "list": (10, self.list),
            "create": (15, self.create),
            "send": (25, self.send),
            "send_many": (5, self.send_many),
            "bulk": (5, self.bulk),
        }


def verify(
    rows: Iterator[list[str]], sent: list[list[str]], contacts: list[list[str]]
) -> dict[str, Any]:
    """Compare what the SDK reported with what the emulator recorded."""
    sends: dict[str, tuple[str, str]] = {}
    creates: dict[str, tuple[str, str]] = {}
    problems: Counter[str] = Counter()
    examples: list[str] = []

    def problem(name: str, detail: str) -> None:
        problems[name] += 1
        if len(examples) < 20:
            examples.append(f"{name}: {detail}")

    for kind, key, status, ident, _ in rows:
        book = sends if kind == "send" else creates
        if key in book:
            problem("two_outcomes_for_one_input", key)
        book[key] = (status, ident)
    statuses = Counter(status for status, _ in sends.values())
    _check(sends, sent, problem, "send")
    _check(creates, contacts, problem, "create")
    present_unknown = _present_unknown(sends, sent)
    return {
        "sends_reported": len(sends),
        "send_outcomes": dict(sorted(statuses.items())),
        "sends_recorded_by_emulator": len(sent),
        "unknown_sends_present_once": present_unknown,
        "unknown_sends_absent": statuses["unknown"] - present_unknown,
        "creates_reported": len(creates),
        "create_outcomes": dict(sorted(Counter(s for s, _ in creates.values()).items())),
        "problems": dict(problems),
        "problem_examples": examples,
        "agree": not problems,
    }


def _check(
    reported: dict[str, tuple[str, str]], record: list[list[str]], problem: Any, what: str
) -> None:
    """accepted: its id recorded exactly once, for that key; unknown: at most once;
    rejected / not sent / no outcome: absent; nothing recorded that was never reported."""
    ids = Counter(ident for ident, _ in record)
    key_of = {ident: key for ident, key in record}
    keys = Counter(key for _, key in record)
    for key, (status, ident) in reported.items():
        if status == "accepted":
            if ids[ident] != 1 or key_of.get(ident) != key:
                problem(f"{what}_accepted_not_recorded_once", f"{key} id={ident} x{ids[ident]}")
        elif status == "unknown":
            if keys[key] > 1:
                problem(f"{what}_unknown_recorded_twice", f"{key} x{keys[key]}")
        elif keys[key]:
            problem(f"{what}_{status}_but_recorded", f"{key} x{keys[key]}")
    for key, count in keys.items():
        if count > 1:
            problem(f"{what}_duplicate_in_record", f"{key} x{count}")
        if key not in reported:
            problem(f"{what}_recorded_but_never_reported", key)


def _present_unknown(sends: dict[str, tuple[str, str]], record: list[list[str]]) -> int:
    recorded = {to for _, to in record}
    return sum(1 for to, (status, _) in sends.items() if status == "unknown" and to in recorded)
