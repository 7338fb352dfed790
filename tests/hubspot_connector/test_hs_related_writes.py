"""Writing what a handoff carries to the emulated portal, through the real adapter and
hubspot-api-client: carried deals, contacts and tasks change owner compare-and-set and
in batches of 100; handoff tasks are created once, associated with their company, even
when a create's answer is lost; every batch is journaled before it is sent."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from hs_adapter_support import adapter_for

from hs_portal import AS_OF, relaxed
from roleSync.adapters.base import RelatedResult, RelatedWriter
from roleSync.adapters.hubspot import HubSpotAdapter
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults
from roleSync.plan.types import (
    HandoffTask,
    RelatedChange,
    RelatedObject,
    TaskFor,
    related_key,
)

BOTH = {"contacts": True, "tasks": True}
OBJECT_TYPES = {
    RelatedObject.DEAL: "deals",
    RelatedObject.CONTACT: "contacts",
    RelatedObject.TASK: "tasks",
}


@contextmanager
def related_portal(contacts: int = 300, tasks: int = 300) -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(relaxed()) as emu:
        emu.seed(
            owners=12,
            companies=120,
            deals=400,
            contacts=contacts,
            tasks=tasks,
            seed=5,
            as_of=AS_OF,
        )
        yield emu
        assert not emu.internal_errors, emu.internal_errors[0]


def _adapter(emu: HubSpotEmulator, folder: Path) -> HubSpotAdapter:
    adapter = adapter_for(emu, folder, pull=BOTH)
    adapter.pull()  # the mirror and its owners, as a run has them before apply
    return adapter


def _active(emu: HubSpotEmulator) -> list[str]:
    return sorted(o.id for o in emu.store.owners())


def _open(emu: HubSpotEmulator, kind: RelatedObject, record: Mapping[str, object]) -> bool:
    if kind is RelatedObject.DEAL:
        return record.get("hs_is_closed") != "true"
    if kind is RelatedObject.TASK:
        return record.get("hs_task_status") != "COMPLETED"
    return True


def carried(emu: HubSpotEmulator, kind: RelatedObject, count: int) -> list[RelatedChange]:
    """`count` open records of `kind` with a company, each carried to another active
    owner than the one it has (from_owner: the owner it has now)."""
    active = _active(emu)
    changes: list[RelatedChange] = []
    object_type = OBJECT_TYPES[kind]
    for record in emu.store.all(object_type):
        record_id = str(record["hs_object_id"])
        company = emu.store.associated(object_type, record_id, "companies")
        owner = record.get("hubspot_owner_id") or None
        if not company or not _open(emu, kind, record):
            continue
        n = len(changes)
        target = next(o for o in active[n % len(active) :] + active if o != owner)
        changes.append(
            RelatedChange(kind, record_id, company[0], owner, target, "carried by the handoff")
        )
        if len(changes) == count:
            return changes
    raise AssertionError(f"only {len(changes)} open {object_type} with a company")


def handoff_tasks(emu: HubSpotEmulator, count: int, prefix: str = "h1") -> list[HandoffTask]:
    companies = [str(c["hs_object_id"]) for c in emu.store.all("companies")]
    active = _active(emu)
    return [
        HandoffTask(
            key=f"{prefix}:{companies[n % len(companies)]}:{n}",
            account_id=companies[n % len(companies)],
            owner_id=active[n % len(active)],
            subject=f"New account {n}: say hello",
            body="You own this account now. Previous owner: Hank.",
            due_date=date(2026, 7, 14),
            for_owner=TaskFor.NEW_OWNER,
            trigger="first_won_new_business",
            handoff_id="default",
        )
        for n in range(count)
    ]


def owner_now(emu: HubSpotEmulator, change: RelatedChange) -> str | None:
    found = emu.store.get(OBJECT_TYPES[change.object], change.record_id)
    assert found is not None
    return found.get("hubspot_owner_id")


def writes(emu: HubSpotEmulator, change: RelatedChange) -> int:
    return emu.store.api_writes[(OBJECT_TYPES[change.object], change.record_id)]


def tasks_by_key(emu: HubSpotEmulator) -> dict[str, list[dict[str, str | None]]]:
    found: dict[str, list[dict[str, str | None]]] = {}
    for task in emu.store.all("tasks"):
        key = task.get("rolesync_key")
        if key:
            found.setdefault(str(key), []).append(task)
    return found


class RecordingJournal:
    """Checks, at each intent, that nothing of the batch has reached the portal yet."""

    def __init__(self, emu: HubSpotEmulator) -> None:
        self.emu = emu
        self.intents: list[tuple[int, list[RelatedChange | HandoffTask]]] = []
        self.results: list[tuple[int, RelatedResult]] = []

    def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None:
        on_portal = tasks_by_key(self.emu)
        for entry in entries:
            if isinstance(entry, HandoffTask):
                assert entry.key not in on_portal, f"{entry.key} created before its intent"
            else:
                assert owner_now(self.emu, entry) == entry.from_owner_id
                assert writes(self.emu, entry) == 0, "written before its intent"
        self.intents.append((batch_no, list(entries)))

    def result(self, batch_no: int, result: RelatedResult) -> None:
        assert self.intents and self.intents[-1][0] == batch_no
        self.results.append((batch_no, result))


def test_the_adapter_is_a_related_writer(tmp_path: Path) -> None:
    with related_portal(contacts=10, tasks=10) as emu:
        adapter = adapter_for(emu, tmp_path)
        assert isinstance(adapter, RelatedWriter)
        assert adapter.apply_related([], []) == RelatedResult()
        assert emu.counters["api_requests"] == 0  # nothing to write: nothing sent
        adapter.close()


def test_moves_deals_contacts_and_tasks_and_the_mirror_follows(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter = _adapter(emu, tmp_path)
        changes = [
            *carried(emu, RelatedObject.DEAL, 30),
            *carried(emu, RelatedObject.CONTACT, 40),
            *carried(emu, RelatedObject.TASK, 20),
        ]
        result = adapter.apply_related(changes, [])
        assert sorted(result.applied) == sorted(related_key(c) for c in changes)
        assert not (result.failed or result.conflicts or result.already_applied)
        for change in changes:
            assert owner_now(emu, change) == change.to_owner_id
            assert writes(emu, change) == 1
        # The mirror holds the new owners before any pull: the next plan sees them.
        book = adapter.mirror.read_book()
        deals = {d.id: d for d in book.deals}
        for change in changes:
            if change.object is RelatedObject.DEAL:
                assert deals[change.record_id].owner_id == change.to_owner_id
            elif change.object is RelatedObject.CONTACT:
                assert book.contacts[change.record_id].owner_id == change.to_owner_id
            else:
                assert book.tasks[change.record_id].owner_id == change.to_owner_id
        # Applied again: already there, nothing written.
        again = adapter.apply_related(changes, [])
        assert sorted(again.already_applied) == sorted(result.applied)
        assert all(writes(emu, c) == 1 for c in changes)
        adapter.close()


def test_compare_and_set_closed_deleted_and_archived_targets(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter = _adapter(emu, tmp_path)
        store = emu.store
        active = _active(emu)
        # The target of one contact leaves (archived owner): no other change goes to them.
        leaver = active[0]

        def not_to_leaver(changes: list[RelatedChange]) -> list[RelatedChange]:
            return [
                c if c.to_owner_id != leaver
                else replace(c, to_owner_id=next(o for o in active[1:] if o != c.from_owner_id))
                for c in changes
            ]  # fmt: skip

        deals = not_to_leaver(carried(emu, RelatedObject.DEAL, 6))
        contacts = not_to_leaver(carried(emu, RelatedObject.CONTACT, 6))
        tasks = not_to_leaver(carried(emu, RelatedObject.TASK, 4))
        contacts[2] = replace(contacts[2], to_owner_id=leaver)
        if contacts[2].from_owner_id == leaver:
            contacts[2] = replace(contacts[2], from_owner_id=active[1])
        # Someone moved a contact and a deal since the plan.
        moved_contact, moved_deal = contacts[0], deals[0]
        other = next(o for o in active if o not in {moved_contact.to_owner_id,
                                                    moved_contact.from_owner_id})  # fmt: skip
        store.update("contacts", moved_contact.record_id, {"hubspot_owner_id": other})
        store.update("deals", moved_deal.record_id, {"hubspot_owner_id": other})
        # A deal won and a task completed since: closed records never move.
        won, done = deals[1], tasks[0]
        store.update("deals", won.record_id, {"dealstage": "closedwon"})
        store.update("tasks", done.record_id, {"hs_task_status": "COMPLETED"})
        # Deleted (archived) since.
        gone_deal, gone_contact = deals[2], contacts[1]
        store.archive("deals", gone_deal.record_id)
        store.archive("contacts", gone_contact.record_id)
        # The leaver is archived: the change to them is refused before any read.
        store.archive_owner(leaver)
        to_leaver = [contacts[2]]

        result = adapter.apply_related([*deals, *contacts, *tasks], [])
        key = related_key
        assert result.conflicts[key(moved_contact)] == other
        assert result.conflicts[key(moved_deal)] == other
        assert result.conflicts[key(won)] == won.from_owner_id
        assert result.conflicts[key(done)] == done.from_owner_id
        assert result.failed[key(gone_deal)] == "deleted or archived in HubSpot"
        assert result.failed[key(gone_contact)] == "deleted or archived in HubSpot"
        for change in to_leaver:
            assert "inactive" in result.failed[key(change)]
        untouched = [moved_contact, moved_deal, won, done, gone_deal, gone_contact, *to_leaver]
        for change in untouched:
            assert writes(emu, change) == 0, key(change)
        assert owner_now(emu, won) == won.from_owner_id
        rest = [c for c in [*deals, *contacts, *tasks] if c not in untouched]
        assert sorted(result.applied) == sorted(key(c) for c in rest)
        decided = [result.applied, result.already_applied, result.conflicts, result.failed]
        assert sum(len(d) for d in decided) == len(deals) + len(contacts) + len(tasks)
        # The mirror forgets the deleted deal and the completed task.
        book = adapter.mirror.read_book()
        assert gone_deal.record_id not in {d.id for d in book.deals}
        assert done.record_id not in book.tasks
        adapter.close()


def test_450_carried_records_take_ceil_n_over_100_batch_updates(tmp_path: Path) -> None:
    with related_portal(contacts=500, tasks=600) as emu:
        adapter = _adapter(emu, tmp_path)
        changes = [
            *carried(emu, RelatedObject.CONTACT, 250),
            *carried(emu, RelatedObject.DEAL, 120),
            *carried(emu, RelatedObject.TASK, 80),
        ]
        assert len(changes) == 450
        before = Counter(emu.counters)
        result = adapter.apply_related(changes, [])
        assert len(result.applied) == 450
        spent = Counter(emu.counters)
        spent.subtract(before)
        updates = sum(spent[f"{o}_batch_update"] for o in OBJECT_TYPES.values())
        # 3 + 2 + 1 batches: one more than ceil(450/100) because each object is its own
        # endpoint (at most one partial batch per object type).
        assert updates <= math.ceil(450 / 100) + 2
        assert updates == 6
        assert spent["write_requests"] == updates
        reads = sum(spent[f"{o}_batch_read"] for o in OBJECT_TYPES.values())
        assert reads == updates  # one compare-and-set read per batch
        estimate = adapter.planned_requests(related=changes)
        assert spent["api_requests"] <= estimate
        adapter.close()


def test_tasks_are_created_once_across_calls_and_associated(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 150)
        first = adapter.apply_related([], tasks)
        assert sorted(first.tasks_created) == sorted(t.key for t in tasks)
        assert emu.counters["tasks_batch_create"] == 2
        second = adapter.apply_related([], tasks)
        assert not second.tasks_created
        assert sorted(second.tasks_existing) == sorted(t.key for t in tasks)
        assert emu.counters["tasks_batch_create"] == 2  # nothing sent the second time
        on_portal = tasks_by_key(emu)
        for task in tasks:
            (found,) = on_portal[task.key]
            task_id = str(found["hs_object_id"])
            assert emu.store.associated("tasks", task_id, "companies") == [task.account_id]
            assert found["hubspot_owner_id"] == task.owner_id
            assert found["hs_task_subject"] == task.subject
            assert found["hs_task_status"] == "NOT_STARTED"
            assert str(found["hs_timestamp"]).startswith("2026-07-14")
        # The mirror holds the new open tasks for their new owners.
        book = adapter.mirror.read_book()
        mirrored = {t.id: t for t in book.tasks.values()}
        for task in tasks:
            task_id = str(on_portal[task.key][0]["hs_object_id"])
            assert mirrored[task_id].owner_id == task.owner_id
            assert mirrored[task_id].account_id == task.account_id
        adapter.close()


def test_a_task_for_an_archived_owner_or_planned_twice_fails_alone(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 20)
        leaver = tasks[3].owner_id
        emu.store.archive_owner(leaver)
        twice = tasks[5]
        result = adapter.apply_related([], [*tasks, twice])
        assert result.tasks_failed[twice.key] == "the plan creates this task twice"
        for task in tasks:
            if task.owner_id == leaver:
                assert "inactive" in result.tasks_failed[task.key]
        assert len(result.tasks_created) + len(result.tasks_failed) == len(tasks)
        assert set(tasks_by_key(emu)) == set(result.tasks_created)
        adapter.close()


def test_a_task_whose_company_is_gone_fails_alone(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 10)
        emu.store.archive("companies", tasks[2].account_id)
        result = adapter.apply_related([], tasks)
        gone = [t.key for t in tasks if t.account_id == tasks[2].account_id]
        assert sorted(result.tasks_failed) == sorted(gone)
        assert "does not exist" in result.tasks_failed[gone[0]]
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks if t.key not in gone)
        adapter.close()


def test_a_lost_create_answer_is_read_back_not_created_again(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 150)
        # Every batch create is processed, and its answer lost.
        emu.set_faults(
            HubSpotFaults(drop_every=1, drop_only="tasks_batch_create", drop_after_processing=True)
        )
        result = adapter.apply_related([], tasks)
        assert emu.counters["fault_drop"] == 2
        assert emu.counters["tasks_batch_create"] == 2  # read back, never re-sent
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks)
        assert all(len(found) == 1 for found in tasks_by_key(emu).values())
        assert len(tasks_by_key(emu)) == 150
        adapter.close()


def test_a_create_dropped_before_processing_is_sent_again_once(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 150)
        # The second batch create is dropped before anything is created.
        emu.set_faults(HubSpotFaults(drop_every=2, drop_only="tasks_batch_create"))
        result = adapter.apply_related([], tasks)
        assert emu.counters["fault_drop"] == 1
        # 2 batches and the second once more after its read-back found nothing.
        assert emu.counters["tasks_batch_create"] == 3
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks)
        assert all(len(found) == 1 for found in tasks_by_key(emu).values())
        assert len(tasks_by_key(emu)) == 150
        adapter.close()


def test_a_key_taken_meanwhile_is_existing_not_duplicated(tmp_path: Path) -> None:
    with related_portal(contacts=0, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        tasks = handoff_tasks(emu, 5)
        # Another run creates one of the keys between our read and our create: the
        # first read-by-key request is answered, then the key appears.
        racing = tasks[1]
        original = adapter.client.batch_read

        def read_then_race(*args: object, **kwargs: object) -> dict[str, object]:
            answer = original(*args, **kwargs)  # type: ignore[arg-type]
            if not tasks_by_key(emu):
                task_id = emu.store.insert(
                    "tasks",
                    {"hs_task_subject": "made elsewhere", "rolesync_key": racing.key,
                     "hs_timestamp": "2026-07-14T00:00:00.000Z"},
                )  # fmt: skip
                emu.store.link("tasks", task_id, "companies", racing.account_id)
            return answer

        adapter.client.batch_read = read_then_race  # type: ignore[method-assign]
        result = adapter.apply_related([], tasks)
        assert result.tasks_existing == [racing.key]
        assert sorted(result.tasks_created) == sorted(t.key for t in tasks if t is not racing)
        assert all(len(found) == 1 for found in tasks_by_key(emu).values())
        adapter.close()


def test_the_journal_sees_each_batch_before_it_is_written(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter = _adapter(emu, tmp_path)
        changes = [
            *carried(emu, RelatedObject.CONTACT, 130),
            *carried(emu, RelatedObject.DEAL, 40),
        ]
        tasks = handoff_tasks(emu, 120)
        journal = RecordingJournal(emu)
        result = adapter.apply_related(changes, tasks, journal)
        numbers = [n for n, _ in journal.intents]
        assert numbers == list(range(len(numbers))) == [n for n, _ in journal.results]
        # Batches hold records or tasks, never both; at most 100 entries each.
        for _, entries in journal.intents:
            assert len({type(e) for e in entries}) == 1 and len(entries) <= 100
        assert len(numbers) == 2 + 1 + 2  # contacts, deals, tasks
        intended = [e for _, entries in journal.intents for e in entries]
        assert sorted(related_key(e) for e in intended if isinstance(e, RelatedChange)) == sorted(
            related_key(c) for c in changes
        )
        assert sorted(e.key for e in intended if isinstance(e, HandoffTask)) == sorted(
            t.key for t in tasks
        )
        journaled = RelatedResult()
        for _, each in journal.results:
            journaled.applied += each.applied
            journaled.tasks_created += each.tasks_created
        assert sorted(journaled.applied) == sorted(result.applied)
        assert sorted(journaled.tasks_created) == sorted(result.tasks_created)
        assert len(result.applied) == 170 and len(result.tasks_created) == 120
        adapter.close()


def test_rate_limits_and_record_conflicts_are_retried_none_written_twice(
    tmp_path: Path,
) -> None:
    with related_portal() as emu:
        adapter = _adapter(emu, tmp_path)
        changes = [
            *carried(emu, RelatedObject.CONTACT, 120),
            *carried(emu, RelatedObject.DEAL, 60),
        ]
        emu.set_faults(HubSpotFaults(rate_limit_every=4, record_error_rate=0.3, seed=2))
        result = adapter.apply_related(changes, handoff_tasks(emu, 30))
        assert emu.counters["fault_rate_limit"] > 0
        assert sorted(result.applied) == sorted(related_key(c) for c in changes)
        assert len(result.tasks_created) == 30
        for change in changes:
            assert owner_now(emu, change) == change.to_owner_id
            assert writes(emu, change) == 1
        # Some records met CONFLICT on their first write and went in a later round.
        assert emu.counters["contacts_batch_update"] > math.ceil(120 / 100)
        adapter.close()


def test_an_unanswered_owner_write_is_read_back_not_sent_again(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter = _adapter(emu, tmp_path)
        changes = carried(emu, RelatedObject.CONTACT, 150)
        emu.set_faults(
            HubSpotFaults(
                drop_every=1, drop_only="contacts_batch_update", drop_after_processing=True
            )
        )
        journal = RecordingJournal(emu)
        result = adapter.apply_related(changes, [], journal)
        assert emu.counters["contacts_batch_update"] == 2  # both landed; neither re-sent
        assert emu.counters["contacts_batch_read"] == 4  # before each write, and after
        assert sorted(result.applied) == sorted(related_key(c) for c in changes)
        assert all(writes(emu, c) == 1 for c in changes)
        # The journal's results of the unanswered batches decided nothing: still open
        # there until the read back, which the result of the call reports.
        assert all(not r.applied for _, r in journal.results)
        adapter.close()


def test_a_record_carried_twice_is_failed_and_not_written(tmp_path: Path) -> None:
    with related_portal(contacts=50, tasks=0) as emu:
        adapter = _adapter(emu, tmp_path)
        changes = carried(emu, RelatedObject.CONTACT, 5)
        twice = changes[2]
        result = adapter.apply_related([*changes, twice], [])
        assert result.failed == {related_key(twice): "the plan carries this record twice"}
        assert writes(emu, twice) == 0
        assert sorted(result.applied) == sorted(related_key(c) for c in changes if c != twice)
        adapter.close()
