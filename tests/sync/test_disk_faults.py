"""Disk faults (issue 13): a read-only state folder, a full disk under the run files, the
state store or the lock, and a disk that fills in the middle of an apply. Each is one
line naming the right file and the real cause, exit 1, nothing lost: the book keeps its
owners, or the next run, once there is room, finishes what was begun.

A real full disk and a real read-only mount come from small tmpfs mounts (chmod does not
stop root, and RLIMIT_FSIZE gives EFBIG, not ENOSPC). Mounting needs root, as in CI;
elsewhere these tests are skipped with the reason.
"""

from __future__ import annotations

import argparse
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import AS_OF, Fixture, make_fixture

from roleSync import cli
from roleSync.cli import main
from roleSync.sync.store import StateStore


class Disk:
    """A tmpfs of its own, to fill or to make read-only."""

    def __init__(self, mount_point: Path) -> None:
        self.path = mount_point
        self.filler = mount_point / ".filler"

    def fill(self, leave: int = 0) -> None:
        """Write until the disk is full, then give back `leave` bytes."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = 1 << 16
            while chunk:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    chunk //= 2
            if leave:
                os.ftruncate(fd, os.fstat(fd).st_size - leave)
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink()

    def remount(self, mode: str) -> None:
        _mount("-o", f"remount,{mode}", str(self.path))


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    """A 4 MiB tmpfs at tmp_path/disk, unmounted afterwards."""
    point = tmp_path / "disk"
    point.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(point))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {exc}")
    try:
        yield Disk(point)
    finally:
        # Lazily, so a file left open by a failed test cannot leave the mount behind.
        subprocess.run(["umount", "-l", str(point)], check=False, timeout=30)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rolesync: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def with_profile_line(fixture: Fixture, line: str) -> None:
    with fixture.profile.open("a") as profile:
        profile.write(line + "\n")


def audited(fixture: Fixture, state: Path) -> list[tuple[str, int]]:
    """(account, times audited) of every audited change, any run of the profile."""
    fixture = Fixture(fixture.folder, fixture.profile, fixture.rules, fixture.book, state)
    rows = fixture.query("SELECT account_id, count(*) FROM audit GROUP BY account_id")
    return [(str(a), int(n)) for a, n in rows]


def test_a_read_only_state_folder_is_one_line(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path / "f")
    with_profile_line(fixture, f"state_dir: {disk.path / 'state'}")
    owners = fixture.owners()
    disk.remount("ro")
    assert main(fixture.cli("sync")) == 1
    assert one_error_line(capsys) == (
        f"rolesync: error: cannot create the lock file {disk.path}/state/test.lock: "
        "read-only file system (Read-only file system)"
    )
    assert fixture.owners() == owners


def test_a_read_only_state_folder_with_history_keeps_it(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path / "f", hunters=1, accounts_per_hunter=3)
    state = disk.path / "state"
    with_profile_line(fixture, f"state_dir: {state}")
    assert main(fixture.cli("sync")) == 0
    history = audited(fixture, state / "state.db")
    disk.remount("ro")
    assert main(fixture.cli("runs")) == 1
    assert one_error_line(capsys) == (
        f"rolesync: error: {state}/state.db: cannot open the state store: read-only file "
        f"system (holding {state}) (unable to open database file)"
    )
    disk.remount("rw")
    assert audited(fixture, state / "state.db") == history


def test_a_full_disk_under_the_run_files_is_one_line(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    """The state writer (plan.json of the run): nothing written, no run recorded."""
    fixture = make_fixture(tmp_path / "f")
    state_dir = tmp_path / "f" / ".rolesync"
    runs = state_dir / "runs"
    runs.mkdir(parents=True)
    _mount("--bind", str(disk.path), str(runs))
    try:
        disk.fill()
        owners = fixture.owners()
        assert main(fixture.cli("sync")) == 1
        line = one_error_line(capsys)
    finally:
        subprocess.run(["umount", "-l", str(runs)], check=False, timeout=30)
    assert line.startswith(f"rolesync: error: cannot write {runs}/")
    assert line.endswith("/plan.json: disk full (No space left on device)")
    assert fixture.owners() == owners
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]


def test_a_full_disk_under_the_state_store_names_it(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path / "f")
    store = disk.path / "state.db"
    with_profile_line(fixture, f"state: {{path: {store}}}")
    StateStore.open(store).close()
    disk.fill()
    owners = fixture.owners()
    assert main(fixture.cli("sync")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {store}: cannot open the state store: disk full")
    assert "not a roleSync state store" not in line
    assert fixture.owners() == owners


def test_a_full_disk_under_a_new_state_store_leaves_no_file(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path / "f")
    store = disk.path / "state.db"
    with_profile_line(fixture, f"state: {{path: {store}}}")
    disk.fill()
    assert main(fixture.cli("sync")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {store}: cannot create the state store: disk full")
    # Neither a zero-byte store (the next run would refuse it) nor a draft left behind.
    assert sorted(p.name for p in disk.path.iterdir()) == [".filler"]


def test_a_disk_filling_during_apply_names_the_state_store_and_loses_nothing(
    tmp_path: Path, disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    """The book is written batch by batch (200 accounts) while the journal and audit go
    to a state store on a disk with room for about one batch (160 KiB: the journal
    indexes of schema 5 need more than 80): the failure names the
    store, not the book, and the next run, with room again, finishes every change once."""
    fixture = make_fixture(tmp_path / "f", hunters=2, accounts_per_hunter=300)
    store = disk.path / "state.db"
    with_profile_line(fixture, f"state: {{path: {store}}}")
    StateStore.open(store).close()
    # Room for the run's row with its plan (run_plans, twice: the WAL, then the page)
    # and about one batch of journal, audit and their indexes after it.
    plan = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                "-c",
                str(fixture.profile),
                "-r",
                str(fixture.rules),
                "-o",
                str(plan),
                "--as-of",
                AS_OF.isoformat(),
            ]
        )
        == 0
    )
    disk.fill(leave=160 * 1024 + 2 * plan.stat().st_size)
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {store}: cannot ")
    assert "disk full" in line and str(fixture.book) not in line
    # It failed in the middle: some batches are in the book, not yet all in the audit.
    written = [a for a, o in fixture.owners().items() if a[:2] + (o or "")[:2] == "a-f-"]
    assert 0 < len(written) < 600
    disk.free()
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 0
    owners = fixture.owners()
    handed_off = sorted(a for a in owners if a.startswith("a-"))
    assert len(handed_off) == 600
    assert sorted(audited(fixture, store)) == [(a, 1) for a in handed_off]
    assert all((owners[a] or "").startswith("f-") for a in handed_off)


class _Raising:
    """A parser whose command raises `exc`: what main() does with an error that no
    command turned into a message."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def parse_args(self, argv: object) -> argparse.Namespace:
        return argparse.Namespace(handler=self.fail)

    def fail(self, args: argparse.Namespace) -> int:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/srv/x/report.html"),
            "rolesync: error: /srv/x/report.html: disk full (No space left on device)",
        ),
        (
            OSError(errno.EROFS, "Read-only file system"),
            "rolesync: error: read-only file system (Read-only file system)",
        ),
        (sqlite3.OperationalError("disk I/O error"), "rolesync: error: SQLite: disk I/O error"),
    ],
)
def test_main_turns_an_escaped_os_or_sqlite_error_into_one_line(
    exc: BaseException,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "build_parser", lambda *_: _Raising(exc))
    assert cli.main([]) == 1
    assert capsys.readouterr().err.splitlines() == [line]
