"""Full pulls side by side: list endpoints against Bulk API 2.0 query / CRM exports.

Run: python benchmarks/full_pull.py [--accounts 100000] [--deals 400000] [--crm both]
     [--page-size 100000] [--owners 50] [--bulk-only] [--json out.json]

`--owners` (HubSpot): owners seeded (every tenth archived, each with a users record).
`--bulk-only`: skip the list/REST pull (its count is exact by the formula, checked
at smaller sizes, and it takes longest).

Per CRM, one emulator seeded once (50 owners), then two full pulls into fresh mirrors,
each in its own child process (its peak RSS is the child's VmHWM): the list/REST
endpoints (threshold 0: never bulk or export) and bulk/export (Salesforce
`bulk_query_threshold` 10,000, HubSpot `export_threshold` 1). Printed per pull: the
requests the emulator counted (by kind), wall time, peak RSS, and digests of the Book
(owners, accounts, deals) the mirror built and of the plan the shipped rules make of it
(`rolesync plan`'s bytes): both ways must build the same ones. The child gets its spec,
the emulator's token in it, on stdin, not on its command line (visible in ps). Then the
request formulas of pull_formulas.py at the measured size (asserted equal to the counts:
exit 1 if not) and at 1M / 4M.

Time is scaled by 1/100 (SCALE): HubSpot's burst limit of 100 requests per 10 s is
enforced by the emulator as 100 per 100 ms and its search limit of 5 per second as 5
per 10 ms, the adapter's profile says the same, and every pause the adapters take
(export status polls of 5 s, Bulk 2.0 job polls of 2 s, retry back-offs) is 1/100 of its
real length. The Salesforce emulator enforces only the daily API limit (raised here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pull_formulas

from roleSync.adapters.crm import MirroredAdapter
from roleSync.adapters.resilience import RetryPolicy
from roleSync.model import Book
from roleSync.profile import Profile

SCALE = 100.0
USERS = 50
SF_PAGE = 100_000  # the profile's default bulk_query_page_size
SF_OWNERS_1M = 2_000  # the owners of the 1M / 4M formulas (one REST page)
RULES = Path(__file__).resolve().parents[1] / "rules"
SF_THRESHOLD = 10_000
SF_POLLS = 3
HS_POLLS = 2  # the emulator's default: PENDING, PROCESSING, then COMPLETE
HS_INTERVAL_MS = 100  # HubSpot's 10 s window, scaled
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _scaled_sleep(seconds: float) -> None:
    time.sleep(seconds / SCALE)


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, sleep=_scaled_sleep, rng=random.Random(7))


def _adapter(spec: dict[str, Any], folder: Path) -> MirroredAdapter[Any]:
    """The adapter a child process pulls with (imports inside: one CRM per child)."""
    if spec["crm"] == "salesforce":
        from roleSync.adapters.salesforce import SalesforceAdapter

        section: dict[str, Any] = {
            "instance_url": spec["url"],
            "ca_bundle": spec["ca"],
            "auth": {"method": "access_token", "token_url": f"{spec['url']}/services/oauth2/token"},
            "bulk_query_threshold": spec["threshold"],
            "bulk_query_page_size": spec.get("page_size", SF_PAGE),
        }
        data = {"version": 1, "kind": "salesforce", "name": "full-pull", "salesforce": section}
        data["metrics"] = {"write": False}
        profile = Profile.model_validate(data).with_base_dir(folder)
        env = {"SF_ACCESS_TOKEN": spec["token"]}
        return SalesforceAdapter(profile, env=env, policy=_policy(), bulk_poll_seconds=2.0 / SCALE)
    from roleSync.adapters.hubspot import HubSpotAdapter

    limit = {"tier": "free", "interval_ms": HS_INTERVAL_MS, "search_per_second": 4.0 * SCALE}
    hubspot = {"host": spec["url"], "rate_limit": limit, "export_threshold": spec["threshold"]}
    data = {"version": 1, "kind": "hubspot", "name": "full-pull", "hubspot": hubspot}
    data["metrics"] = {"fields": {"role": "rolesync_role"}}
    profile = Profile.model_validate(data).with_base_dir(folder)
    env = {"HUBSPOT_ACCESS_TOKEN": spec["token"]}
    return HubSpotAdapter(profile, env=env, policy=_policy())


def digest(book: Book) -> str:
    """The same for two Books holding equal owners, accounts and deals."""
    text = repr(
        (
            sorted(book.owners.items()),
            sorted(book.accounts.items()),
            sorted(book.deals, key=lambda d: d.id),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def peak_rss_mb() -> int:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across the
    fork and exec that started this child, so it would report the parent's (the
    emulator's, holding the whole seeded book) whenever that is larger."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)  # in kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux


def plan_digest(book: Book) -> str:
    """The plan of the shipped rules on `book` at AS_OF: the same bytes, the same digest."""
    from roleSync.plan import PlanInputs, build_plan
    from roleSync.rules.classify import CompiledRoles
    from roleSync.rules.routes import CompiledRouting
    from roleSync.rules.ruleset import load_rule_set

    rules = load_rule_set([RULES])
    inputs = PlanInputs(
        "full-pull",
        CompiledRoles(rules.roles),
        CompiledRouting(rules.routing),
        rules.digest,
        AS_OF.date(),
    )
    return hashlib.sha256(build_plan(book, inputs).to_json().encode()).hexdigest()[:16]


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One full pull in this process: its time, peak RSS and the Book's and plan's
    digests (the peak read before the plan is built: it is the pull's)."""
    with tempfile.TemporaryDirectory() as folder:
        adapter = _adapter(spec, Path(folder))
        started = time.monotonic()
        book = adapter.pull()
        seconds = time.monotonic() - started
        adapter.close()
    rss = peak_rss_mb()
    return {
        "seconds": round(seconds, 2),
        "rss_mb": rss,
        "digest": digest(book),
        "plan": plan_digest(book),
        "accounts": len(book.accounts),
        "deals": len(book.deals),
    }


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    # The spec (the emulator's token in it) goes through stdin: a command line is
    # visible to every user of the machine (ps, /proc/PID/cmdline).
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(spec),
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {spec['crm']} pull failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(emu: Any, spec: dict[str, Any]) -> dict[str, Any]:
    emu.reset_counters()
    result = run_child(spec)
    result["requests"] = emu.counters["requests"]
    result["kinds"] = {
        k: v
        for k, v in sorted(emu.counters.items())
        if v and k not in {"requests", "api_requests", "totals"}
    }
    return result


def salesforce(
    accounts: int,
    deals: int,
    threshold: int = SF_THRESHOLD,
    page_size: int = SF_PAGE,
    bulk_only: bool = False,
) -> dict[str, Any]:
    """`bulk_only`: skip the REST pull (at 1M / 4M its count is exact by the formula,
    and it takes as long as the bulk one)."""
    from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig

    config = SalesforceEmulatorConfig(bulk_query_polls=SF_POLLS, daily_limit=10_000_000)
    emu = SalesforceEmulator(config)
    started = time.monotonic()
    emu.seed(users=USERS, accounts=accounts, opportunities=deals, seed=1)
    seeded = time.monotonic() - started
    with emu:
        base = {"crm": "salesforce", "url": emu.url, "ca": str(emu.ca_path)}
        base["token"] = emu.config.access_token
        lists = None if bulk_only else measure(emu, {**base, "threshold": 0})
        bulk = measure(emu, {**base, "threshold": threshold, "page_size": page_size})
    return {
        "crm": "Salesforce",
        "seed_seconds": round(seeded, 1),
        "list": lists,
        "bulk": bulk,
        "formula_list": pull_formulas.salesforce_rest(USERS, accounts, deals),
        "formula_bulk": pull_formulas.salesforce_bulk(
            USERS, accounts, deals, page_size, SF_POLLS, threshold
        ),
        "formula_list_1m": pull_formulas.salesforce_rest(SF_OWNERS_1M, 1_000_000, 4_000_000),
        "formula_bulk_1m": pull_formulas.salesforce_bulk(
            SF_OWNERS_1M, 1_000_000, 4_000_000, page_size, SF_POLLS, SF_THRESHOLD
        ),
    }


def hubspot(
    companies: int, deals: int, owners: int = USERS, bulk_only: bool = False
) -> dict[str, Any]:
    from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig

    config = HubSpotEmulatorConfig(
        burst_limit=100,
        interval_ms=HS_INTERVAL_MS,
        daily_limit=10_000_000,
        search_rate_limit=5,
        search_interval_ms=int(1000 / SCALE),
    )
    emu = HubSpotEmulator(config)
    started = time.monotonic()
    emu.seed(owners=owners, companies=companies, deals=deals, seed=1, as_of=AS_OF)
    seeded = time.monotonic() - started
    with emu:
        base = {"crm": "hubspot", "url": emu.url, "token": emu.config.access_token}
        lists = None if bulk_only else measure(emu, {**base, "threshold": 0})
        exported = measure(emu, {**base, "threshold": 1})
        limited = emu.counters["rate_limited"]
    return {
        "crm": "HubSpot",
        "seed_seconds": round(seeded, 1),
        "list": lists,
        "bulk": exported,
        "rate_limited_last": limited,
        "formula_list": pull_formulas.hubspot_lists(companies, deals, owners),
        # A big file takes the emulator longer to build than its 2 polls: the extra
        # PROCESSING answers are status calls the formula counts (per export, as counted).
        "formula_bulk": pull_formulas.hubspot_exports(HS_POLLS, owners=owners)
        + _extra_polls(exported),
        # The portal: 1M companies, 4M deals, 2,000 owners.
        "formula_list_1m": pull_formulas.hubspot_lists(1_000_000, 4_000_000, 2_000),
        "formula_bulk_1m": pull_formulas.hubspot_exports(HS_POLLS, owners=2_000),
    }


def _extra_polls(exported: dict[str, Any]) -> int:
    """Status calls beyond the emulator's 2 polls per export, as it counted them (a big
    file is still being built: PROCESSING answers)."""
    status = int(exported["kinds"].get("exports_status", 0))
    return max(0, status - 2 * (HS_POLLS + 1))


def report(result: dict[str, Any]) -> bool:
    name = result["crm"]
    print(f"{name} (seeded in {result['seed_seconds']} s)")
    ways = [way for way in ("list", "bulk") if result[way] is not None]
    for way in ways:
        r = result[way]
        kinds = ", ".join(f"{k} {v}" for k, v in r["kinds"].items())
        print(
            f"  {way}: {r['requests']} requests, {r['seconds']} s, peak RSS {r['rss_mb']} MB, "
            f"{r['accounts']} accounts / {r['deals']} deals, book {r['digest']}, "
            f"plan {r['plan']} ({kinds})"
        )
    counted = tuple(result[way]["requests"] for way in ways)
    formula = tuple(result[f"formula_{way}"] for way in ways)
    same = len(ways) == 1 or (
        result["list"]["digest"] == result["bulk"]["digest"]
        and result["list"]["plan"] == result["bulk"]["plan"]
    )
    if len(ways) == 2:
        print(f"  same book and plan bytes both ways: {same}")
    print(f"  formula at this size {formula}, counted {counted}")
    print(
        f"  1M / 4M by the formula: list {result['formula_list_1m']}, "
        f"bulk/export {result['formula_bulk_1m']} requests"
    )
    return same and counted == formula


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=400_000)
    parser.add_argument("--crm", choices=("both", "salesforce", "hubspot"), default="both")
    parser.add_argument("--owners", type=int, default=USERS, help="HubSpot owners seeded")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--page-size", type=int, default=SF_PAGE, help="Salesforce bulk_query_page_size"
    )
    parser.add_argument("--bulk-only", action="store_true", help="skip the list/REST pull")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(sys.stdin.read()))))
        return 0
    results = []
    if args.crm in ("both", "salesforce"):
        results.append(
            salesforce(
                args.accounts, args.deals, page_size=args.page_size, bulk_only=args.bulk_only
            )
        )
    if args.crm in ("both", "hubspot"):
        results.append(hubspot(args.accounts, args.deals, args.owners, args.bulk_only))
    ok = all([report(r) for r in results])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
