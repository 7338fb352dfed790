"""Where a profile may keep its files: never in the filesystem root or a system folder.

A profile's state_dir receives state.db, the lock file and a folder per run; its book
and mirror are SQLite files. `state_dir: /` once created `/state.db`, and
`state_dir: /proc/self` ended in a traceback: both are refused when the profile loads
(and by `rolesync check -c`), as findings positioned at the key to edit. Whether the
folder is writable is a fact of the machine a run happens on, so it is checked there,
when the files are written, and reported as one line naming the file and the cause.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from roleSync.errors import Diagnostic, Severity
from roleSync.rules.loader import Loc

# Folders of the operating system itself: none of them is a place for one program's
# state. Their subfolders are fine (/var/lib/rolesync), except below the kernel's
# virtual file systems, where nothing is a real file. Folders people put data in on
# purpose (/tmp, /mnt, /srv, /opt, home folders) are not in the list.
_SYSTEM_FOLDERS = frozenset(
    PurePosixPath(p)
    for p in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/usr/bin",
        "/usr/include",
        "/usr/lib",
        "/usr/lib32",
        "/usr/lib64",
        "/usr/libexec",
        "/usr/local",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/run",
        # macOS
        "/Library",
        "/System",
        "/private",
        "/private/etc",
        "/private/var",
    )
)
_VIRTUAL_ROOTS = tuple(PurePosixPath(p) for p in ("/proc", "/sys", "/dev"))


def unsafe_folder(folder: Path) -> str | None:
    """Why `folder` (absolute) must not hold roleSync's files; None when it may.

    Checked as written and with symlinks resolved, so neither `/tmp/../etc` nor a
    link to /etc slips through."""
    written = PurePosixPath(os.path.normpath(folder))
    for candidate in (written, PurePosixPath(folder.resolve())):
        via = "" if candidate == written else f" (it resolves to {candidate})"
        if candidate == candidate.parent:
            return f"the filesystem root{via}"
        for root in _VIRTUAL_ROOTS:
            if candidate.is_relative_to(root):
                return f"inside {root}, a virtual file system of the kernel{via}"
        if candidate in _SYSTEM_FOLDERS:
            return f"a system folder{via}"
    return None


# A key of the profile, what it places, the folder that lands in, the key's position.
PathCheck = tuple[Loc, str, Path, tuple[int, int]]


def unsafe_path_findings(source: str, checks: list[PathCheck]) -> list[Diagnostic]:
    """A finding per check whose folder is unsafe, at the position of its key."""
    findings = []
    for loc, what, folder, (line, col) in checks:
        reason = unsafe_folder(folder)
        if reason is None:
            continue
        key = ".".join(str(part) for part in loc)
        findings.append(
            Diagnostic(
                source,
                line,
                col,
                Severity.ERROR,
                f"{key} puts {what} in {folder}, {reason}; give roleSync a folder of its "
                "own (e.g. .rolesync beside the profile, or /var/lib/rolesync)",
                "unsafe-path",
            )
        )
    return findings
