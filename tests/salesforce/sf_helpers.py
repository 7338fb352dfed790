"""Helpers of the Salesforce adapter's tests: emulators, profiles, adapters.

Everything runs against the loopback emulator over TLS with its throwaway CA; the
profiles point the token URL at the emulator too, so no test leaves 127.0.0.1.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roleSync.adapters.resilience import RetryPolicy
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceEmulatorConfig,
    SalesforceFaults,
    SalesforceStore,
)
from roleSync.emulators.salesforce.schema import SObjectDef
from roleSync.emulators.salesforce.store import Record
from roleSync.model import Book
from roleSync.plan import OwnershipChange
from roleSync.profile import Profile

METRIC_FIELDS = {
    "role": "Sales_Role__c",
    "won_deals": "Won_Deals__c",
    "new_business_share": "New_Business_Share__c",
    "win_rate": "Win_Rate__c",
}


class CountingStore(SalesforceStore):
    """The emulator's store, counting every write applied per record id: the proof that
    no record was written twice."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: Counter[str] = Counter()

    def apply_update(self, definition: SObjectDef, record_id: str, changes: Record) -> None:
        self.writes[record_id] += 1
        super().apply_update(definition, record_id, changes)


def new_emulator(faults: SalesforceFaults | None = None, **config: Any) -> SalesforceEmulator:
    emu = SalesforceEmulator(
        SalesforceEmulatorConfig(faults=faults or SalesforceFaults(), **config)
    )
    emu.store = CountingStore()
    return emu


def writes_of(emu: SalesforceEmulator) -> Counter[str]:
    assert isinstance(emu.store, CountingStore)
    return emu.store.writes


def profile_for(
    emu: SalesforceEmulator,
    folder: Path,
    *,
    method: str = "access_token",
    **section: Any,
) -> Profile:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "salesforce",
        "name": "sf-test",
        "salesforce": {
            "instance_url": emu.url,
            "ca_bundle": str(emu.ca_path),
            "auth": {"method": method, "token_url": f"{emu.url}/services/oauth2/token"},
            **section,
        },
        "metrics": {"fields": dict(METRIC_FIELDS)},
    }
    return Profile.model_validate(data).with_base_dir(folder)


def env_for(emu: SalesforceEmulator) -> dict[str, str]:
    return {
        "SF_ACCESS_TOKEN": emu.config.access_token,
        "SF_REFRESH_TOKEN": emu.config.refresh_token,
        "SF_CLIENT_ID": emu.config.client_id,
        "SF_CLIENT_SECRET": emu.config.client_secret,
    }


EXAMPLE_PROFILE = Path(__file__).resolve().parents[2] / "connectors" / "salesforce.example.yaml"


def example_profile(folder: Path, emu: SalesforceEmulator) -> tuple[Path, dict[str, str]]:
    """The shipped example profile copied into `folder`, and the environment variables
    (those `rolesync emulate salesforce` prints) that point it at `emu`."""
    profile = folder / "salesforce.yaml"
    profile.write_bytes(EXAMPLE_PROFILE.read_bytes())
    env = {
        "SF_ACCESS_TOKEN": emu.config.access_token,
        "SF_INSTANCE_URL": emu.url,
        "SF_CA_BUNDLE": str(emu.ca_path),
    }
    return profile, env


def fast_policy(**overrides: Any) -> RetryPolicy:
    """Real backoff arithmetic, no real waiting."""
    settings: dict[str, Any] = {
        "max_attempts": 6,
        "sleep": lambda seconds: None,
        "rng": random.Random(7),
        "timeout": (5.0, 30.0),
    }
    settings.update(overrides)
    return RetryPolicy(**settings)


def adapter_for(
    emu: SalesforceEmulator,
    folder: Path,
    *,
    env: Mapping[str, str] | None = None,
    method: str = "access_token",
    policy: RetryPolicy | None = None,
    **section: Any,
) -> SalesforceAdapter:
    return SalesforceAdapter(
        profile_for(emu, folder, method=method, **section),
        env=env if env is not None else env_for(emu),
        policy=policy or fast_policy(),
        rounds=RoundSettings(lock_pause=0.0),
        sleep=lambda seconds: None,
        bulk_poll_seconds=0.01,
    )


def changes_for(book: Book, count: int, *, skip: int = 0) -> list[OwnershipChange]:
    """`count` ownership changes of unlocked accounts, each to another active owner."""
    active = sorted(o.id for o in book.owners.values() if o.active)
    movable = [a for a in book.accounts.values() if not a.locked][skip : skip + count]
    assert len(movable) == count, f"only {len(movable)} movable accounts"
    changes = []
    for n, account in enumerate(movable):
        target = next(o for o in active[n % len(active) :] + active if o != account.owner_id)
        changes.append(
            OwnershipChange(account.id, account.name, account.owner_id, target, "test", "test")
        )
    return changes
