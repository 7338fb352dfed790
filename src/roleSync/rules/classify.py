"""Classify owners as hunters or farmers from their role metrics (first match wins)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from roleSync.metrics import RoleMetrics
from roleSync.model import Book, Owner, Role
from roleSync.rules.compile import Getter, Predicate, comparisons, compile_condition
from roleSync.rules.schema import Comparison, RolesFile

OVERRIDE_RULE = "override"


@dataclass(frozen=True, slots=True)
class OwnerFacts:
    """What a classification condition can see: the owner and their metrics."""

    owner: Owner
    metrics: RoleMetrics


@dataclass(frozen=True, slots=True)
class RoleDecision:
    owner_id: str
    role: Role
    rule_id: str | None  # None: no rule matched; "override": a named override
    reason: str


_OWNER_GETTERS: dict[str, Callable[[Owner], Any]] = {
    "owner.id": lambda o: o.id,
    "owner.name": lambda o: o.name,
    "owner.email": lambda o: o.email,
    "owner.title": lambda o: o.title,
    "owner.active": lambda o: o.active,
}


def resolve_owner_subject(cmp: Comparison) -> Getter[OwnerFacts]:
    if cmp.metric is not None:
        name = cmp.metric
        return lambda facts: getattr(facts.metrics, name)
    getter = _OWNER_GETTERS.get(cmp.field or "")
    if getter is None:
        # The rule-set loader rejects unknown fields with a position; this is a bug guard.
        raise ValueError(f"unknown owner field {cmp.field!r}")
    return lambda facts: getter(facts.owner)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    id: str
    role: Role
    matches: Predicate[OwnerFacts]
    shown: tuple[Comparison, ...]


class CompiledRoles:
    """A roles file compiled once; `classify` is then a loop over closures."""

    def __init__(self, roles: RolesFile) -> None:
        self.window_days = roles.window_days
        self._rules = tuple(
            _CompiledRule(
                rule.id,
                Role(rule.role.value),
                compile_condition(rule.when, resolve_owner_subject),
                tuple(comparisons(rule.when)),
            )
            for rule in roles.classify
        )
        self._overrides = {o.owner.casefold(): o for o in roles.overrides}

    def classify(self, owner: Owner, metrics: RoleMetrics) -> RoleDecision:
        override = self._overrides.get(owner.id.casefold()) or self._overrides.get(
            owner.email.casefold()
        )
        if override is not None:
            return RoleDecision(
                owner.id, Role(override.role.value), OVERRIDE_RULE, f"override: {override.reason}"
            )
        facts = OwnerFacts(owner, metrics)
        for rule in self._rules:
            if rule.matches(facts):
                return RoleDecision(
                    owner.id, rule.role, rule.id, f"{rule.id}: {_show_values(rule.shown, facts)}"
                )
        return RoleDecision(
            owner.id,
            Role.UNCLASSIFIED,
            None,
            f"no rule matched ({_show_values(self._all_shown(), facts)})",
        )

    def _all_shown(self) -> tuple[Comparison, ...]:
        return tuple(c for rule in self._rules for c in rule.shown)


def _show_values(shown: tuple[Comparison, ...], facts: OwnerFacts) -> str:
    """The figures a rule looked at, each once: `new_business_share=0.82, won_deals=7`."""
    seen: dict[str, str] = {}
    for cmp in shown:
        name = cmp.metric or cmp.field or ""
        if name in seen:
            continue
        value = resolve_owner_subject(cmp)(facts)
        seen[name] = "none" if value is None else _fmt(value)
    return ", ".join(f"{k}={v}" for k, v in seen.items()) or "always"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        # Plain digits, never exponent notation: 1234567.5 -> "1234567.5", 0.8 -> "0.8".
        return format(round(value, 4), "f").rstrip("0").rstrip(".") or "0"
    return str(value)


def classify_owners(
    book: Book, metrics: Mapping[str, RoleMetrics], roles: CompiledRoles
) -> dict[str, RoleDecision]:
    """A decision for every owner of the book, keyed by owner id."""
    return {
        owner_id: roles.classify(owner, metrics.get(owner_id, RoleMetrics()))
        for owner_id, owner in book.owners.items()
    }
