"""The only importer of aiohttp: lifecycle, sending, retries, rate limit, error mapping."""

from __future__ import annotations

import asyncio
import enum
import logging
import ssl
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import anyio
import attrs

from . import _json
from ._config import ClientConfig
from ._exceptions import (
    APIError,
    ClientClosedError,
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    DecodeError,
    MsgFlashError,
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
    ValidationError,
)
from ._observe import CallObserver, CallStats, route_of
from ._protocol import (
    RequestHeaders,
    build_headers,
    check_body_size,
    decipher,
    is_idempotent,
    parse_retry_after,
    should_retry,
    user_agent,
)
from ._ratelimit import Mark, NoRateLimit, RateLimiter, RateLimitFeedback

__all__ = ["Response", "SendGuard", "Session"]

logger = logging.getLogger("msgflash_async")

Params = Mapping[str, str | int | float | bool]


class SendGuard(Protocol):
    """A caller's hook on one logical call's wait and departure.

    The session knows nothing of who passes it (the batch sender does, to
    withdraw queued sends on a stop and to journal an attempt at the wire):
    it waits for a connection, a rate-limit slot and a retry's backoff inside
    ``queue()`` (which may end the wait by raising), awaits ``depart()`` with
    its turn in hand right before each request leaves (which may raise to
    keep it from leaving), and calls ``refused()`` when a request that left
    was refused unprocessed (a connect failure, a 429).
    """

    def queue(self) -> AbstractContextManager[None]: ...

    async def depart(self) -> None: ...

    def refused(self) -> None: ...


@attrs.frozen
class Response:
    """A deciphered success answer: HTTP status (200 v. 202 matters) and ``data``."""

    status: int
    data: Any


@attrs.define
class _Call:
    """One logical call, the same for each of its attempts."""

    method: str
    path: str
    params: Params | None
    body: bytes | None
    idempotent: bool
    guard: SendGuard | None = None
    #: An attempt got its turn: the request may have left (else it provably did not).
    sent: bool = False
    #: Filled for the observer (telemetry) only; None when nobody observes.
    stats: CallStats | None = None


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class Session:
    """Sends API calls for one client over one pooled aiohttp session."""

    def __init__(
        self,
        config: ClientConfig,
        limiter: RateLimiter,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self._config = config
        self._limiter = limiter
        # Without a limit, skip the await per call (the hot path of benchmarks).
        self._limited = not isinstance(limiter, NoRateLimit)
        # A limiter that learns hears of every 429 the server gave.
        self._feedback = limiter if isinstance(limiter, RateLimitFeedback) else None
        self._http = http
        self._owns_http = http is None
        self._state = _State.UNOPENED
        # Set on a session from derive(): it borrows that session's pool.
        self._parent: Session | None = None
        #: The telemetry hook (see ``_observe``); None costs one test per call.
        self.observer: CallObserver | None = None
        self._max_body = config.max_response_bytes
        # Errors name the path as sent, base URL path included ("/proxy/api/v1/...").
        self._base_path = urlsplit(config.base_url).path
        self._headers = build_headers(
            config.api_key, config.team_id, user_agent(aiohttp.__version__)
        )
        # Built once, and kept a RequestHeaders: a plain dict copy in a frame
        # would show the key to anything printing a traceback's locals.
        self._json_headers = RequestHeaders({**self._headers, "Content-Type": "application/json"})
        # FIFO gate in front of aiohttp's connector, sized to the pool: the
        # connector hands a freed connection to whoever asks first, ahead of
        # the tasks already waiting. Measured with 200 tasks over 100
        # connections, exactly 100 tasks completed nothing for a whole run;
        # the gate removes that starvation at the same throughput.
        self._gate = asyncio.Semaphore(config.pool_size)
        # Passed on every request too: a session the caller hands us has its
        # own default (aiohttp's is 5 minutes), which must not replace ours.
        self._timeout = aiohttp.ClientTimeout(
            total=config.timeouts.request, sock_connect=config.timeouts.connect
        )

    def __repr__(self) -> str:
        # getattr: a traceback may print a session whose __init__ raised.
        config: ClientConfig | None = getattr(self, "_config", None)
        state: _State | None = getattr(self, "_state", None)
        url = "?" if config is None else repr(config.base_url)
        return f"Session(base_url={url}, state={'?' if state is None else state.value})"

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def default_instance_id(self) -> str | None:
        """The client's ``instance_id=`` (or ``MSGFLASH_INSTANCE_ID``), for messages without one."""
        return self._config.instance_id

    @property
    def team_workspace(self) -> bool:
        """True when calls go out with a team key (and its ``X-Team-Id``)."""
        return self._config.team_id is not None

    def derive(self, config: ClientConfig) -> Session:
        """A session with other timeouts or retries over this one's pool and limiter.

        Closing it closes nothing shared; closing this one ends both.
        """
        child = Session(config, self._limiter, None)
        child._parent = self
        child._owns_http = False
        child._gate = self._gate  # one FIFO gate in front of one pool
        child.observer = self.observer
        return child

    def _client(self) -> aiohttp.ClientSession:
        if self._state is _State.CLOSED:
            raise ClientClosedError("this MsgFlashClient is closed; create a new one")
        if self._parent is not None:
            # Asked every call: the parent may have closed the pool since.
            return self._parent._client()
        if self._http is None:
            self._http = self._new_http()
        self._state = _State.OPENED
        return self._http

    def _new_http(self) -> aiohttp.ClientSession:
        config = self._config
        ssl_option: ssl.SSLContext | bool = config.verify_ssl
        connector = aiohttp.TCPConnector(
            limit=config.pool_size,
            limit_per_host=config.pool_size,
            ssl=ssl_option,
            ttl_dns_cache=300,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            raise_for_status=False,
            # Marks cost a little per request: only when a limiter wants them.
            trace_configs=[_send_marks()] if self._limited else None,
        )

    async def aclose(self) -> None:
        """Close the pool we own; never a session the caller passed in. Idempotent."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        if self._owns_http and self._http is not None:
            await self._http.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        guard: SendGuard | None = None,
    ) -> Response:
        """Send one logical call, retrying where that cannot duplicate an effect.

        ``guard`` (see :class:`SendGuard`) is told of every wait and departure.
        """
        http = self._client()
        call = _Call(
            method,
            path,
            params,
            body=None if json is None else _encode(json),
            idempotent=is_idempotent(method) if idempotent is None else idempotent,
            guard=guard,
        )
        if self.observer is not None:
            return await self._observed(http, call, self.observer)
        return await self._within_deadline(http, call)

    async def _observed(
        self, http: aiohttp.ClientSession, call: _Call, observer: CallObserver
    ) -> Response:
        """The call inside the observer's block (a current span), with its stats filled."""
        route, operation = route_of(call.method, call.path)
        call.stats = CallStats(call.method, route, operation)
        with observer.call(call.stats):
            return await self._within_deadline(http, call)

    async def _within_deadline(self, http: aiohttp.ClientSession, call: _Call) -> Response:
        deadline = self._config.timeouts.deadline
        if deadline is None:
            return await self._with_retries(http, call)
        try:
            with anyio.fail_after(deadline):
                return await self._with_retries(http, call)
        except TimeoutError as exc:
            _drop_frames(exc)  # the cancelled attempt's aiohttp frames hold the key
            error = DeadlineExceededError(
                f"no answer within the {deadline:g}s deadline",
                method=call.method,
                path=self._base_path + call.path,
            )
            # Still queued for a connection or the rate limiter: nothing left.
            error.request_sent = call.sent
            raise error from None

    async def _with_retries(self, http: aiohttp.ClientSession, call: _Call) -> Response:
        policy = self._config.retry
        attempt = 1
        while True:
            try:
                return await self._attempt(http, call, attempt)
            except MsgFlashError as error:
                if attempt > policy.retries_for(error) or not should_retry(
                    error, idempotent=call.idempotent
                ):
                    raise
                headers = error.headers if isinstance(error, APIError) else {}
                delay = policy.delay(attempt, parse_retry_after(headers))
                if delay is None:
                    raise
                await _pause(delay, call.guard)
                attempt += 1

    async def _attempt(self, http: aiohttp.ClientSession, call: _Call, attempt: int) -> Response:
        guard = call.guard
        stats = call.stats
        queued = time.perf_counter() if stats is not None else 0.0
        if guard is not None and (self._limited or self._gate.locked()):
            with guard.queue():  # the guard may end a wait still queued here
                mark = await self._take_turn(guard)
        else:
            # Nothing to wait for (or no guard to end it): no cancel scope,
            # which costs more than the rest of this method.
            mark = await self._take_turn(guard)
        if stats is not None:
            stats.attempts = attempt
            stats.limiter_wait += time.perf_counter() - queued
        sent_before, call.sent = call.sent, True
        try:
            return await self._exchange(http, call, mark, attempt)
        except (ConnectError, RateLimitError) as error:
            # Refused unprocessed: as far as this attempt goes, nothing was sent.
            call.sent = sent_before
            if guard is not None:
                guard.refused()
            if self._feedback is not None and isinstance(error, RateLimitError):
                await self._feedback.on_rate_limited()
            raise

    async def _exchange(
        self, http: aiohttp.ClientSession, call: _Call, mark: Mark | None, attempt: int
    ) -> Response:
        """One request and its answer; the gate taken by ``_take_turn`` is released here."""
        method, path = call.method, self._base_path + call.path
        headers = self._headers if call.body is None else self._json_headers
        url = self._config.base_url + call.path
        loop = asyncio.get_running_loop()
        started = loop.time()
        status = 0  # no answer yet: logged as "error"
        failure: TransportError | None = None
        try:
            async with http.request(
                method,
                url,
                params=call.params,
                data=call.body,
                headers=headers,
                timeout=self._timeout,
                trace_request_ctx=mark,
                # A redirect would carry x-api-key to wherever it points (aiohttp
                # strips only Authorization), and replay a POST there.
                allow_redirects=False,
            ) as answer:
                raw = await _read_body(answer, self._max_body, method, path)
                status = answer.status
                if call.stats is not None:
                    call.stats.status = status
                    call.stats.rate_limited += status == 429
                reply_headers = answer.headers
        # asyncio.TimeoutError is not the builtin one before Python 3.11.
        except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError) as exc:
            failure = _transport_error(exc, method, path)
        finally:
            self._gate.release()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %s (attempt %d, %.1f ms)",
                    method,
                    path,
                    status or "error",
                    attempt,
                    (loop.time() - started) * 1000,
                )
        if failure is not None:
            # Raised outside the except block, so no implicit __context__
            # brings back the aiohttp exception that _transport_error left out.
            raise failure
        try:
            data = decipher(status, reply_headers, raw, method=method, path=path)
        except DecodeError as error:
            # A body that does not decode may still carry a secret (a
            # webhook-create reply): no frame of this error keeps it.
            del raw
            raise error.with_traceback(None) from None
        return Response(status, data)

    async def _take_turn(self, guard: SendGuard | None) -> Mark | None:
        """Wait for a pooled connection, then a rate-limit slot; hold the gate on return."""
        await self._gate.acquire()
        try:
            mark = await self._limiter.acquire() if self._limited else None
            if guard is not None:
                await guard.depart()
        except BaseException:
            self._gate.release()
            raise
        return mark


async def _pause(delay: float, guard: SendGuard | None) -> None:
    """The backoff before a retry; a guard may end it here too."""
    if guard is None:
        await asyncio.sleep(delay)
        return
    with guard.queue():
        await asyncio.sleep(delay)


async def _read_body(answer: aiohttp.ClientResponse, limit: int, method: str, path: str) -> bytes:
    """The body, read incrementally and refused as soon as it passes ``limit`` bytes.

    A hostile or broken server can send an endless chunked body, or a huge
    one: ``read()`` would buffer all of it until the per-attempt timeout
    (hundreds of MB). The time bound stays the per-attempt timeout.
    """
    length = answer.content_length
    if length is not None and length > limit:
        raise _too_large(answer, limit, method, path)
    if length is not None and "Content-Encoding" not in answer.headers:
        # aiohttp reads no more than Content-Length: already bounded, and the
        # cheapest read (the hot path of every ordinary answer).
        return await answer.read()
    body = bytearray()
    # Chunked or compressed (a small gzip can inflate to gigabytes): count
    # what arrives, after decompression.
    async for chunk in answer.content.iter_chunked(65536):
        body += chunk
        if len(body) > limit:
            raise _too_large(answer, limit, method, path)
    return bytes(body)


def _too_large(
    answer: aiohttp.ClientResponse, limit: int, method: str, path: str
) -> ResponseTooLargeError:
    answer.close()  # drop the connection: the rest of the body is never read
    return ResponseTooLargeError(
        f"HTTP {answer.status} answer larger than max_response_bytes={limit:,}; not read further",
        method=method,
        path=path,
        limit=limit,
    )


def _send_marks() -> aiohttp.TraceConfig:
    """Tell the rate limiter when a request's headers actually left."""

    async def on_headers_sent(
        _: aiohttp.ClientSession, context: Any, __: aiohttp.TraceRequestHeadersSentParams
    ) -> None:
        mark = context.trace_request_ctx
        if mark is not None:
            mark()

    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(on_headers_sent)
    return config


def _transport_error(exc: BaseException, method: str, path: str) -> TransportError:
    """Translate an aiohttp/OS failure at the one seam, ``exc`` chained as the cause.

    Never chained: an aiohttp exception carrying ``request_info`` (a
    malformed answer, a bad status line), whose repr shows the request
    headers; its message goes into ours instead.
    """
    error = _translated(exc, method, path)
    if getattr(exc, "request_info", None) is None:
        error.__cause__ = _drop_frames(exc)
    else:
        error.__suppress_context__ = True
    return error


def _translated(exc: BaseException, method: str, path: str) -> TransportError:
    """The TransportError for an aiohttp/OS failure; timeouts before client errors."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectError("timed out connecting", method=method, path=path)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return RequestTimeoutError("no answer in time", method=method, path=path)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"cannot connect: {exc.os_error}", method=method, path=path)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ConnectionLostError("the answer was cut short", method=method, path=path)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, OSError)):
        return ConnectionLostError("connection lost", method=method, path=path)
    if isinstance(exc, aiohttp.ClientResponseError):
        reason = f"{type(exc).__name__}: {exc.message}"[:200]
        return TransportError(f"malformed HTTP answer ({reason})", method=method, path=path)
    return TransportError(f"HTTP failure: {type(exc).__name__}", method=method, path=path)


def _encode(json: Any) -> bytes:
    """The request body; what JSON cannot carry is the caller's error, said before sending."""
    try:
        body = _json.dumps(json)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"cannot be sent as JSON: {exc}", field="json") from None
    return check_body_size(body)


def _drop_frames(exc: BaseException) -> BaseException:
    """``exc`` and the exceptions chained to it, without their tracebacks.

    aiohttp's frames keep the request headers, the API key among them, in
    their locals: a traceback printed with locals or kept by an error
    tracker would show it. The chain still says what failed and why.
    """
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return exc
