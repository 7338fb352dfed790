"""Writing what a handoff carries to an emulated org, through the real adapter and
simple-salesforce over TLS: owners of open deals, contacts and open tasks
(compare-and-set, batched, bulk above the threshold), and handoff tasks created exactly
once, through lost answers and re-runs, each batch journaled before it is sent."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import adapter_for, new_emulator, writes_of

from roleSync.adapters.base import RelatedResult, RelatedWriter
from roleSync.adapters.resilience import BudgetExhaustedError
from roleSync.adapters.rounds import Outcome
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.adapters.salesforce.handoff_tasks import TASK_KEY_FIELD, HandoffTaskCreator
from roleSync.adapters.salesforce.related_rounds import EXISTING
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.emulators.salesforce.faults import load_faults
from roleSync.errors import InputError
from roleSync.model import Book
from roleSync.plan import MetricWrite
from roleSync.plan.types import (
    HandoffTask,
    RelatedChange,
    RelatedObject,
    TaskFor,
    related_key,
)

BOTH = {"contacts": True, "tasks": True}  # the profile's `pull` switches
DUE = date(2026, 7, 14)
SOBJECT = {
    RelatedObject.DEAL: "Opportunity",
    RelatedObject.CONTACT: "Contact",
    RelatedObject.TASK: "Task",
}


def _seeded(faults: SalesforceFaults | None = None, **config: Any) -> SalesforceEmulator:
    emu = new_emulator(faults, **config)
    emu.seed(users=12, accounts=80, opportunities=500, contacts=700, tasks=400, seed=5)
    return emu


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emu = _seeded()
    with emu:
        yield emu
        assert not emu.internal_errors, emu.internal_errors[0]


def _adapter(emu: SalesforceEmulator, folder: Path, **section: Any) -> SalesforceAdapter:
    return adapter_for(emu, folder, pull=BOTH, **section)


def _new_owner(book: Book, account_id: str) -> str:
    """An active owner other than the account's, the same for every call."""
    account = book.accounts[account_id]
    active = sorted(o.id for o in book.owners.values() if o.active and o.id != account.owner_id)
    return active[sum(map(ord, account_id)) % len(active)]


def carried(
    book: Book,
    *,
    objects: Sequence[RelatedObject] = tuple(RelatedObject),
    limit: int | None = None,
) -> list[RelatedChange]:
    """What a handoff of every account (in id order) to a new owner carries: its open
    deals, its contacts, its open tasks (each not owned by the new owner already)."""
    changes: list[RelatedChange] = []
    for account_id in sorted(book.accounts):
        target = _new_owner(book, account_id)
        records: list[tuple[RelatedObject, str, str | None]] = []
        if RelatedObject.DEAL in objects:
            deals = book.deals_by_account.get(account_id, ())
            records += [(RelatedObject.DEAL, d.id, d.owner_id) for d in deals if not d.closed]
        if RelatedObject.CONTACT in objects:
            contacts = book.contacts_by_account.get(account_id, ())
            records += [(RelatedObject.CONTACT, c.id, c.owner_id) for c in contacts]
        if RelatedObject.TASK in objects:
            records += [(RelatedObject.TASK, t.id, t.owner_id) for t in book.open_tasks(account_id)]
        for kind, record_id, owner in records:
            if owner != target:
                changes.append(RelatedChange(kind, record_id, account_id, owner, target, "carried"))
    return changes[:limit]


def handoff_tasks(book: Book, count: int) -> list[HandoffTask]:
    tasks = []
    for account_id in sorted(book.accounts)[:count]:
        owner = _new_owner(book, account_id)
        tasks.append(
            HandoffTask(
                key=f"emea:{account_id}:{owner}:2026-06-30:new_owner",
                account_id=account_id,
                owner_id=owner,
                subject=f"Say hello to {book.accounts[account_id].name}",
                body="The account is yours now.",
                due_date=DUE,
                for_owner=TaskFor.NEW_OWNER,
            )
        )
    return tasks


def owner_in_org(emu: SalesforceEmulator, change: RelatedChange) -> object:
    record = emu.store.get(SOBJECT[change.object], change.record_id)
    assert record is not None
    return record["OwnerId"]


def tasks_by_key(emu: SalesforceEmulator) -> Counter[str]:
    keys = (t[TASK_KEY_FIELD] for t in emu.store.all("Task", include_deleted=True))
    return Counter(str(k) for k in keys if k)


def test_the_adapter_is_a_related_writer(org: SalesforceEmulator, tmp_path: Path) -> None:
    assert isinstance(_adapter(org, tmp_path), RelatedWriter)


def test_deals_contacts_and_tasks_move_and_the_mirror_follows(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = _adapter(org, tmp_path)
    book = adapter.pull()
    changes = carried(book, limit=150)
    assert {c.object for c in changes} == set(RelatedObject)
    accounts = {c.account_id for c in changes}
    won = [d.id for a in accounts for d in book.deals_by_account.get(a, ()) if d.closed and d.won]
    assert won  # closed won deals of these accounts: never in the input, never written
    org.reset_counters()
    result = adapter.apply_related(changes, [])
    assert sorted(result.applied) == sorted(related_key(c) for c in changes)
    assert not (result.failed or result.conflicts or result.already_applied)
    assert all(owner_in_org(org, c) == c.to_owner_id for c in changes)
    assert all(writes_of(org)[c.record_id] == 1 for c in changes)
    assert all(writes_of(org)[d] == 0 for d in won)
    # One read per type, one collections write (150 records, types mixed).
    assert org.counters["collections_retrieve"] == 3
    assert org.counters["collections_patch"] == 1
    assert org.counters["auto_assign_false"] == org.counters["write_requests"] == 1
    assert org.counters["auto_assign_missing"] == 0
    # The mirror holds the new owners: the next plan sees them.
    after = adapter.pull()
    for change in changes:
        if change.object is RelatedObject.DEAL:
            owner = next(
                d.owner_id
                for d in after.deals_by_account[change.account_id]
                if d.id == change.record_id
            )
        elif change.object is RelatedObject.CONTACT:
            owner = after.contacts[change.record_id].owner_id
        else:
            owner = after.tasks[change.record_id].owner_id
        assert owner == change.to_owner_id

    # Again: everything is already applied; nothing is written.
    org.reset_counters()
    again = _adapter(org, tmp_path).apply_related(changes, [])
    assert sorted(again.already_applied) == sorted(related_key(c) for c in changes)
    assert org.counters["write_requests"] == 0


def test_records_changed_since_the_plan_are_left_alone(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = _adapter(org, tmp_path)
    book = adapter.pull()
    changes = carried(book, limit=120)
    deals = [c for c in changes if c.object is RelatedObject.DEAL]
    contacts = [c for c in changes if c.object is RelatedObject.CONTACT]
    tasks = [c for c in changes if c.object is RelatedObject.TASK]
    moved, closed_deal, lost_deal = deals[0], deals[1], deals[2]
    deleted, done_already = contacts[0], contacts[1]
    closed_task = tasks[0]
    someone = next(
        o.id
        for o in book.owners.values()
        if o.active and o.id not in (moved.from_owner_id, moved.to_owner_id)
    )
    org.store.update("Opportunity", moved.record_id, {"OwnerId": someone})
    org.store.update("Opportunity", closed_deal.record_id, {"StageName": "Closed Won"})
    org.store.update("Opportunity", lost_deal.record_id, {"StageName": "Closed Lost"})
    org.store.delete("Contact", deleted.record_id)
    org.store.update("Contact", done_already.record_id, {"OwnerId": done_already.to_owner_id})
    org.store.update("Task", closed_task.record_id, {"Status": "Completed"})
    inactive = next(o.id for o in book.owners.values() if not o.active)
    to_inactive = replace(tasks[1], to_owner_id=inactive)
    plan = [c if c is not tasks[1] else to_inactive for c in changes]
    before = writes_of(org).copy()

    result = adapter.apply_related(plan, [])
    assert result.conflicts == {
        related_key(moved): someone,
        related_key(closed_deal): closed_deal.from_owner_id,
        related_key(lost_deal): lost_deal.from_owner_id,
        related_key(closed_task): closed_task.from_owner_id,
    }
    assert result.failed == {
        related_key(deleted): "deleted in Salesforce",
        related_key(to_inactive): f"target owner {inactive} is inactive",
    }
    assert result.already_applied == [related_key(done_already)]
    untouched = {moved, closed_deal, lost_deal, closed_task, to_inactive, done_already}
    assert all(writes_of(org)[c.record_id] == before[c.record_id] for c in untouched)
    assert owner_in_org(org, moved) == someone
    assert sorted(result.applied) == sorted(
        related_key(c) for c in plan if c not in untouched and c is not deleted
    )
    # The mirror holds what was found: the closed deal is closed, the completed task and
    # the deleted contact are gone, the person's move is there.
    after = adapter.pull()
    deal = next(
        d for d in after.deals_by_account[closed_deal.account_id] if d.id == closed_deal.record_id
    )
    assert deal.closed and deal.won
    assert closed_task.record_id not in after.tasks
    assert deleted.record_id not in after.contacts


def test_an_owner_deactivated_after_the_check_fails_the_record(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    """The adapter refuses targets the refreshed users show inactive; one deactivated
    between that refresh and the write is refused by Salesforce, per record."""
    adapter = _adapter(org, tmp_path)
    changes = carried(adapter.pull(), objects=[RelatedObject.CONTACT], limit=5)
    target = changes[0].to_owner_id
    original = adapter.client.retrieve

    def deactivate_then_read(
        sobject: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        org.store.update("User", target, {"IsActive": False})
        return original(sobject, ids, fields)

    adapter.client.retrieve = deactivate_then_read  # type: ignore[method-assign]
    result = adapter.apply_related(changes, [])
    hit = [c for c in changes if c.to_owner_id == target]
    assert hit and all(
        result.failed[related_key(c)].startswith("INACTIVE_OWNER_OR_USER") for c in hit
    )
    assert all(owner_in_org(org, c) == c.from_owner_id for c in hit)


def test_writes_are_batched_200_a_request_and_bulk_above_the_threshold(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = _adapter(org, tmp_path)
    book = adapter.pull()
    changes = carried(book, limit=450)
    assert len(changes) == 450
    org.reset_counters()
    result = adapter.apply_related(changes, [])
    assert len(result.applied) == 450
    assert org.counters["collections_patch"] <= math.ceil(450 / 200) + 1
    assert org.counters["bulk_create"] == 0
    # Reads: one retrieve per type; the catch-up pull: one query per type.
    assert org.counters["collections_retrieve"] == 3
    assert org.counters["write_requests"] == org.counters["collections_patch"]


def test_more_records_of_a_type_than_the_bulk_threshold_go_as_one_bulk_job(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    # 450 contacts with a bulk threshold of 200: one Bulk API 2.0 job, no collections.
    bulk = _adapter(org, tmp_path, bulk_threshold=200)
    contacts = carried(bulk.pull(), objects=[RelatedObject.CONTACT], limit=450)
    assert len(contacts) == 450
    org.reset_counters()
    result = bulk.apply_related(contacts, [])
    assert sorted(result.applied) == sorted(related_key(c) for c in contacts)
    assert org.counters["bulk_create"] == 1
    assert org.counters["collections_patch"] == 0
    assert all(owner_in_org(org, c) == c.to_owner_id for c in contacts)
    bulk_log = [e for e in org.log if e.kind.startswith("bulk_")]
    assert bulk_log and all(e.headers.get("sforce-auto-assign") == "FALSE" for e in bulk_log)


def test_locked_rows_are_retried_and_written_once(tmp_path: Path) -> None:
    emu = _seeded(SalesforceFaults(lock_row_rate=0.3, lock_row_attempts=2, seed=5))
    with emu:
        adapter = _adapter(emu, tmp_path)
        changes = carried(adapter.pull(), limit=300)
        result = adapter.apply_related(changes, [])
        assert sorted(result.applied) == sorted(related_key(c) for c in changes)
        assert all(writes_of(emu)[c.record_id] == 1 for c in changes)
        assert emu.counters["collections_patch"] > 2


def test_an_owner_write_whose_answer_is_lost_is_read_back_not_repeated(tmp_path: Path) -> None:
    # Every owner update lands, then its answer is lost.
    faults = SalesforceFaults(
        drop_every=1, drop_after_processing=True, only_kinds=("collections_patch",)
    )
    emu = _seeded(faults)
    with emu:
        adapter = _adapter(emu, tmp_path)
        changes = carried(adapter.pull(), limit=120)
        emu.reset_counters()
        result = adapter.apply_related(changes, [])
        assert sorted(result.applied) == sorted(related_key(c) for c in changes)
        assert emu.counters["collections_patch"] == emu.counters["fault_drop"] == 1
        assert all(writes_of(emu)[c.record_id] == 1 for c in changes)
        # Read before the write, and once more after its answer was lost: per type.
        assert emu.counters["collections_retrieve"] == 6


def test_tasks_are_created_once_across_calls(org: SalesforceEmulator, tmp_path: Path) -> None:
    adapter = _adapter(org, tmp_path)
    book = adapter.pull()
    tasks = handoff_tasks(book, 30)
    org.reset_counters()
    first = adapter.apply_related([], tasks)
    assert sorted(first.tasks_created) == sorted(t.key for t in tasks)
    assert not (first.tasks_existing or first.tasks_failed)
    assert org.counters["collections_create"] == 1
    assert org.counters["auto_assign_false"] == org.counters["write_requests"] == 1
    made = {str(t[TASK_KEY_FIELD]): t for t in org.store.all("Task") if t[TASK_KEY_FIELD]}
    for task in tasks:
        created = made[task.key]
        assert (created["WhatId"], created["OwnerId"], created["ActivityDate"]) == (
            task.account_id,
            task.owner_id,
            DUE,
        )
        assert (created["Subject"], created["Description"]) == (task.subject, task.body)
        assert created["IsClosed"] is False
    # The mirror has them as open tasks of their accounts.
    mirrored = adapter.pull()
    assert {made[t.key]["Id"] for t in tasks} <= set(mirrored.tasks)

    org.reset_counters()
    again = _adapter(org, tmp_path).apply_related([], tasks)
    assert sorted(again.tasks_existing) == sorted(t.key for t in tasks)
    assert not again.tasks_created
    assert org.counters["collections_create"] == 0
    assert tasks_by_key(org) == Counter({t.key: 1 for t in tasks})


def test_a_task_deleted_since_is_not_created_again(org: SalesforceEmulator, tmp_path: Path) -> None:
    adapter = _adapter(org, tmp_path)
    tasks = handoff_tasks(adapter.pull(), 3)
    adapter.apply_related([], tasks)
    gone = next(t for t in org.store.all("Task") if t[TASK_KEY_FIELD] == tasks[0].key)
    org.store.delete("Task", str(gone["Id"]))
    result = adapter.apply_related([], tasks)
    assert sorted(result.tasks_existing) == sorted(t.key for t in tasks)
    assert tasks_by_key(org) == Counter({t.key: 1 for t in tasks})


def test_a_duplicate_key_answer_means_the_task_exists(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    """A task made between the lookup and the create (a race): Salesforce refuses the
    create with DUPLICATE_VALUE on the key, which counts as existing, not failed."""
    adapter = _adapter(org, tmp_path)
    tasks = handoff_tasks(adapter.pull(), 2)
    adapter.apply_related([], tasks[:1])
    creator = HandoffTaskCreator(
        adapter.client, adapter.mirror, adapter.profile, RelatedResult(), RoundSettings(), print
    )
    creator.tasks = {t.key: t for t in tasks}
    answers = creator.create([t.key for t in tasks])
    assert answers[tasks[0].key].outcome is Outcome.APPLIED
    assert answers[tasks[0].key].reason == EXISTING
    assert answers[tasks[1].key].outcome is Outcome.APPLIED
    assert answers[tasks[1].key].reason == ""
    assert tasks_by_key(org) == Counter({t.key: 1 for t in tasks})


def test_a_create_whose_answer_is_lost_is_read_back_not_repeated(tmp_path: Path) -> None:
    # Every task create is processed, then its answer is lost.
    faults = SalesforceFaults(
        drop_every=1, drop_after_processing=True, only_kinds=("collections_create",)
    )
    emu = _seeded(faults)
    with emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(adapter.pull(), 40)
        emu.reset_counters()
        result = adapter.apply_related([], tasks)
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks)
        assert not (result.tasks_failed or result.tasks_existing)
        assert emu.counters["collections_create"] == 1
        assert emu.counters["fault_drop"] == 1
        assert tasks_by_key(emu) == Counter({t.key: 1 for t in tasks})


def test_a_create_lost_before_it_landed_is_sent_again_once(tmp_path: Path) -> None:
    # The third create request is dropped before Salesforce processes it.
    emu = _seeded(SalesforceFaults(drop_every=3, only_kinds=("collections_create",)))
    with emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(adapter.pull(), 60)
        adapter.rounds = RoundSettings(batch_size=25, lock_pause=0.0)
        emu.reset_counters()
        result = adapter.apply_related([], tasks)
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks)
        assert tasks_by_key(emu) == Counter({t.key: 1 for t in tasks})
        # Batches of 25, 25, 10; the third dropped, looked up (absent), sent again.
        assert emu.counters["collections_create"] == 4
        assert emu.counters["fault_drop"] == 1


class RecordingJournal:
    """Journals intents and results, and checks at each intent that nothing of the
    batch has landed yet (the intent comes before the write)."""

    def __init__(self, emu: SalesforceEmulator) -> None:
        self.emu = emu
        self.events: list[tuple[str, int, list[str]]] = []
        self.results: dict[int, RelatedResult] = {}

    def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None:
        keys = tasks_by_key(self.emu)
        names = []
        for entry in entries:
            if isinstance(entry, HandoffTask):
                assert keys[entry.key] == 0, f"task {entry.key} exists before its intent"
                names.append(entry.key)
            else:
                assert owner_in_org(self.emu, entry) == entry.from_owner_id
                names.append(related_key(entry))
        kinds = {isinstance(e, HandoffTask) for e in entries}
        assert len(kinds) == 1  # records or tasks, never both
        self.events.append(("intent", batch_no, names))

    def result(self, batch_no: int, result: RelatedResult) -> None:
        done = [*result.applied, *result.tasks_created, *result.tasks_existing]
        self.events.append(("result", batch_no, sorted(done)))
        self.results[batch_no] = result


def test_each_batch_is_journaled_before_it_is_sent(tmp_path: Path) -> None:
    faults = SalesforceFaults(lock_row_rate=0.2, seed=4)
    emu = _seeded(faults)
    with emu:
        adapter = _adapter(emu, tmp_path)
        adapter.rounds = RoundSettings(batch_size=50, lock_pause=0.0)
        book = adapter.pull()
        changes = carried(book, limit=160)
        tasks = handoff_tasks(book, 70)
        emu.reset_counters()
        journal = RecordingJournal(emu)
        result = adapter.apply_related(changes, tasks, journal)
    assert len(result.applied) == 160 and len(result.tasks_created) == 70
    intents = [e for e in journal.events if e[0] == "intent"]
    assert len(intents) == emu.counters["collections_patch"] + emu.counters["collections_create"]
    for n, (before, after) in enumerate(
        zip(journal.events[::2], journal.events[1::2], strict=True)
    ):
        assert (before[:2], after[:2]) == (("intent", n), ("result", n))
        assert set(after[2]) <= set(before[2])
    journaled = {k for r in journal.results.values() for k in (*r.applied, *r.tasks_created)}
    assert journaled == {related_key(c) for c in changes} | {t.key for t in tasks}


def test_the_budget_is_checked_before_any_write(tmp_path: Path) -> None:
    emu = _seeded()
    with emu:
        adapter = _adapter(emu, tmp_path)
        book = adapter.pull()
        changes = carried(book, limit=450)
        tasks = handoff_tasks(book, 40)
        # 20% of what remains of the day: fewer requests than the related writes need.
        emu.config.daily_limit = emu.api_used + 30
        adapter.client.budget = type(adapter.client.budget)(share=0.2)
        emu.reset_counters()
        with pytest.raises(BudgetExhaustedError, match="carried records"):
            adapter.apply_related(changes, tasks)
        assert emu.counters["write_requests"] == 0

        # Announced before `apply`, they make apply stop before its first write too.
        second = _adapter(emu, tmp_path / "second")
        second.pull()
        second.client.budget = type(second.client.budget)(share=0.2)
        second.expect_related(changes, tasks)
        owner = next(o.id for o in book.owners.values() if o.active)
        with pytest.raises(BudgetExhaustedError):
            second.apply([], [MetricWrite(owner, {"Won_Deals__c": 1})])
        assert emu.counters["write_requests"] == 0


def test_a_fault_file_aims_the_faults_at_some_request_kinds(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("drop_every: 1\nonly_kinds: [collections_create]\n", encoding="utf-8")
    assert load_faults(path).only_kinds == ("collections_create",)
    path.write_text("only_kinds: collections_create\n", encoding="utf-8")
    with pytest.raises(InputError, match="only_kinds must be a list"):
        load_faults(path)
