"""The public surface is locked: every ``__all__`` name, added or removed, shows here.

``tests/public_api.txt`` lists ``module: name`` for the package and its public
sub-packages. A change to the surface changes that file in the same commit
(and a removal gets a CHANGELOG migration row):

    python tests/test_public_api.py --update
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("public_api.txt")
MODULES = (
    "msgflash_async",
    "msgflash_async.bot",
    "msgflash_async.redis",
    "msgflash_async.testing",
    "msgflash_async.webhooks",
)


def surface() -> list[str]:
    lines = []
    for name in MODULES:
        module = importlib.import_module(name)
        lines.extend(f"{name}: {item}" for item in module.__all__)
    return lines


def changes(locked: list[str], now: list[str]) -> tuple[list[str], list[str]]:
    """(added, removed) between the snapshot and the surface now."""
    return sorted(set(now) - set(locked)), sorted(set(locked) - set(now))


def test_an_addition_and_a_removal_both_count() -> None:
    locked = surface()
    assert changes(locked, locked[1:]) == ([], [locked[0]])
    assert changes(locked, [*locked, "msgflash_async: New"]) == (["msgflash_async: New"], [])


def test_public_surface_matches_the_snapshot() -> None:
    locked = SNAPSHOT.read_text().splitlines()
    now = surface()
    added, removed = changes(locked, now)
    assert not added and not removed, (
        f"the public surface changed: added {added}, removed {removed}; if on purpose, run "
        "`python tests/test_public_api.py --update` (and add removals to the CHANGELOG)"
    )
    assert now == locked  # same names, same (sorted) order


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        SNAPSHOT.write_text("\n".join(surface()) + "\n")
        print(f"wrote {SNAPSHOT}")
    else:
        print("\n".join(surface()))
