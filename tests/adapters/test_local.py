"""The local SQLite book: round trip, compare-and-set apply, metric writes, safety."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from roleSync.adapters.base import Adapter
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import SCHEMA_VERSION, BookError, write_book
from roleSync.errors import RoleSyncError
from roleSync.model import Account, Book, Deal, DealKind, Owner
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.profile import Profile, load_profile

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
CREATED = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)

OWNERS = [
    Owner(
        "o-hank",
        "Hank Hunter",
        "hank@example.com",
        "Account Executive",
        recorded={"role": "hunter"},
    ),
    Owner("o-fran", "Fran Farmer", "fran@example.com", "Account Manager"),
    Owner("o-gail", "Gail Grower", "gail@example.com", "Account Manager"),
    Owner("o-ivan", "Ivan Idle", "ivan@example.com", active=False),
]
ACCOUNTS = [
    Account(
        "a-1",
        "Acme",
        "o-hank",
        lifecycle="customer",
        segment="Enterprise",
        region="EMEA",
        tier="1",
        fields={"industry": "Software", "employees": 1200},
        created=CREATED,
        updated=CREATED,
    ),
    Account("a-2", "Globex", "o-hank", lifecycle="prospect", segment="SMB", region="NA"),
    Account("a-3", "Initech", "o-fran", lifecycle="", locked=True),
    Account("a-4", "Umbrella", None),
]
DEALS = [
    Deal(
        "d-1",
        "a-1",
        "o-hank",
        DealKind.NEW_BUSINESS,
        "Closed Won",
        True,
        True,
        50_000.0,
        date(2025, 1, 10),
        date(2025, 3, 1),
    ),
    # Blank kind after a won deal: Book infers expansion.
    Deal(
        "d-2",
        "a-1",
        "o-fran",
        None,
        "Closed Won",
        True,
        True,
        10_000.5,
        date(2025, 5, 1),
        date(2025, 6, 1),
    ),
    # Blank kind, open, on an account with no won deal: Book infers new business.
    Deal("d-3", "a-2", "o-hank", None, "Prospecting", False, False, None, date(2026, 1, 5), None),
    Deal(
        "d-4",
        "a-3",
        "o-fran",
        DealKind.RENEWAL,
        "Closed Lost",
        True,
        False,
        8_000.0,
        date(2025, 9, 1),
        date(2025, 10, 1),
    ),
]


@pytest.fixture
def book_path(tmp_path: Path) -> Path:
    path = tmp_path / "book.db"
    write_book(path, OWNERS, ACCOUNTS, DEALS)
    return path


@pytest.fixture
def adapter(book_path: Path) -> Iterator[LocalAdapter]:
    with LocalAdapter(Profile.for_local_book(book_path), now=NOW) as local:
        yield local


def sql(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Another writer (a human in the CRM), on its own connection."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def move(account_id: str, from_owner: str | None, to_owner: str) -> OwnershipChange:
    return OwnershipChange(account_id, account_id, from_owner, to_owner, "route-1", "handoff")


def owner_of(adapter: LocalAdapter, account_id: str) -> str | None:
    return adapter.pull().accounts[account_id].owner_id


# -- pull ---------------------------------------------------------------------------


def test_round_trip_returns_what_was_written(adapter: LocalAdapter) -> None:
    expected = Book(OWNERS, ACCOUNTS, DEALS)
    book = adapter.pull()
    assert book.owners == expected.owners
    assert book.accounts == expected.accounts
    assert book.deals == expected.deals
    # compare=False fields, checked one by one
    assert book.owners["o-hank"].recorded == {"role": "hunter"}
    assert book.owners["o-fran"].recorded == {}
    assert book.accounts["a-1"].fields == {"industry": "Software", "employees": 1200}
    assert book.accounts["a-1"].created == CREATED
    kinds = {d.id: d.kind for d in book.deals}
    assert kinds == {
        "d-1": DealKind.NEW_BUSINESS,
        "d-2": DealKind.EXPANSION,
        "d-3": DealKind.NEW_BUSINESS,
        "d-4": DealKind.RENEWAL,
    }


def test_raw_crm_values_are_mapped_through_the_profile(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "UPDATE deals SET kind = 'existing customer - upgrade ' WHERE id = 'd-1'")
    sql(book_path, "UPDATE deals SET kind = 'Partner Resale' WHERE id = 'd-4'")
    sql(book_path, "UPDATE accounts SET lifecycle = 'Customer - Channel' WHERE id = 'a-1'")
    sql(book_path, "UPDATE accounts SET lifecycle = 'Analyst' WHERE id = 'a-2'")
    book = adapter.pull()
    kinds = {d.id: d.kind for d in book.deals}
    assert kinds["d-1"] is DealKind.EXPANSION
    # Unmapped: inferred; d-4 is lost, created after a-3 had no won deal: new business.
    assert kinds["d-4"] is DealKind.NEW_BUSINESS
    assert book.accounts["a-1"].lifecycle == "customer"
    assert book.accounts["a-2"].lifecycle == "other"
    assert book.accounts["a-3"].lifecycle == ""


def test_pull_of_a_missing_book_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.db"
    adapter = LocalAdapter(Profile.for_local_book(path))
    with pytest.raises(RoleSyncError) as caught:
        adapter.pull()
    assert str(caught.value) == (
        f"no local book at {path.resolve()}; create one with `rolesync import` or `rolesync demo`"
    )
    with pytest.raises(RoleSyncError):
        adapter.apply([move("a-1", "o-hank", "o-fran")], [])
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_newer_schema_is_refused(book_path: Path) -> None:
    sql(book_path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(BookError, match="book schema version 2 is newer than this roleSync"):
        LocalAdapter(Profile.for_local_book(book_path)).pull()


def test_new_books_carry_the_schema_version(book_path: Path) -> None:
    assert sql(book_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_files_that_are_not_books_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(BookError, match="not a roleSync book"):
        LocalAdapter(Profile.for_local_book(garbage)).pull()
    foreign = tmp_path / "foreign.db"
    sql(foreign, "CREATE TABLE things (x)")
    with pytest.raises(BookError, match="an SQLite database but not a roleSync book"):
        LocalAdapter(Profile.for_local_book(foreign)).pull()
    with pytest.raises(BookError):
        write_book(foreign, OWNERS, ACCOUNTS, DEALS)
    assert sql(foreign, "SELECT name FROM sqlite_master") == [("things",)]


def test_write_book_replaces_the_previous_contents(book_path: Path) -> None:
    write_book(book_path, OWNERS[:1], [], [])
    book = LocalAdapter(Profile.for_local_book(book_path)).pull()
    assert list(book.owners) == ["o-hank"]
    assert book.accounts == {}
    assert book.deals == []
    assert sql(book_path, "SELECT owner_id, name FROM owner_fields") == [("o-hank", "role")]


def test_write_book_round_trips_ten_thousand_deals(tmp_path: Path) -> None:
    owners = [Owner(f"o-{i}", f"Owner {i}", f"o{i}@example.com") for i in range(50)]
    accounts = [Account(f"a-{i}", f"Account {i}", f"o-{i % 50}") for i in range(2_000)]
    deals = [
        Deal(
            f"d-{i}",
            f"a-{i % 2_000}",
            f"o-{i % 50}",
            None,
            "Closed Won",
            True,
            True,
            1000.0 + i,
            date(2025, 1, 1),
            date(2025, 6, 1),
        )
        for i in range(10_000)
    ]
    path = tmp_path / "big.db"
    write_book(path, owners, accounts, deals)
    book = LocalAdapter(Profile.for_local_book(path)).pull()
    # Speed is measured in benchmarks/ (plan_scale.py), never asserted here.
    assert len(book.deals) == 10_000
    assert len(book.accounts) == 2_000
    assert sum(d.amount or 0 for d in book.deals) == sum(1000.0 + i for i in range(10_000))


def test_local_adapter_is_an_adapter(book_path: Path) -> None:
    adapter: Adapter = LocalAdapter(Profile.for_local_book(book_path))
    assert len(adapter.pull().owners) == 4
    adapter.close()
    adapter.close()  # closing twice is harmless


# -- apply ----------------------------------------------------------------------------


def test_apply_moves_accounts_and_stamps_updated(adapter: LocalAdapter) -> None:
    result = adapter.apply([move("a-1", "o-hank", "o-fran"), move("a-4", None, "o-gail")], [])
    assert result.applied == ["a-1", "a-4"]
    assert (result.conflicts, result.failed) == ({}, {})
    book = adapter.pull()
    assert book.accounts["a-1"].owner_id == "o-fran"
    assert book.accounts["a-1"].updated == NOW
    assert book.accounts["a-4"].owner_id == "o-gail"
    assert book.accounts["a-2"].updated is None  # untouched


def test_owner_changed_after_pull_is_a_conflict_and_the_rest_still_applies(
    book_path: Path, adapter: LocalAdapter
) -> None:
    adapter.pull()
    sql(book_path, "UPDATE accounts SET owner_id = 'o-gail' WHERE id = 'a-1'")
    result = adapter.apply([move("a-1", "o-hank", "o-fran"), move("a-2", "o-hank", "o-fran")], [])
    assert result.conflicts == {"a-1": "o-gail"}
    assert result.applied == ["a-2"]
    assert owner_of(adapter, "a-1") == "o-gail"
    assert owner_of(adapter, "a-2") == "o-fran"


def test_owner_cleared_after_pull_is_a_conflict_with_no_owner(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "UPDATE accounts SET owner_id = NULL WHERE id = 'a-1'")
    result = adapter.apply([move("a-1", "o-hank", "o-fran")], [])
    assert result.conflicts == {"a-1": None}
    assert result.applied == []


def test_account_locked_after_the_plan_is_refused(book_path: Path, adapter: LocalAdapter) -> None:
    sql(book_path, "UPDATE accounts SET locked = 1 WHERE id = 'a-2'")
    result = adapter.apply([move("a-2", "o-hank", "o-fran")], [])
    assert result.failed == {"a-2": "account was locked after the plan was made"}
    assert result.applied == []
    assert owner_of(adapter, "a-2") == "o-hank"


def test_deleted_account_is_reported(book_path: Path, adapter: LocalAdapter) -> None:
    sql(book_path, "DELETE FROM accounts WHERE id = 'a-2'")
    result = adapter.apply([move("a-2", "o-hank", "o-fran")], [])
    assert result.failed == {"a-2": "account no longer exists"}
    assert result.applied == []


def test_inactive_or_missing_target_owner_is_refused(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "UPDATE owners SET active = 0 WHERE id = 'o-fran'")
    result = adapter.apply([move("a-1", "o-hank", "o-fran"), move("a-2", "o-hank", "o-nobody")], [])
    assert result.failed == {
        "a-1": "target owner o-fran is inactive",
        "a-2": "target owner o-nobody no longer exists",
    }
    assert result.applied == []
    assert owner_of(adapter, "a-1") == "o-hank"
    assert owner_of(adapter, "a-2") == "o-hank"


def test_an_exception_mid_apply_rolls_everything_back(adapter: LocalAdapter) -> None:
    broken = OwnershipChange("a-2", "Globex", "o-hank", None, "r", "bug")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no target owner"):
        adapter.apply(
            [move("a-1", "o-hank", "o-fran"), broken], [MetricWrite("o-fran", {"role": "farmer"})]
        )
    book = adapter.pull()
    assert book.accounts["a-1"].owner_id == "o-hank"
    assert book.accounts["a-1"].updated == CREATED
    assert book.owners["o-fran"].recorded == {}
    # The connection is usable afterwards: the next apply goes through.
    assert adapter.apply([move("a-1", "o-hank", "o-fran")], []).applied == ["a-1"]


def test_a_bad_metric_value_rolls_back_the_ownership_changes(adapter: LocalAdapter) -> None:
    with pytest.raises(ValueError):
        adapter.apply(
            [move("a-1", "o-hank", "o-fran")], [MetricWrite("o-fran", {"win_rate": float("nan")})]
        )
    assert owner_of(adapter, "a-1") == "o-hank"


# -- metric writes ------------------------------------------------------------------------


def test_metric_writes_show_in_recorded_on_the_next_pull(adapter: LocalAdapter) -> None:
    result = adapter.apply(
        [],
        [
            MetricWrite(
                "o-hank", {"role": "farmer", "new_business_share": 0.25}, {"role": "hunter"}
            ),
            MetricWrite("o-fran", {"role": "farmer", "win_rate": None, "won_deals": 3}),
        ],
    )
    assert result.metrics_written == ["o-hank", "o-fran"]
    assert result.metrics_failed == {}
    book = adapter.pull()
    assert book.owners["o-hank"].recorded == {"role": "farmer", "new_business_share": 0.25}
    assert book.owners["o-fran"].recorded == {"role": "farmer", "win_rate": None, "won_deals": 3}


def test_metric_writes_are_compare_and_set(adapter: LocalAdapter) -> None:
    # o-hank holds role=hunter. A plan made when it held nothing, and one made from
    # "farmer", are both stale: nothing is written, and each is a conflict.
    result = adapter.apply(
        [],
        [
            MetricWrite("o-hank", {"role": "farmer", "won_deals": 2}),
            MetricWrite("o-fran", {"role": "farmer"}, {"role": "hunter"}),
        ],
    )
    assert result.metrics_written == []
    assert sorted(result.metric_conflicts) == ["o-fran", "o-hank"]
    assert "role='hunter'" in result.metric_conflicts["o-hank"]
    book = adapter.pull()
    assert book.owners["o-hank"].recorded == {"role": "hunter"}
    assert book.owners["o-fran"].recorded == {}
    # Planned from what it holds: written; and applying it again finds it done.
    fresh = MetricWrite("o-hank", {"role": "farmer"}, {"role": "hunter"})
    assert adapter.apply([], [fresh]).metrics_written == ["o-hank"]
    again = adapter.apply([], [fresh])
    assert (again.metrics_written, again.metric_conflicts) == (["o-hank"], {})
    assert adapter.pull().owners["o-hank"].recorded == {"role": "farmer"}


def test_metric_writes_only_touch_the_profiles_destinations(
    tmp_path: Path, book_path: Path
) -> None:
    profile_path = tmp_path / "p.yaml"
    profile_path.write_text(
        "version: 1\nkind: local\nname: p\nlocal: {path: book.db}\n"
        "metrics:\n  fields: {role: Sales_Role__c}\n",
        encoding="utf-8",
    )
    with LocalAdapter(load_profile(profile_path), now=NOW) as adapter:
        result = adapter.apply(
            [],
            [
                MetricWrite("o-fran", {"Sales_Role__c": "farmer"}),
                MetricWrite("o-gail", {"Sales_Role__c": "farmer", "role": "farmer"}),
                MetricWrite("o-gone", {"Sales_Role__c": "hunter"}),
            ],
        )
        assert result.metrics_written == ["o-fran"]
        assert result.metrics_failed == {
            "o-gail": "not a destination field of this profile: role",
            "o-gone": "owner no longer exists",
        }
        book = adapter.pull()
    assert book.owners["o-fran"].recorded == {"Sales_Role__c": "farmer"}
    assert book.owners["o-gail"].recorded == {}


def test_metric_writes_are_refused_when_the_profile_disables_them(
    tmp_path: Path, book_path: Path
) -> None:
    profile = Profile.for_local_book(book_path).model_copy(
        update={
            "metrics": Profile.for_local_book(book_path).metrics.model_copy(update={"write": False})
        }
    )
    with LocalAdapter(profile) as adapter:
        result = adapter.apply([], [MetricWrite("o-fran", {"role": "farmer"})])
        assert result.metrics_failed == {"o-fran": "the profile has metrics.write: false"}
        assert adapter.pull().owners["o-fran"].recorded == {}


def test_pull_does_not_wait_for_another_writer(book_path: Path) -> None:
    other = sqlite3.connect(book_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock, as a running apply would
        other.execute("UPDATE accounts SET owner_id = 'o-gail' WHERE id = 'a-1'")
        started = time.perf_counter()
        book = LocalAdapter(Profile.for_local_book(book_path)).pull()
        assert time.perf_counter() - started < 2
        assert book.accounts["a-1"].owner_id == "o-hank"  # uncommitted: not seen
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_now_may_be_a_clock_read_at_apply_time(book_path: Path) -> None:
    ticks = iter([NOW, NOW.replace(hour=13)])
    with LocalAdapter(Profile.for_local_book(book_path), now=lambda: next(ticks)) as adapter:
        adapter.apply([move("a-1", "o-hank", "o-fran")], [])
        adapter.apply([move("a-2", "o-hank", "o-fran")], [])
        book = adapter.pull()
    assert book.accounts["a-1"].updated == NOW
    assert book.accounts["a-2"].updated == NOW.replace(hour=13)
