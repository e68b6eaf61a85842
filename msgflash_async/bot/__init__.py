"""Bots on the webhook receiver: routed handlers, replies, questions that wait, state.

A :class:`Router` maps inbound messages, delivery statuses and instance
events to handlers through composable filters (:func:`text`, :func:`regex`,
:func:`command`, :func:`sender`, :func:`from_instance`, :func:`message_type`,
:func:`step`, :func:`where`; combined with ``&``, ``|``, ``~``). A :class:`Bot`
is the ``on_event`` of a webhook receiver: it runs the first handler that
takes each event, one at a time per sender, different senders concurrently.
Handlers get a :class:`BotEvent`: ``reply*()`` to the sender,
``conversation.ask()`` a question and wait for the answer,
``conversation.wait_for_status()`` of a sent message, and ``state`` kept in a
:class:`StateStorage` (in memory, or Redis to survive restarts).
"""

from __future__ import annotations

from .._exceptions import (
    BotBusyError,
    BotError,
    ConversationCancelledError,
    ConversationTimeoutError,
)
from ._bot import Bot
from ._context import UNKNOWN, BotEvent, event_kind
from ._conversation import Conversation
from ._filters import (
    Filter,
    command,
    from_instance,
    message_type,
    regex,
    sender,
    step,
    text,
    where,
)
from ._middleware import Throttle, inject, inject_context, log_events
from ._router import Handler, Middleware, Route, Router
from ._state import MemoryStateStorage, RedisStateStorage, State, StateContext, StateStorage

__all__ = [
    "Bot",
    "BotBusyError",
    "BotError",
    "BotEvent",
    "Conversation",
    "ConversationCancelledError",
    "ConversationTimeoutError",
    "Filter",
    "Handler",
    "MemoryStateStorage",
    "Middleware",
    "RedisStateStorage",
    "Route",
    "Router",
    "State",
    "StateContext",
    "StateStorage",
    "Throttle",
    "UNKNOWN",
    "command",
    "event_kind",
    "from_instance",
    "inject",
    "inject_context",
    "log_events",
    "message_type",
    "regex",
    "sender",
    "step",
    "text",
    "where",
]
