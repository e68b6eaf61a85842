"""Reconciliation: an unknown send is settled against the server's message list.

Lost answers are made with the emulator's faults: a connection dropped after
the handler ran (the message was taken) or before it (it was not); both are
``unknown`` to the client. A resume with the journal settles them; real
SIGKILLs of a worker process end the file.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest
from test_send_many import SEND_PATH, assert_each_once, collect, connect, phone, statuses, texts

from benchmarks._crash import in_doubt, run_and_kill, run_to_end, worker_config
from benchmarks._crash_worker import phone as worker_phone
from msgflash_async import OutcomeStatus, OutgoingMessage, SettlementVerdict
from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

ACCEPTED = OutcomeStatus.ACCEPTED
SKIPPED = OutcomeStatus.SKIPPED
UNKNOWN = OutcomeStatus.UNKNOWN


async def _lose_answers(emu: Emulator, journal: Path, n: int) -> None:
    """A first run whose sends 0-2 were taken and 3-5 were not, all answers lost."""
    emu.faults.add(Fault.drop(after_handler=True), method="POST", path=SEND_PATH, times=3)
    emu.faults.add(Fault.drop(), method="POST", path=SEND_PATH, times=3)
    async with connect(emu) as client:
        first = await collect(
            client.messages.send_many(texts(emu, n), concurrency=1, journal=journal)
        )
    assert {i for i, o in first.items() if o.status is UNKNOWN} == set(range(6))


async def test_a_resume_settles_every_unknown_and_sends_only_what_was_not_taken(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "batch.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        await _lose_answers(emu, journal, 10)
        taken = {m["to"]: m["id"] for m in emu.sent_messages}
        async with connect(emu) as client:
            stream = client.messages.send_many(
                texts(emu, 10), concurrency=4, journal=journal, settle_after=0
            )
            resumed = await collect(stream)
        assert stream.report.unknown == ()
        for i in range(3):  # taken: settled accepted, with the server's id
            assert resumed[i].status is SKIPPED and resumed[i].message_id == taken[phone(i)]
        for i in range(3, 6):  # not taken: sent by this run
            assert resumed[i].status is ACCEPTED
        assert statuses(resumed) == Counter({SKIPPED: 7, ACCEPTED: 3})
        assert_each_once(emu, [phone(i) for i in range(10)])
        # Settled for good: a third run sends nothing and lists nothing in doubt.
        async with connect(emu) as client:
            third = await client.messages.send_many(texts(emu, 10), journal=journal)
        assert third.counts[SKIPPED] == 10 and third.unknown == ()


async def test_reconcile_false_leaves_them_unknown(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        await _lose_answers(emu, journal, 8)
        async with connect(emu) as client:
            report = await client.messages.send_many(
                texts(emu, 8), journal=journal, reconcile=False
            )
        assert [u.index for u in report.unknown] == list(range(6))
        assert len(emu.sent_messages) == 3 + 2


async def test_ambiguous_evidence_is_never_sent(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        await _lose_answers(emu, journal, 6)
        async with connect(emu) as client:
            # Someone else sends input 0's message again, and another text to input 3.
            await client.messages.send(texts(emu, 1)[0])
            await client.messages.send_text(
                instance_id=emu.instance_id, to=phone(3), text="something else"
            )
            report = await client.messages.send_many(texts(emu, 6), journal=journal, settle_after=0)
        reasons = {u.index: u.reason for u in report.unknown}
        assert set(reasons) == {0, 3}
        assert "ambiguous" in reasons[0] and "ambiguous" in reasons[3]
        sent = Counter(m["to"] for m in emu.sent_messages)
        assert sent[phone(0)] == 2 and sent[phone(3)] == 1, "nothing sent on doubtful evidence"
        assert all(sent[phone(i)] == 1 for i in (1, 2, 4, 5))


async def test_a_failed_listing_settles_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        await _lose_answers(emu, journal, 6)
        emu.faults.add(Fault.error(500), method="GET", path="/api/v1/messages", times=None)
        async with connect(emu) as client:
            report = await client.messages.send_many(texts(emu, 6), journal=journal, settle_after=0)
        assert [u.index for u in report.unknown] == list(range(6))
        assert all("listing the messages failed" in u.reason for u in report.unknown)
        assert len(emu.sent_messages) == 3


async def test_the_explicit_call_settles_a_reports_unknowns() -> None:
    async with Emulator(rate_limit=None, message_step=None) as emu:
        inputs = texts(emu, 3)
        started = time.time()
        async with connect(emu) as client:
            taken = await client.messages.send(inputs[0])
            settled = await client.messages.reconcile(
                [(m, started) for m in inputs], settle_after=0
            )
            template = OutgoingMessage.template_message(
                instance_id=emu.instance_id, to=phone(0), template_id="tpl_x"
            )
            [by_template] = await client.messages.reconcile([(template, started)], settle_after=0)
    assert settled[0].verdict is SettlementVerdict.ACCEPTED
    assert settled[0].message_id == taken.id
    assert [s.verdict for s in settled[1:]] == [SettlementVerdict.NOT_SENT] * 2
    # A template send is matched on the recipient alone: one candidate, found.
    assert by_template.verdict is SettlementVerdict.ACCEPTED


@pytest.mark.parametrize("seed", [11, 12])
async def test_killed_at_random_then_resumed_sends_each_input_once(
    tmp_path: Path, seed: int
) -> None:
    journal = tmp_path / "batch.jsonl"
    async with Emulator(rate_limit=None, message_step=None) as emu:
        config = worker_config(emu, journal, n=40, concurrency=8, rate=20)
        await run_and_kill(config, after=random.Random(seed).uniform(0.0, 1.5))
        left = await in_doubt(journal)
        summary = await run_to_end({**config, "settle_after": 0.3})
        assert summary["unknown"] == [], (left, summary)
        assert_each_once(emu, [worker_phone(i) for i in range(40)])
