"""`rolesync emulate salesforce|hubspot`: a local, throwaway CRM to try roleSync against."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.cli.common import CommandUsageError, Subparsers
from roleSync.emulators.serving import (
    count,
    port_number,
    positive,
    require_loopback,
    seconds,
    serve,
)
from roleSync.errors import ExitCode

if TYPE_CHECKING:
    from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults

DEFAULT_PORT = 18443
HUBSPOT_PORT = 18080


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
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    salesforce.add_argument("--users", type=count, default=40, help="seeded users (default: 40)")
    salesforce.add_argument(
        "--accounts", type=count, default=1000, help="seeded accounts (default: 1000)"
    )
    salesforce.add_argument(
        "--opportunities", type=count, default=3000, help="seeded opportunities (default: 3000)"
    )
    salesforce.add_argument(
        "--contacts", type=count, default=0, help="seeded contacts (default: 0)"
    )
    salesforce.add_argument(
        "--tasks", type=count, default=0, help="seeded tasks on accounts (default: 0)"
    )
    salesforce.add_argument("--seed", type=int, default=1, help="seed of the generated org")
    salesforce.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="YAML/JSON fault settings (request_limit_after, unavailable_every, slow_every, "
        "slow_seconds, drop_every, drop_after_processing, invalid_session_after, "
        "lock_row_rate, lock_row_attempts, garbled_every, garbled_body, seed)",
    )
    salesforce.set_defaults(handler=run_salesforce)
    hubspot = crms.add_parser(
        "hubspot",
        help="a seeded HubSpot portal over HTTP: lists, search, batch read/update, owners, "
        "associations, properties, burst and daily limits, with optional fault injection",
    )
    add_hubspot_arguments(hubspot)
    hubspot.set_defaults(handler=run_hubspot)


def add_hubspot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=port_number, default=HUBSPOT_PORT,
        help=f"port (default: {HUBSPOT_PORT}; 0 picks a free one)",
    )  # fmt: skip
    parser.add_argument("--owners", type=count, default=40, help="seeded owners (default: 40)")
    parser.add_argument(
        "--companies", type=count, default=1000, help="seeded companies (default: 1000)"
    )
    parser.add_argument("--deals", type=count, default=3000, help="seeded deals (default: 3000)")
    parser.add_argument("--contacts", type=count, default=0, help="seeded contacts (default: 0)")
    parser.add_argument(
        "--tasks", type=count, default=0, help="seeded tasks on companies (default: 0)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated portal")
    parser.add_argument(
        "--burst-limit", type=positive, default=100,
        help="requests per interval (default: 100, HubSpot Free/Starter)",
    )  # fmt: skip
    parser.add_argument(
        "--interval-ms", type=positive, default=10_000,
        help="length of the rolling burst interval in ms (default: 10000)",
    )  # fmt: skip
    parser.add_argument(
        "--daily-limit", type=positive, default=250_000, help="requests a day (default: 250000)"
    )
    parser.add_argument(
        "--search-rate-limit", type=positive, default=5,
        help="search requests per second (default: 5)",
    )  # fmt: skip
    parser.add_argument(
        "--search-lag", type=seconds, default=0.0, metavar="SECONDS",
        help="writes reach search only this many seconds later (default: 0)",
    )  # fmt: skip
    parser.add_argument(
        "--faults", type=Path, metavar="FILE",
        help="YAML/JSON fault settings (rate_limit_every, retry_after, daily_limit_after, "
        "bad_gateway_every, unavailable_every, timeout_every, timeout_seconds, drop_every, "
        "drop_after_processing, unauthorized_after, record_error_rate, "
        "record_error_attempts, seed)",
    )  # fmt: skip


def run_hubspot(args: argparse.Namespace) -> ExitCode:
    from roleSync.emulators.hubspot.cli import serve_hubspot_from_args

    return serve_hubspot_from_args(args)


def run_salesforce(args: argparse.Namespace) -> ExitCode:
    from roleSync.emulators.salesforce import (
        SalesforceEmulator,
        SalesforceEmulatorConfig,
        SalesforceFaults,
        load_faults,
    )

    require_loopback(args.host)
    if (args.accounts or args.opportunities) and not args.users:
        raise CommandUsageError("--users must be at least 1 when seeding accounts or opportunities")
    if (args.opportunities or args.contacts or args.tasks) and not args.accounts:
        raise CommandUsageError(
            "--accounts must be at least 1 when seeding opportunities, contacts or tasks"
        )
    faults = load_faults(args.faults) if args.faults else SalesforceFaults()
    config = SalesforceEmulatorConfig(faults=faults)
    emulator = SalesforceEmulator(config)
    emulator.seed(
        users=args.users,
        accounts=args.accounts,
        opportunities=args.opportunities,
        seed=args.seed,
        contacts=args.contacts,
        tasks=args.tasks,
    )
    return serve(emulator, args.host, args.port, lambda: _describe(emulator, args, faults))


def _describe(
    emulator: SalesforceEmulator, args: argparse.Namespace, faults: SalesforceFaults
) -> list[str]:
    from roleSync.emulators.salesforce import SalesforceFaults

    config = emulator.config
    lines: list[str] = []
    defaults = SalesforceFaults()
    active = [
        f"{f.name}={value}"
        for f in fields(SalesforceFaults)
        if (value := asdict(faults)[f.name]) != getattr(defaults, f.name)
    ]
    url = emulator.url
    lines.append(f"Salesforce emulator (API v{config.api_version}) listening on {url}")
    lines.append(f"  CA certificate  {emulator.ca_path}  (trust it explicitly; deleted on exit)")
    lines.append(
        f"  org             {args.users} users, {args.accounts} accounts, "
        f"{args.opportunities} opportunities, {args.contacts} contacts, {args.tasks} tasks "
        f"(seed {args.seed})"
    )
    lines.append(f"  faults          {', '.join(active) if active else 'none'}")
    lines.append("")
    lines.append("The token and secrets below are throwaway values made for this process and")
    lines.append("valid only against this local emulator, so printing them is safe.")
    lines.append("")
    lines.append("# environment for a connector profile (connectors/salesforce.example.yaml)")
    lines.append(f"export SF_INSTANCE_URL='{url}'")
    lines.append(f"export SF_CA_BUNDLE='{emulator.ca_path}'")
    lines.append(f"export SF_ACCESS_TOKEN='{config.access_token}'")
    lines.append(f"export SF_CLIENT_ID='{config.client_id}'")
    lines.append(f"export SF_CLIENT_SECRET='{config.client_secret}'")
    lines.append(f"export SF_REFRESH_TOKEN='{config.refresh_token}'")
    lines.append("# with auth method refresh_token, set in the profile:")
    lines.append(f"#   token_url: {url}/services/oauth2/token")
    lines.append("")
    lines.append("Serving until Ctrl-C.")
    return lines
