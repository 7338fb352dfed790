"""The words both the text and the Markdown diff use for figures, fates and counts."""

from __future__ import annotations

from roleSync.diff.compare import AccountSide, Fate, Figure, FigureValue, RoleChange
from roleSync.diff.verdict import Check


def number(value: FigureValue) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}".rstrip("0").rstrip(".")


def figure(name: str, value: Figure) -> str:
    if value.base == value.new:
        return f"{name} {number(value.new)}"
    return f"{name} {number(value.new)} (base {number(value.base)})"


def figures(change: RoleChange) -> str:
    """The metrics either version's rules read, as "name value, ..."."""
    return ", ".join(figure(name, value) for name, value in change.figures.items()) or "-"


def rule_of(rule_id: str | None) -> str:
    return rule_id or "no rule"


def fate(side: AccountSide) -> str:
    if side.fate == Fate.MOVES:
        who = side.to_owner_name or side.to_owner_id or "?"
        return f"moves to {who} ({side.route})"
    if side.fate == Fate.SKIPPED:
        return f"skipped: {side.code}" + (f" ({side.route})" if side.route else "")
    return "stays"


def delta(base: int, new: int) -> str:
    return "" if base == new else f"{new - base:+d}"


def share(value: float) -> str:
    return f"{value:.1%}"


def limit_value(check: Check, value: float) -> str:
    return share(value) if check.guardrail == "max_share" else number(value)


def check_name(check: Check) -> str:
    if check.guardrail == "role_flips_by_change":
        return "max_role_changes (flips against the base rules)"
    return check.guardrail


def counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def what_changes(roles: int, accounts: int) -> tuple[str, str]:
    """("3 owners change role", "1 account changes handoff")."""
    return (
        counted(roles, "owner changes", "owners change") + " role",
        counted(accounts, "account changes", "accounts change") + " handoff",
    )
