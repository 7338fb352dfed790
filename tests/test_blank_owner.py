"""One rule everywhere: a deal with a blank owner counts for its account's owner. Checked
on a held Book, a folded one, a CSV import, a CRM mirror (both adapters store NULL
owners), HubSpot's record conversion, and a rule test."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from builders import AS_OF, account, deal, owner
from roleSync.adapters.book_reader import read_book
from roleSync.adapters.hubspot.records import deal_row
from roleSync.adapters.local_store import open_book
from roleSync.adapters.mirror import AccountRow, DealRow, Mirror, OwnerRow
from roleSync.cli import main
from roleSync.metrics import compute_role_metrics
from roleSync.model import Book, DealKind, DealWindow
from roleSync.profile import Profile, load_profile

DAY = date(2026, 3, 1)
WINDOW = DealWindow(AS_OF, 365)


def _book(owner_id: str | None) -> Book:
    return Book(
        [owner("o1"), owner("o2")],
        [account("a1", "o1"), account("a2", None)],
        [
            deal("d1", "a1", owner_id=owner_id, kind=DealKind.RENEWAL, created=DAY, close=DAY),
            deal("d2", "a2", owner_id=None, kind=DealKind.RENEWAL, created=DAY, close=DAY),
        ],
    )


@pytest.mark.parametrize("blank", [None, ""])
def test_a_held_book_credits_the_account_owner(blank: str | None) -> None:
    book = _book(blank)
    # The deal keeps its blank owner: it counts for whoever owns the account.
    assert {d.id: d.owner_id for d in book.deals} == {"d1": blank, "d2": None}
    metrics = compute_role_metrics(book, AS_OF, 365)
    assert metrics["o1"].won_deals == 1 and metrics["o1"].renewal_won_amount == 100.0
    assert metrics["o2"].won_deals == 0  # an unowned account's deal counts for nobody


def test_a_folded_book_credits_the_account_owner_as_a_held_one_does() -> None:
    held = _book(None)
    folded = Book.folded(
        held.owners.values(),
        held.accounts.values(),
        [[deal("d1", "a1", owner_id=None, kind=DealKind.RENEWAL, created=DAY, close=DAY)]],
        WINDOW,
    )
    assert compute_role_metrics(folded, AS_OF, 365) == compute_role_metrics(held, AS_OF, 365)
    assert folded.deal_facts(WINDOW).unowned["a1"].won == 1


def test_a_blank_owner_deal_moves_with_its_account() -> None:
    """A plan's metrics are those of the book after its own moves: the account's new
    owner is credited with its blank-owner deals, as the next plan will credit them."""
    book = _book(None)
    moved = compute_role_metrics(book, AS_OF, 365, moves={"a1": "o2"})
    assert moved["o2"].won_deals == 1 and moved["o2"].renewal_won_amount == 100.0
    assert moved["o1"].won_deals == 0
    after = Book(
        book.owners.values(),
        [account("a1", "o2"), account("a2", None)],
        book.deals,
    )
    assert compute_role_metrics(after, AS_OF, 365) == moved


def test_a_csv_import_credits_the_account_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("version: 1\nkind: local\nname: csv\n")
    (tmp_path / "owners.csv").write_text("id,name,email,title,active\no1,One,o1@x.com,AE,true\n")
    (tmp_path / "accounts.csv").write_text(
        "id,name,owner_id,lifecycle,segment,region,tier,locked,created,updated\n"
        "a1,Acme,o1,customer,SMB,EMEA,1,false,,\n"
    )
    (tmp_path / "deals.csv").write_text(
        "id,account_id,owner_id,kind,stage,closed,won,amount,created,close_date\n"
        "d1,a1,,renewal,Closed Won,true,true,500,2026-01-01,2026-03-01\n"
    )
    code = main(
        [
            "import",
            "-c",
            str(profile),
            "--owners",
            str(tmp_path / "owners.csv"),
            "--accounts",
            str(tmp_path / "accounts.csv"),
            "--deals",
            str(tmp_path / "deals.csv"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    loaded = load_profile(profile)
    conn = open_book(loaded.book_path, create=False)
    try:
        for window in (None, WINDOW):
            book = read_book(conn, loaded.book_path, loaded, window)
            assert compute_role_metrics(book, AS_OF, 365)["o1"].renewal_won_amount == 500.0
    finally:
        conn.close()


def test_a_crm_mirror_with_a_null_owner_credits_the_account_owner(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nkind: hubspot\nname: hs\nhubspot: {}\nmetrics: {write: false}\n")
    profile = load_profile(path)
    mirror = Mirror(profile.mirror_path, profile, "test")
    try:
        seeded = load_mirror_rows(mirror)
        assert seeded == 1
        for window in (None, WINDOW):
            book = mirror.read_book(window)
            assert compute_role_metrics(book, AS_OF, 365)["o1"].won_deals == 1
    finally:
        mirror.close()


def load_mirror_rows(mirror: Mirror) -> int:
    mirror.store(
        "owners", "owners", [OwnerRow("o1", "One", "", "", True)], cursor=None, replace=True
    )
    mirror.store(
        "accounts",
        "accounts",
        [AccountRow("a1", "Acme", "o1", "customer", "", "", "", False, {}, None, None)],
        cursor=None,
        replace=True,
    )
    rows = [
        DealRow(
            "d1",
            "a1",
            None,
            "newbusiness",
            "closedwon",
            True,
            True,
            10.0,
            "2026-01-01",
            "2026-03-01",
        )
    ]
    mirror.store("deals", "deals", rows, cursor=None, replace=True)
    return len(rows)


def test_hubspot_records_keep_a_blank_owner_blank_for_the_book_to_credit() -> None:
    profile = Profile.model_validate(
        {"version": 1, "kind": "hubspot", "name": "hs", "hubspot": {}, "metrics": {"write": False}}
    )
    record = {
        "id": "7",
        "properties": {
            "dealstage": "closedwon",
            "amount": "10",
            "createdate": "2026-01-01T00:00:00Z",
        },
    }
    assert deal_row(profile, record, "c1").owner_id is None


def test_a_rule_test_credits_the_account_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[1] / "rules"
    test_file = tmp_path / "owner.test.yaml"
    test_file.write_text(
        f"rule_files: [{root / 'roles.yaml'}, {root / 'routing.yaml'}]\n"
        "now: 2026-06-30\n"
        "tests:\n"
        "  - name: a deal without owner counts for the account's owner\n"
        "    book:\n"
        "      owners: [{id: ava, email: ava@example.com}]\n"
        "      accounts: [{id: acme, owner: ava}]\n"
        "      deals: [{id: d1, account: acme, kind: renewal, amount: 700, closed: 2026-02-01}]\n"
        "    expect:\n"
        "      metrics: {ava: {won_deals: 1, renewal_won_amount: 700}}\n"
    )
    assert main(["test", str(test_file)]) == 0, capsys.readouterr()
