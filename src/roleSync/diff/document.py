"""A RuleDiff as a JSON document, and the exit code it calls for.

The keys are a stable interface (docs/reviewing-rule-changes.md lists them): scripts
and CI read them. `format` changes when a key changes meaning or goes away; new keys
may be added within a format.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from roleSync.diff.compare import Pair, RuleDiff
from roleSync.errors import ExitCode
from roleSync.json_text import pretty_json

DIFF_FORMAT = 1


def diff_exit_code(diff: RuleDiff) -> ExitCode:
    """0: nothing changes; 3: the guardrails would stop a run under the new rules;
    6: something changes, within the guardrails."""
    if not diff.changed:
        return ExitCode.OK
    return ExitCode.GUARDRAIL if diff.verdict.stops else ExitCode.CHANGES


def _pairs(pairs: dict[str, Pair]) -> dict[str, dict[str, int]]:
    return {key: {"base": p.base, "new": p.new} for key, p in pairs.items()}


def as_data(diff: RuleDiff) -> dict[str, Any]:
    verdict = diff.verdict
    return {
        "format": DIFF_FORMAT,
        "profile": diff.profile,
        "as_of": diff.as_of,
        "base": {"rules": diff.base_label, "digest": diff.base_digest},
        "new": {"rules": diff.new_label, "digest": diff.new_digest},
        "changed": diff.changed,
        "exit_code": int(diff_exit_code(diff)),
        "book": {"accounts": diff.book_accounts, "owners": diff.book_owners},
        "blast_radius": {
            "accounts": len(diff.accounts),
            "book_accounts": diff.book_accounts,
            "share": round(diff.blast_radius, 4),
        },
        "roles": [asdict(r) for r in diff.roles],
        "accounts": [asdict(a) for a in diff.accounts],
        "routes": _pairs(diff.routes),
        "skips": _pairs(diff.skips),
        "totals": _pairs(diff.totals),
        "guardrails": {
            "verdict": "stop" if verdict.stops else "pass",
            "reasons": verdict.reasons,
            "base_verdict": "stop" if verdict.base_stops else "pass",
            "base_reasons": verdict.base_reasons,
            "checks": [
                {
                    "guardrail": c.guardrail,
                    "limit": c.limit,
                    "base": c.base,
                    "new": c.new,
                    "exceeded": c.exceeded,
                }
                for c in verdict.checks
            ],
        },
        "notes": diff.notes,
    }


def to_json(diff: RuleDiff) -> str:
    return pretty_json(as_data(diff)) + "\n"
