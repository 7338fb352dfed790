"""`rolesync import`: CSV exports (owners, accounts, deals, contacts, tasks) into the
local book.

All or nothing, streamed. Rows go from the CSV reader straight into a new staging
SQLite file next to the book (no journal, no fsync: a failure only deletes it), so
memory stays flat whatever the size of the files. Every problem of every file is
reported at once as `file.csv:LINE:COL` (LINE the physical line in the file, COL the
1-based index of the cell). Only when there is none, and the health check (if given)
finds no error, is the book written:

* no book yet: the staging file is indexed and becomes the book (a hard link, so a
  book created meanwhile by someone else is never overwritten);
* a book: the staged rows are upserted by id in one transaction, rolled back if the
  health check finds an error.

The CSV column of each book field comes from the profile's `import` section. A field
mapped to null is not imported: new rows get its default and existing rows keep their
value. A blank deal owner is stored as NULL (the account's owner, by the model's rule).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roleSync.adapters.csv_rows import Problems
from roleSync.adapters.import_locate import FileLocator
from roleSync.adapters.import_tables import TableRows
from roleSync.adapters.import_values import OwnerIndex
from roleSync.adapters.import_worker import PARALLEL_FROM, RowBatches, worth_a_process
from roleSync.adapters.local_store import (
    RELATED_TABLES,
    BookError,
    add_owner_columns,
    add_related_tables,
    create_tables,
    finish_schema,
    open_book,
    transaction,
)
from roleSync.errors import Diagnostic, InputError, Severity, UsageError
from roleSync.file_faults import os_cause, sqlite_cause
from roleSync.health.findings import Locator
from roleSync.profile import Profile
from roleSync.stale_files import sweep_unlocked

# The book health gate: called with the book as it will be, before anything is made
# visible, and a locator of records in the files being imported (so that a finding points
# at its row and column); an error among its findings means nothing is written.
Health = Callable[[sqlite3.Connection, Locator | None], Sequence[Diagnostic]]
ENTITIES = ("owners", "accounts", "deals", *RELATED_TABLES)


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
    # The health check's warnings: the import went through; the CLI prints them.
    warnings: tuple[Diagnostic, ...] = ()
    contacts: EntityCounts = field(default_factory=EntityCounts)
    tasks: EntityCounts = field(default_factory=EntityCounts)

    def __str__(self) -> str:
        related = [
            (name, counts)
            for name, counts in (("contacts", self.contacts), ("tasks", self.tasks))
            if counts != EntityCounts()  # only when imported: the line stays as it was
        ]
        parts = [
            f"{name}: {c.inserted} inserted, {c.updated} updated"
            for name, c in (
                ("owners", self.owners),
                ("accounts", self.accounts),
                ("deals", self.deals),
                *related,
            )
        ]
        return f"{self.book}: " + "; ".join(parts)


def _connect_staging(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    # A staging file is deleted on any failure, so it needs neither a journal nor
    # fsync; the cache is bounded so that memory stays flat.
    for pragma in (
        "journal_mode = OFF",
        "synchronous = OFF",
        "locking_mode = EXCLUSIVE",
        "cache_size = -32768",
        "temp_store = FILE",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class _Staging:
    """The rows of every file, checked and loaded into the staging file."""

    def __init__(
        self, path: Path, profile: Profile, book: Path | None, parallel_from: int | None
    ) -> None:
        self.profile, self.book = profile, book
        # Files of at least this many bytes are read by a second process (None: never).
        self.parallel_from = parallel_from if worth_a_process() else None
        self.conn = _connect_staging(path)
        create_tables(self.conn)
        self.conn.execute("BEGIN")
        self.diagnostics: list[Diagnostic] = []
        self.columns: dict[str, list[str]] = {}
        self.staged: dict[str, int] = {}
        self._owners: OwnerIndex | None = None

    def owner_index(self) -> OwnerIndex:
        """Owners of the book, updated by the owners file of this import."""
        if self._owners is None:
            known: dict[str, tuple[str, str]] = {}
            if self.book is not None:
                conn = open_book(self.book, create=False)
                try:
                    known = {r[0]: (r[1], r[2]) for r in conn.execute(_OWNERS_SQL)}
                finally:
                    conn.close()
            for owner_id, name, email in self.conn.execute(_OWNERS_SQL):
                old = known.get(owner_id, ("", ""))
                known[owner_id] = (name or old[0], email or old[1])
            self._owners = OwnerIndex((i, n, e) for i, (n, e) in known.items())
        return self._owners

    def load(self, entity: str, path: Path) -> None:
        problems = Problems(str(path))
        section = getattr(self.profile.import_, entity)
        by_reference = getattr(section, "owner_by", "id") != "id"
        owners = self.owner_index() if by_reference else None
        table = TableRows(entity, path, self.profile, problems, owners)
        names = [*table.columns, "rowid"]
        # Table and column names are this package's constants (never from the CSV or
        # the profile); every value goes through a placeholder. OR IGNORE: a repeated
        # id is found below, with the line of its first row.
        insert = (
            f"INSERT OR IGNORE INTO {entity} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        # A header problem: nothing is inserted, but the rows' problems still count.
        good_header = bool(table.columns) and not problems.errors
        if self.parallel_from is not None and _size(path) >= self.parallel_from:
            with RowBatches(table) as batches:
                for batch in batches:
                    if good_header:
                        self.conn.executemany(insert, batch)
        elif good_header:
            self.conn.executemany(insert, table.rows())
        else:
            for _ in table.rows():
                pass
        staged: int = self.conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]
        if problems.errors or staged < table.yielded:
            self._duplicates(TableRows(entity, path, self.profile, Problems(""), owners), problems)
        self.diagnostics += problems.diagnostics()
        self.columns[entity], self.staged[entity] = table.columns, staged

    def _duplicates(self, again: TableRows, problems: Problems) -> None:
        """Second reading, only when something is wrong: every repeated id, on its line."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, line INT)")
        self.conn.execute("DELETE FROM seen")
        for line, value, col in again.ids():
            added = self.conn.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (value, line))
            if added.rowcount == 0:
                (first,) = self.conn.execute("SELECT line FROM seen WHERE id = ?", (value,))
                problems.add(
                    line,
                    col,
                    f"duplicate id {value!r} (first on line {first[0]})",
                    "csv-duplicate-id",
                )


_OWNERS_SQL = "SELECT id, name, email FROM owners"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # unreadable: the reader reports it


def _errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def _install(
    staging: _Staging, book: Path, health: Health | None, locate: Locator
) -> tuple[Diagnostic, ...]:
    """A first import: the staging file, indexed and checked, becomes the book."""
    conn = staging.conn
    finish_schema(conn)
    found = tuple(health(conn, locate)) if health is not None else ()
    if _errors(found):
        raise InputError(found)
    conn.execute("COMMIT")
    conn.close()
    return found


def _merge(
    staging: _Staging, stage_path: Path, book: Path, health: Health | None, locate: Locator
) -> tuple[dict[str, tuple[int, int]], tuple[Diagnostic, ...]]:
    """Upsert the staged rows into the book in one transaction; roll back on a health error."""
    staging.conn.execute("COMMIT")
    staging.conn.close()
    conn = open_book(book, create=False)
    counts: dict[str, tuple[int, int]] = {}
    try:
        conn.execute("ATTACH DATABASE ? AS stage", (str(stage_path),))
        with transaction(conn):
            if any(staging.columns.get(entity) for entity in RELATED_TABLES):
                # A book written before contacts and tasks existed gets their tables now.
                add_related_tables(conn)
            if "fields" in staging.columns.get("owners", ()):
                # A book written before extra owner fields gets their column now.
                add_owner_columns(conn)
            for entity, columns in staging.columns.items():
                if not columns:
                    continue
                (new,) = conn.execute(
                    f"SELECT count(*) FROM stage.{entity} WHERE id NOT IN "
                    f"(SELECT id FROM main.{entity})"
                ).fetchone()
                names = ", ".join(columns)
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
                action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
                # `WHERE true`: SQLite's upsert after a SELECT needs it to parse.
                conn.execute(
                    f"INSERT INTO main.{entity} ({names}) SELECT {names} FROM stage.{entity} "
                    f"WHERE true ORDER BY rowid ON CONFLICT (id) {action}"
                )
                counts[entity] = (new, staging.staged[entity] - new)
            found = tuple(health(conn, locate)) if health is not None else ()
            if _errors(found):
                raise InputError(found)
    finally:
        conn.close()
    return counts, found


def _link_into_place(stage_path: Path, book: Path) -> None:
    """The staging file becomes the book, never over a book created meanwhile."""
    try:
        os.link(stage_path, book)
    except FileExistsError:
        raise BookError(
            f"{book} was created by someone else during this import; import again"
        ) from None
    except OSError:
        # A file system without hard links: check, then rename (a narrow race, where
        # the link above has none).
        if book.exists():
            raise BookError(
                f"{book} was created by someone else during this import; import again"
            ) from None
        stage_path.replace(book)


def _sweep_stale_staging(book: Path) -> None:
    """Delete the staging files of imports that were killed (kill -9, a crash); one of a
    running import stays (see roleSync.stale_files)."""
    sweep_unlocked(
        book.parent.glob(f".{book.name}.*.import"), lambda stale: stale.unlink(missing_ok=True)
    )


def import_csv(
    profile: Profile,
    owners: Path | None,
    accounts: Path | None,
    deals: Path | None,
    *,
    contacts: Path | None = None,
    tasks: Path | None = None,
    health: Health | None = None,
    parallel_from: int | None = PARALLEL_FROM,
) -> ImportReport:
    """Upsert CSV rows by id into the profile's local book, creating it if needed.

    Raises InputError with every problem of every file (or every error the health check
    found), having written nothing. A file of at least `parallel_from` bytes is read and
    checked by a second process while this one inserts (None: never; the book is the
    same either way).
    """
    files = (owners, accounts, deals, contacts, tasks)
    given = dict(zip(ENTITIES, files, strict=True))
    if all(path is None for path in given.values()):
        raise UsageError(
            "nothing to import: give an owners, accounts, deals, contacts or tasks CSV file"
        )
    book = profile.book_path
    try:
        book.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BookError(f"cannot create the folder of {book}: {os_cause(exc)}") from None
    existing = book.is_file()
    if existing:
        # Refused before any CSV is read: an empty or damaged file where the book should
        # be is never taken for a new book (that would drop what it held).
        open_book(book, create=False).close()
    _sweep_stale_staging(book)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{book.name}.", suffix=".import", dir=book.parent)
    except OSError as exc:
        raise BookError(f"cannot import into {book}: {os_cause(exc)}") from None
    # Held until the import ends: the kernel drops it if this process is killed, which is
    # how a later import tells a dead import's staging file from a running one's.
    fcntl.flock(handle, fcntl.LOCK_EX)
    stage_path = Path(name)
    try:
        staging = _Staging(stage_path, profile, book if existing else None, parallel_from)
        try:
            for entity, path in given.items():
                if path is not None:
                    staging.load(entity, path)
            if staging.diagnostics:
                raise InputError(staging.diagnostics)
            locate = FileLocator(profile, {e: p for e, p in given.items() if p is not None})
            if existing:
                counts, warnings = _merge(staging, stage_path, book, health, locate)
            else:
                warnings = _install(staging, book, health, locate)
                _link_into_place(stage_path, book)
                counts = {e: (n, 0) for e, n in staging.staged.items()}
        finally:
            staging.conn.close()
    except sqlite3.Error as exc:
        # Disk full, a read-only folder: the book is untouched, say so in one line.
        raise BookError(f"cannot import into {book}: {sqlite_cause(exc, book)}") from None
    finally:
        stage_path.unlink(missing_ok=True)
        os.close(handle)
    owner_counts, account_counts, deal_counts, contact_counts, task_counts = (
        EntityCounts(*counts.get(entity, (0, 0))) for entity in ENTITIES
    )
    return ImportReport(
        book,
        owner_counts,
        account_counts,
        deal_counts,
        warnings,
        contacts=contact_counts,
        tasks=task_counts,
    )
