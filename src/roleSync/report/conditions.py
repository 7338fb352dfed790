"""Conditions of rule files in plain words, with the values they were tested against.

`explain` shows each comparison as "the value found; what was needed: yes/no". The
verdicts come from the same compiler the plan uses (rules.compile), so an explanation
cannot disagree with the plan about whether a rule matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from roleSync.metrics import METRIC_GROUPS, METRIC_HELP, METRIC_NAMES, RoleMetrics
from roleSync.model import Owner
from roleSync.report.fmt import number
from roleSync.rules.classify import OwnerFacts, resolve_owner_subject
from roleSync.rules.compile import Resolver, compile_condition
from roleSync.rules.schema import AllOf, AnyOf, Comparison, Condition, NotOf, Op, RolesFile

S = TypeVar("S")

OP_WORDS = {
    Op.EQ: "equal to",
    Op.NE: "not equal to",
    Op.LT: "below",
    Op.LTE: "at most",
    Op.GT: "above",
    Op.GTE: "at least",
    Op.IN: "one of",
    Op.NOT_IN: "none of",
    Op.CONTAINS: "containing",
}


def show(value: Any) -> str:
    """A value as people read it: text quoted, numbers plain, nothing as `empty`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number(value)
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    return f'"{value}"'


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def describe(
    condition: Condition | None, subject: S, resolve: Resolver[S], indent: str = "  "
) -> tuple[bool, list[str]]:
    """Whether `condition` holds for `subject`, and one line per node of its tree."""
    if condition is None:
        return True, [f"{indent}no condition: matches every one"]
    holds = compile_condition(condition, resolve)(subject)
    if isinstance(condition, (AllOf, AnyOf)):
        parts: Sequence[Condition] = (
            condition.all if isinstance(condition, AllOf) else condition.any
        )
        word = "all" if isinstance(condition, AllOf) else "any"
        lines = [f"{indent}{word} of these ({_yes(holds)}):"]
        for part in parts:
            lines += describe(part, subject, resolve, indent + "  ")[1]
        return holds, lines
    if isinstance(condition, NotOf):
        lines = [f"{indent}not the following ({_yes(holds)}):"]
        return holds, lines + describe(condition.not_, subject, resolve, indent + "  ")[1]
    return holds, [_comparison(condition, subject, resolve, holds, indent)]


def _comparison(cmp: Comparison, subject: S, resolve: Resolver[S], holds: bool, indent: str) -> str:
    name = cmp.metric or cmp.field or "?"
    found = resolve(cmp)(subject)
    missing = " (an empty value matches only ne / not_in)" if show(found) == "empty" else ""
    return (
        f"{indent}{name} is {show(found)}; needs {OP_WORDS[cmp.op]} {show(cmp.value)}: "
        f"{_yes(holds)}{missing}"
    )


def metric_lines(metrics: RoleMetrics) -> list[str]:
    """Every role metric with its value and what it means, aligned, by group (deal mix,
    farming, hunting)."""
    width = max(len(m) for m in METRIC_NAMES)
    values = {m: number(getattr(metrics, m)) for m in METRIC_NAMES}
    value_width = max(len(v) for v in values.values())
    lines: list[str] = []
    for group, names in METRIC_GROUPS.items():
        lines.append(f"  {group}:")
        lines += [
            f"    {m.ljust(width)}  {values[m].rjust(value_width)}  {METRIC_HELP[m]}" for m in names
        ]
    return lines


def classification_trail(roles: RolesFile, owner: Owner, metrics: RoleMetrics) -> list[str]:
    """How the roles file decided: the override naming the owner, or each rule in order
    until the first that matched, with the figures each comparison looked at."""
    keys = {owner.id.casefold(), owner.email.casefold()}
    for override in roles.overrides:
        if override.owner.casefold() in keys:
            return [
                f"  an override names them ({override.owner}): {override.role.value}, "
                f"because {override.reason}",
                "  (overrides come before the classify rules)",
            ]
    facts = OwnerFacts(owner, metrics)
    lines = ["  no override names them; classify rules, first match wins:"]
    for index, rule in enumerate(roles.classify, start=1):
        matched, detail = describe(rule.when, facts, resolve_owner_subject, "       ")
        verdict = "matched" if matched else "did not match"
        lines.append(f"  {index}. {rule.id} ({rule.role.value}): {verdict}")
        lines += detail
        if matched:
            if index < len(roles.classify):
                lines.append("  (the rules after it are not tried)")
            return lines
    lines.append("  no rule matched: unclassified (left out of role pools)")
    return lines
