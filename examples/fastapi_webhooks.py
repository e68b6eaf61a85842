"""A FastAPI service that sends WhatsApp messages and follows them to ``read`` by webhook.

* one ``MsgFlashClient`` for the whole process, opened and closed in the
  lifespan and handed to routes as a dependency;
* ``POST /send`` sends a text and records its first status (``queued``);
* ``POST /webhooks/msgflash`` receives MsgFlash's signed events
  (``webhook_router``): forged ones get 401, duplicates are dropped, and a
  ``StatusTracker`` keeps each message's latest status whatever the order;
* ``GET /messages/{id}/read`` waits until the message was read (or failed).

Once, register the public URL of the webhook route and keep its secret (the
API shows it only in this reply)::

    async with MsgFlashClient() as client:
        endpoint = await client.webhooks.create(
            url="https://your.host/webhooks/msgflash",
            events=["message.sent", "message.delivered", "message.read", "message.failed"],
        )
        store_somewhere_safe(endpoint.secret.reveal())

Then run it (``--factory``: the app is built from the environment at start)::

    export MSGFLASH_API_KEY=msgf_live_...  MSGFLASH_WEBHOOK_SECRET=whsec_...
    export MSGFLASH_INSTANCE_ID=...        # the connected number to send from
    uvicorn --factory examples.fastapi_webhooks:create_app

The tests run this service against the in-process emulator
(``tests/test_webhooks_example.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from msgflash_async import APIError, MsgFlashClient, OutgoingMessage, Secret, ValidationError
from msgflash_async.webhooks import MessageStatus, StatusTracker, WebhookEvent, WebhookReceiver
from msgflash_async.webhooks.fastapi import webhook_router

logger = logging.getLogger("fastapi_webhooks")

WEBHOOK_PATH = "/webhooks/msgflash"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the service needs; ``from_env()`` reads it from ``MSGFLASH_*`` variables."""

    webhook_secret: Secret
    instance_id: str
    api_key: Secret | None = None  # None: the client reads MSGFLASH_API_KEY itself
    base_url: str | None = None  # None: the real API (or MSGFLASH_BASE_URL)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            webhook_secret=Secret(os.environ["MSGFLASH_WEBHOOK_SECRET"]),
            instance_id=os.environ["MSGFLASH_INSTANCE_ID"],
        )


class SendRequest(BaseModel):
    to: str  # E.164, e.g. +33612345678
    text: str


class MessageState(BaseModel):
    id: str
    status: str | None


def get_client(request: Request) -> MsgFlashClient:
    client: MsgFlashClient = request.app.state.client
    return client


def get_tracker(request: Request) -> StatusTracker:
    tracker: StatusTracker = request.app.state.tracker
    return tracker


Client = Annotated[MsgFlashClient, Depends(get_client)]
Tracker = Annotated[StatusTracker, Depends(get_tracker)]


async def log_event(event: WebhookEvent) -> None:
    """Called once per event (duplicates are filtered out before); put your own logic here."""
    logger.info("webhook event %s", event.event.value)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service; without ``settings`` they are read from the environment."""
    settings = settings or Settings.from_env()
    tracker = StatusTracker()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client (one connection pool, one rate limiter) for every request.
        async with MsgFlashClient(settings.api_key, base_url=settings.base_url) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.tracker = tracker
    app.include_router(
        webhook_router(
            WEBHOOK_PATH, WebhookReceiver(settings.webhook_secret, log_event, tracker=tracker)
        )
    )

    @app.post("/send", status_code=202)
    async def send(body: SendRequest, client: Client, tracker: Tracker) -> MessageState:
        try:
            message = OutgoingMessage.text_message(
                instance_id=settings.instance_id, to=body.to, text=body.text
            )
            sent = await client.messages.send(message)
        except ValidationError as exc:  # refused before any request: the caller's fault
            raise HTTPException(422, str(exc)) from None
        except APIError as exc:
            raise HTTPException(502, f"MsgFlash refused the message: {exc.code}") from None
        # The send reply says "queued"; the webhooks move it on from there.
        tracker.record(sent.id, sent.status or MessageStatus.QUEUED)
        current = tracker.status_of(sent.id)
        return MessageState(id=sent.id, status=current.value if current else None)

    @app.get("/messages/{message_id}/read")
    async def wait_until_read(
        message_id: str, tracker: Tracker, timeout: float = 30.0
    ) -> MessageState:
        """The message's status once it is ``read``, or ``failed``; 504 after ``timeout`` s."""
        try:
            status = await tracker.wait_for(message_id, MessageStatus.READ, timeout=timeout)
        except TimeoutError:
            current = tracker.status_of(message_id)
            raise HTTPException(504, f"not read yet (status: {current})") from None
        return MessageState(id=message_id, status=status.value)

    return app
