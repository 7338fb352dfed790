"""Finishing a run of 4,000 changes against one of 40,000, side by side (issue 19: the
larger must take at most 10x the smaller).

Run: python benchmarks/finishing_scale.py
     python benchmarks/finishing_scale.py --sizes 4000 40000 --repeat 3

Each size is a fresh local book (one hunter whose customers were all won 20 days before
AS_OF, each with an open renewal deal; four farmers) applied in this process through
`apply_plan`, the function `rolesync sync` runs after planning: every handoff moves its
account, carries its deal and creates a handoff task, journaled and audited in a fresh
state store. Timed from the run's own events: "apply" (run-started -> the apply stage),
"finishing" (the apply stage -> run-finished: carried records, handoff tasks, audit,
report, run closed; what the issue measured). The smallest of `--repeat` runs counts.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from roleSync.adapters.base import Adapter
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import write_book
from roleSync.model import Account, Deal, DealKind, Owner
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.profile import Profile
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.sync.logs import EventProgress
from roleSync.sync.report import RunReport
from roleSync.sync.runner import apply_plan

AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
FARMERS = 4
ROLES = {
    "version": 1,
    "kind": "roles",
    "classify": [
        {"id": "hunter", "role": "hunter",
         "when": {"metric": "new_business_share", "op": "gte", "value": 0.6}},
        {"id": "farmer", "role": "farmer",
         "when": {"metric": "new_business_share", "op": "lte", "value": 0.4}},
    ],
}  # fmt: skip
ROUTING = {
    "version": 1,
    "kind": "routing",
    "handoffs": [
        {
            "id": "first-win",
            "delay_days": 0,
            "from_roles": ["hunter"],
            "carry": [{"deals": {"kinds": ["renewal"]}}],
            "tasks": {"new_owner": {"subject": "Welcome {account}"}},
        }
    ],
    "routes": [{"id": "farmers", "assign": {"pool": {"role": "farmer"}}}],
}


class Clock(logging.Handler):
    """When each run event was logged (perf_counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "rolesync_fields", {})
        name = getattr(record, "rolesync_event", "")
        self.seen.append((name, str(fields.get("stage", "")), time.perf_counter()))

    def at(self, name: str, stage: str = "") -> float:
        return next(t for n, s, t in self.seen if n == name and s == stage)


def inputs() -> PlanInputs:
    return PlanInputs(
        profile="test",
        roles=CompiledRoles(RolesFile.model_validate(ROLES)),
        routing=CompiledRouting(RoutingFile.model_validate(ROUTING)),
        rules_digest="sha256:bench",
        as_of=AS_OF,
    )


def _won(deal_id: str, account: str, owner: str, kind: DealKind) -> Deal:
    closed = AS_OF - timedelta(days=20)
    return Deal(deal_id, account, owner, kind, "Closed Won", True, True, 1000.0,
                closed - timedelta(days=60), closed)  # fmt: skip


def book(folder: Path, changes: int) -> Path:
    recent = AS_OF - timedelta(days=20)
    owners = [Owner("h", "Hank", "h@example.com")]
    owners += [Owner(f"f{i}", f"Farmer {i}", f"f{i}@example.com") for i in range(FARMERS)]
    accounts, deals = [], []
    for n in range(changes):
        aid = f"a{n:06d}"
        accounts.append(Account(aid, f"Account {n}", "h", lifecycle="customer"))
        deals.append(_won(f"won-{aid}", aid, "h", DealKind.NEW_BUSINESS))
        deals.append(
            Deal(f"open-{aid}", aid, "h", DealKind.RENEWAL, "Proposal", False, False, 10.0,
                 recent, None)
        )  # fmt: skip
    for i in range(FARMERS):
        aid = f"farmed-{i}"
        accounts.append(Account(aid, f"Farmed {i}", f"f{i}", lifecycle="customer"))
        deals.append(_won(f"won-{aid}", aid, f"f{i}", DealKind.EXPANSION))
    path = folder / "book.db"
    write_book(path, owners, accounts, deals)
    return path


def apply_handoffs(profile: Profile, plan: Plan, adapter: Adapter, **extra: Any) -> RunReport:
    """Apply `plan` (a handoff per account of `book`) as `rolesync sync` does after
    planning, guardrails opened and the clock at NOW; `extra`: apply_plan's other
    arguments (a state store, a progress). Also what the counting tests run."""
    return apply_plan(
        profile,
        plan,
        adapter,
        mode="sync",
        book_accounts=len(plan.changes) + FARMERS,
        allow_large=True,
        clock=lambda: NOW,
        **extra,
    )


def one(changes: int) -> tuple[float, float]:
    """(apply, finishing) seconds of a run of `changes` handoffs."""
    folder = Path(tempfile.mkdtemp(prefix="rolesync-finishing-"))
    try:
        profile = Profile.for_local_book(book(folder, changes), name="test")
        with LocalAdapter(profile, now=lambda: NOW) as adapter:
            plan = build_plan(adapter.pull(), inputs())
            assert len(plan.changes) == changes and len(plan.task_creates) == changes
            clock = Clock()
            events = logging.getLogger("roleSync.events")
            events.addHandler(clock)
            events.setLevel(logging.INFO)
            try:
                # The stage events `--log-format json` logs.
                report = apply_handoffs(profile, plan, adapter, progress=EventProgress())
            finally:
                events.removeHandler(clock)
        assert report.ok and len(report.applied) == changes
        applied = clock.at("stage", "apply")
        return applied - clock.at("run-started"), clock.at("run-finished") - applied
    finally:
        shutil.rmtree(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Finishing 4k against 40k changes")
    parser.add_argument("--sizes", type=int, nargs=2, default=[4_000, 40_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    best: dict[int, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for size in args.sizes:
            got = one(size)
            best[size] = min(best.get(size, got), got, key=lambda t: t[1])
    small, large = args.sizes
    for size in args.sizes:
        apply_s, finish_s = best[size]
        print(f"{size:>7,} changes: apply {apply_s:6.2f} s, finishing {finish_s:6.2f} s")
    ratio = best[large][1] / best[small][1]
    print(f"finishing {large:,} / {small:,}: {ratio:.1f}x (target <= {large / small:.0f}x)")
    return 0 if ratio <= large / small else 1


if __name__ == "__main__":
    sys.exit(main())
