"""The router: which handler takes an event.

Handlers register by event kind with decorators and optional filters::

    router = Router()

    @router.message(command("start"))
    async def start(event: BotEvent) -> None:
        await event.reply("Welcome!")

A router tries its own handlers in registration order, then its included
routers in order, then its fallback; the first handler whose kind and
filters take the event is the only one to run. Middlewares of a router wrap
every handler it or its included routers run, the outermost router's first.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

from attrs import frozen

from .._repr import tolerant_repr
from ..models.webhooks import WebhookEventType
from ._context import UNKNOWN, BotEvent
from ._filters import Filter

__all__ = ["Handler", "Middleware", "Router"]

Handler: TypeAlias = Callable[[BotEvent], Awaitable[object]]
"""A bot handler: a coroutine function of the :class:`BotEvent`."""

Middleware: TypeAlias = Callable[[Handler, BotEvent], Awaitable[object]]
"""Runs around a handler: ``async def mw(handler, event): ... await handler(event) ...``."""

H = TypeVar("H", bound=Handler)

_STATUS_KINDS = (
    WebhookEventType.MESSAGE_SENT.value,
    WebhookEventType.MESSAGE_DELIVERED.value,
    WebhookEventType.MESSAGE_READ.value,
    WebhookEventType.MESSAGE_FAILED.value,
)


@frozen
class _Entry:
    kinds: frozenset[str]
    filter: Filter | None
    handler: Handler


@frozen
class Route:
    """The handler chosen for an event, wrapped in its middlewares."""

    handler: Handler
    data: Mapping[str, Any]
    middlewares: tuple[Middleware, ...]

    def call(self) -> Handler:
        """The handler with its middlewares around it, the outermost first."""
        call = self.handler
        for middleware in reversed(self.middlewares):
            call = functools.partial(middleware, call)
        return call


def _combined(filters: Iterable[Filter]) -> Filter | None:
    combined: Filter | None = None
    for part in filters:
        if not isinstance(part, Filter):
            raise TypeError(f"not a filter: {part!r} (see msgflash_async.bot)")
        combined = part if combined is None else combined & part
    return combined


class Router:
    """Handlers by event kind and filter, included routers, middlewares, a fallback."""

    def __init__(self, name: str = "router") -> None:
        self.name = name
        self._entries: list[_Entry] = []
        self._children: list[Router] = []
        self._middlewares: list[Middleware] = []
        self._fallback: Handler | None = None

    @tolerant_repr
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, handlers={len(self._entries)}, "
            f"routers={len(self._children)})"
        )

    # -- registration -----------------------------------------------------------------

    def on(
        self, *kinds: WebhookEventType | str, filters: Iterable[Filter] = ()
    ) -> Callable[[H], H]:
        """Register a handler for events of ``kinds`` (names, or ``"unknown"``)."""
        if not kinds:
            raise ValueError("on() needs at least one event kind")
        names = frozenset(k if k == UNKNOWN else WebhookEventType(k).value for k in kinds)
        entry_filter = _combined(filters)

        def register(handler: H) -> H:
            self._entries.append(_Entry(names, entry_filter, handler))
            return handler

        return register

    def message(self, *filters: Filter) -> Callable[[H], H]:
        """Inbound messages (``message.received``) that all ``filters`` take."""
        return self.on(WebhookEventType.MESSAGE_RECEIVED, filters=filters)

    def status(self, *filters: Filter) -> Callable[[H], H]:
        """Any status of a sent message (sent, delivered, read, failed)."""
        return self.on(*_STATUS_KINDS, filters=filters)

    def sent(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.MESSAGE_SENT, filters=filters)

    def delivered(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.MESSAGE_DELIVERED, filters=filters)

    def read(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.MESSAGE_READ, filters=filters)

    def failed(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.MESSAGE_FAILED, filters=filters)

    def connected(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.INSTANCE_CONNECTED, filters=filters)

    def disconnected(self, *filters: Filter) -> Callable[[H], H]:
        return self.on(WebhookEventType.INSTANCE_DISCONNECTED, filters=filters)

    def unknown(self, *filters: Filter) -> Callable[[H], H]:
        """Events whose name this SDK does not know (everything is in ``event.event.raw``)."""
        return self.on(UNKNOWN, filters=filters)

    def fallback(self, handler: H) -> H:
        """The handler of every event that reaches this router and nothing else took."""
        if self._fallback is not None:
            raise ValueError(f"router {self.name!r} already has a fallback")
        self._fallback = handler
        return handler

    def middleware(self, middleware: Middleware) -> Middleware:
        """Wrap every handler of this router and its included routers (also a decorator)."""
        self._middlewares.append(middleware)
        return middleware

    def include(self, *routers: Router) -> None:
        """Try ``routers`` after this router's own handlers, in order."""
        for router in routers:
            if router is self or self in router._descendants():
                raise ValueError(f"including {router.name!r} would make a cycle")
            self._children.append(router)

    def _descendants(self) -> Iterable[Router]:
        for child in self._children:
            yield child
            yield from child._descendants()

    # -- resolution -------------------------------------------------------------------

    async def resolve(self, event: BotEvent) -> Route | None:
        """The first handler that takes ``event``, or None."""
        for entry in self._entries:
            if event.kind not in entry.kinds:
                continue
            found = {} if entry.filter is None else await entry.filter.check(event)
            if found is not None:
                return Route(entry.handler, found, tuple(self._middlewares))
        for child in self._children:
            route = await child.resolve(event)
            if route is not None:
                middlewares = (*self._middlewares, *route.middlewares)
                return Route(route.handler, route.data, middlewares)
        if self._fallback is not None:
            return Route(self._fallback, {}, tuple(self._middlewares))
        return None
