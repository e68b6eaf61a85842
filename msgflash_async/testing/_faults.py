"""Fault injection knobs for the emulator.

A :class:`Fault` says *what* goes wrong (an error reply, a dropped
connection, a slow reply, a truncated body, a 200 of the wrong shape, a list
page that never ends, an endless, oversized or slow-drip body); a rule
in :class:`Faults` says *when* (method, path prefix, how many times). Rules
are consumed first-added first; the probabilistic mode is seeded so a soak
test that fails can be replayed exactly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

__all__ = ["DEFAULT_RANDOM_FAULTS", "Fault", "FaultRule", "Faults"]

FaultKind = Literal["error", "drop", "delay", "truncate", "body", "empty_page", "stream"]


@attrs.frozen
class Fault:
    """One way for a request to go wrong. Build it with the named constructors."""

    kind: FaultKind
    status: int = 200
    code: str | None = None
    message: str | None = None
    raw: bytes | None = None
    payload: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    after_handler: bool = False
    seconds: float = 0.0
    size: int | None = None
    chunk: int = 65536

    @classmethod
    def error(
        cls,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        after_handler: bool = False,
    ) -> Fault:
        """An error reply, by default without running the handler.

        With ``body`` the bytes are sent as-is (e.g. a proxy's HTML 502 page);
        otherwise a JSON error envelope with ``code``/``message`` (defaults
        derived from the status). ``after_handler=True`` runs the handler
        first, so the request takes effect and the client still sees the
        error: a proxy that timed out while the API took the message.
        """
        return cls(
            "error",
            status,
            code,
            message,
            raw=body,
            headers=dict(headers or {}),
            after_handler=after_handler,
        )

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        """The documented 429 ``API_RATE_LIMIT_EXCEEDED``, optionally with ``Retry-After``."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return cls.error(429, "API_RATE_LIMIT_EXCEEDED", "Too many API requests", headers=headers)

    @classmethod
    def drop(cls, *, after_handler: bool = False) -> Fault:
        """Close the connection with no reply.

        ``after_handler=False``: the request is never processed.
        ``after_handler=True``: it is processed (state changes) and the reply is lost,
        the case that makes retried POSTs dangerous.
        """
        return cls("drop", after_handler=after_handler)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Hold the request ``seconds`` before handling it (to trip client timeouts)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def truncate(cls) -> Fault:
        """Run the handler, then send headers promising more bytes than arrive, and close."""
        return cls("truncate", after_handler=True)

    @classmethod
    def body(cls, payload: Any, status: int = 200) -> Fault:
        """A reply with valid JSON of the caller's choosing (e.g. the wrong shape)."""
        return cls("body", status, payload=payload)

    @classmethod
    def empty_page(cls, list_key: str = "contacts") -> Fault:
        """A list page with no items, ``hasMore: true`` and a new ``nextCursor`` each time.

        With ``times=None`` it is a list that never ends, whatever cursor is asked for.
        """
        return cls("empty_page", payload=list_key)

    @classmethod
    def stream(cls, size: int | None = None, *, chunk: int = 65536, every: float = 0.0) -> Fault:
        """A ``200`` whose chunked body is ``size`` bytes of JSON-ish filler, or endless.

        ``chunk`` bytes are written every ``every`` seconds (``chunk=1,
        every=1``: a slow drip); the handler is not run. ``size=None`` never
        ends: the body stops only when the client hangs up.
        """
        return cls("stream", size=size, chunk=chunk, seconds=every)


@attrs.define
class FaultRule:
    """A queued fault: applies to matching requests until ``remaining`` hits 0."""

    fault: Fault
    method: str | None = None
    path: str | None = None
    remaining: int | None = 1  # None: every matching request until cleared

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or path.startswith(self.path)


DEFAULT_RANDOM_FAULTS: tuple[Fault, ...] = (
    Fault.error(500, "INTERNAL_ERROR", "Internal server error"),
    Fault.error(
        502,
        body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        headers={"Content-Type": "text/html"},
    ),
    Fault.error(503, body=b"Service Unavailable", headers={"Content-Type": "text/plain"}),
    Fault.rate_limited(retry_after=0.05),
    Fault.drop(),
)


@attrs.define
class Faults:
    """The emulator's fault knobs (``emu.faults``).

    ``latency`` delays every request; queued rules fire before the random mode.
    ``injected`` counts faults actually applied, so a test can assert they happened.
    """

    latency: float = 0.0
    rules: list[FaultRule] = attrs.field(factory=list)
    injected: int = 0
    _rate: float = 0.0
    _choices: tuple[Fault, ...] = DEFAULT_RANDOM_FAULTS
    _rng: random.Random = attrs.field(factory=random.Random)
    _random_path: str | None = None

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        """Queue ``fault`` for the next ``times`` requests matching method and path prefix.

        ``times=None`` keeps the rule until :meth:`clear`. Rules are tried in the order added.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        rule = FaultRule(fault, method.upper() if method else None, path, times)
        self.rules.append(rule)
        return rule

    def randomize(
        self,
        rate: float,
        *,
        seed: int | None = None,
        choices: Sequence[Fault] | None = None,
        path: str | None = None,
    ) -> None:
        """Inject a random fault from ``choices`` into a ``rate`` share of requests."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        self._rate = rate
        self._rng = random.Random(seed)
        self._choices = tuple(choices) if choices else DEFAULT_RANDOM_FAULTS
        self._random_path = path

    def clear(self) -> None:
        """Remove every rule, the random mode and the latency."""
        self.rules.clear()
        self._rate = 0.0
        self.latency = 0.0

    def pending(self) -> int:
        """How many queued one-shot injections are left (unlimited rules count as 1)."""
        return sum(1 if r.remaining is None else r.remaining for r in self.rules)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any, consuming one use of its rule."""
        for index, rule in enumerate(self.rules):
            if rule.matches(method, path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        del self.rules[index]
                self.injected += 1
                return rule.fault
        return self._take_random(path)

    def _take_random(self, path: str) -> Fault | None:
        if self._rate <= 0.0:
            return None
        if self._random_path is not None and not path.startswith(self._random_path):
            return None
        if self._rng.random() >= self._rate:
            return None
        self.injected += 1
        return self._rng.choice(self._choices)
