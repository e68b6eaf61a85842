"""Resumable scans: a token that stores where a list stopped and its query.

The paginator hands out ``resume_token``; a resource's ``list(resume=...)``
turns it back into a starting cursor and the query it must run again.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ._exceptions import ValidationError

__all__ = ["ResumeToken", "resolve_resume"]


@attrs.frozen
class ResumeToken:
    """Where a scan stopped and the query it ran, as one string to store.

    ``page`` is the cursor the page the scan stopped in was fetched with
    (None for the list's first page) and ``skip`` how many of that page's
    items the caller already had. Cursors are opaque, so an offset into a
    refetched page is the finest position a client can hold: an item the
    server inserted into or deleted from the seen part of that page meanwhile
    shifts the resume point by one item each (a repeat or a miss). A scan
    stopped on a page boundary needs no offset: it resumes at the next
    page's cursor.

    The contacts cursor encodes the sort order, so resuming with a different
    ``sort`` would skip or repeat items; the token carries the query along.
    """

    page: str | None
    query: Mapping[str, Any] = attrs.field(factory=dict)
    skip: int = 0

    def encode(self) -> str:
        fields: dict[str, Any] = {"c": self.page, "q": dict(self.query)}
        if self.skip:
            fields["s"] = self.skip  # absent on page boundaries: tokens as before
        raw = json.dumps(fields, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ResumeToken:
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
            page, skip = raw["c"], raw.get("s", 0)
            if not _is_offset(skip):
                raise ValueError("bad offset")
            return cls(page=None if page is None else str(page), query=dict(raw["q"]), skip=skip)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise ValidationError("not a resume token of this SDK", field="resume") from None


def _is_offset(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def resolve_resume(
    resume: str | None, cursor: str | None, query: Mapping[str, Any]
) -> tuple[str | ResumeToken | None, dict[str, Any]]:
    """Where to start (a cursor, or the decoded token) and the query to list with.

    ``query`` holds the caller's arguments, ``None`` where not given. A token
    restores the query it was taken from (the cursor encodes the sort, and a
    changed filter would skip or repeat items); a given argument that
    disagrees with the token is refused. A given ``limit`` may differ: page
    size does not change which items come next.
    """
    given = {k: v for k, v in query.items() if v is not None}
    if resume is None:
        return cursor, given
    if cursor is not None:
        raise ValidationError("pass either cursor or resume, not both", field="resume")
    token = ResumeToken.decode(resume)
    restored = dict(token.query)
    for key, value in given.items():
        if key != "limit" and key in restored and restored[key] != value:
            raise ValidationError(
                f"{key}={value!r} differs from the resumed list's {restored[key]!r}",
                field=key,
            )
        if key != "limit" and key not in restored:
            raise ValidationError(f"{key} was not part of the resumed list", field=key)
    restored.update(given)
    return token, restored
