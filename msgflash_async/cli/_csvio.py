"""CSV rows in and out for the command line: validation, rejected rows, contacts.

Rows are validated here with the SDK's own checks, so a row the API would
refuse costs no request; the reason is written beside the row in the
rejected-rows file the user fixes and imports again.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._exceptions import ValidationError
from .._validation import check_phone, check_text
from ..models.contacts import Contact, ContactCreate
from ._app import Failure

__all__ = [
    "EXPORT_COLUMNS",
    "Rejected",
    "contact_row",
    "parse_contact",
    "read_rows",
    "write_rejected",
]

EXPORT_COLUMNS = ("id", "name", "phone", "tags", "meta", "created_at")


@attrs.frozen
class Rejected:
    """A CSV row (1-based ``line``, header = line 1) and why it was refused."""

    line: int
    row: dict[str, str]
    reason: str


def read_rows(
    path: Path, required: Sequence[str]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and ``(line, row)`` pairs; a missing column is a usage error."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or ()]
            reader.fieldnames = header
            missing = [name for name in required if name not in header]
            if missing:
                raise Failure(f"{path}: missing column(s) {', '.join(missing)}; found {header}")
            rows = [(reader.line_num, _clean(row)) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise Failure(f"cannot read {path}: {error}") from None
    return header, rows


def _clean(row: dict[str | Any, Any]) -> dict[str, str]:
    # Extra cells land under the None key; a short row leaves None values.
    return {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}


def parse_contact(row: dict[str, str], tag_separator: str) -> ContactCreate:
    """The contact a row describes; ``ValidationError`` says what is wrong."""
    tags = [t.strip() for t in row.get("tags", "").split(tag_separator) if t.strip()]
    meta_text = row.get("meta", "")
    meta: Any = None
    if meta_text:
        try:
            meta = json.loads(meta_text)
        except ValueError:
            raise ValidationError("not valid JSON", field="meta") from None
        if not isinstance(meta, dict):
            raise ValidationError("must be a JSON object", field="meta")
    return ContactCreate(
        name=check_text(row.get("name", ""), "name"),
        phone=check_phone(row.get("phone", "")),
        tags=tuple(tags) or None,
        meta=meta,
    )


def write_rejected(path: Path, header: Sequence[str], rejected: Sequence[Rejected]) -> None:
    """The refused rows as they were, plus ``line`` and ``reason`` columns."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, [*header, "line", "reason"], extrasaction="ignore")
        writer.writeheader()
        for item in sorted(rejected, key=lambda r: r.line):
            writer.writerow({**item.row, "line": item.line, "reason": item.reason})


def contact_row(contact: Contact, tag_separator: str) -> list[str]:
    created = contact.created_at.isoformat() if contact.created_at else ""
    meta = json.dumps(contact.meta, ensure_ascii=False) if contact.meta else ""
    return [
        contact.id,
        contact.name,
        contact.phone,
        tag_separator.join(contact.tags),
        meta,
        created,
    ]
