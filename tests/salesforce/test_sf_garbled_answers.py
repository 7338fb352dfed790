"""An answer no client can read (a proxy's HTML page with status 200, JSON nested without
end) is one clear error, never a ValueError or RecursionError traceback from inside the
SDK; a write answered that way has an unknown outcome and is read back, so nothing is
lost or written twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import adapter_for, changes_for, new_emulator, writes_of

from roleSync.adapters.resilience import RequestError
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.emulators.salesforce.faults import GARBLED_BODIES


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emu = new_emulator()
    emu.seed(users=10, accounts=400, opportunities=50, seed=8)
    with emu:
        yield emu


@pytest.mark.parametrize(("body", "said"), [("html", "not JSON"), ("deep", "nested too deeply")])
def test_a_query_answered_unreadably_is_one_clear_error(
    org: SalesforceEmulator, tmp_path: Path, body: str, said: str
) -> None:
    org.set_faults(SalesforceFaults(garbled_every=1, garbled_body=body))
    with pytest.raises(RequestError) as caught:
        adapter_for(org, tmp_path).pull()
    assert str(caught.value) == f"Salesforce answered a query with a body that is {said}"
    assert org.counters["fault_garbled"] >= 1


@pytest.mark.parametrize("body", sorted(GARBLED_BODIES))
def test_a_write_answered_unreadably_is_read_back_not_repeated(
    org: SalesforceEmulator, tmp_path: Path, body: str
) -> None:
    changes = changes_for(adapter_for(org, tmp_path).pull(), 300)
    before = Counter(writes_of(org))
    # Apply sends a query, a collections retrieve, then the patches: every 3rd request
    # garbled is the first patch (after it was written), and a later one.
    org.set_faults(SalesforceFaults(garbled_every=3, garbled_body=body))
    org.reset_counters()
    adapter = adapter_for(org, tmp_path)
    result = adapter.apply(changes, [])
    garbled_kinds = {e.kind for e in org.log if e.fault == "garbled"}
    writes = writes_of(org)
    ids = [c.account_id for c in changes]
    assert "collections_patch" in garbled_kinds
    assert all(writes[i] - before[i] <= 1 for i in ids), "a record was written twice"
    assert sorted(result.applied) == sorted(ids)
    assert all(writes[i] - before[i] == 1 for i in ids)  # each written once, none lost
