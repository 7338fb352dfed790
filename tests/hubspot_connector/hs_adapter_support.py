"""Helpers of the HubSpot adapter's tests: emulators, profiles, adapters, plans.

Everything runs through the real hubspot-api-client against the loopback emulator;
no test leaves 127.0.0.1. Limits are relaxed unless a test is about them, and the
retry policy's sleep is a no-op (real backoff arithmetic, no real waiting) unless a
test measures time.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hs_portal import seeded
from roleSync.adapters.base import ApplyResult
from roleSync.adapters.hubspot import HubSpotAdapter
from roleSync.adapters.hubspot.rounds import RoundSettings
from roleSync.adapters.resilience import RetryPolicy
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig
from roleSync.model import Book
from roleSync.plan import OwnershipChange
from roleSync.profile import Profile

METRIC_FIELDS = {
    "role": "rolesync_role",
    "won_deals": "rolesync_won_deals",
    "new_business_share": "rolesync_new_business_share",
    "win_rate": "rolesync_win_rate",
}


@contextmanager
def portal(
    config: HubSpotEmulatorConfig | None = None,
    *,
    owners: int = 12,
    companies: int = 300,
    deals: int = 700,
    seed: int = 3,
) -> Iterator[HubSpotEmulator]:
    """A started, seeded emulator; fails the test if the emulator itself broke."""
    with seeded(config, owners=owners, companies=companies, deals=deals, seed=seed) as emu:
        yield emu


def profile_for(
    emu: HubSpotEmulator,
    folder: Path,
    *,
    method: str = "private_app",
    metrics: Mapping[str, Any] | None = None,
    **section: Any,
) -> Profile:
    rate_limit = section.pop("rate_limit", {"burst": 10_000, "search_per_second": 1000})
    data: dict[str, Any] = {
        "version": 1,
        "kind": "hubspot",
        "name": "hs-test",
        "hubspot": {
            "host": emu.url,
            "auth": {"method": method},
            "rate_limit": rate_limit,
            **section,
        },
        "metrics": dict(metrics) if metrics is not None else {"fields": dict(METRIC_FIELDS)},
    }
    return Profile.model_validate(data).with_base_dir(folder)


def env_for(emu: HubSpotEmulator) -> dict[str, str]:
    config = emu.config
    return {
        "HUBSPOT_ACCESS_TOKEN": config.access_token,
        "HUBSPOT_REFRESH_TOKEN": config.refresh_token,
        "HUBSPOT_CLIENT_ID": config.client_id,
        "HUBSPOT_CLIENT_SECRET": config.client_secret,
    }


EXAMPLE_PROFILE = Path(__file__).resolve().parents[2] / "connectors" / "hubspot.example.yaml"


def example_profile(folder: Path, emu: HubSpotEmulator) -> tuple[Path, dict[str, str]]:
    """The shipped example profile copied into `folder`, and the environment variables
    (those `rolesync emulate hubspot` prints) that point it at `emu`."""
    profile = folder / "hubspot.yaml"
    profile.write_bytes(EXAMPLE_PROFILE.read_bytes())
    return profile, {"HUBSPOT_HOST": emu.url, **env_for(emu)}


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
    emu: HubSpotEmulator,
    folder: Path,
    *,
    env: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
    rounds: RoundSettings | None = None,
    full: bool = False,
    sleep: Callable[[float], None] | None = None,
    **profile: Any,
) -> HubSpotAdapter:
    return HubSpotAdapter(
        profile_for(emu, folder, **profile),
        env=env if env is not None else env_for(emu),
        policy=policy or fast_policy(),
        rounds=rounds or RoundSettings(retry_pause=0.0, settle_seconds=0.0),
        full=full,
        sleep=sleep,
    )


def changes_for(book: Book, count: int, *, skip: int = 0) -> list[OwnershipChange]:
    """`count` ownership changes of unlocked companies, each to another active owner."""
    active = sorted(o.id for o in book.owners.values() if o.active)
    movable = [a for a in book.accounts.values() if not a.locked][skip : skip + count]
    assert len(movable) == count, f"only {len(movable)} movable companies"
    changes = []
    for n, account in enumerate(movable):
        target = next(o for o in active[n % len(active) :] + active if o != account.owner_id)
        changes.append(
            OwnershipChange(account.id, account.name, account.owner_id, target, "test", "test")
        )
    return changes


def owner_of(emu: HubSpotEmulator, company_id: str) -> str | None:
    found = emu.store.get("companies", company_id)
    assert found is not None, company_id
    return found.get("hubspot_owner_id")


def writes(emu: HubSpotEmulator) -> Counter[str]:
    """API writes per company id, as the emulator counted them."""
    return Counter({i: n for (kind, i), n in emu.store.api_writes.items() if kind == "companies"})


def accounted(
    emu: HubSpotEmulator,
    changes: list[OwnershipChange],
    result: ApplyResult,
    before: Counter[str],
) -> dict[str, int]:
    """None lost, none written twice, and the portal agrees with the result; returns the
    figures (planned, applied, already applied, conflicts, failed)."""
    ids = [c.account_id for c in changes]
    buckets = [
        set(result.applied),
        set(result.already_applied),
        set(result.conflicts),
        set(result.failed),
    ]
    assert sum(len(b) for b in buckets) == len(ids), "an entry is in two buckets"
    assert set().union(*buckets) == set(ids), "an entry is lost"
    after = writes(emu)
    twice = [i for i in ids if after[i] - before[i] > 1]
    assert not twice, f"written twice: {twice[:5]}"
    for change in changes:
        owner = owner_of(emu, change.account_id)
        if change.account_id in result.applied:
            assert owner == change.to_owner_id
            assert after[change.account_id] - before[change.account_id] == 1
        elif change.account_id in result.failed:
            assert owner == change.from_owner_id, result.failed[change.account_id]
    return {
        "planned": len(ids),
        "applied": len(result.applied),
        "already_applied": len(result.already_applied),
        "conflicts": len(result.conflicts),
        "failed": len(result.failed),
        "lost": 0,
        "written_twice": 0,
    }
