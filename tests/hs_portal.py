"""A seeded HubSpot emulator for tests, shared by the emulator's and the adapter's tests
(each keeps its own default sizes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig

# A fixed day: seeded portals are the same whenever the tests run.
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def relaxed(**overrides: Any) -> HubSpotEmulatorConfig:
    """Limits high enough that tests of other things never meet them."""
    settings: dict[str, Any] = {
        "burst_limit": 100_000,
        "daily_limit": 10_000_000,
        "search_rate_limit": 100_000,
    }
    settings.update(overrides)
    return HubSpotEmulatorConfig(**settings)


@contextmanager
def seeded(
    config: HubSpotEmulatorConfig | None, *, owners: int, companies: int, deals: int, seed: int
) -> Iterator[HubSpotEmulator]:
    """A started, seeded emulator; fails the test if the emulator itself broke."""
    with HubSpotEmulator(config or relaxed()) as emu:
        emu.seed(owners=owners, companies=companies, deals=deals, seed=seed, as_of=AS_OF)
        yield emu
        assert not emu.internal_errors, emu.internal_errors[0]
