"""Run ``benchmarks._crash_worker`` as a real process and SIGKILL it mid-batch."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio

from msgflash_async._journal import ATTEMPTED
from msgflash_async._journal_file import FileJournal
from msgflash_async.testing import Emulator

ROOT = Path(__file__).resolve().parents[1]  # the repository: ``-m benchmarks...`` runs from here


def worker_config(emu: Emulator, journal: Path, **options: Any) -> dict[str, Any]:
    config = {
        "base_url": emu.base_url,
        "api_key": emu.api_key,
        "instance_id": emu.instance_id,
        "journal": str(journal),
        "n": 60,
        "concurrency": 8,
        "rate": 20,
    }
    config.update(options)
    return config


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


async def run_and_kill(config: dict[str, Any], after: float) -> None:
    """Start the worker, wait for its first outcome, then ``after`` seconds, then SIGKILL."""
    cmd = [sys.executable, "-m", "benchmarks._crash_worker", json.dumps(config)]
    process = await anyio.open_process(cmd, cwd=ROOT, env=_env())
    try:
        assert process.stdout is not None
        with anyio.fail_after(60):  # generous: the worker starts in well under a second
            line = await process.stdout.receive(64)
        assert line.startswith(b"started"), line
        await anyio.sleep(after)
        process.send_signal(signal.SIGKILL)
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.wait()
            await process.aclose()


async def run_to_end(config: dict[str, Any]) -> dict[str, Any]:
    """Run the worker to its end and return its JSON summary."""
    cmd = [sys.executable, "-m", "benchmarks._crash_worker", json.dumps(config)]
    result = await anyio.run_process(cmd, cwd=ROOT, env=_env(), check=False)
    assert result.returncode == 0, result.stderr.decode()
    return dict(json.loads(result.stdout.decode().splitlines()[-1]))


async def in_doubt(journal: Path) -> set[int]:
    """Indices whose attempt has no outcome after it (what a crash left unknown)."""
    opened = FileJournal(journal)
    await opened.open()
    try:
        return {i for i, entry in opened.earlier().items() if entry.state == ATTEMPTED}
    finally:
        await opened.aclose()
