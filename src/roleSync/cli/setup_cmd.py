"""`rolesync setup -c PROFILE`: create the CRM properties the profile writes to."""

from __future__ import annotations

import argparse

from roleSync.cli.common import CommandUsageError, Subparsers, add_profile_option, out
from roleSync.errors import ExitCode


def register(sub: Subparsers) -> None:
    setup = sub.add_parser(
        "setup",
        help="create the properties a HubSpot profile writes role metrics to (idempotent)",
    )
    add_profile_option(setup)
    setup.set_defaults(handler=run_setup)


def run_setup(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile

    profile = load_profile(args.connector)
    if profile.kind != "hubspot" or profile.hubspot is None:
        raise CommandUsageError(
            f"rolesync setup creates HubSpot properties; a profile of kind {profile.kind} "
            "has nothing to set up this way (Salesforce: create the User fields in Setup, "
            "see docs/salesforce.md)"
        )
    from roleSync.adapters.hubspot.client import HubSpotClient
    from roleSync.adapters.hubspot.setup import setup_portal

    client = HubSpotClient(profile.hubspot, ca_bundle=profile.hubspot_ca_bundle_path)
    try:
        report = setup_portal(client, profile)
    finally:
        client.close()
    for line in report.lines():
        out(line)
    return ExitCode.OK
