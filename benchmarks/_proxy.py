"""A loopback TCP proxy that delays each forwarded chunk by a random 0-JITTER seconds.

``python -m benchmarks._proxy UPSTREAM_PORT JITTER SEED`` prints the port it
listens on, then forwards until stdin closes. Each direction keeps its byte
order: a chunk leaves at ``max(previous departure, arrival + uniform(0,
JITTER))``, so requests sent 100 ms apart may reach the server closer
together than they left, as over a real jittery link.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, jitter: float, rng: random.Random
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            at, chunk = await queue.get()
            if not chunk:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    last = 0.0
    try:
        while chunk := await reader.read(65536):
            last = max(last, loop.time() + rng.uniform(0, jitter))
            queue.put_nowait((last, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((last, b""))
    with contextlib.suppress(ConnectionError):
        await sender


def _handler(port: int, jitter: float, rng: random.Random):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(
            _pipe(reader, up_writer, jitter, rng), _pipe(up_reader, writer, jitter, rng)
        )

    return handle


async def _serve(port: int, jitter: float, seed: int) -> None:
    server = await asyncio.start_server(_handler(port, jitter, random.Random(seed)), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until stdin closes
    server.close()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
