"""`rolesync emulate salesforce`: a local, throwaway Salesforce org to try roleSync against."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import asdict, fields
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from roleSync.cli.common import CommandUsageError, Subparsers, out
from roleSync.errors import ExitCode, RoleSyncError

if TYPE_CHECKING:
    from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults

DEFAULT_PORT = 18443


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


def register(sub: Subparsers) -> None:
    emulate = sub.add_parser(
        "emulate", help="run a local CRM API emulator for trying and testing (loopback only)"
    )
    crms = emulate.add_subparsers(dest="crm", required=True, metavar="CRM")
    salesforce = crms.add_parser(
        "salesforce",
        help="a seeded Salesforce org over HTTPS: REST query, sObject Collections, Bulk 2.0, "
        "OAuth token endpoint, with optional fault injection",
    )
    salesforce.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)"
    )
    salesforce.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    salesforce.add_argument("--users", type=_count, default=40, help="seeded users (default: 40)")
    salesforce.add_argument(
        "--accounts", type=_count, default=1000, help="seeded accounts (default: 1000)"
    )
    salesforce.add_argument(
        "--opportunities", type=_count, default=3000, help="seeded opportunities (default: 3000)"
    )
    salesforce.add_argument("--seed", type=int, default=1, help="seed of the generated org")
    salesforce.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="YAML/JSON fault settings (request_limit_after, unavailable_every, slow_every, "
        "slow_seconds, drop_every, drop_after_processing, invalid_session_after, "
        "lock_row_rate, lock_row_attempts, seed)",
    )
    salesforce.set_defaults(handler=run_salesforce)


def run_salesforce(args: argparse.Namespace) -> ExitCode:
    from roleSync.emulators.loopback import NotLoopbackError, loopback_address
    from roleSync.emulators.salesforce import (
        SalesforceEmulator,
        SalesforceEmulatorConfig,
        SalesforceFaults,
        load_faults,
    )

    try:
        loopback_address(args.host)
    except NotLoopbackError as exc:
        raise CommandUsageError(f"{exc}: the emulator only listens on this machine") from None
    if (args.accounts or args.opportunities) and not args.users:
        raise CommandUsageError("--users must be at least 1 when seeding accounts or opportunities")
    if args.opportunities and not args.accounts:
        raise CommandUsageError("--accounts must be at least 1 when seeding opportunities")
    faults = load_faults(args.faults) if args.faults else SalesforceFaults()
    config = SalesforceEmulatorConfig(faults=faults)
    emulator = SalesforceEmulator(config)
    emulator.seed(
        users=args.users, accounts=args.accounts, opportunities=args.opportunities, seed=args.seed
    )
    try:
        emulator.start(args.host, args.port)
    except OSError as exc:
        raise RoleSyncError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc} "
            "(another emulator running? try --port 0)"
        ) from None
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (a service manager stopping us) ends the run like Ctrl-C does.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if in_main else None
    try:
        _describe(emulator, args, faults)
        while not stop.wait(0.5):
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


def _describe(
    emulator: SalesforceEmulator, args: argparse.Namespace, faults: SalesforceFaults
) -> None:
    from roleSync.emulators.salesforce import SalesforceFaults

    config = emulator.config
    defaults = SalesforceFaults()
    active = [
        f"{f.name}={value}"
        for f in fields(SalesforceFaults)
        if (value := asdict(faults)[f.name]) != getattr(defaults, f.name)
    ]
    url = emulator.url
    out(f"Salesforce emulator (API v{config.api_version}) listening on {url}")
    out(f"  CA certificate  {emulator.ca_path}  (trust it explicitly; deleted on exit)")
    out(
        f"  org             {args.users} users, {args.accounts} accounts, "
        f"{args.opportunities} opportunities (seed {args.seed})"
    )
    out(f"  faults          {', '.join(active) if active else 'none'}")
    out("")
    out("The token and secrets below are throwaway values made for this process and")
    out("valid only against this local emulator, so printing them is safe.")
    out("")
    out("# environment for a connector profile (connectors/salesforce.example.yaml)")
    out(f"export SF_INSTANCE_URL='{url}'")
    out(f"export SF_CA_BUNDLE='{emulator.ca_path}'")
    out(f"export SF_ACCESS_TOKEN='{config.access_token}'")
    out(f"export SF_CLIENT_ID='{config.client_id}'")
    out(f"export SF_CLIENT_SECRET='{config.client_secret}'")
    out(f"export SF_REFRESH_TOKEN='{config.refresh_token}'")
    out("# with auth method refresh_token, set in the profile:")
    out(f"#   token_url: {url}/services/oauth2/token")
    out("")
    out("Serving until Ctrl-C.")
