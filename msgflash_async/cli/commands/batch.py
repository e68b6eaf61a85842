"""``msgflash batch send``: a template to every row of a CSV, over ``send_many``.

A journal beside the CSV makes it resumable: run the same command again and
only what was not accepted is tried; sends whose fate is unknown (a lost
reply, a timeout, a 5xx) are never sent again but listed, to check first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..._batch_outcomes import BatchProgress, BatchReport, OutcomeStatus
from ..._exceptions import ValidationError
from ..._validation import check_phone
from ...models.messages import OutgoingMessage
from .._app import EXIT_API, EXIT_PARTIAL, Cli, cli, pass_cli
from .._csvio import Rejected, read_rows, write_rejected
from .._live import LiveProgress

__all__ = ["batch"]

FILE = click.Path(dir_okay=False, path_type=Path)
RESERVED = ("phone", "contact_id")


@cli.group()
def batch() -> None:
    """Send to many recipients at once, resumably."""


@batch.command("send", context_settings={"show_default": True})
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipients: phone, optional contact_id, one column per template variable.",
)
@click.option("--template", "template_id", required=True, help="Template to send.")
@click.option("--instance", "instance_id", required=True, help="Instance (number) to send from.")
@click.option("--journal", type=FILE, help="Resume journal.  [default: CSV.journal]")
@click.option("--concurrency", type=click.IntRange(1, 256), default=32, help="Sends in flight.")
@pass_cli
def send(
    state: Cli,
    /,
    csv_path: Path,
    template_id: str,
    instance_id: str,
    journal: Path | None,
    concurrency: int,
) -> None:
    """Send template --template to each row of --csv, with live counts and a report.

    Columns other than phone and contact_id fill the template's custom
    variables ({{custom.code}} from a "code" column). Rows with a bad phone
    are refused before any send and written to CSV.rejected.csv. Run the
    same command again to resume after a stop.
    """
    header, rows = read_rows(csv_path, ("phone",))
    refused: list[Rejected] = []
    inputs: list[tuple[int, OutgoingMessage]] = []
    for line, row in rows:
        try:
            inputs.append((line, _message(instance_id, template_id, row)))
        except ValidationError as error:
            refused.append(Rejected(line, row, str(error)))
    journal = journal or csv_path.with_name(csv_path.name + ".journal")
    phones = {line: row.get("phone", "") for line, row in rows}
    report = state.run(_run(state, inputs, template_id, journal, concurrency, len(rows)))
    rejected_path = csv_path.with_name(csv_path.stem + ".rejected.csv")
    if refused:
        write_rejected(rejected_path, header, refused)
    _report(state, report, phones, refused, rejected_path)


def _message(instance_id: str, template_id: str, row: dict[str, str]) -> OutgoingMessage:
    variables = {k: v for k, v in row.items() if k not in RESERVED and k}
    return OutgoingMessage.template_message(
        instance_id=instance_id,
        to=check_phone(row.get("phone", "")),
        template_id=template_id,
        contact_id=row.get("contact_id") or None,
        variables=variables or None,
    )


async def _run(
    state: Cli,
    inputs: list[tuple[int, OutgoingMessage]],
    template_id: str,
    journal: Path,
    concurrency: int,
    total: int,
) -> BatchReport:
    refused_early = total - len(inputs)
    async with state.client() as client:
        template = await client.templates.get(template_id)
        with LiveProgress(state.err, "sending", total, enabled=not state.json) as bar:

            def progress(p: BatchProgress) -> None:
                note = (
                    f"accepted {p.accepted + p.skipped}  rejected {p.rejected + refused_early}"
                    f"  unknown {p.unknown}"
                )
                bar.update(p.done + refused_early, note)

            stream = client.messages.send_many(
                inputs,
                concurrency=concurrency,
                journal=journal,
                on_progress=progress,
                template=template,
            )
            return await stream


def _report(
    state: Cli,
    report: BatchReport,
    phones: dict[int, str],
    refused: list[Rejected],
    rejected_path: Path,
) -> None:
    counts = {status.value: n for status, n in report.counts.items() if n}
    if refused:
        counts["rejected"] = counts.get("rejected", 0) + len(refused)
    unknown = [
        {"line": u.key, "phone": phones.get(int(str(u.key)), ""), "reason": u.reason}
        for u in report.unknown
    ]
    payload: dict[str, Any] = {
        "counts": counts,
        "error_codes": dict(report.error_codes),
        "unknown": unknown,
        "stop_reason": report.stop_reason,
        "rejected_file": str(rejected_path) if refused else None,
    }

    def human() -> None:
        table = Table(title="batch send")
        table.add_column("outcome")
        table.add_column("count", justify="right")
        for status in OutcomeStatus:
            if counts.get(status.value):
                table.add_row(status.value, str(counts[status.value]))
        for code, n in sorted(report.error_codes.items()):
            table.add_row(f"  error {code}", str(n))
        state.out.print(table)
        for item in unknown:
            state.out.print(f"unknown: line {item['line']} {item['phone']}: {item['reason']}")
        if refused:
            state.out.print(f"rows refused before sending: {rejected_path}")
        if report.stop_reason:
            state.out.print(f"stopped: {report.stop_reason}")

    state.emit(payload, human)
    if report.stop_reason:
        raise SystemExit(EXIT_API)
    bad = (OutcomeStatus.REJECTED, OutcomeStatus.UNKNOWN, OutcomeStatus.FAILED_NOT_SENT)
    if refused or any(report.counts.get(s, 0) for s in bad):
        raise SystemExit(EXIT_PARTIAL)
