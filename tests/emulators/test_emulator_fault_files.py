"""Fault files with values no setting takes are positioned errors, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.emulators.faults import load_fault_file
from roleSync.emulators.hubspot import HubSpotFaults
from roleSync.emulators.salesforce import SalesforceFaults
from roleSync.errors import InputError


@pytest.mark.parametrize("settings", [HubSpotFaults, SalesforceFaults])
def test_a_date_value_is_a_positioned_error(tmp_path: Path, settings: type) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("drop_every: 3\nseed: 2020-01-01\n")
    with pytest.raises(InputError) as caught:
        load_fault_file(path, settings)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{path}:2:1: error: seed: not a number or text [faults-value]"
    ]


def test_a_non_utf8_file_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_bytes(b"seed: \xff\n")
    with pytest.raises(InputError) as caught:
        load_fault_file(path, SalesforceFaults)
    assert [d.code for d in caught.value.diagnostics] == ["faults-io"]
