"""RedisJournal against a real redis-server: one owner at a time, taken over after a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from journal_worker import messages

from msgflash_async import MsgFlashClient, OutcomeStatus, ValidationError
from msgflash_async._journal import fingerprint
from msgflash_async.redis import LeaseLostError, RedisJournal
from msgflash_async.testing import Emulator

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("journal_worker.py")


async def test_a_second_live_process_is_refused(redis_client: Any) -> None:
    owner = RedisJournal(redis_client, "batch-a", lease=30)
    await owner.open()
    other = RedisJournal(redis_client, "batch-a", lease=30)
    with pytest.raises(ValidationError) as refused:
        await other.open()
    assert refused.value.field == "journal"
    assert "in use by another running batch" in str(refused.value)
    await owner.aclose()
    await other.open()  # released on close: the next run may start
    await other.aclose()


async def test_what_is_not_a_journal_is_refused_and_left_untouched(redis_client: Any) -> None:
    await redis_client.hset("msgflash:journal:{mine}:entries", "0", "settings")
    journal = RedisJournal(redis_client, "mine")
    with pytest.raises(ValidationError, match="not a msgflash batch journal"):
        await journal.open()
    assert await redis_client.hgetall("msgflash:journal:{mine}:entries") == {b"0": b"settings"}
    assert await redis_client.get("msgflash:journal:{mine}:lease") is None  # released


async def test_a_resume_skips_what_was_accepted(redis_client: Any) -> None:
    async with (
        Emulator(rate_limit=None, message_step=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        inputs = messages(emu.instance_id, 6)
        first = await client.messages.send_many(
            inputs, journal=RedisJournal(redis_client, "resume")
        )
        second = await client.messages.send_many(
            inputs, journal=RedisJournal(redis_client, "resume")
        )
        assert first.accepted == 6
        assert second.counts[OutcomeStatus.SKIPPED] == 6
        assert emu.sent_count == 6


async def test_an_owner_that_lost_its_lease_stops_sending(redis_client: Any) -> None:
    async with (
        Emulator(rate_limit=None, message_step=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=5) as client,
    ):
        batch = client.messages.send_many(
            messages(emu.instance_id, 20), journal=RedisJournal(redis_client, "stolen", lease=5)
        )
        stolen = False
        with pytest.raises(LeaseLostError):
            async with batch:
                async for outcome in batch:
                    if not stolen and outcome.status is OutcomeStatus.ACCEPTED:
                        # The lease ran out and another process took the batch over.
                        await redis_client.set("msgflash:journal:{stolen}:lease", "someone-else")
                        stolen = True
        assert batch.report.stop_reason == "journal_failed"
        assert emu.sent_count < 20


async def test_a_killed_owner_is_taken_over_after_its_lease(
    redis_client: Any, redis_url: str
) -> None:
    count, lease = 60, 1.0
    async with Emulator(rate_limit=None, message_step=None) as emu:
        emu.faults.latency = 0.02  # slow enough to kill it mid-batch
        args = [emu.base_url, emu.api_key, emu.instance_id, redis_url, "killed", str(count)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            *args,
            str(lease),
            stdout=subprocess.PIPE,
            env={**os.environ},
        )
        with anyio.fail_after(60):
            while emu.sent_count < 10:  # noqa: ASYNC110 (the emulator's own count)
                await anyio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        killed_sent = emu.sent_count
        assert killed_sent < count
        async with MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client:
            report = None
            with anyio.fail_after(30):
                while report is None:
                    try:
                        report = await client.messages.send_many(
                            messages(emu.instance_id, count),
                            concurrency=4,
                            journal=RedisJournal(redis_client, "killed", lease=lease),
                        )
                    except ValidationError:  # the dead owner's lease has not run out yet
                        await anyio.sleep(0.1)
        counts = report.counts
        assert report.stop_reason is None
        assert (
            counts[OutcomeStatus.SKIPPED] + counts[OutcomeStatus.ACCEPTED] + len(report.unknown)
            == count
        )
        assert emu.duplicate_recipients() == {}  # nothing the dead owner sent went twice
        # What the dead owner had in flight was settled against the server's
        # message list: nothing left unknown, every input sent exactly once.
        assert report.unknown == ()
        sent = [m["to"] for m in emu.sent_messages]
        assert sorted(sent) == sorted(to for to, _ in messages(emu.instance_id, count))


async def test_a_takeover_settles_the_dead_owners_sends_in_doubt(redis_client: Any) -> None:
    # The dead owner's journal: two attempts with no outcome. One request had
    # reached the server, the other died before it left.
    async with (
        Emulator(rate_limit=None, message_step=None) as emu,
        MsgFlashClient(emu.api_key, base_url=emu.base_url, rate_limit=None) as client,
    ):
        inputs = messages(emu.instance_id, 3)
        dead = RedisJournal(redis_client, "in-doubt")
        await dead.open()
        for index, (key, message) in enumerate(inputs[:2]):
            await dead.attempt(index, fingerprint(message), key)
        sent = await client.messages.send(inputs[0][1])
        await redis_client.delete("msgflash:journal:{in-doubt}:lease")  # the lease ran out
        report = await client.messages.send_many(
            inputs, journal=RedisJournal(redis_client, "in-doubt"), settle_after=0
        )
        assert report.unknown == ()
        assert report.counts[OutcomeStatus.SKIPPED] == 1  # settled: the server had it
        assert report.accepted == 2  # the one that never left, and the new one
        assert emu.duplicate_recipients() == {}
        assert emu.sent_count == 3
        assert sent.id in {m["id"] for m in emu.sent_messages}
