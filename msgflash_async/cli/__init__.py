"""The command line: ``demo`` and ``emulator``. Nothing in the package imports this."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m msgflash_async")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk a realistic flow against the embedded emulator")
    emulator = commands.add_parser("emulator", help="serve the MsgFlash emulator over HTTP")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8080)
    emulator.add_argument(
        "--rate-limit", type=int, default=10, help="requests per second per key (0: off)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        asyncio.run(run_demo())
        return 0
    from ..testing import run_emulator

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_emulator(args.host, args.port, rate_limit=args.rate_limit or None))
    return 0
