"""A RuleDiff as GitHub-flavoured Markdown, for a pull-request comment or a job summary.

Names, emails, ids and reasons come from the CRM: untrusted. Every such value goes into
a code span (`code`): inside one, Markdown, HTML, links, emoji, `@mentions` and `#123`
references are not interpreted (GitHub's mention filter skips code), so an owner named
`<img src=x>` or `@everyone` shows as text and pings nobody. The code span cannot be
left early (backticks in the value become ', newlines a space) and a `|` is escaped,
which GitHub honours inside a table cell's code span. Tables stop at MAX_ROWS with
"and N more", so a comment stays far below GitHub's 65,536 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from roleSync.diff import shown
from roleSync.diff.compare import Pair, RuleDiff
from roleSync.diff.document import diff_exit_code
from roleSync.errors import ExitCode

MAX_ROWS = 50
MAX_CELL = 200  # characters of one value: a reason or a name cannot flood the comment
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def code(value: str) -> str:
    """`value` as an inert code span (see the module doc); empty: an en dash."""
    text = _BREAKS.sub(" ", value).replace("`", "'").strip()
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    if not text:
        return "–"
    return "`" + text.replace("|", "\\|") + "`"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], total: int) -> list[str]:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS]),
    ]
    if total > MAX_ROWS:
        lines.append(f"\n…and {total - MAX_ROWS} more (`rolesync diff --format json` lists all).")
    return lines


def _pairs(title: str, pairs: dict[str, Pair], key: str) -> list[str]:
    rows = [
        [code(k), str(p.base), str(p.new), shown.delta(p.base, p.new) or "0"]
        for k, p in pairs.items()
        if p.base or p.new
    ]
    if not rows:
        return []
    return ["", f"**{title}**", "", *_table([key, "base", "new", "change"], rows, len(rows))]


def _headline(diff: RuleDiff) -> str:
    code_ = diff_exit_code(diff)
    if code_ is ExitCode.OK:
        return "✅ **Nothing changes**: the new rules plan exactly what the base rules plan."
    roles, accounts = shown.what_changes(len(diff.roles), len(diff.accounts))
    what = (
        f"{roles}, {accounts} (**{shown.share(diff.blast_radius)}** of the book's "
        f"{diff.book_accounts} accounts)"
    )
    if code_ is ExitCode.GUARDRAIL:
        return f"⛔ **The guardrails would stop this change.** {what}."
    return f"⚠️ **Changes within the guardrails.** {what}."


def _verdict(diff: RuleDiff) -> list[str]:
    verdict = diff.verdict
    lines = ["", "**Guardrails**", ""]
    if verdict.stops:
        lines += ["A run under the new rules would be stopped:", ""]
        lines += [f"- {code(reason)}" for reason in verdict.reasons]
    else:
        lines.append("A run under the new rules passes them.")
    if verdict.base_stops:
        lines += ["", "A run under the base rules would be stopped already:", ""]
        lines += [f"- {code(reason)}" for reason in verdict.base_reasons]
    rows = [
        [
            shown.check_name(c),
            shown.limit_value(c, c.limit),
            shown.limit_value(c, c.base),
            shown.limit_value(c, c.new),
            "⛔ exceeded" if c.exceeded else "ok",
        ]
        for c in verdict.checks
    ]
    return [*lines, "", *_table(["guardrail", "limit", "base", "new", "status"], rows, len(rows))]


def render_markdown(diff: RuleDiff) -> str:
    lines = [
        f"### rolesync diff: profile {code(diff.profile)}, as of {diff.as_of}",
        "",
        _headline(diff),
        "",
        f"Base rules {code(diff.base_label)} ({code(diff.base_digest[:19])}), "
        f"new rules {code(diff.new_label)} ({code(diff.new_digest[:19])}).",
        *(f"\n> {code(note)}" for note in diff.notes),
    ]
    if diff.roles:
        rows = [
            [
                code(r.name),
                code(r.email),
                f"{r.base.role} ({code(shown.rule_of(r.base.rule_id))})",
                f"{r.new.role} ({code(shown.rule_of(r.new.rule_id))})",
                code(shown.figures(r)),
            ]
            for r in diff.roles
        ]
        lines += ["", f"**Owners whose role changes** ({len(diff.roles)} of {diff.book_owners})"]
        lines += ["", *_table(["owner", "email", "base", "new", "figures"], rows, len(rows))]
    if diff.accounts:
        rows = [
            [
                code(a.account_id),
                code(a.name),
                code(a.owner_name or a.owner_id or ""),
                code(shown.fate(a.base)),
                code(shown.fate(a.new)),
            ]
            for a in diff.accounts
        ]
        lines += ["", f"**Accounts whose handoff changes** ({len(diff.accounts)})", ""]
        lines += _table(["account", "name", "owner now", "base", "new"], rows, len(rows))
    if diff.changed:
        lines += _pairs("Handoffs per route", diff.routes, "route")
        lines += _pairs("Skipped per reason", diff.skips, "reason")
        lines += _pairs("Totals", diff.totals, "planned")
    lines += _verdict(diff)
    return "\n".join(lines) + "\n"
