"""``msgflash usage`` (the plan's limits and this period's use, as bars) and ``lookup FILE``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ..._converter import unstructure
from ...models.billing import BillingUsage
from ...models.lookups import LookupResult
from .._app import EXIT_USAGE, Cli, Failure, cli, pass_cli
from .._csvio import read_rows
from .._live import LiveProgress

__all__ = ["lookup", "usage"]


@cli.command()
@pass_cli
def usage(state: Cli, /) -> None:
    """The plan's limits and this period's use, as bars (personal key only)."""

    async def read() -> BillingUsage:
        async with state.client() as client:
            return await client.billing.usage()

    report = state.run(read())
    state.emit(unstructure(report), lambda: _bars(state, report))


def _meters(report: BillingUsage) -> list[tuple[str, int, int | None]]:
    limits, used = report.limits, report.usage
    return [
        ("outbound messages", used.outbound, limits.monthly_outbound_quota),
        ("API requests", used.api_requests_count, limits.monthly_api_request_quota),
        ("instances", used.active_instances_count, limits.max_instances),
        ("API keys", used.active_api_keys_count, limits.max_api_keys),
    ]


def _bars(state: Cli, report: BillingUsage) -> None:
    plan = report.plan.name or report.plan.code or "unknown plan"
    state.out.print(f"plan: {plan}", highlight=False)
    bars = Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[shown]}"),
        console=state.out,
        auto_refresh=False,
    )
    for name, used, limit in _meters(report):
        shown = f"{used:,} / {limit:,}" if limit else f"{used:,} (no limit given)"
        # No limit: an empty bar, not rich's pulsing "unknown total" one.
        bars.add_task(name, total=limit or 1, completed=used if limit else 0, shown=shown)
    state.out.print(bars.get_renderable())
    features = report.features
    table = Table(show_header=False, box=None)
    for name in ("campaigns", "statuses", "voice_notes", "webhooks"):
        value = getattr(features, name)
        table.add_row(name, "yes" if value else "no" if value is False else "?")
    state.out.print(table)


@cli.command(context_settings={"show_default": True})
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instance", "instance_id", required=True, help="Connected instance to check with.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results CSV.  [default: FILE.lookup.csv]",
)
@click.option("--poll", type=click.FloatRange(min=0.05), default=2.0, help="Seconds between polls.")
@pass_cli
def lookup(state: Cli, /, file: Path, instance_id: str, output: Path | None, poll: float) -> None:
    """Check which numbers of FILE are on WhatsApp (a CSV with a phone column).

    Shows the lookup's progress live, then writes each number with its
    result (on_whatsapp, not_on_whatsapp, invalid) to the output CSV.
    """
    _, rows = read_rows(file, ("phone",))
    numbers = [row["phone"] for _, row in rows if row.get("phone")]
    if not numbers:
        raise Failure(f"{file}: no phone numbers", EXIT_USAGE)
    result = state.run(_lookup(state, instance_id, numbers, poll))
    output = output or file.with_name(file.stem + ".lookup.csv")
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "result"])
        for kind in ("on_whatsapp", "not_on_whatsapp", "invalid"):
            for number in getattr(result, kind):
                writer.writerow([number, kind])
    payload: dict[str, Any] = {
        "lookup_ids": list(result.lookup_ids),
        "requested": result.requested,
        "on_whatsapp": result.on_whatsapp_count,
        "not_on_whatsapp": len(result.not_on_whatsapp),
        "invalid": len(result.invalid),
        "output": str(output),
    }
    state.emit(payload, lambda: _lookup_table(state, payload))


async def _lookup(state: Cli, instance_id: str, numbers: list[str], poll: float) -> LookupResult:
    async with state.client() as client:
        handle = await client.number_lookups.create(
            instance_id, numbers, poll_interval=poll
        ).submit()
        with LiveProgress(state.err, "checking", len(numbers), enabled=not state.json) as bar:
            async for progress in handle.progress():
                bar.update(progress.checked, f"on WhatsApp {progress.on_whatsapp}")
        return await handle


def _lookup_table(state: Cli, payload: dict[str, Any]) -> None:
    table = Table(title="number lookup", show_header=False)
    for key in ("requested", "on_whatsapp", "not_on_whatsapp", "invalid", "output"):
        table.add_row(key.replace("_", " "), str(payload[key]))
    state.out.print(table)
