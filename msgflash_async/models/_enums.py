"""Open enums: known values are members, unknown values from the server are kept."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["OpenEnum"]


class OpenEnum(str, Enum):
    """A string enum that accepts values it does not know.

    The API documents no full list for most statuses, and new ones may appear
    at any time; an unknown value becomes a pseudo-member (``.value`` is the
    server's string, ``.known`` is False) instead of failing the whole decode.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value.upper()
        pseudo._value_ = value
        return pseudo

    @property
    def known(self) -> bool:
        """True when the value is one the SDK was built with."""
        return self._name_ in type(self).__members__

    def __str__(self) -> str:
        return str(self.value)
