"""What `rolesync emulate <crm>` shares across CRMs: argument types, the loopback check,
and serving until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Protocol

from roleSync.cli.common import CommandUsageError, out
from roleSync.errors import ExitCode, RoleSyncError


class Servable(Protocol):
    counters: Counter[str]

    def start(self, host: str = ..., port: int = ...) -> None: ...

    def stop(self) -> None: ...


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return port


def count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return number


def positive(text: str) -> int:
    number = count(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return number


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value


def require_loopback(host: str) -> None:
    # Imported here: the loopback module brings TLS and trustme, which `rolesync --help`
    # and every other command have no use for.
    from roleSync.emulators.loopback import NotLoopbackError, loopback_address

    try:
        loopback_address(host)
    except NotLoopbackError as exc:
        raise CommandUsageError(f"{exc}: the emulator only listens on this machine") from None


def serve(
    emulator: Servable,
    host: str,
    port: int,
    describe: Callable[[], Iterable[str]],
    *,
    stop: threading.Event | None = None,
) -> ExitCode:
    """Start, print `describe()` (it may read the URL only known once started), and
    serve until Ctrl-C, SIGTERM or `stop`."""
    try:
        emulator.start(host, port)
    except OSError as exc:
        raise RoleSyncError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(another emulator running? try --port 0)"
        ) from None
    done = stop or threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        done.set()

    # SIGTERM (a service manager stopping us) ends the run like Ctrl-C does.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if in_main else None
    try:
        for line in describe():
            out(line)
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        served = emulator.counters["requests"]
        emulator.stop()
    out(f"rolesync: emulator stopped after {served} requests")
    return ExitCode.OK
