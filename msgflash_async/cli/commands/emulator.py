"""``msgflash emulator``: serve the emulator over HTTP, configured from flags."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import click

from ..._config import PERSONAL_KEY_PATTERN
from ...testing import Emulator, EmulatorSettings
from ...testing._inspect import INSPECT_PREFIX
from .._app import EXIT_API, EXIT_USAGE, Cli, Failure, cli, pass_cli

__all__ = ["emulator"]

DEFAULT_FEATURES = ",".join(sorted(EmulatorSettings().features))


def _optional(value: int) -> int | None:
    return value or None  # 0 means "no limit" on every quota flag


@cli.command(context_settings={"show_default": True})
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, help="Port (0: any free).")
@click.option("--api-key", "key", help="Personal key to accept (msgf_live_...; default: random).")
@click.option("--team-key", help="Team key to accept (msgf_team_...; default: random).")
@click.option("--team-id", help="Team id that goes with the team key (default: random).")
@click.option("--instance-id", help="Id of the seeded connected instance (default: random).")
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=10,
    help="Requests per second per key, like the real API (0: off).",
)
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, help="Seconds per request.")
@click.option("--monthly-api-quota", type=click.IntRange(min=0), default=0, help="0: none.")
@click.option("--monthly-outbound-quota", type=click.IntRange(min=0), default=0, help="0: none.")
@click.option("--max-contact-groups", type=click.IntRange(min=0), default=50, help="0: none.")
@click.option(
    "--features", default=DEFAULT_FEATURES, help="Plan features, comma-separated ('' for none)."
)
@click.option(
    "--inactive-subscription", is_flag=True, help="Refuse sends: 403 SUBSCRIPTION_INACTIVE."
)
@click.option("--seed-contacts", type=click.IntRange(min=0), default=0, help="Contacts to create.")
@click.option(
    "--message-step", type=click.FloatRange(min=0), default=0.2, help="Seconds per status step."
)
@pass_cli
def emulator(state: Cli, /, **flags: Any) -> None:
    """Serve the MsgFlash emulator over HTTP until Ctrl-C.

    The banner prints the keys to use (throwaway keys, unless you passed your
    own). Another process can audit it: GET /_emulator/audit (totals, requests
    per route, duplicate recipients), /_emulator/sent, /_emulator/requests.
    """
    options = _options(flags)
    state.run(_serve(options, flags))


def _options(flags: dict[str, Any]) -> dict[str, Any]:
    # The client refuses other shapes, so the emulator does too: a key it
    # accepts must be one a client can send.
    if flags["key"] is not None and not PERSONAL_KEY_PATTERN.fullmatch(flags["key"]):
        message = "must be msgf_live_ followed by 64 lowercase hex characters"
        raise click.BadParameter(message, param_hint="--api-key")
    if flags["team_key"] is not None and not flags["team_key"].startswith("msgf_team_"):
        raise click.BadParameter("must start with msgf_team_", param_hint="--team-key")
    return {
        "host": flags["host"],
        "port": flags["port"],
        "api_key": flags["key"],
        "team_key": flags["team_key"],
        "team_id": flags["team_id"],
        "instance_id": flags["instance_id"],
        "rate_limit": _optional(flags["rate_limit"]),
        "monthly_api_quota": _optional(flags["monthly_api_quota"]),
        "monthly_outbound_quota": _optional(flags["monthly_outbound_quota"]),
        "max_contact_groups": _optional(flags["max_contact_groups"]),
        "subscription_active": not flags["inactive_subscription"],
        "message_step": flags["message_step"] or None,
    }


async def _serve(options: dict[str, Any], flags: dict[str, Any]) -> None:
    emu = Emulator(**options)
    emu.faults.latency = flags["latency"]
    emu.settings.features = {f.strip() for f in flags["features"].split(",") if f.strip()}
    try:
        await emu.start()
    except OSError as error:
        where = f"{options['host']}:{options['port']}"
        reason = "address already in use" if error.errno == errno.EADDRINUSE else str(error)
        hint = "pick another --port, or --port 0 for any free one"
        code = EXIT_API if error.errno == errno.EADDRINUSE else EXIT_USAGE
        raise Failure(f"cannot listen on {where}: {reason} ({hint})", code) from None
    try:
        if flags["seed_contacts"]:
            emu.seed_contacts(flags["seed_contacts"])
        click.echo(_banner(emu, options, flags))
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def _banner(emu: Emulator, options: dict[str, Any], flags: dict[str, Any]) -> str:
    # Printing generated keys is the point: they are throwaway keys of a local
    # emulator, and a user needs them to point a client at it. Keys the user
    # passed are not echoed back: they may be real ones reused for convenience.
    def shown(value: str, option: str) -> str:
        given = options[option] is not None
        return f"<the --{option.replace('_', '-')} you passed>" if given else value

    rate = options["rate_limit"]
    limit = f"{rate} requests/s per key" if rate else "off"
    features = ", ".join(sorted(emu.settings.features)) or "none"
    return "\n".join(
        [
            f"MsgFlash emulator serving {emu.base_url}/api/v1/ (Ctrl-C to stop)",
            f"Rate limit: {limit}  (--rate-limit; 0 turns it off)",
            f"Plan features: {features}; latency {flags['latency']}s;"
            f" seeded contacts: {flags['seed_contacts']}",
            "Point a client at it with:",
            f"  export MSGFLASH_BASE_URL={emu.base_url}",
            f"  export MSGFLASH_API_KEY={shown(emu.api_key, 'api_key')}",
            "or, for the team workspace:",
            f"  export MSGFLASH_API_KEY={shown(emu.team_key, 'team_key')}",
            f"  export MSGFLASH_TEAM_ID={shown(emu.team_id, 'team_id')}",
            f"A connected instance to send from: {emu.instance_id}",
            f"Audit from another process: GET {emu.base_url}{INSPECT_PREFIX}/audit",
        ]
    )
