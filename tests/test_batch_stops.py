"""Every input reported, whatever stops the batch: a break, a cancellation, a full disk."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from test_batch import NOT_ATTEMPTED, Msg, Stub, by_index, collect, msgs

from msgflash_async import BatchSender, OutcomeStatus, SendOutcome, _journal_file

pytestmark = pytest.mark.anyio

ACCEPTED = OutcomeStatus.ACCEPTED
UNKNOWN = OutcomeStatus.UNKNOWN


async def test_leaving_early_reports_every_input_of_a_sized_source() -> None:
    stub = Stub()
    stream = BatchSender(stub, concurrency=4).stream(msgs(1000))
    async with stream as outcomes:
        seen = 0
        async for _ in outcomes:
            seen += 1
            if seen == 10:
                break
    report = stream.report
    assert report.total == 1000 and report.done == 1000
    assert report.accepted == len(stub.calls)
    assert report.counts[NOT_ATTEMPTED] == 1000 - len(stub.calls)
    # Everything before resume_from was sent; nothing from read on was.
    assert set(range(report.resume_from)) <= set(stub.calls)
    assert all(i < report.read for i in stub.calls)


async def test_leaving_early_says_how_far_an_iterator_was_read() -> None:
    stub = Stub()
    source: Iterator[Msg] = iter(msgs(1000))
    stream = BatchSender(stub, concurrency=4).stream(source)
    async with stream as outcomes:
        async for _ in outcomes:
            break
    report = stream.report
    assert report.total is None
    assert report.done == report.read, "every input read has its outcome"
    assert len(list(source)) == 1000 - report.read, "the rest is still in the iterator"
    assert report.resume_from <= report.read
    assert set(range(report.resume_from)) <= set(stub.calls)


async def test_cancelling_reports_every_input_of_a_sized_source() -> None:
    stub = Stub(block=lambda i: i >= 20)
    stream = BatchSender(stub, concurrency=4).stream(msgs(500))
    with anyio.CancelScope() as scope:
        async with stream as outcomes:
            async for outcome in outcomes:
                if outcome.index == 19:
                    await stub.blocking.wait()
                    scope.cancel()
    report = stream.report
    assert report.stop_reason == "cancelled" and report.done == 500
    blocked = set(stub.calls) - set(range(20))
    assert {u.index for u in report.unknown} == blocked
    assert report.counts[NOT_ATTEMPTED] == 500 - len(stub.calls)


class _FullDisk:
    """``os.write`` on a disk that fills up after ``room`` bytes (a short write, then ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __call__(self, fd: int, data: memoryview) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = _journal_file.os.write(fd, data[: self.room])
        self.room -= written
        return written


async def test_a_full_disk_stops_the_batch_and_reports_every_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "batch.jsonl"
    inputs = msgs(300)
    monkeypatch.setattr(_journal_file, "_os_write", _FullDisk(room=3000))
    stub = Stub()
    stream = BatchSender(stub, concurrency=8, journal=journal).stream(inputs)
    first: list[SendOutcome[object]] = []
    with pytest.raises(OSError, match="No space left"):
        async with stream as outcomes:
            async for outcome in outcomes:
                first.append(outcome)
    report = stream.report
    assert report.stop_reason == "journal_failed"
    assert report.done == 300 and report.total == 300
    assert report.accepted == len(stub.calls) and 0 < len(stub.calls) < 300
    reported = by_index(first)  # type: ignore[arg-type]
    not_attempted = {
        i for i in range(300) if i not in reported or reported[i].status is NOT_ATTEMPTED
    }
    assert len(not_attempted) == report.counts[NOT_ATTEMPTED]

    monkeypatch.undo()  # space again
    resumed = Stub()
    again = by_index(await collect(BatchSender(resumed, journal=journal), inputs))
    # An input this report called not attempted is sent now, never unknown.
    assert all(again[i].status is ACCEPTED for i in not_attempted)
    assert not_attempted <= set(resumed.calls)
    assert set(stub.calls).isdisjoint(resumed.calls), "nothing sent twice"
