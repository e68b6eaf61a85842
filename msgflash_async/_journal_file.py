"""The file journal: append-only JSON lines, group-committed, locked while in use.

::

    {"journal": "msgflash-batch", "v": 1}                     header, first line
    {"i": 7, "fp": "3f1c...", "key": "order-7", "t": 1.7e9}   attempt (durable before the send)
    {"i": 7, "outcome": "accepted", "id": "msg_..."}          outcome
    {"i": 8, "outcome": "rejected", "code": "NOT_FOUND"}

One fsync per record would cap a batch at a few thousand sends a second, so
attempts are group-committed: the first sender that finds no commit running
leads one, waits ``commit_interval`` for others to join, writes and syncs
every pending record in a worker thread, and wakes everyone that commit
covered. Outcome records ride along, or are flushed by :meth:`keep_alive`.

An existing file is read, and its first line checked to be this header,
*before* anything is written to it: a path that points at a settings file or
a CSV is refused and left byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import json
import json.encoder
import os
import sys
import time
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any

import anyio

from ._exceptions import ValidationError
from ._journal import ATTEMPTED, BatchJournal, JournalEntry
from ._repr import tolerant_repr

__all__ = ["FileJournal"]

_HEADER = {"journal": "msgflash-batch", "v": 1}
_HEADER_LINE = json.dumps(_HEADER, separators=(",", ":")).encode() + b"\n"

# The shortest time between two commits: lets concurrent attempts share one.
_COMMIT_INTERVAL = 0.002

# Outcome records alone never wait longer than this for a write.
_IDLE_FLUSH = 0.1

# Module-level so a test can stand in for a full disk.
_os_write = os.write

# A JSON string literal (C-accelerated, no dict round trip).
_quote: Callable[[str], str] = json.encoder.encode_basestring


class _Commit:
    """One group commit: its waiters are done when ``done`` is True."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False
        self.error: OSError | None = None


class FileJournal(BatchJournal):
    """A journal in a local file (what ``journal="path"`` opens)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = self.name = os.fspath(path)
        self._fd: int | None = None
        self._entries: dict[int, JournalEntry] = {}
        self._pending: list[bytes] = []
        self._next = _Commit()
        self._busy = False  # a commit is being written
        self._turn = anyio.Event()  # set when the running commit ends
        self._last_commit = 0.0
        self.commit_interval = _COMMIT_INTERVAL
        self._failed: OSError | None = None
        self.commits = 0

    @tolerant_repr
    def __repr__(self) -> str:
        return f"FileJournal({self.path!r}, earlier={len(self._entries)})"

    async def open(self) -> None:
        self._fd, self._entries = await anyio.to_thread.run_sync(_open_and_load, self.path)

    def lookup(self, index: int) -> JournalEntry | None:
        return self._entries.get(index)

    def earlier(self) -> Mapping[int, JournalEntry]:
        """Everything earlier runs recorded, by index (read-only)."""
        return MappingProxyType(self._entries)

    async def attempt(self, index: int, fingerprint: str, key: Hashable | None) -> None:
        if self._failed is not None:
            raise self._failed
        # Formatted by hand: a dict through json.dumps costs ~2 us a record.
        extra = ""
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            extra = f',"key":{_quote(key) if isinstance(key, str) else key}'
        record = f'{{"i":{index},"fp":"{fingerprint}"{extra},"t":{time.time():.3f}}}\n'
        self._pending.append(record.encode())
        commit = self._next
        while not commit.done:
            if self._busy:
                await self._turn.wait()
            else:
                await self._lead()
        if commit.error is not None:
            raise commit.error

    def outcome(
        self, index: int, status: str, *, message_id: str | None = None, code: str | None = None
    ) -> None:
        extra = ""
        if message_id is not None:
            extra += f',"id":{_quote(message_id)}'
        if code is not None:
            extra += f',"code":{_quote(code)}'
        self._pending.append(f'{{"i":{index},"outcome":"{status}"{extra}}}\n'.encode())

    async def keep_alive(self) -> None:
        """Flush outcome records that no attempt commit took along."""
        while True:
            await anyio.sleep(_IDLE_FLUSH)
            if self._pending and not self._busy:
                await self._lead()

    async def _lead(self) -> None:
        """Write one group commit; shielded, so no waiter is left without one."""
        self._busy = True
        try:
            with anyio.CancelScope(shield=True):
                delay = self._last_commit + self.commit_interval - time.monotonic()
                if delay > 0:
                    await anyio.sleep(delay)  # let concurrent attempts join
                await self._commit()
        finally:
            self._last_commit = time.monotonic()
            self._busy = False
            turn, self._turn = self._turn, anyio.Event()
            turn.set()

    async def _commit(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        commit, self._next = self._next, _Commit()
        try:
            if self._failed is None:
                await anyio.to_thread.run_sync(self._write, data)
                self.commits += 1
        except OSError as exc:
            # Every later attempt fails too: a batch must not send what it
            # cannot record.
            self._failed = exc
        finally:
            commit.error = self._failed
            commit.done = True

    def _write(self, data: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise OSError(f"journal {self.path} is closed")
        size = os.fstat(fd).st_size
        view = memoryview(data)
        try:
            while view:
                view = view[_os_write(fd, view) :]
            os.fsync(fd)
        except OSError:
            # Disk full, I/O error: take back whatever part of this commit
            # reached the file. Its attempts were never sent, and a record
            # left behind would make a resume call them unknown.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise

    async def aclose(self) -> None:
        """Write and sync whatever is pending, then close the file. Idempotent."""
        if self._fd is None:
            return
        try:
            if self._pending and self._failed is None:
                data = b"".join(self._pending)
                self._pending.clear()
                await anyio.to_thread.run_sync(self._write, data)
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)
            self._next.done = True  # nobody may wait on a commit that will never come
            self._next.error = self._failed or OSError(f"journal {self.path} is closed")
            self._turn.set()


def _open_and_load(path: str) -> tuple[int, dict[int, JournalEntry]]:
    # No O_TRUNC, and nothing is written before the header is checked.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _lock(fd, path)
        entries = _load(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd, entries


def _lock(fd: int, path: str) -> None:
    """One batch per journal: two at once would both send every input."""
    if sys.platform == "win32":  # pragma: no cover - no flock there
        return
    import fcntl

    try:
        # Held until the file is closed (aclose, or the process ends).
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ValidationError(
            f"{path} is in use by another running batch: wait for it to end, "
            "or use another journal for other inputs",
            field="journal",
        ) from None


def _sync_directory(path: str) -> None:
    """Make a new journal's directory entry durable: else a crash may lose the whole file."""
    if os.name != "posix":  # pragma: no cover - directories cannot be opened elsewhere
        return
    dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _load(fd: int, path: str) -> dict[int, JournalEntry]:
    # Read through this very descriptor: closing a duplicate would drop the
    # lock where flock is emulated with fcntl locks (NFS).
    raw = _read_all(fd)
    if not raw:
        os.write(fd, _HEADER_LINE)
        os.fsync(fd)
        _sync_directory(path)
        return {}
    first = raw[: raw.find(b"\n") + 1] if b"\n" in raw else raw
    if _header(first) != _HEADER:
        raise ValidationError(
            f"{path} exists and is not a msgflash batch journal: it was left untouched; "
            "pass a new path (or the path of an earlier run's journal)",
            field="journal",
        )
    good = raw.rfind(b"\n") + 1
    if good < len(raw):
        # A torn last line was never synced, so the send it announced never
        # started: drop it, or the next record would be glued onto it.
        os.ftruncate(fd, good)
    entries: dict[int, JournalEntry] = {}
    for number, line in enumerate(raw[:good].splitlines()[1:], start=2):
        _apply(entries, _parse(line, path, number), path, number)
    return entries


def _read_all(fd: int) -> bytes:
    # The offset moves, but O_APPEND writes go to the end whatever it is.
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _header(line: bytes) -> Any:
    if not line.endswith(b"\n"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def _parse(line: bytes, path: str, number: int) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise ValidationError(f"{path} line {number} is not JSON", field="journal") from None


def _apply(entries: dict[int, JournalEntry], record: Any, path: str, number: int) -> None:
    index = record.get("i") if isinstance(record, Mapping) else None
    if not isinstance(index, int):
        raise ValidationError(f"{path} line {number} has no index", field="journal")
    if "fp" in record:
        when = record.get("t")
        entries[index] = JournalEntry(
            str(record["fp"]), ATTEMPTED, attempted_at=when if isinstance(when, float) else None
        )
        return
    known = entries.get(index)
    if known is None:
        raise ValidationError(
            f"{path} line {number}: outcome for index {index} without an attempt", field="journal"
        )
    message_id = record.get("id")
    entries[index] = JournalEntry(
        known.fingerprint,
        str(record.get("outcome")),
        message_id if message_id else None,
        known.attempted_at,
    )
