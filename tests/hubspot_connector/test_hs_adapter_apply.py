"""Apply through the real SDK: compare-and-set batch reads right before each batch
write, every outcome reported, the mirror kept up to date; role metrics to the users
object or onto companies; `setup` creating the properties idempotently."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hs_adapter_support import (
    METRIC_FIELDS,
    accounted,
    adapter_for,
    changes_for,
    owner_of,
    portal,
    writes,
)

from roleSync.adapters.hubspot.setup import setup_portal
from roleSync.adapters.resilience import RefusedError
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.model import FieldValue
from roleSync.plan import MetricWrite, OwnershipChange


def test_changes_are_applied_in_batches_of_100_after_a_read(tmp_path: Path) -> None:
    with portal(companies=400, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path)
        changes = changes_for(adapter.pull(), 250)
        emu.reset_counters()
        steps: list[int] = []
        adapter.set_progress(steps.append)  # progress bars advance batch by batch
        result = adapter.apply(changes, [])
        figures = accounted(emu, changes, result, Counter())
        assert figures["applied"] == 250
        assert steps == [100, 100, 50]
        assert emu.counters["companies_batch_update"] == 3
        assert emu.counters["companies_batch_read"] == 3  # one right before each write
        # The mirror holds what was written: the next pull's Book shows it.
        book = adapter.pull()
        assert all(book.accounts[c.account_id].owner_id == c.to_owner_id for c in changes)
        # The same plan again: everything is already applied, nothing written.
        emu.reset_counters()
        again = adapter_for(emu, tmp_path).apply(changes, [])
        assert sorted(again.already_applied) == sorted(c.account_id for c in changes)
        assert emu.counters["write_requests"] == 0


def test_what_changed_between_plan_and_apply_is_not_overwritten(tmp_path: Path) -> None:
    with portal(companies=200, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path)
        changes = changes_for(adapter.pull(), 50)
        store = emu.store
        others = [o.id for o in store.owners()]
        human, locked, archived, beaten = (c.account_id for c in changes[:4])
        # Someone re-assigned one by hand, ticked "do not route" on another, archived a
        # third, and gave a fourth exactly the planned owner.
        by_hand = next(o for o in others if o not in (changes[0].to_owner_id, owner_of(emu, human)))
        store.update("companies", human, {"hubspot_owner_id": by_hand})
        store.update("companies", locked, {"do_not_route": "true"})
        store.archive("companies", archived)
        store.update("companies", beaten, {"hubspot_owner_id": changes[3].to_owner_id})
        before = writes(emu)
        result = adapter_for(emu, tmp_path).apply(changes, [])
        accounted(emu, changes, result, before)
        assert result.conflicts == {human: by_hand}
        assert owner_of(emu, human) == by_hand  # not overwritten
        assert "locked" in result.failed[locked]
        assert "archived" in result.failed[archived]
        assert result.already_applied == [beaten]
        assert len(result.applied) == 46


def test_archived_owners_never_receive_companies(tmp_path: Path) -> None:
    with portal(companies=100, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path)
        book = adapter.pull()
        leaving = next(o for o in book.owners.values() if o.active)
        company = next(a for a in book.accounts.values() if a.owner_id != leaving.id)
        emu.store.archive_owner(leaving.id)  # the person left after the plan was made
        change = OwnershipChange(company.id, company.name, company.owner_id, leaving.id, "r", "x")
        result = adapter_for(emu, tmp_path).apply([change], [])
        assert "inactive" in result.failed[company.id]
        assert emu.counters["write_requests"] == 0


def _metric_writes(emu: HubSpotEmulator, count: int) -> list[MetricWrite]:
    owners = [o.id for o in emu.store.owners()][:count]
    return [
        MetricWrite(
            owner,
            {
                "rolesync_role": "farmer" if n % 2 else "hunter",
                "rolesync_won_deals": n,
                "rolesync_new_business_share": 1 / (n + 3),
                "rolesync_win_rate": None,
            },
        )
        for n, owner in enumerate(owners)
    ]


def test_metrics_go_to_each_owners_users_record(tmp_path: Path) -> None:
    with portal(companies=50, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path)
        assert len(setup_portal(adapter.client, adapter.profile).created) == 4
        adapter.pull()
        metric_writes = _metric_writes(emu, 5)
        result = adapter.apply([], metric_writes)
        assert sorted(result.metrics_written) == sorted(w.owner_id for w in metric_writes)
        users = {u["hs_internal_user_id"]: u for u in emu.store.all("users")}
        for write in metric_writes:
            owner = emu.store.owner(write.owner_id)
            assert owner is not None
            held = users[str(owner.user_id)]
            assert held["rolesync_role"] == write.values["rolesync_role"]
            assert float(held["rolesync_won_deals"] or "nan") == write.values["rolesync_won_deals"]
            # Blank and planned blank: nothing to send.
            assert held.get("rolesync_win_rate") in (None, "")
        # Read back, the values compare equal to what the plan computes: no rewrite.
        book = adapter_for(emu, tmp_path).pull()
        for write in metric_writes:
            assert dict(book.owners[write.owner_id].recorded) == dict(write.values)


def test_metrics_onto_companies_follow_their_owner(tmp_path: Path) -> None:
    with portal(companies=120, deals=0) as emu:
        metrics = {"destination": "companies", "fields": dict(METRIC_FIELDS)}
        adapter = adapter_for(emu, tmp_path, metrics=metrics)
        created = setup_portal(adapter.client, adapter.profile).created
        assert {s.object_type for s in created} == {"companies"}
        book = adapter.pull()
        owner = next(o for o in book.owners.values() if o.active)
        values: dict[str, FieldValue] = {"rolesync_role": "farmer", "rolesync_won_deals": 7,
                  "rolesync_new_business_share": 0.25, "rolesync_win_rate": 0.5}  # fmt: skip
        moved = next(a for a in book.accounts.values() if a.owner_id != owner.id and not a.locked)
        change = OwnershipChange(moved.id, moved.name, moved.owner_id, owner.id, "r", "x")
        result = adapter.apply([change], [MetricWrite(owner.id, values)])
        assert result.applied == [moved.id] and result.metrics_written == [owner.id]
        owned = [c for c in emu.store.all("companies") if c["hubspot_owner_id"] == owner.id]
        assert moved.id in {c["hs_object_id"] for c in owned}
        assert all(c["rolesync_role"] == "farmer" for c in owned)
        # Read back: the owner holds the values (all its companies carry them).
        again = adapter_for(emu, tmp_path, metrics=metrics)
        assert dict(again.pull().owners[owner.id].recorded) == values
        # A company moved by hand to the owner no longer carries them: the owner does not
        # "hold" the role any more, so the next plan writes it again.
        stray = next(c for c in emu.store.all("companies") if c["hubspot_owner_id"] != owner.id)
        emu.store.update("companies", str(stray["hs_object_id"]), {"hubspot_owner_id": owner.id})
        assert "rolesync_role" not in again.pull().owners[owner.id].recorded


def test_setup_creates_only_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with portal(companies=10, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path, properties={"segment": "segmnt"})
        first = setup_portal(adapter.client, adapter.profile)
        assert [s.name for s in first.created] == list(METRIC_FIELDS.values())
        # The emulated portal has the unique task marker already (docs/hubspot.md).
        assert [s.name for s in first.present] == ["do_not_route", "rolesync_key"]
        assert ("companies", "segmnt", "account.segment") in first.missing_inputs
        emu.reset_counters()
        second = setup_portal(adapter.client, adapter.profile)
        assert not second.created and len(second.present) == 6
        assert emu.counters["properties_create"] == 0
        definition = emu.store.properties("users")["rolesync_role"]
        assert definition.type == "enumeration" and "hunter" in definition.options
        # A 409 (created in between) is reported as such, for setup to count as present.
        with pytest.raises(RefusedError) as caught:
            adapter.client.create_property("users", {"name": "rolesync_role", "label": "x",
                                                      "type": "string", "fieldType": "text",
                                                      "groupName": "userinformation"})  # fmt: skip
        assert caught.value.status == 409


def test_setup_creates_the_unique_task_marker_a_portal_lacks(tmp_path: Path) -> None:
    with portal(companies=2, deals=0) as emu:
        with emu.store.lock:
            del emu.store._properties["tasks"]["rolesync_key"]  # a portal before setup
        adapter = adapter_for(emu, tmp_path)
        report = setup_portal(adapter.client, adapter.profile)
        assert ("tasks", "rolesync_key") in {(s.object_type, s.name) for s in report.created}
        marker = emu.store.properties("tasks")["rolesync_key"]
        assert marker.has_unique_value and marker.type == "string"


def test_setup_and_writes_cover_the_farming_and_hunting_metrics(tmp_path: Path) -> None:
    """`rolesync setup` makes a number property for each new metric the profile names,
    and the values written read back equal (empty ratios as blank)."""
    fields = {
        "role": "rolesync_role",
        "net_revenue_retention": "rolesync_net_revenue_retention",
        "renewal_rate": "rolesync_renewal_rate",
        "new_logos": "rolesync_new_logos",
    }
    with portal(companies=20, deals=0) as emu:
        adapter = adapter_for(emu, tmp_path, metrics={"fields": fields})
        created = setup_portal(adapter.client, adapter.profile).created
        specs = {s.name: s for s in created}
        assert set(fields.values()) <= set(specs)
        assert specs["rolesync_net_revenue_retention"].type == "number"
        assert specs["rolesync_net_revenue_retention"].label == "roleSync net revenue retention"
        book = adapter.pull()
        owner = next(o for o in book.owners.values() if o.active)
        values: dict[str, FieldValue] = {
            "rolesync_role": "farmer",
            "rolesync_net_revenue_retention": 1.1875,  # a book that grew: above 1
            "rolesync_renewal_rate": None,  # no renewal due
            "rolesync_new_logos": 2,
        }
        result = adapter.apply([], [MetricWrite(owner.id, values)])
        assert result.metrics_written == [owner.id]
        again = adapter_for(emu, tmp_path, metrics={"fields": fields})
        assert dict(again.pull().owners[owner.id].recorded) == values
