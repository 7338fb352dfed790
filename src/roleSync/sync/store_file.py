"""The state store's file: created whole or not at all, opened only if it is one.

A file that is there is never re-created: an empty (zero-byte), damaged or foreign file
is a StateError that names it and says how to restore it or start over on purpose,
because starting afresh in its place would silently lose the profile's run history,
audit log and round-robin positions. Only a path with no file at all gets a new store,
built aside and linked into place, so no reader ever meets a half-made one.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

from roleSync.errors import StorageError
from roleSync.file_faults import DAMAGED, is_damaged, is_not_utf8, os_cause, sqlite_cause
from roleSync.stale_files import hold, sweep_unlocked
from roleSync.sync.migrations import NewerSchemaError, migrate, schema_version

# Seconds a writer waits for another process's transaction (another profile sharing
# the file, or `rolesync runs`) before giving up.
BUSY_TIMEOUT = 15.0


class StateError(StorageError):
    """The state store is missing, unreadable, or of a newer roleSync."""


RESTORE_HINT = (
    "restore it from a backup, or move it aside to start over on purpose (the next run "
    "then creates a new, empty store)"
)


def store_failure(path: Path, doing: str, exc: sqlite3.Error | UnicodeDecodeError) -> StateError:
    """One line naming the store at `path` and the real cause of `exc`."""
    if isinstance(exc, UnicodeDecodeError) or is_not_utf8(exc):
        return StateError(
            f"{path}: the state store is {DAMAGED} (text that is not UTF-8: {exc}); {RESTORE_HINT}"
        )
    if is_damaged(exc):
        return StateError(f"{path}: the state store is {DAMAGED} ({exc}); {RESTORE_HINT}")
    return StateError(f"{path}: {doing}: {sqlite_cause(exc, path)}")


DRAFT_SUFFIX = ".new"


def _create(path: Path) -> None:
    """A new, migrated store at `path`, built aside and linked into place whole, so that
    no reader ever finds a half-made (or zero-byte) store there; when another process
    creates it first, theirs is kept."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}{DRAFT_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_drafts(path)
        # Locked until the draft is gone: how a later run tells a dead run's draft from
        # one being made right now.
        handle = hold(draft)
    except OSError as exc:
        raise StateError(f"cannot create the state store {path}: {os_cause(exc)}") from None
    try:
        conn = sqlite3.connect(draft, isolation_level=None)
        try:
            # WAL is recorded in the file's header, so the store opens in WAL mode.
            conn.execute("PRAGMA journal_mode = WAL")
            migrate(conn)
        finally:
            conn.close()
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another run created it meanwhile: open theirs
        except OSError:
            # A file system without hard links: check, then rename.
            if not path.exists():
                draft.replace(path)
    except sqlite3.Error as exc:
        raise store_failure(path, "cannot create the state store", exc) from None
    except OSError as exc:
        raise StateError(f"cannot create the state store {path}: {os_cause(exc)}") from None
    finally:
        _remove_draft(draft)
        os.close(handle)


def _remove_draft(draft: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        draft.with_name(draft.name + suffix).unlink(missing_ok=True)


def _sweep_stale_drafts(path: Path) -> None:
    """Delete the drafts of runs killed while creating the store at `path` (kill -9, a
    power cut); one being made right now stays (see roleSync.stale_files)."""
    sweep_unlocked(path.parent.glob(f".{path.name}.*{DRAFT_SUFFIX}"), _remove_draft)


def open_store_file(path: Path) -> sqlite3.Connection:
    """A connection (autocommit, WAL, synchronous=FULL) to the migrated store at the
    absolute `path`, created first if no file is there."""
    if not path.exists() and not path.is_symlink():
        _create(path)
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise StateError(f"cannot open the state store {path}: {os_cause(exc)}") from None
    if empty:
        raise StateError(
            f"{path} is empty (0 bytes) but should hold this profile's run history, "
            f"audit log and round-robin positions; {RESTORE_HINT}"
        )
    try:
        # mode=rw: never creates the file, even if it vanished since the checks above.
        conn = sqlite3.connect(
            f"{path.as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise store_failure(path, "cannot open the state store", exc) from None
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        # Up to 512 MiB of page cache (the default is 2 MiB; pages are taken as needed):
        # a large run's journal and audit indexes outgrow a small cache, and every
        # insert then reads its pages back from the file (issue 19: the 1M book's run
        # writes 930k entries). One run each at 64 and 512 MiB: carry 38.5 s and 36.2 s,
        # within run-to-run noise; kept because a small run never takes the pages.
        conn.execute("PRAGMA cache_size = -524288")
        # Checkpoint when the WAL reaches 400 MiB, not SQLite's 4 MiB: a large run's
        # batch dirties thousands of index pages, and a checkpoint after every such
        # commit copied them all back into the file each time (issue 19). Committed
        # transactions are in the WAL either way (synchronous=FULL): as durable.
        conn.execute("PRAGMA wal_autocheckpoint = 100000")
        version = schema_version(conn)
        if version == 0:
            # Every store roleSync made is at version 1 or more (see _create).
            raise StateError(
                f"{path} is not a roleSync state store (an SQLite file without its "
                f"schema); point state.path elsewhere, or {RESTORE_HINT}"
            )
        if version < 0:
            raise StateError(
                f"{path}: the state store is {DAMAGED} (schema version {version}); {RESTORE_HINT}"
            )
        migrate(conn)
    except NewerSchemaError as exc:
        conn.close()
        raise StateError(f"{path}: {exc}") from None
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        conn.close()
        raise store_failure(path, "cannot open the state store", exc) from None
    except BaseException:
        conn.close()
        raise
    return conn
