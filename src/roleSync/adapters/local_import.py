"""`rolesync import`: CSV exports (owners, accounts, deals) into the local book.

All or nothing: every file is read and every cell checked before the book is
opened, and every problem is reported at once as `file.csv:LINE:COL` (LINE the
physical line in the file, COL the 1-based index of the cell). Only when there is
none is anything written, in one transaction, upserting rows by id.

The CSV column of each book field comes from the profile's `import` section. A
field mapped to null is not imported: new rows get its default and existing rows
keep their value.
"""

from __future__ import annotations

import csv
import io
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from roleSync.adapters.local_store import encode_json, open_book, transaction
from roleSync.errors import Diagnostic, InputError, Severity, UsageError
from roleSync.profile import AccountColumns, DealColumns, OwnerColumns, Profile

Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class EntityCounts:
    inserted: int = 0
    updated: int = 0


@dataclass(frozen=True, slots=True)
class ImportReport:
    book: Path
    owners: EntityCounts = field(default_factory=EntityCounts)
    accounts: EntityCounts = field(default_factory=EntityCounts)
    deals: EntityCounts = field(default_factory=EntityCounts)

    def __str__(self) -> str:
        parts = [
            f"{name}: {c.inserted} inserted, {c.updated} updated"
            for name, c in (
                ("owners", self.owners),
                ("accounts", self.accounts),
                ("deals", self.deals),
            )
        ]
        return f"{self.book}: " + "; ".join(parts)


# -- cell parsers: return the stored value or raise ValueError with the reason -----

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _text(cell: str) -> str:
    return cell.strip()


def _optional_text(cell: str) -> str | None:
    return cell.strip() or None


def _required_text(cell: str) -> str:
    if not cell.strip():
        raise ValueError("blank value; this field is required")
    return cell.strip()


def _boolean(default: bool) -> Parser:
    def parse(cell: str) -> int:
        value = cell.strip().casefold()
        if not value:
            return int(default)
        if value in _TRUE:
            return 1
        if value in _FALSE:
            return 0
        raise ValueError(f"{cell.strip()!r} is not a boolean (true/false, yes/no, 1/0)")

    return parse


def _datetime(cell: str) -> str | None:
    # Stored as UTC with an explicit offset, so every imported time compares with
    # every other: date-only and offset-less values are taken as UTC.
    value = cell.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO date or date-time (2026-03-31 or 2026-03-31T09:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _date(cell: str) -> str | None:
    # A date-time keeps the calendar day it was written with: the day the CRM user saw.
    value = cell.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO date or date-time (2026-03-31 or 2026-03-31T09:30:00Z)"
        ) from None


def _required_date(cell: str) -> str:
    value = _date(cell)
    if value is None:
        raise ValueError("blank value; this field is required")
    return value


def _amount(cell: str) -> float | None:
    value = cell.strip()
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        # Thousands separators and currency symbols are rejected rather than guessed:
        # "1,234" is 1234 in one locale and 1.234 in another.
        raise ValueError(
            f"{value!r} is not a number (digits and a decimal point, e.g. 1234.50)"
        ) from None
    if not math.isfinite(amount):
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


# -- what each entity imports -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    column: str  # book column (a constant of this module, safe to put in SQL)
    attr: str  # attribute of the profile's column mapping
    parse: Parser


_OWNER_FIELDS = (
    _Field("id", "id", _required_text),
    _Field("name", "name", _text),
    _Field("email", "email", _text),
    _Field("title", "title", _text),
    _Field("active", "active", _boolean(True)),
)
_ACCOUNT_FIELDS = (
    _Field("id", "id", _required_text),
    _Field("name", "name", _text),
    _Field("owner_id", "owner", _optional_text),
    _Field("lifecycle", "lifecycle", _text),
    _Field("segment", "segment", _text),
    _Field("region", "region", _text),
    _Field("tier", "tier", _text),
    _Field("locked", "locked", _boolean(False)),
    _Field("created", "created", _datetime),
    _Field("updated", "updated", _datetime),
)
_DEAL_FIELDS = (
    _Field("id", "id", _required_text),
    _Field("account_id", "account", _required_text),
    _Field("owner_id", "owner", _optional_text),
    _Field("kind", "kind", _optional_text),
    _Field("stage", "stage", _text),
    _Field("closed", "closed", _boolean(False)),
    _Field("won", "won", _boolean(False)),
    _Field("amount", "amount", _amount),
    _Field("created", "created", _required_date),
    _Field("close_date", "close_date", _date),
)
_TABLES = {"owners": _OWNER_FIELDS, "accounts": _ACCOUNT_FIELDS, "deals": _DEAL_FIELDS}


@dataclass(slots=True)
class _Parsed:
    """One entity's rows, ready to write: values in `columns` order."""

    table: str
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class _Problems:
    def __init__(self, display: str) -> None:
        self.display = display
        self.items: list[Diagnostic] = []

    def add(self, line: int, col: int, message: str, code: str) -> None:
        self.items.append(Diagnostic(self.display, line, col, Severity.ERROR, message, code))


def _decode(raw: bytes, problems: _Problems) -> str | None:
    try:
        return raw.decode("utf-8-sig")  # Excel writes UTF-8 with a BOM
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        before = raw[line_start : exc.start].decode("utf-8", "replace")
        cell = len(next(csv.reader([before]), [""])) if before else 1
        problems.add(
            raw.count(b"\n", 0, exc.start) + 1,
            cell,
            "not valid UTF-8 (save the file as UTF-8)",
            "csv-not-utf8",
        )
        return None


def _records(text: str, problems: _Problems) -> list[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) for every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for cells in reader:
            # line_num is the line a record ends on; it starts right after the last one.
            start, previous_end = previous_end + 1, reader.line_num
            if cells:
                records.append((start, cells))
    except csv.Error as exc:
        problems.add(reader.line_num, 0, f"malformed CSV: {exc}", "csv-syntax")
    return records


def _parse_file(
    path: Path,
    entity: str,
    mapping: OwnerColumns | AccountColumns | DealColumns,
    problems: _Problems,
) -> _Parsed | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.add(0, 0, f"cannot read file: {exc.strerror}", "file-unreadable")
        return None
    text = _decode(raw, problems)
    if text is None:
        return None
    records = _records(text, problems)
    if not records:
        if not problems.items:
            problems.add(1, 1, "empty file: expected a header line", "csv-empty")
        return None
    header_line, header = records[0]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name.strip(), index)

    fields: list[tuple[_Field, int]] = []
    for spec in _TABLES[entity]:
        column: str | None = getattr(mapping, spec.attr)
        if column is None:
            continue  # mapped to null: not imported
        if column not in positions:
            problems.add(
                header_line,
                1,
                f"no column {column!r} (import.{entity}.{spec.attr} in the profile)",
                "csv-missing-column",
            )
            continue
        fields.append((spec, positions[column]))
    extras: list[tuple[str, int]] = []
    for name, column in getattr(mapping, "fields", {}).items():
        if column not in positions:
            problems.add(
                header_line,
                1,
                f"no column {column!r} (import.{entity}.fields.{name} in the profile)",
                "csv-missing-column",
            )
            continue
        extras.append((name, positions[column]))
    used = {header[index].strip() for _, index in fields} | {
        header[index].strip() for _, index in extras
    }
    for index, name in enumerate(header):
        if name.strip() in used and positions[name.strip()] != index:
            problems.add(
                header_line,
                index + 1,
                f"column {name.strip()!r} appears twice",
                "csv-duplicate-column",
            )

    # Rows are checked even when a header is missing: the other columns' problems
    # are worth knowing in the same run.
    parsed = _Parsed(entity, [spec.column for spec, _ in fields] + (["fields"] if extras else []))
    index_of = {spec.column: index for spec, index in fields}
    seen: dict[str, int] = {}
    for line, cells in records[1:]:
        if len(cells) != len(header):
            problems.add(
                line,
                min(len(cells), len(header)) + 1,
                f"row has {len(cells)} cells; the header has {len(header)}",
                "csv-row-length",
            )
            continue
        # Duplicates are checked even on rows with other problems, so that one run
        # reports both.
        row_id = cells[index_of["id"]].strip() if "id" in index_of else ""
        if row_id and row_id in seen:
            problems.add(
                line,
                index_of["id"] + 1,
                f"duplicate id {row_id!r} (first on line {seen[row_id]})",
                "csv-duplicate-id",
            )
        elif row_id:
            seen[row_id] = line
        row: list[Any] = []
        for spec, index in fields:
            try:
                row.append(spec.parse(cells[index]))
            except ValueError as exc:
                problems.add(
                    line, index + 1, f"{header[index].strip()}: {exc}", "csv-invalid-value"
                )
        if len(row) != len(fields):
            continue
        values = dict(zip(parsed.columns, row, strict=False))
        if values.get("won") and values.get("closed") == 0:
            problems.add(
                line, index_of["won"] + 1, "a won deal must be closed", "csv-invalid-value"
            )
        if extras:
            row.append(encode_json({name: cells[index].strip() for name, index in extras}))
        parsed.rows.append(tuple(row))
    return parsed


def _upsert(conn: sqlite3.Connection, parsed: _Parsed) -> EntityCounts:
    existing = {row[0] for row in conn.execute(f"SELECT id FROM {parsed.table}")}
    ids = [row[0] for row in parsed.rows]
    inserted = sum(1 for i in ids if i not in existing)
    # Table and column names come from this module's constants (never from the CSV
    # or the profile); every value goes through a placeholder.
    columns = ", ".join(parsed.columns)
    marks = ", ".join("?" for _ in parsed.columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in parsed.columns if c != "id")
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    conn.executemany(
        f"INSERT INTO {parsed.table} ({columns}) VALUES ({marks}) ON CONFLICT (id) {action}",
        parsed.rows,
    )
    return EntityCounts(inserted=inserted, updated=len(ids) - inserted)


def import_csv(
    profile: Profile, owners: Path | None, accounts: Path | None, deals: Path | None
) -> ImportReport:
    """Upsert CSV rows by id into the profile's local book, creating it if needed.

    Raises InputError with every problem of every file, having written nothing.
    """
    given: Sequence[tuple[str, Path | None, OwnerColumns | AccountColumns | DealColumns]] = (
        ("owners", owners, profile.import_.owners),
        ("accounts", accounts, profile.import_.accounts),
        ("deals", deals, profile.import_.deals),
    )
    if all(path is None for _, path, _ in given):
        raise UsageError("nothing to import: give an owners, accounts or deals CSV file")
    diagnostics: list[Diagnostic] = []
    batches: list[_Parsed] = []
    for entity, path, mapping in given:
        if path is None:
            continue
        problems = _Problems(str(path))
        parsed = _parse_file(path, entity, mapping, problems)
        diagnostics.extend(problems.items)
        if parsed is not None:
            batches.append(parsed)
    if diagnostics:
        raise InputError(diagnostics)

    book = profile.book_path
    book.parent.mkdir(parents=True, exist_ok=True)
    conn = open_book(book, create=True)
    try:
        with transaction(conn):
            counts = {batch.table: _upsert(conn, batch) for batch in batches}
    finally:
        conn.close()
    return ImportReport(book, **counts)
