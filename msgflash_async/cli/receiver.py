"""A local webhook receiver for the demo: aiohttp.web on loopback, statuses tracked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from .._secret import Secret
from ..models.webhooks import WebhookEvent
from ..webhooks import StatusTracker, WebhookReceiver, aiohttp_webhook_handler

__all__ = ["WebhookInbox"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebhookInbox:
    """Serves ``POST /hooks`` on 127.0.0.1; verified events feed a :class:`StatusTracker`.

    The endpoint secret is known only once the endpoint is registered (the
    API returns it then), and the URL must exist before that: the server
    starts first and answers 503 until :meth:`listen` gives it the secret.
    """

    def __init__(self) -> None:
        self.tracker = StatusTracker()
        self._handle: Handler | None = None
        self.received = 0
        self._by_event: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def listen(self, secret: Secret) -> None:
        """Start accepting deliveries signed with ``secret``."""
        self._handle = aiohttp_webhook_handler(
            WebhookReceiver(secret, self._on_event, tracker=self.tracker)
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if self._handle is None:
            return web.Response(status=503)
        return await self._handle(request)

    async def _on_event(self, event: WebhookEvent) -> None:
        self.received += 1
        self._by_event[str(event.event)] += 1

    def summary(self) -> str:
        return ", ".join(f"{name}={n}" for name, n in sorted(self._by_event.items()))

    async def __aenter__(self) -> WebhookInbox:
        app = web.Application()
        app.router.add_post("/hooks", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hooks"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
