"""Rich progress for long commands: a bar with counts, rate and time left.

Drawn only on a terminal and never with ``--json`` (a log or a pipe gets the
final summary alone), so the output of a script stays parseable.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["LiveProgress"]


class _Rate(ProgressColumn):
    """Items per second over the recent updates (rich's own speed estimate)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -.-/s" if speed is None else f"{speed:5.1f}/s", style="progress.data.speed")


class LiveProgress:
    """``with LiveProgress(console, "importing", total) as bar: bar.update(done, note)``."""

    def __init__(self, console: Console, label: str, total: int | None, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn(f"{label:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            disable=not (enabled and console.is_terminal),
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(label, total=total, note="")

    def total(self, total: int | None) -> None:
        """Set (or learn late) how many items there are in all."""
        self._progress.update(self._task, total=total)

    def update(self, done: int, note: str = "") -> None:
        self._progress.update(self._task, completed=done, note=note)

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
