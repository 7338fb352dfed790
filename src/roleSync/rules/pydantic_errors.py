"""Pydantic's validation errors as positioned, readable diagnostics.

Pydantic says where a value failed in its own terms: union members (`RolePool`,
`list[constrained-str]`, our `<all>` tags) sit in the location between the keys. Here
they are taken out, a union's members refusing one value become one line, and every
message names keys of the file as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from roleSync.errors import Diagnostic, Severity
from roleSync.rules.suggest import code_for, message_for, shape_message

if TYPE_CHECKING:
    from roleSync.rules.loader import LoadedYaml

Loc = tuple[str | int, ...]


def pydantic_diagnostics(
    loaded: LoadedYaml, model: type[BaseModel], error: ValidationError
) -> Iterator[Diagnostic]:
    items = error.errors(include_url=False)
    # A misspelt required key shows up twice: unknown 'clasify' and missing 'classify'.
    # The suggestion on the first says it all.
    suggested = {
        (item["loc"][:-1], message_for(model, item, item["loc"]).rsplit("'", 2)[-2])
        for item in items
        if item["type"] == "extra_forbidden"
        and "did you mean" in message_for(model, item, item["loc"])
    }
    cleaned = [(item, data_loc(loaded.data, item["loc"], item["type"])) for item in items]
    shapes = _union_shapes(cleaned)
    for item, loc in cleaned:
        if item["type"] == "missing" and (item["loc"][:-1], item["loc"][-1]) in suggested:
            continue
        if _other_union_member(item, loc, cleaned):
            continue
        if len(shapes.get(loc, ())) > 1:
            # Every member of a union refused the value's shape: one line naming them all.
            if shapes[loc][0] is item:
                yield loaded.diagnostic(loc, shape_message(loc, shapes[loc]), "wrong-type")
            continue
        key = (item.get("ctx") or {}).get("key")
        if isinstance(key, str):  # a model-level check about one of the model's keys
            loc = (*loc, key)
        message = message_for(model, item, loc)
        code = code_for(item)
        if item["type"] == "extra_forbidden":
            yield loaded.diagnostic(loc, message, code, prefer_key=True)
        elif item["type"] == "missing":
            # The key is absent: point at the mapping that lacks it.
            yield loaded.diagnostic(loc[:-1], message, code, prefer_key=True)
        elif isinstance(token := (item.get("ctx") or {}).get("token"), str):
            # A mistake inside a text value (a task's placeholder): point at it.
            nth = (item.get("ctx") or {}).get("occurrence", 0)
            line, col = loaded.position_inside(loc, token, nth if isinstance(nth, int) else 0)
            yield Diagnostic(loaded.path, line, col, Severity.ERROR, message, code)
        else:
            yield loaded.diagnostic(loc, message, code)


def data_loc(data: Any, raw: tuple[str | int, ...], kind: str) -> Loc:
    """The error's location in the YAML data: pydantic also puts union member names
    (`<all>`, `RolePool`, `list[constrained-str]`) into `loc`; they are not keys, and
    never reach a message. Only a missing or unknown key ends in a part the data lacks."""
    loc: list[str | int] = []
    node = data
    for index, part in enumerate(raw):
        is_key = isinstance(node, dict) and part in node
        is_item = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if is_key or is_item:
            node = node[part]
        elif (
            _is_union_tag(part)
            or not isinstance(node, dict)
            or index != len(raw) - 1
            or kind not in _KEY_ERRORS
        ):
            continue
        # else: a missing or unknown key, kept because the message names it
        loc.append(part)
    return tuple(loc)


def _is_union_tag(part: str | int) -> bool:
    # Tags of our tagged unions (schema.Condition): `<all>`, `<compare>`, ...
    return isinstance(part, str) and part.startswith("<") and part.endswith(">")


_SHAPE_ERRORS = frozenset({"list_type", "dict_type", "model_type", "model_attributes_type"})
_KEY_ERRORS = frozenset({"missing", "extra_forbidden"})


def _union_shapes(cleaned: list[tuple[ErrorDetails, Loc]]) -> dict[Loc, list[ErrorDetails]]:
    """The shape errors ("should be a list") at each place, left after `_other_union_member`
    : several at one place are the members of a union, each refusing the value."""
    found: dict[Loc, list[ErrorDetails]] = {}
    for item, loc in cleaned:
        if item["type"] in _SHAPE_ERRORS and not _other_union_member(item, loc, cleaned):
            found.setdefault(loc, []).append(item)
    return found


def _other_union_member(
    item: ErrorDetails, loc: Loc, cleaned: list[tuple[ErrorDetails, Loc]]
) -> bool:
    """A "should be a list" from the union member the value was not meant to be, when
    another member has a more precise complaint at or below the same place."""
    if item["type"] not in _SHAPE_ERRORS:
        return False
    return any(
        other is not item and other["type"] not in _SHAPE_ERRORS and other_loc[: len(loc)] == loc
        for other, other_loc in cleaned
    )
