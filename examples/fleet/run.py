"""The fleet example end to end: 4 workers, one key, one Redis, one worker killed.

Starts the emulator (enforcing the API's 10 requests per second), a
redis-server unless ``REDIS_URL`` is set, and 4 worker processes
(``worker.py``) sharing both. Once a quarter of the messages are accepted it
SIGKILLs one worker in the middle of its batch; another worker takes its
shard over when the lease runs out. At the end it checks, at the emulator,
that every input was sent once:

    python examples/fleet/run.py              # 4 shards of 25 messages
    python examples/fleet/run.py 4 10         # SHARDS PER_SHARD

Exit status 0 when no input was sent twice and every input was sent, except
those a worker reported ``unknown`` (in flight when its owner died and not
settled by reconciliation: never re-sent blindly).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from msgflash_async.testing import Emulator

WORKERS = 4
HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` if set, else a throwaway redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("no REDIS_URL and no redis-server: apt-get install -y redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait()


def wait_for_port(port: int) -> None:
    for _ in range(500):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    sys.exit("redis-server did not start")


async def run_fleet(shards: int, size: int, url: str) -> int:
    async with Emulator(rate_limit=10, message_step=None) as emu:
        env = {
            **os.environ,
            "MSGFLASH_API_KEY": emu.api_key,
            "MSGFLASH_BASE_URL": emu.base_url,
            "MSGFLASH_INSTANCE_ID": emu.instance_id,
            "REDIS_URL": url,
        }
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE / "worker.py"),
                str(shards),
                str(size),
                env=env,
                stdout=subprocess.PIPE,
            )
            for _ in range(WORKERS)
        ]
        total = shards * size
        while emu.sent_count < total // 4:  # noqa: ASYNC110 (the emulator's own count)
            await asyncio.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        print(f"killed worker {workers[0].pid} after {emu.sent_count} sends")
        outputs = [await w.communicate() for w in workers]
        return report(emu, [out.decode() for out, _ in outputs], total)


def report(emu: Emulator, outputs: list[str], total: int) -> int:
    unknown: set[str] = set()
    for line in (row for out in outputs for row in out.splitlines() if row.startswith("{")):
        print(line)
        unknown.update(json.loads(line)["unknown"])
    sent = Counter(m["to"] for m in emu.sent_messages)
    twice = sorted(to for to, n in sent.items() if n > 1)
    never = total - len(sent)
    print(
        f"{total} inputs: {sum(1 for n in sent.values() if n == 1)} sent once, "
        f"duplicates: {len(twice)}, never sent: {never}, reported unknown: {len(unknown)}, "
        f"429s: {emu.rate_limited_count}"
    )
    return 0 if not twice and never <= len(unknown) else 1


def main() -> int:
    shards, size = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (4, 25)
    with redis_url() as url:
        return asyncio.run(run_fleet(shards, size, url))


if __name__ == "__main__":
    sys.exit(main())
