"""benchmarks/write_requests.py at a small N: the counts it reports are consistent.

Counts only, never time: roleSync's apply stays within the API minimum plus a small
constant, the naive script sends one write a change (two requests with its safety check),
and every way ends with the same owners. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import write_requests

N = 300
# What apply sends besides the writes at this N, as counted by the emulators: Salesforce
# a User pull, one compare-and-set read (sObject Collections retrieve, up to 2,000 ids),
# the catch-up pull of the accounts written; HubSpot two owner lists. Room for a few
# more, not for a per-record cost.
CONSTANT = 6


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "counts.json"
    code = write_requests.main(["--changes", str(N), "--accounts", str(2 * N), "--json", str(out)])
    assert code == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _crm(reported: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in reported["crms"] if c["crm"] == name]
    assert len(found) == 1
    crm: dict[str, Any] = found[0]
    return crm


def _naive_is_per_record(crm: dict[str, Any]) -> None:
    naive, checked = crm["naive"], crm["naive_checked"]
    assert (naive["writes"], naive["reads"], naive["other"], naive["failed"]) == (N, 0, 0, 0)
    assert (checked["writes"], checked["reads"], checked["other"]) == (N, N, 0)
    assert checked["failed"] == 0


def _same_results(crm: dict[str, Any]) -> None:
    assert crm["identical"] is True
    for run in [*crm["ours"], crm["naive"], crm["naive_checked"]]:
        assert run["changed"] == N, run["way"]


def test_salesforce_counts_are_consistent(reported: dict[str, Any]) -> None:
    crm = _crm(reported, "Salesforce")
    _same_results(crm)
    _naive_is_per_record(crm)
    collections, bulk = crm["ours"]
    assert collections["kinds"]["collections_patch"] == math.ceil(N / 200)
    assert collections["minimum"] == math.ceil(N / 200)
    assert collections["writes"] == collections["minimum"]
    assert collections["total"] <= collections["minimum"] + CONSTANT
    assert bulk["kinds"]["bulk_create"] == 1
    assert "collections_patch" not in bulk["kinds"]
    # create, upload, close, a poll, the results: a constant, whatever N is.
    assert bulk["writes"] <= 6
    assert bulk["total"] <= bulk["minimum"] + CONSTANT + 3
    for run in crm["ours"]:
        assert run["failed"] == 0
        assert run["total"] == run["writes"] + run["reads"] + run["other"]
        assert run["reads"] == math.ceil(N / 2000)
        assert run["total"] == sum(run["kinds"].values())


def test_hubspot_counts_are_consistent(reported: dict[str, Any]) -> None:
    crm = _crm(reported, "HubSpot")
    _same_results(crm)
    _naive_is_per_record(crm)
    (ours,) = crm["ours"]
    batches = math.ceil(N / 100)
    assert ours["minimum"] == batches
    assert ours["writes"] == batches
    # The compare-and-set read of each batch: one per batch, so not a constant.
    assert ours["reads"] == batches
    assert ours["other"] <= CONSTANT
    assert ours["total"] <= 2 * batches + CONSTANT
    assert ours["failed"] == 0
    assert ours["total"] == sum(ours["kinds"].values())
