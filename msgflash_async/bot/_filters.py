"""Filters: which events a handler (or a waiting question) takes.

A filter answers an event with None (not taken) or a dict of values handed
to the handler through ``event.data`` (a regex filter hands its ``match``, a
command filter its ``command`` and ``args``). Filters combine with ``&``
(all must take the event; their values are merged), ``|`` (the first that
takes it) and ``~`` (the event is taken when the filter does not take it).
Filters are coroutines so that one may read the sender's state.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from .._repr import tolerant_repr
from ..models.messages import MessageType

if TYPE_CHECKING:
    from ._context import BotEvent

__all__ = [
    "Filter",
    "command",
    "from_instance",
    "message_type",
    "regex",
    "sender",
    "step",
    "text",
    "where",
]

_TAKEN: Final[Mapping[str, Any]] = MappingProxyType({})


class Filter:
    """The base of every filter; subclasses implement :meth:`check`."""

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        """None if ``event`` is not taken, else the values it hands to the handler."""
        raise NotImplementedError

    def __and__(self, other: Filter) -> Filter:
        return _All((self, other))

    def __or__(self, other: Filter) -> Filter:
        return _Any((self, other))

    def __invert__(self) -> Filter:
        return _Not(self)


class _Predicate(Filter):
    def __init__(self, name: str, test: Callable[[BotEvent], bool]) -> None:
        self._name = name
        self._test = test

    @tolerant_repr
    def __repr__(self) -> str:
        return self._name

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        return _TAKEN if self._test(event) else None


class _All(Filter):
    def __init__(self, parts: Iterable[Filter]) -> None:
        self._parts = tuple(parts)

    @tolerant_repr
    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self._parts)) + ")"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        values: dict[str, Any] = {}
        for part in self._parts:
            found = await part.check(event)
            if found is None:
                return None
            values.update(found)
        return values


class _Any(Filter):
    def __init__(self, parts: Iterable[Filter]) -> None:
        self._parts = tuple(parts)

    @tolerant_repr
    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self._parts)) + ")"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        for part in self._parts:
            found = await part.check(event)
            if found is not None:
                return found
        return None


class _Not(Filter):
    def __init__(self, inner: Filter) -> None:
        self._inner = inner

    @tolerant_repr
    def __repr__(self) -> str:
        return f"~{self._inner!r}"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        return _TAKEN if await self._inner.check(event) is None else None


class _Regex(Filter):
    def __init__(self, pattern: re.Pattern[str]) -> None:
        self._pattern = pattern

    @tolerant_repr
    def __repr__(self) -> str:
        return f"regex({self._pattern.pattern!r})"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        found = self._pattern.search(event.text or "")
        return None if found is None else {"match": found}


class _Command(Filter):
    def __init__(self, names: frozenset[str], prefix: str) -> None:
        self._names = names
        self._prefix = prefix

    @tolerant_repr
    def __repr__(self) -> str:
        return f"command({', '.join(sorted(self._names))})"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        words = (event.text or "").strip().split(maxsplit=1)
        if not words or not words[0].startswith(self._prefix):
            return None
        # "/start@shop" addresses the bot by name in a group: the name is not part of it.
        name = words[0][len(self._prefix) :].split("@", 1)[0].lower()
        if name not in self._names:
            return None
        return {"command": name, "args": words[1] if len(words) > 1 else ""}


class _Step(Filter):
    def __init__(self, steps: frozenset[str | None]) -> None:
        self._steps = steps

    @tolerant_repr
    def __repr__(self) -> str:
        return f"step({', '.join(map(repr, sorted(self._steps, key=str)))})"

    async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
        return _TAKEN if await event.state.step() in self._steps else None


def text(*values: str, ignore_case: bool = False) -> Filter:
    """The message text equals one of ``values`` (surrounding spaces ignored)."""
    if not values:
        raise ValueError("text() needs at least one value")
    wanted = frozenset(v.strip().casefold() if ignore_case else v.strip() for v in values)

    def test(event: BotEvent) -> bool:
        got = (event.text or "").strip()
        return (got.casefold() if ignore_case else got) in wanted

    return _Predicate(f"text({', '.join(map(repr, values))})", test)


def regex(pattern: str | re.Pattern[str], flags: int = 0) -> Filter:
    """The message text matches ``pattern`` (``re.search``); ``event.match`` is the match."""
    return _Regex(pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags))


def command(*names: str, prefix: str = "/") -> Filter:
    """The text starts with ``/name`` (any of ``names``, any case).

    The handler gets ``event.data["command"]`` (the name) and
    ``event.args`` (the rest of the text, stripped).
    """
    if not names:
        raise ValueError("command() needs at least one name")
    return _Command(frozenset(name.lstrip(prefix).lower() for name in names), prefix)


def sender(*numbers: str) -> Filter:
    """The event comes from one of ``numbers`` (inbound) or concerns one (statuses)."""
    wanted = frozenset(numbers)
    return _Predicate(f"sender({', '.join(numbers)})", lambda event: event.sender in wanted)


def from_instance(*instance_ids: str) -> Filter:
    """The event concerns one of ``instance_ids``."""
    wanted = frozenset(instance_ids)
    label = f"from_instance({', '.join(instance_ids)})"
    return _Predicate(label, lambda event: event.instance_id in wanted)


def message_type(*types: MessageType | str) -> Filter:
    """The inbound message is of one of ``types`` (``"text"``, ``"image"``, ...)."""
    wanted = frozenset(MessageType(t) for t in types)
    label = f"message_type({', '.join(t.value for t in wanted)})"
    return _Predicate(label, lambda event: event.message_type in wanted)


def step(*steps: str | None) -> Filter:
    """The sender's conversation state is at one of ``steps`` (None: no step)."""
    return _Step(frozenset(steps))


def where(test: Callable[[BotEvent], bool | Awaitable[bool]], *, name: str = "where") -> Filter:
    """A filter from your own function (plain or coroutine) of the event."""

    class _Where(Filter):
        @tolerant_repr
        def __repr__(self) -> str:
            return f"{name}({getattr(test, '__name__', '?')})"

        async def check(self, event: BotEvent) -> Mapping[str, Any] | None:
            result = test(event)
            if not isinstance(result, bool):
                result = await result
            return _TAKEN if result else None

    return _Where()
