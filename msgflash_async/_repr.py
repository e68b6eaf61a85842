"""Reprs that still answer on an object whose ``__init__`` did not finish."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

__all__ = ["tolerant_attrs_reprs", "tolerant_repr"]

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


def tolerant_attrs_reprs(namespace: Mapping[str, Any]) -> None:
    """Make the attrs-written repr of every attrs class defined in ``namespace`` tolerant.

    Called at the end of a module whose classes have field converters: a
    converter that raises (``OutgoingMessage(type=5)``) leaves a half-built
    ``self`` in attrs' ``__init__`` frame, whose generated repr reads every
    field and would fail while a traceback is printed with locals.
    """
    module = namespace["__name__"]
    for value in list(namespace.values()):
        own = vars(value).get("__repr__") if isinstance(value, type) else None
        if own is not None and attrs.has(value) and value.__module__ == module:
            value.__repr__ = tolerant_repr(own)  # type: ignore[method-assign]
