"""Working files (an import's staging book, a state store's draft) that a process holds
an exclusive flock on while it works: the kernel drops the lock when the process dies
(kill -9, a crash, a power cut), so a file nobody holds the lock of belongs to a dead
process and may be deleted, while one a live process is working on stays."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterable
from pathlib import Path


def hold(path: Path) -> int:
    """Create `path` (it must not exist) and lock it; the descriptor, to close when done.
    0o644 less the umask: the mode SQLite itself gives a file it creates."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def sweep_unlocked(candidates: Iterable[Path], remove: Callable[[Path], None]) -> None:
    """`remove` each candidate nobody holds the lock of."""
    for stale in candidates:
        try:
            handle = os.open(stale, os.O_RDWR)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: a live process is working on it
        else:
            remove(stale)
        finally:
            os.close(handle)
