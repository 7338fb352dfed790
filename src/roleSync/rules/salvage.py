"""Validate a rule file so that one mistake hides no other.

Pydantic stops at a key it does not know: a misspelt `clasify:` is refused whole, its
rules never looked at, and with no model the checks that run on one (unreachable rules,
unknown owners, every warning) never run. So, when the file fails:

1. A misspelt key whose suggestion is absent (`clasify` for `classify`) is read as the
   key it was meant to be, and what is under it is validated too: its errors come out
   beside the unknown-key error.
2. What is still invalid is left out (a rule list's invalid rules, an optional section
   that fails), and the rest validated again: that partial model is what the semantic
   checks run on, through a view of the file whose positions are the original ones.

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from roleSync.errors import Diagnostic
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.pydantic_errors import data_loc, pydantic_diagnostics
from roleSync.rules.suggest import allowed_keys, close_match

# Findings about a rule list's order: they need every rule of the list to be right.
ORDER_CODES = frozenset({"no-fallback", "unreachable-rule", "nothing-to-overflow"})
# The lists those findings are about (a handoff block's own routes go with the block).
RULE_LISTS = frozenset({"classify", "routes"})


@dataclass(frozen=True, slots=True)
class Validated:
    """Everything validation found, and what the semantic checks can look at."""

    # The file as validated: misspelt keys renamed, positions those of the file.
    view: LoadedYaml
    model: BaseModel | None  # the file's model: None when anything is invalid
    diagnostics: list[Diagnostic]
    # A model of the valid part, with its own view of the file; None if none can be built.
    partial: tuple[LoadedYaml, BaseModel] | None
    # False when a left-out rule was a catch-all or last of its list: order findings
    # (ORDER_CODES) about what is left would be wrong.
    order_known: bool = True


def validate_everything(loaded: LoadedYaml, model: type[BaseModel]) -> Validated:
    try:
        valid = model.model_validate(loaded.data)
    except ValidationError as first:
        error = first
    else:
        return Validated(loaded, valid, [], (loaded, valid))
    view, renamed = _read_as_meant(loaded, model, error)
    at = {loaded.key_positions.get(loc) for loc in renamed}
    diagnostics = [
        d
        for d in pydantic_diagnostics(loaded, model, error)
        if d.code == "unknown-key" and (d.line, d.col) in at
    ]
    if renamed:
        try:
            valid = model.model_validate(view.data)
        except ValidationError as second:
            error = second
        else:
            return Validated(view, None, diagnostics, (view, valid))
    # Unknown keys of the first pass are this pass's too (only renamed ones are gone).
    diagnostics = _unique([*diagnostics, *pydantic_diagnostics(view, model, error)])
    partial, order_known = _valid_part(view, model, error)
    return Validated(view, None, diagnostics, partial, order_known)


def _unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))


def _read_as_meant(
    loaded: LoadedYaml, model: type[BaseModel], error: ValidationError
) -> tuple[LoadedYaml, dict[Loc, str]]:
    """The file with each misspelt key renamed to its suggestion, when the suggestion is
    not there already and no other key claims it; {loc of the misspelt key: new name}."""
    wanted: dict[Loc, list[Loc]] = {}
    for item in error.errors(include_url=False):
        if item["type"] != "extra_forbidden":
            continue
        loc = data_loc(loaded.data, item["loc"], item["type"])
        parent = _node(loaded.data, loc[:-1])
        if not loc or not isinstance(parent, dict) or not isinstance(loc[-1], str):
            continue
        meant = close_match(loc[-1], allowed_keys(model, item["loc"][:-1]))
        if meant is not None and meant not in parent:
            wanted.setdefault((*loc[:-1], meant), []).append(loc)
    # Two misspellings of one key: which one was meant is anyone's guess.
    renames = {locs[0]: str(target[-1]) for target, locs in wanted.items() if len(locs) == 1}
    if not renames:
        return loaded, {}

    def moved(loc: Loc) -> Loc | None:
        for old, new in renames.items():
            if loc[: len(old)] == old:
                return (*old[:-1], new, *loc[len(old) :])
        return loc

    return _relocated(loaded, moved), renames


def _valid_part(
    view: LoadedYaml, model: type[BaseModel], error: ValidationError
) -> tuple[tuple[LoadedYaml, BaseModel] | None, bool]:
    """The file without its invalid top-level sections and list items, validated."""
    data = view.data
    if not isinstance(data, dict):
        return None, True
    bad_items: dict[str, set[int]] = {}
    bad_sections: set[str] = set()
    for item in error.errors(include_url=False):
        loc = data_loc(data, item["loc"], item["type"])
        key = (item.get("ctx") or {}).get("key")
        if isinstance(key, str):  # a model-level check about one of its keys
            loc = (*loc, key)
        if not loc or not isinstance(loc[0], str):
            return None, True  # the file as a whole is wrong: nothing to salvage
        section = loc[0]
        value = data.get(section)
        if len(loc) > 1 and isinstance(value, list) and isinstance(loc[1], int):
            bad_items.setdefault(section, set()).add(loc[1])
        else:
            bad_sections.add(section)
    order_known = True
    for section, indexes in bad_items.items():
        items = data[section]
        if section not in RULE_LISTS:
            continue
        last = len(items) - 1
        if any(i == last or _catch_all(items[i]) for i in indexes):
            order_known = False

    def moved(loc: Loc) -> Loc | None:
        if not loc:
            return loc
        if loc[0] in bad_sections:
            return None
        dropped = bad_items.get(str(loc[0]))
        if dropped and len(loc) > 1 and isinstance(loc[1], int):
            if loc[1] in dropped:
                return None
            return (loc[0], loc[1] - sum(1 for i in dropped if i < loc[1]), *loc[2:])
        return loc

    part = _relocated(view, moved)
    try:
        return (part, model.model_validate(part.data)), order_known
    except ValidationError:
        return None, True  # e.g. every rule invalid: a list that may not be empty


def _catch_all(item: Any) -> bool:
    return isinstance(item, dict) and "when" not in item


def _node(data: Any, loc: Loc) -> Any:
    for part in loc:
        is_key = isinstance(data, dict) and part in data
        is_item = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (is_key or is_item):
            return None
        data = data[part]
    return data


def _relocated(loaded: LoadedYaml, moved: Callable[[Loc], Loc | None]) -> LoadedYaml:
    """A view of the file whose data and positions are at the locations `moved` gives
    (None: left out), so a diagnostic about the view points into the file itself."""
    view = LoadedYaml(loaded.path, _rebuilt(loaded.data, (), moved), text=loaded.text)
    for source, target in (
        (loaded.key_positions, view.key_positions),
        (loaded.value_positions, view.value_positions),
    ):
        for loc, position in source.items():
            new = moved(loc)
            if new is not None:
                target[new] = position
    return view


def _rebuilt(node: Any, loc: Loc, moved: Callable[[Loc], Loc | None]) -> Any:
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            new = moved((*loc, key))
            if new is not None:
                out[new[-1]] = _rebuilt(value, (*loc, key), moved)
        return out
    if isinstance(node, list):
        return [
            _rebuilt(value, (*loc, i), moved)
            for i, value in enumerate(node)
            if moved((*loc, i)) is not None
        ]
    return node
