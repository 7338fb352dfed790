"""Fixtures of the Salesforce adapter's tests; the helpers live in sf_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sf_helpers import new_emulator

from roleSync.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def small_org() -> Iterator[SalesforceEmulator]:
    """A small org (12 users, 300 accounts, 700 opportunities), running."""
    emu = new_emulator()
    emu.seed(users=12, accounts=300, opportunities=700, seed=3)
    with emu:
        yield emu
