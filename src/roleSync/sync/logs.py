"""Run events for unattended operation: `--log-format text|json` on sync, apply, rollback.

Events go through the standard `logging` tree under "roleSync", so the adapters' own log
lines (retries, lock waits) come out in the same format. JSON: one object per line on
stderr, with `time`, `level`, `event`, `message` and the event's fields. Fields are ids,
counts, paths and error texts only: nothing that could carry a secret (profiles hold
only the NAMES of the environment variables with credentials, never their values).

Text (the default) is for a person at a terminal: only warnings (a crashed run being
finished, a guardrail) appear, as `rolesync: message`; the run summary goes to stdout.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO

from roleSync.terminal_text import printable

FORMATS = ("text", "json")
# Counts by name and lists of ids too (run-finished: skipped_by_reason, full_routes).
Field = str | int | float | bool | None | dict[str, int] | list[str]

_ROOT = "roleSync"
_EVENTS = logging.getLogger("roleSync.events")
_RESERVED = {"time", "level", "event", "message", "logger"}


def event(name: str, message: str, *, level: int = logging.INFO, **fields: Field) -> None:
    """Report one event, e.g. event("run-finished", "...", run_id=..., applied=3)."""
    _EVENTS.log(level, message, extra={"rolesync_event": name, "rolesync_fields": fields})


class _EventStage:
    def __init__(self, name: str) -> None:
        self.name = name

    def advance(self, amount: int = 1) -> None:
        pass  # a log wants each stage's outcome, not a line per account

    def done(self, summary: str) -> None:
        event("stage", summary, stage=self.name)


class EventProgress:
    """The runner's progress reports (report.progress.Progress) as events: in json mode,
    stderr carries nothing but JSON lines."""

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[_EventStage]:
        yield _EventStage(name)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, "rolesync_event", "log"),
            "message": record.getMessage(),
        }
        if record.name != _EVENTS.name:
            data["logger"] = record.name
        fields = getattr(record, "rolesync_fields", {})
        data.update({k: v for k, v in fields.items() if k not in _RESERVED})
        if record.exc_info and record.exc_info[1] is not None:
            data["error"] = str(record.exc_info[1])
        return json.dumps(data, ensure_ascii=False, default=str)


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # One line per event, whatever CRM text the message quotes.
        return f"rolesync: {printable(record.getMessage())}"


_installed: logging.Handler | None = None


def configure(log_format: str, stream: TextIO | None = None) -> None:
    """Install the one handler of the "roleSync" logger tree (replacing an earlier one,
    so tests calling `main` repeatedly do not stack handlers)."""
    global _installed
    root = logging.getLogger(_ROOT)
    if _installed is not None:
        root.removeHandler(_installed)
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
        root.setLevel(logging.INFO)
    else:
        handler.setFormatter(_Text())
        root.setLevel(logging.WARNING)
    root.addHandler(handler)
    # Not propagated to the root logger: an embedding application's handlers would
    # print each event a second time in their own format.
    root.propagate = False
    _installed = handler


def reset() -> None:
    """Remove the handler `configure` installed."""
    global _installed
    root = logging.getLogger(_ROOT)
    if _installed is not None:
        root.removeHandler(_installed)
        _installed = None
    root.propagate = True
    root.setLevel(logging.NOTSET)
