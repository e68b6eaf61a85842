"""Client-side checks of documented argument rules, run before any request.

Each ``check_*`` returns the value to send (normalised where that is safe) or
raises :class:`ValidationError` naming the argument, so a bad call costs no
request, no rate-limit slot and no monthly quota. Only rules the
documentation states are checked here; ids stay opaque and unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._exceptions import ValidationError
from ._pagination import ResumeToken

__all__ = [
    "MAX_IDS_PER_CALL",
    "MAX_SEARCH_LENGTH",
    "check_color",
    "check_ids",
    "check_limit",
    "check_phone",
    "check_search",
    "check_text",
    "resolve_resume",
]

MAX_IDS_PER_CALL: Final = 10_000
"""Ids one bulk call accepts (bulk delete, add or remove group members)."""

MAX_SEARCH_LENGTH: Final = 100

# E.164: a plus, then 7 (Saint Helena) to 15 digits, the country code never
# starting with 0.
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_HEX_COLOR: Final = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def check_phone(value: Any, field: str = "phone") -> str:
    """``value`` if it is an E.164 number such as ``+33612345678``."""
    if not isinstance(value, str) or _E164.fullmatch(value) is None:
        raise ValidationError(
            f"expected an E.164 number ('+' then 8 to 15 digits, no spaces), got {value!r}",
            field=field,
        )
    return value


def check_color(value: Any, field: str = "color") -> str:
    """``value`` if it is a hex colour, ``#RRGGBB`` or ``#RGB``."""
    if not isinstance(value, str) or _HEX_COLOR.fullmatch(value) is None:
        raise ValidationError(f"expected a hex colour like '#25D366', got {value!r}", field=field)
    return value


def check_text(value: Any, field: str, *, max_length: int | None = None) -> str:
    """``value`` if it is a non-empty string of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=field)
    if max_length is not None and len(value) > max_length:
        raise ValidationError(f"at most {max_length} characters, got {len(value)}", field=field)
    return value


def check_search(value: str | None, field: str = "search") -> str | None:
    """A search term of 1 to 100 characters, or ``None`` for no search."""
    if value is None:
        return None
    return check_text(value, field, max_length=MAX_SEARCH_LENGTH)


def check_limit(value: int | None, maximum: int, field: str = "limit") -> int | None:
    """A page size between 1 and the endpoint's ``maximum``, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(
            f"expected an integer from 1 to {maximum}, got {value!r}", field=field
        )
    return value


def check_ids(
    values: Iterable[str], field: str = "contact_ids", *, max_items: int | None = None
) -> tuple[str, ...]:
    """A non-empty list of non-empty string ids, at most ``max_items`` long.

    A lone string is refused rather than read as a list of characters.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError("expected a list of ids, not a single value", field=field)
    ids = tuple(values)
    if not ids:
        raise ValidationError("expected at least one id", field=field)
    for index, item in enumerate(ids):
        if not isinstance(item, str) or not item:
            raise ValidationError(f"item {index} is not a non-empty string: {item!r}", field=field)
    if max_items is not None and len(ids) > max_items:
        raise ValidationError(f"at most {max_items} ids per call, got {len(ids)}", field=field)
    return ids


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
