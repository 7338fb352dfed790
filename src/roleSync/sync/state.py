"""Files a run writes (plans, reports) atomically, and the old rotation.json.

Round-robin positions used to live in `<state_dir>/rotation.json`; they now live in the
state store (sync/store.py), which imports the file once (`state_open.open_state`).
Written atomically (temporary file, then rename) so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from roleSync.errors import Diagnostic, InputError, Severity, StorageError
from roleSync.file_faults import os_cause

ROTATION_FILE = "rotation.json"


def write_atomically(path: Path, text: str) -> None:
    """`path` holds `text` in full, or is as it was: StorageError (naming `path` and the
    cause: disk full, read-only, permission denied) if it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {os_cause(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(f"cannot write {path}: {os_cause(exc)}") from None
        raise


def load_rotation(state_dir: Path) -> dict[str, str]:
    path = state_dir / ROTATION_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested without end
        raise InputError(
            [
                Diagnostic(
                    str(path),
                    0,
                    0,
                    Severity.ERROR,
                    f"unreadable rotation state: {exc}",
                    "state-unreadable",
                )
            ]
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError(
            [
                Diagnostic(
                    str(path),
                    1,
                    1,
                    Severity.ERROR,
                    "rotation state must map route ids to owner ids",
                    "state-invalid",
                )
            ]
        )
    return data
