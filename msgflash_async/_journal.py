"""The batch journal: an append-only JSON-lines file that makes a batch resumable.

The danger a journal guards against is sending a message twice. So every send
is preceded by an *attempt* record that is on disk (written, ``fsync``-ed)
before the request starts, and followed by an *outcome* record::

    {"journal": "msgflash-batch", "v": 1}                    header, first line
    {"i": 7, "fp": "3f1c...", "key": "order-7"}              attempt (durable before the send)
    {"i": 7, "outcome": "accepted", "id": "msg_..."}         outcome
    {"i": 8, "outcome": "rejected", "code": "NOT_FOUND"}

A crash between the two leaves an attempt without an outcome: on resume that
input is *unknown* (the request may have reached the server) and is never
sent again. Outcome records need no fsync of their own, for losing one only
turns a known outcome into an unknown one, never into a second send.

One fsync per record would cap a batch at a few thousand sends a second and
block the event loop, so writes are group-committed: a single writer task
takes every pending record at most every ``commit_interval``, writes and
syncs them in a worker thread, and wakes every sender that commit covered.
The batch *announces* an input (queues its attempt record) when it hands it
to the workers, so the commit is usually done before a worker picks it up:
the fsync stays off the request's path. The price: a hard crash may leave the
few inputs announced but not yet sent marked unknown too (never re-sent).

``fingerprint(message)`` ties an index to its content, so resuming with
changed inputs is refused instead of skipping or re-sending the wrong ones.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from ._converter import unstructure
from ._exceptions import ValidationError

__all__ = ["ATTEMPTED", "Commit", "Journal", "JournalEntry", "fingerprint"]

_HEADER = {"journal": "msgflash-batch", "v": 1}

# The shortest time between two commits (see writer()).
_COMMIT_INTERVAL = 0.002

# Outcome records alone never wait longer than this for a commit.
_IDLE_FLUSH = 0.1

# A JSON string literal (C-accelerated, no dict round trip).
_quote: Callable[[str], str] = json.encoder.encode_basestring

# The state of an index whose attempt record has no outcome after it.
ATTEMPTED = "attempted"

# (fingerprint, last state, message id): all a resume needs to know per index.
JournalEntry = tuple[str, str, "str | None"]


def fingerprint(message: Any) -> str:
    """A stable digest of a request model's wire form.

    Stdlib ``json`` with sorted keys (not orjson, whose float spelling
    differs) so installing the ``speed`` extra between two runs does not
    make every input look changed.
    """
    wire = unstructure(message)
    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _dump(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class Commit:
    """One group commit: its waiters wake when ``done`` is set."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: OSError | None = None


class Journal:
    """An open journal file: what earlier runs recorded, and appends for this one.

    Use :meth:`open` (it reads earlier records and repairs a torn last line),
    run :meth:`writer` as a task while the batch runs, and :meth:`aclose` at
    the end (idempotent, safe under cancellation when shielded).
    """

    def __init__(self, path: str, fd: int, entries: dict[int, JournalEntry]) -> None:
        self.path = path
        self._fd: int | None = fd
        self._entries = entries
        self._pending: list[bytes] = []
        self._next = Commit()
        self._wake = anyio.Event()
        self._stopping = False
        self._urgent = False  # an attempt record is pending
        self._last_commit = 0.0
        self.commit_interval = _COMMIT_INTERVAL
        self._failed: OSError | None = None
        self.commits = 0

    def __repr__(self) -> str:
        return f"Journal({self.path!r}, earlier={len(self._entries)})"

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (or create) the journal at ``path`` and load what it holds."""
        name = os.fspath(path)
        fd, entries = await anyio.to_thread.run_sync(_open_and_load, name)
        return cls(name, fd, entries)

    def lookup(self, index: int) -> JournalEntry | None:
        """What an earlier run recorded for ``index``, or None."""
        return self._entries.get(index)

    def announce(self, index: int, fp: str, key: Any) -> Commit:
        """Queue the attempt record of ``index``; wait on the result before sending."""
        if self._failed is not None:
            raise self._failed
        # Formatted by hand: a dict through json.dumps costs ~2 us a record.
        extra = ""
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            extra = f',"key":{_quote(key) if isinstance(key, str) else key}'
        self._pending.append(f'{{"i":{index},"fp":"{fp}"{extra}}}\n'.encode())
        self._urgent = True
        self._wake.set()
        return self._next

    @staticmethod
    async def durable(commit: Commit) -> None:
        """Return once ``commit`` is on disk; raise the OSError if it failed."""
        if not commit.done.is_set():
            await commit.done.wait()
        if commit.error is not None:
            raise commit.error

    def outcome(
        self, index: int, status: str, *, message_id: str | None = None, code: str | None = None
    ) -> None:
        """Record how ``index`` ended; rides along with the next commit, never awaited."""
        extra = ""
        if message_id is not None:
            extra += f',"id":{_quote(message_id)}'
        if code is not None:
            extra += f',"code":{_quote(code)}'
        self._pending.append(f'{{"i":{index},"outcome":"{status}"{extra}}}\n'.encode())

    async def writer(self) -> None:
        """Group-commit pending records until :meth:`stop` is called and all is written.

        An attempt record (or the stop) calls for a commit: outcome records
        ride along with the next one, or wait at most ``_IDLE_FLUSH``.
        """
        while True:
            if (self._urgent or self._stopping) and self._pending:
                # Each commit costs a thread hop and an fsync whatever its size,
                # so let attempts gather for a moment: fewer, larger commits.
                delay = self._last_commit + self.commit_interval - _now()
                if delay > 0:
                    await anyio.sleep(delay)
                await self._commit()
                self._last_commit = _now()
                continue
            if self._stopping:
                return
            with anyio.move_on_after(_IDLE_FLUSH) as idle:
                await self._wake.wait()
            self._wake = anyio.Event()
            if idle.cancelled_caught and self._pending:
                await self._commit()

    def stop(self) -> None:
        """Ask :meth:`writer` to return once the records pending now are on disk."""
        self._stopping = True
        self._wake.set()

    async def _commit(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        commit, self._next = self._next, Commit()
        self._urgent = False
        try:
            if self._failed is None:
                # Shielded: a cancelled writer still finishes this commit, so
                # no record taken from the queue is lost, and no waiter is
                # woken to send before its attempt record is on disk.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._write, data)
                self.commits += 1
        except OSError as exc:
            # Every later attempt fails too: a batch must not send what it
            # cannot record. The senders raise it; the writer keeps waking them.
            self._failed = exc
        finally:
            commit.error = self._failed
            commit.done.set()

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise OSError(f"journal {self.path} is closed")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    async def aclose(self) -> None:
        """Write and sync whatever is pending, then close the file. Idempotent."""
        if self._fd is None:
            return
        try:
            if self._pending:
                data = b"".join(self._pending)
                self._pending.clear()
                await anyio.to_thread.run_sync(self._write, data)
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)
            self._next.done.set()  # nobody may wait on a commit that will never come


_now = time.monotonic


def _open_and_load(path: str) -> tuple[int, dict[int, JournalEntry]]:
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
        os.write(fd, _dump(_HEADER))
        os.fsync(fd)
        _sync_directory(path)
        return {}
    good = raw.rfind(b"\n") + 1
    if good < len(raw):
        # A torn last line was never synced, so the send it announced never
        # started: drop it, or the next record would be glued onto it.
        os.ftruncate(fd, good)
    lines = raw[:good].splitlines()
    if not lines or _header(lines[0]) != _HEADER:
        raise ValidationError(f"{path} is not a msgflash batch journal", field="journal")
    entries: dict[int, JournalEntry] = {}
    for number, line in enumerate(lines[1:], start=2):
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
    index = record.get("i") if isinstance(record, dict) else None
    if not isinstance(index, int):
        raise ValidationError(f"{path} line {number} has no index", field="journal")
    if "fp" in record:
        entries[index] = (str(record["fp"]), ATTEMPTED, None)
        return
    known = entries.get(index)
    if known is None:
        raise ValidationError(
            f"{path} line {number}: outcome for index {index} without an attempt", field="journal"
        )
    message_id = record.get("id")
    entries[index] = (known[0], str(record.get("outcome")), message_id if message_id else None)
