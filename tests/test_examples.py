"""examples/worker.py against the emulator: what it sends, what it prints, how it resumes.

The worker is imported and its ``main`` awaited in-process (its own
emulator when no key is set; the test's emulator through the environment
otherwise), and run once as a script to cover the command line.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from msgflash_async.testing import Emulator, Fault

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).resolve().parent.parent / "examples" / "worker.py"
SEND_PATH = "/api/v1/messages/send"
COUNT = 8


def load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("worker_example", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reports(output: str) -> list[dict[str, int]]:
    """The counts dict each run printed, in order (one line each, after the progress line)."""
    lines = output.replace("\r", "\n").splitlines()
    return [ast.literal_eval(line) for line in lines if line.startswith("{")]


def phones(count: int) -> list[str]:
    return [f"+3361{n:07d}" for n in range(count)]


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for name in (
        "MSGFLASH_API_KEY",
        "MSGFLASH_BASE_URL",
        "MSGFLASH_TEAM_ID",
        "MSGFLASH_INSTANCE_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    return load_worker()


@pytest.fixture
async def pointed(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    """An emulator the worker's "real API" branch reaches through the environment."""
    async with Emulator(rate_limit=None) as emu:
        monkeypatch.setenv("MSGFLASH_API_KEY", emu.api_key)
        monkeypatch.setenv("MSGFLASH_BASE_URL", emu.base_url)
        monkeypatch.setenv("MSGFLASH_INSTANCE_ID", emu.instance_id)
        yield emu
        assert emu.server_errors == []


def test_recipients_are_distinct_e164_numbers(worker: ModuleType) -> None:
    assert list(worker.recipients(3)) == ["+33610000000", "+33610000001", "+33610000002"]
    keys = [key for key, _ in worker.outgoing("inst", 50)]
    assert len(set(keys)) == 50


async def test_emulator_mode_sends_then_resumes_on_one_journal(
    worker: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "campaign.journal")
    code = await worker.main(journal, COUNT, runs=2)
    output = capsys.readouterr().out
    assert code == 0, output
    # The second run, on the same journal and emulator, sends nothing new.
    assert reports(output) == [{"accepted": COUNT}, {"skipped": COUNT}]
    assert "run 1 of 2" in output and "run 2 of 2" in output
    assert f"{COUNT} done, {COUNT} accepted, 0 rejected, 0 unknown" in output
    assert "unknown, not re-sent" not in output and "stopped early" not in output


async def test_a_restarted_worker_sends_only_what_was_not_accepted(
    worker: ModuleType, pointed: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "campaign.journal")
    assert await worker.main(journal, COUNT) == 0
    sent = pointed.sent_messages
    assert sorted(m["to"] for m in sent) == phones(COUNT)
    assert {m["body"] for m in sent} == {"Spring sale: -20% today"}
    assert {m["instanceId"] for m in sent} == {pointed.instance_id}
    # A new "process": a fresh import, the same journal.
    assert await load_worker().main(journal, COUNT) == 0
    assert pointed.sent_count == COUNT
    assert reports(capsys.readouterr().out) == [{"accepted": COUNT}, {"skipped": COUNT}]
    # A longer campaign on the same journal sends only the new tail.
    assert await load_worker().main(journal, COUNT + 3) == 0
    assert reports(capsys.readouterr().out) == [{"accepted": 3, "skipped": COUNT}]
    assert sorted(m["to"] for m in pointed.sent_messages) == phones(COUNT + 3)


async def test_a_lost_reply_is_listed_then_settled_and_never_sent_again(
    worker: ModuleType, pointed: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "campaign.journal")
    pointed.faults.add(Fault.drop(after_handler=True), method="POST", path=SEND_PATH)
    assert await worker.main(journal, COUNT) == 1  # an unknown outcome: not a clean run
    first = capsys.readouterr().out
    assert reports(first) == [{"accepted": COUNT - 1, "unknown": 1}]
    assert [row for row in first.splitlines() if row.startswith("outcome unknown")]
    # The server did take it: it was received once, and a rerun does not send it again.
    assert pointed.sent_count == COUNT
    # The rerun settles it against the server (reconciliation): found, skipped.
    assert await load_worker().main(journal, COUNT) == 0
    second = capsys.readouterr().out
    assert reports(second) == [{"skipped": COUNT}]
    assert Counter(m["to"] for m in pointed.sent_messages) == Counter(phones(COUNT))
    assert pointed.duplicate_recipients() == {}


async def test_runs_as_a_script(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGFLASH_")}
    command = [sys.executable, str(WORKER), str(tmp_path / "demo.journal"), "5", "2"]
    with anyio.fail_after(60):
        result = await anyio.run_process(command, env=env, check=False)
    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert reports(output) == [{"accepted": 5}, {"skipped": 5}]


async def test_a_second_offline_process_resumes_from_the_journal(tmp_path: Path) -> None:
    # Two processes, each with its own emulator: the journal still matches.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGFLASH_")}
    command = [sys.executable, str(WORKER), str(tmp_path / "demo.journal"), "5"]
    outputs = []
    for _ in range(2):
        with anyio.fail_after(60):
            result = await anyio.run_process(command, env=env, check=False)
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(result.stdout.decode())
    assert [reports(out) for out in outputs] == [[{"accepted": 5}], [{"skipped": 5}]]
