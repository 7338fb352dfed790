"""CRM search: filter groups, one sort, offset paging, the 10,000-result cap, the index lag.

Filters within a group are ANDed, groups are ORed. Values compare by the property's
type: numbers as numbers, dates and datetimes as epoch milliseconds (filter values in
ms or ISO text), strings and enumerations case-insensitively. NEQ and NOT_IN match
records without a value. Ties in the sort (and everything when there is no sort) are
ordered by id ascending, so paging is stable. Records missing the sort property come
last. Records written within the search lag are not in the index yet.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from roleSync.emulators.hubspot.schema import PropertyDef
from roleSync.emulators.hubspot.store import HubSpotStore, StoredObject
from roleSync.emulators.hubspot.wire import parse_time

MAX_PAGE = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS = 25
TEXT_PROPERTIES = ("name", "domain", "dealname", "hs_email")

Comparable = float | int | str
Predicate = Callable[[StoredObject], bool]
Getter = Callable[[StoredObject], Comparable | None]


class SearchError(ValueError):
    """The request is invalid: 400 VALIDATION_ERROR with this message."""


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    results: list[StoredObject]
    next_after: str | None


@lru_cache(maxsize=65536)
def _time(text: str) -> int | None:
    return parse_time(text)


def _getter(definition: PropertyDef) -> Getter:
    name = definition.name
    # The stamps live on the record as integers: no parsing for the common cursor filter.
    if name == "hs_lastmodifieddate":
        return lambda r: r.updated_ms
    if name == "createdate":
        return lambda r: r.created_ms
    if name == "hs_object_id":
        return lambda r: int(r.id)
    convert = _converter(definition)

    def get(record: StoredObject) -> Comparable | None:
        raw = record.properties.get(name)
        return None if raw is None or raw == "" else convert(raw)

    return get


def _converter(definition: PropertyDef) -> Callable[[str], Comparable | None]:
    if definition.type == "number" or definition.name == "hs_object_id":

        def number(text: str) -> Comparable | None:
            try:
                return float(text)
            except ValueError:
                return None

        return number
    if definition.type in {"date", "datetime"}:
        return _time
    return str.lower


def _filter(definition: PropertyDef, spec: dict[str, Any]) -> Predicate:
    operator = str(spec.get("operator", "")).upper()
    get = _getter(definition)
    convert = _converter(definition)

    def operand(key: str) -> Comparable:
        raw = spec.get(key)
        value = (
            None
            if raw is None
            else convert(str(raw).lower() if isinstance(raw, bool) else str(raw))
        )
        if value is None:
            raise SearchError(f"{operator} on {definition.name} needs a valid `{key}`")
        return value

    if operator in {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}:
        want = operator == "HAS_PROPERTY"
        return lambda r: (get(r) is not None) == want
    if operator in {"IN", "NOT_IN"}:
        raw_values = spec.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            raise SearchError(f"{operator} on {definition.name} needs a non-empty `values` list")
        members = {convert(str(v)) for v in raw_values} - {None}
        if operator == "IN":
            return lambda r: get(r) in members
        return lambda r: get(r) not in members
    if operator in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        pattern = str(spec.get("value", "")).lower()
        glob = pattern if "*" in pattern else f"*{pattern}*"
        want = operator == "CONTAINS_TOKEN"
        return lambda r: fnmatch.fnmatchcase(str(get(r) or ""), glob) == want
    if operator == "BETWEEN":
        low, high = operand("value"), operand("highValue")
        return lambda r: _compare(get(r), lambda v: low <= v <= high)
    if operator not in _COMPARISONS:
        raise SearchError(f"Unknown filter operator: {spec.get('operator')!r}")
    target = operand("value")
    test = _COMPARISONS[operator]
    if operator == "NEQ":
        return lambda r: (value := get(r)) is None or test(value, target)
    return lambda r: _compare(get(r), lambda v: test(v, target))


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
}


def _compare(value: Comparable | None, test: Callable[[Any], bool]) -> bool:
    if value is None:
        return False
    try:
        return test(value)
    except TypeError:  # a number property holding text, compared with a number
        return False


def _definition(definitions: dict[str, PropertyDef], name: Any) -> PropertyDef:
    if not isinstance(name, str) or name not in definitions:
        raise SearchError(f"Property {name!r} does not exist")
    return definitions[name]


def _sort(body: dict[str, Any]) -> tuple[str, bool] | None:
    """(property, descending) from `sorts`: objects, or the text form "prop" / "-prop"."""
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list):
        raise SearchError("`sorts` must be a list")
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return None
    spec = sorts[0]
    if isinstance(spec, str):
        return spec.lstrip("-"), spec.startswith("-")
    if not isinstance(spec, dict):
        raise SearchError("A sort is an object {propertyName, direction}")
    direction = str(spec.get("direction", "ASCENDING")).upper()
    if direction not in {"ASCENDING", "DESCENDING"}:
        raise SearchError(f"Unknown sort direction: {spec.get('direction')!r}")
    return str(spec.get("propertyName", "")), direction == "DESCENDING"


def compile_predicate(definitions: dict[str, PropertyDef], body: dict[str, Any]) -> Predicate:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        raise SearchError("`filterGroups` must be a list")
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: {len(groups)} (at most {MAX_GROUPS})")
    compiled: list[list[Predicate]] = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not filters:
            raise SearchError("Each filter group needs a non-empty `filters` list")
        compiled.append(
            [_filter(_definition(definitions, f.get("propertyName")), f) for f in filters]
        )
    if sum(len(g) for g in compiled) > MAX_FILTERS:
        raise SearchError(f"Too many filters (at most {MAX_FILTERS} in all)")
    text = str(body.get("query") or "").strip().lower()

    def matches(record: StoredObject) -> bool:
        if compiled and not any(all(test(record) for test in group) for group in compiled):
            return False
        return not text or any(
            text in (record.properties.get(name) or "").lower() for name in TEXT_PROPERTIES
        )

    return matches


class SearchIndex:
    """Runs searches; remembers the sorted matches of recent queries per store version."""

    def __init__(self, store: HubSpotStore, size: int = 16) -> None:
        self.store = store
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, int], list[str]] = OrderedDict()

    def search(self, object_type: str, body: dict[str, Any]) -> SearchPage:
        limit, offset = _paging(body)
        key_body = {k: body.get(k) for k in ("filterGroups", "sorts", "query")}
        store = self.store
        with store.lock:
            # A page read while writes are still pending in the index is never cached:
            # what the index holds changes with time alone.
            settled = store.search_settled(object_type)
            key = (object_type, json.dumps(key_body, sort_keys=True, default=str), store.version)
            with self._lock:
                ids = self._cache.get(key) if settled else None
            if ids is None:
                ids = self._run(object_type, body)
                if settled:
                    with self._lock:
                        self._cache[key] = ids
                        while len(self._cache) > self._size:
                            self._cache.popitem(last=False)
            table = store.table(object_type)
            page = [table[i] for i in ids[offset : offset + limit]]
        end = offset + len(page)
        return SearchPage(len(ids), page, str(end) if end < len(ids) else None)

    def _run(self, object_type: str, body: dict[str, Any]) -> list[str]:
        definitions = self.store.properties(object_type)
        matches = compile_predicate(definitions, body)
        sort = _sort(body)
        now = time.monotonic()
        found = [
            r
            for r in self.store.table(object_type).values()
            if not r.archived and r.visible_at <= now and matches(r)
        ]
        found.sort(key=lambda r: int(r.id))
        if sort is not None:
            get = _getter(_definition(definitions, sort[0]))
            valued = [(get(r), r) for r in found]
            present = [pair for pair in valued if pair[0] is not None]
            # Python's sort is stable, also with reverse=True: ties keep id order.
            present.sort(key=lambda pair: pair[0], reverse=sort[1])  # type: ignore[arg-type,return-value]
            found = [r for _, r in present] + [r for value, r in valued if value is None]
        return [r.id for r in found]


def _paging(body: dict[str, Any]) -> tuple[int, int]:
    limit = body.get("limit", 10)
    if limit is None:
        limit = 10
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE:
        raise SearchError(f"limit must be a whole number from 0 to {MAX_PAGE}")
    after = body.get("after") or "0"
    try:
        offset = int(str(after))
    except ValueError:
        raise SearchError(f"Invalid after: {after!r}") from None
    if offset < 0:
        raise SearchError(f"Invalid after: {after!r}")
    if offset + limit > MAX_RESULTS:
        raise CapError(offset, limit)
    return limit, offset


class CapError(SearchError):
    """Paging past the 10,000th result of a query."""

    def __init__(self, offset: int, limit: int) -> None:
        super().__init__(
            f"Search can return at most {MAX_RESULTS} results per query; after={offset} with "
            f"limit={limit} goes past it. Narrow the query (for example with a later "
            "hs_lastmodifieddate) instead of paging further."
        )
