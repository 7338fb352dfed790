"""Applying ownership changes and metric writes to an emulated org: compare-and-set,
per-record results, row-lock retries, deleted accounts, metrics, the mirror."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from sf_helpers import (
    adapter_for,
    changes_for,
    env_for,
    fast_policy,
    new_emulator,
    profile_for,
    writes_of,
)

from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.emulators.salesforce.schema import make_id
from roleSync.metrics import compute_role_metrics
from roleSync.plan import MetricWrite, PlanInputs, build_plan
from roleSync.profile.sections import MetricsSection
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_changes_are_written_and_the_mirror_follows(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    changes = changes_for(book, 30)
    small_org.reset_counters()
    result = adapter.apply(changes, [])
    assert sorted(result.applied) == sorted(c.account_id for c in changes)
    assert not (result.failed or result.conflicts or result.already_applied)
    for change in changes:
        assert small_org.store.get("Account", change.account_id)["OwnerId"] == change.to_owner_id  # type: ignore[index]
    # One compare-and-set read, one collections write, one pull of what was written.
    assert small_org.counters["collections_retrieve"] == 1
    assert small_org.counters["collections_patch"] == 1
    assert not [e.soql for e in small_org.log if e.soql and " Id IN " in e.soql]
    assert small_org.counters["auto_assign_false"] == 1
    assert small_org.counters["auto_assign_missing"] == 0
    after = adapter.pull()
    assert all(after.accounts[c.account_id].owner_id == c.to_owner_id for c in changes)

    # Applying the same plan again writes nothing: every change is already applied.
    small_org.reset_counters()
    again = adapter_for(small_org, tmp_path)
    again.pull()
    result = again.apply(changes, [])
    assert sorted(result.already_applied) == sorted(c.account_id for c in changes)
    assert small_org.counters["write_requests"] == 0


def test_an_owner_edited_after_the_plan_is_not_overwritten(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    changes = changes_for(book, 5)
    human, locked, deleted = changes[0], changes[1], changes[2]
    someone = next(
        o.id
        for o in book.owners.values()
        if o.active and o.id not in (human.from_owner_id, human.to_owner_id)
    )
    small_org.store.update("Account", human.account_id, {"OwnerId": someone})
    small_org.store.update("Account", locked.account_id, {"Do_Not_Route__c": True})
    small_org.store.delete("Account", deleted.account_id)
    written_before = writes_of(small_org)[human.account_id]

    result = adapter.apply(changes, [])
    assert result.conflicts == {human.account_id: someone}
    assert small_org.store.get("Account", human.account_id)["OwnerId"] == someone  # type: ignore[index]
    assert result.failed == {
        locked.account_id: "account was locked after the plan was made",
        deleted.account_id: "deleted in Salesforce",
    }
    assert sorted(result.applied) == sorted(c.account_id for c in changes[3:])
    assert writes_of(small_org)[human.account_id] == written_before
    # The mirror now holds what was found: the next plan sees the human's owner.
    assert adapter.pull().accounts[human.account_id].owner_id == someone


def test_inactive_or_unknown_targets_are_refused_before_any_write(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    inactive = next(o.id for o in book.owners.values() if not o.active)
    first, second = changes_for(book, 2)
    result = adapter.apply(
        [replace(first, to_owner_id=inactive), replace(second, to_owner_id="005000000000000AAA")],
        [],
    )
    assert result.failed == {
        first.account_id: f"target owner {inactive} is inactive",
        second.account_id: "target owner 005000000000000AAA no longer exists",
    }
    assert small_org.counters["write_requests"] == 0


def test_locked_rows_are_retried_in_smaller_batches_and_written_once(tmp_path: Path) -> None:
    emu = new_emulator(SalesforceFaults(lock_row_rate=0.3, lock_row_attempts=2, seed=5))
    emu.seed(users=12, accounts=600, opportunities=100, seed=4)
    with emu:
        adapter = adapter_for(emu, tmp_path)
        changes = changes_for(adapter.pull(), 500)
        emu.reset_counters()
        result = adapter.apply(changes, [])
        assert sorted(result.applied) == sorted(c.account_id for c in changes)
        assert not result.failed
        assert all(writes_of(emu)[c.account_id] == 1 for c in changes)
        # 3 full batches, then the locked ~30% in batches of 50, then of 10.
        assert emu.counters["collections_patch"] > 3


def test_rows_locked_for_good_are_reported_with_the_error(tmp_path: Path) -> None:
    emu = new_emulator(SalesforceFaults(lock_row_rate=0.05, lock_row_attempts=100, seed=2))
    emu.seed(users=12, accounts=400, opportunities=100, seed=4)
    with emu:
        adapter = adapter_for(emu, tmp_path)
        changes = changes_for(adapter.pull(), 300)
        result = adapter.apply(changes, [])
        assert result.failed
        assert all(e.startswith("UNABLE_TO_LOCK_ROW") for e in result.failed.values())
        assert len(result.applied) + len(result.failed) == len(changes)
        assert all(writes_of(emu)[a] == 0 for a in result.failed)


def test_bulk_path_maps_results_back_by_record_id(tmp_path: Path) -> None:
    emu = new_emulator(SalesforceFaults(lock_row_rate=0.1, lock_row_attempts=1, seed=9))
    emu.seed(users=12, accounts=400, opportunities=100, seed=4)
    with emu:
        adapter = adapter_for(emu, tmp_path, bulk_threshold=50)
        book = adapter.pull()
        changes = changes_for(book, 300)
        emu.store.delete("Account", changes[0].account_id)
        emu.reset_counters()
        result = adapter.apply(changes, [])
        assert emu.counters["bulk_create"] == 1
        # The deleted account is caught by the compare-and-set read, before the job.
        assert result.failed == {changes[0].account_id: "deleted in Salesforce"}
        assert sorted(result.applied) == sorted(c.account_id for c in changes[1:])
        # Rows locked in the job went through collections afterwards, once each.
        assert emu.counters["collections_patch"] >= 1
        assert all(writes_of(emu)[c.account_id] == 1 for c in changes[1:])


def test_role_metrics_go_into_the_configured_user_fields(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    owners = sorted(o.id for o in book.owners.values())
    writes = [
        MetricWrite(owners[0], {"Sales_Role__c": "hunter", "Win_Rate__c": 0.25}),
        MetricWrite(owners[1], {"Won_Deals__c": 7}),
        MetricWrite(owners[2], {"Managed_Revenue__c": 1.0}),  # not in the profile
    ]
    result = adapter.apply([], writes)
    assert sorted(result.metrics_written) == owners[:2]
    assert result.metrics_failed == {
        owners[2]: "not a destination field of this profile: Managed_Revenue__c"
    }
    first = small_org.store.get("User", owners[0])
    assert first is not None
    assert (first["Sales_Role__c"], first["Win_Rate__c"], first["Won_Deals__c"]) == (
        "hunter",
        0.25,
        None,
    )
    assert adapter.pull().owners[owners[1]].recorded["Won_Deals__c"] == 7


def test_apply_without_a_pull_in_the_same_run(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    """`rolesync apply` of a plan made elsewhere: no mirror yet, a target deactivated
    since the plan. Users are pulled before writing, so the target is refused."""
    changes = changes_for(adapter_for(small_org, tmp_path / "planner").pull(), 6)
    small_org.store.update("User", changes[0].to_owner_id, {"IsActive": False})
    result = adapter_for(small_org, tmp_path / "applier").apply(changes, [])
    gone = {c.account_id for c in changes if c.to_owner_id == changes[0].to_owner_id}
    assert set(result.failed) == gone
    assert all("inactive" in e for e in result.failed.values())
    assert sorted(result.applied) == sorted({c.account_id for c in changes} - gone)


def test_compare_and_set_reads_2000_accounts_a_request_and_null_is_gone(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    """`current_owners` (journal recovery) is the compare-and-set read: sObject
    Collections retrieve, 2,000 ids a request; an id answered null is absent."""
    adapter = adapter_for(small_org, tmp_path)
    real = sorted(adapter.pull().accounts)
    deleted = real[0]
    small_org.store.delete("Account", deleted)
    missing = [make_id("001", 900_000 + n) for n in range(2_000)]  # well-formed, no such
    small_org.reset_counters()
    found = adapter.current_owners([*real, *missing, real[1]])
    assert set(found) == set(real) - {deleted}
    assert all(found[a] == small_org.store.get("Account", a)["OwnerId"] for a in found)  # type: ignore[index]
    # 2,300 distinct ids: two requests, and nothing else.
    assert small_org.counters["collections_retrieve"] == 2
    assert small_org.counters["api_requests"] == 2


def test_a_dropped_compare_and_set_read_is_read_again(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    """The retrieve is a POST, but only reads: a dropped connection is retried like a
    query's, not reported as a write of unknown outcome."""
    adapter = adapter_for(small_org, tmp_path)
    ids = sorted(adapter.pull().accounts)[:10]
    small_org.set_faults(SalesforceFaults(drop_every=2))  # numbering starts again
    small_org.reset_counters()
    first = adapter.client.retrieve("Account", ids, ["OwnerId"])
    second = adapter.client.retrieve("Account", ids, ["OwnerId"])
    assert first == second and sorted(first) == ids
    assert [(e.kind, e.fault) for e in small_org.log] == [
        ("collections_retrieve", None),
        ("collections_retrieve", "drop"),
        ("collections_retrieve", None),
    ]


def test_unanswered_metric_writes_are_read_back_not_written_twice(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    owners = sorted(o.id for o in adapter.pull().owners.values() if o.active)[:3]
    writes = [MetricWrite(o, {"Won_Deals__c": 5, "Sales_Role__c": "farmer"}) for o in owners]
    before = {o: writes_of(small_org)[o] for o in owners}
    # Every second answer is lost: request 1 refreshes users, 2 is the compare-and-set
    # read (answer lost, read again: 3), 4 is the write: it lands, its answer is lost.
    small_org.set_faults(SalesforceFaults(drop_every=2, drop_after_processing=True))
    small_org.reset_counters()
    result = adapter.apply([], writes)
    assert sorted(result.metrics_written) == owners and not result.metrics_failed
    assert all(writes_of(small_org)[o] - before[o] == 1 for o in owners)
    # The unanswered write was read back once (5), through a User collections retrieve.
    assert small_org.counters["collections_patch"] == 1
    assert small_org.counters["collections_retrieve"] == 3
    retrieve = next(e for e in small_org.log if e.kind == "collections_retrieve")
    assert retrieve.path.endswith("/composite/sobjects/User")


def test_farming_and_hunting_metrics_land_in_their_user_fields(tmp_path: Path) -> None:
    """A plan of an emulated org, under a profile naming fields for the new metrics,
    writes each owner's values into exactly those User fields."""
    fields = {
        "role": "Sales_Role__c",
        "renewal_rate": "Renewal_Rate__c",
        "net_revenue_retention": "Net_Revenue_Retention__c",
        "churned_accounts": "Churned_Accounts__c",
        "new_logos": "New_Logos__c",
        "new_business_win_rate": "New_Business_Win_Rate__c",
    }
    as_of = date(2026, 6, 30)
    emu = new_emulator()
    emu.seed(users=12, accounts=300, opportunities=700, seed=3, as_of=as_of)
    with emu:
        profile = profile_for(emu, tmp_path)
        profile = profile.model_copy(update={"metrics": MetricsSection(fields=fields)})
        adapter = SalesforceAdapter(
            profile,
            env=env_for(emu),
            policy=fast_policy(),
            rounds=RoundSettings(lock_pause=0.0),
            sleep=lambda seconds: None,
        )
        book = adapter.pull()
        rules = load_rule_set([RULES])
        inputs = PlanInputs(
            "sf-test",
            CompiledRoles(rules.roles),
            CompiledRouting(rules.routing),
            rules.digest,
            as_of,
            metric_fields=fields,
        )
        plan = build_plan(book, inputs)
        result = adapter.apply([], plan.metric_writes)
        assert sorted(result.metrics_written) == sorted(w.owner_id for w in plan.metric_writes)
        assert not result.metrics_failed
        # The plan writes the figures of the book after its own moves.
        moves = {c.account_id: c.to_owner_id for c in plan.changes}
        metrics = compute_role_metrics(book, as_of, rules.roles.window_days, moves)
        written = [metrics[w.owner_id] for w in plan.metric_writes]
        # The seed's opportunities span two years: some owner renewed, some owner has a
        # book with revenue at the window's start, some won new logos.
        assert any(m.renewal_rate is not None for m in written)
        assert any(m.net_revenue_retention is not None for m in written)
        assert any(m.new_logos for m in written)
        for write in plan.metric_writes:
            user = emu.store.get("User", write.owner_id)
            assert user is not None
            figures = metrics[write.owner_id]
            assert user["Renewal_Rate__c"] == figures.renewal_rate
            assert user["Net_Revenue_Retention__c"] == figures.net_revenue_retention
            assert user["Churned_Accounts__c"] == figures.churned_accounts
            assert user["New_Logos__c"] == figures.new_logos
            assert user["New_Business_Win_Rate__c"] == figures.new_business_win_rate
