"""The ``msgflash`` command line (the ``cli`` extra: click and rich).

``msgflash ...`` and ``python -m msgflash_async ...`` are the same program.
Nothing in the package imports this, so ``import msgflash_async`` never pays
for click or rich; :func:`main` imports them when the command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

MISSING = "the msgflash command needs the cli extra: pip install 'msgflash-async[cli]'"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from ._app import run
    except ImportError as error:
        if args[:1] == ["demo"]:
            return _bare_demo()  # the README's first command works without the extra
        print(f"error: {MISSING} ({error.name} is missing)", file=sys.stderr)
        return 2
    return run(args)


def _bare_demo() -> int:
    import asyncio

    from .demo import run_demo

    asyncio.run(run_demo())
    return 0
