"""Plain-text tables for terminals and logs: the role table, handoffs, skips, run summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from roleSync.plan import OwnerRole, Plan
from roleSync.sync.report import RelatedResultCode, RunReport
from roleSync.terminal_text import printable


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()
) -> str:
    """Columns padded to fit; columns whose index is in `right` are right-aligned (numbers).

    Cells hold CRM text: escaped before measuring, so a name with an ESC in it neither
    steers the terminal nor pushes its row out of line.
    """
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _money(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"


_HUNTER_TITLES = ("executive", "new business", "development", "hunter")
_FARMER_TITLES = ("account manager", "success", "farmer", "relationship")


def title_disagrees(owner: OwnerRole) -> bool:
    """A title that says the opposite of what the owner's deal mix shows."""
    title = owner.title.casefold()
    says_hunter = any(word in title for word in _HUNTER_TITLES)
    says_farmer = any(word in title for word in _FARMER_TITLES)
    return (says_hunter and owner.role.value == "farmer") or (
        says_farmer and owner.role.value == "hunter"
    )


def titles_that_lie(owners: Sequence[OwnerRole]) -> str:
    lines = [
        printable(f"{o.name} ({o.title}) works as a {o.role.value}: {o.reason}")
        for o in sorted(owners, key=lambda o: o.name)
        if title_disagrees(o)
    ]
    return "\n".join(lines) if lines else "none: every title matches the deal mix"


def role_table(owners: Sequence[OwnerRole]) -> str:
    headers = [
        "owner",
        "title",
        "active",
        "role",
        "NB share",
        "NB won",
        "won deals",
        "win rate",
        "accounts",
        "customers",
        "managed rev",
        "decided by",
    ]
    rows = []
    for o in sorted(owners, key=lambda o: (o.role.value, o.name)):
        m = o.metrics
        rows.append(
            [
                o.name,
                o.title,
                "yes" if o.active else "no",
                o.role.value,
                _share(m.new_business_share),
                str(m.new_business_won_count),
                str(m.won_deals),
                _share(m.win_rate),
                str(m.accounts_owned),
                str(m.customer_accounts_owned),
                _money(m.managed_revenue),
                (o.rule_id or "no rule matched")
                + ("  <- title says otherwise" if title_disagrees(o) else ""),
            ]
        )
    return table(headers, rows, right=frozenset({4, 5, 6, 7, 8, 9, 10}))


def handoff_table(plan: Plan, names: Mapping[str, str], limit: int) -> str:
    rows = [
        [
            c.account_id,
            c.account_name,
            names.get(c.from_owner_id or "", "-"),
            names.get(c.to_owner_id, c.to_owner_id),
            c.rule_id,
        ]
        for c in plan.changes[:limit]
    ]
    text = table(["account", "name", "from", "to", "route"], rows)
    if len(plan.changes) > limit:
        text += f"\n... and {len(plan.changes) - limit} more (all of them are in the report)"
    return text


def skip_summary(plan: Plan) -> str:
    counts = Counter(s.code for s in plan.skipped)
    text = "skipped: " + (
        ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) if counts else "none"
    )
    too_old = plan.summary.get("too_old", 0)
    if too_old:
        # Not a skip: the age limit kept them where they are on purpose. Said here so that
        # a first sync on a historic book tells how to hand those over when that is wanted.
        text += (
            f"; {too_old} accounts whose handoff trigger is older than its age limit stay "
            "(a backfill: raise the handoff's max_age_days or set since)"
        )
    return text


def run_summary(report: RunReport) -> str:
    parts = [
        f"planned {report.planned}",
        f"applied {len(report.applied)}",
        f"already applied {len(report.already_applied)}",
        f"conflicts {len(report.conflicts)}",
        f"failed {len(report.failed)}",
        f"skipped {len(report.skipped)}",
        f"metric writes {report.metrics_written}/{report.metrics_planned}",
    ]
    if report.metric_conflicts:
        parts.append(f"metric conflicts {len(report.metric_conflicts)}")
    if report.metric_failures:
        parts.append(report.metric_failure_note())
    if report.related:
        moved = sum(r.result in _MOVED for r in report.related)
        parts.append(f"carried records {moved}/{len(report.related)}")
    if report.tasks:
        made = sum(t.result in _MADE for t in report.tasks)
        parts.append(f"handoff tasks {made}/{len(report.tasks)}")
    if report.related_failure_note():
        parts.append(report.related_failure_note())
    line = f"run {report.run_id}: " + ", ".join(parts)
    if report.tasks_left:
        line += "\n" + tasks_left_note(report.tasks_left)
    return line


def tasks_left_note(count: int) -> str:
    """A rollback never deletes tasks: people may have worked on them."""
    return (
        f"  {count} handoff tasks created by the run rolled back were left in the CRM "
        "(a rollback never deletes tasks)"
    )


_MOVED = (RelatedResultCode.APPLIED, RelatedResultCode.ALREADY)
_MADE = (RelatedResultCode.CREATED, RelatedResultCode.EXISTED)


def owner_names(plan: Plan) -> dict[str, str]:
    return {o.owner_id: o.name for o in plan.owners}
