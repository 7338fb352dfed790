"""The rule files' JSON Schema and Markdown reference, both generated from the models.

Nothing here is written by hand that the models already say: keys, types, defaults
and descriptions come from the pydantic models; metrics, operators, fields and
strategies from the tables the engine itself uses. Every example is validated against
its model while the reference is generated, so a stale example fails the build.
"""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from roleSync.rules.field_docs import description
from roleSync.rules.loader import load_yaml_text, validate
from roleSync.rules.reference_availability import AVAILABILITY_EXAMPLE, availability_section
from roleSync.rules.reference_metrics import metrics_section
from roleSync.rules.reference_roles import hysteresis_section
from roleSync.rules.reference_routing import handoffs_section, table, territory_section
from roleSync.rules.resolved import resolved_fields
from roleSync.rules.schema import (
    ACCOUNT_EXTRA_PREFIX,
    ACCOUNT_FIELDS,
    OWNER_FIELDS,
    AllOf,
    AnyOf,
    Comparison,
    NotOf,
    RolesFile,
    RoutingFile,
)
from roleSync.rules.territory_schema import OWNER_EXTRA_PREFIX

SCHEMA_ID = "https://rolesync.dev/schema/rules-v1.json"

OPERATOR_HELP = {
    "eq": "equal (text: case-insensitive, surrounding blanks ignored)",
    "ne": "not equal; also true when the value is missing",
    "lt": "less than (numbers only)",
    "lte": "less than or equal (numbers only)",
    "gt": "greater than (numbers only)",
    "gte": "greater than or equal (numbers only)",
    "in": "one of a list",
    "not_in": "none of a list; also true when the value is missing",
    "contains": "text contains, case-insensitive (for titles and names)",
}
STRATEGY_HELP = {
    "round_robin": "pool members in turn (sorted by email), continuing where the last run "
    "left off; members that are inactive, away or at capacity are passed over",
    "least_loaded": "the eligible member with the fewest accounts, or the least managed "
    "revenue with `balance_by: revenue`; ties go by email",
    "weighted": "members in proportion to `weights` (default 1 each), interleaved by a smooth "
    "weighted rotation that continues where the last run left off; members that are inactive, "
    "away or at capacity are passed over and the others share their turns",
}

EXAMPLES: dict[str, tuple[type[BaseModel], str]] = {
    "roles": (
        RolesFile,
        """\
version: 1
kind: roles
window_days: 365
classify:
  - id: hunter-by-deal-mix
    role: hunter
    when:
      all:
        - {metric: new_business_share, op: gte, value: 0.6}
        - {metric: new_business_won_count, op: gte, value: 3}
  - id: farmer-by-deal-mix
    role: farmer
    when: {metric: new_business_share, op: lte, value: 0.4}
  - id: no-clear-mix
    role: unclassified
overrides:
  - {owner: dana@example.com, role: farmer, reason: named key-account manager}
hysteresis:                  # a new hunter needs 0.65, a hunter stays one down to 0.55
  margin: 0.05
  metrics: [new_business_share]   # not new_business_won_count: a count, not a share
  days: 3                    # ...or the rules give the new role on 3 days in a row
""",
    ),
    "routing": (
        RoutingFile,
        """\
version: 1
kind: routing
handoff: {trigger: first_won_new_business, delay_days: 14, from_roles: [hunter]}
routes:
  - id: enterprise-emea
    when:
      all:
        - {field: account.segment, op: eq, value: Enterprise}
        - {field: account.region, op: in, value: [EMEA]}
    assign:
      pool: [ana@example.com, ben@example.com]
      strategy: least_loaded
      balance_by: revenue
      capacity: {max_accounts: 80}
  - id: mid-market
    when: {field: account.segment, op: eq, value: Mid-Market}
    assign:
      pool: [carl@example.com, dana@example.com, eve@example.com]
      strategy: weighted
      weights: {carl@example.com: 3, dana@example.com: 2}   # eve weighs 1
  - id: everyone-else
    assign: {pool: {role: farmer}, strategy: round_robin}
""",
    ),
    "handoffs": (
        RoutingFile,
        """\
version: 1
kind: routing
handoffs:                       # tried in order: the first that fired and takes the owner
  - id: contract-signed
    trigger: stage_reached
    stage: Negotiation/Review   # a stage the profile's `stages` names
    kinds: [new_business]
    max_age_days: 30
  - id: first-win
    trigger: first_won_new_business
    delay_days: 14
    carry:                      # records that follow the account to its farmer
      - deals: {kinds: [renewal, expansion]}   # open ones; closed deals never move
      - contacts: all           # or previous_owner: only those the hunter owns
      - tasks: previous_owner   # open tasks the hunter owns
    tasks:                      # CRM tasks created once per handoff
      new_owner:
        subject: "Welcome {account} ({trigger})"
        body: "{previous_owner} handed {account} to you on {trigger_date} by route {route}."
        due_in_days: 3
      previous_owner:           # optional; never for an owner who left
        subject: "Introduce {new_owner} to {account}"
        due_in_days: 5
  - id: became-customer
    trigger: lifecycle_became
    lifecycle: customer
    since: 2026-01-01           # backfill: every account that became a customer this year
routes:
  - id: everyone-else
    assign: {pool: {role: farmer}}
""",
    ),
    "owner_left": (
        RoutingFile,
        """\
version: 1
kind: routing
handoffs:
  - id: owner-left              # first: a departed owner's book moves whatever else fired
    trigger: owner_left
    routes:                     # its own routes; ids differ from the file's routes
      - id: left-customers      # customers to the farmers, at most 120 accounts each
        when: {field: account.lifecycle, op: eq, value: customer}
        assign:
          pool: {role: farmer}
          strategy: least_loaded
          capacity: {max_accounts: 120}
      - id: left-prospects      # prospects (and their open pipeline) to the hunters
        assign:
          pool: {role: hunter}
          strategy: least_loaded
          capacity: {max_accounts: 80}
  - id: first-win
    trigger: first_won_new_business
routes:
  - id: everyone-else
    assign: {pool: {role: farmer}}
""",
    ),
    "overflow": (
        RoutingFile,
        """\
version: 1
kind: routing
routes:
  - id: key-accounts            # key accounts to the key-account managers first...
    when: {field: account.tier, op: eq, value: Key}
    when_full: next_route       # ...and once each holds 40, on to the next route
    assign:
      pool: [kam1@example.com, kam2@example.com]
      capacity: {max_accounts: 40}
  - id: enterprise
    when: {field: account.segment, op: eq, value: Enterprise}
    when_full: next_route
    assign:
      pool: {role: farmer}
      strategy: least_loaded
      capacity:
        max_accounts: 400
        per_class:              # of which at most 5 key accounts each
          - id: key-accounts
            when: {field: account.tier, op: eq, value: Key}
            max_accounts: 5
  - id: everyone-else
    assign: {pool: {role: farmer}}
""",
    ),
    "availability": (RoutingFile, AVAILABILITY_EXAMPLE),
    "territory": (
        RoutingFile,
        """\
version: 1
kind: routing
routes:
  - id: regional-farmers        # each customer to a farmer of its region
    assign:
      pool: {role: farmer}
      match:                    # all must hold for a member to receive the account
        - {account: account.region, owner: owner.fields.regions, op: in}   # EMEA;APAC
        - {account: account.fields.language, owner: owner.fields.language} # op eq
""",
    ),
}


def _rule_test_model() -> type[BaseModel] | None:
    try:
        from roleSync.rules.testing_schema import RuleTestFile
    except ImportError:  # rule tests are optional for the rule-file schema
        return None
    return RuleTestFile


def json_schema() -> dict[str, Any]:
    """One schema for every rule file: editors pick the branch that fits."""
    models: list[type[BaseModel]] = [RolesFile, RoutingFile]
    test_model = _rule_test_model()
    if test_model is not None:
        models.append(test_model)
    defs: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "roleSync rule file",
        "description": "roles.yaml, routing.yaml, or a rule test (*.test.yaml). "
        "Generated by `rolesync schema`; do not edit.",
        "anyOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in models],
        "$defs": dict(sorted(defs.items())),
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        parts = [a for a in get_args(annotation) if a is not type(None)]
        if {_type_name(a) for a in parts} >= {"condition"}:
            return "condition"
        return " or ".join(dict.fromkeys(_type_name(a) for a in parts))
    if origin is Literal:
        return " or ".join(f"`{v}`" for v in get_args(annotation))
    if origin is list:
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map of {_type_name(key)} to {_type_name(value)}"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return " or ".join(f"`{m.value}`" for m in annotation)
        if annotation in (AllOf, AnyOf, NotOf, Comparison):
            return "condition"
        if issubclass(annotation, BaseModel):
            return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
        names = {bool: "true/false", int: "integer", float: "number", str: "text"}
        return names.get(annotation, annotation.__name__)
    return str(annotation)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if value is None or value is PydanticUndefined:
        return "-"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list):
        value = [v.value if isinstance(v, enum.Enum) else v for v in value]
        return f"`{json.dumps(value)}`"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`"


def _models_under(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """The model and every model reachable from its fields, in first-seen order."""
    if model in seen or model in (AllOf, AnyOf, NotOf, Comparison):
        return seen
    seen.append(model)
    for info in resolved_fields(model).values():
        for inner in _inner_types(info.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                _models_under(inner, seen)
    return seen


def _inner_types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _inner_types(arg)


def _model_section(model: type[BaseModel]) -> list[str]:
    lines = [f"### {model.__name__}", ""]
    if model.__doc__:
        lines += [" ".join(model.__doc__.split()), ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        described = " ".join((description(model, name) or "").split()).replace("|", "\\|")
        kind = _type_name(info.annotation).replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | {_default(info)} | {described} |")
    return [*lines, ""]


def _checked_example(name: str) -> str:
    model, text = EXAMPLES[name]
    validate(load_yaml_text(text, f"<example {name}>"), model)  # raises if it went stale
    return text


def markdown_reference() -> str:
    lines = [
        "# Rule file reference",
        "",
        "Generated from roleSync's models by `rolesync schema --markdown`; do not edit by "
        "hand (a test fails when this file is stale). Editors that read "
        "`# yaml-language-server: $schema=./schema.json` get the same facts as you type.",
        "",
    ]
    for title, name, root in (
        ("Roles file", "roles", RolesFile),
        ("Routing file", "routing", RoutingFile),
    ):
        lines += [f"## {title}", "", "```yaml", _checked_example(name).rstrip(), "```", ""]
        if root is RolesFile:
            lines += hysteresis_section()
        if root is RoutingFile:
            lines += handoffs_section(_checked_example)
            lines += territory_section(_checked_example)
        for model in _models_under(root, []):
            lines += _model_section(model)
    test_model = _rule_test_model()
    if test_model is not None:
        lines += ["## Rule tests", ""]
        for model in _models_under(test_model, []):
            lines += _model_section(model)
    lines += [
        "## Conditions",
        "",
        "A condition is one comparison `{metric|field: NAME, op: OP, value: VALUE}`, or "
        "`{all: [conditions]}`, `{any: [conditions]}`, `{not: condition}`. A missing value "
        "(a metric with nothing to measure, a blank field) matches only `ne` and `not_in`.",
        "",
        "### Operators",
        "",
        *table(("op", "meaning"), list(OPERATOR_HELP.items())),
        *metrics_section(),
        "### Fields",
        "",
        *table(
            ("field", "where"),
            [(f, "roles") for f in OWNER_FIELDS]
            + [(f, "routes") for f in ACCOUNT_FIELDS]
            + [(f"{ACCOUNT_EXTRA_PREFIX}<name>", "routes: extra fields the profile maps")]
            + [(f"{OWNER_EXTRA_PREFIX}<name>", "territory matches: extra owner fields")],
        ),
        "### Strategies",
        "",
        *table(("strategy", "who is picked"), list(STRATEGY_HELP.items())),
        "### When a route's pool is full",
        "",
        "A route's `when_full` says what happens when no member of its pool can take the "
        "account (each at capacity, inactive or its current owner). `skip` (the default): "
        "the account is skipped as `no-eligible-farmer`, the reason counting the members "
        "refused. `next_route`: it is tried on the next route below whose `when` matches "
        "it (in a handoff block's own `routes`, the next of those), and so on while each "
        "full route says `next_route`. The handoff's reason then names the full routes it "
        "passed over; if no later route takes it, it is skipped as `no-eligible-farmer` "
        "with a reason naming every full route. `check` warns about `next_route` on the "
        "last route: there is nothing to overflow to. `explain` shows each full route's "
        "pool and where the account went on to.",
        "",
        "`capacity.per_class` caps one class of accounts: each entry an `id`, a `when` on "
        "the account's fields (the condition syntax of a route's `when`) and a "
        "`max_accounts`. A member holding that many accounts of the class (owned now, "
        "plus those this plan gives them, minus those it moves away) is refused accounts "
        "of the class only, with the reason `at capacity (5 key-accounts accounts)`; "
        "other accounts still reach them. With `when_full: next_route`, a class that is "
        "full for every member passes its accounts on like a full pool. Accounts in a "
        "capped class are picked by a scan of the pool (the others by the pool index), so "
        "keep such pools to the people the class is meant for.",
        "",
        "```yaml",
        _checked_example("overflow").rstrip(),
        "```",
        "",
        *availability_section(_checked_example("availability")),
    ]
    return "\n".join(lines).rstrip() + "\n"
