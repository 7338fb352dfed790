"""Classify owners as hunters or farmers from their role metrics (first match wins).

A roles file's rules compile into one generated function (`roleSync.rules.codegen`):
`CompiledRoles.rule_for` finds the deciding rule in a single call, and `classify` writes
the reason text only for the rule that matched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

from roleSync.metrics import RoleMetrics
from roleSync.model import Book, Owner, PendingRole, Role
from roleSync.rules.codegen import Attribute, Read, first_match
from roleSync.rules.compile import Getter, comparisons
from roleSync.rules.hold_days import days_given, held_for_days, streak, taken_after_days
from roleSync.rules.hysteresis import moves, shifted
from roleSync.rules.schema import OWNER_FIELDS, Comparison, RolesFile

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
    # The role the rules give instead of the held one, and since when (hysteresis `days`);
    # None when nothing is held by days.
    pending: PendingRole | None = None


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


def _owner_read(cmp: Comparison) -> Read:
    """Where generated code finds a comparison's value: `metrics.<metric>` (numbers or
    None) or `owner.<field>` (text, except `active`)."""
    if cmp.metric is not None:
        return Attribute("metrics", cmp.metric)
    field = cmp.field or ""
    if field not in OWNER_FIELDS:
        # The rule-set loader rejects unknown fields with a position; this is a bug guard.
        raise ValueError(f"unknown owner field {cmp.field!r}")
    name = field.partition(".")[2]
    return Attribute("owner", name, text=name != "active")


Figures = tuple[tuple[str, Getter[OwnerFacts]], ...]


def _figures(shown: list[Comparison]) -> Figures:
    """What a reason text shows for these comparisons: each metric or field once, in
    reading order, with its getter (resolved here once, not per owner)."""
    getters: dict[str, Getter[OwnerFacts]] = {}
    for cmp in shown:
        getters.setdefault(cmp.metric or cmp.field or "", resolve_owner_subject(cmp))
    return tuple(getters.items())


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A classification rule, and the figures its reason text shows."""

    id: str
    role: Role
    figures: Figures


class CompiledRoles:
    """A roles file compiled once; `rule_for` is then one generated call."""

    rule_for: Callable[[Owner, RoleMetrics], CompiledRule | None]
    """`rule_for(owner, metrics)`: the first classify rule whose condition holds, None when
    none does. Overrides are not consulted (`classify` does that first) and no reason text
    is written. The generated function itself, not a method calling it: one call saved
    per owner."""

    def __init__(self, roles: RolesFile) -> None:
        self.window_days = roles.window_days
        rules = [
            CompiledRule(rule.id, Role(rule.role.value), _figures(comparisons(rule.when)))
            for rule in roles.classify
        ]
        self._all_figures = _figures([c for r in roles.classify for c in comparisons(r.when)])
        generated = first_match(
            [rule.when for rule in roles.classify],
            rules,
            None,
            ["owner", "metrics"],
            _owner_read,
        )
        self.rule_for = cast(
            Callable[[Owner, RoleMetrics], CompiledRule | None], generated.function()
        )
        self.source = generated.source  # what `rule_for` runs, for tests and debugging
        self._overrides = {o.owner.casefold(): o for o in roles.overrides}
        setting = roles.hysteresis
        self.margin = setting.margin if setting is not None else None
        self.days = setting.days if setting is not None else None
        # Previous role -> the rules shifted in its favour (`roleSync.rules.hysteresis`).
        self._held: dict[Role, Callable[[Owner, RoleMetrics], CompiledRule | None]] = {}
        if setting is not None and setting.margin is not None:
            for role in Role:
                held = first_match(
                    [
                        shifted(rule.when, setting, harder=rule.role.value != role.value)
                        for rule in roles.classify
                    ],
                    rules,
                    None,
                    ["owner", "metrics"],
                    _owner_read,
                )
                self._held[role] = cast(
                    Callable[[Owner, RoleMetrics], CompiledRule | None], held.function()
                )
            self._numeric = tuple(
                (cmp, resolve_owner_subject(cmp))
                for rule in roles.classify
                for cmp in comparisons(rule.when)
                if moves(cmp, setting.metrics)
            )

    def classify(
        self,
        owner: Owner,
        metrics: RoleMetrics,
        previous: Role | None = None,
        pending: PendingRole | None = None,
        as_of: date | None = None,
    ) -> RoleDecision:
        """The owner's role; `previous` (their role in the previous run) is kept when the
        roles file has `hysteresis` and the rules do not give another role by its margin,
        or (`days`) have not given it long enough: `pending` is the previous run's count
        of those days, `as_of` this run's date."""
        override = self._overrides.get(owner.id.casefold()) or self._overrides.get(
            owner.email.casefold()
        )
        if override is not None:
            return RoleDecision(
                owner.id, Role(override.role.value), OVERRIDE_RULE, f"override: {override.reason}"
            )
        rule = self.rule_for(owner, metrics)
        facts = OwnerFacts(owner, metrics)
        fresh = rule.role if rule is not None else Role.UNCLASSIFIED
        if previous is None or previous is fresh or (not self._held and self.days is None):
            return self._decision(owner.id, rule, facts)
        held: RoleDecision | None = None
        if self._held:
            shifted_rule = self._held[previous](owner, metrics)
            if (shifted_rule.role if shifted_rule is not None else Role.UNCLASSIFIED) is not (
                previous
            ):
                return self._decision(owner.id, rule, facts)  # past the margin: at once
            held = self._held_decision(owner.id, previous, shifted_rule, rule, facts)
        if self.days is None:
            assert held is not None
            return held
        if as_of is None:  # a bug guard: every caller with a previous role has a date
            raise ValueError("hysteresis days need the run's date")
        going = streak(pending, fresh, as_of)
        if days_given(going, as_of) >= self.days:  # given on enough days: changes
            decision = self._decision(owner.id, rule, facts)
            return replace(
                decision,
                reason=f"{decision.reason}; {taken_after_days(going, as_of, self.days)}",
            )
        counted = held_for_days(going, as_of, self.days)
        if held is not None:
            return replace(held, reason=f"{held.reason}; {counted}", pending=going)
        without = (
            f"{rule.role.value} by rule {rule.id}" if rule else "unclassified, no rule matched"
        )
        return RoleDecision(
            owner.id,
            previous,
            None,
            f"held {previous.value}: {counted} (without hysteresis: {without})",
            going,
        )

    def _decision(
        self, owner_id: str, rule: CompiledRule | None, facts: OwnerFacts
    ) -> RoleDecision:
        """What the rules give, read as they are."""
        if rule is not None:
            return RoleDecision(
                owner_id, rule.role, rule.id, f"{rule.id}: {_show_values(rule.figures, facts)}"
            )
        return RoleDecision(
            owner_id,
            Role.UNCLASSIFIED,
            None,
            f"no rule matched ({_show_values(self._all_figures, facts)})",
        )

    def _held_decision(
        self,
        owner_id: str,
        previous: Role,
        held: CompiledRule | None,
        rule: CompiledRule | None,
        facts: OwnerFacts,
    ) -> RoleDecision:
        """`held hunter: new_business_share 0.7998 within the 0.05 margin of 0.8 (without
        it: unclassified, no rule matched)`."""
        margin = self.margin or 0.0
        near: dict[str, str] = {}
        for cmp, get in self._numeric:
            value = get(facts)
            threshold = cmp.value
            numbers = isinstance(value, (int, float)) and isinstance(threshold, (int, float))
            if numbers and abs(value - threshold) <= margin + 1e-12:
                name = cmp.metric or cmp.field or ""
                near.setdefault(
                    f"{name}@{threshold}",
                    f"{name} {_fmt(value)} within the {_fmt(margin)} margin of {_fmt(threshold)}",
                )
        why = "; ".join(near.values()) or f"the rules give another role by less than {margin}"
        without = (
            f"{rule.role.value} by rule {rule.id}" if rule else "unclassified, no rule matched"
        )
        return RoleDecision(
            owner_id,
            previous,
            held.id if held is not None else None,
            f"held {previous.value}: {why} (without the margin: {without})",
        )


def _show_values(figures: Figures, facts: OwnerFacts) -> str:
    """The figures a rule looked at: `new_business_share=0.82, won_deals=7`."""
    shown = ", ".join(
        f"{name}={'none' if (value := get(facts)) is None else _fmt(value)}"
        for name, get in figures
    )
    return shown or "always"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        # Plain digits, never exponent notation: 1234567.5 -> "1234567.5", 0.8 -> "0.8".
        return format(round(value, 4), "f").rstrip("0").rstrip(".") or "0"
    return str(value)


def classify_owners(
    book: Book,
    metrics: Mapping[str, RoleMetrics],
    roles: CompiledRoles,
    previous: Mapping[str, Role] | None = None,
    pending: Mapping[str, PendingRole] | None = None,
    as_of: date | None = None,
) -> dict[str, RoleDecision]:
    """A decision for every owner of the book, keyed by owner id. `previous`: owner id ->
    role in the previous run, for `hysteresis` (none: every role decided from scratch);
    `pending`: owner id -> the change the previous run counted days of (`days`), and
    `as_of` the date this run counts to."""
    before = previous or {}
    counted = pending or {}
    return {
        owner_id: roles.classify(
            owner,
            metrics.get(owner_id, RoleMetrics()),
            before.get(owner_id),
            counted.get(owner_id),
            as_of,
        )
        for owner_id, owner in book.owners.items()
    }
