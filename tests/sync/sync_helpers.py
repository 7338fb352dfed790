"""A small local book, its rules and profile, for the state, lock and fault tests.

Hunters (h-*) own freshly won customers, each with one new-business deal won a month
before AS_OF; farmers (f-*) own customers with expansion wins only. With
`from_roles: [hunter]` every hunter account is due for a handoff to a farmer, round
robin, so the number of planned changes is `hunters * accounts_per_hunter`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pg_fixtures
from pg_fixtures import PgState
from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import write_book
from roleSync.model import Account, Book, Deal, DealKind, DealWindow, Owner
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.profile import load_profile
from roleSync.sync.lock import RunLock
from roleSync.sync.pg_lock import PgRunLock
from roleSync.sync.pg_store import PgDb
from roleSync.sync.state_open import lock_file, open_state, state_label

AS_OF = date(2026, 6, 30)

ROLES = """\
version: 1
kind: roles
window_days: 365
classify:
  - id: hunter
    role: hunter
    when: {metric: new_business_share, op: gte, value: 0.6}
  - id: farmer
    role: farmer
    when: {metric: new_business_share, op: lte, value: 0.4}
"""

ROUTING = """\
version: 1
kind: routing
handoff:
  delay_days: 0
  from_roles: [{from_roles}]
  from_inactive_owners: false
routes:
  - id: farmers
    assign: {{pool: {{role: farmer}}, strategy: round_robin}}
"""


# Most tests move most of a small book: far above the default guardrails.
LARGE = {"max_changes": 100_000, "max_share": 1.0}


@dataclass(frozen=True, slots=True)
class Fixture:
    folder: Path
    profile: Path
    rules: Path
    book: Path
    state: Path
    # The PostgreSQL store when the test runs under `state_backend` postgresql.
    pg: PgState | None = None

    def cli(self, command: str, *extra: str) -> list[str]:
        """Arguments of `rolesync <command>` against this fixture."""
        args = [command, "-c", str(self.profile)]
        if command == "sync":
            args += ["-r", str(self.rules), "--as-of", AS_OF.isoformat()]
        elif command == "apply":
            args += ["-r", str(self.rules)]  # the rules the plan is re-checked under
        return [*args, *extra]

    def owners(self) -> dict[str, str | None]:
        con = sqlite3.connect(self.book)
        try:
            return dict(con.execute("SELECT id, owner_id FROM accounts").fetchall())
        finally:
            con.close()

    def reassign(self, owner_id: str, *account_ids: str) -> None:
        """What a human does in the CRM."""
        con = sqlite3.connect(self.book)
        with con:
            con.executemany(
                "UPDATE accounts SET owner_id = ? WHERE id = ?",
                [(owner_id, a) for a in account_ids],
            )
        con.close()

    def set_routing(self, from_roles: str = "hunter", extra: str = "") -> None:
        text = ROUTING.format(from_roles=from_roles)
        if extra:
            text = text.replace(
                "  from_inactive_owners: false\n", f"  from_inactive_owners: false\n{extra}"
            )
        (self.rules / "routing.yaml").write_text(text)

    @property
    def state_label(self) -> str:
        """The state store as messages name it (a file, or a database and schema)."""
        return state_label(load_profile(self.profile))

    def execute(self, sql: str, *params: Any) -> None:
        """A write to the state store (what a person or an older roleSync did)."""
        if self.pg is not None:
            self.pg.execute(sql, *params)
            return
        con = sqlite3.connect(self.state)
        try:
            with con:
                con.execute(sql, params)
        finally:
            con.close()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """A query of the state store, in SQLite's dialect, whichever the store."""
        if self.pg is not None:
            return self.pg.query(sql, *params)
        con = sqlite3.connect(self.state)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def make_fixture(
    folder: Path,
    *,
    hunters: int = 2,
    accounts_per_hunter: int = 15,
    farmers: int = 4,
    farmer_accounts: int = 3,
    from_roles: str = "hunter",
    guardrails: dict[str, float] | None = LARGE,
) -> Fixture:
    """`guardrails=None`: the product's defaults (500 changes, a fifth of the book)."""
    folder.mkdir(parents=True, exist_ok=True)
    owners, accounts, deals = [], [], []
    won = AS_OF - timedelta(days=30)
    for h in range(hunters):
        hunter = f"h-{h}"
        owners.append(Owner(hunter, f"Hunter {h}", f"{hunter}@example.com"))
        for n in range(accounts_per_hunter):
            aid = f"a-{h}-{n:05d}"
            accounts.append(Account(aid, f"Account {aid}", hunter, lifecycle="customer"))
            deals.append(
                Deal(
                    f"d-{aid}",
                    aid,
                    hunter,
                    DealKind.NEW_BUSINESS,
                    "Closed Won",
                    True,
                    True,
                    1000.0,
                    won - timedelta(days=60),
                    won,
                )
            )
    for f in range(farmers):
        farmer = f"f-{f}"
        owners.append(Owner(farmer, f"Farmer {f}", f"{farmer}@example.com"))
        for n in range(farmer_accounts):
            aid = f"fa-{f}-{n}"
            accounts.append(Account(aid, f"Account {aid}", farmer, lifecycle="customer"))
            deals.append(
                Deal(
                    f"d-{aid}",
                    aid,
                    farmer,
                    DealKind.EXPANSION,
                    "Closed Won",
                    True,
                    True,
                    500.0,
                    won - timedelta(days=90),
                    won - timedelta(days=10),
                )
            )
    book = folder / "book.db"
    write_book(book, owners, accounts, deals)
    rules = folder / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "roles.yaml").write_text(ROLES)
    profile = folder / "profile.yaml"
    lines = [
        "version: 1",
        "kind: local",
        "name: test",
        "local: {path: book.db}",
        "metrics: {write: false}",
    ]
    if guardrails is not None:
        lines.append(f"guardrails: {json.dumps(guardrails)}")
    pg = pg_fixtures.ACTIVE[-1] if pg_fixtures.ACTIVE else None
    if pg is not None:
        lines.append(f"state: {{backend: postgresql, schema: {pg.schema}}}")
    profile.write_text("\n".join(lines) + "\n")
    fixture = Fixture(folder, profile, rules, book, folder / ".rolesync" / "state.db", pg)
    fixture.set_routing(from_roles)
    return fixture


@contextmanager
def hold_run_lock(fixture: Fixture, started: datetime) -> Iterator[None]:
    """Hold the profile's run lock here, whichever the store, as another run would."""
    profile = load_profile(fixture.profile)
    if fixture.pg is None:
        with RunLock(lock_file(profile), profile.name) as lock:
            lock.acquire(started)
            yield
        return
    with open_state(profile) as store:
        assert isinstance(store.db, PgDb)
        pg_lock = PgRunLock(store.db, profile.name)
        pg_lock.acquire(started)
        try:
            yield
        finally:
            pg_lock.release()


def rolesync(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`rolesync ARGS` in a child process (what a scheduler runs)."""
    return subprocess.run(
        [sys.executable, "-m", "roleSync", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


class WrappedJournalAdapter:
    """The local adapter in batches of 3, whose apply journals through `wrap(journal)`:
    the tests' way to crash, signal or stop an apply at a chosen point of its journal.
    `error`, if given, is raised by apply before it writes anything."""

    def __init__(
        self,
        inner: LocalAdapter,
        wrap: Callable[[ApplyJournal], ApplyJournal],
        error: Exception | None = None,
    ) -> None:
        self.inner = inner
        self.inner.batch_size = 3
        self.wrap = wrap
        self.error = error

    def pull(self, window: DealWindow | None = None) -> Book:
        return self.inner.pull(window)

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        return self.inner.current_owners(account_ids)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        assert journal is not None
        if self.error is not None:
            raise self.error
        return self.inner.apply(changes, metric_writes, self.wrap(journal))

    def close(self) -> None:
        self.inner.close()
