"""Benchmark 3: structuring contacts with the SDK's converter v. a hand-written baseline.

100k contact dicts shaped exactly as the emulator (and the API) sends them.
Three ways, median of 5 repetitions each, in the same run: one
``structure(d, Contact)`` call per object; a whole page at once as
``structure_page`` does it (``list[Contact]``, 100 per call); and a plain
``Contact(...)`` built by hand with the same datetime parser, which is the
floor for an attrs model.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from msgflash_async._converter import parse_datetime, structure
from msgflash_async.models.contacts import Contact
from msgflash_async.testing._contact_store import seeded_contacts

from ._common import median, ratio


def wire_contacts(n: int) -> list[dict[str, Any]]:
    """``n`` contacts as the emulator's wire dicts (two with tags and meta, like real ones)."""
    rows = seeded_contacts(
        n,
        name_prefix="Contact",
        tags=["vip", "fr"],
        taken=lambda _: False,
        start=2_000_000_000,
        end_ms=1_780_000_000_000,
    )
    out = [row.to_wire() for row in rows]
    for row in out[::2]:
        row["meta"] = {"source": "import", "score": 3}
    return out


def by_hand(d: dict[str, Any]) -> Contact:
    created, updated = d.get("createdAt"), d.get("updatedAt")
    return Contact(
        id=d["id"],
        name=d["name"],
        phone=d["phone"],
        tags=tuple(d.get("tags") or ()),
        temperature=d.get("temperature"),
        meta=d.get("meta") or {},
        created_at=None if created is None else parse_datetime(created),
        updated_at=None if updated is None else parse_datetime(updated),
    )


def _one_by_one(rows: list[dict[str, Any]]) -> None:
    for d in rows:
        structure(d, Contact)


def _pages(rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 100):
        structure(rows[start : start + 100], list[Contact])


def _hand(rows: list[dict[str, Any]]) -> None:
    for d in rows:
        by_hand(d)


def _time_once(fn: Callable[[list[dict[str, Any]]], None], rows: list[dict[str, Any]]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn(rows)
    return time.perf_counter() - started


async def run(quick: bool) -> dict[str, Any]:
    n, reps = (20_000, 3) if quick else (100_000, 5)
    rows = wire_contacts(n)
    assert structure(rows[0], Contact) == by_hand(rows[0])
    ways = {"sdk_structure": _one_by_one, "sdk_structure_page": _pages, "hand_written": _hand}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(reps):  # interleaved, so drift hits every way alike
        for name, fn in ways.items():
            times[name].append(_time_once(fn, rows))
    us = {name: median(t) / n * 1e6 for name, t in times.items()}
    return {
        "objects": n,
        "repetitions": reps,
        "us_per_object": {name: round(v, 2) for name, v in us.items()},
        "ratio_sdk_vs_hand": round(ratio(us["sdk_structure"], us["hand_written"]), 2),
        "ratio_sdk_page_vs_hand": round(ratio(us["sdk_structure_page"], us["hand_written"]), 2),
        "reference": (
            "measured earlier on this kind of VM, us per Contact: cattrs cached hook 3.9, "
            "pydantic v2 3.0, msgspec 1.0"
        ),
    }
