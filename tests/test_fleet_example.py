"""examples/fleet: 4 real worker processes, one key, one Redis, one SIGKILLed; every input once."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio

RUN = Path(__file__).resolve().parent.parent / "examples" / "fleet" / "run.py"


async def test_the_fleet_sends_every_input_once_despite_a_kill(
    redis_client: Any, redis_url: str
) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    with anyio.fail_after(120):  # a hang, not a speed bound: the run takes a few seconds
        result = await anyio.run_process([sys.executable, str(RUN), "4", "4"], env=env, check=False)
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert "killed worker" in output
    summary = re.search(
        r"16 inputs: (\d+) sent once, duplicates: 0, never sent: (\d+), "
        r"reported unknown: (\d+), 429s: \d+",
        output,
    )
    assert summary is not None, output
    # (429s are not asserted here: a loaded machine may stall a request past the
    # 10 ms margin; test_redis_limiter.py holds the shared budget to the limit.)
    once, never, unknown = (int(g) for g in summary.groups())
    assert once == 16  # the dead worker's sends in doubt were settled, none re-sent
    assert never == unknown == 0
    # The killed worker's shard was finished by another worker (4 shards reported).
    assert len({line for line in output.splitlines() if '"shard"' in line}) >= 4
