"""Bulk operations and job handles, driven by stub callables (no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import attrs
import pytest

from msgflash_async._exceptions import (
    BadRequestError,
    ConnectError,
    ConnectionLostError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobStalledError,
    MsgFlashError,
    ServerError,
    ValidationError,
)
from msgflash_async._jobs import BulkOperation, JobHandle, JobRunner, StallWatch, split
from msgflash_async.models.jobs import BulkJob, BulkJobStatus

pytestmark = pytest.mark.anyio

INTERVAL = 0.01


class FakeJobs:
    """A server stand-in: ids >= ``threshold`` become a job done after ``polls`` polls."""

    def __init__(self, *, threshold: int = 100, polls: int = 3, end: str = "done") -> None:
        self.threshold = threshold
        self.polls = polls
        self.end = BulkJobStatus(end)
        self.jobs: dict[str, BulkJob] = {}
        self.sent: list[Sequence[str]] = []
        self.poll_count = 0
        self.cancelled: list[str] = []
        self.frozen = False  # True: a job that never moves on

    async def send(self, chunk: Sequence[str]) -> int | BulkJob:
        # Chunks go one after the other: nothing may still be running.
        assert all(job.is_terminal for job in self.jobs.values())
        self.sent.append(chunk)
        if len(chunk) < self.threshold:
            return len(chunk)
        job = BulkJob(
            id=f"job{len(self.jobs)}", status=BulkJobStatus.PENDING, requested_count=len(chunk)
        )
        self.jobs[job.id] = job
        return job

    async def poll(self, job_id: str) -> BulkJob:
        self.poll_count += 1
        job = self.jobs[job_id]
        if job.is_terminal or self.frozen:
            return job
        step = job.processed_count + -(-job.requested_count // self.polls)
        processed = min(job.requested_count, step)
        finished = processed >= job.requested_count
        job = attrs.evolve(
            job,
            status=self.end if finished else BulkJobStatus.PROCESSING,
            processed_count=processed,
            progress=processed * 100 // job.requested_count,
            summary={"n": processed} if finished else None,
            error="boom" if finished and self.end is BulkJobStatus.FAILED else None,
        )
        self.jobs[job_id] = job
        return job

    async def cancel(self, job_id: str) -> BulkJob:
        self.cancelled.append(job_id)
        job = attrs.evolve(self.jobs[job_id], status=BulkJobStatus.CANCELLED)
        self.jobs[job_id] = job
        return job

    def runner(self) -> JobRunner[int]:
        return JobRunner(
            poll=self.poll,
            cancel=self.cancel,
            finish=lambda job: (job.summary or {})["n"],
            merge=sum,
            interval=INTERVAL,
        )

    def operation(self, count: int, size: int = 10_000) -> BulkOperation[int]:
        ids = [f"c{i}" for i in range(count)]
        return BulkOperation(self.send, split(ids, size), self.runner())


def test_split() -> None:
    assert split(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert split(list("ab"), 10) == [["a", "b"]]


async def test_sync_answer_is_the_result() -> None:
    fake = FakeJobs()
    assert await fake.operation(5) == 5
    assert fake.poll_count == 0


async def test_sync_handle_has_no_job_and_one_final_snapshot() -> None:
    fake = FakeJobs()
    handle = await fake.operation(5).submit()
    assert handle.job_id is None and handle.job_ids == ()
    assert handle.done
    snapshots = [s async for s in handle.progress()]
    assert len(snapshots) == 1
    assert snapshots[0].status is BulkJobStatus.DONE and snapshots[0].percent == 100
    assert await handle.cancel() is None
    assert await handle == 5


async def test_job_path_polls_to_the_same_result_type() -> None:
    fake = FakeJobs(polls=3)
    handle = await fake.operation(300).submit()
    assert handle.job_id == "job0"
    assert not handle.done and fake.poll_count == 0  # submit does not wait
    snapshots = [s async for s in handle.progress()]
    assert [s.percent for s in snapshots] == [0, 33, 66, 100]
    assert snapshots[0].status is BulkJobStatus.PENDING
    assert snapshots[1].status is BulkJobStatus.PROCESSING
    assert snapshots[-1].status is BulkJobStatus.DONE
    assert snapshots[-1].job is not None and snapshots[-1].job.id == "job0"
    assert await handle == 300
    assert fake.poll_count == 3


async def test_failed_job_raises_with_the_job() -> None:
    fake = FakeJobs(polls=2, end="failed")
    op = fake.operation(150)
    with pytest.raises(JobFailedError) as info:
        await op
    assert info.value.job.id == "job0" and info.value.job.error == "boom"
    handle = await op.submit()
    assert handle.status is BulkJobStatus.FAILED
    last = [s async for s in handle.progress()][-1]
    assert last.status is BulkJobStatus.FAILED


async def test_job_cancelled_on_the_server_raises() -> None:
    fake = FakeJobs(polls=2, end="cancelled")
    with pytest.raises(JobCancelledError) as info:
        await fake.operation(150)
    assert info.value.job.status is BulkJobStatus.CANCELLED


async def test_cancel_while_following_progress() -> None:
    fake = FakeJobs(polls=10)
    handle = await fake.operation(1000).submit()
    seen = []
    async for snapshot in handle.progress():
        seen.append(snapshot)
        if snapshot.status is BulkJobStatus.PROCESSING:
            job = await handle.cancel()
            assert job is not None and job.status is BulkJobStatus.CANCELLED
    assert fake.cancelled == ["job0"]
    assert seen[-1].status is BulkJobStatus.CANCELLED
    with pytest.raises(JobCancelledError):
        await handle
    polls = fake.poll_count
    await anyio.sleep(INTERVAL * 3)
    assert fake.poll_count == polls  # nothing polls a cancelled handle


async def test_split_operation_runs_chunks_in_turn_and_merges() -> None:
    fake = FakeJobs(polls=2)
    op = fake.operation(25_050)  # 10000 + 10000 + 5000 (jobs) ... chunk size 10000
    handle = await op.submit()
    assert len(fake.sent) == 1  # later chunks wait for the first job
    snapshots = [s async for s in handle.progress()]
    assert [len(c) for c in fake.sent] == [10_000, 10_000, 5_050]
    assert handle.job_ids == ("job0", "job1", "job2")
    assert all(s.requested == 25_050 for s in snapshots)
    processed = [s.processed for s in snapshots]
    assert processed == sorted(processed) and processed[-1] == 25_050
    assert len(snapshots[-1].jobs) == 3
    assert await handle == 25_050


async def test_split_mixes_sync_and_job_answers() -> None:
    fake = FakeJobs(polls=1)
    assert await fake.operation(250, size=100) == 250  # 100 (job), 100 (job), 50 (sync)
    assert [len(c) for c in fake.sent] == [100, 100, 50]


async def test_cancel_between_chunks_stops_the_rest() -> None:
    fake = FakeJobs(threshold=1_000)  # every chunk answered at once
    op = fake.operation(30, size=10)
    handle = await op.submit()
    assert await handle.cancel() is None
    with pytest.raises(JobCancelledError):
        await handle
    assert len(fake.sent) == 1


async def test_wait_timeout_leaves_the_handle_usable() -> None:
    fake = FakeJobs(polls=1_000_000)
    handle = await fake.operation(100).submit()
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=INTERVAL * 3)
    fake.polls = 1
    fake.jobs["job0"] = attrs.evolve(fake.jobs["job0"], processed_count=0)
    assert await handle.wait(timeout=5) == 100


async def test_operation_is_sent_once() -> None:
    fake = FakeJobs()
    op = fake.operation(5)
    first = await op.submit()
    assert await op.submit() is first
    assert await op == 5 and await op == 5
    assert len(fake.sent) == 1


async def test_a_call_that_never_left_is_sent_again() -> None:
    fake = FakeJobs()
    calls = 0

    async def flaky(chunk: Sequence[str]) -> int | BulkJob:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectError("refused")
        return await fake.send(chunk)

    op = BulkOperation(flaky, [["a", "b"]], fake.runner())
    with pytest.raises(ConnectError):
        await op
    assert await op == 2 and calls == 2


@pytest.mark.parametrize(
    "error",
    [ConnectionLostError("lost"), ServerError("boom", status=500, code="INTERNAL_ERROR")],
)
async def test_a_call_that_may_have_arrived_is_never_sent_again(error: Exception) -> None:
    fake = FakeJobs()
    calls = 0

    async def lossy(chunk: Sequence[str]) -> int | BulkJob:
        nonlocal calls
        calls += 1
        raise error

    op = BulkOperation(lossy, [["a"], ["b"]], fake.runner())
    with pytest.raises(type(error)):
        await op
    with pytest.raises(type(error)):
        await op
    assert calls == 1


async def test_a_cancelled_call_is_never_sent_again() -> None:
    fake = FakeJobs()
    calls = 0

    async def hanging(chunk: Sequence[str]) -> int | BulkJob:
        nonlocal calls
        calls += 1
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    op = BulkOperation(hanging, [["a"]], fake.runner())
    with anyio.move_on_after(INTERVAL):
        await op
    with pytest.raises(MsgFlashError, match="may have reached the server"):
        await op
    assert calls == 1


async def test_handle_rebuilt_from_job_ids_polls_at_once() -> None:
    fake = FakeJobs(polls=1)
    for count in (200, 300):
        await fake.send([str(i) for i in range(count)])
        await fake.poll(f"job{len(fake.jobs) - 1}")  # let each finish before the next
    fake.poll_count = 0
    handle = JobHandle(fake.runner(), job_ids=["job0", "job1"])
    assert handle.status is BulkJobStatus.PENDING
    assert await handle == 500
    assert fake.poll_count == 2
    assert handle.snapshot().requested == 500


async def test_waiter_and_progress_loop_share_polls() -> None:
    fake = FakeJobs(polls=5)
    handle = await fake.operation(500).submit()
    results: list[int] = []

    async def waiter() -> None:
        results.append(await handle)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        async for _ in handle.progress():
            pass
    assert results == [500]
    # Five polls finish the job; two loops polling on their own would make ~10.
    assert fake.poll_count <= 7


async def test_cancel_of_a_job_that_just_finished_reports_it() -> None:
    fake = FakeJobs(polls=1)
    handle = await fake.operation(100).submit()
    await fake.poll("job0")  # the job ends on the server before the cancel arrives

    async def refuse(job_id: str) -> BulkJob:
        raise BadRequestError("cannot cancel a done job", status=400, code="BAD_REQUEST")

    handle._runner = attrs.evolve(handle._runner, cancel=refuse)
    job = await handle.cancel()
    assert job is not None and job.status is BulkJobStatus.DONE
    assert await handle == 100


class SlowSecondChunk:
    """``fake.send`` whose second and later chunks take ``seconds`` (a POST in flight)."""

    def __init__(self, fake: FakeJobs, seconds: float) -> None:
        self.fake = fake
        self.seconds = seconds
        self.started = 0
        self.finished = 0

    async def __call__(self, chunk: Sequence[str]) -> int | BulkJob:
        self.started += 1
        if self.started > 1:
            await anyio.sleep(self.seconds)
        answer = await self.fake.send(chunk)
        self.finished += 1
        return answer


async def test_wait_timeout_never_cuts_a_chunk_in_flight() -> None:
    fake = FakeJobs(polls=1)
    send = SlowSecondChunk(fake, seconds=INTERVAL * 20)
    ids = [f"c{i}" for i in range(300)]
    handle = await BulkOperation(send, split(ids, 150), fake.runner()).submit()
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=INTERVAL * 5)  # ends while the second chunk is sent
    assert send.started == send.finished == 2  # the call was let finish, its job kept
    assert handle.job_ids == ("job0", "job1") and not handle.done
    assert await handle.wait(timeout=5) == 300
    assert fake.sent == [ids[:150], ids[150:]]  # each chunk once


async def test_wait_timeout_sends_no_new_chunk_once_expired() -> None:
    fake = FakeJobs(polls=1)
    handle = await fake.operation(300, size=150).submit()

    async def slow_poll(job_id: str) -> BulkJob:
        with anyio.CancelScope(shield=True):  # the poll answers after the deadline
            await anyio.sleep(INTERVAL * 5)
        return await fake.poll(job_id)

    handle._runner = attrs.evolve(handle._runner, poll=slow_poll)
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=INTERVAL * 2)
    assert len(fake.sent) == 1  # the first job is done, the next chunk waits for a wait
    assert await handle.wait(timeout=5) == 300
    assert len(fake.sent) == 2


async def test_cancelling_the_waiter_mid_chunk_still_gives_up() -> None:
    fake = FakeJobs(polls=1)
    send = SlowSecondChunk(fake, seconds=60)
    handle = await BulkOperation(send, split(["a"] * 300, 150), fake.runner()).submit()
    started = anyio.current_time()
    with anyio.move_on_after(INTERVAL * 5):
        await handle.wait(timeout=30)  # the caller's own cancellation, not the wait's
    assert anyio.current_time() - started < 5  # promptly: the call was cut
    assert send.started == 2 and send.finished == 1
    with pytest.raises(MsgFlashError, match="may have reached the server"):
        await handle.wait(timeout=5)
    assert send.started == 2  # never sent again


# -- jobs that never finish -----------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_stall_watch_counts_only_new_highs_new_statuses_and_new_jobs() -> None:
    clock = ManualClock()
    watch = StallWatch(10.0, clock=clock)
    assert watch.observe("j1", "pending", (0, 0))  # the first reading starts the clock
    clock.now = 9.0
    assert not watch.observe("j1", "pending", (0, 0)) and watch.stalled() is None
    assert watch.observe("j1", "processing", (0, 0))  # a new status is progress
    assert watch.observe("j1", "processing", (50, 50))
    clock.now = 15.0
    # Backwards, then up again but never above the high-water mark: no progress.
    for processed in (10, 20, 30, 40, 50):
        assert not watch.observe("j1", "processing", (processed, processed))
    assert not watch.observe("j1", "pending", (50, 50))  # a status seen before
    clock.now = 19.0
    assert watch.stalled() == 10.0
    watch.restart()
    assert watch.stalled() is None
    assert watch.observe("j2", "pending", (0, 0))  # the next job of a split operation
    clock.now = 100.0
    assert StallWatch(None, clock=clock).stalled() is None
    with pytest.raises(ValueError, match="stall window"):
        StallWatch(0)


async def test_a_job_that_never_finishes_raises_stalled_with_the_job() -> None:
    fake = FakeJobs(polls=2)
    handle = await fake.operation(1_000).submit()
    handle.stall_timeout = 0.2
    fake.frozen = True
    with anyio.fail_after(30), pytest.raises(JobStalledError) as info:  # a bug polls for ever
        await handle
    stalled = info.value
    assert isinstance(stalled, JobError) and stalled.stalled_for >= 0.2
    assert stalled.job is not None and stalled.job.id == "job0"
    assert "job0 made no progress" in str(stalled) and not handle.done
    polls = fake.poll_count
    # The handle stays usable: once the job moves on, awaiting again ends it.
    fake.frozen = False
    assert await handle == 1_000 and fake.poll_count > polls


async def test_progress_going_backwards_is_shown_but_is_not_progress() -> None:
    readings = iter([40, 50, 10, 20, 30, 40, 50] + [45, 50] * 10_000)

    async def poll(job_id: str) -> BulkJob:
        processed = next(readings)
        return BulkJob(
            id=job_id,
            status=BulkJobStatus.PROCESSING,
            requested_count=100,
            processed_count=processed,
            progress=processed,
        )

    async def never(job_id: str) -> BulkJob:
        raise AssertionError("not cancelled")

    runner: JobRunner[int] = JobRunner(
        poll=poll, cancel=never, finish=lambda j: 0, merge=sum, interval=INTERVAL, stall_timeout=0.2
    )
    handle = JobHandle(runner, job_ids=["j"])
    seen = []
    with anyio.fail_after(30), pytest.raises(JobStalledError) as info:
        async for snapshot in handle.progress():
            seen.append(snapshot.processed)
    assert seen[:5] == [0, 40, 50, 10, 20]  # passed through as the server said it
    assert info.value.job.processed_count in (45, 50)


async def test_stall_timeout_none_turns_the_check_off_and_bad_values_are_refused() -> None:
    handle = await FakeJobs().operation(300).submit()
    handle.stall_timeout = None
    assert handle.stall_timeout is None
    for bad in (0, -1.0):
        with pytest.raises(ValidationError, match="stall_timeout"):
            handle.stall_timeout = bad
    assert await handle == 300
