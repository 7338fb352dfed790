"""Reference evaluator for conditions: the closure compiler roleSync shipped before rule
lists were compiled to generated source, copied verbatim (only renamed to `oracle_*`).

It is the definition the generated functions are checked against
(tests/test_condition_codegen.py): a plain recursive compiler, one closure per node, with
the documented semantics written out in `_compile_comparison`. Do not "fix" it to match
the generator; a difference is a bug in the generator or a semantic change to decide on.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from roleSync.model import Account, Owner
from roleSync.rules.classify import OwnerFacts
from roleSync.rules.schema import (
    ACCOUNT_EXTRA_PREFIX,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    NotOf,
    Op,
)

Subject = TypeVar("Subject")
Predicate = Callable[[Subject], bool]
Getter = Callable[[Subject], Any]
Resolver = Callable[[Comparison], Getter[Subject]]

_ORDERING: dict[Op, Callable[[Any, Any], bool]] = {
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
}


def _normal(value: Any) -> Any:
    """Comparable form: text trimmed and case-folded; bools kept apart from numbers."""
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _compile_comparison(cmp: Comparison, get: Getter[Subject]) -> Predicate[Subject]:
    op = cmp.op
    if op in _ORDERING:
        order = _ORDERING[op]
        bound = float(cmp.value)  # type: ignore[arg-type]  # the schema allows numbers only

        def ordered(subject: Subject) -> bool:
            number = _number(get(subject))
            return number is not None and order(number, bound)

        return ordered
    if op in (Op.IN, Op.NOT_IN):
        assert isinstance(cmp.value, list)
        members = frozenset(_normal(v) for v in cmp.value)
        negate = op is Op.NOT_IN

        def member(subject: Subject) -> bool:
            value = get(subject)
            if _is_missing(value):
                return negate
            return (_normal(value) in members) != negate

        return member
    if op is Op.CONTAINS:
        needle = _normal(cmp.value)

        def contains(subject: Subject) -> bool:
            value = get(subject)
            return isinstance(value, str) and needle in _normal(value)

        return contains
    expected = _normal(cmp.value)
    negate = op is Op.NE

    def equals(subject: Subject) -> bool:
        value = get(subject)
        if _is_missing(value):
            return negate
        return bool(_normal(value) == expected) != negate

    return equals


def oracle_condition(condition: Condition | None, resolve: Resolver[Subject]) -> Predicate[Subject]:
    """A predicate for `condition`; `resolve` turns each comparison's subject into a getter."""
    if condition is None:
        return lambda _subject: True
    if isinstance(condition, AllOf):
        parts = tuple(oracle_condition(c, resolve) for c in condition.all)
        return lambda subject: all(p(subject) for p in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(oracle_condition(c, resolve) for c in condition.any)
        return lambda subject: any(p(subject) for p in parts)
    if isinstance(condition, NotOf):
        inner = oracle_condition(condition.not_, resolve)
        return lambda subject: not inner(subject)
    return _compile_comparison(condition, resolve(condition))


# The getters of roleSync.rules.classify / roleSync.rules.routing as they were, verbatim.
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
        raise ValueError(f"unknown owner field {cmp.field!r}")
    return lambda facts: getter(facts.owner)


_ACCOUNT_GETTERS: dict[str, Callable[[Account], Any]] = {
    "account.id": lambda a: a.id,
    "account.name": lambda a: a.name,
    "account.lifecycle": lambda a: a.lifecycle,
    "account.segment": lambda a: a.segment,
    "account.region": lambda a: a.region,
    "account.tier": lambda a: a.tier,
}


def resolve_account_subject(cmp: Comparison) -> Getter[Account]:
    name = cmp.field or ""
    if name.startswith(ACCOUNT_EXTRA_PREFIX):
        extra = name[len(ACCOUNT_EXTRA_PREFIX) :]
        return lambda account: account.fields.get(extra)
    getter = _ACCOUNT_GETTERS.get(name)
    if getter is None:
        raise ValueError(f"routes compare account fields only, not {name!r}")
    return getter


def oracle_first_match(
    conditions: Sequence[Condition | None], resolve: Resolver[Subject]
) -> Callable[[Subject], int]:
    """Index of the first condition that holds for a subject, -1 when none does."""
    predicates = [oracle_condition(c, resolve) for c in conditions]

    def first(subject: Subject) -> int:
        for index, holds in enumerate(predicates):
            if holds(subject):
                return index
        return -1

    return first
