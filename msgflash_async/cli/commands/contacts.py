"""``msgflash contacts import|export``: CSV in and out, resumable, with progress."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..._batch import BatchSender
from ..._batch_outcomes import BatchProgress, BatchReport, OutcomeStatus, SendOutcome
from ..._exceptions import MsgFlashError, ValidationError
from ...models.contacts import Contact, ContactCreate
from .._app import EXIT_API, EXIT_PARTIAL, Cli, Failure, cli, pass_cli
from .._csvio import EXPORT_COLUMNS, Rejected, contact_row, parse_contact, read_rows, write_rejected
from .._live import LiveProgress

__all__ = ["contacts"]

FILE = click.Path(dir_okay=False, path_type=Path)


@cli.group()
def contacts() -> None:
    """Import contacts from a CSV file, or export them to one."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rejected", type=FILE, help="Rejected rows and why.  [default: FILE.rejected.csv]")
@click.option("--journal", type=FILE, help="Resume journal.  [default: FILE.journal]")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, help="Requests in flight.")
@click.option("--tag-separator", default=";", help="Separator inside the tags column.")
@pass_cli
def import_(
    state: Cli,
    /,
    file: Path,
    rejected: Path | None,
    journal: Path | None,
    concurrency: int,
    tag_separator: str,
) -> None:
    """Create a contact per row of FILE (columns name, phone; optional tags, meta).

    Each row is checked first; refused rows go to the rejected file with the
    reason, for you to fix and import again. Run the same command again after
    a stop: rows already created are skipped (the journal remembers them).
    ``tags`` is a list split on --tag-separator; ``meta`` a JSON object.
    """
    header, rows = read_rows(file, ("name", "phone"))
    refused: list[Rejected] = []
    valid: list[tuple[int, ContactCreate]] = []
    for line, row in rows:
        try:
            valid.append((line, parse_contact(row, tag_separator)))
        except ValidationError as error:
            refused.append(Rejected(line, row, str(error)))
    by_line = dict(rows)
    journal = journal or file.with_name(file.name + ".journal")
    report, outcomes = state.run(_import(state, valid, journal, concurrency, len(rows)))
    for outcome in outcomes:
        line = int(str(outcome.key))
        refused.append(Rejected(line, by_line[line], _reason(outcome.error)))
    rejected_path = rejected or file.with_name(file.stem + ".rejected.csv")
    if refused:
        write_rejected(rejected_path, header, refused)
    elif rejected_path.exists():
        rejected_path.unlink()  # left by an earlier run whose rows are now fixed
    _import_summary(state, report, len(refused), rejected_path if refused else None)


def _reason(error: BaseException | None) -> str:
    if isinstance(error, MsgFlashError):
        code = getattr(error, "code", None)
        return f"{code}: {error}" if code else str(error)
    return "refused" if error is None else type(error).__name__


async def _import(
    state: Cli, valid: list[tuple[int, ContactCreate]], journal: Path, concurrency: int, total: int
) -> tuple[BatchReport, list[SendOutcome[Any]]]:
    refused: list[SendOutcome[Any]] = []
    async with state.client() as client:

        async def create(body: ContactCreate) -> Contact:
            return await client.contacts.create(
                name=body.name, phone=body.phone, tags=body.tags, meta=body.meta
            )

        skipped_rows = total - len(valid)
        with LiveProgress(state.err, "importing", total, enabled=not state.json) as bar:

            def progress(p: BatchProgress) -> None:
                note = f"created {p.accepted + p.skipped}  refused {p.rejected + skipped_rows}"
                bar.update(p.done + skipped_rows, note)

            sender = BatchSender(
                create, concurrency=concurrency, journal=journal, on_progress=progress
            )
            async with sender.stream(valid) as outcomes:
                async for outcome in outcomes:
                    if outcome.status is OutcomeStatus.REJECTED:
                        refused.append(outcome)
            report = outcomes.report
    return report, refused


def _import_summary(state: Cli, report: BatchReport, refused: int, rejected: Path | None) -> None:
    counts = {status.value: n for status, n in report.counts.items() if n}
    unknown = [{"line": u.key, "reason": u.reason} for u in report.unknown]
    created = report.counts.get(OutcomeStatus.ACCEPTED, 0)
    already = report.counts.get(OutcomeStatus.SKIPPED, 0)
    payload = {
        "created": created,
        "already_imported": already,
        "rejected": refused,
        "rejected_file": None if rejected is None else str(rejected),
        "unknown": unknown,
        "counts": counts,
        "stop_reason": report.stop_reason,
    }

    def human() -> None:
        table = Table(title="contacts import", show_header=False)
        table.add_row("created", str(created))
        table.add_row("already imported (skipped)", str(already))
        table.add_row("rejected", f"{refused}" + (f"  -> {rejected}" if rejected else ""))
        for item in unknown:
            table.add_row(
                "unknown (check before retrying)", f"line {item['line']}: {item['reason']}"
            )
        if report.stop_reason:
            table.add_row("stopped", report.stop_reason)
        state.out.print(table)

    state.emit(payload, human)
    if report.stop_reason:
        raise SystemExit(EXIT_API)
    if refused or unknown or report.counts.get(OutcomeStatus.FAILED_NOT_SENT, 0):
        raise SystemExit(EXIT_PARTIAL)


@contacts.command("export")
@click.argument("file", type=FILE)
@click.option("--search", help="Only contacts whose name or phone matches.")
@click.option("--restart", is_flag=True, help="Start over instead of resuming a partial export.")
@click.option("--tag-separator", default=";", help="Separator inside the tags column.")
@pass_cli
def export(
    state: Cli, /, file: Path, search: str | None, restart: bool, tag_separator: str
) -> None:
    """Write every contact to FILE, streamed page by page.

    Stopped half-way, the same command continues where it stopped (a
    FILE.resume file holds the place) unless --restart is given.
    """
    marker = file.with_name(file.name + ".resume")
    saved = _load_marker(marker) if marker.exists() and not restart else None
    written = state.run(_export(state, file, marker, saved, search, tag_separator))
    marker.unlink(missing_ok=True)
    state.emit(
        {"file": str(file), "contacts": written, "resumed": saved is not None},
        lambda: state.out.print(f"exported {written} contacts to {file}"),
    )


def _load_marker(marker: Path) -> dict[str, Any]:
    try:
        saved = json.loads(marker.read_text())
        return {
            "token": str(saved["token"]),
            "rows": int(saved["rows"]),
            "offset": int(saved["offset"]),
        }
    except (OSError, ValueError, KeyError, TypeError):
        raise Failure(f"{marker} is damaged: delete it or pass --restart") from None


async def _export(
    state: Cli,
    file: Path,
    marker: Path,
    saved: dict[str, Any] | None,
    search: str | None,
    tag_separator: str,
) -> int:
    rows = 0 if saved is None else saved["rows"]
    async with state.client() as client:
        if saved is None:
            paginator = client.contacts.list(search=search)
        else:
            paginator = client.contacts.list(resume=saved["token"])
        # The first page comes before the file is touched: a bad key or an
        # unreachable API leaves an earlier partial export as it was.
        page = await paginator
        with (
            _open_export(file, saved) as handle,
            LiveProgress(state.err, "exporting", page.total, enabled=not state.json) as bar,
        ):
            writer = csv.writer(handle)
            async for contact in paginator:
                writer.writerow(contact_row(contact, tag_separator))
                rows += 1
                if rows % 100 == 0:
                    _save_marker(marker, handle, paginator.resume_token, rows)
                bar.update(rows)
    return rows


def _open_export(file: Path, saved: dict[str, Any] | None) -> Any:
    if saved is None:
        handle = file.open("w", newline="", encoding="utf-8")
        csv.writer(handle).writerow(EXPORT_COLUMNS)
        return handle
    handle = file.open("r+", newline="", encoding="utf-8")
    # Rows written after the last saved place are cut: they come again.
    handle.truncate(saved["offset"])
    handle.seek(saved["offset"])
    return handle


def _save_marker(marker: Path, handle: Any, token: str | None, rows: int) -> None:
    """Record the place: the file is flushed first so the offset covers every row."""
    if token is None:
        return
    handle.flush()
    os.fsync(handle.fileno())
    temp = marker.with_name(marker.name + ".tmp")
    temp.write_text(json.dumps({"token": token, "rows": rows, "offset": handle.tell()}))
    os.replace(temp, marker)
