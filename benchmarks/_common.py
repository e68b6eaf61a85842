"""Shared machinery: the server subprocess, core pinning, timing, medians, RSS children."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

SERVER_CPU = 0
CLIENT_CPU = 1


try:
    _CORES: frozenset[int] = frozenset(os.sched_getaffinity(0))
except AttributeError:  # not Linux
    _CORES = frozenset()


def can_pin() -> bool:
    """True when the server and the client can each have a core of their own."""
    return {SERVER_CPU, CLIENT_CPU} <= _CORES


def pin_client() -> bool:
    """Pin this process (and the children it starts) to the client core."""
    if not can_pin():
        return False
    os.sched_setaffinity(0, {CLIENT_CPU})
    return True


@attrs.define
class Server:
    """An emulator in a subprocess (``benchmarks._server``), pinned to its own core."""

    seed: int = 0
    latency: float = 0.0
    rate_limit: int = 0
    ids: int = 1000
    record: bool = False
    groups: int = 0
    job_rate: float = 1000.0
    job_start_delay: float = 0.05
    info: dict[str, Any] = attrs.field(factory=dict)
    _proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks._server",
            "--seed",
            str(self.seed),
            "--latency",
            str(self.latency),
            "--rate-limit",
            str(self.rate_limit),
            "--ids",
            str(self.ids),
            "--groups",
            str(self.groups),
            "--job-rate",
            str(self.job_rate),
            "--job-start-delay",
            str(self.job_start_delay),
        ]
        if self.record:
            cmd.append("--record")
        if can_pin():
            cmd += ["--cpu", str(SERVER_CPU)]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=_root()
        )
        self.info = self._reply()
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # EOF: the server stops by itself
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _reply(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server exited early")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def command(self, text: str) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(text + "\n")
        self._proc.stdin.flush()
        return self._reply()

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"])

    @property
    def api_key(self) -> str:
        return str(self.info["api_key"])

    @property
    def instance_id(self) -> str:
        return str(self.info["instance_id"])

    @property
    def contact_ids(self) -> list[str]:
        return list(self.info["ids"])

    @property
    def group_ids(self) -> list[str]:
        return list(self.info.get("groups", []))

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


async def timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Wall seconds, this process's CPU seconds, and the result of ``run()``."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = await run()
    return time.perf_counter() - wall0, time.process_time() - cpu0, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def run_child(args: Sequence[str], timeout: float = 300) -> dict[str, Any]:
    """Run ``python -m benchmarks._child ARGS`` in a fresh process; its JSON answer."""
    cmd = [sys.executable, "-m", "benchmarks._child", *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, cwd=_root(), timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident set now, in MB, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
