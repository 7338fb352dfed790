"""What went wrong with a file roleSync keeps, in words a user can act on.

The disk and the files under `state_dir` are untrusted like any input: a full disk, a
read-only mount, a lock held by another process or a damaged SQLite file is expected,
and is reported as one line naming the file and the real cause. SQLite's own wording
misleads here ("disk I/O error" for a full disk when its shared-memory file cannot
grow; "database or disk is full" for a disk that is full), so each failure is
classified by its error code, and an I/O error is checked against the free space of
the file's folder.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

# Free bytes under which an I/O error is taken for a full disk.
_NEARLY_FULL = 1 << 20

DISK_FULL = "disk full"
LOCKED = "locked by another process"
DAMAGED = "damaged (truncated or garbled)"

_OS_CAUSES = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this system's limits",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def os_cause(exc: OSError) -> str:
    """`disk full (No space left on device)`, `read-only file system (...)`, ..."""
    detail = exc.strerror or str(exc)
    cause = _OS_CAUSES.get(exc.errno or 0)
    return f"{cause} ({detail})" if cause else detail


def sqlite_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of `exc`; 0 when it carries none."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else 0


def is_damaged(exc: sqlite3.Error) -> bool:
    return sqlite_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def is_not_utf8(exc: BaseException) -> bool:
    """Text that is not UTF-8 read from a file roleSync wrote (always UTF-8): the file
    is garbled, or another program wrote it. Python's sqlite3 reports it as a
    UnicodeDecodeError or as an OperationalError of its own, by where it is found."""
    return isinstance(exc, UnicodeDecodeError) or (
        # sqlite3 is not imported here (start-up): an error of its own implies it is loaded.
        (loaded := sys.modules.get("sqlite3")) is not None
        and isinstance(exc, loaded.OperationalError)
        and "Could not decode to UTF-8" in str(exc)
    )


def sqlite_cause(exc: sqlite3.Error, path: Path) -> str:
    """The real cause of an SQLite failure on the file at `path`, SQLite's words kept in
    brackets so that a search for them still finds the answer."""
    code = sqlite_code(exc)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return f"{LOCKED} ({exc}); try again when it is done"
    if code == _SQLITE_FULL:
        return f"{DISK_FULL} ({exc})"
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return f"{DAMAGED} ({exc})"
    if code in (_SQLITE_IOERR, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM):
        # SQLite does not say why; the folder does (its WAL and shared-memory files
        # live beside the file, so the folder must be writable too).
        found = folder_fault(path.parent)
        if found:
            return f"{found} ({exc})"
    if code == _SQLITE_READONLY:
        return f"cannot write: the file is read-only ({exc})"
    if code == _SQLITE_CANTOPEN:
        return f"cannot open: the file or its folder is missing or not accessible ({exc})"
    return str(exc)


def folder_fault(folder: Path) -> str | None:
    """Why files in `folder` cannot be written, if the folder tells: its file system is
    full or read-only, or the folder is not writable; None when none of these holds."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return f"read-only file system (holding {folder})"
    if stats.f_bavail * stats.f_frsize < _NEARLY_FULL:
        return f"{DISK_FULL} (the file system holding {folder} has no room left)"
    if not os.access(folder, os.W_OK):
        return f"permission denied (cannot write in {folder})"
    return None
