"""`rolesync emulate hubspot`: a local, throwaway HubSpot portal to try roleSync against.

The arguments are defined by `roleSync.cli.emulate_cmd`; `serve_hubspot_from_args` runs
the emulator until Ctrl-C (or SIGTERM, or `stop` being set).
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import asdict, fields
from typing import TYPE_CHECKING

from roleSync.emulators.serving import require_loopback, serve
from roleSync.errors import ExitCode

if TYPE_CHECKING:
    from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults


def serve_hubspot_from_args(
    args: argparse.Namespace, *, stop: threading.Event | None = None
) -> ExitCode:
    """Seed, serve and describe the emulator until Ctrl-C, SIGTERM or `stop`.

    Raises CommandUsageError for usage mistakes, InputError for a bad fault file and
    RoleSyncError when the port is taken: `rolesync`'s main maps them to exit codes.
    """
    from roleSync.cli.common import CommandUsageError
    from roleSync.emulators.hubspot import (
        HubSpotEmulator,
        HubSpotEmulatorConfig,
        HubSpotFaults,
        load_faults,
    )

    require_loopback(args.host)
    if (args.companies or args.deals) and not args.owners:
        raise CommandUsageError("--owners must be at least 1 when seeding companies or deals")
    if (args.contacts or args.tasks) and not args.companies:
        raise CommandUsageError("--companies must be at least 1 when seeding contacts or tasks")
    faults = load_faults(args.faults) if args.faults else HubSpotFaults()
    config = HubSpotEmulatorConfig(
        burst_limit=args.burst_limit, interval_ms=args.interval_ms, daily_limit=args.daily_limit,
        search_rate_limit=args.search_rate_limit, search_lag_seconds=args.search_lag,
        faults=faults,
    )  # fmt: skip
    emulator = HubSpotEmulator(config)
    emulator.seed(
        owners=args.owners,
        companies=args.companies,
        deals=args.deals,
        seed=args.seed,
        contacts=args.contacts,
        tasks=args.tasks,
    )
    return serve(
        emulator, args.host, args.port, lambda: describe(emulator, args, faults), stop=stop
    )


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
        f"{args.deals} deals, {args.contacts} contacts, {args.tasks} tasks (seed {args.seed})",
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
