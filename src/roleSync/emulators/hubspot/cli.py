"""`rolesync emulate hubspot`: a local, throwaway HubSpot portal to try roleSync against.

`add_hubspot_arguments` fills a subparser; `serve_hubspot_from_args` runs the emulator
until Ctrl-C (or SIGTERM, or `stop` being set). Until the subcommand is wired into
`rolesync emulate`, `python -m roleSync.emulators.hubspot.cli [OPTIONS]` runs it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import asdict, fields
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from roleSync.errors import ExitCode, InputError, RoleSyncError

if TYPE_CHECKING:
    from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults

DEFAULT_PORT = 18080


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return port


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return count


def _positive(text: str) -> int:
    count = _count(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return count


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value


def add_hubspot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )  # fmt: skip
    parser.add_argument("--owners", type=_count, default=40, help="seeded owners (default: 40)")
    parser.add_argument(
        "--companies", type=_count, default=1000, help="seeded companies (default: 1000)"
    )
    parser.add_argument("--deals", type=_count, default=3000, help="seeded deals (default: 3000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated portal")
    parser.add_argument(
        "--burst-limit", type=_positive, default=100,
        help="requests per interval (default: 100, HubSpot Free/Starter)",
    )  # fmt: skip
    parser.add_argument(
        "--interval-ms", type=_positive, default=10_000,
        help="length of the rolling burst interval in ms (default: 10000)",
    )  # fmt: skip
    parser.add_argument(
        "--daily-limit", type=_positive, default=250_000, help="requests a day (default: 250000)"
    )
    parser.add_argument(
        "--search-rate-limit", type=_positive, default=5,
        help="search requests per second (default: 5)",
    )  # fmt: skip
    parser.add_argument(
        "--search-lag", type=_seconds, default=0.0, metavar="SECONDS",
        help="writes reach search only this many seconds later (default: 0)",
    )  # fmt: skip
    parser.add_argument(
        "--faults", type=Path, metavar="FILE",
        help="YAML/JSON fault settings (rate_limit_every, retry_after, daily_limit_after, "
        "bad_gateway_every, unavailable_every, timeout_every, timeout_seconds, drop_every, "
        "drop_after_processing, unauthorized_after, record_error_rate, "
        "record_error_attempts, seed)",
    )  # fmt: skip


def serve_hubspot_from_args(
    args: argparse.Namespace, *, stop: threading.Event | None = None
) -> ExitCode:
    """Seed, serve and describe the emulator until Ctrl-C, SIGTERM or `stop`.

    Raises CommandUsageError for usage mistakes, InputError for a bad fault file and
    RoleSyncError when the port is taken: `rolesync`'s main maps them to exit codes.
    """
    from roleSync.cli.common import CommandUsageError, out
    from roleSync.emulators.hubspot import (
        HubSpotEmulator,
        HubSpotEmulatorConfig,
        HubSpotFaults,
        load_faults,
    )
    from roleSync.emulators.loopback import NotLoopbackError, loopback_address

    try:
        loopback_address(args.host)
    except NotLoopbackError as exc:
        raise CommandUsageError(f"{exc}: the emulator only listens on this machine") from None
    if (args.companies or args.deals) and not args.owners:
        raise CommandUsageError("--owners must be at least 1 when seeding companies or deals")
    faults = load_faults(args.faults) if args.faults else HubSpotFaults()
    config = HubSpotEmulatorConfig(
        burst_limit=args.burst_limit, interval_ms=args.interval_ms, daily_limit=args.daily_limit,
        search_rate_limit=args.search_rate_limit, search_lag_seconds=args.search_lag,
        faults=faults,
    )  # fmt: skip
    emulator = HubSpotEmulator(config)
    emulator.seed(owners=args.owners, companies=args.companies, deals=args.deals, seed=args.seed)
    try:
        emulator.start(args.host, args.port)
    except OSError as exc:
        raise RoleSyncError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc} "
            "(another emulator running? try --port 0)"
        ) from None
    done = stop or threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        done.set()

    # SIGTERM (a service manager stopping us) ends the run like Ctrl-C does.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if in_main else None
    try:
        for line in describe(emulator, args, faults):
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


def describe(
    emulator: HubSpotEmulator, args: argparse.Namespace, faults: HubSpotFaults
) -> list[str]:
    """What an admin needs: where it listens, what it holds, and the lines to export."""
    from roleSync.emulators.hubspot import HubSpotFaults

    config, url = emulator.config, emulator.url
    defaults = HubSpotFaults()
    active = [
        f"{f.name}={value}"
        for f in fields(HubSpotFaults)
        if (value := asdict(faults)[f.name]) != getattr(defaults, f.name)
    ]
    return [
        f"HubSpot emulator listening on {url}  (plain HTTP, loopback only)",
        f"  portal          {args.owners} owners, {args.companies} companies, "
        f"{args.deals} deals (seed {args.seed})",
        f"  rate limits     {config.burst_limit} requests / {config.interval_ms} ms, "
        f"{config.daily_limit} a day; search {config.search_rate_limit} / "
        f"{config.search_interval_ms} ms",
        f"  search lag      {config.search_lag_seconds:g} s",
        f"  faults          {', '.join(active) if active else 'none'}",
        "",
        "The token and secrets below are throwaway values made for this process and",
        "valid only against this local emulator, so printing them is safe.",
        "",
        "# client: HubSpot(access_token=..., host=URL, retry=urllib3.util.Retry(total=0))",
        f"# OAuth refresh: POST {url}/oauth/v1/token (grant_type=refresh_token)",
        "",
        "# environment",
        f"export HUBSPOT_HOST='{url}'",
        f"export HUBSPOT_ACCESS_TOKEN='{config.access_token}'",
        f"export HUBSPOT_CLIENT_ID='{config.client_id}'",
        f"export HUBSPOT_CLIENT_SECRET='{config.client_secret}'",
        f"export HUBSPOT_REFRESH_TOKEN='{config.refresh_token}'",
        "",
        "Serving until Ctrl-C.",
    ]


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point until `rolesync emulate hubspot` is wired."""
    parser = argparse.ArgumentParser(
        prog="python -m roleSync.emulators.hubspot.cli", description=__doc__.splitlines()[0]
    )
    add_hubspot_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(serve_hubspot_from_args(args))
    except InputError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return int(exc.exit_code)
    except RoleSyncError as exc:
        print(f"rolesync: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)


if __name__ == "__main__":
    sys.exit(main())
