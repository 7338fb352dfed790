"""Friendlier validation messages: stable codes and "did you mean" suggestions.

Pydantic reports where a value failed and which type check failed; RevOps editors need
"unknown key 'clasify'; did you mean 'classify'?". The keys allowed at a location come
from walking the model's fields along the error's location, so suggestions are exactly
the keys valid there, never keys of some other part of the file.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from roleSync.rules.resolved import resolved_fields

# Pydantic error types -> our codes. Anything not listed keeps "invalid-<type>".
CODES = {
    "extra_forbidden": "unknown-key",
    "missing": "missing-key",
    "literal_error": "unknown-value",
    "enum": "unknown-value",
    "int_type": "wrong-type",
    "int_parsing": "wrong-type",
    "int_from_float": "wrong-type",
    "float_type": "wrong-type",
    "float_parsing": "wrong-type",
    "string_type": "wrong-type",
    "bool_type": "wrong-type",
    "bool_parsing": "wrong-type",
    "list_type": "wrong-type",
    "dict_type": "wrong-type",
    "model_type": "wrong-type",
    "model_attributes_type": "wrong-type",
    "date_type": "invalid-date",
    "date_parsing": "invalid-date",
    "date_from_datetime_parsing": "invalid-date",
    "date_from_datetime_inexact": "invalid-date",
    "greater_than": "out-of-range",
    "greater_than_equal": "out-of-range",
    "less_than": "out-of-range",
    "less_than_equal": "out-of-range",
    "too_short": "empty",
    "string_too_short": "empty",
    "too_long": "too-long",
    "string_pattern_mismatch": "bad-format",
    "value_error": "invalid-value",
}

# What a value at a key is called in messages about it.
VALUE_NOUNS = {
    "metric": "metric",
    "op": "operator",
    "strategy": "strategy",
    "role": "role",
    "from_roles": "role",
    "balance_by": "balance",
    "trigger": "trigger",
    "kind": "kind",
}


# Operators as people write them in a spreadsheet or code, and the op that means it.
OP_SYMBOLS = {
    ">=": "gte",
    "=>": "gte",
    "≥": "gte",
    ">": "gt",
    "<=": "lte",
    "=<": "lte",
    "≤": "lte",
    "<": "lt",
    "==": "eq",
    "=": "eq",
    "!=": "ne",
    "<>": "ne",
    "≠": "ne",
}

# Pydantic error types about a value's shape -> what the value should have been.
SHAPE_NOUNS = {
    "list_type": "a valid list",
    "dict_type": "a valid dictionary",
    "model_type": "a valid dictionary",
    "model_attributes_type": "a valid dictionary",
}


def shape_message(loc: Sequence[str | int], errors: Sequence[ErrorDetails]) -> str:
    """One sentence for a value every member of a union refused by its shape (a pool
    that is neither a list nor a mapping), without the members' internal names."""
    nouns = list(dict.fromkeys(SHAPE_NOUNS.get(e["type"], "valid") for e in errors))
    where = ".".join(str(p) for p in loc)
    text = f"Input should be {' or '.join(nouns)}"
    return f"{where}: {text}" if where else text


def close_match(word: str, options: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: object, options: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    match = close_match(word, options)
    return f"; did you mean {match!r}?" if match else ""


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits: Annotated, Optional and unions opened up."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _step(candidates: list[Any], part: str | int) -> list[Any]:
    following: list[Any] = []
    for candidate in candidates:
        origin = get_origin(candidate)
        if isinstance(part, int) and origin is list:
            following.extend(_unwrap(get_args(candidate)[0]))
        elif (
            isinstance(part, str)
            and isinstance(candidate, type)
            and issubclass(candidate, BaseModel)
        ):
            for name, info in resolved_fields(candidate).items():
                if part in (name, info.alias):
                    following.extend(_unwrap(info.annotation))
    return following


def allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Keys of the model(s) a mapping at `loc` may be; union tags narrow the choice:
    ours (`<all>`) and pydantic's member names (`RolePool`, `list[constrained-str]`)."""
    candidates: list[Any] = [model]
    for part in loc:
        if isinstance(part, str) and part.startswith("<") and part.endswith(">"):
            candidates = [c for c in candidates if _tag_of(c) == part] or candidates
            continue
        named = [c for c in candidates if getattr(c, "__name__", None) == part]
        candidates = named or _step(candidates, part) or candidates
    keys: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            keys.extend(info.alias or name for name, info in resolved_fields(candidate).items())
    return keys


def _tag_of(candidate: Any) -> str | None:
    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
        keys = set(candidate.model_fields)
        for key in ("all", "any"):
            if key in keys:
                return f"<{key}>"
        if "not_" in keys:
            return "<not>"
        if "op" in keys:
            return "<compare>"
    return None


def _expected(error: ErrorDetails) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    quoted = re.findall(r"'([^']*)'", expected)
    # Non-string literals (version: 1) come unquoted: "1", "1 or 2".
    return quoted or [part for part in re.split(r",\s*|\s+or\s+", expected) if part]


def message_for(model: type[BaseModel], error: ErrorDetails, loc: Sequence[str | int]) -> str:
    """One readable sentence for one pydantic error at `loc` (union tags already removed)."""
    kind = error["type"]
    raw_loc = error["loc"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        keys = allowed_keys(model, raw_loc[:-1])
        return f"unknown key {name!r}{did_you_mean(name, keys)}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing required key"
    where = ".".join(str(p) for p in loc)
    if kind in ("literal_error", "enum"):
        options = _expected(error)
        key = next((p for p in reversed(loc) if isinstance(p, str)), "")
        noun = VALUE_NOUNS.get(key, "value")
        shown = f" (one of: {', '.join(options)})" if len(options) <= 12 else ""
        value = error.get("input")
        suggestion = did_you_mean(value, options)
        if noun == "operator" and isinstance(value, str) and value.strip() in OP_SYMBOLS:
            suggestion = f"; did you mean {OP_SYMBOLS[value.strip()]!r}?"
        if noun == "metric" and loc[:1] == ("classify",) and _a_field(value):
            # An owner field is compared with `field:`, not `metric:`.
            named = value if str(value).casefold().startswith("owner.") else f"owner.{value}"
            return f"unknown metric {value!r}: it is an owner field; use 'field: {named}'"
        if not suggestion and tuple(loc[:2]) == ("hysteresis", "metrics") and _a_field(value):
            # A margin moves thresholds in a metric's units: a text field has none.
            return (
                f"{where}: {value!r} is an owner field, not a number: a hysteresis margin "
                f"moves only comparisons of a metric with a number"
                f"{shown or ' (the Metrics section of docs/rule-files.md lists them)'}"
            )
        text = f"unknown {noun} {value!r}{suggestion or shown}"
        return text if noun != "value" else f"{where}: {text}"
    message = error["msg"]
    if kind in SHAPE_NOUNS:
        # Pydantic names the model class ("instance of RolePool"): not the user's words.
        message = f"Input should be {SHAPE_NOUNS[kind]}"
    if kind.startswith("value_error") or kind == "value_error":
        message = message.removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# Owner fields a roles file compares, with and without their `owner.` prefix: text or a
# yes/no, never a number (roleSync.rules.schema.OWNER_FIELDS).
_OWNER_FIELDS = frozenset(
    name
    for field in ("id", "name", "email", "title", "active")
    for name in (field, f"owner.{field}")
)


def _a_field(value: object) -> bool:
    return isinstance(value, str) and value.casefold() in _OWNER_FIELDS


def code_for(error: ErrorDetails) -> str:
    kind = error["type"]
    if "-" in kind:  # our own PydanticCustomError codes are already kebab-case
        return kind
    return CODES.get(kind, "invalid-" + kind.replace("_", "-"))
