"""Rule evaluation throughput: classify + route with the shipped rules' compiled conditions.

Run: python benchmarks/rule_eval.py [--accounts 1000000]
For each account, its owner's role is decided by `rules/roles.yaml` (first matching rule)
and its route by `rules/routing.yaml`. Three ways, in the same run, on the same data:
- compiled: the generated functions behind `CompiledRoles.rule_for` (the deciding rule,
  no reason text) and `CompiledRouting.route_for`;
- public API: `CompiledRoles.classify` (which also writes the reason text) + `route_for`;
- reference: a hand-written Python function making the same decisions.
Each is timed --runs times (default 3) and the best kept. All three must agree on every
account; accounts/s and the ratio to the reference are printed.
Target (issue 8): >= 1,000,000 accounts/s and within 3x of the reference.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from roleSync.metrics import RoleMetrics
from roleSync.model import Account, Owner
from roleSync.rules.classify import CompiledRoles, OwnerFacts
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set

ROOT = Path(__file__).resolve().parents[1]
Decision = tuple[str | None, str | None]  # (classification rule id, route id)
Evaluator = Callable[[Sequence[OwnerFacts], Sequence[Account]], list[Decision]]


def make_data(n: int, owners: int, seed: int) -> tuple[list[OwnerFacts], list[Account]]:
    """n accounts, each with its owner's facts (drawn from `owners` distinct owners)."""
    rng = random.Random(seed)
    pool: list[OwnerFacts] = []
    for i in range(owners):
        won = rng.randrange(0, 30)
        nb = rng.randrange(0, won + 1)
        share = None if won == 0 else round(rng.random(), 4)
        metrics = RoleMetrics(won_deals=won, new_business_won_count=nb, new_business_share=share)
        pool.append(OwnerFacts(Owner(f"o{i:05d}", f"Owner {i}", f"o{i:05d}@example.com"), metrics))
    segments = ("Enterprise", "enterprise ", "Mid-Market", "SMB", "")
    facts = [pool[rng.randrange(owners)] for _ in range(n)]
    accounts = [
        Account(f"a{i:07d}", f"Account {i}", facts[i].owner.id, segment=rng.choice(segments))
        for i in range(n)
    ]
    return facts, accounts


def compiled(roles: CompiledRoles, routing: CompiledRouting) -> Evaluator:
    def run(facts: Sequence[OwnerFacts], accounts: Sequence[Account]) -> list[Decision]:
        out: list[Decision] = []
        for f, a in zip(facts, accounts, strict=True):
            rule = roles.rule_for(f.owner, f.metrics)
            route = routing.route_for(a)
            out.append(
                (rule.id if rule is not None else None, route.id if route is not None else None)
            )
        return out

    return run


def public_api(roles: CompiledRoles, routing: CompiledRouting) -> Evaluator:
    def run(facts: Sequence[OwnerFacts], accounts: Sequence[Account]) -> list[Decision]:
        out: list[Decision] = []
        for f, a in zip(facts, accounts, strict=True):
            decision = roles.classify(f.owner, f.metrics)
            route = routing.route_for(a)
            out.append((decision.rule_id, route.id if route is not None else None))
        return out

    return run


def hand_written(facts: Sequence[OwnerFacts], accounts: Sequence[Account]) -> list[Decision]:
    """The shipped rules, written out by hand."""
    out: list[Decision] = []
    for f, a in zip(facts, accounts, strict=True):
        m = f.metrics
        share = m.new_business_share
        if share is not None and share >= 0.6 and m.new_business_won_count >= 3:
            rule_id = "hunter-by-deal-mix"
        elif share is not None and share <= 0.4 and m.won_deals >= 3:
            rule_id = "farmer-by-deal-mix"
        else:
            rule_id = "no-clear-mix"
        enterprise = a.segment.strip().casefold() == "enterprise"
        out.append((rule_id, "enterprise" if enterprise else "everyone-else"))
    return out


def timed(
    evaluate: Evaluator, facts: list[OwnerFacts], accounts: list[Account], runs: int
) -> tuple[float, list[Decision]]:
    """Best of `runs` timings (the least disturbed by the machine), and the decisions."""
    best = float("inf")
    decisions: list[Decision] = []
    for _ in range(runs):
        started = time.perf_counter()
        decisions = evaluate(facts, accounts)
        best = min(best, time.perf_counter() - started)
    return best, decisions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rule evaluation throughput")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--owners", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="timings per way; the best is shown")
    args = parser.parse_args(argv)
    rules = load_rule_set([ROOT / "rules" / "roles.yaml", ROOT / "rules" / "routing.yaml"])
    roles, routing = CompiledRoles(rules.roles), CompiledRouting(rules.routing)
    facts, accounts = make_data(args.accounts, args.owners, args.seed)
    n = len(accounts)
    ref_s, reference = timed(hand_written, facts, accounts, args.runs)
    print(f"{n:,} accounts, {args.owners:,} owners, shipped rules, best of {args.runs} runs")
    print(f"{n / ref_s:12,.0f} accounts/s  {ref_s:6.2f} s  reference: hand-written function")
    ok = True
    for label, evaluate in (
        ("compiled conditions", compiled(roles, routing)),
        ("public API (classify with reason + route_for)", public_api(roles, routing)),
    ):
        elapsed, decisions = timed(evaluate, facts, accounts, args.runs)
        same = decisions == reference
        ok &= same
        print(
            f"{n / elapsed:12,.0f} accounts/s  {elapsed:6.2f} s  {label}: "
            f"{elapsed / ref_s:.1f}x the reference's time, "
            f"{'identical decisions' if same else 'DECISIONS DIFFER'}"
        )
    mix: dict[Decision, int] = {}
    for d in reference:
        mix[d] = mix.get(d, 0) + 1
    print("decisions:", ", ".join(f"{r}/{t}: {c:,}" for (r, t), c in sorted(mix.items(), key=str)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
