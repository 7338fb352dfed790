"""One run per profile: a second run exits 4 naming the holder; a lock left by a process
killed with SIGKILL is free at once (the kernel drops a flock with its holder)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main
from roleSync.errors import LockHeldError
from roleSync.profile import load_profile
from roleSync.sync.lock import RunLock
from roleSync.sync.state_open import lock_file

STARTED = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)


def hold_lock_in_child(path: Path) -> subprocess.Popen[str]:
    """A child process that takes the lock, says so, and sleeps until killed."""
    code = textwrap.dedent(
        f"""
        import time
        from datetime import UTC, datetime
        from pathlib import Path
        from roleSync.sync.lock import RunLock
        lock = RunLock(Path({str(path)!r}), "test")
        lock.acquire(datetime(2026, 6, 30, 7, 0, tzinfo=UTC))
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_second_holder_is_refused_with_the_first_ones_details(tmp_path: Path) -> None:
    path = tmp_path / "test.lock"
    with RunLock(path, "test") as first:
        first.acquire(STARTED)
        with pytest.raises(LockHeldError) as refused:
            RunLock(path, "test").acquire(STARTED)
        assert str(refused.value).startswith(
            f"another run (pid {os.getpid()}, started 2026-06-30T08:00:00+00:00) "
            "holds the lock for profile test"
        )
        assert refused.value.exit_code == 4
    # Released on exit: the next one takes it.
    again = RunLock(path, "test")
    again.acquire(STARTED)
    again.release()


def test_a_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "test.lock"
    child = hold_lock_in_child(path)
    try:
        with pytest.raises(LockHeldError, match=f"pid {child.pid}, started 2026-06-30T07:00"):
            RunLock(path, "test").acquire(STARTED)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # The dead holder's details are still in the file, but the flock died with it.
    assert json.loads(path.read_text())["pid"] == child.pid
    lock = RunLock(path, "test")
    lock.acquire(STARTED)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_sync_while_another_run_holds_the_lock_exits_4_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    plan = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan)]) == 0  # plan takes no lock
    before = fixture.book.read_bytes()
    child = hold_lock_in_child(lock_file(load_profile(fixture.profile)))
    try:
        assert main(fixture.cli("sync")) == 4
        assert main([*fixture.cli("apply"), str(plan)]) == 4
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    err = capsys.readouterr().err
    assert (
        f"rolesync: error: another run (pid {child.pid}, started 2026-06-30T07:00:00+00:00) "
        "holds the lock for profile test"
    ) in err
    assert fixture.book.read_bytes() == before
    # The holder died: the next sync runs.
    assert main(fixture.cli("sync")) == 0
    assert fixture.book.read_bytes() != before
