"""Generated rule functions (roleSync.rules.codegen): same verdicts as the reference
closures on random trees and subjects, and no way for a rule file to inject code."""

from __future__ import annotations

import io
import os
import random
import re
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from condition_oracle import (
    oracle_condition,
    oracle_first_match,
    resolve_account_subject,
    resolve_owner_subject,
)
from roleSync.metrics import METRIC_NAMES, RoleMetrics
from roleSync.model import Account, Owner
from roleSync.rules import codegen
from roleSync.rules.classify import CompiledRoles, OwnerFacts
from roleSync.rules.compile import compile_condition
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set
from roleSync.rules.schema import Condition, RolesFile, RoutingFile

ROOT = Path(__file__).resolve().parents[1]
SEED = 20260630

# Values chosen for the edges of the semantics: blanks, case folding that changes length
# (ß -> ss), numbers as text (with blanks, exponents, underscores, nan/inf), bools next to
# 0/1, floats beyond 2**53, numbers too big for a float.
TEXTS = (
    "EMEA", " emea ", "Emea", "APAC", "", "  ", "\t\n", "\u00a0x\u00a0", "500", " 500 ", "5e2",
    "-1.5", "0", "1", "nan", "inf", "1_000", "true", "ß", "SS", "ss", "Straße", "STRASSE",
    "İ", "account executive", "Account Exec", "x",
)  # fmt: skip
NUMBERS = (0, 1, -1, 3, 500, 0.0, 1.0, 0.4, 0.6, -2.5, 2**53 + 1, 1e300, float("nan"), float("inf"))
VALUES = (*TEXTS, *NUMBERS, True, False, None, 10**400)
BOUNDS = (0, 1, 3, 0.5, 0.6, -1, 500, 2**53, 1e300, float("inf"))
OWNER_TEXT = ("owner.id", "owner.name", "owner.email", "owner.title")
ACCOUNT_TEXT = tuple(f"account.{f}" for f in ("id", "name", "lifecycle", "segment", "region"))
EXTRA_KEYS = ("x", "y", "__class__")
OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains")


def _scalar(rng: random.Random, numeric: bool) -> Any:
    while True:
        value = rng.choice(VALUES)
        if value is None or value == 10**400:
            continue
        if numeric and isinstance(value, (str, bool)):
            continue
        return value


def _comparison(rng: random.Random, subjects: tuple[str, ...]) -> dict[str, Any]:
    subject = rng.choice(subjects)
    numeric = subject in METRIC_NAMES
    op = rng.choice(OPS[:8] if numeric else OPS)
    if op in ("lt", "lte", "gt", "gte"):
        value: Any = rng.choice(BOUNDS)
    elif op in ("in", "not_in"):
        value = [_scalar(rng, numeric) for _ in range(rng.randrange(0, 4))]
    elif op == "contains":
        value = rng.choice(TEXTS)
    else:
        value = _scalar(rng, numeric)
    return {"metric" if numeric else "field": subject, "op": op, "value": value}


def _tree(rng: random.Random, subjects: tuple[str, ...], depth: int = 0) -> dict[str, Any]:
    kind = rng.random()
    if depth >= 4 or kind < 0.4:
        return _comparison(rng, subjects)
    if kind < 0.55:
        return {"not": _tree(rng, subjects, depth + 1)}
    parts = [_tree(rng, subjects, depth + 1) for _ in range(rng.randrange(1, 4))]
    return {"all" if kind < 0.8 else "any": parts}


def _rules(rng: random.Random, subjects: tuple[str, ...]) -> list[dict[str, Any] | None]:
    return [
        None if rng.random() < 0.1 else _tree(rng, subjects) for _ in range(rng.randrange(1, 5))
    ]


def _roles_file(whens: list[dict[str, Any] | None]) -> RolesFile:
    rules = [
        {"id": f"r{i}", "role": "hunter", **({} if w is None else {"when": w})}
        for i, w in enumerate(whens)
    ]
    return RolesFile.model_validate({"version": 1, "kind": "roles", "classify": rules})


def _routing_file(whens: list[dict[str, Any] | None]) -> RoutingFile:
    routes = [
        {
            "id": f"r{i}",
            "assign": {"pool": {"role": "farmer"}},
            **({} if w is None else {"when": w}),
        }
        for i, w in enumerate(whens)
    ]
    return RoutingFile.model_validate({"version": 1, "kind": "routing", "routes": routes})


def _metric(rng: random.Random, default: Any) -> Any:
    # Declared int, float or None; bools and ints where floats are declared still type-check,
    # so the generated code must treat them exactly as the closures do.
    pool: tuple[Any, ...] = (None, True, 0, 1, 3, 7, 0.0, 0.4, 0.6, 0.55, 2.5, 2**53 + 1)
    return rng.choice(pool) if rng.random() < 0.7 else default


def _owner_facts(rng: random.Random) -> OwnerFacts:
    texts = [rng.choice(TEXTS) for _ in range(4)]
    owner = Owner(texts[0], texts[1], texts[2], texts[3], rng.random() < 0.5)
    metrics = RoleMetrics(**{m: _metric(rng, getattr(RoleMetrics(), m)) for m in METRIC_NAMES})
    return OwnerFacts(owner, metrics)


def _account(rng: random.Random) -> Account:
    texts = [rng.choice(TEXTS) for _ in range(6)]
    extras = {k: rng.choice(VALUES) for k in EXTRA_KEYS if rng.random() < 0.7}
    lifecycle, segment, region, tier = texts[2:]
    return Account(texts[0], texts[1], None, lifecycle, segment, region, tier, fields=extras)


def _outcome(evaluate: Callable[..., Any], *args: Any) -> Any:
    """The verdict, or the exception both sides must raise alike (float() of 10**400)."""
    try:
        return evaluate(*args)
    except (OverflowError, TypeError) as error:
        return type(error)


def _cases(rounds: int) -> Iterator[tuple[int, random.Random]]:
    rng = random.Random(SEED)
    for index in range(rounds):
        yield index, rng


OWNER_SUBJECTS = (*METRIC_NAMES, *OWNER_TEXT, "owner.active")
ACCOUNT_SUBJECTS = (*ACCOUNT_TEXT, "account.tier", *(f"account.fields.{k}" for k in EXTRA_KEYS))


def test_rule_for_agrees_with_the_reference_on_random_rules_and_owners() -> None:
    checked = 0
    for _, rng in _cases(250):
        roles_file = _roles_file(_rules(rng, OWNER_SUBJECTS))
        roles = CompiledRoles(roles_file)
        reference = oracle_first_match([r.when for r in roles_file.classify], resolve_owner_subject)
        for _ in range(16):
            facts = _owner_facts(rng)
            got = _outcome(roles.rule_for, facts.owner, facts.metrics)
            rule_index = int(got.id[1:]) if hasattr(got, "id") else -1 if got is None else got
            assert rule_index == _outcome(reference, facts), (roles.source, facts)
            checked += 1
    assert checked == 4000


def test_route_for_agrees_with_the_reference_on_random_routes_and_accounts() -> None:
    checked = 0
    for _, rng in _cases(250):
        routing_file = _routing_file(_rules(rng, ACCOUNT_SUBJECTS))
        routing = CompiledRouting(routing_file)
        reference = oracle_first_match(
            [r.when for r in routing_file.routes], resolve_account_subject
        )
        for _ in range(16):
            account = _account(rng)
            got = _outcome(routing.route_for, account)
            route_index = int(got.id[1:]) if hasattr(got, "id") else -1 if got is None else got
            assert route_index == _outcome(reference, account), (routing.source, account)
            checked += 1
    assert checked == 4000


def test_single_conditions_agree_with_the_reference() -> None:
    # compile_condition (explain's entry point) reads values through getters, so it takes
    # the general templates only: check those against the reference on their own.
    for _, rng in _cases(300):
        when = _tree(rng, OWNER_SUBJECTS)
        condition = _roles_file([when]).classify[0].when
        generated = compile_condition(condition, resolve_owner_subject)
        reference = oracle_condition(condition, resolve_owner_subject)
        for _ in range(8):
            facts = _owner_facts(rng)
            got = _outcome(generated, facts)
            assert got == _outcome(reference, facts), (when, facts)
            assert got in (True, False) or isinstance(got, type)


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "account.fields.x", "op": "in", "value": ["a", 1]}
    for level in range(depth):
        other: dict[str, Any] = {"field": "account.segment", "op": "ne", "value": f"s{level}"}
        wrapped: list[dict[str, Any]] = [
            {"not": node},
            {"all": [other, node]},
            {"any": [node, other]},
        ]
        node = wrapped[level % 3]
    return node


@pytest.mark.parametrize("depth", [1, 30, 150])
def test_deep_trees_compile_and_agree(depth: int) -> None:
    # Deeper than the parser's 200 nested parentheses would allow in one expression: the
    # generator moves deep subtrees into helper functions.
    routing_file = _routing_file([_nested(depth)])
    routing = CompiledRouting(routing_file)
    reference = oracle_first_match([r.when for r in routing_file.routes], resolve_account_subject)
    rng = random.Random(depth)
    for _ in range(50):
        account = _account(rng)
        found = routing.route_for(account)
        assert (0 if found is not None else -1) == reference(account)


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        # The closures compare non-text with ==: a bool equals the number it stands for.
        ({"op": "eq", "value": 1}, True, True),
        ({"op": "in", "value": [0]}, False, True),
        # Text never equals a number, even when it spells one.
        ({"op": "eq", "value": 500}, "500", False),
        # Blank text is missing: only ne / not_in match it, whatever the value.
        ({"op": "eq", "value": "  "}, "", False),
        ({"op": "ne", "value": ""}, " ", True),
        ({"op": "in", "value": ["", "x"]}, "  ", False),
        ({"op": "not_in", "value": [""]}, None, True),
        # ...except `contains`, which looks into any text, blank included.
        ({"op": "contains", "value": " "}, "", True),
        # Ordering reads numbers in text; bools never order.
        ({"op": "gte", "value": 400}, " 5e2 ", True),
        ({"op": "gt", "value": 0}, True, False),
        ({"op": "eq", "value": "STRASSE"}, " straße", True),
    ],
)
def test_documented_semantics(comparison: dict[str, Any], value: Any, expected: bool) -> None:
    routing_file = _routing_file([{"field": "account.fields.x", **comparison}])
    account = Account("a", "A", None, fields={"x": value})
    assert (CompiledRouting(routing_file).route_for(account) is not None) is expected
    when = routing_file.routes[0].when
    assert oracle_condition(when, resolve_account_subject)(account) is expected


# ---- safety ---------------------------------------------------------------------------

# Spelled out here rather than imported from codegen, so that widening the generator's
# vocabulary takes a deliberate change to this test too.
ALLOWED_NAMES = frozenset(
    {
        *("def", "return", "if", "else", "and", "or", "not", "is", "in", "None"),
        *("isinstance", "str", "int", "float", "as_number", "first_match", "matches"),
        *("subject", "owner", "metrics", "account"),
        *("strip", "casefold", "get", "__class__", "fields"),
        *("id", "name", "email", "title", "active", "lifecycle", "segment", "region", "tier"),
        *METRIC_NAMES,
    }
)
GENERATED_NAME = re.compile(r"[cvf][0-9]+")
STRUCTURE = frozenset(
    {
        tokenize.NAME,
        tokenize.OP,
        tokenize.NEWLINE,
        tokenize.NL,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
    }
)


def assert_only_our_names(source: str) -> None:
    """Every token is a name we allow, an operator or layout: no string, number or
    comment can carry anything from a rule file."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        assert token.type in STRUCTURE, (tokenize.tok_name[token.type], token.string, source)
        if token.type == tokenize.NAME:
            name = token.string
            assert name in ALLOWED_NAMES or GENERATED_NAME.fullmatch(name), (name, source)


def test_generated_sources_hold_only_allowed_names() -> None:
    shipped = load_rule_set([ROOT / "rules" / "roles.yaml", ROOT / "rules" / "routing.yaml"])
    sources = [CompiledRoles(shipped.roles).source, CompiledRouting(shipped.routing).source]
    for _, rng in _cases(200):
        sources.append(CompiledRoles(_roles_file(_rules(rng, OWNER_SUBJECTS))).source)
        sources.append(CompiledRouting(_routing_file(_rules(rng, ACCOUNT_SUBJECTS))).source)
    sources.append(CompiledRouting(_routing_file([_nested(150)])).source)
    for source in sources:
        assert_only_our_names(source)
    # The templates are all exercised: every op, both reads, helper functions.
    text = "\n".join(sources)
    for piece in ("as_number(", ".fields.get(", "isinstance(", " not in ", "def f0("):
        assert piece in text


INJECTION = "'); __import__('os').system('touch /tmp/pwned'); ('"
HOSTILE_TEXTS = (
    INJECTION,
    '"""\nimport os\n"""',
    "\\",
    "c0",  # looks like a constant's name: it must still be data
    "as_number",
    "ÉMEA\u2028\u0000",
    "x" * 100_000,
)
HOSTILE_KEYS = ("__class__", "__dict__", INJECTION, "fields.get", "ÉMEA\u2028", "k" * 10_000)


def test_hostile_rule_values_are_data(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def system(command: str) -> int:
        calls.append(command)
        return 0

    monkeypatch.setattr(os, "system", system)
    routes: list[dict[str, Any]] = [
        {"field": f"account.fields.{key}", "op": "eq", "value": text}
        for key in HOSTILE_KEYS
        for text in HOSTILE_TEXTS
    ]
    routes += [{"field": "account.name", "op": op, "value": [*HOSTILE_TEXTS]} for op in ("in",)]
    routes += [{"field": "account.fields.__class__", "op": "contains", "value": INJECTION}]
    routing = CompiledRouting(_routing_file([*routes, None]))
    assert_only_our_names(routing.source)
    for hostile in (INJECTION, HOSTILE_TEXTS[1], "ÉMEA", "x" * 1000, "k" * 1000):
        assert hostile not in routing.source
    # Each route matches exactly the account holding its value under its key, compared
    # as text (case-folded, trimmed) like any other value.
    for index, route in enumerate(routes[: len(HOSTILE_KEYS) * len(HOSTILE_TEXTS)]):
        key = route["field"].removeprefix("account.fields.")
        account = Account("a", "A", None, fields={key: f"  {route['value'].upper()} "})
        found = routing.route_for(account)
        assert found is not None
        assert found.id == f"r{index}"
    # `__class__` is a key in the account's fields, never the attribute.
    plain = Account("a", "A", None, fields={})
    assert routing.route_for(plain) is not None
    assert routing.route_for(plain).id == f"r{len(routes)}"  # type: ignore[union-attr]
    assert calls == []


def test_hostile_owner_titles_are_data() -> None:
    roles_file = _roles_file(
        [{"field": "owner.title", "op": "contains", "value": text} for text in HOSTILE_TEXTS]
    )
    roles = CompiledRoles(roles_file)
    assert_only_our_names(roles.source)
    assert INJECTION not in roles.source
    metrics = RoleMetrics()
    for index, text in enumerate(HOSTILE_TEXTS):
        rule = roles.rule_for(Owner("o", "O", "o@x", f"says {text.upper()}!"), metrics)
        assert rule is not None
        assert rule.id == f"r{index}"


@pytest.mark.parametrize(
    "read",
    [
        codegen.Attribute("account", "__class__"),
        codegen.Attribute("account", "segment; import os"),
        codegen.Attribute("account", "__dict__"),
        codegen.Attribute("os", "segment"),
        codegen.Lookup("account", "__globals__", "x"),
    ],
)
def test_names_outside_the_allowlists_are_refused(read: codegen.Read) -> None:
    condition = _routing_file([{"field": "account.segment", "op": "eq", "value": "x"}])
    when: Condition | None = condition.routes[0].when
    with pytest.raises(codegen.CodegenError):
        codegen.first_match([when], [1], None, ["account"], lambda _cmp: read)


def test_refused_parameter_and_function_names() -> None:
    when = _routing_file([{"field": "account.segment", "op": "eq", "value": "x"}]).routes[0].when
    read = codegen.Attribute("account", "segment", text=True)
    with pytest.raises(codegen.CodegenError):
        codegen.first_match([when], [1], None, ["account", "os"], lambda _cmp: read)
    with pytest.raises(codegen.CodegenError):
        codegen.first_match([when], [1], None, ["account"], lambda _cmp: read, name="exec")


def test_generated_code_runs_without_builtins() -> None:
    when = _routing_file([{"field": "account.segment", "op": "eq", "value": "x"}]).routes[0].when
    generated = codegen.first_match(
        [when], [1], None, ["account"], lambda _cmp: codegen.Attribute("account", "segment")
    )
    assert generated.namespace["__builtins__"] == {}
    function = generated.function()
    assert function.__globals__["__builtins__"] == {}
    assert function(Account("a", "A", None, segment=" X ")) == 1
