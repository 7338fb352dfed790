"""Deals folded into facts as they stream (`Book.folded`, `pull(window)`) give exactly what
a book holding every deal gives, keep no deal, and refuse a stream out of order."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import write_book
from roleSync.demo import prepare
from roleSync.metrics import compute_role_metrics
from roleSync.model import (
    Account,
    Book,
    Deal,
    DealKind,
    DealOrderError,
    DealWindow,
    FoldedDealsError,
    Owner,
    summarize_deals,
)
from roleSync.plan import PlanInputs, build_plan
from roleSync.profile import Profile, load_profile
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set

AS_OF = date(2026, 6, 30)
WINDOW = DealWindow(AS_OF, 365)
KINDS = (*DealKind, None)


def random_book(seed: int, accounts: int = 300, deals: int = 1_500) -> Book:
    """Every case the folding must get right: blank kinds, open and lost deals, deals
    outside the window, no amount, no owner, owners the book does not know, contraction."""
    rng = random.Random(seed)
    owners = [
        Owner(f"o{i}", f"Owner {i}", f"o{i}@example.com", active=i % 7 != 0) for i in range(12)
    ]
    account_list = [
        Account(
            f"a{i:04d}",
            f"Acct {i}",
            rng.choice([*(o.id for o in owners), None, "ghost"]),
            lifecycle=rng.choice(["customer", "prospect", ""]),
            segment=rng.choice(["Enterprise", "SMB"]),
        )
        for i in range(accounts)
    ]
    deal_list = []
    for i in range(deals):
        status = rng.choice(["won", "won", "lost", "open"])
        created = AS_OF - timedelta(days=rng.randrange(0, 900))
        close = created + timedelta(days=rng.randrange(0, 200))
        deal_list.append(
            Deal(
                f"d{i:05d}",
                f"a{rng.randrange(accounts):04d}",
                rng.choice([*(o.id for o in owners), None, "ghost"]),
                rng.choice(KINDS),
                status,
                status != "open",
                status == "won",
                rng.choice([None, round(rng.uniform(10, 9_000), 2)]),
                created,
                None if status == "open" and rng.random() < 0.8 else close,
            )
        )
    return Book(owners, account_list, deal_list)


@pytest.mark.parametrize("seed", range(8))
def test_folding_from_sqlite_gives_what_holding_every_deal_gives(tmp_path: Path, seed: int) -> None:
    held_book = random_book(seed)
    path = tmp_path / "book.sqlite"
    write_book(path, held_book.owners.values(), held_book.accounts.values(), held_book.deals)
    adapter = LocalAdapter(Profile.for_local_book(path))
    held, folded = adapter.pull(), adapter.pull(WINDOW)

    assert folded.deal_count == held.deal_count == len(held_book.deals)
    held_facts, folded_facts = held.deal_facts(WINDOW), folded.deal_facts(WINDOW)
    assert folded_facts.triggers == held_facts.triggers
    assert folded_facts.won_accounts == held_facts.won_accounts
    assert folded_facts.revenue == held_facts.revenue
    assert folded_facts.tallies == held_facts.tallies
    assert folded_facts.retention == held_facts.retention
    assert held_facts.retention, "the random book should have revenue at the window start"
    assert compute_role_metrics(folded, AS_OF, 365) == compute_role_metrics(held, AS_OF, 365)
    assert all(held.is_customer(a) == folded.is_customer(a) for a in held.accounts.values())
    assert held_facts.triggers, "the random book should hand something off"


def test_a_plan_of_the_demo_book_is_byte_identical_held_or_folded(tmp_path: Path) -> None:
    profile_path, rules_dir = prepare(tmp_path / "demo", AS_OF, 2026)
    # Carrying deals needs them held (the runner then pulls without a window): the
    # shipped handoff's `carry` is left out here, where folding is what is compared.
    routing = rules_dir / "routing.yaml"
    text = routing.read_text()
    routing.write_text(text.replace("    - deals: {kinds: [renewal, expansion]}", "    []  #"))
    rules = load_rule_set([rules_dir])
    assert not any(block.carry for block in rules.routing.blocks)
    inputs = PlanInputs(
        "demo",
        CompiledRoles(rules.roles),
        CompiledRouting(rules.routing),
        rules.digest,
        AS_OF,
        metric_fields={"role": "role", "won_amount": "won_amount"},
    )
    adapter = LocalAdapter(load_profile(profile_path))
    held = build_plan(adapter.pull(), inputs).to_json()
    folded = build_plan(adapter.pull(DealWindow(AS_OF, rules.roles.window_days)), inputs)
    assert folded.changes, "the demo book hands accounts off"
    assert folded.to_json() == held


def test_a_folded_book_has_no_deals_to_give_and_only_its_own_window() -> None:
    book = random_book(1)
    folded = Book.folded(
        book.owners.values(), book.accounts.values(), book.deals_by_account.values(), WINDOW
    )
    with pytest.raises(FoldedDealsError, match="folded into aggregates"):
        _ = folded.deals
    with pytest.raises(FoldedDealsError, match="window of 365 days to 2026-06-30"):
        folded.deal_facts(DealWindow(AS_OF, 90))
    assert folded.deal_facts(WINDOW) == book.deal_facts(WINDOW)
    assert folded.deal_count == len(book.deals)
    # Account-level answers need no window of their own.
    for account_id in book.accounts:
        assert folded.first_won_new_business(account_id) == book.first_won_new_business(account_id)


def test_deals_out_of_account_order_are_refused() -> None:
    groups = random_book(2).deals_by_account
    shuffled = list(groups.values())
    shuffled[3], shuffled[4] = shuffled[4], shuffled[3]
    with pytest.raises(DealOrderError, match="grouped by account in ascending id order"):
        summarize_deals(shuffled, WINDOW)
    split = list(groups.values())
    split.append(split[0])  # one account's deals in two places
    with pytest.raises(DealOrderError):
        summarize_deals(split, WINDOW)


def _streamed_deals(n: int, accounts: int) -> Iterator[list[Deal]]:
    per_account = n // accounts
    for a in range(accounts):
        yield [
            Deal(
                f"d{a:04d}-{i:06d}",
                f"a{a:04d}",
                "o1",
                DealKind.RENEWAL,
                "won",
                True,
                True,
                100.0,
                AS_OF - timedelta(days=40),
                AS_OF - timedelta(days=i % 300),
            )
            for i in range(per_account)
        ]


def _retained_after_folding(deals: int) -> int:
    owners = [Owner("o1", "Olive", "olive@example.com")]
    accounts = [Account(f"a{a:04d}", f"Acct {a}", "o1") for a in range(50)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        book = Book.folded(owners, accounts, _streamed_deals(deals, 50), WINDOW)
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert book.deal_count == deals
    return retained


def test_memory_kept_by_a_folded_book_does_not_grow_with_its_deals() -> None:
    few, many = _retained_after_folding(1_000), _retained_after_folding(100_000)
    # 100x the deals, held, would retain some 15 MB more; folded, the same facts remain.
    assert many < few * 1.5 + 64_000, (few, many)
