"""SIGTERM and SIGINT during sync and apply (issue 13): the batch in flight is written and
journaled, the run is left `interrupted`, a last event is logged, the exit code is 143
or 130; a second signal stops at once; the next run finishes the rest exactly once.

In-process tests send the signal to this process from the apply journal, at a known
batch; the command-line test sends it to a child `rolesync sync` once a batch is done.
The loop of 24 SIGTERMs and kill -9s against the Salesforce emulator is
tests/salesforce/test_sf_signals.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import AS_OF, Fixture, WrappedJournalAdapter, make_fixture

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.local import LocalAdapter
from roleSync.plan import OwnershipChange
from roleSync.profile import load_profile
from roleSync.sync import interrupt
from roleSync.sync.recovery import recover
from roleSync.sync.runner import PlanRequest, apply_plan, make_plan
from roleSync.sync.state_open import open_state

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}


class SignallingJournal:
    """Sends `signum` to this process `times` times at ("intent"|"result", batch)."""

    def __init__(self, inner: ApplyJournal, at: tuple[str, int], signum: int, times: int) -> None:
        self.inner = inner
        self.at = at
        self.signum = signum
        self.times = times

    def _signal(self, where: tuple[str, int]) -> None:
        if where == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        self.inner.intent(batch_no, changes)
        self._signal(("intent", batch_no))

    def result(self, batch_no: int, result: ApplyResult) -> None:
        self.inner.result(batch_no, result)
        self._signal(("result", batch_no))


def signalled_run(
    fixture: Fixture, at: tuple[str, int], signum: int, times: int = 1
) -> interrupt.Interrupted:
    profile = load_profile(fixture.profile)
    adapter = WrappedJournalAdapter(
        LocalAdapter(profile, now=NOW), lambda j: SignallingJournal(j, at, signum, times)
    )
    plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
    with interrupt.stopping_gracefully(), pytest.raises(interrupt.Interrupted) as stopped:
        apply_plan(profile, plan, adapter, book_accounts=30, mode="sync", clock=lambda: NOW)
    adapter.close()
    return stopped.value


def finish_and_check(fixture: Fixture, run_id: str) -> None:
    """The next run finishes the interrupted one: every change applied exactly once."""
    profile = load_profile(fixture.profile)
    with open_state(profile) as store, LocalAdapter(profile, now=NOW) as adapter:
        (report,) = recover(store, profile, adapter, clock=lambda: NOW)
    assert report.run_id == run_id and len(report.applied) == 10
    assert fixture.query("SELECT status FROM runs") == [("ok",)]
    applied = fixture.query("SELECT account_id, count(*) FROM audit GROUP BY 1")
    assert sorted(applied) == [(f"a-0-{n:05d}", 1) for n in range(10)]
    assert "h-0" not in fixture.owners().values()
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_in_a_batch_lets_it_finish_and_stops_before_the_next(
    tmp_path: Path, signum: signal.Signals
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    # Sent while batch 1 is being written: it is written and journaled, batch 2 is not.
    stopped = signalled_run(fixture, ("intent", 1), signum)
    ((run_id, status, message),) = fixture.query("SELECT id, status, message FROM runs")
    assert (stopped.run_id, stopped.at_once, stopped.exit_code) == (run_id, False, EXIT[signum])
    assert (status, message) == ("interrupted", f"interrupted by {signum.name}")
    assert fixture.query("SELECT batch_no, count(*), count(outcome) FROM journal GROUP BY 1") == [
        (0, 3, 3),
        (1, 3, 3),
    ]
    assert fixture.query("SELECT count(*) FROM audit WHERE result = 'applied'") == [(6,)]
    assert sum(owner != "h-0" for a, owner in fixture.owners().items() if a[:2] == "a-") == 6
    finish_and_check(fixture, run_id)


def test_a_second_signal_stops_at_once_and_the_journal_still_holds(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    stopped = signalled_run(fixture, ("intent", 1), signal.SIGTERM, times=2)
    ((run_id, status),) = fixture.query("SELECT id, status FROM runs")
    assert (stopped.run_id, stopped.at_once, status) == (run_id, True, "interrupted")
    # Batch 1's intent is journaled, its outcome not: the next run reads those back.
    assert fixture.query("SELECT batch_no, count(*), count(outcome) FROM journal GROUP BY 1") == [
        (0, 3, 3),
        (1, 3, 0),
    ]
    finish_and_check(fixture, run_id)


def test_outside_a_write_a_signal_stops_at_once_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interrupt.stopping_gracefully(), pytest.raises(interrupt.Interrupted) as stopped:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # stands for a pull: never reached
    assert (stopped.value.run_id, stopped.value.at_once) == (None, True)
    assert signal.getsignal(signal.SIGTERM) is before
    with interrupt.stopping_gracefully() as request:  # inside a write: deferred
        with interrupt.writing():
            os.kill(os.getpid(), signal.SIGINT)
        assert request.signum == signal.SIGINT
        with pytest.raises(interrupt.Interrupted):
            interrupt.checkpoint()


def json_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sync_stopped_by_a_signal_exits_128_plus_it_with_a_last_event(
    tmp_path: Path, signum: signal.Signals
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=400)
    # Each batch of 200 takes ~150 ms: the signal lands inside the second batch.
    env = {**os.environ, "ROLESYNC_TEST_BATCH_DELAY_MS": "150"}
    command = [sys.executable, "-m", "roleSync", *fixture.cli("sync"), "--log-format", "json"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{") and json.loads(line)["event"] == "batch":
            break
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT[signum], err
    assert "Traceback" not in err and out == ""
    ((run_id, status, message),) = fixture.query("SELECT id, status, message FROM runs")
    assert (status, message) == ("interrupted", f"interrupted by {signum.name}")
    last = json_events(err)[-1]
    assert last == {
        "time": last["time"],
        "level": "warning",
        "event": "interrupted",
        "message": f"interrupted by {signum.name}: run {run_id} stopped after its batch in "
        "flight was written and journaled; the next sync, apply or rollback of this "
        "profile finishes it",
        "signal": signum.name,
        "run_id": run_id,
        "exit_code": EXIT[signum],
    }
    # Every batch begun was finished and journaled; the rest was not begun.
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]
    ((journaled,),) = fixture.query("SELECT count(*) FROM journal")
    assert fixture.query("SELECT count(*) FROM audit") == [(journaled,)]
    assert 200 <= journaled < 800 and journaled % 200 == 0

    final = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert final.returncode == 0, final.stderr
    recovering = [e for e in json_events(final.stderr) if e["event"] == "recovering"]
    assert [(e["run_id"], e["had_outcome"], e["to_write"]) for e in recovering] == [
        (run_id, journaled, 800 - journaled)
    ]
    assert fixture.query("SELECT status, applied FROM runs WHERE id = ?", run_id) == [("ok", 800)]
    assert fixture.query(
        "SELECT count(DISTINCT account_id), count(*) FROM audit WHERE run_id = ?", run_id
    ) == [(800, 800)]
