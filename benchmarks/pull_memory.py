"""Peak memory of a full pull against the number of deals, for each CRM emulator.

Run: python benchmarks/pull_memory.py [--accounts 10000] [--deals 40000 160000]
     [--crm both|salesforce|hubspot|local] [--page-size N]

`--before DIR`: HubSpot pulls also run with the roleSync package found in DIR (a
`src` folder, e.g. `git archive main src | tar -x -C /tmp/main`), in the same run,
beside the current code: before and after on the same emulator and the same machine.

Each emulator runs in this process, seeded once per size; each full pull runs in a
child process (`python benchmarks/pull_memory.py child`, its spec on stdin), so the emulator's own
memory (it holds every record, and a query's result) is not counted. The child reports
its peak RSS (VmHWM) and, with `trace`, the peak of Python allocations during the
pull alone (tracemalloc; the memory test uses that). The references: a child that
only starts (the interpreter and this script's imports), and per CRM a child that
imports roleSync and builds the adapter and its mirror but pulls nothing. `--crm
local` reads a generated local book of the same size into a Book instead (the step a
remote pull ends with: its Book out of the mirror).

The pull is the mirror's only (Salesforce `pull_into`, HubSpot `Puller.run`), without
metric writes: reading the Book out of the mirror afterwards is another step.
HubSpot is pulled twice per size: through the list endpoints (`export_threshold: 0`) and
through the CRM exports API (`export_threshold: 1`, files streamed to disk, then a row at
a time into the mirror).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from roleSync.adapters.resilience import RetryPolicy
from roleSync.profile import Profile

SCRIPT = Path(__file__).resolve()
# Salesforce through query jobs: every object of this many records or more (accounts,
# deals), result pages of `--page-size` (the profile's default: 100,000).
BULK = 10_000


def _profile(spec: dict[str, Any], folder: Path) -> Profile:
    if spec["crm"] == "salesforce":
        section: dict[str, Any] = {
            "instance_url": spec["url"],
            "ca_bundle": spec["ca"],
            "auth": {"method": "access_token", "token_url": f"{spec['url']}/services/oauth2/token"},
            "bulk_query_threshold": spec.get("bulk", 0),
        }
        if spec.get("page_size") is not None:
            section["bulk_query_page_size"] = spec["page_size"]
    else:
        section = {
            "host": spec["url"],
            "auth": {"method": "private_app"},
            "rate_limit": {"burst": 10_000, "search_per_second": 1000},
            "export_threshold": spec.get("export", 0),
        }
        if spec.get("batch"):
            section["batch_size"] = spec["batch"]
    data = {
        "version": 1,
        "kind": spec["crm"],
        "name": "pull-memory",
        spec["crm"]: section,
        "metrics": {"write": False},
    }
    return Profile.model_validate(data).with_base_dir(folder)


def _pull(spec: dict[str, Any], folder: Path) -> None:
    policy = RetryPolicy(max_attempts=6, sleep=lambda seconds: None, rng=random.Random(7))
    profile = _profile(spec, folder)
    env: dict[str, str] = spec["env"]
    if spec["crm"] == "salesforce":
        from roleSync.adapters.salesforce import SalesforceAdapter
        from roleSync.adapters.salesforce.pull import pull_into

        sf = SalesforceAdapter(profile, env=env, policy=policy, bulk_poll_seconds=0.0)
        mirror = sf.mirror  # opened before the measure: its schema is not the pull's
        if spec["pull"]:
            if spec["trace"]:
                tracemalloc.start()
            pull_into(sf.client, mirror, profile, full=True)
        sf.close()
    else:
        from roleSync.adapters.hubspot import HubSpotAdapter

        hs = HubSpotAdapter(profile, env=env, policy=policy)
        puller = hs.puller
        hs.mirror.cursor("companies")
        if spec["pull"]:
            if spec["trace"]:
                tracemalloc.start()
            puller.run(full=True)
        hs.close()


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run in the child: one full pull (or none: the reference); its peaks. crm "bare":
    nothing at all, the interpreter and this script's imports (the floor)."""
    if spec["crm"] == "bare":
        return {"rss_kib": peak_rss_kib(), "traced": 0}
    if spec["crm"] == "local":
        from roleSync.adapters.local import LocalAdapter

        adapter = LocalAdapter(Profile.for_local_book(Path(spec["book"])))
        if spec["pull"]:
            if spec["trace"]:
                tracemalloc.start()
            adapter.pull()
        return {"rss_kib": peak_rss_kib(), "traced": _traced()}
    with tempfile.TemporaryDirectory() as folder:
        _pull(spec, Path(folder))
    import roleSync

    # Which roleSync pulled (the current one, or --before's).
    return {"rss_kib": peak_rss_kib(), "traced": _traced(), "package": str(roleSync.__file__)}


def _traced() -> int:
    return tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0


def peak_rss_kib() -> int:
    """This process's peak RSS. Linux: VmHWM, the high-water mark of this program's own
    memory. Not ru_maxrss: it survives exec, so a child started by vfork (as subprocess
    does) reports the parent's peak, emulator included, when that is higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(spec: dict[str, Any], source: Path | None = None) -> dict[str, Any]:
    """A child process's peaks for `spec` (crm, url, ca, env, pull, trace, batch,
    export); `source`: a folder holding another roleSync package to pull with.

    The spec, tokens in it, goes through stdin: a command line is visible in ps."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the pull's child process failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def salesforce_spec(
    emu: Any, *, pull: bool = True, trace: bool = False, bulk: int = 0, page_size: int | None = None
) -> dict[str, Any]:
    """`bulk`: the profile's `bulk_query_threshold` (0: REST pages only); `page_size`:
    its `bulk_query_page_size` (None: the profile's default)."""
    return {
        "bulk": bulk,
        "page_size": page_size,
        "crm": "salesforce",
        "url": emu.url,
        "ca": str(emu.ca_path),
        "env": {"SF_ACCESS_TOKEN": emu.config.access_token},
        "pull": pull,
        "trace": trace,
    }


def hubspot_spec(
    emu: Any, *, pull: bool = True, trace: bool = False, batch: int = 0, export: int = 0
) -> dict[str, Any]:
    """`batch`: ids an association read sends (0: the profile's default); `export`: the
    profile's `export_threshold` (0: list endpoints only)."""
    config = emu.config
    env = {
        "HUBSPOT_ACCESS_TOKEN": config.access_token,
        "HUBSPOT_REFRESH_TOKEN": config.refresh_token,
        "HUBSPOT_CLIENT_ID": config.client_id,
        "HUBSPOT_CLIENT_SECRET": config.client_secret,
    }
    return {
        "crm": "hubspot",
        "url": emu.url,
        "ca": "",
        "env": env,
        "pull": pull,
        "trace": trace,
        "batch": batch,
        "export": export,
    }


def _row(label: str, figures: dict[str, Any], seconds: float) -> str:
    return f"{label}: peak RSS {figures['rss_kib'] / 1024:.0f} MiB ({seconds:.0f} s)"


def _salesforce(deals: int, accounts: int, page_size: int | None, first: bool) -> None:
    from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig

    sf = SalesforceEmulator(SalesforceEmulatorConfig(daily_limit=10_000_000))
    sf.seed(users=50, accounts=accounts, opportunities=deals, seed=1)
    with sf:
        if first:
            bare = measure({"crm": "bare"})
            print(_row("interpreter + benchmark imports", bare, 0.0))
            print(_row("Salesforce reference", measure(salesforce_spec(sf, pull=False)), 0.0))
        for label, bulk in (("REST", 0), ("Bulk API 2.0", BULK)):
            started = time.monotonic()
            figures = measure(salesforce_spec(sf, bulk=bulk, page_size=page_size))
            seconds = time.monotonic() - started
            print(_row(f"Salesforce {label}, {deals} deals", figures, seconds), flush=True)


def _local(deals: int, accounts: int, first: bool) -> None:
    """A local book of the same size (benchmarks/book_generator.py), read into a Book:
    what every remote pull ends with (Book out of the mirror), for comparison."""
    from book_generator import BookSpec, write_local_book

    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder) / "book.sqlite"
        write_local_book(BookSpec(accounts, deals, 50), book)
        spec: dict[str, Any] = {"crm": "local", "book": str(book), "trace": False}
        if first:
            print(_row("local reference", measure({**spec, "pull": False}), 0.0))
        started = time.monotonic()
        figures = measure({**spec, "pull": True})
        print(_row(f"local book read, {deals} deals", figures, time.monotonic() - started))


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["child"]:
        print(json.dumps(child(json.loads(sys.stdin.read()))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--deals", type=int, nargs="+", default=[40_000, 160_000])
    parser.add_argument("--crm", choices=("both", "salesforce", "hubspot", "local"), default="both")
    parser.add_argument(
        "--page-size",
        type=int,
        help="Salesforce bulk_query_page_size (default: the profile's, 100000)",
    )
    parser.add_argument("--before", type=Path, help="a src folder of roleSync to compare")
    args = parser.parse_args(args_in)
    print(f"{args.accounts} accounts, 50 owners; deals: {args.deals}")
    for deals in args.deals:
        first = deals == args.deals[0]
        if args.crm in ("both", "salesforce"):
            _salesforce(deals, args.accounts, args.page_size, first)
        if args.crm in ("both", "hubspot"):
            _hubspot(args.accounts, deals, first=first, before=args.before)
        if args.crm == "local":
            _local(deals, args.accounts, first)
    return 0


def _hubspot(accounts: int, deals: int, *, first: bool, before: Path | None) -> None:
    """HubSpot alone: list and export pulls, with the --before code beside."""
    from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig
    from roleSync.emulators.hubspot.exports import ExportSettings

    # Export tasks complete at the first status call: the child does not sleep.
    config = HubSpotEmulatorConfig(
        burst_limit=1_000_000,
        daily_limit=100_000_000,
        search_rate_limit=1_000_000,
        exports=ExportSettings(polls_to_complete=0, daily_limit=1_000),
    )
    hs = HubSpotEmulator(config)
    hs.seed(owners=50, companies=accounts, deals=deals, seed=1)
    with hs:
        if first:
            print(_row("HubSpot reference", measure(hubspot_spec(hs, pull=False)), 0.0))
        for label, export in (("list", 0), ("export", 1)):
            for source in (before, None) if before else (None,):
                started = time.monotonic()
                figures = measure(hubspot_spec(hs, export=export), source)
                which = "before" if source else "after"
                row = _row(
                    f"HubSpot {label}, {deals} deals, {which}", figures, time.monotonic() - started
                )
                print(f"{row} [{figures['package']}]", flush=True)


if __name__ == "__main__":
    sys.exit(main())
