"""Checks a valid rule file can still fail: rules that can never match, contradictions,
values that cannot mean what was written, owners and fields that do not exist.

Runs on validated models; positions come from the loaded YAML by location.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from roleSync.errors import Diagnostic, Severity
from roleSync.metrics import FRACTION_METRICS
from roleSync.model import Owner
from roleSync.rules.availability_check import availability_problems
from roleSync.rules.carry_check import carry_pull_problems
from roleSync.rules.compile import comparisons
from roleSync.rules.handoff_check import Mappings, handoff_problems, located_blocks
from roleSync.rules.hysteresis import moves
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.schema import (
    ACCOUNT_EXTRA_PREFIX,
    AllOf,
    AnyOf,
    Assign,
    Comparison,
    Condition,
    NotOf,
    Op,
    RolePool,
    RolesFile,
    Route,
    RoutingFile,
    Strategy,
    WhenFull,
)
from roleSync.rules.suggest import close_match, did_you_mean
from roleSync.rules.territory_check import profile_problems as territory_problems

BOOLEAN_FIELDS = frozenset({"owner.active"})


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What `check` knows beyond the file: a profile's mapped fields, a book's owners."""

    account_fields: frozenset[str] | None = None
    # The extra owner fields the profile maps (territory matches), and the profile key
    # that maps them, for messages; None: no profile, unchecked.
    owner_fields: frozenset[str] | None = None
    owner_section: str = "the profile's owner fields"
    owners: Mapping[str, Owner] | None = field(default=None)  # by casefolded email and id
    # Stages, lifecycle and deal kinds handoff triggers are checked against: the profile's,
    # or the stock ones for `check` without a profile; None (a run loading rules): unchecked.
    mappings: Mappings | None = None


def _warning(
    loaded: LoadedYaml, loc: Loc, message: str, code: str, *, prefer_key: bool = False
) -> Diagnostic:
    return loaded.diagnostic(loc, message, code, severity=Severity.WARNING, prefer_key=prefer_key)


def _walk(condition: Condition, loc: Loc) -> Iterator[tuple[Comparison, Loc]]:
    if isinstance(condition, AllOf):
        for i, part in enumerate(condition.all):
            yield from _walk(part, (*loc, "all", i))
    elif isinstance(condition, AnyOf):
        for i, part in enumerate(condition.any):
            yield from _walk(part, (*loc, "any", i))
    elif isinstance(condition, NotOf):
        yield from _walk(condition.not_, (*loc, "not"))
    else:
        yield condition, loc


@dataclass(slots=True)
class _Range:
    low: float = -math.inf
    low_open: bool = False
    high: float = math.inf
    high_open: bool = False

    def narrow(self, op: Op, value: float) -> None:
        if op in (Op.GT, Op.GTE, Op.EQ) and (
            value > self.low or (value == self.low and op is Op.GT)
        ):
            self.low, self.low_open = value, op is Op.GT
        if op in (Op.LT, Op.LTE, Op.EQ) and (
            value < self.high or (value == self.high and op is Op.LT)
        ):
            self.high, self.high_open = value, op is Op.LT

    @property
    def empty(self) -> bool:
        if self.low > self.high:
            return True
        return self.low == self.high and (self.low_open or self.high_open)


def _contradictions(loaded: LoadedYaml, condition: Condition, loc: Loc) -> Iterator[Diagnostic]:
    """Comparisons under one `all` that no value can satisfy together (gte 10 and lt 5)."""
    if isinstance(condition, AllOf):
        ranges: dict[str, _Range] = {}
        allowed: dict[str, set[str]] = {}
        for i, part in enumerate(condition.all):
            if not isinstance(part, Comparison):
                continue
            subject = part.metric or part.field or ""
            values = part.value if isinstance(part.value, list) else [part.value]
            numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            before_empty = subject in ranges and ranges[subject].empty
            if part.op in (Op.LT, Op.LTE, Op.GT, Op.GTE) or (part.op is Op.EQ and numbers):
                ranges.setdefault(subject, _Range()).narrow(part.op, float(numbers[0]))
            if part.op in (Op.EQ, Op.IN):
                wanted = {str(v).strip().casefold() for v in values}
                allowed[subject] = allowed.get(subject, wanted) & wanted
            clash = (subject in ranges and ranges[subject].empty and not before_empty) or (
                subject in allowed and not allowed[subject]
            )
            if clash:
                allowed.pop(subject, None)
                yield _warning(
                    loaded,
                    (*loc, "all", i),
                    f"contradiction: no {subject} satisfies this together with the "
                    "comparisons before it, so this condition never matches",
                    "contradiction",
                )
    children: list[tuple[Condition, Loc]] = []
    if isinstance(condition, AllOf):
        children = [(c, (*loc, "all", i)) for i, c in enumerate(condition.all)]
    elif isinstance(condition, AnyOf):
        children = [(c, (*loc, "any", i)) for i, c in enumerate(condition.any)]
    elif isinstance(condition, NotOf):
        children = [(condition.not_, (*loc, "not"))]
    for child, child_loc in children:
        yield from _contradictions(loaded, child, child_loc)


def _comparison_problems(
    loaded: LoadedYaml, cmp: Comparison, loc: Loc, context: CheckContext
) -> Iterator[Diagnostic]:
    values = cmp.value if isinstance(cmp.value, list) else [cmp.value]
    if cmp.metric in FRACTION_METRICS:
        for value in values:
            if isinstance(value, (int, float)) and not 0 <= value <= 1:
                hint = f"; did you mean {value / 100:g}?" if 1 < value <= 100 else ""
                yield _warning(
                    loaded,
                    (*loc, "value"),
                    f"{cmp.metric} is a fraction from 0 to 1; {value:g} is never reached{hint}",
                    "out-of-range",
                )
    name = cmp.field or ""
    if name in BOOLEAN_FIELDS and any(not isinstance(v, bool) for v in values):
        yield loaded.diagnostic(
            (*loc, "value"), f"{name} is true or false; got {cmp.value!r}", "wrong-type"
        )
    elif name and name not in BOOLEAN_FIELDS and not name.startswith(ACCOUNT_EXTRA_PREFIX):
        if any(isinstance(v, bool) for v in values):
            yield loaded.diagnostic(
                (*loc, "value"), f"{name} is text; got {cmp.value!r}", "wrong-type"
            )
        elif cmp.op in (Op.LT, Op.LTE, Op.GT, Op.GTE):
            yield loaded.diagnostic(
                (*loc, "op"), f"{name} is text; op '{cmp.op}' compares numbers", "wrong-type"
            )
    known = context.account_fields
    if name.startswith(ACCOUNT_EXTRA_PREFIX) and known is not None:
        extra = name[len(ACCOUNT_EXTRA_PREFIX) :]
        if extra not in known:
            yield loaded.diagnostic(
                (*loc, "field"),
                f"the connector profile maps no account field {extra!r}"
                f"{did_you_mean(extra, known)}",
                "unknown-field",
            )


def _rule_list_problems(
    loaded: LoadedYaml,
    section: str,
    rules: list[tuple[str, Condition | None]],
    context: CheckContext,
    at: Loc | None = None,
    passes_on: frozenset[str] = frozenset(),
) -> Iterator[Diagnostic]:
    """Shared by classify and routes: unreachable rules, contradictions, value checks.
    `at`: where the list is when it is not the top-level `section` (a block's routes).
    `passes_on`: routes with `when_full: next_route`, which hide no later rule (a full
    pool sends matching accounts on down the list)."""
    where: Loc = at or (section,)
    catch_all: str | None = None
    fallback = False
    seen: dict[str, str] = {}
    for index, (rule_id, when) in enumerate(rules):
        loc: Loc = (*where, index)
        if catch_all is not None:
            yield _warning(
                loaded,
                (*loc, "id"),
                f"rule {rule_id!r} never matches: {catch_all!r} before it matches everything",
                "unreachable-rule",
            )
        elif when is not None and when.model_dump_json() in seen:
            earlier = seen[when.model_dump_json()]
            yield _warning(
                loaded,
                (*loc, "id"),
                f"rule {rule_id!r} never matches: {earlier!r} before it has the same condition",
                "unreachable-rule",
            )
        if when is None:
            fallback = True
            if rule_id not in passes_on:
                catch_all = catch_all or rule_id
            continue
        if rule_id not in passes_on:
            seen.setdefault(when.model_dump_json(), rule_id)
        yield from _contradictions(loaded, when, (*loc, "when"))
        for cmp, cmp_loc in _walk(when, (*loc, "when")):
            yield from _comparison_problems(loaded, cmp, cmp_loc, context)
    if rules and not fallback:
        what = "owners" if section == "classify" else "accounts"
        fix = (
            "end with a rule without `when` (role: unclassified says so explicitly)"
            if section == "classify"
            else "end with a route without `when`, or accept `no-route` skips"
        )
        yield _warning(
            loaded,
            where,
            f"no fallback: {what} that no rule matches are left as they are; {fix}",
            "no-fallback",
            prefer_key=True,
        )


def _similar_owner(key: str, context: CheckContext) -> str:
    """A suggestion by the part before the @: every address shares the domain, which
    would make any two of them look alike."""
    owners = context.owners or {}
    by_local = {o.email.split("@")[0].casefold(): o.email for o in owners.values() if o.email}
    match = close_match(key.split("@")[0].casefold(), by_local)
    return f"; did you mean {by_local[match]!r}?" if match else ""


def _owner_problems(
    loaded: LoadedYaml, key: str, loc: Loc, context: CheckContext, *, prefer_key: bool = False
) -> Iterator[Diagnostic]:
    if context.owners is None:
        return
    owner = context.owners.get(key.casefold()) or context.owners.get(key)
    if owner is None:
        yield loaded.diagnostic(
            loc,
            f"no owner {key!r} in the book{_similar_owner(key, context)}",
            "unknown-owner",
            prefer_key=prefer_key,
        )
    elif not owner.active:
        yield _warning(
            loaded,
            loc,
            f"owner {key!r} is inactive and never receives accounts",
            "inactive-owner",
            prefer_key=prefer_key,
        )


def roles_problems(loaded: LoadedYaml, roles: RolesFile, context: CheckContext) -> list[Diagnostic]:
    rules = [(rule.id, rule.when) for rule in roles.classify]
    problems = list(_rule_list_problems(loaded, "classify", rules, context))
    seen: set[str] = set()
    for index, override in enumerate(roles.overrides):
        loc: Loc = ("overrides", index, "owner")
        if override.owner.casefold() in seen:
            problems.append(
                loaded.diagnostic(
                    loc, f"a second override for {override.owner!r}", "duplicate-override"
                )
            )
        seen.add(override.owner.casefold())
        problems.extend(_owner_problems(loaded, override.owner, loc, context))
    if roles.hysteresis is not None:
        problems += _hysteresis_problems(loaded, roles)
    return problems


def _hysteresis_problems(loaded: LoadedYaml, roles: RolesFile) -> list[Diagnostic]:
    """A margin that never moves anything: no rule compares (the named metrics) with a
    number by lt, lte, gt or gte."""
    setting = roles.hysteresis
    assert setting is not None
    if setting.margin is None:  # `days` alone: any rule's change is counted, none moved
        return []
    compared = [cmp for rule in roles.classify for cmp in comparisons(rule.when)]
    problems: list[Diagnostic] = []
    for index, metric in enumerate(setting.metrics or []):
        if not any(moves(cmp, [metric]) for cmp in compared):
            problems.append(
                _warning(
                    loaded,
                    ("hysteresis", "metrics", index),
                    f"no classify rule compares {metric!r} with a number using lt, lte, gt "
                    "or gte: the margin never moves it",
                    "hysteresis-unused",
                )
            )
    if not problems and not any(moves(cmp, setting.metrics) for cmp in compared):
        problems.append(
            _warning(
                loaded,
                ("hysteresis", "margin"),
                "hysteresis margin never applies: no classify rule compares a metric or "
                "field with a number using lt, lte, gt or gte",
                "hysteresis-unused",
            )
        )
    return problems


def _passes_on(routes: list[Route]) -> frozenset[str]:
    return frozenset(r.id for r in routes if r.when_full is WhenFull.NEXT_ROUTE)


def _class_problems(
    loaded: LoadedYaml, routes: list[Route], loc: Loc, context: CheckContext
) -> list[Diagnostic]:
    """The conditions of `capacity.per_class`, checked like a route's `when`."""
    problems: list[Diagnostic] = []
    for index, route in enumerate(routes):
        capacity = route.assign.capacity
        for i, cls in enumerate(capacity.per_class if capacity is not None else ()):
            at: Loc = (*loc, index, "assign", "capacity", "per_class", i, "when")
            problems += _contradictions(loaded, cls.when, at)
            for cmp, cmp_loc in _walk(cls.when, at):
                problems += _comparison_problems(loaded, cmp, cmp_loc, context)
    return problems


def _territory_problems(
    loaded: LoadedYaml, routes: list[Route], loc: Loc, context: CheckContext
) -> list[Diagnostic]:
    known = (context.account_fields, context.owner_fields)
    return list(territory_problems(loaded, routes, loc, *known, context.owner_section))


def _overflow_problems(loaded: LoadedYaml, routes: list[Route], loc: Loc) -> list[Diagnostic]:
    """`when_full: next_route` on the last route of its list has nowhere to go: the
    account is skipped as with `skip`, which is likely not what the author meant."""
    if not routes or routes[-1].when_full is not WhenFull.NEXT_ROUTE:
        return []
    return [
        _warning(
            loaded,
            (*loc, len(routes) - 1, "when_full"),
            f"route {routes[-1].id!r} is the last route: when_full: next_route has no later "
            "route to overflow to, so a full pool still skips the account",
            "nothing-to-overflow",
        )
    ]


def routing_problems(
    loaded: LoadedYaml, routing: RoutingFile, context: CheckContext
) -> list[Diagnostic]:
    rules = [(route.id, route.when) for route in routing.routes]
    problems = list(
        _rule_list_problems(loaded, "routes", rules, context, None, _passes_on(routing.routes))
    )
    problems += handoff_problems(loaded, routing, context.mappings)
    problems += carry_pull_problems(loaded, routing, context.mappings)
    problems += availability_problems(loaded, routing, context.owners)
    for index, away in enumerate(routing.availability):
        loc: Loc = ("availability", index, "owner")
        problems += _owner_problems(loaded, away.owner, loc, context)
    for block, loc in located_blocks(routing):
        own = [(route.id, route.when) for route in block.routes or ()]
        problems += _rule_list_problems(
            loaded, "routes", own, context, (*loc, "routes"), _passes_on(block.routes or [])
        )
        problems += _overflow_problems(loaded, block.routes or [], (*loc, "routes"))
        problems += _class_problems(loaded, block.routes or [], (*loc, "routes"), context)
        problems += _territory_problems(loaded, block.routes or [], (*loc, "routes"), context)
        for index, route in enumerate(block.routes or ()):
            problems += _weight_problems(loaded, route.assign, (*loc, "routes", index), context)
    problems += _overflow_problems(loaded, routing.routes, ("routes",))
    problems += _class_problems(loaded, routing.routes, ("routes",), context)
    problems += _territory_problems(loaded, routing.routes, ("routes",), context)
    for index, route in enumerate(routing.routes):
        assign, loc = route.assign, ("routes", index, "assign")
        problems += _weight_problems(loaded, assign, ("routes", index), context)
        if assign.strategy is Strategy.ROUND_ROBIN and "balance_by" in assign.model_fields_set:
            problems.append(
                _warning(
                    loaded,
                    (*loc, "balance_by"),
                    "balance_by only applies to strategy least_loaded",
                    "ignored-key",
                )
            )
        if isinstance(assign.pool, RolePool):
            continue
        seen: set[str] = set()
        for i, key in enumerate(assign.pool):
            if key.casefold() in seen:
                problems.append(
                    _warning(
                        loaded,
                        (*loc, "pool", i),
                        f"{key!r} is twice in the pool",
                        "duplicate-owner",
                    )
                )
            seen.add(key.casefold())
            problems.extend(_owner_problems(loaded, key, (*loc, "pool", i), context))
    return problems


def _weight_problems(
    loaded: LoadedYaml, assign: Assign, route_loc: Loc, context: CheckContext
) -> Iterator[Diagnostic]:
    """Every `weights` key names an owner of the book and, for a named pool, a member of
    it: a weight on anyone else would silently weigh nothing."""
    loc = (*route_loc, "assign", "weights")
    pool = assign.pool
    for key in assign.weights or {}:
        unknown = list(_owner_problems(loaded, key, (*loc, key), context, prefer_key=True))
        yield from unknown
        if isinstance(pool, RolePool) or any(p.severity is Severity.ERROR for p in unknown):
            continue
        if not _in_pool(key, pool, context):
            # By the part before the @, as `_similar_owner`: the domain is everyone's.
            by_local = {p.split("@")[0].casefold(): p for p in pool}
            match = close_match(key.split("@")[0].casefold(), by_local)
            hint = f"; did you mean {by_local[match]!r}?" if match else ""
            hint = hint or f"; the pool: {', '.join(pool)}"
            yield loaded.diagnostic(
                (*loc, key),
                f"{key!r} has a weight but is not in the pool{hint}",
                "not-in-pool",
                prefer_key=True,
            )


def _in_pool(key: str, pool: list[str], context: CheckContext) -> bool:
    """The same owner as a pool entry: by spelling, or (with a book) by email or id."""
    keys = {p.casefold() for p in pool}
    if key.casefold() in keys:
        return True
    owners = context.owners or {}
    owner = owners.get(key.casefold()) or owners.get(key)
    if owner is None:
        return False
    return bool(keys & {owner.id.casefold(), owner.email.casefold()})
