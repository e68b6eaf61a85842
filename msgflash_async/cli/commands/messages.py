"""``msgflash send`` (one message of any type, or a template) and ``messages watch``."""

from __future__ import annotations

import time
from typing import Any

import anyio
import click

from ..._converter import unstructure
from ...models.messages import Button, Message, MessageStatus, OutgoingMessage
from .._app import EXIT_API, EXIT_PARTIAL, Cli, Failure, cli, pass_cli

__all__ = ["messages", "send"]

ENDED = {MessageStatus.FAILED, MessageStatus.CANCELLED}
ORDER = ("queued", "sent", "delivered", "read")
STEPS = click.Choice(ORDER[1:])


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        pairs[name] = text
    return pairs


@cli.command(context_settings={"show_default": True})
@click.option("--instance", "instance_id", required=True, help="Instance (number) to send from.")
@click.option("--to", required=True, help="Recipient, E.164 (+33612345678).")
@click.option("--text", help="A text message (or the caption of a media message).")
@click.option(
    "--media",
    type=click.Choice(["image", "video", "audio", "voice_note", "document"]),
    help="Send a media message of this type from --url.",
)
@click.option("--url", help="Media URL (with --media).")
@click.option("--location", help="LATITUDE,LONGITUDE (with optional --name, --address).")
@click.option("--name", help="Location name.")
@click.option("--address", help="Location address.")
@click.option("--contact-card", help="Send this stored contact as a card.")
@click.option("--title", help="Buttons message: title.")
@click.option("--description", help="Buttons message: description.")
@click.option("--button", "buttons", multiple=True, help="Reply button TEXT, or TEXT=https://url.")
@click.option("--template", "template_id", help="Send this template.")
@click.option("--var", "variables", multiple=True, help="Template variable NAME=VALUE.")
@click.option("--contact-id", help="Contact whose fields fill {{contact.*}}.")
@click.option("--wait", type=STEPS, help="Then follow the message until this status.")
@pass_cli
def send(state: Cli, /, **options: Any) -> None:
    """Send one message: text, media, location, contact card, buttons, or a template."""
    message = _message(options)
    sent = state.run(_send(state, message, until=options["wait"]))
    _show(state, sent)


def _message(o: dict[str, Any]) -> OutgoingMessage:
    instance, to = o["instance_id"], o["to"]
    if o["template_id"]:
        variables = _pairs(o["variables"], "--var")
        return OutgoingMessage.template_message(
            instance_id=instance,
            to=to,
            template_id=o["template_id"],
            contact_id=o["contact_id"],
            variables=variables or None,
        )
    if o["media"]:
        if not o["url"]:
            raise click.UsageError("--media needs --url")
        build = getattr(OutgoingMessage, f"{o['media']}_message")
        if o["media"] in ("audio", "voice_note"):
            return build(instance_id=instance, to=to, media_url=o["url"])  # type: ignore[no-any-return]
        return build(instance_id=instance, to=to, media_url=o["url"], caption=o["text"])  # type: ignore[no-any-return]
    if o["location"]:
        latitude, _, longitude = o["location"].partition(",")
        try:
            point = float(latitude), float(longitude)
        except ValueError:
            raise click.BadParameter(
                "expected LATITUDE,LONGITUDE", param_hint="--location"
            ) from None
        return OutgoingMessage.location_message(
            instance_id=instance,
            to=to,
            latitude=point[0],
            longitude=point[1],
            name=o["name"],
            address=o["address"],
        )
    if o["contact_card"]:
        return OutgoingMessage.contact_message(
            instance_id=instance, to=to, contact_id=o["contact_card"]
        )
    if o["buttons"]:
        return OutgoingMessage.buttons_message(
            instance_id=instance,
            to=to,
            title=o["title"] or "",
            description=o["description"] or "",
            buttons=[_button(b) for b in o["buttons"]],
        )
    if o["text"]:
        return OutgoingMessage.text_message(
            instance_id=instance, to=to, text=o["text"], contact_id=o["contact_id"]
        )
    raise click.UsageError(
        "say what to send: --text, --media, --location, --contact-card, --button or --template"
    )


def _button(value: str) -> Button:
    text, sep, url = value.partition("=")
    return Button.link(text, url) if sep else Button.reply(value)


async def _send(state: Cli, message: OutgoingMessage, *, until: str | None) -> Message:
    async with state.client() as client:
        template = None
        if message.template_id:
            template = await client.templates.get(message.template_id)
        sent = await client.messages.send(message, template=template)
        if until:
            return await _follow(state, client, sent.id, until, timeout=None, interval=1.0)
        return sent


def _show(state: Cli, message: Message) -> None:
    state.emit(
        unstructure(message),
        lambda: state.out.print(f"{message.id}  {_status(message)}", highlight=False),
    )
    if message.status in (MessageStatus.FAILED, MessageStatus.CANCELLED):
        raise SystemExit(EXIT_PARTIAL)


@cli.group()
def messages() -> None:
    """Follow messages."""


@messages.command(context_settings={"show_default": True})
@click.argument("message_id")
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, help="Seconds (0: none).")
@click.option(
    "--interval", type=click.FloatRange(min=0.05), default=1.0, help="Seconds between polls."
)
@click.option("--until", type=STEPS, default="read", help="The status to wait for.")
@pass_cli
def watch(state: Cli, /, message_id: str, timeout: float, interval: float, until: str) -> None:
    """Follow a message to its final status (read, or --until; failed, cancelled).

    Prints each status change as it is seen. Exit code 0 once it gets there,
    3 if it failed or was cancelled, 1 if it is still on its way at --timeout.
    """

    async def follow() -> Message:
        async with state.client() as client:
            return await _follow(
                state, client, message_id, until, timeout=timeout or None, interval=interval
            )

    _show(state, state.run(follow()))


def _status(message: Message) -> str:
    return message.status.value if message.status is not None else "unknown"


def _reached(status: MessageStatus | None, until: str) -> bool:
    if status is None:
        return False
    if status in ENDED:
        return True
    return status.value in ORDER and ORDER.index(status.value) >= ORDER.index(until)


async def _follow(
    state: Cli,
    client: Any,
    message_id: str,
    until: str,
    *,
    timeout: float | None,  # noqa: ASYNC109 (fail_after inside; None: no limit)
    interval: float,
) -> Message:
    started = time.monotonic()
    seen: MessageStatus | None = None
    try:
        with anyio.fail_after(timeout):
            while True:
                message: Message = await client.messages.get(message_id)
                if message.status != seen and not state.json:
                    state.err.print(f"{time.monotonic() - started:6.1f}s  {_status(message)}")
                seen = message.status
                if _reached(message.status, until):
                    return message
                await anyio.sleep(interval)
    except TimeoutError:
        shown = seen.value if seen else "unknown"
        raise Failure(f"message {message_id} still {shown} after {timeout:g}s", EXIT_API) from None
