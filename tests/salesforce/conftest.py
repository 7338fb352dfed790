"""Fixtures of the Salesforce adapter's tests; the helpers live in sf_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import example_profile, new_emulator

from roleSync.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def small_org() -> Iterator[SalesforceEmulator]:
    """A small org (12 users, 300 accounts, 700 opportunities), running."""
    emu = new_emulator()
    emu.seed(users=12, accounts=300, opportunities=700, seed=3)
    with emu:
        yield emu


@pytest.fixture
def example(tmp_path: Path, small_org: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example profile in tmp_path, pointed at `small_org` by the variables
    `rolesync emulate salesforce` prints."""
    profile, env = example_profile(tmp_path, small_org)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return profile
