"""A real ``redis-server`` for the tests: started on a free loopback port, stopped after.

The suite never fakes Redis for behaviour that crosses processes. Where the
binary is missing the Redis tests skip with a one-line hint, except under
``MSGFLASH_REQUIRE_REDIS=1`` (set by ``.ci/run``), where a missing server fails
them instead: CI must run them for real.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HINT = "redis-server not found: apt-get install -y redis-server (or brew install redis)"
REQUIRED = os.environ.get("MSGFLASH_REQUIRE_REDIS") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("redis-server did not answer PING")


@contextmanager
def run_redis_server() -> Iterator[str]:
    """Start ``redis-server`` with persistence off; yield its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRED:
            pytest.fail(HINT)
        pytest.skip(HINT)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="msgflash-redis-") as workdir:
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--protected-mode",
            "yes",
        ]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
