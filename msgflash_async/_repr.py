"""Reprs that still answer on an object whose ``__init__`` did not finish."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

__all__ = ["tolerant_repr"]

T = TypeVar("T")


def tolerant_repr(method: Callable[[T], str]) -> Callable[[T], str]:
    """Wrap a ``__repr__`` so an attribute not set yet gives a placeholder, not an error.

    A constructor that raises leaves ``self`` among the locals of its frame;
    printing that traceback with locals (``capture_locals``, rich, error
    trackers) calls this repr, and a repr that fails there hides the real
    error behind an ``AttributeError``.
    """

    @functools.wraps(method)
    def __repr__(self: T) -> str:
        try:
            return method(self)
        except AttributeError:
            return f"<{type(self).__qualname__} (not fully built)>"

    return __repr__
