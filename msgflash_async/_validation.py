"""Client-side checks of documented argument rules, run before any request.

Each ``check_*`` returns the value to send (normalised where that is safe) or
raises :class:`ValidationError` naming the argument, so a bad call costs no
request, no rate-limit slot and no monthly quota. Only rules the
documentation states are checked here; ids stay opaque and unchecked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any, Final

from ._exceptions import ValidationError

__all__ = [
    "MAX_IDS_PER_CALL",
    "MAX_PAGE_SIZE",
    "MAX_SEARCH_LENGTH",
    "check_color",
    "check_ids",
    "check_limit",
    "check_list_args",
    "check_phone",
    "check_positive",
    "check_search",
    "check_text",
    "is_loopback",
]

MAX_IDS_PER_CALL: Final = 10_000
"""Ids one bulk call accepts (bulk delete, add or remove group members)."""

MAX_SEARCH_LENGTH: Final = 100

MAX_PAGE_SIZE: Final = 100
"""The largest page the documented lists serve; the SDK asks for it by default."""

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


def check_limit(
    value: int | None, maximum: int | None = MAX_PAGE_SIZE, field: str = "limit"
) -> int | None:
    """A page size between 1 and the endpoint's ``maximum`` (None: no maximum), or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        bad = True
    else:
        bad = maximum is not None and value > maximum
    if bad:
        expected = "a positive integer" if maximum is None else f"an integer from 1 to {maximum}"
        raise ValidationError(f"expected {expected}, got {value!r}", field=field)
    return value


def check_positive(value: float, field: str) -> float:
    """``value`` if it is a number of seconds greater than zero (an interval)."""
    if not value > 0:
        raise ValidationError("must be > 0", field=field)
    return value


def check_list_args(search: str | None, limit: int | None) -> dict[str, Any]:
    """The checked ``search`` and ``limit`` of a searchable list, as its query."""
    return {"search": check_search(search), "limit": check_limit(limit)}


_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
