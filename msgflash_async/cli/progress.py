"""A one-line progress bar for the terminal, redrawn in place."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``[#####-----]  50%  1250/2500  label`` on one line; ``close()`` ends the line."""

    def __init__(self, label: str, total: int, *, width: int = 30, out: TextIO | None = None):
        self._label = label
        self._total = max(total, 1)
        self._width = width
        self._out = out or sys.stdout
        self._started = time.perf_counter()
        self._done = 0
        self._suffix = ""

    def update(self, done: int, suffix: str = "") -> None:
        self._done = min(done, self._total)
        self._suffix = suffix
        filled = self._width * self._done // self._total
        bar = "#" * filled + "-" * (self._width - filled)
        percent = 100 * self._done // self._total
        elapsed = time.perf_counter() - self._started
        self._out.write(
            f"\r  [{bar}] {percent:3d}%  {self._done}/{self._total}  {self._label}"
            f"  {elapsed:4.1f}s {suffix}\x1b[K"
        )
        self._out.flush()

    def close(self) -> None:
        self.update(self._done, self._suffix)
        self._out.write("\n")
        self._out.flush()
