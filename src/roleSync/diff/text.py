"""A RuleDiff for a terminal: headline, role changes, account changes, counts, verdict.

Names come from the CRM: the caller prints this through `cli.common.out`, which shows
control characters escaped, and `render.table` escapes each cell before measuring it.
"""

from __future__ import annotations

from roleSync.diff import shown
from roleSync.diff.compare import Pair, RuleDiff
from roleSync.diff.document import diff_exit_code
from roleSync.errors import ExitCode
from roleSync.render import table


def headline(diff: RuleDiff) -> str:
    code = diff_exit_code(diff)
    if code is ExitCode.OK:
        return "nothing changes: the new rules plan exactly what the base rules plan"
    roles, accounts = shown.what_changes(len(diff.roles), len(diff.accounts))
    what = (
        f"{roles}, {accounts} ({shown.share(diff.blast_radius)} of the book's "
        f"{diff.book_accounts} accounts)"
    )
    if code is ExitCode.GUARDRAIL:
        return f"{what}; the guardrails would STOP a run under the new rules"
    return f"{what}; within the guardrails"


def _pairs(title: str, pairs: dict[str, Pair], key: str) -> str:
    rows = [[k, str(p.base), str(p.new), shown.delta(p.base, p.new)] for k, p in pairs.items()]
    if not rows:
        return f"{title}: none under either version"
    return f"{title}:\n" + table([key, "base", "new", "change"], rows, frozenset({1, 2, 3}))


def _verdict(diff: RuleDiff) -> str:
    verdict = diff.verdict
    lines = []
    if verdict.stops:
        lines.append("Guardrails: a run under the new rules would be STOPPED:")
        lines += [f"  - {reason}" for reason in verdict.reasons]
    else:
        lines.append("Guardrails: a run under the new rules passes them.")
    if verdict.base_stops:
        lines.append("  (a run under the base rules would be stopped already:")
        lines += [f"    - {reason}" for reason in verdict.base_reasons]
        lines[-1] += ")"
    rows = [
        [
            shown.check_name(c),
            shown.limit_value(c, c.limit),
            shown.limit_value(c, c.base),
            shown.limit_value(c, c.new),
            "EXCEEDED" if c.exceeded else "ok",
        ]
        for c in verdict.checks
    ]
    lines.append(table(["guardrail", "limit", "base", "new", "status"], rows, frozenset({1, 2, 3})))
    return "\n".join(lines)


def render_text(diff: RuleDiff) -> str:
    parts = [
        f"rolesync diff: profile {diff.profile}, as of {diff.as_of}",
        f"  base rules: {diff.base_label} ({diff.base_digest[:19]})",
        f"  new rules:  {diff.new_label} ({diff.new_digest[:19]})",
        *(f"  note: {note}" for note in diff.notes),
        "",
        headline(diff),
    ]
    if diff.roles:
        rows = [
            [
                r.name,
                r.email,
                f"{r.base.role} ({shown.rule_of(r.base.rule_id)})",
                f"{r.new.role} ({shown.rule_of(r.new.rule_id)})",
                shown.figures(r),
            ]
            for r in diff.roles
        ]
        parts += [
            "",
            f"Owners whose role changes ({len(diff.roles)} of {diff.book_owners}):",
            table(["owner", "email", "base", "new", "figures"], rows),
        ]
    if diff.accounts:
        rows = [
            [
                a.account_id,
                a.name,
                a.owner_name or a.owner_id or "-",
                shown.fate(a.base),
                shown.fate(a.new),
            ]
            for a in diff.accounts
        ]
        parts += [
            "",
            f"Accounts whose handoff changes ({len(diff.accounts)}):",
            table(["account", "name", "owner now", "base", "new"], rows),
        ]
    if diff.changed:
        parts += [
            "",
            _pairs("Handoffs per route", diff.routes, "route"),
            "",
            _pairs("Skipped per reason", diff.skips, "reason"),
            "",
            _pairs("Totals", diff.totals, "planned"),
        ]
    parts += ["", _verdict(diff)]
    return "\n".join(parts)
