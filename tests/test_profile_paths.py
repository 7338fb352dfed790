"""Where a profile keeps its files (issue 13): never the filesystem root or a system
folder. Refused when the profile loads, and by `rolesync check -c`, as findings at the
key to edit; ordinary folders (relative, under /tmp, /var/lib/...) are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.profile import load_profile
from roleSync.profile.paths import unsafe_folder

HEAD = "version: 1\nkind: local\nname: test\nlocal: {path: book.db}\nmetrics: {write: false}\n"
ADVICE = (
    "give roleSync a folder of its own (e.g. .rolesync beside the profile, or /var/lib/rolesync)"
)
RULES = Path(__file__).resolve().parents[1] / "rules"


def write_profile(folder: Path, extra: str) -> Path:
    path = folder / "p.yaml"
    path.write_text(HEAD + extra)
    return path


@pytest.mark.parametrize(
    ("state_dir", "reason"),
    [
        ("/", "/, the filesystem root"),
        ("/proc/self", "/proc/self, inside /proc, a virtual file system of the kernel"),
        ("/sys/kernel", "/sys/kernel, inside /sys, a virtual file system of the kernel"),
        ("/dev/shm", "/dev/shm, inside /dev, a virtual file system of the kernel"),
        ("/etc", "/etc, a system folder"),
        ("/usr/lib", "/usr/lib, a system folder"),
        ("/run", "/run, a system folder"),
        ("/tmp/../boot", "/boot, a system folder"),
    ],
)
def test_check_refuses_a_state_dir_in_a_system_folder(
    tmp_path: Path, state_dir: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = write_profile(tmp_path, f"state_dir: {state_dir}\n")
    assert main(["check", "-c", str(profile)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{profile}:6:1: error: state_dir puts the state folder in {reason}; {ADVICE} [unsafe-path]"
    ]


def test_a_sync_with_state_dir_proc_self_is_one_positioned_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = write_profile(tmp_path, "state_dir: /proc/self\n")
    argv = ["sync", "-c", str(profile), "-r", str(RULES), "--as-of", "2026-06-30"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{profile}:6:1: error: state_dir puts the state folder in /proc/self, inside "
        f"/proc, a virtual file system of the kernel; {ADVICE} [unsafe-path]"
    ]


def test_book_and_state_store_paths_are_checked_at_their_keys(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: test\n"
        "local:\n  path: /etc/book.db\n"
        "state:\n  path: /proc/state.db\n"
    )
    with pytest.raises(InputError) as caught:
        load_profile(profile)
    assert [(d.line, d.col, d.code) for d in caught.value.diagnostics] == [
        (5, 3, "unsafe-path"),
        (7, 3, "unsafe-path"),
    ]
    assert caught.value.diagnostics[0].message.startswith(
        "local.path puts the local book in /etc, a system folder;"
    )
    assert caught.value.diagnostics[1].message.startswith(
        "state.path puts the state store in /proc, inside /proc, a virtual file system"
    )


def test_a_link_to_a_system_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "looks-fine").symlink_to("/etc")
    assert unsafe_folder(tmp_path / "looks-fine") == "a system folder (it resolves to /etc)"


@pytest.mark.parametrize(
    "state_dir", [".rolesync", "state", "../elsewhere", "/tmp/rolesync-x", "/var/lib/rolesync"]
)
def test_ordinary_folders_are_accepted(tmp_path: Path, state_dir: str) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    profile = write_profile(folder, f"state_dir: {state_dir}\n")
    assert load_profile(profile).state_dir == state_dir
