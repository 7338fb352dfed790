"""One run per connector profile at a time: an exclusive flock on `<state_dir>/<profile>.lock`.

Why flock(2): the kernel releases the lock when the last file descriptor of its open
file description closes, which happens on every way a process can end (normal exit,
exception, kill -9, the OOM killer, a power cut ends everything anyway). A lock left by
a dead process is therefore simply free: the next run takes it without pid checks,
staleness timeouts, or a race between "is the holder dead?" and "take it over".

The pid, host and start time written into the file are only for the message a second
run prints. They are not the lock; the file's contents may be stale or empty.

Details that keep this safe:
- The descriptor is opened non-inheritable (Python's default, PEP 446), so a child
  process (a pager, an editor) never keeps the lock alive after its parent died.
- The file is never deleted: unlinking a lock file lets a waiter lock the old inode
  while a newcomer locks a new file, and both believe they hold "the" lock.
- state_dir must be on a local filesystem: flock over NFS is emulated with byte-range
  locks and does not exclude runs on different hosts reliably.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from roleSync.errors import LockHeldError, StorageError
from roleSync.file_faults import os_cause

# Polls (5 ms apart) for the details of a holder that has only just taken the lock.
HOLDER_WAITS = 40


class RunLock:
    def __init__(self, path: Path, profile: str) -> None:
        self.path = path
        self.profile = profile
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, started: datetime) -> None:
        """Take the lock now or raise LockHeldError (exit code 4); never waits: a
        scheduler starting a run while the previous one is still going should skip, not
        queue up behind it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            cause = os_cause(exc)
            raise StorageError(f"cannot create the lock file {self.path}: {cause}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # The holder writes its details just after locking: give it a moment, so a
            # run started at the same instant still names who holds the lock.
            holder = _read_holder(fd)
            for _ in range(HOLDER_WAITS):
                if holder:
                    break
                time.sleep(0.005)
                holder = _read_holder(fd)
            os.close(fd)
            raise LockHeldError(self._held_message(holder), holder=holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started.isoformat()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info, sort_keys=True) + "\n").encode(), 0)
        except OSError as exc:
            self.release()
            cause = os_cause(exc)
            raise StorageError(f"cannot write the lock file {self.path}: {cause}") from None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _held_message(self, holder: dict[str, object]) -> str:
        pid = holder.get("pid", "?")
        started = holder.get("started", "?")
        host = holder.get("host")
        where = f" on {host}" if host and host != socket.gethostname() else ""
        return (
            f"another run (pid {pid}{where}, started {started}) holds the lock for "
            f"profile {self.profile} ({self.path}); try again when it has finished"
        )

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    """The holder's details; empty when it has locked but not written them yet."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError, RecursionError):  # RecursionError: nested without end
        return {}
    return data if isinstance(data, dict) else {}
