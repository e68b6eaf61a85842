"""A one-line progress bar for the terminal.

With the ``cli`` extra (rich) and a terminal, rich draws it; otherwise a plain
line is redrawn in place, so the demo needs nothing beyond the runtime deps.
Piped into a file or a CI log, it writes a plain line now and then instead:
no carriage returns or escape codes, and not one line per update.
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
        self._tty = self._out.isatty()
        self._rich = _rich_progress(label, self._total) if self._tty else None
        # Redraws a second: a terminal keeps up with 20, a log wants one.
        self._interval = 0.05 if self._tty else 1.0
        self._drawn_at = float("-inf")

    def update(self, done: int, suffix: str = "") -> None:
        self._done = min(done, self._total)
        self._suffix = suffix
        if self._rich is not None:
            progress, task = self._rich
            progress.update(task, completed=self._done, suffix=suffix)
            return
        now = time.perf_counter()
        if now - self._drawn_at >= self._interval:
            self._draw(now)

    def close(self) -> None:
        if self._rich is not None:
            self._rich[0].stop()
            return
        self._draw(time.perf_counter())
        if self._tty:
            self._out.write("\n")
        self._out.flush()

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        filled = self._width * self._done // self._total
        bar = "#" * filled + "-" * (self._width - filled)
        percent = 100 * self._done // self._total
        line = (
            f"  [{bar}] {percent:3d}%  {self._done}/{self._total}  {self._label}"
            f"  {now - self._started:4.1f}s {self._suffix}"
        )
        self._out.write(f"\r{line}\x1b[K" if self._tty else f"{line.rstrip()}\n")
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
