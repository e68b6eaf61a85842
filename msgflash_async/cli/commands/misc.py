"""``msgflash demo``."""

from __future__ import annotations

import asyncio

from .._app import cli

__all__ = ["demo"]


@cli.command()
def demo() -> None:
    """Walk a realistic flow against an embedded emulator (no account needed)."""
    from ..demo import run_demo

    asyncio.run(run_demo())
