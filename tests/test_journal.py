"""The journal interface and the file journal: ownership, durability, foreign files."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import anyio
import pytest
from test_batch import Stub, by_index, collect, msgs

from msgflash_async import BatchJournal, BatchSender, FileJournal, JournalEntry, OutcomeStatus
from msgflash_async._exceptions import ValidationError
from msgflash_async._journal import ATTEMPTED

pytestmark = pytest.mark.anyio

FOREIGN = {
    "settings.json": b'{"theme": "dark", "notifications": true, "x": 1}',  # no newline
    "orders.csv": b"id,phone\n1,+33612345678\n2,+33612345679",  # last row unterminated
    "notes.txt": b"shopping list\nmilk\n",
    "blob.bin": bytes(range(256)),
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
async def test_a_foreign_file_is_refused_and_left_byte_for_byte(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(FOREIGN[name])
    before = path.stat()
    stub = Stub()
    with pytest.raises(ValidationError, match=r"not a msgflash batch journal.*left untouched"):
        await BatchSender(stub, journal=path).run(msgs(3))
    assert stub.calls == [], "nothing sent"
    assert path.read_bytes() == FOREIGN[name]
    assert path.stat().st_size == before.st_size


async def test_an_empty_file_becomes_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_bytes(b"")
    report = await BatchSender(Stub(), journal=path).run(msgs(2))
    assert report.accepted == 2
    assert path.read_text().startswith('{"journal":"msgflash-batch"')


async def test_attempt_records_carry_the_time_they_were_made(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    await BatchSender(Stub(), journal=path).run(msgs(2))
    journal = FileJournal(path)
    await journal.open()
    try:
        entry = journal.lookup(1)
        assert entry is not None and entry.state == "accepted"
        assert entry.attempted_at is not None and entry.attempted_at > 1.7e9
    finally:
        await journal.aclose()


class MemoryJournal(BatchJournal):
    """The smallest journal a backend can be: the interface, kept in memory."""

    def __init__(self) -> None:
        self.name = "memory"
        self.entries: dict[int, JournalEntry] = {}
        self.log: list[tuple[str, int]] = []
        self.owned = False

    async def open(self) -> None:
        if self.owned:
            raise ValidationError("in use", field="journal")
        self.owned = True

    def lookup(self, index: int) -> JournalEntry | None:
        return self.entries.get(index)

    async def attempt(self, index: int, fingerprint: str, key: Hashable | None) -> None:
        await anyio.lowlevel.checkpoint()
        self.entries[index] = JournalEntry(fingerprint, ATTEMPTED)
        self.log.append(("attempt", index))

    def outcome(
        self, index: int, status: str, *, message_id: str | None = None, code: str | None = None
    ) -> None:
        earlier = self.entries[index]
        self.entries[index] = JournalEntry(earlier.fingerprint, status, message_id)
        self.log.append((status, index))

    async def aclose(self) -> None:
        self.owned = False


async def test_any_batch_journal_makes_a_batch_resumable() -> None:
    journal = MemoryJournal()
    first = Stub({4: lambda: ConnectionError("lost")}, block=lambda i: False)
    await BatchSender(first, concurrency=2, journal=journal).run(msgs(6))
    # Every attempt is recorded before its send, each outcome after it.
    for index in range(6):
        events = [e for e, i in journal.log if i == index]
        assert events[0] == "attempt" and len(events) == 2
    second = Stub()
    outcomes = by_index(await collect(BatchSender(second, journal=journal), msgs(6)))
    assert second.calls == []
    assert outcomes[4].status is OutcomeStatus.UNKNOWN
    assert {outcomes[i].status for i in (0, 1, 2, 3, 5)} == {OutcomeStatus.SKIPPED}
