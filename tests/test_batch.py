"""The batch sender against stub send callables: no HTTP, no timing asserts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

from msgflash_async._batch import (
    BatchProgress,
    BatchSender,
    OutcomeStatus,
    SendOutcome,
    classify_error,
    stop_reason_for,
)
from msgflash_async._exceptions import (
    AuthenticationError,
    ConnectError,
    ConnectionLostError,
    DecodeError,
    NotFoundError,
    PlanLimitError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableError,
    ValidationError,
)
from msgflash_async._journal import fingerprint

pytestmark = pytest.mark.anyio

ACCEPTED = OutcomeStatus.ACCEPTED
REJECTED = OutcomeStatus.REJECTED
UNKNOWN = OutcomeStatus.UNKNOWN
NOT_SENT = OutcomeStatus.FAILED_NOT_SENT
NOT_ATTEMPTED = OutcomeStatus.NOT_ATTEMPTED
SKIPPED = OutcomeStatus.SKIPPED


@attrs.frozen
class Msg:
    to: str
    text: str = "hello"


@attrs.frozen
class Reply:
    id: str


def bad_number() -> Exception:
    return UnprocessableError("bad number", status=422, code="INVALID_DESTINATION")


def quota() -> Exception:
    return QuotaExceededError("quota used", status=429, code="MONTHLY_OUTBOUND_QUOTA_EXCEEDED")


def rate_limited() -> Exception:
    return RateLimitError("slow down", status=429, code="API_RATE_LIMIT_EXCEEDED")


def msgs(n: int) -> list[Msg]:
    return [Msg(f"+3361234{i:05d}") for i in range(n)]


def index_of(msg: Msg) -> int:
    return int(msg.to[-5:])


class Stub:
    """A send callable: fails per index as told, records every call."""

    def __init__(
        self,
        fail: dict[int, Callable[[], Exception]] | None = None,
        *,
        block: Callable[[int], bool] = lambda i: False,
    ) -> None:
        self.fail = fail or {}
        self.block = block
        self.calls: list[int] = []
        self.in_flight = 0
        self.after_stop: list[int] = []
        self.stopped = False
        self.blocking = anyio.Event()

    async def __call__(self, msg: Msg) -> Reply:
        index = index_of(msg)
        self.calls.append(index)
        if self.stopped:
            self.after_stop.append(index)
        self.in_flight += 1
        try:
            await anyio.lowlevel.checkpoint()
            if self.block(index):
                self.blocking.set()
                await anyio.sleep_forever()
            make = self.fail.get(index)
            if make is not None:
                error = make()
                self.stopped |= stop_reason_for(error) is not None
                raise error
            return Reply(f"msg_{index}")
        finally:
            self.in_flight -= 1


async def collect(sender: BatchSender[Msg, Reply], source: Any) -> list[SendOutcome[Reply]]:
    async with sender.stream(source) as outcomes:
        return [outcome async for outcome in outcomes]


def by_index(outcomes: list[SendOutcome[Reply]]) -> dict[int, SendOutcome[Reply]]:
    indices = [o.index for o in outcomes]
    assert len(indices) == len(set(indices)), "an input was reported twice"
    return {o.index: o for o in outcomes}


async def test_every_input_reported_exactly_once() -> None:
    fail: dict[int, Callable[[], Exception]] = {}
    for i in range(0, 300, 7):
        fail[i] = bad_number
    for i in range(3, 300, 11):
        fail[i] = lambda: ConnectionLostError("connection lost", method="POST", path="/x")
    for i in range(5, 300, 13):
        fail[i] = lambda: ConnectError("cannot connect")
    stub = Stub(fail)
    outcomes = by_index(await collect(BatchSender(stub, concurrency=16), msgs(300)))

    assert sorted(outcomes) == list(range(300))
    assert sorted(stub.calls) == list(range(300)), "nothing retried, nothing skipped"
    expected = {bad_number: REJECTED, ConnectError: NOT_SENT}
    for i, outcome in outcomes.items():
        if i not in fail:
            assert outcome.status is ACCEPTED
            assert outcome.message == Reply(f"msg_{i}") and outcome.message_id == f"msg_{i}"
        elif fail[i] is bad_number:
            assert outcome.status is expected[bad_number]
            assert isinstance(outcome.error, UnprocessableError)
        else:
            assert outcome.status in (UNKNOWN, NOT_SENT)
            assert (outcome.status is UNKNOWN) == isinstance(outcome.error, ConnectionLostError)


async def test_report_counts_and_unknown_list() -> None:
    fail = {1: bad_number, 2: lambda: RequestTimeoutError("no answer in time")}
    sender = BatchSender(Stub(fail), concurrency=4)
    report = await sender.run(msgs(10))
    assert report.counts[ACCEPTED] == 8 and report.accepted == 8
    assert report.counts[REJECTED] == 1 and report.counts[UNKNOWN] == 1
    assert report.done == 10 and report.complete and report.stop_reason is None
    assert report.error_codes == {"INVALID_DESTINATION": 1, "RequestTimeoutError": 1}
    assert [u.index for u in report.unknown] == [2]


async def test_async_iterable_with_key_pairs_and_key_function() -> None:
    async def source() -> AsyncIterator[tuple[str, Msg]]:
        for i, msg in enumerate(msgs(20)):
            await anyio.lowlevel.checkpoint()
            yield f"k{i}", msg

    outcomes = by_index(await collect(BatchSender(Stub(), concurrency=3), source()))
    assert {o.key for o in outcomes.values()} == {f"k{i}" for i in range(20)}
    assert all(outcomes[i].key == f"k{i}" for i in range(20))

    keyed = BatchSender(Stub(), key=lambda m: m.to)
    for outcome in await collect(keyed, iter(msgs(5))):
        assert outcome.key == msgs(5)[outcome.index].to


async def test_source_is_read_lazily() -> None:
    pulled = 0

    def source() -> Iterator[Msg]:
        nonlocal pulled
        for i in range(50_000):
            pulled += 1
            yield Msg(f"+3361234{i % 100_000:05d}")

    sender = BatchSender(Stub(), concurrency=8)
    seen = 0
    async with sender.stream(source()) as outcomes:
        async for _ in outcomes:
            seen += 1
            # In flight + the small hand-over buffer + unread outcomes, no more.
            assert pulled - seen <= 8 + 8 + 8 + 2
            if seen == 2_000:
                break
    assert pulled < 2_100
    assert sender_report_reason(outcomes) == "closed"


def sender_report_reason(stream: Any) -> str | None:
    reason: str | None = stream.report.stop_reason
    return reason


@pytest.mark.parametrize(
    "stop_error",
    [quota, lambda: PlanLimitError("inactive", status=403, code="SUBSCRIPTION_INACTIVE")],
)
async def test_quota_stop_sends_nothing_more(stop_error: Callable[[], Exception]) -> None:
    stub = Stub({40: stop_error})
    outcomes = by_index(await collect(BatchSender(stub, concurrency=4), iter(msgs(500))))

    assert sorted(outcomes) == list(range(500)), "the rest is drained and reported"
    assert stub.after_stop == [], "no send started after the stop"
    assert outcomes[40].status is REJECTED
    assert isinstance(outcomes[40].error, (QuotaExceededError, PlanLimitError))
    sent = set(stub.calls)
    for i, outcome in outcomes.items():
        assert (outcome.status is NOT_ATTEMPTED) == (i not in sent)
    assert len(sent) < 60


async def test_stop_report_says_why() -> None:
    sender = BatchSender(Stub({3: quota}), concurrency=1)
    report = await sender.run(msgs(10))
    assert report.stop_reason == "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"
    assert isinstance(report.stop_error, QuotaExceededError) and not report.complete
    assert report.counts[ACCEPTED] == 3 and report.counts[NOT_ATTEMPTED] == 6


async def test_unknown_and_not_sent_are_not_retried() -> None:
    stub = Stub({0: lambda: ConnectionLostError("lost"), 1: lambda: ConnectError("refused")})
    await BatchSender(stub).run(msgs(2))
    assert sorted(stub.calls) == [0, 1]


async def test_a_rate_limit_that_surfaces_is_rejected_not_retried_by_the_batch() -> None:
    # Rate-limit retries are the session's (RetryPolicy.rate_limit_retries):
    # the batch has no retry loop of its own.
    calls: list[int] = []

    async def send(msg: Msg) -> Reply:
        calls.append(index_of(msg))
        raise rate_limited()

    outcomes = by_index(await collect(BatchSender(send), msgs(2)))
    assert {o.status for o in outcomes.values()} == {REJECTED}
    assert sorted(calls) == [0, 1], "one call per input"


async def test_unexpected_error_is_unknown_and_stops() -> None:
    def boom() -> Exception:
        return TypeError("bug in send")

    outcomes = by_index(await collect(BatchSender(Stub({0: boom}), concurrency=1), msgs(5)))
    assert outcomes[0].status is UNKNOWN
    assert all(outcomes[i].status is NOT_ATTEMPTED for i in range(1, 5))


def test_classify_error() -> None:
    assert classify_error(ConnectionLostError("x")) is UNKNOWN
    assert classify_error(RequestTimeoutError("x")) is UNKNOWN
    assert classify_error(ConnectError("x")) is NOT_SENT
    assert classify_error(DecodeError("x")) is UNKNOWN  # a 2xx we could not read
    assert classify_error(NotFoundError("x", status=404, code="NOT_FOUND")) is REJECTED
    assert classify_error(ValidationError("x")) is REJECTED
    # A 5xx came from something that received the request: it may be processed.
    assert classify_error(ServerError("x", status=502)) is UNKNOWN
    assert classify_error(ServerError("x", status=500, code="INTERNAL_ERROR")) is UNKNOWN
    assert stop_reason_for(AuthenticationError("x", status=401, code="UNAUTHORIZED"))
    assert stop_reason_for(PlanLimitError("x", status=403, code="MAX_INSTANCES_REACHED")) is None
    assert stop_reason_for(bad_number()) is None


async def test_resume_sends_only_the_remainder(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    inputs = msgs(60)
    first = Stub(
        {
            3: lambda: ConnectionLostError("lost"),
            5: bad_number,
            7: lambda: ConnectError("refused"),
            20: quota,
        }
    )
    report = await BatchSender(first, concurrency=1, journal=journal).run(inputs)
    assert report.stop_reason == "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"
    assert sorted(first.calls) == list(range(21))

    second = Stub()
    outcomes = by_index(await collect(BatchSender(second, concurrency=8, journal=journal), inputs))
    assert sorted(outcomes) == list(range(60))
    assert sorted(second.calls) == [5, 7, *range(20, 60)]
    accepted_first = set(first.calls) - {3, 5, 7, 20}
    assert accepted_first.isdisjoint(second.calls), "nothing accepted is sent twice"
    for i in accepted_first:
        assert outcomes[i].status is SKIPPED and outcomes[i].from_journal
        assert outcomes[i].message_id == f"msg_{i}"
    assert outcomes[3].status is UNKNOWN and outcomes[3].from_journal

    third = Stub()
    report = await BatchSender(third, journal=journal).run(inputs)
    assert third.calls == [] and [u.index for u in report.unknown] == [3]
    assert report.counts[SKIPPED] == 59


async def test_crash_between_attempt_and_outcome_is_unknown(tmp_path: Path) -> None:
    journal = tmp_path / "crashed.jsonl"
    inputs = msgs(4)
    lines = [
        {"journal": "msgflash-batch", "v": 1},
        {"i": 0, "fp": fingerprint(inputs[0])},
        {"i": 1, "fp": fingerprint(inputs[1])},
        {"i": 1, "outcome": "accepted", "id": "msg_1"},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    journal.write_text(text + '{"i": 2, "fp": "torn')  # the crash cut this write short

    stub = Stub()
    outcomes = by_index(await collect(BatchSender(stub, journal=journal), inputs))
    assert outcomes[0].status is UNKNOWN and outcomes[1].status is SKIPPED
    assert sorted(stub.calls) == [2, 3]
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert all("torn" not in str(r) for r in records), "the torn line was dropped"


async def test_changed_inputs_are_refused(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    await BatchSender(Stub(), journal=journal).run(msgs(5))
    changed = msgs(5)
    changed[2] = Msg(changed[2].to, text="something else")

    stub = Stub()
    with pytest.raises(ValidationError, match="input 2"):
        await BatchSender(stub, journal=journal).run(changed)
    assert stub.calls == []


async def test_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    with pytest.raises(ValidationError, match="not a msgflash batch journal"):
        await BatchSender(Stub(), journal=path).run(msgs(1))


async def test_a_journal_in_use_is_refused(tmp_path: Path) -> None:
    # Two runs on one journal at once would both send every input.
    journal = tmp_path / "batch.jsonl"
    first_stub, second_stub = Stub(block=lambda i: True), Stub()
    with anyio.CancelScope() as scope:
        async with BatchSender(first_stub, journal=journal).stream(msgs(3)):
            await first_stub.blocking.wait()
            with pytest.raises(ValidationError, match="in use by another running batch"):
                await BatchSender(second_stub, journal=journal).run(msgs(3))
            assert second_stub.calls == []
            scope.cancel()
    # Once the first run has ended, the journal is free again.
    report = await BatchSender(second_stub, journal=journal).run(msgs(3))
    assert report.done == 3


async def test_cancellation_mid_batch(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    inputs = msgs(40)
    stub = Stub(block=lambda i: i >= 10)
    sender = BatchSender(stub, concurrency=4, journal=journal)
    after_block = False
    received = 0
    with anyio.CancelScope() as scope:
        async with sender.stream(inputs) as outcomes:
            async for _ in outcomes:
                received += 1
                if received == 10:
                    await stub.blocking.wait()
                    scope.cancel()
        after_block = True
    assert scope.cancelled_caught and not after_block, "cancellation was not swallowed"
    assert stub.in_flight == 0, "no send left running"
    blocked = set(stub.calls) - set(range(10))
    assert blocked and len(blocked) <= 4
    assert {u.index for u in outcomes.report.unknown} == blocked

    resumed = Stub()
    results = by_index(await collect(BatchSender(resumed, journal=journal), inputs))
    assert sorted(results) == list(range(40))
    assert sorted(resumed.calls) == sorted(set(range(10, 40)) - blocked)
    assert {i for i, o in results.items() if o.status is UNKNOWN} == blocked


async def test_move_on_after_around_run() -> None:
    stub = Stub(block=lambda i: i >= 3)
    with anyio.move_on_after(0.05) as scope:
        await BatchSender(stub, concurrency=2).run(msgs(10))
    assert scope.cancelled_caught and stub.in_flight == 0


async def test_leaving_early_lets_in_flight_finish(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    stub = Stub()
    async with BatchSender(stub, concurrency=4, journal=journal).stream(msgs(100)) as outcomes:
        async for _ in outcomes:
            break
    report = outcomes.report
    assert report.stop_reason == "closed" and report.counts[UNKNOWN] == 0
    assert report.counts[ACCEPTED] == len(stub.calls)

    resumed = Stub()
    await BatchSender(resumed, journal=journal).run(msgs(100))
    assert sorted(stub.calls + resumed.calls) == list(range(100))


async def test_body_exception_propagates_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with BatchSender(Stub()).stream(msgs(10)) as outcomes:
            async for _ in outcomes:
                raise KeyError("mine")


async def test_progress_counts_add_up() -> None:
    seen: list[BatchProgress] = []
    fail = {2: bad_number, 4: lambda: ConnectionLostError("lost"), 30: quota}
    sender = BatchSender(Stub(fail), concurrency=4, on_progress=seen.append, progress_interval=0)
    report = await sender.run(msgs(50))
    assert len(seen) >= 50
    for snapshot in seen:
        parts = (
            snapshot.accepted
            + snapshot.rejected
            + snapshot.unknown
            + snapshot.failed_not_sent
            + snapshot.not_attempted
            + snapshot.skipped
        )
        assert parts == snapshot.done
    assert [s.done for s in seen] == sorted(s.done for s in seen)
    final = seen[-1]
    assert final.done == 50 == report.done
    assert final.unknown == 1 and final.rejected == 2


async def test_stream_needs_async_with() -> None:
    stream = BatchSender(Stub()).stream(msgs(1))
    with pytest.raises(RuntimeError, match="async with"):
        async for _ in stream:
            pass
    with pytest.raises(ValidationError):
        BatchSender(Stub(), concurrency=0)


async def test_failing_source_stops_and_raises_unwrapped() -> None:
    def source() -> Iterator[Msg]:
        yield from msgs(5)
        raise OSError("disk gone")

    stub = Stub()
    stream = BatchSender(stub, concurrency=2).stream(source())
    seen: dict[int, OutcomeStatus] = {}
    with pytest.raises(OSError, match="disk gone"):
        async with stream as outcomes:
            async for outcome in outcomes:
                seen[outcome.index] = outcome.status
    assert sorted(seen) == list(range(5)), "what was read is reported"
    assert {i for i, status in seen.items() if status is ACCEPTED} == set(stub.calls)
    assert stream.report.stop_reason == "source_failed"


async def test_failing_progress_callback_stops_and_raises_unwrapped() -> None:
    calls = 0

    def on_progress(progress: BatchProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyError("drawing failed")

    stub = Stub()
    sender = BatchSender(stub, concurrency=2, on_progress=on_progress, progress_interval=0)
    stream = sender.stream(msgs(50))
    seen: dict[int, OutcomeStatus] = {}
    with pytest.raises(KeyError, match="drawing failed"):
        async with stream as outcomes:
            async for outcome in outcomes:
                assert outcome.index not in seen
                seen[outcome.index] = outcome.status
    report = stream.report
    assert report.stop_reason == "progress_failed"
    # Every request made ended known; nothing is unknown for a callback's sake.
    assert report.counts[UNKNOWN] == 0
    assert report.accepted == len(stub.calls)
