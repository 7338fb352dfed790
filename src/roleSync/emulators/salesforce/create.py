"""Record creation: sObject Collections POST and upsert by External Id.

Salesforce's REST API has no idempotency key, so a client that must create a record
exactly once across retries and crashes gives it a marker in a custom External Id
field marked Unique (the emulated org has `Task.RoleSync_Key__c`):

- `POST composite/sobjects` with the marker set: a repeat fails for that record
  with DUPLICATE_VALUE ("duplicate value found: RoleSync_Key__c duplicates value on
  record with id: 00T..."), naming the record that already holds it, so the client
  learns the task exists without creating a second one;
- `PATCH sobjects/Task/RoleSync_Key__c/{key}`: creates (201, `created: true`) or
  updates the one record holding the key (200, `created: false`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roleSync.emulators.salesforce.http import (
    Request,
    Response,
    json_response,
    sf_error,
    unreadable_body,
)
from roleSync.emulators.salesforce.rest import read_collection, write_fields
from roleSync.emulators.salesforce.schema import SObjectDef, Value, resolve_sobject
from roleSync.emulators.salesforce.store import Record, RecordError

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

_ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
)


def collections_create(emu: SalesforceEmulator, request: Request) -> Response:
    read = read_collection(request)
    if isinstance(read, Response):
        return read
    records, all_or_none = read
    store = emu.store
    claimed: dict[tuple[str, Value], str] = {}
    outcomes: list[tuple[SObjectDef, Record] | RecordError] = []
    with store.lock:
        for record in records:
            try:
                outcomes.append(_check_new(emu, request, record, claimed))
            except RecordError as exc:
                outcomes.append(exc)
        failed = any(isinstance(o, RecordError) for o in outcomes)
        if not (all_or_none and failed):
            for outcome in outcomes:
                if not isinstance(outcome, RecordError):
                    store.apply_create(*outcome)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, RecordError):
            results.append({"success": False, "errors": [outcome.as_json()]})
        elif all_or_none and failed:
            results.append({"success": False, "errors": [_ROLLED_BACK.as_json()]})
        else:
            results.append({"id": outcome[1]["Id"], "success": True, "errors": []})
    return json_response(200, results)


def _check_new(
    emu: SalesforceEmulator, request: Request, record: Any, claimed: dict[tuple[str, Value], str]
) -> tuple[SObjectDef, Record]:
    if not isinstance(record, dict):
        raise RecordError("JSON_PARSER_ERROR", "Each record must be a JSON object")
    attributes = record.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    sobject = resolve_sobject(emu.store.schema, str(type_name)) if type_name else None
    if sobject is None:
        raise RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported")
    fields = {k: v for k, v in record.items() if k != "attributes"}
    fields = write_fields(emu, sobject.name, fields, request)
    return sobject, emu.store.check_create(sobject, fields, claimed)


def upsert(emu: SalesforceEmulator, request: Request, name: str, field: str, key: str) -> Response:
    """`PATCH sobjects/{name}/{External Id field}/{value}`."""
    store = emu.store
    sobject = resolve_sobject(store.schema, name)
    if sobject is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    target = sobject.resolve(field)
    if target is None or not target.unique:
        return sf_error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field}",
        )
    try:
        body = request.json()
    except ValueError as exc:
        return sf_error(400, "JSON_PARSER_ERROR", unreadable_body(exc))
    if not isinstance(body, dict):
        return sf_error(400, "JSON_PARSER_ERROR", "Expected a JSON object of fields")
    given = next((v for k, v in body.items() if k.lower() == target.name.lower()), key)
    if given != key:
        return sf_error(
            400,
            "INVALID_FIELD",
            f"The value of the external ID field in the body must match the URL: {target.name}",
        )
    fields = write_fields(emu, sobject.name, {**body, target.name: key}, request)
    try:
        with store.lock:
            holders = [
                str(r["Id"])
                for r in store.table(sobject).values()
                if r[target.name] == key and not r["IsDeleted"]
            ]
            if not holders:
                values = store.check_create(sobject, fields)
                record_id = store.apply_create(sobject, values)
                return json_response(
                    201, {"id": record_id, "success": True, "errors": [], "created": True}
                )
            canonical, changes = store.check_update(sobject, holders[0], fields)
            store.apply_update(sobject, canonical, changes)
    except RecordError as exc:
        return sf_error(400, exc.code, exc.message, exc.fields)
    return json_response(200, {"id": canonical, "success": True, "errors": [], "created": False})
