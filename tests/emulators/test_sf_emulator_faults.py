"""Each injected fault, seen through the real SDK the way an adapter would see it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sf_emu_support import (
    bulk2,
    collections_patch,
    connect,
    error_body,
    error_code,
    record,
    tls_session,
)
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from roleSync.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceEmulatorConfig,
    SalesforceFaults,
)

COUNT = "SELECT COUNT() FROM Account"


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        running.seed(users=6, accounts=200, opportunities=0)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


def _owner(emu: SalesforceEmulator) -> str:
    return next(str(u["Id"]) for u in emu.store.all("User") if u["IsActive"])


def _body(ids: list[str], owner: str) -> dict[str, Any]:
    records = [{"attributes": {"type": "Account"}, "id": i, "OwnerId": owner} for i in ids]
    return {"allOrNone": False, "records": records}


def test_request_limit(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(request_limit_after=3))
    sf = connect(emu)
    for _ in range(3):
        sf.query(COUNT)
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query(COUNT)
    assert caught.value.status == 403
    assert error_body(caught.value) == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()
    assert emu.counters["fault_request_limit"] == 2
    emu.reset_usage()  # a new day
    assert sf.query(COUNT)["totalSize"] == 200


def test_daily_limit_and_usage_header() -> None:
    with SalesforceEmulator(SalesforceEmulatorConfig(daily_limit=5)) as emu:
        sf = connect(emu)
        sf.query(COUNT)
        limits = sf.limits()
        assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
        assert sf.api_usage["api-usage"] == (2, 5)
        for _ in range(3):
            sf.query(COUNT)
        with pytest.raises(SalesforceRefusedRequest):
            sf.query(COUNT)
        assert emu.api_used == 5


def test_unavailable_every_nth(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(unavailable_every=2))
    sf = connect(emu)
    sf.query(COUNT)
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query(COUNT)
    assert caught.value.status == 503 and error_code(caught.value) == "SERVER_UNAVAILABLE"
    sf.query(COUNT)
    assert emu.counters["fault_unavailable"] == 1 and emu.api_used == 2


def test_slow_every_nth(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(slow_every=2, slow_seconds=0.2))
    sf = connect(emu)
    sf.query(COUNT)
    started = time.monotonic()
    sf.query(COUNT)
    slow = time.monotonic() - started
    # A lower bound only (the delay is a sleep); that the first answer was not delayed is
    # the log's to say: an upper bound on wall time would flake on a busy machine.
    assert slow >= 0.2
    assert [e.fault for e in emu.log] == [None, "slow"]


def test_dropped_connection(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(drop_every=2))
    sf = connect(emu)
    owner = _owner(emu)
    account = str(emu.store.all("Account")[0]["Id"])
    sf.query(COUNT)
    with pytest.raises(requests.exceptions.ConnectionError):
        collections_patch(sf, _body([account], owner))
    assert record(emu, "Account", account)["OwnerId"] != owner  # dropped before processing
    assert collections_patch(sf, _body([account], owner))[0]["success"] is True
    assert emu.log[1].status is None and emu.log[1].fault == "drop"


def test_dropped_answer_after_the_write(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(drop_every=1, drop_after_processing=True))
    sf = connect(emu)
    owner = _owner(emu)
    account = str(emu.store.all("Account")[0]["Id"])
    with pytest.raises(requests.exceptions.ConnectionError):
        collections_patch(sf, _body([account], owner))
    # The answer was lost but the write happened: a blind retry would write twice.
    assert record(emu, "Account", account)["OwnerId"] == owner


def test_session_expires_after_n_requests(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(invalid_session_after=2))
    sf = connect(emu)
    sf.query(COUNT)
    sf.query(COUNT)
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query(COUNT)
    assert error_body(caught.value) == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    fresh = (
        tls_session(emu)
        .post(
            f"{emu.url}/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": emu.config.client_id,
                "client_secret": emu.config.client_secret,
                "refresh_token": emu.config.refresh_token,
            },
            timeout=5,
        )
        .json()["access_token"]
    )
    renewed = connect(emu, fresh)
    assert renewed.query(COUNT)["totalSize"] == 200
    renewed.query(COUNT)
    with pytest.raises(SalesforceExpiredSession):
        renewed.query(COUNT)
    assert emu.counters["fault_invalid_session"] == 2


def test_row_locks_fail_first_attempts_then_succeed(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(lock_row_rate=0.3, seed=7))
    sf = connect(emu)
    owner = _owner(emu)
    accounts = [str(a["Id"]) for a in emu.store.all("Account")[:150]]
    results = collections_patch(sf, _body(accounts, owner))
    locked = [a for a, r in zip(accounts, results, strict=True) if not r["success"]]
    assert 20 <= len(locked) <= 70
    first = next(r for r in results if not r["success"])
    assert first["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert first["errors"][0]["message"].startswith("unable to obtain exclusive access")
    again = collections_patch(sf, _body(locked, owner))
    assert all(r["success"] for r in again)
    assert {record(emu, "Account", a)["OwnerId"] for a in accounts} == {owner}


def test_row_locks_are_deterministic_and_configurable() -> None:
    faults = SalesforceFaults(lock_row_rate=0.5, lock_row_attempts=2, seed=3)

    def locked_ids() -> list[str]:
        with SalesforceEmulator(SalesforceEmulatorConfig(faults=faults)) as emu:
            emu.seed(users=4, accounts=40, opportunities=0)
            sf = connect(emu)
            ids = [str(a["Id"]) for a in emu.store.all("Account")]
            body = _body(ids, _owner(emu))
            first = collections_patch(sf, body)
            second = collections_patch(sf, body)
            third = collections_patch(sf, body)
            failing = [i for i, r in zip(ids, first, strict=True) if not r["success"]]
            assert [r["success"] for r in second] == [r["success"] for r in first]
            assert all(r["success"] for r in third)
            return failing

    assert locked_ids() == locked_ids()


def test_row_locks_in_bulk(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(lock_row_rate=0.2, seed=11))
    sf = connect(emu)
    owner = _owner(emu)
    records = [{"Id": str(a["Id"]), "OwnerId": owner} for a in emu.store.all("Account")]
    (summary,) = bulk2(sf, "Account").update(records=records, wait=0)
    assert summary["numberRecordsFailed"] > 0
    failed = bulk2(sf, "Account").get_failed_records(str(summary["job_id"]))
    assert "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access" in failed
    (retry,) = bulk2(sf, "Account").update(records=records, wait=0)
    assert retry["numberRecordsFailed"] == 0


def test_faults_leave_oauth_alone(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(unavailable_every=1))
    answer = tls_session(emu).post(
        f"{emu.url}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": emu.config.client_id,
              "client_secret": emu.config.client_secret},
        timeout=5,
    )  # fmt: skip
    assert answer.status_code == 200
    assert emu.counters["api_requests"] == 0 and emu.counters["oauth_token"] == 1
