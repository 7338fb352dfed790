"""Handoffs and routes, end to end through build_plan on hand-made books."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from builders import AS_OF, account, inputs, owner, routing, won
from roleSync.model import Account, Book, DealKind, Owner
from roleSync.plan import Plan, SkipCode, build_plan

FARMER_ALL = {"id": "all", "assign": {"pool": {"role": "farmer"}, "strategy": "round_robin"}}


def book(
    *,
    customers: int = 4,
    farmer_books: dict[str, int] | None = None,
    extra_owners: tuple[Owner, ...] = (),
    extra_accounts: tuple[Account, ...] = (),
    **account_kw: Any,
) -> Book:
    """Hank hunts (new business only); fran and fred farm (expansion only).

    Hank owns `customers` accounts won 2026-05-01. Each farmer owns the accounts
    listed in `farmer_books` (default 1 each), with an expansion deal won in the window.
    """
    owners = [owner("hank", title="Account Manager"), owner("fran"), owner("fred"), *extra_owners]
    accounts, deals = [], []
    for i in range(customers):
        accounts.append(account(f"c{i}", "hank", **account_kw))
        deals.append(won(f"d-c{i}", f"c{i}", "hank", date(2026, 5, 1)))
    for farmer, count in (farmer_books or {"fran": 1, "fred": 1}).items():
        for i in range(count):
            aid = f"{farmer}-{i}"
            accounts.append(account(aid, farmer, lifecycle="customer"))
            deals.append(
                won(
                    f"d-{aid}",
                    aid,
                    farmer,
                    date(2026, 3, 1),
                    DealKind.EXPANSION,
                    amount=10_000.0 * (i + 1),
                )
            )
    return Book(owners, [*accounts, *extra_accounts], deals)


def moves(plan: Plan) -> dict[str, str]:
    return {c.account_id: c.to_owner_id for c in plan.changes}


def skips(plan: Plan) -> dict[str, str]:
    return {s.account_id: s.code for s in plan.skipped}


def test_owners_are_classified_by_deal_mix_and_title_does_not_matter() -> None:
    plan = build_plan(book(), inputs(routing(FARMER_ALL)))
    roles = {o.owner_id: (o.role.value, o.rule_id) for o in plan.owners}
    assert roles == {
        "hank": ("hunter", "hunter"),
        "fran": ("farmer", "farmer"),
        "fred": ("farmer", "farmer"),
    }
    hank = next(o for o in plan.owners if o.owner_id == "hank")
    assert hank.title == "Account Manager"
    assert hank.reason == "hunter: new_business_share=1"


def test_round_robin_alternates_in_email_order_and_continues_from_rotation() -> None:
    plan = build_plan(book(), inputs(routing(FARMER_ALL)))
    assert moves(plan) == {"c0": "fran", "c1": "fred", "c2": "fran", "c3": "fred"}
    assert plan.rotation == {"all": "fred"}
    resumed = build_plan(book(), inputs(routing(FARMER_ALL), rotation={"all": "fran"}))
    assert moves(resumed) == {"c0": "fred", "c1": "fran", "c2": "fred", "c3": "fran"}


def test_rotation_naming_a_departed_owner_starts_from_the_top() -> None:
    plan = build_plan(book(customers=1), inputs(routing(FARMER_ALL), rotation={"all": "gone"}))
    assert moves(plan) == {"c0": "fran"}


def test_least_loaded_by_accounts_fills_the_lighter_book_first() -> None:
    route = {"id": "ll", "assign": {"pool": {"role": "farmer"}, "strategy": "least_loaded"}}
    plan = build_plan(book(farmer_books={"fran": 3, "fred": 1}), inputs(routing(route)))
    # fred 1 -> c0 (fred 2) -> c1 (fred 3) -> tie 3/3, fran first by email -> c3 fred.
    assert moves(plan) == {"c0": "fred", "c1": "fred", "c2": "fran", "c3": "fred"}
    assert "least loaded by accounts (1 accounts, lowest of 2 eligible)" in plan.changes[0].reason


def test_least_loaded_by_revenue_uses_won_amount_on_owned_accounts() -> None:
    route = {
        "id": "ll",
        "assign": {"pool": {"role": "farmer"}, "strategy": "least_loaded", "balance_by": "revenue"},
    }
    # fran: two accounts, 10k + 20k = 30k; fred: one account 10k, plus each customer brings 1k.
    plan = build_plan(
        book(customers=3, farmer_books={"fran": 2, "fred": 1}), inputs(routing(route))
    )
    # fred 10k -> c0 (11k) -> c1 (12k) -> ... fred stays lightest until 30k.
    assert moves(plan) == {"c0": "fred", "c1": "fred", "c2": "fred"}
    assert "managed revenue 10,000" in plan.changes[0].reason


def test_capacity_caps_skip_full_farmers_and_report_when_all_are_full() -> None:
    route = {
        "id": "cap",
        "assign": {
            "pool": {"role": "farmer"},
            "strategy": "round_robin",
            "capacity": {"max_accounts": 2},
        },
    }
    plan = build_plan(
        book(customers=4, farmer_books={"fran": 2, "fred": 1}), inputs(routing(route))
    )
    # fran is full (2); fred takes c0 (now 2) and then everyone is full.
    assert moves(plan) == {"c0": "fred"}
    assert skips(plan) == {
        "c1": SkipCode.NO_FARMER,
        "c2": SkipCode.NO_FARMER,
        "c3": SkipCode.NO_FARMER,
    }
    reason = next(s.reason for s in plan.skipped if s.account_id == "c1")
    assert reason == "route cap: no eligible farmer among 2 (2 at capacity (2 accounts))"


def test_inactive_owners_never_receive_accounts() -> None:
    ina = owner("ina", active=False)
    route = {
        "id": "named",
        "assign": {"pool": ["ina@example.com", "fran@example.com"], "strategy": "round_robin"},
    }
    plan = build_plan(book(extra_owners=(ina,)), inputs(routing(route)))
    assert set(moves(plan).values()) == {"fran"}
    only_ina = {"id": "named", "assign": {"pool": ["INA@example.com"]}}
    plan = build_plan(book(customers=1, extra_owners=(ina,)), inputs(routing(only_ina)))
    assert moves(plan) == {}
    assert plan.skipped[0].reason == "route named: no eligible farmer among 1 (1 inactive)"


def test_locked_accounts_never_move() -> None:
    plan = build_plan(book(customers=2, locked=True), inputs(routing(FARMER_ALL)))
    assert moves(plan) == {}
    assert skips(plan) == {"c0": SkipCode.LOCKED, "c1": SkipCode.LOCKED}


def test_accounts_of_farmers_and_accounts_without_a_won_deal_stay() -> None:
    prospect = account("p0", "hank")
    handed = account("h0", "fran")  # hank won it, fran already farms it
    base = book(customers=0, extra_accounts=(prospect, handed))
    plan = build_plan(
        Book(
            base.owners.values(),
            base.accounts.values(),
            [*base.deals, won("d-h0", "h0", "hank", date(2026, 5, 1))],
        ),
        inputs(routing(FARMER_ALL)),
    )
    assert moves(plan) == {} and plan.skipped == []
    assert plan.summary["stays"] == 1  # h0 sits with a farmer
    # the prospect and the farmers' own accounts (expansion deals only) have no trigger
    assert plan.summary["no_trigger"] == 3


def test_no_route_matched_is_reported_not_dropped() -> None:
    emea = {
        "id": "emea",
        "when": {"field": "account.region", "op": "in", "value": ["EMEA"]},
        "assign": {"pool": {"role": "farmer"}},
    }
    plan = build_plan(book(customers=1, region="NA"), inputs(routing(emea)))
    assert skips(plan) == {"c0": SkipCode.NO_ROUTE}
    assert plan.skipped[0].reason == "no route matched (segment=-, region=NA)"


def test_handoff_waits_for_delay_days() -> None:
    # Won 2026-05-01; with 60 days' delay the handoff is due 2026-06-30 == as_of: it moves.
    assert (
        len(build_plan(book(customers=1), inputs(routing(FARMER_ALL, delay_days=60))).changes) == 1
    )
    pending = build_plan(book(customers=1), inputs(routing(FARMER_ALL, delay_days=61)))
    assert skips(pending) == {"c0": SkipCode.PENDING}
    assert pending.skipped[0].reason == "first new business won 2026-05-01; handoff due 2026-07-01"


def test_accounts_of_inactive_owners_are_handed_off_unless_disabled() -> None:
    gone = owner("gina", active=False)
    orphan = account("o0", "gina")
    deal = won("d-o0", "o0", "gina", date(2026, 4, 1))
    base = book(customers=0, extra_owners=(gone,), extra_accounts=(orphan,))
    with_orphan = Book(base.owners.values(), base.accounts.values(), [*base.deals, deal])
    plan = build_plan(with_orphan, inputs(routing(FARMER_ALL)))
    assert moves(plan) == {"o0": "fran"}
    assert plan.changes[0].reason.startswith("owner inactive;")
    kept = build_plan(with_orphan, inputs(routing(FARMER_ALL, from_inactive_owners=False)))
    assert moves(kept) == {}


def test_routes_match_first_in_order_on_account_fields() -> None:
    big = {
        "id": "big",
        "when": {
            "all": [
                {"field": "account.segment", "op": "eq", "value": "enterprise"},
                {"field": "account.fields.employees", "op": "gte", "value": 1000},
            ]
        },
        "assign": {"pool": ["fred@example.com"]},
    }
    rest = {"id": "rest", "assign": {"pool": ["fran@example.com"]}}
    ent = account("e0", "hank", segment="Enterprise ", fields={"employees": "5000"})
    small_ent = account("e1", "hank", segment="Enterprise", fields={"employees": "200"})
    base = book(customers=0, extra_accounts=(ent, small_ent))
    deals = [
        won("d-e0", "e0", "hank", date(2026, 5, 1)),
        won("d-e1", "e1", "hank", date(2026, 5, 2)),
    ]
    plan = build_plan(
        Book(base.owners.values(), base.accounts.values(), [*base.deals, *deals]),
        inputs(routing(big, rest)),
    )
    assert {c.account_id: (c.to_owner_id, c.rule_id) for c in plan.changes} == {
        "e0": ("fred", "big"),
        "e1": ("fran", "rest"),
    }


def test_oldest_trigger_is_served_first_when_capacity_runs_short() -> None:
    route = {"id": "one", "assign": {"pool": ["fran@example.com"], "capacity": {"max_accounts": 2}}}
    base = book(customers=0, farmer_books={"fran": 1, "fred": 1})
    newer, older = account("a-new", "hank"), account("z-old", "hank")
    deals = [
        won("d1", "a-new", "hank", date(2026, 5, 20)),
        won("d2", "z-old", "hank", date(2026, 5, 2)),
    ]
    plan = build_plan(
        Book(base.owners.values(), [*base.accounts.values(), newer, older], [*base.deals, *deals]),
        inputs(routing(route)),
    )
    assert moves(plan) == {"z-old": "fran"}
    assert skips(plan) == {"a-new": SkipCode.NO_FARMER}


def test_plan_is_byte_identical_and_round_trips() -> None:
    first = build_plan(book(), inputs(routing(FARMER_ALL))).to_json()
    second = build_plan(book(), inputs(routing(FARMER_ALL))).to_json()
    assert first == second
    assert Plan.from_json(first, "plan.json").to_json() == first


def test_metric_writes_only_for_owners_whose_recorded_values_differ() -> None:
    fields = {"role": "role__c", "new_business_share": "nb_share__c"}
    fresh = build_plan(book(), inputs(routing(FARMER_ALL), metric_fields=fields))
    written = {w.owner_id: dict(w.values) for w in fresh.metric_writes}
    assert written["hank"] == {"role__c": "hunter", "nb_share__c": 1.0}
    assert written["fran"] == {"role__c": "farmer", "nb_share__c": 0.0}
    # Once the CRM holds hank's values, hank is not written again.
    stored = book()
    hank = replace(stored.owners["hank"], recorded=written["hank"])
    again = Book(
        [hank, stored.owners["fran"], stored.owners["fred"]], stored.accounts.values(), stored.deals
    )
    later = build_plan(again, inputs(routing(FARMER_ALL), metric_fields=fields))
    assert sorted(w.owner_id for w in later.metric_writes) == ["fran", "fred"]
    assert later.as_of == AS_OF
