"""What every Python API call shares: nothing printed unless asked, and every failure an
exception from the one tree under roleSync.errors.RoleSyncError.

The CLI turns a disk or SQLite failure that escaped its own checks into one line at its
last line of defence (cli.main); an API caller gets the same as a StorageError.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from roleSync.errors import StorageError
from roleSync.file_faults import os_cause

P = ParamSpec("P")
R = TypeVar("R")
_LOGGER = logging.getLogger("roleSync")


@contextmanager
def quiet_logging() -> Iterator[None]:
    """Events go through `logging` (the "roleSync" tree). An application that configured
    no handler would see Python's last-resort handler print warnings on stderr: for the
    call, a NullHandler takes them instead. An application's own handlers are left be."""
    if _LOGGER.hasHandlers():
        yield
        return
    handler = logging.NullHandler()
    _LOGGER.addHandler(handler)
    try:
        yield
    finally:
        _LOGGER.removeHandler(handler)


def api_call(function: Callable[P, R]) -> Callable[P, R]:
    """Run an API function quietly, its disk and SQLite failures as StorageError."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with quiet_logging():
                return function(*args, **kwargs)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename is not None else ""
            raise StorageError(where + os_cause(exc)) from exc
        except Exception as exc:
            # sqlite3 is imported by what keeps state: an SQLite error can only come
            # from a call that imported it (as in cli.main).
            loaded = sys.modules.get("sqlite3")
            if loaded is not None and isinstance(exc, loaded.Error):
                raise StorageError(f"SQLite: {exc}") from exc
            raise

    return call
