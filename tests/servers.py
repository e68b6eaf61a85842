"""Small loopback servers for tests: one aiohttp handler on every path, an ASGI app."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn
from aiohttp import web


@asynccontextmanager
async def serve_asgi(app: Any, sock: socket.socket) -> AsyncIterator[uvicorn.Server]:
    """Run ``app`` under uvicorn, lifespan included, on an already bound socket."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            with anyio.fail_after(5):
                while not server.started:  # noqa: ASYNC110 (uvicorn has only a flag)
                    await anyio.sleep(0.01)
            yield server
        finally:
            server.should_exit = True


@asynccontextmanager
async def serve_handler(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """``handler`` answering every method and path on 127.0.0.1; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
