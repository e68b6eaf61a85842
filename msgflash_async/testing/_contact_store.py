"""In-memory contacts and groups for one workspace.

Contacts keep two sorted keyset indexes, ``(createdAt, id)`` and
``(casefolded name, id)``, so a page is a ``bisect`` plus a short walk: a
client can stream 100k contacts without the emulator re-sorting per page,
and a cursor stays valid while rows are inserted or deleted (keyset, never
offsets). Deletes and renames leave stale index entries that scans skip;
the index is compacted once stale entries outnumber live ones.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._http import iso_from_ms, new_id

__all__ = ["Contact", "ContactIndex", "Group", "Key"]

Key = tuple[str, str]


class Contact:
    """A stored contact; ``to_wire`` is the documented JSON shape."""

    __slots__ = ("created_at", "id", "meta", "name", "name_key", "phone", "tags", "updated_at")

    def __init__(
        self, id: str, name: str, phone: str, tags: list[str], meta: dict[str, Any], now: str
    ) -> None:
        self.id = id
        self.name = name
        self.name_key = name.casefold()
        self.phone = phone
        self.tags = tags
        self.meta = meta
        self.created_at = now
        self.updated_at = now

    @property
    def created_key(self) -> Key:
        return (self.created_at, self.id)

    @property
    def name_sort_key(self) -> Key:
        return (self.name_key, self.id)

    def matches(self, search: str | None) -> bool:
        """Case-insensitive substring match on name or phone (``search`` is casefolded)."""
        return search is None or search in self.name_key or search in self.phone

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "tags": list(self.tags),
            "temperature": None,
            "meta": dict(self.meta),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


class Group:
    """A contact group; ``members`` is an insertion-ordered set of contact ids."""

    __slots__ = ("color", "created_at", "description", "id", "members", "name")

    def __init__(
        self, name: str, description: str | None, color: str | None, created_at: str
    ) -> None:
        self.id = new_id()
        self.name = name
        self.description = description
        self.color = color
        self.created_at = created_at
        self.members: dict[str, None] = {}

    @property
    def created_key(self) -> Key:
        return (self.created_at, self.id)

    def matches(self, search: str | None) -> bool:
        if search is None:
            return True
        return search in self.name.casefold() or search in (self.description or "").casefold()

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "color": self.color,
            "contactCount": len(self.members),
            "createdAt": self.created_at,
        }


class ContactIndex:
    """Contacts by id and phone, plus the two sorted keyset indexes."""

    def __init__(self) -> None:
        self.by_id: dict[str, Contact] = {}
        self.by_phone: dict[str, str] = {}
        self._created: list[Key] = []
        self._names: list[Key] = []
        self._stale = 0

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, contact: Contact) -> None:
        self.by_id[contact.id] = contact
        self.by_phone[contact.phone] = contact.id
        # New contacts are the newest, so this insort lands at the end: O(1) moves.
        bisect.insort(self._created, contact.created_key)
        bisect.insort(self._names, contact.name_sort_key)

    def add_many(self, contacts: Iterable[Contact]) -> None:
        """Bulk insert for seeding: one sort instead of n insorts."""
        for contact in contacts:
            self.by_id[contact.id] = contact
            self.by_phone[contact.phone] = contact.id
            self._created.append(contact.created_key)
            self._names.append(contact.name_sort_key)
        self._created.sort()
        self._names.sort()

    def rename(self, contact: Contact, name: str) -> None:
        old = contact.name_sort_key
        contact.name = name
        contact.name_key = name.casefold()
        if contact.name_sort_key != old:
            # Drop the old key rather than leave it stale: renamed back, a
            # stale key would be current again, and listed twice.
            _discard(self._names, old)
            bisect.insort(self._names, contact.name_sort_key)

    def change_phone(self, contact: Contact, phone: str) -> None:
        del self.by_phone[contact.phone]
        contact.phone = phone
        self.by_phone[phone] = contact.id

    def remove(self, contact_id: str) -> Contact | None:
        contact = self.by_id.pop(contact_id, None)
        if contact is not None:
            del self.by_phone[contact.phone]
            self._note_stale()
        return contact

    def _note_stale(self) -> None:
        self._stale += 1
        if self._stale > 1000 and self._stale > len(self.by_id):
            self._created = [c.created_key for c in self.by_id.values()]
            self._created.sort()
            self._names = [c.name_sort_key for c in self.by_id.values()]
            self._names.sort()
            self._stale = 0

    def count(self, search: str | None) -> int:
        if search is None:
            return len(self.by_id)
        return sum(1 for c in self.by_id.values() if c.matches(search))

    def page(
        self, sort: str, after: Key | None, limit: int, search: str | None
    ) -> tuple[list[Contact], bool]:
        """Up to ``limit`` contacts strictly after the ``after`` key, and whether more exist."""
        if sort == "name_asc":
            walk = self._walk_up(self._names, after, lambda c: c.name_sort_key)
        else:
            walk = self._walk_down(self._created, after, lambda c: c.created_key)
        found: list[Contact] = []
        for contact in walk:
            if contact.matches(search):
                if len(found) == limit:
                    return found, True
                found.append(contact)
        return found, False

    def _walk_down(
        self, keys: list[Key], before: Key | None, key_of: Callable[[Contact], Key]
    ) -> Iterator[Contact]:
        index = len(keys) if before is None else bisect.bisect_left(keys, before)
        for position in range(index - 1, -1, -1):
            contact = self._live(keys[position], key_of)
            if contact is not None:
                yield contact

    def _walk_up(
        self, keys: list[Key], after: Key | None, key_of: Callable[[Contact], Key]
    ) -> Iterator[Contact]:
        index = 0 if after is None else bisect.bisect_right(keys, after)
        for position in range(index, len(keys)):
            contact = self._live(keys[position], key_of)
            if contact is not None:
                yield contact

    def _live(self, key: Key, key_of: Callable[[Contact], Key]) -> Contact | None:
        """The contact behind an index entry, or None when the entry is stale."""
        contact = self.by_id.get(key[1])
        if contact is None or key_of(contact) != key:
            return None
        return contact


def seeded_contacts(
    n: int,
    *,
    name_prefix: str,
    tags: list[str],
    taken: Callable[[str], bool],
    start: int,
    end_ms: int,
) -> list[Contact]:
    """``n`` contacts with unique phones, created 1 ms apart up to ``end_ms`` (oldest first)."""
    out: list[Contact] = []
    number = start
    ids = _random_uuids(n)
    first_ms = end_ms - n + 1
    second_prefix: tuple[int, str] = (-1, "")
    for i in range(n):
        phone = f"+1{number:010d}"
        while taken(phone):
            number += 1
            phone = f"+1{number:010d}"
        number += 1
        # Format the date part once per second: seeding 100k contacts stays well under 1 s.
        second, millis = divmod(first_ms + i, 1000)
        if second != second_prefix[0]:
            second_prefix = (second, iso_from_ms(second * 1000)[:-4])
        stamp = f"{second_prefix[1]}{millis:03d}Z"
        out.append(Contact(ids[i], f"{name_prefix} {i:06d}", phone, list(tags), {}, stamp))
    return out


def _random_uuids(n: int) -> list[str]:
    """``n`` random version-4 UUID strings, without ``uuid.uuid4()``'s per-call cost."""
    raw = os.urandom(16 * n).hex()
    out = []
    for offset in range(0, 32 * n, 32):
        h = raw[offset : offset + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return out


def _discard(keys: list[Key], key: Key) -> None:
    """Remove ``key`` from the sorted ``keys`` if it is there."""
    at = bisect.bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        del keys[at]
