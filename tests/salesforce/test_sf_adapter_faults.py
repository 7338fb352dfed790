"""Every fault the emulator injects, alone and all at once: each planned change ends
applied or reported with its error, none lost, none written twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import adapter_for, changes_for, fast_policy, new_emulator, writes_of

from roleSync.adapters.base import ApplyResult
from roleSync.adapters.resilience import AuthenticationError, DailyLimitError
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.errors import ExitCode
from roleSync.plan import OwnershipChange

CHANGES = 900


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emu = new_emulator()
    emu.seed(users=15, accounts=1000, opportunities=300, seed=8)
    with emu:
        yield emu


def _planned(emu: SalesforceEmulator, folder: Path) -> list[OwnershipChange]:
    """Pull without faults (the mirror then exists) and plan CHANGES changes."""
    return changes_for(adapter_for(emu, folder).pull(), CHANGES)


def _accounted(
    emu: SalesforceEmulator,
    changes: list[OwnershipChange],
    result: ApplyResult,
    before: Counter[str],
) -> None:
    """None lost, none written twice, and the org agrees with the result."""
    ids = [c.account_id for c in changes]
    buckets = [
        set(result.applied),
        set(result.already_applied),
        set(result.conflicts),
        set(result.failed),
    ]
    assert sum(len(b) for b in buckets) == len(ids), "an entry is in two buckets"
    assert set().union(*buckets) == set(ids), "an entry is lost"
    writes = writes_of(emu)
    assert all(writes[i] - before[i] <= 1 for i in ids), "a record was written twice"
    for change in changes:
        owner = emu.store.get("Account", change.account_id)["OwnerId"]  # type: ignore[index]
        if change.account_id in result.applied:
            assert owner == change.to_owner_id
            assert writes[change.account_id] - before[change.account_id] == 1
        elif change.account_id in result.failed:
            assert owner == change.from_owner_id


@pytest.mark.parametrize(
    ("faults", "seen"),
    [
        (SalesforceFaults(unavailable_every=4), "fault_unavailable"),
        (SalesforceFaults(slow_every=5, slow_seconds=0.3), "fault_slow"),
        (SalesforceFaults(drop_every=4), "fault_drop"),
        (SalesforceFaults(drop_every=4, drop_after_processing=True), "fault_drop"),
        (SalesforceFaults(invalid_session_after=3), "fault_invalid_session"),
        # Locked rows cost extra collections requests: more than 900 / 200 rounded up.
        (SalesforceFaults(lock_row_rate=0.2, lock_row_attempts=2, seed=3), "collections_patch"),
    ],
    ids=["503", "slow", "drop-before", "drop-after", "invalid-session", "row-locks"],
)
def test_one_fault(
    org: SalesforceEmulator, tmp_path: Path, faults: SalesforceFaults, seen: str
) -> None:
    changes = _planned(org, tmp_path)
    org.set_faults(faults)
    org.reset_counters()
    before = Counter(writes_of(org))
    adapter = adapter_for(org, tmp_path, method="refresh_token")
    adapter.pull()
    result = adapter.apply(changes, [])
    _accounted(org, changes, result, before)
    assert sorted(result.applied) == sorted(c.account_id for c in changes)
    assert org.counters[seen] > (5 if seen == "collections_patch" else 0)


def test_a_read_that_times_out_is_retried(org: SalesforceEmulator, tmp_path: Path) -> None:
    org.set_faults(SalesforceFaults(slow_every=2, slow_seconds=0.6))
    adapter = adapter_for(org, tmp_path, policy=fast_policy(timeout=(5.0, 0.3)))
    assert len(adapter.pull().accounts) == 1000
    assert org.counters["fault_slow"] >= 1
    assert adapter.requests_sent > 3  # each timed-out query was sent again


def test_every_fault_at_once(org: SalesforceEmulator, tmp_path: Path) -> None:
    changes = _planned(org, tmp_path)
    org.set_faults(
        SalesforceFaults(
            unavailable_every=7,
            slow_every=11,
            slow_seconds=0.2,
            drop_every=5,
            drop_after_processing=True,
            invalid_session_after=6,
            lock_row_rate=0.15,
            lock_row_attempts=2,
            seed=4,
        )
    )
    before = Counter(writes_of(org))
    adapter = adapter_for(org, tmp_path, method="refresh_token")
    adapter.pull()
    result = adapter.apply(changes, [])
    _accounted(org, changes, result, before)
    assert len(result.applied) == CHANGES
    faults = {k for k, v in org.counters.items() if k.startswith("fault_") and v}
    assert faults >= {"fault_unavailable", "fault_slow", "fault_drop", "fault_invalid_session"}


def test_daily_limit_stops_cleanly_and_a_later_run_finishes(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    changes = _planned(org, tmp_path)
    before = Counter(writes_of(org))
    org.reset_usage()
    # The pull (3) and part of the writes fit; then the org's daily limit is reached.
    org.set_faults(SalesforceFaults(request_limit_after=8))
    adapter = adapter_for(org, tmp_path)
    adapter.pull()
    result = adapter.apply(changes, [])
    _accounted(org, changes, result, before)
    assert result.applied and result.failed
    assert all("daily API request limit" in e for e in result.failed.values())

    # The next day, the same plan again: what was done is recognised, the rest written.
    org.reset_usage()
    org.set_faults(SalesforceFaults())
    again = adapter_for(org, tmp_path)
    again.pull()
    second = again.apply(changes, [])
    assert sorted(second.already_applied) == sorted(result.applied)
    assert sorted(second.applied) == sorted(result.failed)
    assert all(writes_of(org)[c.account_id] - before[c.account_id] == 1 for c in changes)


def test_daily_limit_during_a_pull_stops_the_run_with_exit_3(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    org.reset_usage()
    org.set_faults(SalesforceFaults(request_limit_after=1))
    with pytest.raises(DailyLimitError) as caught:
        adapter_for(org, tmp_path).pull()
    assert caught.value.exit_code is ExitCode.GUARDRAIL


def test_an_expired_access_token_without_refresh_is_reported_not_retried_forever(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    changes = _planned(org, tmp_path)  # 3 requests with the access token
    # The token expires after the next pull (3) and one compare-and-set read.
    org.set_faults(SalesforceFaults(invalid_session_after=7))
    adapter = adapter_for(org, tmp_path, policy=fast_policy())
    adapter.pull()
    result = adapter.apply(changes, [])
    assert not result.applied
    assert all("cannot refresh" in e for e in result.failed.values())
    assert org.config.access_token not in " ".join(result.failed.values())
    with pytest.raises(AuthenticationError):
        adapter_for(org, tmp_path).pull()
