"""Finishing a HubSpot run stays linear in its changes (issue 19): the state store's
statements and SQLite instructions for a run of 200 ownership changes and one of 2,000
(in batches of 50, journaled through the store), without a clock."""

from __future__ import annotations

from pathlib import Path

from hs_adapter_support import adapter_for, changes_for, portal

from roleSync.adapters.hubspot.rounds import RoundSettings
from store_cost import assert_linear, connector_finish_costs


def test_finishing_a_hubspot_run_grows_linearly(tmp_path: Path) -> None:
    with portal(companies=2_300, deals=100) as emu:
        rounds = RoundSettings(batch_size=50, retry_pause=0.0, settle_seconds=0.0)
        adapter = adapter_for(emu, tmp_path, rounds=rounds)
        book = adapter.pull()
        small, large = connector_finish_costs(adapter.profile, adapter, book, changes_for, tmp_path)
        adapter.close()
    # Measured: statements 9.72x, instructions 9.96x (without schema 4's indexes: 77.8x).
    assert_linear(small, large)
