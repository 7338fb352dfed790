"""Each injected fault, seen through the real SDK the way an adapter would see it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hs_emu_support import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    body_of,
    client,
    relaxed,
    running,
)

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults, load_faults
from roleSync.errors import InputError


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with running() as fresh:
        yield fresh


def _first_company(emu: HubSpotEmulator) -> str:
    return str(emu.store.all("companies")[0]["hs_object_id"])


def _owner(emu: HubSpotEmulator) -> str:
    return emu.store.owners()[-1].id


def _assign(emu: HubSpotEmulator, company: str, **kwargs: Any) -> Any:
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": company, "properties": {"hubspot_owner_id": _owner(emu)}}]
    )
    retry = kwargs.pop("retry", None)
    return client(emu, retry=retry).crm.companies.batch_api.update(batch, **kwargs)


def _list(emu: HubSpotEmulator, **kwargs: Any) -> Any:
    retry = kwargs.pop("retry", None)
    return client(emu, retry=retry).crm.companies.basic_api.get_page(limit=1, **kwargs)


def test_bad_gateway_is_a_service_exception_without_json(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(bad_gateway_every=2))
    _list(emu)
    with pytest.raises(Exception) as caught:
        _list(emu)
    assert type(caught.value).__name__ == "ServiceException"
    assert getattr(caught.value, "status", None) == 502
    assert "<html>" in getattr(caught.value, "body", "")  # a proxy's page, not HubSpot JSON
    assert emu.counters["fault_bad_gateway"] == 1
    assert emu.limiter.used_today("private-app") == 1  # the failed request used no quota


def test_unavailable(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(unavailable_every=1))
    with pytest.raises(Exception) as caught:
        _assign(emu, _first_company(emu))
    assert getattr(caught.value, "status", None) == 503
    assert body_of(caught.value)["status"] == "error"
    assert emu.store.api_writes[("companies", _first_company(emu))] == 0


def test_timeout_on_a_write_still_writes(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(timeout_every=1, timeout_seconds=0.5))
    company = _first_company(emu)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        # POST is never retried by urllib3: the timeout arrives as itself.
        _assign(emu, company, _request_timeout=0.15)
    deadline = time.monotonic() + 2
    while not emu.store.api_writes[("companies", company)] and time.monotonic() < deadline:
        time.sleep(0.05)
    # The client gave up, yet the write happened: compare-and-set before retrying.
    assert emu.store.api_writes[("companies", company)] == 1
    assert emu.counters["fault_timeout"] == 1


def test_timeout_on_a_get_depends_on_the_retry_setting(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(timeout_every=1, timeout_seconds=0.4))
    with pytest.raises(urllib3.exceptions.MaxRetryError) as wrapped:
        _list(emu, _request_timeout=0.1)  # Retry(total=0): GETs come wrapped
    assert isinstance(wrapped.value.reason, urllib3.exceptions.ReadTimeoutError)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        _list(emu, retry=False, _request_timeout=0.1)  # retry=False: the error itself


def test_drop_before_processing_writes_nothing(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(drop_every=1))
    company = _first_company(emu)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        _assign(emu, company)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        _list(emu)
    assert emu.store.api_writes[("companies", company)] == 0
    assert [e.status for e in emu.log] == [None, None]
    assert emu.counters["fault_drop"] == 2


def test_drop_after_processing_loses_only_the_answer(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(drop_every=1, drop_after_processing=True))
    company = _first_company(emu)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        _assign(emu, company)
    assert emu.store.api_writes[("companies", company)] == 1


def test_unauthorized_after_n_calls_until_refresh(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(unauthorized_after=2))
    _list(emu)
    _list(emu)
    with pytest.raises(Exception) as caught:
        _list(emu)
    assert type(caught.value).__name__ == "UnauthorizedException"
    assert body_of(caught.value)["category"] == "EXPIRED_AUTHENTICATION"
    config = emu.config
    fresh = client(emu).oauth.tokens_api.create(
        grant_type="refresh_token", client_id=config.client_id,
        client_secret=config.client_secret, refresh_token=config.refresh_token,
    ).access_token  # fmt: skip
    with pytest.raises(Exception) as stale:
        _list(emu)  # the old token stays refused
    assert getattr(stale.value, "status", None) == 401
    client(emu, fresh).crm.companies.basic_api.get_page(limit=1)
    client(emu, fresh).crm.companies.basic_api.get_page(limit=1)
    with pytest.raises(Exception) as again:
        client(emu, fresh).crm.companies.basic_api.get_page(limit=1)
    assert getattr(again.value, "status", None) == 401
    assert emu.counters["fault_unauthorized"] >= 2


def test_issued_tokens_expire_private_app_tokens_do_not() -> None:
    with running(relaxed(token_lifetime_seconds=0.2)) as emu:
        token = emu.issue_token()
        client(emu, token).crm.companies.basic_api.get_page(limit=1)
        time.sleep(0.25)
        with pytest.raises(Exception) as caught:
            client(emu, token).crm.companies.basic_api.get_page(limit=1)
        assert body_of(caught.value)["category"] == "EXPIRED_AUTHENTICATION"
        assert client(emu).crm.companies.basic_api.get_page(limit=1).results


def test_record_errors_fail_first_attempts_then_succeed(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(record_error_rate=1.0, record_error_attempts=1))
    company = _first_company(emu)
    first = _assign(emu, company)
    assert type(first).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [(e.category, e.context["ids"]) for e in first.errors] == [("CONFLICT", [company])]
    assert emu.store.api_writes[("companies", company)] == 0
    second = _assign(emu, company)
    assert type(second).__name__ == "BatchResponseSimplePublicObject"
    assert emu.store.api_writes[("companies", company)] == 1


def test_record_errors_are_decided_per_id_by_seed(emu: HubSpotEmulator) -> None:
    ids = [str(c["hs_object_id"]) for c in emu.store.all("companies")]
    emu.set_faults(HubSpotFaults(record_error_rate=0.3, seed=7))
    prone = {i for i in ids if emu.fault_state.error_prone(i)}
    emu.set_faults(HubSpotFaults(record_error_rate=0.3, seed=7))
    assert prone == {i for i in ids if emu.fault_state.error_prone(i)}
    assert 5 < len(prone) < 35


def test_oauth_requests_are_not_numbered(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(bad_gateway_every=2))
    _list(emu)
    config = emu.config
    client(emu).oauth.tokens_api.create(
        grant_type="refresh_token", client_id=config.client_id,
        client_secret=config.client_secret, refresh_token=config.refresh_token,
    )  # fmt: skip
    with pytest.raises(Exception) as caught:
        _list(emu)
    assert getattr(caught.value, "status", None) == 502


def test_stop_wakes_requests_held_in_a_timeout() -> None:
    with running() as emu:
        emu.set_faults(HubSpotFaults(timeout_every=1, timeout_seconds=30))
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                client(emu).crm.companies.search_api.do_search(PublicObjectSearchRequest())
            except BaseException as exc:  # the connection is closed under it
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(0.2)
        emu.stop()
        worker.join(5)
        assert not worker.is_alive()  # stop() ended the hanging call


def test_log_never_holds_tokens(emu: HubSpotEmulator) -> None:
    config = emu.config
    client(emu).oauth.tokens_api.create(
        grant_type="refresh_token", client_id=config.client_id,
        client_secret=config.client_secret, refresh_token=config.refresh_token,
    )  # fmt: skip
    _list(emu)
    text = repr(emu.log)
    assert emu.log and emu.log[-1].headers.get("user-agent", "").startswith("hubspot-api-client")
    for secret in (config.access_token, config.client_secret, config.refresh_token):
        assert secret not in text


# --- fault files ------------------------------------------------------------------------------


def test_load_faults_yaml_and_json(tmp_path: Path) -> None:
    flat = tmp_path / "faults.yaml"
    flat.write_text("rate_limit_every: 7\nretry_after: false\ntimeout_seconds: 0.5\n")
    assert load_faults(flat) == HubSpotFaults(
        rate_limit_every=7, retry_after=False, timeout_seconds=0.5
    )
    nested = tmp_path / "faults.json"
    nested.write_text('{"faults": {"drop_every": 3, "record_error_rate": 0.1}}')
    assert load_faults(nested) == HubSpotFaults(drop_every=3, record_error_rate=0.1)


def test_bad_fault_files_are_positioned_errors(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("unavailable_every: 5\ndrop_evry: 3\n")
    with pytest.raises(InputError) as unknown:
        load_faults(path)
    assert str(unknown.value).startswith(f"{path}:2:1: error: unknown setting 'drop_evry'")
    path.write_text("unavailable_every: 5\nrecord_error_rate: 2\n")
    with pytest.raises(InputError) as bad:
        load_faults(path)
    assert f"{path}:2:1: error: record_error_rate must be between 0 and 1" in str(bad.value)


@pytest.mark.parametrize(
    "settings",
    [{"drop_every": 0}, {"timeout_every": True}, {"retry_after": "yes"}, {"timeout_seconds": "x"}],
)
def test_fault_values_are_checked(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HubSpotFaults(**settings)
