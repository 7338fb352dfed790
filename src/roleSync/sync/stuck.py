"""Stuck handoffs: the skips of a run counted by reason, and the `--fail-on` alert.

A handoff skipped because no route matched or its route's pool was full stays with its
hunter until someone acts. A scheduler only notices a non-zero exit, so a run asked to
fail on those codes (`sync --fail-on`, a profile's `alerts.fail_on`) writes everything
else, then exits 5 with one line naming the counts and the full routes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from roleSync.errors import ExitCode, UsageError
from roleSync.plan.types import SKIP_CODES, Skip, SkipCode
from roleSync.rules.suggest import did_you_mean

if TYPE_CHECKING:
    from roleSync.sync.report import RunReport


def unknown_code(code: str) -> str | None:
    """Why `code` is no skip code (with a did-you-mean), or None when it is one."""
    if code in SKIP_CODES:
        return None
    return (
        f"unknown skip code {code!r}{did_you_mean(code, SKIP_CODES)} "
        f"(expected one of: {', '.join(SKIP_CODES)})"
    )


def parse_fail_on(text: str) -> tuple[str, ...]:
    """`--fail-on no-eligible-farmer,no-route` -> its codes, in order, once each. Blank:
    none (turns off a profile's `alerts.fail_on`). UsageError on an unknown code."""
    codes = [c.strip() for c in text.split(",") if c.strip()]
    for code in codes:
        why = unknown_code(code)
        if why is not None:
            raise UsageError(why)
    return tuple(dict.fromkeys(codes))


def skipped_by_reason(skipped: Iterable[Skip]) -> dict[str, int]:
    """Skip code -> how many handoffs of the run it stopped, most first."""
    counts = Counter(s.code for s in skipped)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def full_routes(skipped: Iterable[Skip]) -> list[str]:
    """The routes whose pool had no eligible farmer for some account, sorted."""
    return sorted({s.route for s in skipped if s.code == SkipCode.NO_FARMER and s.route})


def stuck_line(skipped: Sequence[Skip], fail_on: Sequence[str]) -> str | None:
    """The alert's one line when a skip of the run has one of the `fail_on` codes, e.g.
    "stuck handoffs: 26 no-eligible-farmer, 2 no-route; full routes: emea", else None."""
    counts = {c: n for c, n in skipped_by_reason(skipped).items() if c in fail_on}
    if not counts:
        return None
    shown = ", ".join(f"{n} {code}" for code, n in counts.items())
    line = f"stuck handoffs: {shown}"
    routes = full_routes(skipped)
    if SkipCode.NO_FARMER in counts and routes:
        line += f"; full routes: {', '.join(routes)}"
    return line


def run_outcome(report: RunReport, fail_on: Sequence[str]) -> tuple[ExitCode, str | None]:
    """A finished run's exit code and, when handoffs are stuck, the alert's line: 1
    (INVALID) when something failed, else 5 (STUCK) when a handoff was skipped for one of
    the `fail_on` codes, else 0. The CLI and the Python API decide it here alike."""
    if not report.ok:
        return ExitCode.INVALID, None
    line = stuck_line(report.skipped, fail_on)
    return (ExitCode.OK, None) if line is None else (ExitCode.STUCK, line)
