"""client.number_lookups against the emulator over loopback: sync, jobs, split, errors."""

from __future__ import annotations

import anyio
import pytest

from msgflash_async import (
    JobCancelledError,
    JobFailedError,
    JobStalledError,
    LookupStatus,
    MsgFlashClient,
    NotFoundError,
    NumberStatus,
    ProviderError,
    ServerValidationError,
    TransportError,
    ValidationError,
)
from msgflash_async._exceptions import BadRequestError
from msgflash_async.resources import number_lookups
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

FAST = 0.02
CREATE = "/api/v1/number-lookups"


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+3361{start + i:07d}" for i in range(n)]


def posts(emu: Emulator) -> list[object]:
    return [r for r in emu.requests if r.method == "POST" and r.path == CREATE]


async def test_under_100_numbers_answer_at_once(emu: Emulator, client: MsgFlashClient) -> None:
    absent = numbers(3, start=50)
    emu.settings.not_on_whatsapp.update(absent)
    given = [*numbers(5), *absent, "not a number", "+33 6 10 00 00 01"]  # last: a duplicate
    result = await client.number_lookups.create(emu.instance_id, given)
    assert result.requested == len(given) and len(result.lookup_ids) == 1
    assert result.on_whatsapp == tuple(numbers(5))
    assert result.not_on_whatsapp == tuple(absent)
    assert result.invalid == ("not a number",)
    assert (result.on_whatsapp_count, result.not_on_whatsapp_count, result.invalid_count) == (
        5,
        3,
        1,
    )
    assert result.status_of(absent[0]) is NumberStatus.NOT_ON_WHATSAPP
    assert result.status_of(numbers(1)[0]) is NumberStatus.ON_WHATSAPP
    assert result.status_of("+10000000000") is None
    assert len(posts(emu)) == 1
    assert [r.path for r in emu.requests if "progress" in r.path] == []  # no polling


async def test_from_100_numbers_a_job_with_progress(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.job_rate = 1000.0  # 300 numbers take 0.3 s: time to see progress
    absent = set(numbers(300)[::3])
    emu.settings.not_on_whatsapp.update(absent)
    handle = await client.number_lookups.create(
        emu.instance_id, numbers(300), poll_interval=FAST
    ).submit()
    assert handle.lookup_id is not None and handle.status is LookupStatus.PENDING
    snapshots = [snapshot async for snapshot in handle.progress()]
    assert snapshots[0].requested == 300 and snapshots[0].checked == 0
    running = [s for s in snapshots if s.status is LookupStatus.PROCESSING]
    assert all(s.checked < 300 and s.checked % 20 == 0 for s in running)  # batches of 20
    assert any(s.checked > 0 for s in running)
    assert all(s.on_whatsapp <= s.checked for s in running)
    final = snapshots[-1]
    assert final.status is LookupStatus.DONE and final.percent == 100
    assert (final.checked, final.on_whatsapp, final.not_on_whatsapp) == (300, 200, 100)
    result = await handle
    assert set(result.not_on_whatsapp) == absent and len(result.on_whatsapp) == 200
    assert result.lookup_ids == (handle.lookup_id,)


async def test_create_reply_and_progress_reply_key_names(
    emu: Emulator, client: MsgFlashClient
) -> None:
    # requested/normalized/checked in the create answer, *Count in progress.
    op = client.number_lookups.create(emu.instance_id, numbers(120), poll_interval=FAST)
    handle = await op.submit()
    assert handle.lookup_id is not None
    created = posts(emu)[-1]
    assert created.status == 202  # type: ignore[attr-defined]
    lookup = await client.number_lookups.progress(handle.lookup_id)
    assert lookup.requested_count == 120 and lookup.normalized_count == 120
    await handle.wait(timeout=10)
    done = await client.number_lookups.get(handle.lookup_id)
    assert done.status is LookupStatus.DONE and done.checked_count == 120
    assert done.result is not None and len(done.result.on_whatsapp) == 120


async def test_cancel_wait_timeout_and_rebuild_from_id(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.job_rate = 100.0
    handle = await client.number_lookups.create(
        emu.instance_id, numbers(500), poll_interval=FAST
    ).submit()
    with pytest.raises(TimeoutError):
        await handle.wait(timeout=0.05)
    assert handle.lookup_id is not None
    again = client.number_lookups.handle(handle.lookup_id, poll_interval=FAST)
    cancelled = await again.cancel()
    assert cancelled is not None and cancelled.status is LookupStatus.CANCELLED
    with pytest.raises(JobCancelledError) as info:
        await again
    assert info.value.job.id == handle.lookup_id
    with pytest.raises(JobCancelledError):
        await handle.wait(timeout=10)  # the first handle learns it on its next poll


async def test_a_handle_rebuilt_from_the_id_returns_the_result(
    emu: Emulator, client: MsgFlashClient
) -> None:
    handle = await client.number_lookups.create(emu.instance_id, numbers(150)).submit()
    assert handle.lookup_id is not None
    rebuilt = client.number_lookups.handle(handle.lookup_id, poll_interval=FAST)
    result = await rebuilt.wait(timeout=10)
    assert result.on_whatsapp_count == 150 and len(result.on_whatsapp) == 150
    assert rebuilt.snapshot().status is LookupStatus.DONE


async def test_a_failed_lookup_raises_job_failed(emu: Emulator, client: MsgFlashClient) -> None:
    emu.fail_next_job("provider went away", at=0.5)
    with pytest.raises(JobFailedError) as info:
        await client.number_lookups.create(emu.instance_id, numbers(200), poll_interval=FAST)
    assert info.value.job.status is LookupStatus.FAILED
    assert "provider went away" in str(info.value)


async def test_more_than_10000_numbers_are_split(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.not_on_whatsapp.add(numbers(1, start=10_020)[0])
    result = await client.number_lookups.create(
        emu.instance_id, numbers(10_050), poll_interval=FAST
    )
    sent = [len(r.json["numbers"]) for r in posts(emu)]  # type: ignore[attr-defined]
    assert sent == [10_000, 50]  # one job, then a synchronous answer
    assert len(result.lookup_ids) == 2 and result.requested == 10_050
    assert (result.on_whatsapp_count, result.not_on_whatsapp_count) == (10_049, 1)
    assert result.not_on_whatsapp == (numbers(1, start=10_020)[0],)


async def test_split_merges_a_job_and_a_sync_part(
    emu: Emulator, client: MsgFlashClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(number_lookups, "MAX_NUMBERS_PER_CALL", 150)
    handle = await client.number_lookups.create(
        emu.instance_id, [*numbers(200), "bogus"], poll_interval=FAST
    ).submit()
    result = await handle
    assert [len(r.json["numbers"]) for r in posts(emu)] == [150, 51]  # type: ignore[attr-defined]
    assert result.on_whatsapp_count == 200 and result.invalid == ("bogus",)
    assert handle.snapshot().on_whatsapp == 200 and handle.snapshot().invalid == 1


async def test_list_get_and_import_contacts(emu: Emulator, client: MsgFlashClient) -> None:
    emu.settings.not_on_whatsapp.add(numbers(1, start=2)[0])
    existing = await client.contacts.create(name="Awa", phone=numbers(1)[0])
    first = await client.number_lookups.create(emu.instance_id, numbers(4))
    second = await client.number_lookups.create(emu.instance_id, numbers(2, start=10))
    listed = [lookup.id async for lookup in client.number_lookups.list(limit=1)]
    assert listed == [second.lookup_id, first.lookup_id]
    assert first.lookup_id is not None
    lookup = await client.number_lookups.get(first.lookup_id)
    assert lookup.status is LookupStatus.DONE and lookup.on_whatsapp_count == 3

    imported = await client.number_lookups.import_contacts(first.lookup_id, tag="verified")
    assert (imported.imported, imported.updated, imported.total) == (2, 1, 3)
    assert imported.tag == "verified" and imported.data["lookupId"] == first.lookup_id
    tagged = {c.phone async for c in client.contacts.list() if "verified" in c.tags}
    n0, n1, _n2, n3 = numbers(4)
    assert tagged == {existing.phone, n1, n3}  # n2 is not on WhatsApp
    assert existing.phone == n0


async def test_provider_error_is_typed_and_never_resent(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.set_instance_status(emu.instance_id, "disconnected")
    op = client.number_lookups.create(emu.instance_id, numbers(3))
    with pytest.raises(ProviderError) as info:
        await op
    assert (info.value.status, info.value.code) == (502, "PROVIDER_ERROR")
    with pytest.raises(ProviderError):
        await op  # the same error again: a call that may have reached the server
    assert len(posts(emu)) == 1


async def test_a_lost_answer_is_never_resent(emu: Emulator, client: MsgFlashClient) -> None:
    emu.faults.add(Fault.drop(after_handler=True), method="POST", path=CREATE)
    op = client.number_lookups.create(emu.instance_id, numbers(150), poll_interval=FAST)
    with pytest.raises(TransportError) as info:
        await op
    assert info.value.request_sent
    with pytest.raises(TransportError) as again:
        await op  # the same error, not a second POST
    assert again.value is info.value
    assert len(posts(emu)) == 1  # the server did create it; the SDK did not repeat it


async def test_documented_errors(emu: Emulator, client: MsgFlashClient) -> None:
    with pytest.raises(NotFoundError):
        await client.number_lookups.create("no-such-instance", numbers(2))
    with pytest.raises(NotFoundError):
        await client.number_lookups.get("no-such-lookup")
    sync = await client.number_lookups.create(emu.instance_id, numbers(2))
    assert sync.lookup_id is not None
    with pytest.raises(BadRequestError):
        await client.number_lookups.cancel(sync.lookup_id)  # answered at once: nothing to stop
    emu.faults.add(Fault.error(400, "VALIDATION_ERROR", "numbers: invalid"), path=CREATE)
    with pytest.raises(ServerValidationError):
        await client.number_lookups.create(emu.instance_id, numbers(2))


async def test_emulator_validates_the_body(emu: Emulator, client: MsgFlashClient) -> None:
    http = client._session  # a raw body the SDK itself would refuse
    for body in (
        {"instanceId": emu.instance_id, "numbers": []},
        {"instanceId": emu.instance_id, "numbers": "+33610000000"},
        {"numbers": ["+33610000000"]},
    ):
        with pytest.raises(ServerValidationError):
            await http.request("POST", CREATE, json=body)


async def test_bad_arguments_are_refused_before_any_request(client: MsgFlashClient) -> None:
    lookups = client.number_lookups
    for bad in ([], "+33610000000", [None], [""]):
        with pytest.raises(ValidationError):
            lookups.create("inst", bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        lookups.create("inst", ["+33610000000"], poll_interval=0)
    with pytest.raises(ValidationError):
        lookups.handle("")


async def test_a_lookup_the_server_never_finishes_raises_stalled(
    emu: Emulator, client: MsgFlashClient
) -> None:
    emu.settings.job_start_delay = 3600.0  # queued, and never started
    handle = await client.number_lookups.create(
        emu.instance_id, numbers(120), poll_interval=FAST
    ).submit()
    assert handle.lookup_id is not None and handle.stall_timeout == 600.0
    handle.stall_timeout = 0.3
    with anyio.fail_after(30), pytest.raises(JobStalledError) as info:  # a bug polls for ever
        await handle
    assert info.value.job.id == handle.lookup_id  # the lookup itself, not a stand-in
    assert info.value.job.status is LookupStatus.PENDING
    rebuilt = client.number_lookups.handle(handle.lookup_id, poll_interval=FAST, stall_timeout=0.3)
    with anyio.fail_after(30), pytest.raises(JobStalledError):
        await rebuilt
    await handle.cancel()
