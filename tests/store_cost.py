"""A state store that counts its own work, for tests that finishing stays linear
(issue 19): statements run (`set_trace_callback`) and SQLite virtual-machine
instructions executed (`set_progress_handler`; rows visited by a scan show up there,
not in the statement count)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from roleSync.sync.store import StateStore
from roleSync.sync.store_db import SqliteDb
from roleSync.sync.store_file import open_store_file

# Instructions between two calls of the progress handler: 1 would count exactly, at the
# price of a Python call per instruction; a ratio of two runs does not need that.
EVERY = 16
# "Near 10": ten times the changes, plus fixed costs that do not grow with them.
RATIO = 12.0


@dataclass
class Cost:
    statements: int = 0
    instructions: int = 0

    def ratio(self, smaller: Cost) -> tuple[float, float]:
        return (
            self.statements / smaller.statements,
            self.instructions / smaller.instructions,
        )


@contextmanager
def counted_store(path: Path) -> Iterator[tuple[StateStore, Cost]]:
    """The state store at `path` (created and migrated before counting begins) and the
    cost of what is done with it inside the block."""
    path = path.resolve()
    StateStore.open(path).close()
    conn = open_store_file(path)
    cost = Cost()

    def statement(_sql: str) -> None:
        cost.statements += 1

    def instructions() -> int:
        cost.instructions += EVERY
        return 0  # 0: carry on

    conn.set_trace_callback(statement)
    conn.set_progress_handler(instructions, EVERY)
    with StateStore(SqliteDb(conn, path), path) as store:
        yield store, cost
