"""Finishing a Salesforce run stays linear in its changes (issue 19): the state store's
statements and SQLite instructions for a run of 200 ownership changes and one of 2,000
(in batches of 50, journaled through the store), without a clock."""

from __future__ import annotations

from pathlib import Path

from sf_helpers import adapter_for, changes_for, new_emulator

from roleSync.adapters.salesforce.rounds import RoundSettings
from store_cost import assert_linear, connector_finish_costs


def test_finishing_a_salesforce_run_grows_linearly(tmp_path: Path) -> None:
    emu = new_emulator()
    emu.seed(users=12, accounts=2_300, opportunities=100, seed=3)
    with emu:
        adapter = adapter_for(emu, tmp_path)
        adapter.rounds = RoundSettings(batch_size=50, lock_pause=0.0)
        book = adapter.pull()
        small, large = connector_finish_costs(adapter.profile, adapter, book, changes_for, tmp_path)
        adapter.close()
    # Measured: statements 9.72x, instructions 9.96x (without schema 4's indexes: 77.8x).
    assert_linear(small, large)
