"""A string that never shows itself: API keys and webhook secrets."""

from __future__ import annotations

import hmac
from typing import Final, overload

__all__ = ["MASK", "Secret", "SecretText", "masked"]

MASK: Final = "**********"


class Secret:
    """Holds a secret string; ``repr``/``str`` show it masked, ``reveal()`` reads it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call this only where it must go on the wire or into an HMAC."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the secret in clear to disk or to another process.
        raise TypeError("Secret values cannot be pickled")


class SecretText(str):
    """The revealed secret as a ``str`` whose ``repr`` is masked: for header values.

    aiohttp copies request headers into its own mappings, held as locals of
    its coroutine frames while a request is in flight; a timeout or a
    cancellation raised there carries those frames, and a traceback printed
    with locals shows each value's ``repr``. The value itself, what ``str()``
    and the wire see, is the secret.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secret values cannot be pickled")


@overload
def masked(value: str | Secret) -> Secret: ...
@overload
def masked(value: None) -> None: ...
def masked(value: str | Secret | None) -> Secret | None:
    """A credential argument as a :class:`Secret`, so a frame holding it never shows it.

    Entry points taking a key rebind their argument with this first: an
    error raised while they run carries their frame, and a traceback
    printed with locals would show a plain string.
    """
    return Secret(value) if isinstance(value, str) else value
