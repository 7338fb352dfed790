"""What the emulators' fault injection shares: the running counts faults are decided
by, and the loader of fault files.

Each emulator describes its faults as a dataclass whose `__post_init__` raises
ValueErrors that start with the offending setting's name; `load_fault_file` fills one
from a YAML or JSON file, and `FaultCounter` numbers API requests and write attempts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.yaml_depth import too_deep

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class Faults(Protocol):
    """The settings every emulator's faults have."""

    drop_every: int | None
    unavailable_every: int | None
    seed: int


AnyFaults = TypeVar("AnyFaults", bound=Faults)
Settings = TypeVar("Settings", bound="DataclassInstance")


def check_every(settings: object, names: Iterable[str]) -> None:
    """For `__post_init__`: the "every Nth" / "after N" settings are whole numbers >= 1,
    or None (off)."""
    for name in names:
        value = getattr(settings, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a whole number >= 1 (or null for off)")


def every(n: int | None, sequence: int) -> bool:
    """Whether request number `sequence` is one of every `n`th (None: never)."""
    return n is not None and sequence % n == 0


class FaultCounter(Generic[AnyFaults]):
    """The running count of API requests and of write attempts per record."""

    def __init__(self, faults: AnyFaults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._sequence = 0
        self._attempts: dict[str, int] = {}

    def next_request(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def drop(self, sequence: int) -> bool:
        return every(self.faults.drop_every, sequence)

    def unavailable(self, sequence: int) -> bool:
        return every(self.faults.unavailable_every, sequence)

    def prone(self, record_id: str, rate: float) -> bool:
        """Whether the record is among the `rate` share that fail: decided by the seed
        and the id, so the same records fail in every run."""
        if rate <= 0:
            return False
        digest = hashlib.blake2b(f"{self.faults.seed}:{record_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64 < rate

    def attempt_fails(self, record_id: str, rate: float, attempts: int) -> bool:
        """Count a write attempt on the record; True when it is prone and this is one of
        its first `attempts` attempts."""
        if not self.prone(record_id, rate):
            return False
        with self._lock:
            attempt = self._attempts.get(record_id, 0) + 1
            self._attempts[record_id] = attempt
        return attempt <= attempts


def load_fault_file(path: Path, settings: type[Settings], *, sort_names: bool = False) -> Settings:
    """A `settings` dataclass from a YAML or JSON file: its fields, flat or under `faults:`.

    Errors are positioned diagnostics (`file:line:col: error: ...`), all of them. The
    message for an unknown key lists the known ones in field order, or sorted.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([_problem(path, 0, 0, f"cannot read: {exc.strerror}", "io")]) from None
    except UnicodeDecodeError:
        raise InputError([_problem(path, 0, 0, "the file is not valid UTF-8", "io")]) from None
    deep = too_deep(text)  # before the parser, which recurses (RecursionError)
    if deep is not None:
        raise InputError([_problem(path, deep.line, deep.column, deep.message, "depth")])
    try:
        document = YAML(typ="rt").load(text) if text.strip() else {}
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise InputError([_problem(path, line, col, f"not YAML/JSON: {exc}", "syntax")]) from None
    if isinstance(document, dict) and set(document) == {"faults"}:
        document = document["faults"]
    if not isinstance(document, dict):
        raise InputError([_problem(path, 1, 1, "expected a mapping of fault settings", "type")])
    known = {f.name: f for f in fields(settings)}
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for key, value in document.items():
        line, col = _position(document, key)
        if key not in known:
            names = ", ".join(sorted(known) if sort_names else known)
            problems.append(
                _problem(path, line, col, f"unknown setting {key!r} (known: {names})", "unknown")
            )
            continue
        try:
            values[str(key)] = json.loads(json.dumps(value))  # plain Python values
        except TypeError:  # a date, a timestamp: YAML types no fault setting takes
            problems.append(_problem(path, line, col, f"{key}: not a number or text", "value"))
    if not problems:
        try:
            return settings(**values)
        except (TypeError, ValueError) as exc:
            # The messages start with the setting's name: point at that key.
            named = str(exc).split(" ", 1)[0]
            line, col = _position(document, named) if named in document else (1, 1)
            problems.append(_problem(path, line, col, str(exc), "value"))
    raise InputError(problems)


def _position(document: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = document.lc.key(key)
        return int(line) + 1, int(col) + 1
    except (AttributeError, KeyError, TypeError):
        return 0, 0


def _problem(path: Path, line: int, col: int, message: str, code: str) -> Diagnostic:
    return Diagnostic(str(path), line, col, Severity.ERROR, message, f"faults-{code}")
