"""Every fault the emulator injects, alone and all at once: each planned change ends
applied or reported with its error, none lost, none written twice (the emulator's
per-record write counts); the daily limit stops the run cleanly and a later run
finishes; OAuth tokens are refreshed once per 401."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_adapter_support import (
    accounted,
    adapter_for,
    changes_for,
    fast_policy,
    portal,
    writes,
)

from hs_portal import relaxed
from roleSync.adapters.hubspot.rounds import RoundSettings
from roleSync.adapters.resilience import AuthenticationError, DailyLimitError
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults
from roleSync.errors import ExitCode
from roleSync.plan import OwnershipChange

CHANGES = 600
# Pauses between write rounds are real (a write the server is still working on after
# our timeout must land before it is read back); the policy's backoff is not.
ROUNDS = RoundSettings(retry_pause=0.0, settle_seconds=0.6)


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with portal(relaxed(interval_ms=200), owners=15, companies=700, deals=0, seed=8) as fresh:
        yield fresh


def _planned(emu: HubSpotEmulator, folder: Path) -> list[OwnershipChange]:
    """Pull without faults (the mirror then exists) and plan CHANGES changes."""
    adapter = adapter_for(emu, folder)
    changes = changes_for(adapter.pull(), CHANGES)
    adapter.close()
    return changes


def _faulty(emu: HubSpotEmulator, folder: Path, **kwargs: object) -> object:
    # Only a timed-out write can still be in progress on the server when it is read back.
    # The short read timeout is for the timeout faults alone: elsewhere, on a loaded
    # machine, an ordinary answer slower than 0.25 s would time out and, with no settle
    # pause, be read back before it landed (seen: "written twice" under load 4).
    slow = emu.config.faults.timeout_every is not None
    return adapter_for(
        emu,
        folder,
        method="oauth",
        rounds=ROUNDS if slow else RoundSettings(retry_pause=0.0, settle_seconds=0.0),
        sleep=time.sleep,
        policy=fast_policy(timeout=(5.0, 0.25 if slow else 30.0)),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("faults", "seen"),
    [
        (HubSpotFaults(rate_limit_every=4), "fault_rate_limit"),
        (HubSpotFaults(rate_limit_every=4, retry_after=False), "fault_rate_limit"),
        (HubSpotFaults(bad_gateway_every=4), "fault_bad_gateway"),
        (HubSpotFaults(unavailable_every=4), "fault_unavailable"),
        (HubSpotFaults(timeout_every=5, timeout_seconds=0.5), "fault_timeout"),
        (HubSpotFaults(drop_every=4), "fault_drop"),
        (HubSpotFaults(drop_every=4, drop_after_processing=True), "fault_drop"),
        (HubSpotFaults(unauthorized_after=3), "fault_unauthorized"),
        (
            HubSpotFaults(record_error_rate=0.2, record_error_attempts=2, seed=3),
            "companies_batch_update",
        ),
    ],
    ids=["429", "429-no-retry-after", "502", "503", "timeout", "drop-before", "drop-after",
         "401-oauth", "per-record-errors"],
)  # fmt: skip
def test_one_fault(emu: HubSpotEmulator, tmp_path: Path, faults: HubSpotFaults, seen: str) -> None:
    changes = _planned(emu, tmp_path)
    emu.set_faults(faults)
    emu.reset_counters()
    before = writes(emu)
    adapter = _faulty(emu, tmp_path)
    adapter.pull()  # type: ignore[attr-defined]
    result = adapter.apply(changes, [])  # type: ignore[attr-defined]
    accounted(emu, changes, result, before)
    assert sorted(result.applied) == sorted(c.account_id for c in changes), result.failed
    # Per-record errors cost extra batch updates: more than 600 / 100.
    assert emu.counters[seen] > (6 if seen == "companies_batch_update" else 0)


def test_every_fault_at_once(emu: HubSpotEmulator, tmp_path: Path) -> None:
    changes = _planned(emu, tmp_path)
    emu.set_faults(
        HubSpotFaults(
            rate_limit_every=9,
            retry_after=False,
            bad_gateway_every=11,
            unavailable_every=13,
            timeout_every=17,
            timeout_seconds=0.5,
            drop_every=7,
            drop_after_processing=True,
            unauthorized_after=10,
            record_error_rate=0.15,
            record_error_attempts=1,
            seed=4,
        )
    )
    before = writes(emu)
    adapter = _faulty(emu, tmp_path)
    adapter.pull()  # type: ignore[attr-defined]
    result = adapter.apply(changes, [])  # type: ignore[attr-defined]
    figures = accounted(emu, changes, result, before)
    assert figures["applied"] == CHANGES, result.failed
    faults = {k for k, v in emu.counters.items() if k.startswith("fault_") and v}
    assert faults >= {
        "fault_rate_limit",
        "fault_bad_gateway",
        "fault_unavailable",
        "fault_timeout",
        "fault_drop",
        "fault_unauthorized",
    }


def test_daily_limit_stops_cleanly_and_a_later_run_finishes(
    emu: HubSpotEmulator, tmp_path: Path
) -> None:
    changes = _planned(emu, tmp_path)
    before = writes(emu)
    emu.reset_daily()
    # The pull (7) and part of the writes fit; then the portal's daily limit is reached.
    emu.set_faults(HubSpotFaults(daily_limit_after=14))
    adapter = adapter_for(emu, tmp_path)
    adapter.pull()
    result = adapter.apply(changes, [])
    accounted(emu, changes, result, before)
    assert result.applied and result.failed
    assert all("daily API request limit" in e for e in result.failed.values())
    assert emu.counters["rate_limited"] == 1  # it stopped at the first DAILY answer

    # The next day, the same plan again: what was done is recognised, the rest written.
    emu.reset_daily()
    emu.set_faults(HubSpotFaults())
    again = adapter_for(emu, tmp_path)
    again.pull()
    second = again.apply(changes, [])
    assert sorted(second.already_applied) == sorted(result.applied)
    assert sorted(second.applied) == sorted(result.failed)
    assert all(writes(emu)[c.account_id] - before[c.account_id] == 1 for c in changes)


def test_daily_limit_during_a_pull_stops_with_exit_3_and_keeps_what_was_saved(
    emu: HubSpotEmulator, tmp_path: Path
) -> None:
    adapter_for(emu, tmp_path).pull()
    store = emu.store
    for company in [str(c["hs_object_id"]) for c in store.all("companies")]:
        store.update("companies", company, {"industry": "RETAIL"})
    emu.reset_daily()
    emu.set_faults(HubSpotFaults(daily_limit_after=1))  # the companies search, then DAILY
    stopped = adapter_for(emu, tmp_path)
    with pytest.raises(DailyLimitError) as caught:
        stopped.pull()
    assert caught.value.exit_code is ExitCode.GUARDRAIL
    assert "daily API request limit" in str(caught.value)
    assert emu.counters["rate_limited"] == 1  # nothing more was sent after the DAILY answer
    emu.reset_daily()
    emu.set_faults(HubSpotFaults())
    book = adapter_for(emu, tmp_path).pull()
    assert all(a.fields["industry"] == "RETAIL" for a in book.accounts.values())


def test_oauth_tokens_are_fetched_and_refreshed_and_never_logged(
    emu: HubSpotEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emu.set_faults(HubSpotFaults(unauthorized_after=5))
    adapter = adapter_for(emu, tmp_path, method="oauth")
    adapter.client.connect()
    # The SDK turns its own and urllib3's loggers down to WARNING when it is built:
    # turn everything up, as someone debugging a run would.
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "hubspot", "hubspot.oauth.rest", "hubspot.crm.objects.rest"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    book = adapter.pull()
    assert len(book.accounts) == 700
    assert emu.counters["oauth_token"] >= 2 and emu.counters["fault_unauthorized"] >= 1
    assert emu.tokens_issued == emu.counters["oauth_token"]
    logged = caplog.text
    assert "oauth/v1/token" in logged  # the log was on
    config = emu.config
    for secret in (config.refresh_token, config.client_secret, "access_token", "Bearer"):
        assert secret not in logged


def test_a_private_app_token_that_is_refused_stops_with_a_clear_message(
    emu: HubSpotEmulator, tmp_path: Path
) -> None:
    changes = _planned(emu, tmp_path)
    adapter = adapter_for(emu, tmp_path)
    adapter.pull()
    # The token wears out (uses are counted per token) after the owners are read again
    # (3 requests), at the first compare-and-set read.
    emu.set_faults(HubSpotFaults(unauthorized_after=emu.counters["api_requests"] + 3))
    result = adapter.apply(changes[:50], [])
    assert not result.applied
    assert all("cannot be refreshed" in e for e in result.failed.values())
    assert emu.config.access_token not in " ".join(result.failed.values())
    with pytest.raises(AuthenticationError, match="private app"):
        adapter_for(emu, tmp_path).pull()


def test_bad_oauth_credentials_are_a_clear_error(emu: HubSpotEmulator, tmp_path: Path) -> None:
    env = {"HUBSPOT_REFRESH_TOKEN": "na1-wrong", "HUBSPOT_CLIENT_ID": emu.config.client_id,
           "HUBSPOT_CLIENT_SECRET": emu.config.client_secret}  # fmt: skip
    with pytest.raises(AuthenticationError) as caught:
        adapter_for(emu, tmp_path, method="oauth", env=env).pull()
    assert "BAD_REFRESH_TOKEN" in str(caught.value)
    assert "na1-wrong" not in str(caught.value) and emu.config.client_secret not in str(
        caught.value
    )


def test_a_missing_variable_names_the_setting(emu: HubSpotEmulator, tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"HUBSPOT_ACCESS_TOKEN is not set.*access_token_env"):
        adapter_for(emu, tmp_path, env={}).pull()


def test_reads_that_time_out_are_sent_again(emu: HubSpotEmulator, tmp_path: Path) -> None:
    emu.set_faults(HubSpotFaults(timeout_every=3, timeout_seconds=0.5))
    adapter = adapter_for(emu, tmp_path, policy=fast_policy(timeout=(5.0, 0.2)))
    assert len(adapter.pull().accounts) == 700
    assert emu.counters["fault_timeout"] >= 2
    assert adapter.requests_sent > emu.counters["api_requests"] - emu.counters["fault_timeout"]
