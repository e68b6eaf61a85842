"""The command line: the README's demo command and the standalone emulator."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
import anyio
import pytest

pytestmark = pytest.mark.anyio


def test_demo_runs_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "msgflash_async", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "contacts left : 2,350" in out
    assert "on WhatsApp=975 not=25 invalid=0" in out  # the number check before sending
    assert "report: accepted=975" in out  # only to numbers on WhatsApp
    assert "webhook: read  API: read" in out
    assert "Secret('**********')" in out
    assert "campaign completed: planned=2350 sent=2350" in out
    assert "1 POST + 2 (pause, resume)" in out


async def test_standalone_emulator_serves_the_api() -> None:
    command = [sys.executable, "-m", "msgflash_async", "emulator", "--port", "0"]
    async with await anyio.open_process(command) as process:
        assert process.stdout is not None
        text = ""
        with anyio.fail_after(20):
            while "MSGFLASH_API_KEY=msgf_live_" not in text:
                text += (await process.stdout.receive()).decode()
        lines: dict[str, str] = {}
        for line in text.splitlines():  # the first key printed is the personal one
            if line.strip().startswith("export MSGFLASH_"):
                name, value = line.strip().removeprefix("export ").split("=", 1)
                lines.setdefault(name, value)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    lines["MSGFLASH_BASE_URL"] + "/api/v1/contacts",
                    headers={"x-api-key": lines["MSGFLASH_API_KEY"]},
                ) as response,
            ):
                assert response.status == 200
                assert "contacts" in (await response.json())["data"]
        finally:
            process.terminate()
