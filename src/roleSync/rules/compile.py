"""Compile condition trees into Python functions, once per rule file.

Semantics, chosen so that RevOps can predict them:
- a missing value (a metric with nothing to measure, a blank field) matches only
  `ne` and `not_in`: "share >= 0.6" is false for an owner who won nothing;
- text compares case-insensitively and with surrounding blanks ignored, because CRM
  picklists are edited by hand ("EMEA", "emea ");
- ordering ops on a text field holding a number ("500") compare it as a number;
  any other text never orders, and neither do bools;
- `contains` looks into text only; any other value never contains anything;
- `eq` / `in` compare non-text values with Python's `==`, so a bool equals the number it
  stands for (`true` equals 1): text is kept apart from numbers, bools are not.

The functions are generated as Python source by `roleSync.rules.codegen`, which says why
no rule file can put code into them; a rule list becomes one `first_match` function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from roleSync.rules.codegen import Call, first_match
from roleSync.rules.schema import AllOf, AnyOf, Comparison, Condition, NotOf

Subject = TypeVar("Subject")
Predicate = Callable[[Subject], bool]
Getter = Callable[[Subject], Any]
Resolver = Callable[[Comparison], Getter[Subject]]


def compile_condition(
    condition: Condition | None, resolve: Resolver[Subject]
) -> Predicate[Subject]:
    """A predicate for `condition`; `resolve` turns each comparison's subject into a getter.

    For one condition at a time (`explain`); rule lists go through `codegen.first_match`
    with direct attribute reads, which is several times faster than calling getters.
    """
    generated = first_match(
        [condition],
        [True],
        False,
        ["subject"],
        lambda cmp: Call("subject", resolve(cmp)),
        "matches",
    )
    return cast(Predicate[Subject], generated.function())


def comparisons(condition: Condition | None) -> list[Comparison]:
    """Every comparison in a condition tree, in reading order (for explanations)."""
    if condition is None:
        return []
    if isinstance(condition, AllOf):
        return [c for part in condition.all for c in comparisons(part)]
    if isinstance(condition, AnyOf):
        return [c for part in condition.any for c in comparisons(part)]
    if isinstance(condition, NotOf):
        return comparisons(condition.not_)
    return [condition]
