"""CRM object endpoints: list, read, search, batch read and batch update (contacts,
companies, deals, tasks, users), with HubSpot's status codes: 200, or 207 with
per-record errors. Creates are in objects_create.py."""

from __future__ import annotations

import bisect
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from roleSync.emulators.http import Request, Response, json_response
from roleSync.emulators.hubspot.associations import v3_names
from roleSync.emulators.hubspot.schema import DEFAULT_PROPERTIES, SEARCH_ALWAYS, canonical_object
from roleSync.emulators.hubspot.search import SearchError
from roleSync.emulators.hubspot.store import StoredObject
from roleSync.emulators.hubspot.wire import (
    BodyError,
    body_inputs,
    bool_param,
    error,
    int_param,
    json_body,
    list_param,
    record_error,
    require_fields,
    validation_error,
)

if TYPE_CHECKING:
    from roleSync.emulators.hubspot.emulator import HubSpotEmulator

SINGULAR = {
    "contacts": "CONTACT",
    "companies": "COMPANY",
    "deals": "DEAL",
    "tasks": "TASK",
    "users": "USER",
}


def _with_associations(
    emu: HubSpotEmulator, kind: str, record: StoredObject, names: list[str], wanted: list[str]
) -> dict[str, Any]:
    answer = record.as_json(names)
    found: dict[str, Any] = {}
    for requested in wanted:
        target = canonical_object(requested)
        labels = v3_names(kind, target) if target is not None else ()
        if target is None or not labels:
            continue  # HubSpot ignores association names it cannot resolve
        ids = emu.store.associated(kind, record.id, target)
        if ids:
            found[requested] = {
                "results": [{"id": other, "type": label} for other in ids for label in labels]
            }
    if found:
        answer["associations"] = found
    return answer


def list_objects(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    cap = emu.config.list_page_max
    limit = int_param(request, "limit")
    limit = 10 if limit is None else limit
    if isinstance(limit, str) or not 1 <= limit <= cap:
        return validation_error(f"limit must be a whole number from 1 to {cap}")
    after_text = request.param("after") or ""
    if after_text and not after_text.isdigit():
        return validation_error(f"Invalid after: {after_text!r}")
    archived = bool_param(request, "archived")
    if archived is None:
        return validation_error("archived must be true or false")
    names = list_param(request, "properties") or list(DEFAULT_PROPERTIES[kind])
    wanted = list_param(request, "associations") or []
    store = emu.store
    with store.lock:
        ids, table = store.ordered_ids(kind), store.table(kind)
        index = bisect.bisect_left(ids, int(after_text)) if after_text else 0
        page: list[StoredObject] = []
        next_id: str | None = None
        while index < len(ids):
            record = table[str(ids[index])]
            index += 1
            if record.archived != archived:
                continue
            if len(page) == limit:
                next_id = record.id  # the cursor is the id the next page starts at
                break
            page.append(record)
        results = [_with_associations(emu, kind, r, names, wanted) for r in page]
    payload: dict[str, Any] = {"results": results}
    if next_id is not None:
        # The last page has no `paging` at all: the SDK's get_all() stops on that.
        pairs = [(k, v) for k, values in request.params.items() if k != "after" for v in values]
        link = f"{emu.url}{request.path}?{urlencode([*pairs, ('after', next_id)])}"
        payload["paging"] = {"next": {"after": next_id, "link": link}}
    return json_response(200, payload)


def _find(
    emu: HubSpotEmulator, kind: str, key: str, id_property: str | None
) -> StoredObject | None:
    if not id_property or id_property == "hs_object_id":
        return emu.store.record(kind, key)
    for record in emu.store.table(kind).values():
        if record.properties.get(id_property) == key:
            return record
    return None


def get_object(emu: HubSpotEmulator, request: Request, kind: str, record_id: str) -> Response:
    archived = bool_param(request, "archived")
    if archived is None:
        return validation_error("archived must be true or false")
    names = list_param(request, "properties") or list(DEFAULT_PROPERTIES[kind])
    wanted = list_param(request, "associations") or []
    with emu.store.lock:
        record = _find(emu, kind, record_id, request.param("idProperty"))
        if record is None or record.archived != archived:
            return error(404, "OBJECT_NOT_FOUND", "resource not found")
        return json_response(200, _with_associations(emu, kind, record, names, wanted))


def search_objects(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    try:
        body = json_body(request)
        # The spec's PublicObjectSearchRequest requires `filterGroups` (an empty list
        # when nothing is filtered).
        require_fields(body, "PublicObjectSearchRequest", ("filterGroups",))
        page = emu.search_index.search(kind, body)
    except (BodyError, SearchError) as exc:
        return validation_error(str(exc))
    requested = body.get("properties") or list(DEFAULT_PROPERTIES[kind])
    names = list(dict.fromkeys([*map(str, requested), *SEARCH_ALWAYS]))
    payload: dict[str, Any] = {
        "total": page.total,
        "results": [r.as_json(names) for r in page.results],
    }
    if page.next_after is not None:
        payload["paging"] = {"next": {"after": page.next_after}}
    return json_response(200, payload)


def batch_answer(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str
) -> Response:
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_iso(),
    }
    if errors:
        payload["numErrors"] = len(errors)
        payload["errors"] = errors
    return json_response(207 if errors else 200, payload)


def _not_found(kind: str, ids: list[str], verb: str) -> dict[str, Any]:
    return record_error(
        "OBJECT_NOT_FOUND",
        f"Could not {verb} some {SINGULAR[kind]} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        ids,
    )


def batch_read(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    started = now_iso()
    archived = bool_param(request, "archived")
    if archived is None:
        return validation_error("archived must be true or false")
    try:
        body = json_body(request)
        inputs = body_inputs(body, emu.config.batch_max)
        # The spec's BatchReadInputSimplePublicObjectId also requires these two.
        require_fields(
            body, "BatchReadInputSimplePublicObjectId", ("properties", "propertiesWithHistory")
        )
    except BodyError as exc:
        return validation_error(str(exc))
    names = [str(n) for n in body.get("properties") or DEFAULT_PROPERTIES[kind]]
    id_property = body.get("idProperty")
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    seen: set[str] = set()
    with emu.store.lock:
        for item in inputs:
            key = str(item["id"])
            record = _find(emu, kind, key, id_property if isinstance(id_property, str) else None)
            if record is None or record.archived != archived:
                missing.append(key)
            elif record.id not in seen:
                seen.add(record.id)
                results.append(record.as_json(names))
    errors = [_not_found(kind, missing, "get")] if missing else []
    return batch_answer(results, errors, started)


def batch_update(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    started = now_iso()
    try:
        inputs = body_inputs(json_body(request), emu.config.batch_max)
    except BodyError as exc:
        return validation_error(str(exc))
    ids = [str(item["id"]) for item in inputs]
    changes: list[dict[str, Any]] = []
    for item in inputs:
        properties = item.get("properties")
        if not isinstance(properties, dict):
            return validation_error("Invalid input JSON: each input needs a `properties` object")
        changes.append(properties)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        return validation_error(f"Duplicate IDs found in batch input: {duplicates}")
    store = emu.store
    problems = store.name_problems(kind, sorted({n for c in changes for n in c}))
    if problems:
        return validation_error(invalid_message(problems), problems)
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    errors: list[dict[str, Any]] = []
    with store.lock:
        # One stamp for the whole batch, as HubSpot's bulk writes do: ties are normal.
        stamp = store.now_ms()
        for record_id, properties in zip(ids, changes, strict=True):
            record = store.record(kind, record_id)
            if record is None or record.archived:
                missing.append(record_id)
            elif emu.fault_state.record_fails(record_id):
                errors.append(
                    record_error("CONFLICT", "The record is being updated by another request; "
                                 "retry later.", [record_id])
                )  # fmt: skip
            elif value_problems := store.value_problems(kind, properties):
                errors.append(
                    record_error("VALIDATION_ERROR", invalid_message(value_problems),
                                 [record_id], value_problems)
                )  # fmt: skip
            else:
                written = store.apply(kind, record_id, properties, stamp, api=True)
                results.append(written.as_json([*properties, *SEARCH_ALWAYS]))
    if missing:
        errors.insert(0, _not_found(kind, missing, "update"))
    return batch_answer(results, errors, started)


def update_object(emu: HubSpotEmulator, request: Request, kind: str, record_id: str) -> Response:
    try:
        properties = json_body(request).get("properties")
    except BodyError as exc:
        return validation_error(str(exc))
    if not isinstance(properties, dict):
        return validation_error("Invalid input JSON: `properties` must be an object")
    store = emu.store
    with store.lock:
        record = store.record(kind, record_id)
        if record is None or record.archived:
            return error(404, "OBJECT_NOT_FOUND", "resource not found")
        problems = store.name_problems(kind, properties) + store.value_problems(kind, properties)
        if problems:
            return validation_error(invalid_message(problems), problems)
        written = store.apply(kind, record_id, properties, store.now_ms(), api=True)
        return json_response(200, written.as_json([*properties, *SEARCH_ALWAYS]))


def invalid_message(problems: list[dict[str, Any]]) -> str:
    shown = [
        {"isValid": False, "message": p["message"], "error": p["code"],
         "name": (p.get("context") or {}).get("propertyName", [""])[0]}
        for p in problems
    ]  # fmt: skip
    return "Property values were not valid: " + json.dumps(shown)


def now_iso() -> str:
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
