"""REST resources: query/queryAll with paging, sObject rows, collections, limits."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roleSync.emulators.salesforce.http import (
    Request,
    Response,
    json_response,
    sf_error,
    unreadable_body,
)
from roleSync.emulators.salesforce.schema import make_id, normalize_id, resolve_sobject, to_json
from roleSync.emulators.salesforce.soql_eval import compile_soql, project, run
from roleSync.emulators.salesforce.soql_lexer import SoqlError
from roleSync.emulators.salesforce.store import RecordError, lock_error

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

MAX_COLLECTION = 200
# Salesforce keeps at most 10 open query cursors per user and drops the oldest; an
# abandoned cursor expires after 15 minutes of inactivity.
CURSOR_IDLE_SECONDS = 15 * 60
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(slots=True)
class Cursor:
    rows: list[dict[str, Any]]
    page_size: int
    used: float


class Cursors:
    """Open query cursors by locator: bounded, least recently used dropped first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._serial = 0

    def open(self, rows: list[dict[str, Any]], page_size: int) -> str:
        with self._lock:
            self._serial += 1
            locator = make_id("01g", self._serial)
            self._open[locator] = Cursor(rows, page_size, time.monotonic())
            while len(self._open) > self.limit:
                self._open.popitem(last=False)
            return locator

    def get(self, locator: str) -> Cursor | None:
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is None or time.monotonic() - cursor.used > CURSOR_IDLE_SECONDS:
                self._open.pop(locator, None)
                return None
            cursor.used = time.monotonic()
            self._open.move_to_end(locator)
            return cursor

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)


def _page_size(emu: SalesforceEmulator, request: Request) -> int:
    # Sforce-Query-Options: batchSize=N asks for smaller pages (200 to 2,000).
    match = _BATCH_SIZE.search(request.headers.get("sforce-query-options", ""))
    size = emu.config.page_size
    if match:
        size = min(size, max(200, int(match.group(1))))
    return size


def _page(
    emu: SalesforceEmulator, version: str, locator: str, cursor: Cursor, start: int
) -> Response:
    rows = cursor.rows[start : start + cursor.page_size]
    end = start + len(rows)
    payload: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
    if end < len(cursor.rows):
        payload["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
    else:
        emu.cursors.close(locator)
    payload["records"] = rows
    return json_response(200, payload)


def query(
    emu: SalesforceEmulator, request: Request, version: str, *, include_deleted: bool
) -> Response:
    text = request.param("q")
    if not text:
        return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    store = emu.store
    try:
        bound = compile_soql(text, store.schema)
    except SoqlError as exc:
        return sf_error(400, exc.code, exc.message)
    with store.lock:
        rows = run(bound, store.table(bound.sobject).values(), include_deleted=include_deleted)
        if bound.count_only:
            return json_response(200, {"totalSize": len(rows), "done": True, "records": []})
        # The cursor is a snapshot, like Salesforce's: later edits do not change its pages.
        projected = project(bound, rows, f"/services/data/v{version}")
    cursor = Cursor(projected, _page_size(emu, request), time.monotonic())
    if len(projected) <= cursor.page_size:
        return json_response(200, {"totalSize": len(projected), "done": True, "records": projected})
    locator = emu.cursors.open(projected, cursor.page_size)
    return _page(emu, version, locator, cursor, 0)


def query_more(emu: SalesforceEmulator, version: str, locator_text: str) -> Response:
    locator, _, offset = locator_text.rpartition("-")
    cursor = emu.cursors.get(locator) if offset.isdigit() else None
    if cursor is None or int(offset) > len(cursor.rows):
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(emu, version, locator, cursor, int(offset))


def limits(emu: SalesforceEmulator) -> Response:
    daily = emu.config.daily_limit
    used = min(emu.api_used, daily)

    def pair(maximum: int, remaining: int) -> dict[str, int]:
        return {"Max": maximum, "Remaining": remaining}

    return json_response(
        200,
        {
            "DailyApiRequests": pair(daily, daily - used),
            "DailyBulkApiBatches": pair(15000, 15000 - emu.bulk_jobs_created),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DailyBulkV2QueryJobs": pair(10000, 10000),
            "DataStorageMB": pair(1024, 1000),
            "FileStorageMB": pair(1024, 1024),
        },
    )


def _external_id_miss(record_id: str) -> Response:
    # A path segment that is not an Id is read as an external-Id field name.
    return sf_error(
        404,
        "NOT_FOUND",
        f"Provided external ID field does not exist or is not accessible: {record_id}",
    )


def sobject_get(
    emu: SalesforceEmulator, request: Request, version: str, name: str, record_id: str
) -> Response:
    sobject = resolve_sobject(emu.store.schema, name)
    if sobject is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if normalize_id(record_id) is None:
        return _external_id_miss(record_id)
    record = emu.store.get(sobject.name, record_id)
    if record is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if record["IsDeleted"]:
        return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    wanted = request.param("fields")
    names = [n.strip() for n in wanted.split(",")] if wanted else list(sobject.fields)
    payload: dict[str, Any] = {
        "attributes": {
            "type": sobject.name,
            "url": f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}",
        }
    }
    for field_name in names:
        definition = sobject.resolve(field_name)
        if definition is None:
            return sf_error(
                400,
                "INVALID_FIELD",
                f"No such column '{field_name}' on sobject of type {sobject.name}",
            )
        payload[definition.name] = to_json(record[definition.name])
    return json_response(200, payload)


def describe(emu: SalesforceEmulator, name: str) -> Response:
    sobject = resolve_sobject(emu.store.schema, name)
    if sobject is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    fields = [
        {
            "name": f.name,
            "type": str(f.type),
            "updateable": f.updateable,
            "createable": f.updateable,
            "nillable": f.name
            not in {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"},
            "custom": f.name.endswith("__c"),
            "referenceTo": list(f.references),
            "externalId": f.unique,
            "unique": f.unique,
        }
        for f in sobject.fields.values()
    ]
    return json_response(
        200,
        {
            "name": sobject.name,
            "keyPrefix": sobject.key_prefix,
            "queryable": True,
            "updateable": True,
            "fields": fields,
        },
    )


def _auto_assign_off(request: Request) -> bool:
    return request.headers.get("sforce-auto-assign", "").strip().lower() == "false"


def write_fields(
    emu: SalesforceEmulator, sobject_name: str, fields: dict[str, Any], request: Request
) -> dict[str, Any]:
    """The fields as written, after any assignment rule the org would run."""
    rule_owner = emu.config.auto_assign_owner_id
    if rule_owner and sobject_name == "Account" and not _auto_assign_off(request):
        # Without `Sforce-Auto-Assign: FALSE` the org re-runs its rules: the rule wins.
        fields = {
            **{k: v for k, v in fields.items() if k.lower() != "ownerid"},
            "OwnerId": rule_owner,
        }
    return fields


def sobject_patch(emu: SalesforceEmulator, request: Request, name: str, record_id: str) -> Response:
    store = emu.store
    sobject = resolve_sobject(store.schema, name)
    if sobject is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if normalize_id(record_id) is None:
        return _external_id_miss(record_id)
    try:
        body = request.json()
    except ValueError as exc:
        return sf_error(400, "JSON_PARSER_ERROR", unreadable_body(exc))
    if not isinstance(body, dict):
        return sf_error(400, "JSON_PARSER_ERROR", "Expected a JSON object of fields")
    try:
        with store.lock:
            canonical, changes = store.check_update(
                sobject, record_id, write_fields(emu, sobject.name, body, request)
            )
            store.apply_update(sobject, canonical, changes)
    except RecordError as exc:
        if exc.code == "NOT_FOUND":
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if exc.code == "ENTITY_IS_DELETED":
            return sf_error(404, exc.code, exc.message, [])
        return sf_error(400, exc.code, exc.message, exc.fields)
    return Response(204, content_type=None)


def read_collection(request: Request) -> tuple[list[Any], bool] | Response:
    """The records and allOrNone of an sObject Collections body (create or update), or
    the error answer: not JSON, no records list, more than MAX_COLLECTION records."""
    try:
        body = request.json()
    except ValueError as exc:
        return sf_error(400, "JSON_PARSER_ERROR", unreadable_body(exc))
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        return sf_error(400, "JSON_PARSER_ERROR", 'Expected {"allOrNone": ..., "records": [...]}')
    if len(records) > MAX_COLLECTION:
        return sf_error(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than "
            f"{MAX_COLLECTION} records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def collections_patch(emu: SalesforceEmulator, request: Request) -> Response:
    read = read_collection(request)
    if isinstance(read, Response):
        return read
    records, all_or_none = read
    store = emu.store
    outcomes: list[tuple[str, Any] | RecordError] = []
    with store.lock:
        for record in records:
            try:
                outcomes.append(_check_collection_record(emu, request, record))
            except RecordError as exc:
                outcomes.append(exc)
        failed = any(isinstance(o, RecordError) for o in outcomes)
        if not (all_or_none and failed):
            for outcome in outcomes:
                if not isinstance(outcome, RecordError):
                    sobject_name, (record_id, changes) = outcome
                    store.apply_update(store.sobject(sobject_name), record_id, changes)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, RecordError):
            results.append({"success": False, "errors": [outcome.as_json()]})
        elif all_or_none and failed:
            rolled_back = RecordError(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was "
                "using AllOrNone header",
            )
            results.append({"success": False, "errors": [rolled_back.as_json()]})
        else:
            results.append({"id": outcome[1][0], "success": True, "errors": []})
    return json_response(200, results)


def _check_collection_record(
    emu: SalesforceEmulator, request: Request, record: Any
) -> tuple[str, Any]:
    if not isinstance(record, dict):
        raise RecordError("JSON_PARSER_ERROR", "Each record must be a JSON object")
    attributes = record.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    sobject = resolve_sobject(emu.store.schema, str(type_name)) if type_name else None
    if sobject is None:
        raise RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported")
    record_id = record.get("id", record.get("Id"))
    if not record_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    fields = {k: v for k, v in record.items() if k not in {"attributes", "id", "Id"}}
    fields = write_fields(emu, sobject.name, fields, request)
    try:
        checked = emu.store.check_update(sobject, str(record_id), fields)
    except RecordError as exc:
        if exc.code == "NOT_FOUND":
            # Salesforce cannot tell an Id that never existed from one purged from the
            # recycle bin: both read as deleted.
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted") from None
        raise
    if emu.fault_state.row_locked(checked[0]):
        raise lock_error(checked[0])
    return sobject.name, checked
