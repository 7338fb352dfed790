"""SIGTERM and SIGINT during a run: stop at a batch boundary, say so, exit 143 / 130.

Schedulers stop a job with SIGTERM (systemd, Kubernetes, `docker stop`), people with
Ctrl-C. Python's defaults end the process on the spot (SIGTERM: no cleanup, no last log
line) or raise KeyboardInterrupt wherever it happens to be. The journal is safe either
way (kill -9 is), but nobody learns what happened, and the batch in flight is left for
the next run to read back from the CRM.

`stopping_gracefully()` (the CLI, around sync, apply and rollback) installs handlers:

- outside `writing()` (taking the lock, pulling, planning): `Interrupted` is raised at
  once; nothing has been written;
- inside `writing()` (a run's apply, or finishing an interrupted run): the signal is
  noted and `checkpoint()`, called before each batch's intent is journaled, raises
  `Interrupted` there; so the batch in flight is written and journaled first, and the
  run is left `interrupted` for the next run to finish;
- a second signal stops at once, wherever the run is: as after kill -9, the journal
  says which writes were in flight and the next run reconciles them.

The handlers only set a flag or raise: no logging in a signal handler (it could
interleave with a log line being written). The CLI logs the final event.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """A stop asked for by a signal. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way (a CRM adapter giving up on a batch, a retry loop)
    takes it for an error of the batch and records the batch's changes as failed."""

    def __init__(self, signum: int, *, at_once: bool) -> None:
        self.signum = signum
        # True: raised where the program was (no run open, or a second signal);
        # False: raised at a batch boundary, with every journaled batch completed.
        self.at_once = at_once
        # The run that was writing when the stop came, when there was one.
        self.run_id: str | None = None
        super().__init__(f"interrupted by {signal_name(signum)}")

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process a signal ended."""
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass(slots=True)
class StopRequest:
    """What the handlers saw: the signal asked for, if any."""

    signum: int | None = None
    writing: int = 0  # depth of nested `writing()` blocks


_current: StopRequest | None = None


def _handle(signum: int, frame: FrameType | None) -> None:
    request = _current
    if request is None:  # restored handlers raced with a signal: stop as asked
        raise Interrupted(signum, at_once=True)
    first = request.signum is None
    request.signum = signum
    if first and request.writing:
        return  # stop at the next batch boundary (checkpoint)
    raise Interrupted(signum, at_once=True)


@contextmanager
def stopping_gracefully() -> Iterator[StopRequest]:
    """Handle SIGTERM and SIGINT as described above while the block runs; the previous
    handlers come back after it. Outside the main thread (where Python cannot install
    handlers) the block runs with the handlers as they are."""
    global _current
    if threading.current_thread() is not threading.main_thread():
        yield StopRequest()
        return
    request = StopRequest()
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    outer, _current = _current, request
    try:
        for signum in SIGNALS:
            signal.signal(signum, _handle)
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _current = outer


def checkpoint() -> None:
    """Raise `Interrupted` if a stop was asked for: call where stopping leaves nothing
    half done (before a batch's intent is journaled, before a run starts)."""
    if _current is not None and _current.signum is not None:
        raise Interrupted(_current.signum, at_once=False)


@contextmanager
def writing() -> Iterator[None]:
    """A block that writes: a first signal waits for the next `checkpoint()`."""
    checkpoint()
    if _current is None:
        yield
        return
    request = _current
    request.writing += 1
    try:
        yield
    finally:
        request.writing -= 1
