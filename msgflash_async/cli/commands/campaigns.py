"""``msgflash campaign create|status|pause|resume``: server-side campaigns, followed live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from rich.table import Table

from ..._converter import unstructure
from ...models.campaigns import Campaign, CampaignContent, Recipients
from .._app import EXIT_PARTIAL, Cli, cli, pass_cli
from .._live import LiveProgress
from .messages import _pairs

__all__ = ["campaign"]

MEDIA = ("image", "video", "audio", "voice_note", "document")


@cli.group()
def campaign() -> None:
    """Create, follow, pause and resume server-side campaigns."""


def _recipients(o: dict[str, Any]) -> Recipients:
    chosen = [k for k in ("all_contacts", "tags", "contacts", "group") if o[k]]
    if len(chosen) != 1:
        raise click.UsageError("choose the audience: one of --all, --tags, --contacts, --group")
    if o["all_contacts"]:
        return Recipients.all_contacts()
    if o["tags"]:
        return Recipients.tags(t.strip() for t in o["tags"].split(",") if t.strip())
    if o["contacts"]:
        return Recipients.contacts(c.strip() for c in o["contacts"].split(",") if c.strip())
    return Recipients.group(o["group"])


def _content(o: dict[str, Any]) -> CampaignContent:
    if o["template_id"]:
        variables = _pairs(o["variables"], "--var") or None
        return CampaignContent.template(o["template_id"], variables=variables)
    if o["media"]:
        if not o["url"]:
            raise click.UsageError("--media needs --url")
        build = getattr(CampaignContent, o["media"])
        if o["media"] in ("audio", "voice_note"):
            return build(o["url"])  # type: ignore[no-any-return]
        return build(o["url"], caption=o["text"])  # type: ignore[no-any-return]
    if o["text"]:
        return CampaignContent.text(o["text"])
    raise click.UsageError("say what to send: --template, --text or --media")


@campaign.command("create", context_settings={"show_default": True})
@click.option("--name", required=True, help="Campaign name.")
@click.option("--instance", "instance_id", required=True, help="Instance (number) to send from.")
@click.option("--all", "all_contacts", is_flag=True, help="Audience: every contact.")
@click.option("--tags", help="Audience: contacts with any of these tags (comma-separated).")
@click.option("--contacts", help="Audience: these contact ids (comma-separated).")
@click.option("--group", help="Audience: the members of this group.")
@click.option("--template", "template_id", help="Send this template.")
@click.option("--var", "variables", multiple=True, help="Template variable NAME=VALUE.")
@click.option("--text", help="Send this text (or the caption of --media).")
@click.option("--media", type=click.Choice(MEDIA), help="Send media of this type from --url.")
@click.option("--url", help="Media URL.")
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"]),
    help="Start time (ISO 8601; UTC when no offset).  [default: now]",
)
@click.option(
    "--repeat", type=click.Choice(["daily", "weekly"]), help="Run again every day or week."
)
@click.option("--follow", is_flag=True, help="Then follow it to its end with live progress.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=2.0, help="Seconds between polls.")
@pass_cli
def create(state: Cli, /, **o: Any) -> None:
    """Create a campaign: one request, the server sends to the whole audience.

    Every message still counts against the monthly outbound quota. A create
    is never retried once it may have reached the server (a second campaign
    would message everyone twice).
    """
    at = o["at"] or dt.datetime.now(dt.timezone.utc)
    schedule = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    recipients, content = _recipients(o), _content(o)

    async def go() -> Campaign:
        async with state.client() as client:
            made = await client.campaigns.create(
                name=o["name"],
                instance_id=o["instance_id"],
                recipients=recipients,
                content=content,
                schedule=schedule,
                repeat=o["repeat"],
            )
            if not o["follow"]:
                return made
            _safety(state, made)
            return await _follow(state, client, made.id, o["poll"])

    _show(state, state.run(go()))


@campaign.command("status", context_settings={"show_default": True})
@click.argument("campaign_id")
@click.option("--follow", is_flag=True, help="Follow it to its end with live progress.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=2.0, help="Seconds between polls.")
@pass_cli
def status(state: Cli, /, campaign_id: str, follow: bool, poll: float) -> None:
    """A campaign's status and counts (planned, sent, delivered, read, failed)."""

    async def go() -> Campaign:
        async with state.client() as client:
            if follow:
                return await _follow(state, client, campaign_id, poll)
            return await client.campaigns.get(campaign_id)

    _show(state, state.run(go()))


@campaign.command("pause")
@click.argument("campaign_id")
@pass_cli
def pause(state: Cli, /, campaign_id: str) -> None:
    """Stop enqueueing messages (those already queued still go)."""
    _transition(state, campaign_id, "pause")


@campaign.command("resume")
@click.argument("campaign_id")
@pass_cli
def resume(state: Cli, /, campaign_id: str) -> None:
    """Resume a paused campaign; shows the server's safety guidance."""
    _transition(state, campaign_id, "resume")


def _transition(state: Cli, campaign_id: str, verb: str) -> None:
    async def go() -> Campaign:
        async with state.client() as client:
            changed: Campaign = await getattr(client.campaigns, verb)(campaign_id)
            return changed

    changed = state.run(go())
    _safety(state, changed)
    _show(state, changed)


async def _follow(state: Cli, client: Any, campaign_id: str, poll: float) -> Campaign:
    handle = client.campaigns.handle(campaign_id, poll_interval=poll)
    last: Campaign | None = None
    with LiveProgress(state.err, "sending", None, enabled=not state.json) as bar:
        async for progress in handle.progress():
            stats = progress.stats
            bar.total(stats.planned or None)
            name = progress.status.value if progress.status else "?"
            bar.update(stats.settled, f"{name}  delivered {stats.delivered}  read {stats.read}")
            last = progress.campaign
    assert last is not None  # progress() yields at least one snapshot
    return last


def _safety(state: Cli, made: Campaign) -> None:
    advice = made.safety
    if advice is not None and advice.message and not state.json:
        state.err.print(f"safety: {advice.message}", highlight=False)


def _show(state: Cli, shown: Campaign) -> None:
    def human() -> None:
        stats = shown.stats
        table = Table(title=f"campaign {shown.id}", show_header=False)
        table.add_row("name", shown.name or "")
        table.add_row("status", shown.status.value if shown.status else "unknown")
        for field in ("planned", "queued", "sent", "delivered", "read", "failed", "cancelled"):
            table.add_row(field, str(getattr(stats, field)))
        state.out.print(table)

    state.emit(unstructure(shown), human)
    if shown.status is not None and shown.status.value in ("failed", "cancelled"):
        raise SystemExit(EXIT_PARTIAL)
