"""A one-line progress bar for the terminal.

With the ``cli`` extra (rich) and a terminal, rich draws it; otherwise a plain
line is redrawn in place, so the demo needs nothing beyond the runtime deps.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``[#####-----]  50%  1250/2500  label``; ``update()`` often, ``close()`` once."""

    def __init__(self, label: str, total: int, *, width: int = 30, out: TextIO | None = None):
        self._label = label
        self._total = max(total, 1)
        self._width = width
        self._out = out or sys.stdout
        self._started = time.perf_counter()
        self._done = 0
        self._suffix = ""
        self._rich = _rich_progress(label, self._total) if self._out.isatty() else None

    def update(self, done: int, suffix: str = "") -> None:
        self._done = min(done, self._total)
        self._suffix = suffix
        if self._rich is not None:
            progress, task = self._rich
            progress.update(task, completed=self._done, suffix=suffix)
            return
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
        if self._rich is not None:
            self._rich[0].stop()
            return
        self.update(self._done, self._suffix)
        self._out.write("\n")
        self._out.flush()


def _rich_progress(label: str, total: int) -> tuple[Any, Any] | None:
    try:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:
        return None
    progress = Progress(
        TextColumn(f"  {label:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%  {task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[suffix]}"),
    )
    task = progress.add_task(label, total=total, suffix="")
    progress.start()
    return progress, task
