"""A property test of territory matches (issue 15: "a territory-matched route never
assigns across regions ... checked by a property test that searches for a
counter-example").

Hypothesis generates books (farmers with region lists written the ways CRMs send them:
any case, stray blanks, empty entries; inactive farmers; accounts in regions nobody
covers or with no region), a strategy, an op and maybe a cap, plans them, and checks
every handoff against an independent reading of the territory. Unlike a seeded random
loop it steers towards edge cases and, on failure, shrinks the book to a minimal one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import account, inputs, routing, won
from roleSync.model import Book, DealKind, Owner
from roleSync.plan import SkipCode, build_plan

REGIONS = ["EMEA", "AMER", "APAC", "UKI"]
# How a region may be written in the CRM: the comparison must see through all of these.
spelled = st.builds(
    lambda region, case, pad: pad + (region.lower() if case else region) + pad,
    st.sampled_from(REGIONS),
    st.booleans(),
    st.sampled_from(["", " ", "  "]),
)
farmer = st.fixed_dictionaries(
    {
        "regions": st.lists(st.one_of(spelled, st.just("")), max_size=3),
        "active": st.booleans() | st.just(True),
    }
)
account_region = st.one_of(spelled, st.sampled_from(["", "MEA"]))


def fold(text: str) -> str:
    return text.strip().casefold()


def covers(owner: Owner, region: str, op: str) -> bool:
    """The territory read independently of rules/territory.py: eq compares the whole
    field, in its `;` entries; blanks never match."""
    raw = str(owner.fields.get("regions") or "")
    held = [raw] if op == "eq" else raw.split(";")
    wanted = fold(region)
    return bool(wanted) and wanted in {fold(h) for h in held if fold(h)}


def make_book(farmers: list[dict[str, Any]], regions: list[str]) -> Book:
    owners = [Owner("hank", "Hank", "hank@example.com")]
    accounts, deals = [], []
    for i, spec in enumerate(farmers):
        fid = f"f{i}"
        owners.append(
            Owner(
                fid,
                f"Farmer {i}",
                f"{fid}@example.com",
                active=spec["active"],
                fields={"regions": ";".join(spec["regions"])},
            )
        )
        accounts.append(account(f"{fid}-0", fid, lifecycle="customer"))
        deals.append(won(f"d-{fid}", f"{fid}-0", fid, date(2026, 3, 1), DealKind.EXPANSION))
    for i, region in enumerate(regions):
        accounts.append(account(f"c{i}", "hank", region=region))
        deals.append(won(f"d-c{i}", f"c{i}", "hank", date(2026, 1, 1) + timedelta(days=i)))
    return Book(owners, accounts, deals)


@settings(max_examples=200, deadline=None)
@given(
    farmers=st.lists(farmer, min_size=1, max_size=6),
    regions=st.lists(account_region, min_size=1, max_size=25),
    strategy=st.sampled_from(["round_robin", "least_loaded", "weighted"]),
    op=st.sampled_from(["in", "eq"]),
    cap=st.none() | st.integers(min_value=1, max_value=4),
)
def test_no_handoff_crosses_a_territory(
    farmers: list[dict[str, Any]], regions: list[str], strategy: str, op: str, cap: int | None
) -> None:
    book = make_book(farmers, regions)
    assign: dict[str, Any] = {
        "pool": {"role": "farmer"},
        "strategy": strategy,
        "match": [{"account": "account.region", "owner": "owner.fields.regions", "op": op}],
    }
    if cap is not None:
        assign["capacity"] = {"max_accounts": cap}
    plan = build_plan(book, inputs(routing({"id": "regional", "assign": assign})))
    pool = [o for o in book.owners.values() if o.id != "hank" and o.active]
    for change in plan.changes:
        region = book.accounts[change.account_id].region
        new_owner = book.owners[change.to_owner_id]
        assert new_owner.active
        assert covers(new_owner, region, op), (change.reason, region, new_owner.fields)
    for skip in plan.skipped:
        region = book.accounts[skip.account_id].region
        assert skip.code == SkipCode.NO_FARMER, skip
        if not pool:
            # every farmer left: the reason counts them inactive
            assert "inactive)" in skip.reason, skip.reason
        elif not any(covers(o, region, op) for o in pool):
            # nobody active covers it: the reason counts the active ones outside
            assert f"{len(pool)} outside territory" in skip.reason, skip.reason
        else:
            # someone covers it, so only a cap can have kept them out
            assert cap is not None and "at capacity" in skip.reason, skip.reason
    moved = {c.account_id for c in plan.changes} | {s.account_id for s in plan.skipped}
    assert moved == {f"c{i}" for i in range(len(regions))}
