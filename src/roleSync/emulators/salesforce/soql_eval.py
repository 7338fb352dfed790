"""Bind a parsed SOQL query to the org's schema and run it over the store's records.

Binding is where Salesforce's semantic errors come from: an unknown object is
INVALID_TYPE, an unknown field or a value of the wrong type is INVALID_FIELD, an
Id literal that is not an Id is INVALID_QUERY_FILTER_OPERATOR. Evaluation follows
SOQL rather than SQL: text compares ignore case, `!=` and NOT IN match nulls, and
ORDER BY puts nulls first ascending and last descending unless told otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from roleSync.emulators.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    FieldType,
    SObjectDef,
    Value,
    normalize_id,
    resolve_sobject,
    to_json,
)
from roleSync.emulators.salesforce.soql import (
    BoolOp,
    Comparison,
    Condition,
    Literal,
    Name,
    Not,
    Query,
    parse,
)
from roleSync.emulators.salesforce.soql_lexer import SoqlError, located

Record = Mapping[str, Value]
Predicate = Callable[[Record], bool]

_TYPE_LABELS = {
    FieldType.DATETIME: "dateTime",
    FieldType.DATE: "date",
    FieldType.BOOLEAN: "boolean",
    FieldType.ID: "id",
    FieldType.REFERENCE: "reference",
}


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool
    nulls_first: bool
    text: bool


@dataclass(frozen=True, slots=True)
class BoundQuery:
    sobject: SObjectDef
    fields: tuple[str, ...]
    count_only: bool
    predicate: Predicate | None
    order_by: tuple[SortKey, ...]
    limit: int | None
    offset: int | None


def bind(query: Query, schema: Mapping[str, SObjectDef]) -> BoundQuery:
    sobject = resolve_sobject(schema, query.sobject.name)
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            located(
                query.text,
                query.sobject.pos,
                f"sObject type '{query.sobject.name}' is not supported. If you are attempting "
                "to use a custom object, be sure to append the '__c' after the entity name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            ),
        )
    fields: list[str] = []
    for name in query.fields:
        definition = _field(query, sobject, name)
        if definition.name in fields:
            raise SoqlError(
                "MALFORMED_QUERY",
                located(query.text, name.pos, f"duplicate field selected: {definition.name}"),
            )
        fields.append(definition.name)
    order = tuple(
        SortKey(
            (definition := _field(query, sobject, item.field)).name,
            item.descending,
            item.nulls_first,
            definition.type in TEXT_TYPES,
        )
        for item in query.order_by
    )
    predicate = _compile(query, sobject, query.where) if query.where is not None else None
    return BoundQuery(
        sobject, tuple(fields), query.count_only, predicate, order, query.limit, query.offset
    )


def compile_soql(text: str, schema: Mapping[str, SObjectDef]) -> BoundQuery:
    return bind(parse(text), schema)


def _field(query: Query, sobject: SObjectDef, name: Name) -> FieldDef:
    definition = sobject.resolve(name.name)
    if definition is None:
        if "." in name.name:
            detail = (
                f"Didn't understand relationship '{name.name.split('.')[0]}' in field path. "
                "The emulator supports fields of the queried object only."
            )
        else:
            detail = (
                f"No such column '{name.name}' on entity '{sobject.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the "
                "custom field name. Please reference your WSDL or the describe call for the "
                "appropriate names."
            )
        raise SoqlError("INVALID_FIELD", located(query.text, name.pos, detail))
    return definition


def _compile(query: Query, sobject: SObjectDef, node: Condition) -> Predicate:
    if isinstance(node, BoolOp):
        parts = [_compile(query, sobject, operand) for operand in node.operands]
        if node.op == "AND":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)
    if isinstance(node, Not):
        inner = _compile(query, sobject, node.operand)
        return lambda record: not inner(record)
    return _comparison(query, sobject, node)


def _literal(query: Query, definition: FieldDef, literal: Literal) -> Value:
    """The literal as a value of the field's type, or Salesforce's complaint."""
    value = literal.value
    if value is None:
        return None
    kind = definition.type
    if kind in ID_TYPES and isinstance(value, str):
        normalized = normalize_id(value)
        if normalized is None:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                located(query.text, literal.pos, f"invalid ID field: {value}"),
            )
        return normalized
    ok = (
        (kind in TEXT_TYPES and isinstance(value, str))
        or (kind is FieldType.BOOLEAN and isinstance(value, bool))
        or (
            kind in NUMBER_TYPES and isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        or (kind is FieldType.DATETIME and isinstance(value, datetime))
        or (kind is FieldType.DATE and isinstance(value, date) and not isinstance(value, datetime))
    )
    if not ok:
        label = _TYPE_LABELS.get(kind, "double" if kind in NUMBER_TYPES else "string")
        quoting = "be" if kind in TEXT_TYPES or kind in ID_TYPES else "not be"
        raise SoqlError(
            "INVALID_FIELD",
            located(
                query.text,
                literal.pos,
                f"value of filter criterion for field '{definition.name}' must be of type "
                f"{label} and should {quoting} enclosed in quotes",
            ),
        )
    return value.casefold() if isinstance(value, str) and kind in TEXT_TYPES else value


def _like(raw: str) -> re.Pattern[str]:
    """A LIKE pattern as a regex: % any run, _ one character, \\% and \\_ literal."""
    parts: list[str] = []
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            follower = raw[index + 1]
            parts.append(re.escape(escapes.get(follower.lower(), follower)))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _comparison(query: Query, sobject: SObjectDef, node: Comparison) -> Predicate:
    definition = _field(query, sobject, node.field)
    name = definition.name
    text = definition.type in TEXT_TYPES

    def read(record: Record) -> Any:
        value = record.get(name)
        return value.casefold() if text and isinstance(value, str) else value

    if node.op == "LIKE":
        literal = node.values[0]
        if not text or literal.raw is None:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                located(query.text, node.field.pos, f"invalid operator on {definition.type} field"),
            )
        pattern = _like(literal.raw)
        return lambda record: (
            (value := record.get(name)) is not None and bool(pattern.fullmatch(str(value)))
        )
    values = [_literal(query, definition, literal) for literal in node.values]
    if node.op in {"IN", "NOT IN"}:
        wanted = set(values)
        if node.op == "IN":
            return lambda record: read(record) in wanted
        return lambda record: read(record) not in wanted
    value = values[0]
    if node.op == "=":
        return lambda record: read(record) == value
    if node.op == "!=":
        return lambda record: read(record) != value
    if value is None or definition.type is FieldType.BOOLEAN:
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            located(query.text, node.field.pos, f"invalid operator on {definition.type} field"),
        )
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: bool(a < b),
        "<=": lambda a, b: bool(a <= b),
        ">": lambda a, b: bool(a > b),
        ">=": lambda a, b: bool(a >= b),
    }
    operator = compare[node.op]
    return lambda record: (current := read(record)) is not None and operator(current, value)


def run(bound: BoundQuery, records: Iterable[Record], *, include_deleted: bool) -> list[Record]:
    """The matching records, ordered, limited and offset (records are not copied)."""
    rows = [
        record
        for record in records
        if (include_deleted or not record.get("IsDeleted"))
        and (bound.predicate is None or bound.predicate(record))
    ]
    # One stable sort per key, last key first, gives multi-key order with ties kept in
    # insertion order, as deterministic as tests need.
    for key in reversed(bound.order_by):
        null_rank = 0 if key.nulls_first != key.descending else 1

        def sort_key(record: Record, key: SortKey = key, null_rank: int = null_rank) -> Any:
            value = record.get(key.field)
            if value is None:
                return (null_rank, 0)
            return (
                1 - null_rank,
                value.casefold() if key.text and isinstance(value, str) else value,
            )

        rows.sort(key=sort_key, reverse=key.descending)
    start = bound.offset or 0
    end = None if bound.limit is None else start + bound.limit
    return rows[start:end]


def project(bound: BoundQuery, records: Iterable[Record], url_base: str) -> list[dict[str, Any]]:
    """JSON-ready records: `attributes` then the selected fields in query order."""
    sobject = bound.sobject.name
    out: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"{url_base}/sobjects/{sobject}/{record['Id']}"}
        }
        for field in bound.fields:
            row[field] = to_json(record.get(field))
        out.append(row)
    return out
