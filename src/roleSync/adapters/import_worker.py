"""A large CSV file read and checked in a second process while this one inserts its rows.

Why a process: SQLite releases the GIL only for the few microseconds of each row's
insert, so a parsing thread and an inserting thread take turns instead of overlapping
(measured: no faster than one thread). A forked child parses and checks the rows and
sends them in batches through a pipe; the pipe blocks when full, so memory stays flat
whatever the size of the file. The child owns the file's findings while it reads; they
come back with its last message, so a file's problems are all reported, as before.

Only where fork exists (the child inherits the profile, the owner index and the open
file, nothing is re-read), with two cores or more, and only for files of at least
`PARALLEL_FROM` bytes: below that, starting a process costs more than it saves. When
the second core is busy with other work, the child's extra work (pickling, about 15%
of the parsing) makes the import slower than reading in one process: measured, see
benchmarks/README.md.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from roleSync.adapters.csv_rows import Problems
from roleSync.adapters.import_tables import TableRows
from roleSync.errors import ConfigError

PARALLEL_FROM = 4 * 2**20  # bytes of CSV
BATCH_ROWS = 2_000  # rows per message: big enough to amortise a send, small for memory

Batch = list[tuple[Any, ...]]


class ReaderError(ConfigError):
    """The process reading a CSV file stopped without finishing it."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def worth_a_process() -> bool:
    """Fork exists and this process may run on two cores: on one, the child's pickling
    would only add to the work."""
    if not can_fork():
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # no affinity call on this platform
        return (os.cpu_count() or 1) >= 2


def _read(table: TableRows, out: Connection) -> None:
    """In the child: every good row, in batches; then the file's findings."""
    # Ctrl-C reaches the whole process group: the parent stops this child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        batch: Batch = []
        for values in table.rows():
            # Tuples: the parent unpickles them several times faster than lists (a
            # tuple of strings and numbers is not tracked by the garbage collector).
            batch.append(tuple(values))
            if len(batch) == BATCH_ROWS:
                out.send(batch)
                batch = []
        if batch:
            out.send(batch)
        out.send((table.problems, table.yielded))
    except Exception:
        out.send(traceback.format_exc())  # a bug: the parent shows it
        raise SystemExit(1) from None
    finally:
        out.close()


class RowBatches:
    """`table`'s rows in batches, read by a child process; a context manager, so that the
    child is stopped whatever happens to the inserts. Once iterated to the end,
    `table.problems` and `table.yielded` are the child's."""

    def __init__(self, table: TableRows) -> None:
        self.table = table
        context = multiprocessing.get_context("fork")
        self._incoming, outgoing = context.Pipe(duplex=False)
        self._child = context.Process(target=_read, args=(table, outgoing), daemon=True)
        self._child.start()
        outgoing.close()  # the child's end: closed here, so its exit is seen as EOF

    def __enter__(self) -> RowBatches:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._incoming.close()
        if self._child.is_alive():
            self._child.kill()
        self._child.join()
        self._child.close()

    def __iter__(self) -> Iterator[Batch]:
        while True:
            try:
                message = self._incoming.recv()
            except EOFError:
                raise ReaderError(
                    f"{self.table.path}: the process reading it stopped (pid "
                    f"{self._child.pid}, exit code {self._child.exitcode}); import again"
                ) from None
            if isinstance(message, list):
                yield message
            elif isinstance(message, tuple):
                problems, yielded = message
                assert isinstance(problems, Problems)
                self.table.problems.take(problems)
                self.table.yielded = int(yielded)
                return
            else:  # the child's traceback: a bug, shown as one
                raise ReaderError(f"{self.table.path}: reading it failed:\n{message}")
