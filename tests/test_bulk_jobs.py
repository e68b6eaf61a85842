"""client.bulk_jobs and bulk-operation handles against the emulator over loopback."""

from __future__ import annotations

import anyio
import pytest

from msgflash_async._client import MsgFlashClient
from msgflash_async._exceptions import (
    BadRequestError,
    ConnectionLostError,
    JobCancelledError,
    JobFailedError,
    JobStalledError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from msgflash_async.models.contacts import AddMembersResult, BulkDeleteResult, RemoveMembersResult
from msgflash_async.models.jobs import BulkJob, BulkJobOperation, BulkJobStatus
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

FAST = 0.02


async def test_job_progress_then_cancel(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.job_rate = 200.0  # 1000 ids take 5 s: time to watch and cancel
    ids = emu.seed_contacts(1000)
    group_id = emu.seed_group("G")
    handle = await client.groups.add_members(group_id, ids, poll_interval=FAST).submit()
    assert handle.job_id is not None and len(handle.job_ids) == 1

    snapshots = []
    async for snapshot in handle.progress():
        snapshots.append(snapshot)
        if snapshot.status is BulkJobStatus.PROCESSING and snapshot.processed > 0:
            cancelled = await handle.cancel()
            assert cancelled is not None and cancelled.status is BulkJobStatus.CANCELLED
    assert snapshots[0].status is BulkJobStatus.PENDING and snapshots[0].requested == 1000
    assert snapshots[-1].status is BulkJobStatus.CANCELLED
    assert 0 < snapshots[-1].processed < 1000
    with pytest.raises(JobCancelledError) as info:
        await handle
    assert info.value.job.id == handle.job_id

    job = await client.bulk_jobs.get(handle.job_id)
    assert job.status is BulkJobStatus.CANCELLED and job.completed_at is not None
    group = await client.groups.get(group_id)
    assert group.contact_count == job.processed_count < 1000  # a cancel freezes the job


async def test_wait_timeout_then_wait_again(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.job_rate = 500.0
    ids = emu.seed_contacts(200)
    handle = await client.contacts.bulk_delete(ids, poll_interval=FAST).submit()
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.05)
    emu.settings.job_rate = None
    result = await handle.wait(timeout=10)
    assert result == BulkDeleteResult(requested=200, deleted=200, not_found=0)


async def test_failed_job_raises_job_failed(emu: Emulator, client: MsgFlashClient) -> None:
    emu.fail_next_job("disk on fire")
    ids = emu.seed_contacts(100)
    with pytest.raises(JobFailedError) as info:
        await client.contacts.bulk_delete(ids, poll_interval=FAST)
    job = info.value.job
    assert isinstance(job, BulkJob) and job.status is BulkJobStatus.FAILED
    assert job.error == "disk on fire"


async def test_list_get_progress(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(300)
    group_id = emu.seed_group("G")
    first = await client.groups.add_members(group_id, ids, poll_interval=FAST).submit()
    await first
    second = await client.contacts.bulk_delete(ids[:100], poll_interval=FAST).submit()
    await second

    jobs = [job async for job in client.bulk_jobs.list(limit=1)]
    assert [j.id for j in jobs] == [second.job_id, first.job_id]  # newest first
    assert jobs[0].operation is BulkJobOperation.BULK_DELETE_CONTACTS
    assert jobs[1].operation is BulkJobOperation.ADD_TO_GROUP and jobs[1].group_id == group_id

    assert first.job_id is not None
    job = await client.bulk_jobs.get(first.job_id)
    assert job.status is BulkJobStatus.DONE and job.progress == 100
    assert job.requested_count == job.processed_count == 300
    assert job.summary == {"added": 300, "alreadyInGroup": 0, "notFound": 0}
    assert (await client.bulk_jobs.progress(first.job_id)) == job
    with pytest.raises(NotFoundError):
        await client.bulk_jobs.get("no-such-job")


async def test_cancel_of_a_finished_job(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(100)
    handle = await client.contacts.bulk_delete(ids, poll_interval=FAST).submit()
    assert handle.job_id is not None
    # The job ends on the server while the handle has not polled yet.
    await anyio.sleep(0.05)  # job_start_delay 0.02, instant job
    assert (await client.bulk_jobs.get(handle.job_id)).is_terminal
    with pytest.raises(BadRequestError):
        await client.bulk_jobs.cancel(handle.job_id)
    job = await handle.cancel()  # refused by the server: the handle reports how it ended
    assert job is not None and job.status is BulkJobStatus.DONE
    assert (await handle).deleted == 100


async def test_handle_rebuilt_in_another_process(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.job_rate = 1000.0
    ids = emu.seed_contacts(150)
    group_id = emu.seed_group("G", contact_ids=ids)
    submitted = await client.groups.remove_members(group_id, ids, poll_interval=FAST).submit()
    stored = submitted.job_id
    assert stored is not None

    async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as other:
        handle = other.bulk_jobs.handle(stored, poll_interval=FAST)
        result = await handle.wait(timeout=10)
    assert result == RemoveMembersResult(removed=150, not_in_group=0)


async def test_rebuilt_handle_of_a_split_operation_merges(
    emu: Emulator, client: MsgFlashClient
) -> None:
    ids = emu.seed_contacts(250)
    group_id = emu.seed_group("G")
    one = await client.groups.add_members(group_id, ids[:150], poll_interval=FAST).submit()
    await one
    two = await client.groups.add_members(group_id, ids[100:], poll_interval=FAST).submit()
    await two
    handle = client.bulk_jobs.handle(*one.job_ids, *two.job_ids, poll_interval=FAST)
    assert await handle == AddMembersResult(added=250, already_in_group=50, not_found=0, total=300)


async def test_handle_refuses_bad_arguments(client: MsgFlashClient) -> None:
    with pytest.raises(ValidationError):
        client.bulk_jobs.handle("")
    with pytest.raises(ValidationError, match="poll_interval"):
        client.bulk_jobs.handle("job", poll_interval=0)
    with pytest.raises(ValidationError, match="limit"):
        client.bulk_jobs.list(limit=101)


async def test_bulk_post_is_not_retried(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(150)
    group_id = emu.seed_group("G")
    path = f"/api/v1/contacts/groups/{group_id}/members"
    emu.faults.add(Fault.drop(after_handler=True), method="POST", path=path)
    with pytest.raises(ConnectionLostError):
        await client.groups.add_members(group_id, ids, poll_interval=FAST)
    posts = [r for r in emu.requests if r.method == "POST" and r.path == path]
    assert len(posts) == 1  # processed once (a job was queued), never sent again

    emu.faults.add(Fault.error(500), method="POST", path="/api/v1/contacts/bulk-delete")
    with pytest.raises(ServerError):
        await client.contacts.bulk_delete(ids, poll_interval=FAST)


async def test_remove_members_is_retried(emu: Emulator, client: MsgFlashClient) -> None:
    ids = emu.seed_contacts(5)
    group_id = emu.seed_group("G", contact_ids=ids)
    path = f"/api/v1/contacts/groups/{group_id}/members"
    emu.faults.add(Fault.error(503), method="DELETE", path=path)
    result = await client.groups.remove_members(group_id, ids, poll_interval=FAST)
    assert result == RemoveMembersResult(removed=5, not_in_group=0)
    assert len([r for r in emu.requests if r.method == "DELETE"]) == 2


async def test_wait_timeout_during_a_chunk_post_keeps_the_split_operation(
    emu: Emulator, client: MsgFlashClient
) -> None:
    real = emu.seed_contacts(20)
    fake = [f"no-such-contact-{i}" for i in range(10_130)]
    ids = [*real[:10], *fake, *real[10:]]  # chunks of 10000 and 150, real ids in both
    emu.clear_requests()
    handle = await client.contacts.bulk_delete(ids, poll_interval=FAST).submit()
    assert handle.job_id is not None
    # Let the first job end on the server, so the wait's first poll sends the
    # second chunk at once; that POST is held well past the wait's timeout.
    await anyio.sleep(0.1)  # job_start_delay 0.02, instant jobs (emulator clock)
    assert (await client.bulk_jobs.get(handle.job_id)).is_terminal
    emu.faults.add(Fault.delay(1.0), method="POST", path="/api/v1/contacts/bulk-delete")
    started = anyio.current_time()
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.3)
    # The POST in flight was let finish (not cut) and its job recorded.
    assert anyio.current_time() - started >= 1.0
    assert len(handle.job_ids) == 2

    result = await handle.wait(timeout=10)
    assert result == BulkDeleteResult(requested=10_150, deleted=20, not_found=10_130)
    posts = [r for r in emu.requests if r.method == "POST"]
    assert [r.json["contactIds"] for r in posts] == [ids[:10_000], ids[10_000:]]
    jobs = [await client.bulk_jobs.get(job_id) for job_id in handle.job_ids]
    assert [(j.requested_count, j.processed_count) for j in jobs] == [(10_000,) * 2, (150,) * 2]
    assert all(j.status is BulkJobStatus.DONE for j in jobs)


async def test_a_job_the_server_never_finishes_raises_stalled(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.job_start_delay = 3600.0  # queued, and never started
    ids = emu.seed_contacts(150)
    submitted = await client.contacts.bulk_delete(ids, poll_interval=FAST).submit()
    assert submitted.job_id is not None
    handle = client.bulk_jobs.handle(submitted.job_id, poll_interval=FAST, stall_timeout=0.3)
    with anyio.fail_after(30), pytest.raises(JobStalledError) as info:  # a bug polls for ever
        await handle
    assert info.value.job.id == submitted.job_id
    assert info.value.job.status is BulkJobStatus.PENDING
    with pytest.raises(ValidationError):
        client.bulk_jobs.handle(submitted.job_id, stall_timeout=0)
    await handle.cancel()


def test_bulk_plumbing_stays_off_the_public_resource() -> None:
    # Building an operation is the job layer's (msgflash_async._bulk), not a
    # method a caller finds on client.bulk_jobs.
    from msgflash_async.resources.bulk_jobs import BulkJobs

    assert not hasattr(BulkJobs, "operation")
    assert not hasattr(BulkJobs, "_runner")


def test_no_resource_constructs_another() -> None:
    import inspect
    import pathlib

    import msgflash_async.resources as package
    from msgflash_async.resources._base import Resource

    classes = {
        name
        for module in pathlib.Path(package.__file__).parent.glob("*.py")
        for name, obj in inspect.getmembers(
            __import__(f"msgflash_async.resources.{module.stem}", fromlist=["_"]), inspect.isclass
        )
        if issubclass(obj, Resource) and obj is not Resource
    }
    assert {"Contacts", "Groups", "BulkJobs", "Billing"} <= classes
    for module in pathlib.Path(package.__file__).parent.glob("*.py"):
        text = module.read_text()
        for name in classes:
            assert f"{name}(self" not in text and f"{name}(session" not in text, (module, name)
