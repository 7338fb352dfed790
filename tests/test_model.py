"""Unit tests of the normalized book: deal-kind inference, owner look-up, customers, order."""

from __future__ import annotations

from datetime import date

from builders import Status
from builders import deal as make_deal
from roleSync.model import Account, Book, Deal, DealKind, Owner, infer_deal_kinds


def deal(
    deal_id: str,
    account_id: str = "a1",
    *,
    status: Status = "won",
    kind: DealKind | None = None,
    created: date = date(2025, 1, 1),
    close: date | None = date(2025, 2, 1),
    owner_id: str | None = "o1",
    amount: float | None = 100.0,
) -> Deal:
    """A deal with defaults: won, blank kind, account a1, owner o1, 100.0."""
    return make_deal(
        deal_id,
        account_id,
        status=status,
        kind=kind,
        created=created,
        close=close,
        owner_id=owner_id,
        amount=amount,
    )


def kinds(deals: list[Deal]) -> dict[str, DealKind | None]:
    return {d.id: d.kind for d in deals}


def book_of(*deals: Deal) -> Book:
    return Book([Owner("o1", "Olive", "olive@example.com")], [Account("a1", "Acme", "o1")], deals)


# --- kind inference -------------------------------------------------------------------------


def test_first_won_blank_deal_is_new_business_later_ones_expansion() -> None:
    resolved = infer_deal_kinds(
        [
            deal("d1", close=date(2025, 5, 1)),
            deal("d2", close=date(2025, 3, 1)),  # earliest close on a1 -> first
            deal("d3", close=date(2025, 4, 1)),
            deal("d4", "a2", close=date(2025, 6, 1)),  # only won deal of a2 -> its first
        ]
    )
    assert kinds(resolved) == {
        "d1": DealKind.EXPANSION,
        "d2": DealKind.NEW_BUSINESS,
        "d3": DealKind.EXPANSION,
        "d4": DealKind.NEW_BUSINESS,
    }


def test_inference_keeps_input_order_and_mapped_kinds() -> None:
    mapped = deal("d1", kind=DealKind.EXPANSION, close=date(2025, 1, 15))
    blank = deal("d0", close=date(2025, 3, 1))
    resolved = infer_deal_kinds([mapped, blank])
    assert [d.id for d in resolved] == ["d1", "d0"]
    assert resolved[0] is mapped  # a mapped deal is passed through untouched
    # The mapped expansion is the account's first won deal, so the blank one is not first.
    assert resolved[1].kind is DealKind.EXPANSION
    assert resolved[1].amount == 100.0  # every other field is kept


def test_mapped_renewal_closed_before_blank_deal_makes_it_expansion() -> None:
    resolved = infer_deal_kinds(
        [
            deal("d1", kind=DealKind.RENEWAL, close=date(2025, 2, 1)),
            deal("d2", close=date(2025, 3, 1)),  # blank, but not the first won deal of a1
        ]
    )
    assert kinds(resolved) == {"d1": DealKind.RENEWAL, "d2": DealKind.EXPANSION}


def test_mapped_deal_closed_after_blank_one_leaves_it_new_business() -> None:
    resolved = infer_deal_kinds(
        [
            deal("d1", kind=DealKind.RENEWAL, close=date(2025, 4, 1)),
            deal("d2", close=date(2025, 3, 1)),  # closes first -> first won deal
        ]
    )
    assert kinds(resolved) == {"d1": DealKind.RENEWAL, "d2": DealKind.NEW_BUSINESS}


def test_open_and_lost_blank_deals_before_any_win_are_new_business_after_expansion() -> None:
    first_win = date(2025, 3, 1)
    resolved = infer_deal_kinds(
        [
            deal("won", created=date(2025, 1, 1), close=first_win),
            # created 2025-02-01, before the first win closed (2025-03-01) -> new business
            deal("lost-before", status="lost", created=date(2025, 2, 1), close=date(2025, 4, 1)),
            deal("open-before", status="open", created=date(2025, 2, 1), close=None),
            # created 2025-04-01, after the first win closed -> expansion
            deal("lost-after", status="lost", created=date(2025, 4, 1), close=date(2025, 5, 1)),
            deal("open-after", status="open", created=date(2025, 4, 1), close=date(2025, 9, 1)),
            # a2 has no won deal at all -> new business whenever created
            deal("a2-lost", "a2", status="lost", created=date(2025, 6, 1)),
            deal("a2-open", "a2", status="open", created=date(2025, 7, 1), close=None),
        ]
    )
    assert kinds(resolved) == {
        "won": DealKind.NEW_BUSINESS,
        "lost-before": DealKind.NEW_BUSINESS,
        "open-before": DealKind.NEW_BUSINESS,
        "lost-after": DealKind.EXPANSION,
        "open-after": DealKind.EXPANSION,
        "a2-lost": DealKind.NEW_BUSINESS,
        "a2-open": DealKind.NEW_BUSINESS,
    }


def test_tie_on_close_date_broken_by_created() -> None:
    same_close = date(2025, 3, 1)
    resolved = infer_deal_kinds(
        [
            # "d1" sorts first by id but was created later: created decides before id.
            deal("d1", created=date(2025, 2, 1), close=same_close),
            deal("d2", created=date(2025, 1, 1), close=same_close),
        ]
    )
    assert kinds(resolved) == {"d1": DealKind.EXPANSION, "d2": DealKind.NEW_BUSINESS}


def test_tie_on_close_date_and_created_broken_by_id() -> None:
    resolved = infer_deal_kinds(
        [
            deal("d9", created=date(2025, 1, 1), close=date(2025, 3, 1)),
            deal("d10", created=date(2025, 1, 1), close=date(2025, 3, 1)),  # "d10" < "d9"
        ]
    )
    assert kinds(resolved) == {"d9": DealKind.EXPANSION, "d10": DealKind.NEW_BUSINESS}


def test_book_resolves_every_kind() -> None:
    book = book_of(
        deal("d1", close=date(2025, 2, 1)),
        deal("d2", close=date(2025, 3, 1)),
        deal("d3", status="open", created=date(2025, 4, 1), close=None),
    )
    assert kinds(book.deals) == {
        "d1": DealKind.NEW_BUSINESS,
        "d2": DealKind.EXPANSION,
        "d3": DealKind.EXPANSION,  # created 2025-04-01, after d1 closed 2025-02-01
    }


# --- owners -----------------------------------------------------------------------------------


def owners_book() -> Book:
    return Book(
        [
            Owner("005A", "Ana", "Ana.Lopez@Example.com"),
            Owner("005B", "Ben", "ben@example.com", active=False),
        ],
        [],
        [],
    )


def test_find_owner_by_id() -> None:
    book = owners_book()
    found = book.find_owner("005B")
    assert found is not None
    assert found.name == "Ben"


def test_find_owner_by_email_case_insensitively() -> None:
    book = owners_book()
    for key in ("Ana.Lopez@Example.com", "ana.lopez@example.com", "ANA.LOPEZ@EXAMPLE.COM"):
        found = book.find_owner(key)
        assert found is not None, key
        assert found.id == "005A"
    ben = book.find_owner("BEN@example.COM")
    assert ben is not None
    assert ben.id == "005B"


def test_find_owner_unknown_is_none() -> None:
    book = owners_book()
    assert book.find_owner("005C") is None
    assert book.find_owner("carl@example.com") is None
    assert book.find_owner("") is None


# --- first won new business -------------------------------------------------------------------


def test_first_won_new_business_picks_the_earliest_close_date() -> None:
    nb = DealKind.NEW_BUSINESS
    book = book_of(
        deal("d1", kind=nb, close=date(2025, 6, 1)),
        deal("d2", kind=nb, close=date(2025, 4, 1)),  # earliest won new business
        deal("d3", kind=nb, status="lost", close=date(2025, 1, 1)),  # lost: ignored
        deal("d4", kind=nb, status="open", close=date(2025, 1, 2)),  # open: ignored
        deal("d5", kind=DealKind.RENEWAL, close=date(2025, 3, 1)),  # not new business
    )
    first = book.first_won_new_business("a1")
    assert first is not None
    assert first.id == "d2"


def test_first_won_new_business_uses_inferred_kinds() -> None:
    book = book_of(
        deal("d1", close=date(2025, 5, 1)),  # blank, later -> expansion
        deal("d2", close=date(2025, 2, 1)),  # blank, first won -> new business
    )
    first = book.first_won_new_business("a1")
    assert first is not None
    assert first.id == "d2"


def test_first_won_new_business_none_without_a_won_one() -> None:
    book = book_of(
        deal("d1", status="lost"),
        deal("d2", status="open", close=None),
        deal("d3", "a2", kind=DealKind.EXPANSION),  # won, but expansion
    )
    assert book.first_won_new_business("a1") is None
    assert book.first_won_new_business("a2") is None
    assert book.first_won_new_business("nope") is None


# --- customers --------------------------------------------------------------------------------


def test_is_customer_by_lifecycle_or_won_deal() -> None:
    by_lifecycle = Account("a1", "One", "o1", lifecycle="customer")
    by_won_deal = Account("a2", "Two", "o1", lifecycle="prospect")
    lost_only = Account("a3", "Three", "o1", lifecycle="prospect")
    nothing = Account("a4", "Four", "o1")
    book = Book(
        [Owner("o1", "Olive", "olive@example.com")],
        [by_lifecycle, by_won_deal, lost_only, nothing],
        [
            deal("d1", "a2", close=date(2020, 1, 1)),  # any won deal, however old
            deal("d2", "a3", status="lost"),
            deal("d3", "a3", status="open", close=None),
        ],
    )
    assert book.is_customer(by_lifecycle) is True
    assert book.is_customer(by_won_deal) is True
    assert book.is_customer(lost_only) is False
    assert book.is_customer(nothing) is False


# --- order ------------------------------------------------------------------------------------


def test_books_from_items_in_different_orders_are_equal_and_sorted_by_id() -> None:
    owners = [Owner("o2", "Two", "two@example.com"), Owner("o1", "One", "one@example.com")]
    accounts = [Account("a2", "Beta", "o2"), Account("a1", "Alpha", "o1")]
    deals = [
        deal("d3", "a2", close=date(2025, 3, 1)),
        deal("d1", "a1", close=date(2025, 5, 1)),
        deal("d2", "a1", close=date(2025, 2, 1)),
        deal("d4", "a2", status="open", created=date(2025, 4, 1), close=None),
    ]
    one = Book(owners, accounts, deals)
    other = Book(reversed(owners), reversed(accounts), reversed(deals))

    assert list(one.owners) == list(other.owners) == ["o1", "o2"]
    assert list(one.owners.values()) == list(other.owners.values())
    assert list(one.accounts) == list(other.accounts) == ["a1", "a2"]
    assert list(one.accounts.values()) == list(other.accounts.values())
    assert [d.id for d in one.deals] == ["d1", "d2", "d3", "d4"]
    assert one.deals == other.deals  # same deals, same resolved kinds, same order
    assert one.deals_by_account == other.deals_by_account
    assert {a: [d.id for d in ds] for a, ds in one.deals_by_account.items()} == {
        "a1": ["d1", "d2"],
        "a2": ["d3", "d4"],
    }
    assert kinds(one.deals) == {
        "d1": DealKind.EXPANSION,  # a1's second win (d2 closed 2025-02-01 first)
        "d2": DealKind.NEW_BUSINESS,
        "d3": DealKind.NEW_BUSINESS,  # a2's only win
        "d4": DealKind.EXPANSION,  # open, created 2025-04-01 after d3 closed 2025-03-01
    }
