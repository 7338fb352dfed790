"""A state store that counts its own work, for tests that finishing stays linear
(issue 19): statements run (`set_trace_callback`) and SQLite virtual-machine
instructions executed (`set_progress_handler`; rows visited by a scan show up there,
not in the statement count)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from roleSync.adapters.base import Adapter
from roleSync.model import Book
from roleSync.plan import PLAN_FORMAT, OwnershipChange, Plan
from roleSync.profile import Profile
from roleSync.sync.runner import apply_plan
from roleSync.sync.store import StateStore
from roleSync.sync.store_db import SqliteDb
from roleSync.sync.store_file import open_store_file

# Instructions between two calls of the progress handler: 1 would count exactly, at the
# price of a Python call per instruction; a ratio of two runs does not need that.
EVERY = 16
# "Near 10": ten times the changes, plus fixed costs that do not grow with them.
RATIO = 12.0
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


class ChangesFor(Protocol):
    """`count` ownership changes of `book`'s accounts, after the first `skip`."""

    def __call__(self, book: Book, count: int, *, skip: int = 0) -> list[OwnershipChange]: ...


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


def assert_linear(small: Cost, large: Cost) -> None:
    """`large` (ten times the changes of `small`) cost about ten times as much."""
    statements, instructions = large.ratio(small)
    assert statements <= RATIO, (small, large)
    assert instructions <= RATIO, (small, large)


def assert_grows_linearly(cost_of: Callable[[Path, int], Cost], folder: Path) -> None:
    """The cost of 10,000 changes about ten times that of 1,000 (each measured by
    `cost_of(a fresh folder, changes)`), and not trivially: the counts are the run's,
    not a constant."""
    small = cost_of(folder / "small", 1_000)
    large = cost_of(folder / "large", 10_000)
    assert_linear(small, large)
    assert small.statements >= 1_000 and large.instructions >= 10 * small.statements


def connector_finish_costs(
    profile: Profile,
    adapter: Adapter,
    book: Book,
    changes_for: ChangesFor,
    folder: Path,
) -> tuple[Cost, Cost]:
    """The state store's cost of applying and finishing, through `adapter`, a run of 200
    ownership changes of `book`'s accounts, then one of 2,000 other accounts, each in a
    fresh store in `folder`."""
    costs: list[Cost] = []
    for n, (count, skip) in enumerate(((200, 0), (2_000, 200))):
        changes = changes_for(book, count, skip=skip)
        plan = Plan(
            PLAN_FORMAT, profile.name, date(2026, 6, 30), 365, "sha256:test",
            [], changes, [], [], summary={"accounts": len(book.accounts)},
        )  # fmt: skip
        with counted_store(folder / f"state-{n}.db") as (store, cost):
            report = apply_plan(
                profile, plan, adapter, book_accounts=len(book.accounts),
                mode="apply", clock=lambda: NOW, allow_large=True, store=store,
            )  # fmt: skip
        assert len(report.applied) == count, (report.failed, report.conflicts)
        costs.append(cost)
    small, large = costs
    return small, large
