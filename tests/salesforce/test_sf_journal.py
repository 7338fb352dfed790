"""The Salesforce adapter's journaled apply: every collections request is bracketed by
an intent and a result, through row locks and dropped answers; a run that dies between
a write and its journal entry is finished by the next one with no record written twice."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sf_helpers import adapter_for, changes_for, new_emulator, writes_of

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.model import Book, DealWindow
from roleSync.plan import PLAN_FORMAT, MetricWrite, OwnershipChange, Plan
from roleSync.sync.recovery import recover
from roleSync.sync.runner import apply_plan
from roleSync.sync.state_open import open_state

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


def batched(adapter: SalesforceAdapter, size: int) -> SalesforceAdapter:
    adapter.rounds = RoundSettings(batch_size=size, lock_pause=0.0)
    return adapter


class RecordingJournal:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, list[str]]] = []
        self.results: dict[int, ApplyResult] = {}

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        self.events.append(("intent", batch_no, [c.account_id for c in changes]))

    def result(self, batch_no: int, result: ApplyResult) -> None:
        self.events.append(("result", batch_no, sorted(result.applied)))
        self.results[batch_no] = result


def test_every_write_request_is_journaled_before_and_after(tmp_path: Path) -> None:
    faults = SalesforceFaults(lock_row_rate=0.2, drop_every=9, drop_after_processing=True, seed=4)
    emu = new_emulator(faults)
    emu.seed(users=12, accounts=400, opportunities=100, seed=3)
    with emu:
        adapter = batched(adapter_for(emu, tmp_path), 50)
        changes = changes_for(adapter.pull(), 250)
        emu.reset_counters()
        journal = RecordingJournal()
        result = adapter.apply(changes, [], journal)
        adapter.close()
        writes = writes_of(emu)
    assert len(result.applied) == 250, (result.failed, result.conflicts)
    intents = [e for e in journal.events if e[0] == "intent"]
    assert len(intents) == emu.counters["collections_patch"]  # one per write request
    assert len(intents) > 5  # the first round's 5 batches and the retries of locked rows
    # Intent, then its result, batch after batch; a result only applies what it intended.
    for n, (before, after) in enumerate(
        zip(journal.events[::2], journal.events[1::2], strict=True)
    ):
        assert (before[:2], after[:2]) == (("intent", n), ("result", n))
        assert set(after[2]) <= set(before[2])
    journaled = {a for r in journal.results.values() for a in r.applied}
    # Applied in a batch result, or (answer dropped) found at its target on the re-read.
    assert journaled <= set(result.applied)
    assert all(writes[c.account_id] == 1 for c in changes)


class Crash(BaseException):
    pass


class DiesAfterWriting:
    """The adapter of a process that dies after batch `batch`'s write, before its result
    reaches the journal."""

    def __init__(self, inner: SalesforceAdapter, batch: int) -> None:
        self.inner, self.batch = inner, batch

    def pull(self, window: DealWindow | None = None) -> Book:
        return self.inner.pull(window)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        assert journal is not None
        outer, inner = self, journal

        class Dying:
            def intent(self, batch_no: int, batch: Sequence[OwnershipChange]) -> None:
                inner.intent(batch_no, batch)

            def result(self, batch_no: int, result: ApplyResult) -> None:
                if batch_no == outer.batch:
                    raise Crash
                inner.result(batch_no, result)

        return self.inner.apply(changes, metric_writes, Dying())

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def org() -> SalesforceEmulator:
    emu = new_emulator()
    emu.seed(users=12, accounts=300, opportunities=100, seed=5)
    return emu


def test_a_run_dead_after_a_write_is_finished_without_writing_twice(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    with org:
        adapter = batched(adapter_for(org, tmp_path), 10)
        book = adapter.pull()
        changes = changes_for(book, 45)
        plan = Plan(
            PLAN_FORMAT,
            adapter.profile.name,
            date(2026, 6, 30),
            365,
            "sha256:test",
            [],
            changes,
            [],
            [],
            summary={"accounts": len(book.accounts)},
        )
        with pytest.raises(Crash):
            apply_plan(
                adapter.profile,
                plan,
                DiesAfterWriting(adapter, 2),
                book_accounts=len(book.accounts),
                mode="apply",
                clock=lambda: NOW,
            )
        adapter.close()
        assert sum(writes_of(org)[c.account_id] for c in changes) == 30  # batches 0, 1, 2

        profile = adapter.profile
        with open_state(profile) as store:
            fresh = batched(adapter_for(org, tmp_path), 10)
            (report,) = recover(store, profile, fresh, clock=lambda: NOW)
            fresh.close()
            audit = store.audit(report.run_id)
    assert len(report.applied) == 45 and not (report.failed or report.conflicts)
    assert sorted(a.account_id for a in audit if a.result == "applied") == sorted(
        c.account_id for c in changes
    )
    for change in changes:
        assert org.store.get("Account", change.account_id)["OwnerId"] == change.to_owner_id  # type: ignore[index]
        assert writes_of(org)[change.account_id] == 1


ROOT = Path(__file__).resolve().parents[2]


def test_json_logs_of_a_salesforce_sync_carry_no_secret(
    small_org: SalesforceEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = tmp_path / "salesforce.yaml"
    shutil.copy(ROOT / "connectors" / "salesforce.example.yaml", profile)
    token = small_org.config.access_token
    monkeypatch.setenv("SF_ACCESS_TOKEN", token)
    monkeypatch.setenv("SF_INSTANCE_URL", small_org.url)
    monkeypatch.setenv("SF_CA_BUNDLE", str(small_org.ca_path))
    args = ["sync", "-c", str(profile), "-r", str(ROOT / "rules"), "--as-of", "2026-06-30"]
    assert main([*args, "--log-format", "json"]) == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.err.splitlines()]
    assert [e["event"] for e in events][-1] == "run-finished"
    assert any(e["event"] == "batch" for e in events)
    assert token not in captured.err + captured.out
    assert str(small_org.config.refresh_token) not in captured.err


def test_every_fault_and_a_human_through_a_journaled_run_audits_each_change_once(
    tmp_path: Path,
) -> None:
    emu = new_emulator()
    emu.seed(users=15, accounts=800, opportunities=100, seed=8)
    with emu:
        adapter = batched(adapter_for(emu, tmp_path, method="refresh_token"), 100)
        book = adapter.pull()
        changes = changes_for(book, 600)
        # People edit owners between plan and apply: their edits must stand.
        active = [o.id for o in book.owners.values() if o.active]
        human = {
            c.account_id: next(o for o in active if o not in (c.from_owner_id, c.to_owner_id))
            for c in changes[::100]
        }
        for account_id, someone in human.items():
            emu.store.update("Account", account_id, {"OwnerId": someone})
        before = Counter(writes_of(emu))
        emu.set_faults(
            SalesforceFaults(
                unavailable_every=7,  # 503
                slow_every=11,
                slow_seconds=0.05,
                drop_every=5,  # connection dropped after the write was processed
                drop_after_processing=True,
                invalid_session_after=6,  # expired tokens, refreshed
                lock_row_rate=0.15,  # UNABLE_TO_LOCK_ROW
                lock_row_attempts=2,
                seed=4,
            )
        )
        plan = Plan(PLAN_FORMAT, adapter.profile.name, date(2026, 6, 30), 365, "sha256:t",
                    [], changes, [], [], summary={"accounts": len(book.accounts)})  # fmt: skip
        report = apply_plan(
            adapter.profile,
            plan,
            adapter,
            book_accounts=len(book.accounts),
            mode="apply",
            clock=lambda: NOW,
            allow_large=True,
        )
        adapter.close()
        writes = writes_of(emu)
        with open_state(adapter.profile) as store:
            audit = store.audit(report.run_id)
            open_rows = store.intended_accounts(report.run_id)
    faults = {k for k, v in emu.counters.items() if k.startswith("fault_") and v}
    assert faults >= {"fault_unavailable", "fault_drop", "fault_invalid_session"}
    results = {a.account_id: a.result for a in audit}
    assert len(audit) == len(results) == 600  # each change exactly once
    assert {a for a, r in results.items() if r == "conflict"} == set(human)
    assert sum(1 for r in results.values() if r == "applied") == 600 - len(human)
    for change in changes:
        assert writes[change.account_id] - before[change.account_id] == (
            change.account_id not in human
        )
    assert open_rows >= {a for a, r in results.items() if r == "applied"}
    assert report.ok
