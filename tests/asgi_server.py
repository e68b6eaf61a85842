"""Serving an ASGI app under a real uvicorn on loopback, for the webhook tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn


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
