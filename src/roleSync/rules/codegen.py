"""Generate one Python function per rule list: `first_match(subject...)` returns the result
of the first rule whose condition holds, so evaluating a rule file costs one call instead
of several closure calls per comparison (the way `dataclasses` writes `__init__`).

Why generated source is safe although rule files come from users:
- no text from a rule file ever reaches the source. Every value a rule carries (comparison
  values, member sets, the `<name>` of `account.fields.<name>`) and every result is bound
  in the function's namespace as `c0, c1, ...`, and the source only names it;
- every other name in the source is ours: the fixed templates below, the parameter names in
  `PARAMETERS`, and attribute names from `ATTRIBUTES`, a set built here from our own
  constants (metric names, owner and account fields). Both are checked while generating,
  with an exception rather than `assert`, so `python -O` keeps the check;
- the function runs with empty `__builtins__`: it sees only the helpers bound below.
`tests/test_condition_codegen.py` tokenizes generated sources and finds only allowed names
and no string literal at all, and feeds hostile rule values through.

The semantics are those of `roleSync.rules.compile` (its docstring); each template below
says which branch of them it implements. A reference evaluator in tests checks the
generated functions against the original closure compiler on random trees and subjects.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from roleSync.metrics import METRIC_NAMES
from roleSync.rules.schema import (
    ACCOUNT_FIELDS,
    OWNER_FIELDS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    NotOf,
    Op,
)


def as_number(value: Any) -> float | None:
    """The number an ordering op compares: numbers as floats, numeric text parsed, bools
    and anything else none (so they never order)."""
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


# Parameter names a generated function may take: one per kind of subject it reads.
PARAMETERS: Final = frozenset({"subject", "owner", "metrics", "account"})
# Attributes generated code may read on its parameters, all from constants of our own.
ATTRIBUTES: Final = frozenset(
    {*METRIC_NAMES, *(f.partition(".")[2] for f in (*OWNER_FIELDS, *ACCOUNT_FIELDS)), "fields"}
)
# All the generated code can call: no other builtin is reachable from it.
HELPERS: Final = {
    "isinstance": isinstance,
    "str": str,
    "int": int,
    "float": float,
    "as_number": as_number,
}
# Compound conditions nested deeper than this go to helper functions, which keeps every
# generated function well inside the parser's nesting limit (200 parentheses) whatever
# depth the schema accepts.
MAX_NESTING: Final = 24


class CodegenError(ValueError):
    """A name outside the allowlists reached the generator: a bug in roleSync, not in
    the rule file (the loader rejects unknown fields first)."""


@dataclass(frozen=True, slots=True)
class Attribute:
    """Read `<param>.<name>`. `text`: the attribute is declared `str`, so the templates
    skip the type test that general values need."""

    param: str
    name: str
    text: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """Read `<param>.<mapping>.get(<key>)`: an extra field, its name held as a constant."""

    param: str
    mapping: str
    key: str


@dataclass(frozen=True, slots=True)
class Call:
    """Read `<getter>(<param>)`: for callers that only have a getter (single conditions)."""

    param: str
    getter: Callable[[Any], Any]


Read = Attribute | Lookup | Call
Reader = Callable[[Comparison], Read]


@dataclass(frozen=True, slots=True)
class Generated:
    """Source text and the namespace it runs in; `function()` compiles it."""

    source: str
    namespace: dict[str, Any]
    name: str

    def function(self) -> Callable[..., Any]:
        namespace = dict(self.namespace)
        exec(compile(self.source, f"<roleSync rules {self.name}>", "exec"), namespace)
        return namespace[self.name]  # type: ignore[no-any-return]


class _Writer:
    def __init__(self, params: Sequence[str], read: Reader) -> None:
        for param in params:
            _check(param in PARAMETERS, f"parameter {param!r}")
        self._params = tuple(params)
        self._read = read
        self.constants: dict[str, Any] = {}
        self.helpers: list[str] = []
        self._variables = 0

    def constant(self, value: Any) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        # Walrus targets: each comparison reads its value once into its own vN.
        self._variables += 1
        return f"v{self._variables - 1}"

    def signature(self, name: str) -> str:
        return f"def {name}({', '.join(self._params)}):"

    def condition(self, node: Condition, depth: int = 0) -> str:
        """A Python expression whose truth is the condition's."""
        if isinstance(node, Comparison):
            return self._comparison(node)
        if depth >= MAX_NESTING:
            return self._helper(node)
        if isinstance(node, NotOf):
            return f"(not {self.condition(node.not_, depth + 1)})"
        joiner, parts = (" and ", node.all) if isinstance(node, AllOf) else (" or ", node.any)
        return "(" + joiner.join(self.condition(p, depth + 1) for p in parts) + ")"

    def _helper(self, node: AllOf | AnyOf | NotOf) -> str:
        name = f"f{len(self.helpers)}"
        self.helpers.append("")  # reserve the name before the body can take more
        body = self.condition(node)
        self.helpers[int(name[1:])] = f"{self.signature(name)}\n    return {body}\n"
        return f"{name}({', '.join(self._params)})"

    def _value(self, cmp: Comparison) -> tuple[str, bool]:
        """The expression reading the compared value, and whether it is always a str."""
        read = self._read(cmp)
        _check(read.param in self._params, f"parameter {read.param!r}")
        if isinstance(read, Attribute):
            _check(_allowed(read.name), f"attribute {read.name!r}")
            return f"{read.param}.{read.name}", read.text
        if isinstance(read, Lookup):
            _check(_allowed(read.mapping), f"attribute {read.mapping!r}")
            return f"{read.param}.{read.mapping}.get({self.constant(read.key)})", False
        return f"{self.constant(read.getter)}({read.param})", False

    def _comparison(self, cmp: Comparison) -> str:
        get, text = self._value(cmp)
        v = self.variable()
        op, value = cmp.op, cmp.value
        if op in (Op.LT, Op.LTE, Op.GT, Op.GTE):
            # as_number(v) compared with the bound, with the two common cases inlined:
            # an exact float is its own number, an exact int is float(v). None and the
            # rest (bools, text, subclasses) go through as_number itself.
            sign = {Op.LT: "<", Op.LTE: "<=", Op.GT: ">", Op.GTE: ">="}[op]
            bound = self.constant(float(value))  # type: ignore[arg-type]  # numbers only
            return (
                f"({v} {sign} {bound} if ({v} := {get}).__class__ is float"
                f" else float({v}) {sign} {bound} if {v}.__class__ is int"
                f" else {v} is not None and ({v} := as_number({v})) is not None"
                f" and {v} {sign} {bound})"
            )
        if op in (Op.IN, Op.NOT_IN):
            return self._member(cmp, get, text, v)
        if op is Op.CONTAINS:
            # No missing-value rule here: `contains` is false for every non-text value.
            needle = self.constant(_normal(value))
            if text:
                return f"({needle} in {get}.strip().casefold())"
            return f"(isinstance(({v} := {get}), str) and {needle} in {v}.strip().casefold())"
        return self._equals(get, text, v, _normal(value), negate=op is Op.NE)

    def _equals(self, get: str, text: bool, v: str, expected: Any, *, negate: bool) -> str:
        if isinstance(expected, str) and not expected:
            # Only a blank value normalizes to "", and a blank value is missing: `eq ""`
            # never holds and `ne ""` always does.
            return self.constant(negate)
        if isinstance(expected, str):
            # Text equals text only: a number or bool never equals a str. A blank value
            # normalizes to "" and so already differs from a non-blank expected value.
            wanted = self.constant(expected)
            if text:
                test = f"{get}.strip().casefold() == {wanted}"
            else:
                test = f"isinstance(({v} := {get}), str) and {v}.strip().casefold() == {wanted}"
        else:
            # A number or bool: no value a subject holds (str, int, float, bool, None) that
            # is text or None equals it, so the missing rule needs no test of its own.
            # `==` as in the closures, quirk included: True == 1 holds.
            test = f"{get} == {self.constant(expected)}"
        return f"(not ({test}))" if negate else f"({test})"

    def _member(self, cmp: Comparison, get: str, text: bool, v: str) -> str:
        assert isinstance(cmp.value, list)  # the schema gives in / not_in a list
        members = frozenset(_normal(m) for m in cmp.value)
        # A missing value matches only not_in. None is never a member (values are
        # scalars), and removing "" makes a blank text value a non-member too; a non-blank
        # value never normalizes to "", so its membership is unchanged.
        found = self.constant(members - {""})
        negate = " not" if cmp.op is Op.NOT_IN else ""
        if not any(isinstance(m, str) for m in members):
            # No text member: text never matches, so no normalizing is needed.
            return f"({get}{negate} in {found})"
        if text:
            return f"({get}.strip().casefold(){negate} in {found})"
        return (
            f"(({v}.strip().casefold() if isinstance(({v} := {get}), str) else {v})"
            f"{negate} in {found})"
        )


def _normal(value: Any) -> Any:
    """Comparable form of a rule's value: text trimmed and case-folded, the rest as is."""
    return value.strip().casefold() if isinstance(value, str) else value


def _allowed(name: str) -> bool:
    return name in ATTRIBUTES and name.isidentifier() and not keyword.iskeyword(name)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise CodegenError(f"generated rule code may not use {what}")


def first_match(
    conditions: Sequence[Condition | None],
    results: Sequence[Any],
    default: Any,
    params: Sequence[str],
    read: Reader,
    name: str = "first_match",
) -> Generated:
    """Source of `name(*params)`: `results[i]` for the first `conditions[i]` that holds
    (None holds always), `default` when none does. `read` says where each comparison's
    value lives."""
    _check(name.isidentifier() and name in ("first_match", "matches"), f"name {name!r}")
    writer = _Writer(params, read)
    lines = [writer.signature(name)]
    for condition, result in zip(conditions, results, strict=True):
        if condition is None:
            lines.append(f"    return {writer.constant(result)}")
            break  # rules after a catch-all can never be reached
        lines.append(f"    if {writer.condition(condition)}:")
        lines.append(f"        return {writer.constant(result)}")
    else:
        lines.append(f"    return {writer.constant(default)}")
    source = "".join(writer.helpers) + "\n".join(lines) + "\n"
    namespace = {"__builtins__": {}, **HELPERS, **writer.constants}
    return Generated(source, namespace, name)
