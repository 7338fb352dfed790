"""The census of a book file: what SQL counts and samples, on a book with every kind of
problem; the import hook on an open transaction; a CRM profile's mirror."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from builders import account, deal, owner
from roleSync.adapters.local_store import open_book, transaction, write_book
from roleSync.adapters.mirror import entry_amount
from roleSync.health import health_hook, scan
from roleSync.health.census import AmountRange, CensusQuestions, take_census
from roleSync.model import DealKind
from roleSync.profile import Profile

DAY = date(2026, 3, 1)


def problem_book(path: Path) -> None:
    """A clean book of three owners, four accounts and a few deals; the problems are
    written by SQL afterwards, as a CSV import or a CRM could leave them."""
    owners = [owner("o1"), owner("o2"), owner("o3")]
    accounts = [account(f"acc-{i}", "o1") for i in range(1, 5)]
    deals = [
        deal(f"d{i}", f"acc-{1 + i % 4}", kind=DealKind.NEW_BUSINESS, created=DAY, close=DAY)
        for i in range(1, 21)
    ]
    write_book(path, owners, accounts, deals)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE deals SET kind = 'Existing Customer - Renewal' WHERE id IN ('d1', 'd2')"
        )
        conn.execute("UPDATE deals SET kind = 'existing customer - renewal ' WHERE id = 'd3'")
        conn.execute("UPDATE deals SET kind = 'New Customer' WHERE id = 'd4'")  # mapped
        conn.execute("UPDATE deals SET kind = '  ' WHERE id = 'd5'")  # blank: inferred
        conn.execute("UPDATE deals SET account_id = 'acc-404' WHERE id = 'd6'")
        conn.execute("UPDATE deals SET account_id = '(no account) d7' WHERE id = 'd7'")
        conn.execute("UPDATE deals SET owner_id = 'ghost' WHERE id IN ('d8', 'd9')")
        conn.execute("UPDATE deals SET owner_id = '' WHERE id = 'd10'")  # blank: account's
        conn.execute("UPDATE accounts SET owner_id = 'gone' WHERE id = 'acc-4'")
        conn.execute("UPDATE deals SET amount = NULL WHERE id = 'd11'")
        conn.execute("UPDATE deals SET close_date = NULL WHERE id = 'd12'")
        conn.execute("UPDATE deals SET amount = -1 WHERE id = 'd13'")
        conn.execute("UPDATE deals SET amount = 1e308 WHERE id IN ('d14', 'd15', 'd16')")
        conn.execute("UPDATE deals SET amount = ? WHERE id = 'd17'", (entry_amount("1e400"),))
        conn.execute("UPDATE deals SET amount = 'USD 10,000.00' WHERE id = 'd18'")
        conn.execute("UPDATE accounts SET lifecycle = 'Customer - Partner' WHERE id = 'acc-1'")
        conn.execute("INSERT INTO accounts (id, name, owner_id) VALUES ('ACC-1', 'x', 'o1')")
        conn.execute("INSERT INTO owners (id, name) VALUES (' O2  ', 'x')")
        conn.execute("UPDATE deals SET id = 'D 19' WHERE id = 'd19'")
        conn.execute("UPDATE deals SET id = 'd  19' WHERE id = 'd20'")
    conn.close()


def test_the_census_counts_and_samples_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    problem_book(path)
    profile = Profile.for_local_book(path)
    questions = CensusQuestions(
        mapped_kinds=["New Customer", "new_business"],
        mapped_lifecycles=["customer", "prospect", "other"],
        mapped_stages=None,
        amount_range=AmountRange(0.0, 1e12),
    )
    with sqlite3.connect(path) as conn:
        found = take_census(conn, questions)
    assert (found.owners, found.accounts, found.deals) == (4, 5, 20)
    (renewal,) = found.unmapped_kinds
    # Two spellings of one value: one finding, the commoner spelling shown.
    assert (renewal.value, renewal.count) == ("Existing Customer - Renewal", 3)
    assert set(renewal.examples) == {"d1", "d2", "d3"}
    assert [(v.value, v.count) for v in found.unmapped_lifecycles] == [("Customer - Partner", 1)]
    assert (found.unknown_account.count, found.unknown_account.examples) == (1, ("d6",))
    assert (found.deal_unknown_owner.count, found.deal_unknown_owner.examples) == (2, ("d8",))
    assert found.account_unknown_owner.count == 1
    assert found.missing_amount.examples == ("d11",)
    assert found.missing_close_date.examples == ("d12",)
    assert found.below_min.examples == ("d13",)
    assert found.above_max.count == 3  # the three 1e308; text is counted apart
    assert sorted(found.not_a_number.examples) == ["d17", "d18"]
    assert {(c.table, c.normal, c.ids) for c in found.collisions} == {
        ("owners", "o2", ("o2", " O2  ")),
        ("accounts", "acc-1", ("acc-1", "ACC-1")),
        ("deals", "d 19", ("D 19", "d  19")),
    }
    assert found.unmapped_stages is None
    health = scan(profile)
    assert health.scanned and {f.code for f in health.errors} >= {
        "unknown-account",
        "unknown-owner",
        "negative-amount",
        "absurd-amount",
        "duplicate-id",
    }


def test_case_sensitive_ids_collide_only_by_spaces(tmp_path: Path) -> None:
    """Salesforce's 15-character ids differ by case alone: with `ids: case_sensitive`
    those are two records, and only stray spaces still make two ids one."""
    path = tmp_path / "book.db"
    problem_book(path)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO accounts (id, name, owner_id) VALUES ('acc-2 ', 'x', 'o1')")
    questions = CensusQuestions(
        mapped_kinds=["New Customer", "new_business"],
        mapped_lifecycles=["customer", "prospect", "other"],
        mapped_stages=None,
        amount_range=AmountRange(0.0, 1e12),
        ids_case_sensitive=True,
    )
    with sqlite3.connect(path) as conn:
        found = take_census(conn, questions)
    # acc-1 / ACC-1, o2 / " O2  " and "D 19" / "d  19" are different ids here.
    assert {(c.table, c.normal, c.ids) for c in found.collisions} == {
        ("accounts", "acc-2", ("acc-2", "acc-2 ")),
    }


def test_the_import_hook_runs_on_the_open_transaction_before_commit(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    write_book(path, [owner("o1")], [account("a1", "o1")], [])
    profile = Profile.for_local_book(path)
    hook = health_hook(profile)
    conn = open_book(path, create=False)
    try:
        with transaction(conn):
            conn.execute(
                "INSERT INTO deals (id, account_id, owner_id, kind, created) "
                "VALUES ('d1', 'a1', 'o1', 'Renewal FY26', '2026-01-01')"
            )
            diagnostics = hook(conn, None)  # sees the uncommitted row
            conn.execute("DELETE FROM deals")
    finally:
        conn.close()
    (diagnostic,) = diagnostics
    assert diagnostic.code == "unmapped-deal-kind" and "'Renewal FY26' on 1 deals" in str(
        diagnostic
    )
    assert diagnostic.path == "<profile local>"


def test_a_crm_profile_is_scanned_in_its_mirror_and_not_before_it_exists(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nkind: hubspot\nname: hs\nhubspot: {}\nmetrics: {write: false}\n")
    from roleSync.profile import load_profile

    profile = load_profile(path)
    assert not scan(profile).scanned
    problem_book(profile.mirror_path)
    health = scan(profile)
    assert health.scanned and health.deals == 20
    assert any(f.code == "unmapped-deal-kind" for f in health.findings)


def test_entry_amount_keeps_what_is_not_a_finite_number_as_text() -> None:
    assert entry_amount(None) is None and entry_amount("") is None
    assert entry_amount("12.5") == 12.5 and entry_amount(3) == 3.0
    for raw in ("1e400", "NaN", "Infinity", float("inf"), "USD 10", True):
        kept = entry_amount(raw)
        assert isinstance(kept, str) and "not a finite number" in kept
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (amount REAL)")
    conn.execute("INSERT INTO t VALUES (?)", (entry_amount("1e400"),))
    assert conn.execute("SELECT typeof(amount) FROM t").fetchone() == ("text",)
